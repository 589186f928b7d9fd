"""The shipped problem matcher reads every line of ``concise`` output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness import FIXTURES, fixture_projects, lint_project

from leaklint.cli import main
from leaklint.diagnostics import Diagnostic, Location, Severity
from leaklint.output.docs import problem_matcher_json, problem_matcher_regexp
from leaklint.output.reporters import ReportContext
from leaklint.output.reporters.text import render_concise, render_full

REPO = Path(__file__).resolve().parent.parent
CASES = fixture_projects()


def matcher() -> dict[str, object]:
    document = json.loads(problem_matcher_json())
    (entry,) = document["problemMatcher"]
    assert isinstance(entry, dict)
    return entry


def test_matcher_shape() -> None:
    entry = matcher()
    assert entry["owner"] == "leaklint"
    assert entry["severity"] == "warning"
    (pattern,) = entry["pattern"]  # type: ignore[misc]
    assert {"file": 1, "line": 2, "column": 3, "code": 4, "message": 5}.items() <= pattern.items()


def test_command_prints_the_shipped_file() -> None:
    result = CliRunner().invoke(main, ["problem-matcher"])
    assert result.exit_code == 0
    shipped = (REPO / "src" / "leaklint" / "data" / "problem-matcher.json").read_text()
    assert result.stdout == shipped


def check_lines(diagnostics: list[Diagnostic], ctx: ReportContext) -> None:
    regexp = re.compile(problem_matcher_regexp())
    lines = render_concise(diagnostics, ctx).splitlines()
    assert len(lines) == len(diagnostics)
    for line, diagnostic in zip(lines, diagnostics, strict=True):
        match = regexp.match(line)
        assert match is not None, line
        assert match.group(1) == ctx.display_path(diagnostic.path)
        assert int(match.group(2)) == diagnostic.location.row
        assert int(match.group(3)) == diagnostic.location.column
        assert match.group(4) == diagnostic.code
        assert match.group(5) == " ".join(diagnostic.message.split())


@pytest.mark.parametrize("case", CASES, ids=[c.relative_to(FIXTURES).as_posix() for c in CASES])
def test_matcher_reads_concise_output_of_every_fixture(case: Path) -> None:
    result = lint_project(case)
    # Paths as CI shows them: relative to the repository checkout.
    check_lines(result.diagnostics, ReportContext(cwd=REPO, root=case))


def test_fixtures_include_a_path_with_spaces() -> None:
    spaced = [
        d
        for case in CASES
        for d in lint_project(case).diagnostics
        if " " in d.path.relative_to(REPO).as_posix()
    ]
    assert spaced


def test_matcher_reads_awkward_paths_and_messages(tmp_path: Path) -> None:
    names = ["a b/test_x.py", "x:1:2/test_y.py", "C:\\work\\test_z.py", "dir/ü.py"]
    diagnostics = [
        Diagnostic(
            code="LL401",
            name="thread-not-joined",
            message="`t: Thread` started: 3:4 here, never joined",
            severity=Severity.WARNING,
            path=tmp_path / name,
            location=Location(12, 5),
            end_location=Location(12, 9),
        )
        for name in names
    ]
    check_lines(diagnostics, ReportContext(cwd=tmp_path, root=tmp_path))


def test_full_output_headlines_match_and_context_lines_do_not() -> None:
    case = FIXTURES / "output" / "reported_project"
    result = lint_project(case)

    def lines(path: Path) -> list[str]:
        return path.read_text().splitlines()

    ctx = ReportContext(cwd=case, root=case, lines=lines)
    regexp = re.compile(problem_matcher_regexp())
    matched = [m for m in map(regexp.match, render_full(result.diagnostics, ctx).splitlines()) if m]
    assert [(m.group(1), int(m.group(2)), m.group(4)) for m in matched] == [
        (ctx.display_path(d.path), d.location.row, d.code) for d in result.diagnostics
    ]


def test_concise_output_is_never_coloured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.chdir(FIXTURES / "output" / "reported_project")
    result = CliRunner().invoke(main, ["check", "--output-format", "concise"], color=True)
    assert result.exit_code == 1
    assert "\x1b[" not in result.stdout
    regexp = re.compile(problem_matcher_regexp())
    assert all(regexp.match(line) for line in result.stdout.splitlines())
    coloured = CliRunner().invoke(main, ["check", "--output-format", "full"], color=True)
    assert "\x1b[" in coloured.stdout
