"""Hostile files: leaklint reports them clearly, never with a traceback, and lints the rest.

A test-only rule that reports every ``import threading`` proves that the *other* files were
still linted, and which content the engine saw.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner, Result

from leaklint.cli import main
from leaklint.model.project import Project
from leaklint.python.source import SourceFile, newer_syntax
from leaklint.rules import base as rule
from leaklint.rules.base import FileRule, RuleSelection
from leaklint.run import engine
from leaklint.run.engine import lint

MARKER = "LL999"


class _ThreadingImport(FileRule):
    """
    ## What it does
    Test-only: reports ``import threading``.

    ## Why is this bad?
    It is not; it marks which files were linted.

    ## Example
    ```python
    import threading
    ```

    Use instead:
    ```python
    ```

    ## Fix safety
    None.
    """

    code = MARKER
    name = "test-threading-import"
    tokens = (b"threading",)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if isinstance(alias.name, cst.Name) and alias.name.value == "threading":
                self.report(node, "threading imported")


@pytest.fixture
def marker_rule() -> Iterator[None]:
    rule.all_rules()
    rule._REGISTRY[MARKER] = _ThreadingImport
    try:
        yield
    finally:
        del rule._REGISTRY[MARKER]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", "--output-format", "concise", *args])


def lines_with(result: Result, text: str) -> list[str]:
    return [line for line in result.output.splitlines() if text in line]


def assert_clean_exit(result: Result, code: int) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output


def test_undecodable_bytes_are_ll001_and_other_files_go_on(
    tmp_path: Path, marker_rule: None
) -> None:
    (tmp_path / "test_bad.py").write_bytes(b'import threading\nx = "\xff\xfe"\n')
    (tmp_path / "test_good.py").write_text("import threading\n")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    [bad] = lines_with(result, "test_bad.py")
    assert "LL001" in bad and "decode" in bad
    assert lines_with(result, "test_good.py:1:1: LL999")


def test_latin1_coding_cookie_is_decoded(tmp_path: Path, marker_rule: None) -> None:
    (tmp_path / "test_latin.py").write_bytes(
        b'# -*- coding: latin-1 -*-\nname = "caf\xe9"\nimport threading\n'
    )
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert lines_with(result, "test_latin.py:3:1: LL999")
    assert not lines_with(result, "LL001")


def test_utf8_bom_keeps_columns(tmp_path: Path, marker_rule: None) -> None:
    (tmp_path / "test_bom.py").write_bytes(b"\xef\xbb\xbfimport threading\n")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert lines_with(result, "test_bom.py:1:1: LL999")


def test_crlf_mixed_endings_and_tabs(tmp_path: Path, marker_rule: None) -> None:
    (tmp_path / "test_crlf.py").write_bytes(b"x = 1\r\nif x:\r\n\ty = 2\nimport threading\r\n")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert lines_with(result, "test_crlf.py:4:1: LL999")


def test_null_byte_and_empty_file(tmp_path: Path, marker_rule: None) -> None:
    (tmp_path / "test_null.py").write_bytes(b"import threading\n\x00\n")
    # No rule needs this one: not read past the token search, so nothing is said about it.
    (tmp_path / "test_null_unneeded.py").write_bytes(b"import os\n\x00\n")
    (tmp_path / "test_empty.py").write_bytes(b"")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    [null] = lines_with(result, "test_null.py")
    assert "LL001" in null and "null" in null
    assert not lines_with(result, "test_null_unneeded.py")
    assert not lines_with(result, "test_empty.py")


def test_nesting_that_crashes_the_parser_is_ll001(tmp_path: Path) -> None:
    # libcst's native parser dies with SIGSEGV on this; it must never see it.
    depth = 5000
    # Both mention a thread: LL401 needs them, so they must be read.
    needed = "import threading\nthreading.Thread()\n"
    (tmp_path / "test_deep.py").write_text(needed + "x = " + "(" * depth + "1" + ")" * depth + "\n")
    (tmp_path / "test_unary.py").write_text(needed + "x = " + "-" * 50_000 + "1\n")
    result = run(str(tmp_path), "--select", "LL001,LL401")
    assert_clean_exit(result, 1)
    assert "nested" in lines_with(result, "test_deep.py")[0]
    assert "nested" in lines_with(result, "test_unary.py")[0]


def test_deep_but_valid_nesting_is_linted(tmp_path: Path, marker_rule: None) -> None:
    # CPython accepts this; the visitors need more than the default recursion limit.
    (tmp_path / "test_deep.py").write_text("import threading\nx = " + "-" * 1500 + "a\n")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert lines_with(result, "test_deep.py:1:1: LL999")
    assert sys.getrecursionlimit() < engine.RECURSION_LIMIT  # restored after the run


def test_huge_file_is_skipped_by_name(tmp_path: Path, marker_rule: None) -> None:
    line = b"import threading  # " + b"x" * 60 + b"\n"
    (tmp_path / "test_huge.py").write_bytes(line * (20 * 1024 * 1024 // len(line)))
    (tmp_path / "test_small.py").write_text("import threading\n")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert any("test_huge.py: skipped" in line for line in result.output.splitlines())
    assert not lines_with(result, "test_huge.py:1:")
    assert lines_with(result, "test_small.py:1:1: LL999")


def test_time_budget_interrupts_a_slow_rule(
    tmp_path: Path, marker_rule: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Slow(_ThreadingImport):
        def visit_Import(self, node: cst.Import) -> None:
            while True:
                pass

    monkeypatch.setitem(rule._REGISTRY, MARKER, Slow)
    monkeypatch.setattr(engine, "FILE_TIME_BUDGET", 0.2)
    (tmp_path / "test_slow.py").write_text("import threading\n")
    (tmp_path / "test_other.py").write_text("import threading\ndef test_x(:\n")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert any("test_slow.py: skipped" in line for line in result.output.splitlines())
    assert lines_with(result, "test_other.py:2:")


def test_directory_named_like_a_file_links_and_loops(tmp_path: Path, marker_rule: None) -> None:
    (tmp_path / "test_dir.py").mkdir()
    (tmp_path / "test_dir.py" / "test_inner.py").write_text("import threading\n")
    (tmp_path / "test_broken.py").symlink_to(tmp_path / "nowhere.py")
    (tmp_path / "loop_a.py").symlink_to(tmp_path / "loop_b.py")
    (tmp_path / "loop_b.py").symlink_to(tmp_path / "loop_a.py")
    os.mkfifo(tmp_path / "test_fifo.py")  # reading it would block forever
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert lines_with(result, "test_dir.py/test_inner.py:1:1: LL999")
    assert not lines_with(result, "loop_")
    assert not lines_with(result, "test_broken")


def test_explicit_broken_link_is_reported(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").symlink_to(tmp_path / "nowhere.py")
    # Unreadable: any selected file rule could have found something in it.
    result = run(str(tmp_path / "test_broken.py"), "--select", "LL001,LL401")
    assert_clean_exit(result, 1)
    assert "cannot read file" in lines_with(result, "test_broken.py")[0]


def test_unreadable_file(
    tmp_path: Path, marker_rule: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root in CI, where chmod 000 does not stop a read: refuse it at the source.
    locked = tmp_path / "test_locked.py"
    locked.write_text("import threading\n")
    (tmp_path / "test_open.py").write_text("import threading\n")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "test_locked.py":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    [line] = lines_with(result, "test_locked.py")
    assert "LL001 cannot read file: Permission denied" in line
    assert lines_with(result, "test_open.py:1:1: LL999")


def test_file_deleted_between_discovery_and_reading(tmp_path: Path, marker_rule: None) -> None:
    gone = tmp_path / "test_gone.py"
    gone.write_text("import threading\n")
    (tmp_path / "test_kept.py").write_text("import threading\n")
    project = Project.load([tmp_path])
    gone.unlink()
    result = lint(project, RuleSelection(select=("LL001", MARKER)).rules())
    assert not result.internal_errors
    messages = {(d.path.name, d.code, d.message) for d in result.diagnostics}
    assert ("test_gone.py", "LL001", "cannot read file: No such file or directory") in messages
    assert ("test_kept.py", MARKER, "threading imported") in messages


def test_paths_with_spaces_and_non_ascii(tmp_path: Path, marker_rule: None) -> None:
    folder = tmp_path / "my tests" / "ünï"
    folder.mkdir(parents=True)
    (folder / "test_café au lait.py").write_text("import threading\n")
    result = run(str(tmp_path), "--select", f"LL001,{MARKER}")
    assert_clean_exit(result, 1)
    assert lines_with(result, "my tests/ünï/test_café au lait.py:1:1: LL999")


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run(str(tmp_path / "missing"))
    assert_clean_exit(result, 2)
    assert "no such file or directory" in result.output


def test_rule_crash_is_isolated_to_its_file(
    tmp_path: Path, marker_rule: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crashing(_ThreadingImport):
        def visit_Import(self, node: cst.Import) -> None:
            if self.source.path.name == "test_a.py":
                raise ValueError("boom")
            super().visit_Import(node)

    monkeypatch.setitem(rule._REGISTRY, MARKER, Crashing)
    (tmp_path / "test_a.py").write_text("import threading\n")
    (tmp_path / "test_b.py").write_text("import threading\n")
    result = run(str(tmp_path), "--select", MARKER)
    assert_clean_exit(result, 2)
    assert "test_a.py: internal error in LL999" in result.output
    assert lines_with(result, "test_b.py:1:1: LL999")


def test_gitignore_applies_below_but_not_to_a_directory_named_on_purpose(
    tmp_path: Path, marker_rule: None
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("/vendor\ngenerated_*.py\n")
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "test_v.py").write_text("import threading\n")
    (tmp_path / "test_kept.py").write_text("import threading\n")
    (tmp_path / "generated_x.py").write_text("import threading\n")
    whole = run(str(tmp_path), "--select", MARKER)
    assert lines_with(whole, "test_kept.py:1:1")
    assert not lines_with(whole, "test_v.py")
    assert not lines_with(whole, "generated_x.py")
    named = run(str(vendor), "--select", MARKER)
    assert lines_with(named, "test_v.py:1:1")


def test_a_working_directory_that_is_gone_is_one_line_and_exit_2(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "test_a.py").write_text("def test_a():\n    pass\n")
    script = f'mkdir {gone} && cd {gone} && rmdir {gone} && exec "$0" -m leaklint check "$1"'
    done = subprocess.run(
        ["sh", "-c", script, sys.executable, str(tmp_path / "proj")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "leaklint: error: the working directory no longer exists\n"


# --------------------------------------------------------------------------- newer syntax


TEMPLATES = Path(__file__).resolve().parent.parent / "fixtures" / "syntax" / "template_strings"


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="template strings compile here")
def test_template_strings_are_no_finding_and_warn_only_where_a_rule_needed_the_file() -> None:
    """Valid code for a newer Python than leaklint's is not LL001: a file that a rule needed
    and that cannot be read gets one warning; a file only checked for syntax, none."""
    result = lint(Project.load([TEMPLATES]), RuleSelection().rules())
    assert [(d.code, d.path.name) for d in result.diagnostics] == [
        ("LL401", "daemon.py"),
        ("LL001", "test_broken_too.py"),
    ]
    (warning,) = result.warnings
    assert warning.startswith(f"{TEMPLATES / 'app' / 'worker.py'}:8: skipped: uses a PEP 750")
    assert warning.endswith(f"which Python {sys.version_info[0]}.{sys.version_info[1]} cannot read")


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="template strings compile here")
def test_a_real_syntax_error_beside_a_template_string_is_reported_where_it_is() -> None:
    raw = b'x = tr"{y}"\n\n\ndef f(:\n    pass\n'
    error = SourceFile.parse(Path("m.py"), raw).error
    assert error is not None and error.newer_syntax is None
    assert error.location.row == 4
    quoted = b'x = "t"\ny = "a" "tr" rt\n'  # no template string: names and plain strings
    assert SourceFile.parse(Path("m.py"), quoted).error is not None
    assert newer_syntax(quoted) is None
