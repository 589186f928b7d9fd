"""docs/rules.md is built from the rule docstrings and kept up to date; every rule is documented
with the fixed headings; every code of the catalog has a rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from leaklint.cli import main
from leaklint.output.docs import REGENERATE, rules_markdown
from leaklint.rules.base import DOC_HEADINGS, Rule, all_rules

RULES_MD = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

# The catalog in DESIGN.md.
CATALOG = [
    "LL001",
    "LL002",
    "LL003",
    "LL101",
    "LL102",
    "LL103",
    "LL104",
    "LL105",
    "LL106",
    "LL107",
    "LL201",
    "LL202",
    "LL203",
    "LL204",
    "LL205",
    "LL206",
    "LL207",
    "LL301",
    "LL302",
    "LL303",
    "LL304",
    "LL401",
    "LL402",
    "LL403",
    "LL404",
    "LL501",
]

RULES = all_rules()


def test_rules_md_is_up_to_date() -> None:
    expected = rules_markdown(RULES)
    actual = RULES_MD.read_text(encoding="utf-8") if RULES_MD.exists() else ""
    assert actual == expected, f"docs/rules.md is out of date; regenerate it: {REGENERATE}"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_docs_have_the_headings_in_order(rule: type[Rule]) -> None:
    lines = [line.strip() for line in textwrap.dedent(rule.docs()).splitlines()]
    positions = []
    for heading in DOC_HEADINGS:
        assert heading in lines, f"{rule.code} docs lack the heading {heading!r}"
        positions.append(lines.index(heading))
    assert positions == sorted(positions), f"{rule.code} docs have the headings out of order"
    for start, end in zip(positions, [*positions[1:], len(lines)], strict=True):
        body = [line for line in lines[start + 1 : end] if line]
        assert body, f"{rule.code}: nothing under {lines[start]!r}"


def test_every_rule_is_in_the_catalog() -> None:
    assert [r.code for r in RULES if r.code not in CATALOG] == []


def test_every_catalog_code_has_a_rule() -> None:
    assert [code for code in CATALOG if code not in {r.code for r in RULES}] == []


def test_rules_markdown_lists_every_rule_with_its_docs() -> None:
    text = rules_markdown(RULES)
    for rule in RULES:
        assert f"## {rule.code} {rule.name}\n" in text
        assert "### What it does" in text


def test_cli_prints_the_same_markdown() -> None:
    result = CliRunner().invoke(main, ["rules", "--markdown"])
    assert result.exit_code == 0
    assert result.stdout == rules_markdown(RULES)
