"""Suppression comments: the forms, where they apply, and LL003 for the unused ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from harness import (
    ANNOTATION,
    CODE,
    FIXTURES,
    annotated_files,
    expected_findings,
    fixture_projects,
    lint_project,
    selection_for,
)

from leaklint.diagnostics import Diagnostic, Edit, Location, Severity
from leaklint.model.project import Project
from leaklint.rules.base import RuleSelection, all_rules
from leaklint.rules.suppress import Suppressor, parse_suppressions
from leaklint.run.engine import lint


def finding(path: Path, row: int, code: str = "LL401") -> Diagnostic:
    return Diagnostic(
        code=code,
        name="some-rule",
        message="m",
        severity=Severity.WARNING,
        path=path,
        location=Location(row, 1),
        end_location=Location(row, 2),
    )


def project_with(tmp_path: Path, name: str, text: str) -> tuple[Project, Path]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return Project.load([tmp_path]), path


def kept_rows(
    tmp_path: Path, name: str, text: str, rows: list[int], code: str = "LL401"
) -> list[int]:
    project, path = project_with(tmp_path, name, text)
    kept = Suppressor(project).filter([finding(path, row, code) for row in rows])
    return [d.location.row for d in kept]


# ---- parsing ----------------------------------------------------------------------------


def test_forms() -> None:
    text = (
        "a = 1  # leaklint: ignore[LL401, ll402]\n"
        "b = 2  # leaklint: ignore\n"
        "c = 3  # noqa: LL401,E501\n"
        "d = 4  # noqa: E501\n"
        "e = 5  # noqa\n"
        "f = 6  # NOQA:LL2\n"
        "g = 7  # leaklint:ignore [LL401]\n"
    )
    found = {s.line: s for s in parse_suppressions(text, python=True)}
    assert found[1].codes == ("LL401", "LL402")
    assert found[2].codes is None and not found[2].noqa
    assert found[3].codes == ("LL401",) and found[3].foreign == ("E501",)
    assert 4 not in found  # another tool's noqa
    assert found[5].codes is None and found[5].noqa
    assert found[6].codes == ("LL2",)
    assert found[7].codes == ("LL401",)
    assert found[1].column == 8


def test_strings_are_not_comments() -> None:
    text = 's = "# leaklint: ignore[LL401]"\nt = """\n# noqa: LL401\n"""\n'
    assert parse_suppressions(text, python=True) == []


def test_file_that_does_not_tokenize_still_has_suppressions() -> None:
    text = "def f(:  # leaklint: ignore[LL001]\n    '''\n"
    (s,) = parse_suppressions(text, python=True)
    assert s.line == 1 and s.codes == ("LL001",)


def test_ignore_file_only_in_the_top_comment_block() -> None:
    top = "#!/usr/bin/env python\n# leaklint: ignore-file[LL4]\n\nimport x\n"
    (s,) = parse_suppressions(top, python=True)
    assert s.file_level and s.codes == ("LL4",)
    late = "import x\n# leaklint: ignore-file[LL4]\n"
    assert parse_suppressions(late, python=True) == []


def test_semicolon_comments_only_in_ini() -> None:
    text = "[pytest]\n; leaklint: ignore[LL104]\nasyncio_mode = auto\n"
    assert len(parse_suppressions(text, python=False, ini=True)) == 1
    assert parse_suppressions(text, python=False, ini=False) == []


# ---- where a comment applies ------------------------------------------------------------


def test_comment_on_the_finding_line(tmp_path: Path) -> None:
    text = "import x\nx.a()  # leaklint: ignore[LL401]\nx.b()  # leaklint: ignore[LL402]\n"
    assert kept_rows(tmp_path, "test_a.py", text, [2, 3]) == [3]


