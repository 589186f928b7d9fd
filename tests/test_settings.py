"""``leaklint.toml`` and ``[tool.leaklint]``: discovery, keys, errors, and the CLI on top."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from leaklint.cli import main
from leaklint.config.settings import SettingsError, find_settings_file, load_settings
from leaklint.rules.base import all_rules

# Mentions a thread: the thread rules need the file, so its syntax error is a finding.
BROKEN = "def test_x(:\n    threading.Thread()\n"


def rule_codes() -> list[str]:
    return [rule.code for rule in all_rules()]


def check(cwd: Path, *args: str) -> tuple[int, str, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["check", "--output-format", "concise", *args])
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


def test_found_walking_up_and_leaklint_toml_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nignore = ['LL001']\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_settings_file(sub) == tmp_path / "pyproject.toml"
    (tmp_path / "leaklint.toml").write_text("ignore = ['LL001']\n")
    assert find_settings_file(sub) == tmp_path / "leaklint.toml"
    (sub / "pyproject.toml").write_text("[tool.other]\nx = 1\n")  # no [tool.leaklint]: skipped
    assert find_settings_file(sub) == tmp_path / "leaklint.toml"


def test_nearest_directory_wins(tmp_path: Path) -> None:
    (tmp_path / "leaklint.toml").write_text("ignore = ['LL001']\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[tool.leaklint]\nselect = ['LL001']\n")
    assert find_settings_file(sub) == sub / "pyproject.toml"


def test_values(tmp_path: Path) -> None:
    path = tmp_path / "leaklint.toml"
    path.write_text(
        "select = ['LL0']\n"
        "extend-select = ['LL003']\n"
        "ignore = ['LL001']\n"
        "exclude = ['build_*', 'tests/data/']\n"
        "extend-exclude = ['*.generated.py']\n"
        "output-format = 'github'\n"
        "cache-dir = '.cache/leaklint'\n"
        "[per-file-ignores]\n"
        "'tests/legacy/*.py' = ['LL001']\n"
        "'conftest.py' = ['LL0']\n"
    )
    settings = load_settings(path, ("full", "github"), known_codes=rule_codes)
    assert settings.select == ("LL0",)
    assert settings.extend_select == ("LL003",)
    assert settings.ignore == ("LL001",)
    assert settings.output_format == "github"
    assert settings.cache_dir == tmp_path / ".cache" / "leaklint"
    assert settings.exclude_patterns() == (
        "build_*",
        f"{tmp_path.as_posix()}/tests/data",
        "*.generated.py",
    )
    assert settings.is_ignored(tmp_path / "tests" / "legacy" / "test_a.py", "LL001")
    assert not settings.is_ignored(tmp_path / "tests" / "test_a.py", "LL001")
    assert settings.is_ignored(tmp_path / "deep" / "conftest.py", "LL003")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("selct = ['LL001']\n", "unknown key `selct`"),
        ("select = ['LL999']\n", "unknown rule code 'LL999' in `select`"),
        ("ignore = 'LL0X'\n", "unknown rule code 'LL0X' in `ignore`"),
        ("[per-file-ignores]\n'a.py' = ['XX1']\n", "unknown rule code 'XX1' in `per-file-ignores"),
        ("select = [1]\n", "`select` must be a list of strings"),
        ("output-format = 'xml'\n", "`output-format` must be one of"),
        ("cache-dir = ['a']\n", "`cache-dir` must be a non-empty path string"),
        ("cache-dir = ' '\n", "`cache-dir` must be a non-empty path string"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_errors_name_the_key_and_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "leaklint.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path, ("full", "json"), known_codes=rule_codes)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_unknown_key_in_pyproject_is_exit_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nbogus = 1\n")
    (tmp_path / "test_x.py").write_text(BROKEN)
    code, out, err = check(tmp_path)
    assert code == 2
    assert out == ""
    (line,) = err.splitlines()
    assert "bogus" in line and "pyproject.toml" in line and "[tool.leaklint]" in line


def test_cli_uses_the_file(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(BROKEN)
    assert check(tmp_path)[0] == 1
    (tmp_path / "leaklint.toml").write_text("ignore = ['LL001']\n")
    assert check(tmp_path)[0] == 0
    # A command-line option replaces the file's value for that key.
    code, out, _ = check(tmp_path, "--ignore", "LL003")
    assert code == 1 and "LL001" in out


def test_cli_exclude_and_per_file_ignores(tmp_path: Path) -> None:
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "test_gen.py").write_text(BROKEN)
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "test_old.py").write_text(BROKEN)
    (tmp_path / "test_new.py").write_text(BROKEN)
    code, out, _ = check(tmp_path)
    assert out.count("LL001") == 3
    (tmp_path / "leaklint.toml").write_text(
        "extend-exclude = ['gen/']\n[per-file-ignores]\n'legacy/*.py' = ['LL001']\n"
    )
    code, out, _ = check(tmp_path)
    assert code == 1
    assert out.splitlines() == ["test_new.py:1:12: LL001 syntax error: invalid syntax"]


def test_settings_found_from_the_paths_not_the_cwd(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_x.py").write_text(BROKEN)
    (project / "leaklint.toml").write_text("ignore = ['LL001']\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert check(elsewhere, str(project))[0] == 0


def test_codes_are_checked_only_against_the_codes_passed_in(tmp_path: Path) -> None:
    path = tmp_path / "leaklint.toml"
    path.write_text("select = ['LL9']\nignore = ['ALL']\n")
    assert load_settings(path).select == ("LL9",)  # a file checked before: codes unchecked
    assert load_settings(path, known_codes=lambda: ["LL901"]).select == ("LL9",)
    with pytest.raises(SettingsError, match="unknown rule code 'LL9' in `select`"):
        load_settings(path, known_codes=lambda: ["LL001"])
