from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from leaklint.config.pytest_config import ConfigProblem
from leaklint.diagnostics import Diagnostic, Location, Severity
from leaklint.rules.base import FixAvailability, ProjectRule, register

if TYPE_CHECKING:
    from leaklint.model.project import Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Problem kinds this rule reports; the table conflicts are LL103's.
KINDS = frozenset({"parse", "type", "top-level"})


def pytest_config_problems(project: Project) -> Iterator[ConfigProblem]:
    for problem in project.config.problems:
        if problem.kind in KINDS:
            yield problem


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def cargo_problems(project: Project) -> Iterator[ConfigProblem]:
    """``Cargo.toml`` files that do not parse (LL501 reads the others)."""
    for path in project.cargo_files:
        raw = project.read(path)
        if isinstance(raw, OSError):
            continue
        try:
            tomllib.loads(raw.decode("utf-8", errors="replace"))
        except tomllib.TOMLDecodeError as exc:
            match = _TOML_POSITION.search(str(exc))
            start = Location(int(match[1]), int(match[2])) if match else Location(1, 1)
            message = _TOML_POSITION.sub("", str(exc)) or "invalid TOML"
            yield ConfigProblem("parse", f"Cargo.toml does not parse: {message}", path, start)


# Where unreadable-config problems come from.
PROBLEM_SOURCES: list[Callable[[Project], Iterable[ConfigProblem]]] = [
    pytest_config_problems,
    cargo_problems,
]


@register
class UnreadableConfig(ProjectRule):
    """
    ## What it does
    Reports a pytest configuration file that pytest cannot use: it does not parse as TOML or
    INI, cannot be decoded as UTF-8, puts options outside the `[pytest]` table of
    `pytest.toml`, or gives a native TOML value of the wrong type (`asyncio_mode = 1`,
    `asyncio_debug = "true"`, `addopts = "-q"` in `[tool.pytest]`). Shadowed candidates are
    checked too, because pytest reads them to warn about them.

    ## Why is this bad?
    pytest stops with a usage error before collecting anything, and leaklint cannot know the
    settings (asyncio mode, loop scopes) the other rules depend on.

    ## Example
    ```toml
    [tool.pytest]
    addopts = "-ra --strict-markers"
    asyncio_debug = "true"
    ```

    Use instead:
    ```toml
    [tool.pytest]
    addopts = ["-ra", "--strict-markers"]
    asyncio_debug = true
    ```

    ## Fix safety
    No fix: the intended value needs a human.
    """

    code = "LL002"
    name = "unreadable-config"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        seen: set[tuple[object, ...]] = set()
        for source in PROBLEM_SOURCES:
            for problem in source(project):
                key = (problem.path, problem.location, problem.message)
                if key in seen:
                    continue
                seen.add(key)
                yield self.from_problem(problem)

    @classmethod
    def from_problem(cls, problem: ConfigProblem) -> Diagnostic:
        return cls.diagnostic(
            message=problem.message,
            path=problem.path,
            start=problem.location,
            help=_HELP.get(problem.kind),
        )


_HELP = {
    "parse": "pytest stops with a usage error until the file parses",
    "type": "in [tool.pytest] and pytest.toml pytest checks native TOML types exactly",
    "top-level": "put the options under a [pytest] table",
}