def test_prefix_and_bare_comments(tmp_path: Path) -> None:
    text = "x.a()  # leaklint: ignore[LL4]\nx.b()  # leaklint: ignore\nx.c()  # noqa\n"
    assert kept_rows(tmp_path, "test_a.py", text, [1, 2, 3]) == []
    assert kept_rows(tmp_path, "test_b.py", text, [1], code="LL201") == [1]


def test_first_line_of_a_multi_line_statement(tmp_path: Path) -> None:
    text = (
        "worker = make(  # leaklint: ignore[LL401]\n    1,\n    2,\n)\nother = make(\n    3,\n)\n"
    )
    assert kept_rows(tmp_path, "test_a.py", text, [1, 3, 4, 6]) == [6]


def test_compound_header_covers_its_header_not_its_body(tmp_path: Path) -> None:
    text = (
        "def test_x():  # leaklint: ignore[LL401]\n"
        "    with open(  # leaklint: ignore[LL401]\n"
        "        'f',\n"
        "    ) as f:\n"
        "        f.read()\n"
    )
    assert kept_rows(tmp_path, "test_a.py", text, [3, 4, 5]) == [5]


def test_decorator_first_line(tmp_path: Path) -> None:
    text = (
        "import pytest\n"
        "@pytest.fixture(  # leaklint: ignore[LL201]\n"
        "    scope='session',\n"
        ")\n"
        "async def f():\n"
        "    pass\n"
    )
    assert kept_rows(tmp_path, "conftest.py", text, [3, 5], code="LL201") == [5]


def test_ignore_file(tmp_path: Path) -> None:
    text = "# leaklint: ignore-file[LL401]\nx.a()\n"
    assert kept_rows(tmp_path, "test_a.py", text, [2]) == []
    assert kept_rows(tmp_path, "test_b.py", text, [2], code="LL402") == [2]


def test_config_comment_on_its_own_line_above(tmp_path: Path) -> None:
    text = (
        "[pytest]\n"
        "; leaklint: ignore[LL104]\n"
        "asyncio_mode = automatic\n"
        "python_files = x.py  # leaklint: ignore[LL104]\n"
        "addopts = -q\n"
    )
    # Line 3: own-line comment above; line 4: on the line; line 5: the comment above is not
    # alone on its line, so it belongs to line 4 only.
    assert kept_rows(tmp_path, "pytest.ini", text, [3, 4, 5], code="LL104") == [5]


def test_python_comment_above_does_not_count(tmp_path: Path) -> None:
    text = "# leaklint: ignore[LL401]\nx.a()\n"
    assert kept_rows(tmp_path, "test_a.py", text, [2]) == [2]


def test_toml_comment_above(tmp_path: Path) -> None:
    text = '[features]\n# leaklint: ignore[LL501]\ndefault = ["pyo3/auto-initialize"]\n'
    assert kept_rows(tmp_path, "Cargo.toml", text, [3], code="LL501") == []


# ---- LL003 --------------------------------------------------------------------------------


def run(tmp_path: Path, *codes: str) -> list[Diagnostic]:
    project = Project.load([tmp_path])
    return lint(project, RuleSelection(select=codes).rules()).diagnostics


def apply(text: str, edits: tuple[Edit, ...]) -> str:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(location: Location) -> int:
        return offsets[location.row - 1] + location.column - 1

    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: offset(edit.start)] + edit.content + text[offset(edit.end) :]
    return text


def test_used_suppression_is_not_reported(tmp_path: Path) -> None:
    broken = "def test_x(:  # leaklint: ignore[LL001]\n    threading.Thread()\n"
    (tmp_path / "test_a.py").write_text(broken)
    assert run(tmp_path, "LL001", "LL003", "LL401") == []


