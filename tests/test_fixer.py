"""The fixer: offsets, encodings, newlines, overlapping and invalid fixes, passes, writing, CLI."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from leaklint.cli import main
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
from leaklint.fix import fixer
from leaklint.fix.fixer import (
    FixError,
    FixOutcome,
    Problem,
    fix_project,
    read_document,
    unified_diff,
    write_group,
)
from leaklint.model.project import Project
from leaklint.python.source import SourceFile
from leaklint.rules.base import RuleSelection

pytestmark = pytest.mark.usefixtures("fixer_rules")


def write(root: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        path.write_bytes(data)


def run_fix(
    root: Path, codes: Sequence[str], *, unsafe: bool = False, write: bool = True
) -> FixOutcome:
    rules = RuleSelection(select=tuple(codes)).rules()

    def load(contents: Mapping[Path, bytes]) -> Project:
        return Project.load([root]).use_contents(contents)

    return fix_project(load, rules, unsafe=unsafe, write=write)


def cli(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(root)
    return CliRunner().invoke(main, ["check", "--output-format", "concise", *args])


# --------------------------------------------------------------------------- offsets


def test_only_cr_lf_and_crlf_break_lines() -> None:
    # \x0c, \x0b, \x1c, \x85 and \u2028 are characters within a line for libcst.
    text = 's = "a\x0cb\x0bc\x1cd\x85e\u2028f"; y = 1\r\ng = 2\rh = 3\n'
    document = read_document(Path("x.py"), text.encode("utf-8"))
    assert document.text == text
    assert len(document.line_starts) == 4
    assert document.offset(1, 1) == 0
    assert text[document.offset(1, 20)] == "y"
    assert text[document.offset(2, 1)] == "g"
    assert text[document.offset(3, 1)] == "h"
    assert document.offset(4, 1) == len(text)  # the end of the file


def test_column_just_past_the_line_is_its_end_and_further_is_an_error() -> None:
    document = read_document(Path("x.py"), b"ab\r\ncd\n")
    assert document.offset(1, 3) == 2  # right before \r\n
    with pytest.raises(FixError, match="column 4"):
        document.offset(1, 4)
    with pytest.raises(FixError, match="line 4"):
        document.offset(4, 1)
    with pytest.raises(FixError):
        document.offset(1, 0)


def test_columns_count_characters_not_bytes() -> None:
    raw = 'x = "ééé"; y = 1\n'.encode()
    document = read_document(Path("x.py"), raw)
    assert document.text[document.offset(1, 12)] == "y"


def test_config_files_are_utf8_and_unknown_kinds_are_refused() -> None:
    assert read_document(Path("pytest.ini"), "[pytest]\n; é\n".encode()).kind == "ini"
    assert read_document(Path("Cargo.toml"), b"[package]\n").kind == "toml"
    with pytest.raises(FixError, match="not UTF-8"):
        read_document(Path("tox.ini"), b"[pytest]\n; \xe9\n")
    with pytest.raises(FixError, match="does not edit"):
        read_document(Path("requirements.txt"), b"x\n")
    with pytest.raises(FixError, match="does not parse"):
        read_document(Path("pyproject.toml"), b"[tool\n")


# --------------------------------------------------------------------------- fixing


def test_safe_fix_applied_unsafe_only_when_asked(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "old_name()\nrisky()\n"})
    outcome = run_fix(tmp_path, ["LL991", "LL992"])
    assert (tmp_path / "mod.py").read_text() == "new_name()\nrisky()\n"
    assert [d.code for d in outcome.fixed] == ["LL991"]
    assert [d.code for d in outcome.remaining.diagnostics] == ["LL992"]

    outcome = run_fix(tmp_path, ["LL991", "LL992"], unsafe=True)
    assert (tmp_path / "mod.py").read_text() == "new_name()\ncareful()\n"
    assert [d.code for d in outcome.fixed] == ["LL992"]
    assert outcome.remaining.diagnostics == []


def test_nested_overlapping_fixes_take_several_passes(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "x = wrap(wrap(wrap(1)))  # keep\n"})
    outcome = run_fix(tmp_path, ["LL995"])
    assert (tmp_path / "mod.py").read_text() == "x = 1  # keep\n"
    assert len(outcome.fixed) == 3
    assert outcome.passes == 3


def test_two_fixes_on_one_line_both_apply(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "old_name(old_name(1)); old_name()\n"})
    outcome = run_fix(tmp_path, ["LL991"])
    assert (tmp_path / "mod.py").read_text() == "new_name(new_name(1)); new_name()\n"
    assert len(outcome.fixed) == 3
    assert outcome.passes == 1


def test_fix_that_breaks_syntax_is_dropped_and_others_applied(tmp_path: Path) -> None:
    source = "break_me()\nold_name()\n"
    write(tmp_path, {"mod.py": source})
    outcome = run_fix(tmp_path, ["LL991", "LL994"])
    assert (tmp_path / "mod.py").read_text() == "break_me()\nnew_name()\n"
    assert [d.code for d in outcome.remaining.diagnostics] == ["LL994"]
    assert len(outcome.problems) == 1
    assert "LL994 fix not applied: the result would not parse" in outcome.problems[0].message
    assert outcome.problems[0].path == tmp_path / "mod.py"


def test_edit_past_the_end_of_a_line_is_dropped(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "too_far()\n"})
    outcome = run_fix(tmp_path, ["LL998"])
    assert (tmp_path / "mod.py").read_text() == "too_far()\n"
    assert outcome.fixed == []
    assert "column 999 is outside line 1" in outcome.problems[0].message


def test_crlf_file_stays_crlf_when_an_edit_inserts_lines(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": b"def f():\r\n    add_line()\r\n    return 1\r\n"})
    run_fix(tmp_path, ["LL996"])
    assert (tmp_path / "mod.py").read_bytes() == (
        b"def f():\r\n    added()\r\n    line_added()\r\n    return 1\r\n"
    )


def test_cr_only_file_keeps_its_final_cr(tmp_path: Path) -> None:
    # libcst drops a final lone \r from module.code; the fixer must keep it.
    write(tmp_path, {"mod.py": b"def f():\r    add_line()\r"})
    run_fix(tmp_path, ["LL996"])
    assert (tmp_path / "mod.py").read_bytes() == b"def f():\r    added()\r    line_added()\r"


def test_latin1_cookie_file_keeps_its_encoding(tmp_path: Path) -> None:
    raw = '# -*- coding: latin-1 -*-\ns = "é"; old_name()\n'.encode("latin-1")
    write(tmp_path, {"mod.py": raw})
    run_fix(tmp_path, ["LL991"])
    assert (tmp_path / "mod.py").read_bytes() == raw.replace(b"old_name", b"new_name")


def test_bom_is_kept_and_columns_start_after_it(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbfold_name()\n"
    write(tmp_path, {"mod.py": raw})
    run_fix(tmp_path, ["LL991"])
    assert (tmp_path / "mod.py").read_bytes() == b"\xef\xbb\xbfnew_name()\n"


def test_file_without_final_newline(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "x = 1\nold_name()"})
    run_fix(tmp_path, ["LL991"])
    assert (tmp_path / "mod.py").read_text() == "x = 1\nnew_name()"


def test_project_rule_edits_pytest_ini(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\naddopts = -ra\n", "test_a.py": "x = 1\n"})
    outcome = run_fix(tmp_path, ["LL993"])
    assert (tmp_path / "pytest.ini").read_text() == (
        "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -ra\n"
    )
    assert len(outcome.fixed) == 1
    assert outcome.remaining.diagnostics == []


def test_one_fix_edits_two_files(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n", "test_a.py": "both()\n"})
    run_fix(tmp_path, ["LL997"])
    assert (tmp_path / "test_a.py").read_text() == "both_done()\n"
    assert (tmp_path / "pytest.ini").read_text() == "; both renamed\n[pytest]\n"


def test_multi_file_fix_is_all_or_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n", "test_a.py": "both()\nold_name()\n"})
    (tmp_path / "pytest.ini").chmod(0o444)
    try:
        outcome = run_fix(tmp_path, ["LL997", "LL991"])
    finally:
        (tmp_path / "pytest.ini").chmod(0o644)
    # The rename of both() belongs to the fix that could not write pytest.ini: it is not
    # applied either. The other fix of test_a.py is, in the next pass.
    assert (tmp_path / "pytest.ini").read_text() == "[pytest]\n"
    assert outcome.problems == [
        Problem(tmp_path / "pytest.ini", "not written: the file is read-only")
    ]
    assert (tmp_path / "test_a.py").read_text() == "both()\nnew_name()\n"
    assert [d.code for d in outcome.remaining.diagnostics] == ["LL997"]


def test_read_only_file_is_not_written(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "old_name()\n", "other.py": "old_name()\n"})
    (tmp_path / "mod.py").chmod(0o444)
    try:
        outcome = run_fix(tmp_path, ["LL991"])
    finally:
        (tmp_path / "mod.py").chmod(0o644)
    assert (tmp_path / "mod.py").read_text() == "old_name()\n"
    assert (tmp_path / "other.py").read_text() == "new_name()\n"
    assert outcome.problems == [Problem(tmp_path / "mod.py", "not written: the file is read-only")]
    assert [d.path.name for d in outcome.remaining.diagnostics] == ["mod.py"]


def test_mode_is_kept_and_no_temporary_file_left(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "old_name()\n"})
    (tmp_path / "mod.py").chmod(0o751)
    run_fix(tmp_path, ["LL991"])
    assert stat.S_IMODE((tmp_path / "mod.py").stat().st_mode) == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]


def test_symlink_target_is_written_and_link_kept(tmp_path: Path) -> None:
    write(tmp_path, {"real/mod.py": "old_name()\n"})
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "mod.py").symlink_to(tmp_path / "real" / "mod.py")
    run_fix(tmp_path / "src", ["LL991"])
    assert (tmp_path / "src" / "mod.py").is_symlink()
    assert (tmp_path / "real" / "mod.py").read_text() == "new_name()\n"


def test_file_changed_since_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_bytes(b"changed meanwhile\n")
    problem = write_group({path: (b"old_name()\n", b"new_name()\n")})
    assert problem == Problem(path, "not written: it changed on disk while leaklint was fixing it")
    assert path.read_bytes() == b"changed meanwhile\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]


def test_pass_bound_is_reported(tmp_path: Path) -> None:
    # LL999 renames f -> f_ll, and f_ll is left alone; LL991 renames old_name: a cycle needs
    # a rule that undoes another, so bound the passes instead.
    write(tmp_path, {"mod.py": "x = wrap(wrap(wrap(1)))\n"})
    rules = RuleSelection(select=("LL995",)).rules()
    outcome = fix_project(
        lambda contents: Project.load([tmp_path]).use_contents(contents), rules, max_passes=2
    )
    assert (tmp_path / "mod.py").read_text() == "x = wrap(1)\n"
    assert outcome.problems == [
        Problem(
            None,
            "stopped after 2 passes with fixes still applicable; the fixes may undo each other",
        )
    ]


def test_display_only_fixes_are_never_applied(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text("x = 1\n")
    edit = Edit(path, Location(1, 1), Location(1, 2), "y")
    diagnostic = Diagnostic(
        "LL991",
        "n",
        "m",
        Severity.WARNING,
        path,
        Location(1, 1),
        Location(1, 1),
        fix=Fix(Applicability.DISPLAY_ONLY, "show", (edit,)),
    )
    assert not fixer.applicable(diagnostic.fix, unsafe=True)


# --------------------------------------------------------------------------- diff mode


def test_diff_mode_writes_nothing_and_matches_fix(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "mod.py": "x = wrap(wrap(1))\nold_name()\n",
        "crlf.py": b"def f():\r\n    add_line()\r\n",
        "pytest.ini": "[pytest]\n",
    }
    write(tmp_path / "diff", files)
    write(tmp_path / "fix", files)
    codes = ["LL991", "LL995", "LL996"]
    preview = run_fix(tmp_path / "diff", codes, write=False)
    applied = run_fix(tmp_path / "fix", codes)
    for name, content in files.items():
        expected = content.encode() if isinstance(content, str) else content
        assert (tmp_path / "diff" / name).read_bytes() == expected
    assert {p.name: new for p, (_, new) in preview.changes.items()} == {
        p.name: new for p, (_, new) in applied.changes.items()
    }
    assert len(preview.fixed) == len(applied.fixed) == 4


def _git_apply_and_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str) -> None:
    files: dict[str, str | bytes] = {
        "pkg/mod.py": "x = wrap(wrap(1))\nold_name()\n",
        "pkg/crlf.py": b"def f():\r\n    add_line()\r\n",
        "pkg/latin.py": '# coding: latin-1\ns = "é"; old_name()'.encode("latin-1"),
        "pkg/bom.py": b"\xef\xbb\xbfold_name()\n",
        "my pkg/spaced.py": "old_name()\n",
        "pytest.ini": "[pytest]\naddopts = -ra\n",
    }
    work, reference = tmp_path / "work", tmp_path / "reference"
    write(work, files)
    write(reference, files)
    codes = "LL991,LL993,LL995,LL996"
    result = cli(work, "--diff", "--select", codes, monkeypatch=monkeypatch)
    assert result.exit_code == 1, result.output
    patch = result.stdout_bytes
    assert patch.startswith(b'--- "a/my pkg/spaced.py"\n+++ "b/my pkg/spaced.py"\n')
    assert b"--- a/pkg/bom.py\n+++ b/pkg/bom.py\n" in patch
    for name, content in files.items():  # --diff writes nothing
        expected = content.encode() if isinstance(content, str) else content
        assert (work / name).read_bytes() == expected
    expected = run_fix(reference, codes.split(","), write=False).changes
    (tmp_path / "fixes.patch").write_bytes(patch)
    if tool == "git":
        subprocess.run(["git", "init", "-q", str(work)], check=True)
        command = ["git", "apply", "--unsafe-paths", str(tmp_path / "fixes.patch")]
    else:
        command = ["patch", "-p1", "--binary", "-s", "-i", str(tmp_path / "fixes.patch")]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(expected) == len(files)
    for path, (_, new) in expected.items():
        assert (work / path.relative_to(reference)).read_bytes() == new, path


def test_diff_applies_with_git_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git_apply_and_patch(tmp_path, monkeypatch, "git")


def test_diff_applies_with_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("patch") is None:
        pytest.skip("patch is not installed")
    _git_apply_and_patch(tmp_path, monkeypatch, "patch")


def test_diff_mode_stops_after_a_pass_that_edits_config(tmp_path: Path) -> None:
    # Config discovery reads the disk, so a second pass would lint stale settings.
    write(tmp_path, {"pytest.ini": "[pytest]\n", "mod.py": "x = wrap(wrap(1))\n"})
    preview = run_fix(tmp_path, ["LL993", "LL995"], write=False)
    assert {p.name: new for p, (_, new) in preview.changes.items()} == {
        "pytest.ini": b"[pytest]\nasyncio_default_fixture_loop_scope = function\n",
        "mod.py": b"x = wrap(1)\n",
    }
    assert [p.message for p in preview.problems] == [
        "the diff shows one pass over config files; `--fix` may apply more fixes after it"
    ]
    run_fix(tmp_path, ["LL993", "LL995"])
    assert (tmp_path / "mod.py").read_text() == "x = 1\n"


def test_diff_of_a_new_file_and_a_missing_final_newline(tmp_path: Path) -> None:
    patch = unified_diff(
        {tmp_path / "new.ini": (None, b"[pytest]\n"), tmp_path / "a.py": (b"a", b"b")}, tmp_path
    )
    assert patch == (
        b"--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n"
        b"+b\n\\ No newline at end of file\n"
        b"--- /dev/null\n+++ b/new.ini\n@@ -0,0 +1 @@\n+[pytest]\n"
    )


def test_diff_exit_zero_when_nothing_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"mod.py": "risky()\n"})
    result = cli(tmp_path, "--diff", "--select", "LL991,LL992", monkeypatch=monkeypatch)
    assert result.exit_code == 0
    assert result.stdout_bytes == b""


# --------------------------------------------------------------------------- CLI


def test_cli_fix_summary_and_hidden_unsafe_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"mod.py": "old_name()\nrisky()\n"})
    result = cli(tmp_path, "--fix", "--select", "LL991,LL992", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert result.stdout == "mod.py:2:1: LL992 risky may change behaviour\n"
    assert "Found 2 findings (1 fixed, 1 remaining)." in result.stderr
    assert "1 hidden fix can be enabled with --unsafe-fixes." in result.stderr

    result = cli(
        tmp_path, "--fix", "--unsafe-fixes", "--select", "LL991,LL992", monkeypatch=monkeypatch
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "Found 1 finding (1 fixed, 0 remaining)." in result.stderr
    assert (tmp_path / "mod.py").read_text() == "new_name()\ncareful()\n"


def test_cli_without_fix_counts_available_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"mod.py": "old_name()\nrisky()\n"})
    result = cli(tmp_path, "--select", "LL991,LL992", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert "1 fixable with --fix." in result.stderr
    assert "1 hidden fix can be enabled with --unsafe-fixes." in result.stderr
    result = cli(tmp_path, "--unsafe-fixes", "--select", "LL991,LL992", monkeypatch=monkeypatch)
    assert "2 fixable with --fix --unsafe-fixes." in result.stderr
    assert "hidden" not in result.stderr
    assert (tmp_path / "mod.py").read_text() == "old_name()\nrisky()\n"


def test_cli_reports_a_file_it_did_not_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"mod.py": "old_name()\n"})
    (tmp_path / "mod.py").chmod(0o444)
    try:
        result = cli(tmp_path, "--fix", "--select", "LL991", monkeypatch=monkeypatch)
    finally:
        (tmp_path / "mod.py").chmod(0o644)
    assert result.exit_code == 1
    assert "leaklint: mod.py: not written: the file is read-only\n" in result.stderr
    assert result.stdout == "mod.py:1:1: LL991 old_name is gone\n"


def test_cli_fix_of_syntax_breaking_rule_reports_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"mod.py": "break_me()\n"})
    result = cli(tmp_path, "--fix", "--select", "LL994", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("leaklint:")]
    assert len(lines) == 1
    assert lines[0].startswith("leaklint: mod.py: line 1: LL994 fix not applied:")
    assert (tmp_path / "mod.py").read_text() == "break_me()\n"


def test_write_group_rolls_back_when_a_replace_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_bytes(b"a\n")
    second.write_bytes(b"b\n")
    real_replace = os.replace
    calls = []

    def flaky_replace(src: str | Path, dst: str | Path) -> None:
        calls.append(Path(dst).name)
        if Path(dst).name == "b.py" and calls.count("b.py") == 1:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    problem = write_group({first: (b"a\n", b"A\n"), second: (b"b\n", b"B\n")})
    assert problem is not None and "nothing of this fix was written" in problem.message
    assert first.read_bytes() == b"a\n"
    assert second.read_bytes() == b"b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]


def test_hard_linked_file_is_not_replaced(tmp_path: Path) -> None:
    write(tmp_path, {"mod.py": "old_name()\n"})
    os.link(tmp_path / "mod.py", tmp_path / "twin.txt")
    outcome = run_fix(tmp_path, ["LL991"])
    assert (tmp_path / "mod.py").read_text() == "old_name()\n"
    assert outcome.problems[0].message.startswith("not written: the file has other hard links")


# --------------------------------------------------------------------------- property


_STATEMENTS = (
    "alpha = 1",
    "s = 'a\x0cb\x0bc\x1cd\x85e\u2028f'; beta = s",
    "# comment with \u2029 and \x0c inside",
    "def gamma(x):\n    return delta(x)",
    "café = 'é' * 3; epsilon = café",
    "if zeta:\n    pass\x0c",
    "t = '''a\nb'''; eta = t",
    "",
)


@given(
    statements=st.lists(st.sampled_from(_STATEMENTS), min_size=1, max_size=8),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_offsets_agree_with_libcst_positions(
    statements: list[str], newline: str, bom: bool
) -> None:
    lines = [*statements, "omega = 1"]
    text = newline.join(s.replace("\n", newline) for s in lines) + newline
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    source = SourceFile.parse(Path("x.py"), raw)
    assert source.module is not None
    document = read_document(Path("x.py"), raw)
    for node in _names(source.module):
        start, end = source.range_of(node)
        begin = document.offset(start.row, start.column)
        assert document.text[begin : document.offset(end.row, end.column)] == node.value


def _names(module: cst.Module) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

    module.visit(Collect())
    return found


def test_write_group_rolls_back_when_a_later_file_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_bytes(b"a\n")
    second.write_bytes(b"b\n")
    real_replace = os.replace

    def replace_then_edit_b(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        if Path(dst).name == "a.py":
            second.write_bytes(b"edited by someone else\n")

    monkeypatch.setattr(os, "replace", replace_then_edit_b)
    problem = write_group({first: (b"a\n", b"A\n"), second: (b"b\n", b"B\n")})
    assert problem == Problem(
        second,
        "not written: it changed on disk while leaklint was fixing it; "
        "nothing of this fix was written",
    )
    assert first.read_bytes() == b"a\n"
    assert second.read_bytes() == b"edited by someone else\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]
