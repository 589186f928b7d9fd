"""Annotated fixture projects: read what must be found from the files themselves.

An annotation is a comment ``# error: LL201`` (``; error: LL201`` in INI files), optionally with
a column (``LL201:5``) and several codes (``# error: LL201, LL305``). Written after code it
applies to its own line; written alone on a line it applies to the next line that is not itself
an annotation (INI values keep trailing comments, so config files annotate from the line above).
The comparison is exact both ways: a missing finding fails and so does an extra one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from leaklint.diagnostics import Diagnostic
from leaklint.model.workspace import Workspace
from leaklint.rules.base import RuleSelection, all_rules
from leaklint.run.engine import LintResult, lint_all

ANNOTATION = re.compile(
    r"(?:#|;)\s*error:\s*(?P<codes>LL\d{3}(?::\d+)?(?:\s*,\s*LL\d{3}(?::\d+)?)*)"
)
CODE = re.compile(r"(LL\d{3})(?::(\d+))?")
ANNOTATED_SUFFIXES = (".py", ".toml", ".ini", ".cfg", ".txt")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    code: str
    column: int | None = None

    def matches(self, diagnostic: Diagnostic, root: Path) -> bool:
        return (
            diagnostic.path.relative_to(root).as_posix() == self.path
            and diagnostic.location.row == self.line
            and diagnostic.code == self.code
            and (self.column is None or diagnostic.location.column == self.column)
        )


def annotated_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in ANNOTATED_SUFFIXES)


def expected_findings(root: Path) -> list[Finding]:
    found: list[Finding] = []
    for path in annotated_files(root):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        pending: list[tuple[str, int | None]] = []
        for number, line in enumerate(lines, start=1):
            match = ANNOTATION.search(line)
            own_line = match is not None and not line[: match.start()].strip()
            if match and own_line:
                pending.extend(_codes(match["codes"]))
                continue
            rel = path.relative_to(root).as_posix()
            for code, column in pending:
                found.append(Finding(rel, number, code, column))
            pending = []
            if match:
                for code, column in _codes(match["codes"]):
                    found.append(Finding(rel, number, code, column))
    return sorted(found)


def _codes(text: str) -> list[tuple[str, int | None]]:
    return [(m[1], int(m[2]) if m[2] else None) for m in CODE.finditer(text)]


def selection_for(expected: list[Finding]) -> RuleSelection:
    """Default rules, plus every opt-in rule the annotations name."""
    opt_in = {r.code for r in all_rules() if not r.default_enabled}
    wanted = sorted({f.code for f in expected} & opt_in)
    return RuleSelection(extend_select=tuple(wanted))


def lint_project(root: Path, selection: RuleSelection | None = None) -> LintResult:
    """``root`` linted as ``leaklint check`` would: every pytest project in it on its own."""
    workspace = Workspace.load([root])
    expected = expected_findings(root)
    return lint_all(workspace.projects, (selection or selection_for(expected)).rules())


def compare(root: Path, result: LintResult) -> tuple[list[Finding], list[Diagnostic]]:
    """(expected but missing, found but not expected)."""
    expected = expected_findings(root)
    missing = [f for f in expected if not any(f.matches(d, root) for d in result.diagnostics)]
    unexpected = [d for d in result.diagnostics if not any(f.matches(d, root) for f in expected)]
    return missing, unexpected


def fixture_projects() -> list[Path]:
    """Every case folder: ``fixtures/<family>/<case>/``."""
    return sorted(
        case
        for family in FIXTURES.iterdir()
        if family.is_dir()
        for case in family.iterdir()
        if case.is_dir()
    )


def describe(missing: list[Finding], unexpected: list[Diagnostic], root: Path) -> str:
    lines = [f"missing: {m.path}:{m.line}: {m.code}" for m in missing]
    lines += [
        f"unexpected: {d.path.relative_to(root).as_posix()}:{d.location.row}:"
        f"{d.location.column}: {d.code} {d.message}"
        for d in unexpected
    ]
    return "\n".join(lines)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path: text) under ``root``, folders included."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