@pytest.mark.parametrize(
    ("line", "fixed"),
    [
        ("x = 1  # leaklint: ignore[LL001]\n", "x = 1\n"),
        ("x = 1  # noqa: LL001\n", "x = 1\n"),
        ("x = 1  # noqa: E501, LL001\n", "x = 1  # noqa: E501\n"),
        ("x = 1  # leaklint: ignore[LL001, LL9]\n", "x = 1  # leaklint: ignore[LL9]\n"),
        ("x = 1  # leaklint: ignore[LL001]  # keep me\n", "x = 1  # keep me\n"),
        ("# leaklint: ignore[LL001]\nx = 1\n", "x = 1\n"),
        ("x = 1\n    # leaklint: ignore[LL001]", "x = 1\n"),
        ("x = 1  # leaklint: ignore[LL001]", "x = 1"),
    ],
)
def test_unused_suppression_and_its_fix(tmp_path: Path, line: str, fixed: str) -> None:
    path = tmp_path / "test_a.py"
    path.write_text(line)
    (diagnostic,) = run(tmp_path, "LL001", "LL003")
    assert diagnostic.code == "LL003"
    assert diagnostic.fix is not None
    assert apply(line, diagnostic.fix.edits) == fixed


def test_only_codes_that_ran_are_judged(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(
        "x = 1  # leaklint: ignore[LL001]\n"  # LL001 not selected below
        "y = 2  # leaklint: ignore[LL999]\n"  # no such rule
        "z = 3  # noqa: E501\n"  # another tool
        "w = 4  # noqa\n"  # bare noqa: maybe another tool's
        "v = 5  # leaklint: ignore[LL003]\n"  # names LL003 itself
    )
    assert run(tmp_path, "LL003") == []


def test_bare_comment_judged_only_when_every_rule_ran(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text("x = 1  # leaklint: ignore\n")
    every = tuple(rule.code for rule in all_rules())
    assert [d.code for d in run(tmp_path, *every)] == ["LL003"]
    if len(every) > 2:
        assert run(tmp_path, "LL001", "LL003") == []


def test_unused_in_config_file(tmp_path: Path) -> None:
    text = "[pytest]\n# leaklint: ignore[LL001]\naddopts = -q\n"
    (tmp_path / "pytest.ini").write_text(text)
    (diagnostic,) = run(tmp_path, "LL001", "LL003")
    assert diagnostic.path.name == "pytest.ini" and diagnostic.location.row == 2
    assert diagnostic.fix is not None
    assert apply(text, diagnostic.fix.edits) == "[pytest]\naddopts = -q\n"


# ---- every fixture, silenced -------------------------------------------------------------

CASES = fixture_projects()


def silenced(text: str, python: bool) -> str:
    """Turn every ``# error: CODES`` annotation into a suppression of those codes: in place
    when it follows code; when it stands alone, onto the line it points at (Python) or left
    on its own line above it (config files, where that form is accepted)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    pending: list[str] = []
    for line in lines:
        match = ANNOTATION.search(line)
        codes = [] if match is None else [m[1] for m in CODE.finditer(match["codes"])]
        own_line = match is not None and not line[: match.start()].strip()
        if match is not None and own_line and python:
            pending += codes
            continue
        if match is not None:
            leader = line[match.start()]
            line = f"{line[: match.start()]}{leader} leaklint: ignore[{', '.join(codes)}]\n"
        elif pending and python:
            body = line.rstrip("\r\n")
            line = f"{body}  # leaklint: ignore[{', '.join(pending)}]\n"
            pending = []
        out.append(line)
    return "".join(out)


@pytest.mark.parametrize("case", CASES, ids=[c.relative_to(FIXTURES).as_posix() for c in CASES])
def test_fixture_findings_are_all_suppressible(case: Path, tmp_path: Path) -> None:
    expected = expected_findings(case)
    copy = tmp_path / "case"
    shutil.copytree(case, copy)
    for path in annotated_files(copy):
        text = path.read_text(encoding="utf-8")
        path.write_text(silenced(text, python=path.suffix == ".py"), encoding="utf-8")
    result = lint_project(copy, selection_for(expected))
    leftover = [
        f"{d.path.relative_to(copy)}:{d.location.row}: {d.code} {d.message}"
        for d in result.diagnostics
    ]
    assert leftover == []
