"""Documentation built from the rules themselves: ``docs/rules.md`` and the problem matcher.

``docs/rules.md`` is ``rules_markdown(all_rules())``; a test fails when the file is out of date.
Regenerate it with ``leaklint rules --markdown > docs/rules.md``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from importlib import resources

from leaklint.rules.base import Rule

REGENERATE = "leaklint rules --markdown > docs/rules.md"


def problem_matcher_json() -> str:
    """The shipped problem matcher (``leaklint/data/problem-matcher.json``), as text."""
    return resources.files("leaklint").joinpath("data/problem-matcher.json").read_text("utf-8")


def problem_matcher_regexp() -> str:
    document = json.loads(problem_matcher_json())
    regexp: str = document["problemMatcher"][0]["pattern"][0]["regexp"]
    return regexp


def rule_text(rule: type[Rule]) -> str:
    """The rule's documentation, dedented."""
    return textwrap.dedent(rule.docs()).strip()


def rules_markdown(rules: Sequence[type[Rule]]) -> str:
    lines = [
        "# Rules",
        "",
        f"<!-- Built from the rule docstrings: `{REGENERATE}`. Do not edit by hand. -->",
        "",
        "| code | name | severity | default | fix |",
        "|---|---|---|---|---|",
    ]
    for rule in rules:
        default = "on" if rule.default_enabled else "opt-in"
        lines.append(
            f"| [{rule.code}](#{rule.code.lower()}-{rule.name}) | {rule.name} "
            f"| {rule.severity.value} | {default} | {rule.fix_availability.value} |"
        )
    for rule in rules:
        lines += ["", f"## {rule.code} {rule.name}", ""]
        # Rule headings are level 2 in the docstring; one level deeper here.
        for line in rule_text(rule).splitlines():
            lines.append("#" + line if line.startswith("## ") else line.rstrip())
    return "\n".join(lines).rstrip() + "\n"
