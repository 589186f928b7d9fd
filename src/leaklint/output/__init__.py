"""What the user reads: the reporters (text, JSON, SARIF, GitHub), the rule docs and problem
matcher, and the fixture map.

May import: ``leaklint.rules``, ``leaklint.model`` and everything below them; never ``run``,
``fix`` or ``cli``. Reporters are pure functions of diagnostics: they never run the rules.
"""
