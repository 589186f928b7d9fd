"""leaklint: a static linter for the configuration and code that make Python test suites hang,
leak threads or processes, or fail with "attached to a different loop"."""

__version__ = "0.1.0"
