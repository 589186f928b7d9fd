"""The pytest-config rules (LL002, LL101-LL107): findings both ways, their fixes, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaklint.cli import main
from leaklint.config.pytest_config import discover
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Location
from leaklint.model.project import Project
from leaklint.rules.base import Rule, get_rule
from leaklint.run.engine import lint

ASYNC_TEST = "async def test_a():\n    assert True\n"
SYNC_TEST = "def test_a():\n    assert True\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def run(root: Path, code: str, *, config_file: Path | None = None) -> list[Diagnostic]:
    rule = get_rule(code)
    assert rule is not None
    project = Project.load([root], config_file=config_file)
    result = lint(project, [rule])
    assert not result.internal_errors, result.internal_errors
    return result.diagnostics


def one(root: Path, code: str) -> Diagnostic:
    found = run(root, code)
    assert len(found) == 1, found
    return found[0]


def _offset(text: str, at: Location) -> int:
    lines = text.splitlines(keepends=True)
    if at.row > len(lines):
        assert at.row == len(lines) + 1 and at.column == 1, at
        return len(text)
    return sum(len(line) for line in lines[: at.row - 1]) + at.column - 1


def apply(edits: Iterable[Edit]) -> None:
    """Apply edits the way a fixer does: per file, from the end backwards."""
    by_path: dict[Path, list[Edit]] = {}
    for edit in edits:
        by_path.setdefault(edit.path, []).append(edit)
    for path, file_edits in by_path.items():
        text = path.read_text(encoding="utf-8")
        for edit in sorted(file_edits, key=lambda e: (e.start, e.end), reverse=True):
            start, end = _offset(text, edit.start), _offset(text, edit.end)
            text = text[:start] + edit.content + text[end:]
        path.write_text(text, encoding="utf-8")


def fix_of(diagnostic: Diagnostic) -> tuple[Applicability, tuple[Edit, ...]]:
    assert diagnostic.fix is not None, diagnostic
    return diagnostic.fix.applicability, diagnostic.fix.edits


# --------------------------------------------------------------------------- LL002


def test_ll002_broken_toml_and_ini(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-ra\n'})
    found = one(tmp_path, "LL002")
    assert found.location.row == 2 and "invalid TOML" in found.message
    assert found.fix is None

    (tmp_path / "pyproject.toml").unlink()
    write(tmp_path, {"pytest.ini": "[pytest]\naddopts = -ra\n", "tox.ini": "[pytest]\nnope\n"})
    found = one(tmp_path, "LL002")
    assert found.path == tmp_path / "tox.ini" and found.location.row == 2


def test_ll002_native_types(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                "[tool.pytest]\nasyncio_debug = 1\n"
                'asyncio_default_test_loop_scope = "module"\naddopts = ["-ra"]\n'
            ),
            "test_a.py": SYNC_TEST,
        },
    )
    found = one(tmp_path, "LL002")
    assert found.location == Location(2, 1)
    assert "asyncio_debug" in found.message and "bool" in found.message


def test_ll002_is_silent_on_good_configs(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.toml": '[pytest]\nasyncio_debug = true\naddopts = ["-q"]\n'})
    assert run(tmp_path, "LL002") == []


def test_ll002_reports_a_cargo_toml_that_does_not_parse(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\n", "Cargo.toml": "[package]\nname = \n"})
    found = one(tmp_path, "LL002")
    assert found.path == tmp_path / "Cargo.toml"
    assert found.location.row == 2
    assert found.message.startswith("Cargo.toml does not parse")


# --------------------------------------------------------------------------- LL101

WIDE_CONFTEST = """\
import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="module")
async def db():
    yield 1


@pytest_asyncio.fixture(
    scope="session",
)
async def server():
    return 2


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def pinned():
    return 3


@pytest.fixture(scope="session")
async def plain():
    return 4
"""


def test_ll101_fix_adds_the_option_and_pins_wide_fixtures(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\naddopts = -ra\n", "conftest.py": WIDE_CONFTEST})
    found = one(tmp_path, "LL101")
    assert found.path == tmp_path / "pytest.ini" and found.location == Location(1, 1)
    applicability, edits = fix_of(found)
    assert applicability is Applicability.SAFE  # strict mode: @pytest.fixture is not asyncio's
    apply(edits)
    assert (tmp_path / "pytest.ini").read_text() == (
        "[pytest]\nasyncio_default_fixture_loop_scope = function\naddopts = -ra\n"
    )
    conftest = (tmp_path / "conftest.py").read_text()
    assert '@pytest_asyncio.fixture(scope="module", loop_scope="module")' in conftest
    assert 'scope="session",\nloop_scope="session")' in conftest
    assert conftest.count("loop_scope=") == 3
    assert run(tmp_path, "LL101") == []


def test_ll101_auto_mode_plain_wide_fixture_gets_advice_only(tmp_path: Path) -> None:
    """``function`` would break ``plain`` (no loop_scope= on @pytest.fixture): no edit."""
    write(
        tmp_path,
        {"pytest.ini": "[pytest]\nasyncio_mode = auto\n", "conftest.py": WIDE_CONFTEST},
    )
    found = one(tmp_path, "LL101")
    assert found.fix is None
    assert found.help is not None and "`plain`" in found.help and "`db`" in found.help


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "pyproject.toml",
            '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n',
            '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
            'asyncio_mode = "auto"\n',
        ),
        (
            "pyproject.toml",
            '[tool.pytest]\nasyncio_mode = "auto"',
            '[tool.pytest]\nasyncio_default_fixture_loop_scope = "function"\nasyncio_mode = "auto"',
        ),
        (
            "pyproject.toml",
            '[project]\nname = "x"\ndependencies = ["pytest-asyncio"]\n',
            '[project]\nname = "x"\ndependencies = ["pytest-asyncio"]\n\n'
            '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n',
        ),
        (
            "pytest.toml",
            "",
            '[pytest]\nasyncio_default_fixture_loop_scope = "function"\n',
        ),
        (
            "setup.cfg",
            "[tool:pytest]\nasyncio_mode = auto\n",
            "[tool:pytest]\nasyncio_default_fixture_loop_scope = function\nasyncio_mode = auto\n",
        ),
    ],
    ids=["ini-options", "native-no-newline", "bare-pyproject", "empty-pytest-toml", "setup-cfg"],
)
def test_ll101_fix_in_each_format(tmp_path: Path, name: str, text: str, expected: str) -> None:
    write(tmp_path, {name: text, "test_a.py": "import pytest_asyncio\n" + ASYNC_TEST})
    found = one(tmp_path, "LL101")
    assert found.path == tmp_path / name
    applicability, edits = fix_of(found)
    assert applicability is Applicability.SAFE
    apply(edits)
    assert (tmp_path / name).read_text() == expected
    assert run(tmp_path, "LL101") == []
    assert discover([tmp_path]).problems == ()


def test_ll101_without_any_config_file_reports_the_user(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": "", "tests/test_a.py": "import pytest_asyncio\n" + ASYNC_TEST})
    found = one(tmp_path, "LL101")
    assert found.path == tmp_path / "tests/test_a.py" and found.location == Location(1, 1)
    assert found.fix is None and found.help is not None and "pytest.ini" in found.help


@pytest.mark.parametrize(
    "config",
    [
        "[pytest]\nasyncio_default_fixture_loop_scope = fixture-scope\n",
        "[pytest]\nasyncio_default_fixture_loop_scope = module\n",
        "[pytest]\naddopts = -o asyncio_default_fixture_loop_scope=function\n",
        "[pytest]\naddopts = -p no:asyncio\nasyncio_mode = auto\n",
    ],
)
def test_ll101_near_misses(tmp_path: Path, config: str) -> None:
    write(tmp_path, {"pytest.ini": config, "test_a.py": "import pytest_asyncio\n" + ASYNC_TEST})
    assert run(tmp_path, "LL101") == []


def test_ll101_silent_without_pytest_asyncio(tmp_path: Path) -> None:
    comment = "# see pytest-asyncio/blob/main/pytest_asyncio/plugin.py and mark.asyncio\n"
    write(tmp_path, {"pytest.ini": "[pytest]\n", "test_a.py": comment + SYNC_TEST})
    assert run(tmp_path, "LL101") == []


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_ll101_fixed_project_runs_clean_under_real_pytest(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nasyncio_mode = strict\n",
            "conftest.py": WIDE_CONFTEST.split("@pytest.fixture")[0],
            "test_db.py": (
                "import pytest\n\n\n@pytest.mark.asyncio(loop_scope='module')\n"
                "async def test_db(db):\n    assert db == 1\n"
            ),
        },
    )
    strict = ("-W", "error::pytest.PytestDeprecationWarning")
    assert _pytest(tmp_path, *strict).returncode != 0  # the unset-option warning
    apply(fix_of(one(tmp_path, "LL101"))[1])
    proc = _pytest(tmp_path, *strict)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- LL102


def test_ll102_moves_ini_settings_into_the_winner(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -ra\n",
            "setup.cfg": (
                "[metadata]\nname = x\n\n[tool:pytest]\nasyncio_mode = auto\n"
                "filterwarnings =\n    error\n    ignore::UserWarning\naddopts = -q\n\n[flake8]\n"
            ),
        },
    )
    found = one(tmp_path, "LL102")
    assert found.path == tmp_path / "setup.cfg" and found.location == Location(4, 1)
    assert "tox.ini wins" in found.message and "asyncio_mode" in found.message
    applicability, edits = fix_of(found)
    assert applicability is Applicability.UNSAFE
    apply(edits)
    assert (tmp_path / "setup.cfg").read_text() == "[metadata]\nname = x\n\n\n[flake8]\n"
    config = discover([tmp_path])
    assert config.shadowed == ()
    assert config.text("asyncio_mode") == "auto"
    assert config.text("addopts") == "-ra"  # the winner's own value stays
    assert config.settings["filterwarnings"].value == "error\nignore::UserWarning"


def test_ll102_converts_to_native_toml(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.toml": '[pytest]\nminversion = "9.0"\n',
            "pyproject.toml": (
                '[project]\nname = "x"\n\n[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
                'addopts = "-ra --strict-markers"\nasyncio_debug = "true"\n'
            ),
        },
    )
    apply(fix_of(one(tmp_path, "LL102"))[1])
    config = discover([tmp_path])
    assert config.problems == () and config.shadowed == ()
    assert config.settings["addopts"].value == ["-ra", "--strict-markers"]
    assert config.settings["asyncio_debug"].value is True
    assert config.settings["asyncio_mode"].value == "auto"


def test_ll102_native_toml_into_ini_runs_under_real_pytest(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nasyncio_default_fixture_loop_scope = function\n",
            "pyproject.toml": (
                '[tool.pytest]\naddopts = ["-ra", "-q"]\nasyncio_debug = true\n'
                'asyncio_mode = "auto"\n'
            ),
            "test_a.py": ASYNC_TEST,
        },
    )
    assert _pytest(tmp_path).returncode != 0  # strict mode: the async test fails
    apply(fix_of(one(tmp_path, "LL102"))[1])
    config = discover([tmp_path])
    assert config.shadowed == () and config.asyncio_mode == "auto"
    assert config.settings["addopts"].value == "-ra\n-q"
    assert config.settings["asyncio_debug"].value == "true"
    after = _pytest(tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr  # auto mode now runs the test


def test_ll102_args_lists_keep_their_items_in_ini(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\n",
            "pyproject.toml": '[tool.pytest]\naddopts = ["-k", "a or b"]\nmarkers = ["x: y z"]\n',
        },
    )
    apply(fix_of(one(tmp_path, "LL102"))[1])
    config = discover([tmp_path])
    assert config.settings["addopts"].value == "-k\n'a or b'"
    assert config.settings["markers"].value == "x: y z"
    write(tmp_path, {"pyproject.toml": '[tool.pytest]\nunknown_list = ["a b"]\n'})
    assert one(tmp_path, "LL102").fix is None


def test_ll102_unknown_type_into_native_toml_is_advice_only(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.toml": "[pytest]\n",
            "pytest.ini": "[pytest]\ntimeout = 30\n",
        },
    )
    found = one(tmp_path, "LL102")
    assert found.fix is None and found.help is not None


def test_ll102_near_misses(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\naddopts = -ra\n",
            "tox.ini": "[pytest]\n",
            "setup.cfg": "[metadata]\nname = x\n",
            "sub/setup.cfg": "[tool:pytest]\naddopts = -q\n",
        },
    )
    assert run(tmp_path, "LL102") == []


# --------------------------------------------------------------------------- LL103


def test_ll103_setup_cfg_rename(tmp_path: Path) -> None:
    write(tmp_path, {"setup.cfg": "[metadata]\nname = x\n\n[pytest]\naddopts = -ra\n"})
    found = one(tmp_path, "LL103")
    assert found.location == Location(4, 1)
    applicability, edits = fix_of(found)
    assert applicability is Applicability.SAFE
    apply(edits)
    config = discover([tmp_path])
    assert config.problems == () and config.text("addopts") == "-ra"


def test_ll103_merge_is_safe_for_known_keys(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "x"\n\n[tool.pytest]\nasyncio_mode = "auto"\n\n'
                '[tool.pytest.ini_options]\naddopts = "-ra -q"\nasyncio_debug = true\n\n'
                "[tool.ruff]\nline-length = 100\n"
            )
        },
    )
    found = one(tmp_path, "LL103")
    assert found.location == Location(7, 1)
    applicability, edits = fix_of(found)
    assert applicability is Applicability.SAFE
    apply(edits)
    config = discover([tmp_path])
    assert config.problems == ()
    assert config.settings["addopts"].value == ["-ra", "-q"]
    assert config.settings["asyncio_debug"].value is True
    assert "[tool.ruff]\nline-length = 100" in (tmp_path / "pyproject.toml").read_text()


def test_ll103_merge_is_unsafe_with_overlap_or_comments(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.pytest]\naddopts = ["-ra"]\n\n[tool.pytest.ini_options]\n'
                '# why\naddopts = "-q"\nmarkers = "slow: slow tests"\n'
            )
        },
    )
    applicability, edits = fix_of(one(tmp_path, "LL103"))
    assert applicability is Applicability.UNSAFE
    apply(edits)
    config = discover([tmp_path])
    assert config.problems == ()
    assert config.settings["addopts"].value == ["-ra"]
    assert config.settings["markers"].value == ["slow: slow tests"]


def test_ll103_silent_when_tool_pytest_section_wins_in_setup_cfg(tmp_path: Path) -> None:
    write(tmp_path, {"setup.cfg": "[tool:pytest]\naddopts = -ra\n[pytest]\nx = 1\n"})
    assert run(tmp_path, "LL103") == []


# --------------------------------------------------------------------------- LL104


@pytest.mark.parametrize(
    ("line", "nearest", "fixed"),
    [
        ("asyncio_mode = Auto", "auto", "asyncio_mode = auto"),
        ("asyncio_mode = auto # fast", "auto", "asyncio_mode = auto"),
        (
            "asyncio_default_test_loop_scope = sesion",
            "session",
            "asyncio_default_test_loop_scope = session",
        ),
        (
            "asyncio_default_fixture_loop_scope = fixture_scope",
            "fixture-scope",
            "asyncio_default_fixture_loop_scope = fixture-scope",
        ),
        ("asyncio_mode = legacy", None, None),
        ("asyncio_default_test_loop_scope =", None, None),
        ("asyncio_default_fixture_loop_scope =", None, None),
    ],
)
def test_ll104_ini_values(
    tmp_path: Path, line: str, nearest: str | None, fixed: str | None
) -> None:
    write(tmp_path, {"pytest.ini": f"[pytest]\n{line}\n"})
    found = one(tmp_path, "LL104")
    assert found.location.row == 2
    if nearest is None:
        assert found.fix is None and found.help is not None
        assert "did you mean" not in found.message
        return
    assert f'did you mean "{nearest}"' in found.message
    applicability, edits = fix_of(found)
    assert applicability is Applicability.UNSAFE
    apply(edits)
    assert (tmp_path / "pytest.ini").read_text() == f"[pytest]\n{fixed}\n"
    assert run(tmp_path, "LL104") == []


def test_ll104_inline_comment_help(tmp_path: Path) -> None:
    write(tmp_path, {"tox.ini": "[pytest]\nasyncio_mode = strict ; the default\n"})
    found = one(tmp_path, "LL104")
    assert '"strict ; the default"' in found.message


def test_ll104_addopts_and_native(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.toml": (
                '[pytest]\naddopts = ["-ra",\n  "--asyncio-mode=sctrict",\n'
                '  "-o", "asyncio_default_test_loop_scope=modul"]\n'
            )
        },
    )
    found = run(tmp_path, "LL104")
    assert [d.location.row for d in found] == [3, 4]  # at the values themselves
    for diagnostic in found:
        apply(fix_of(diagnostic)[1])
    config = discover([tmp_path])
    assert config.asyncio_mode == "strict"
    assert config.default_test_loop_scope == "module"
    assert run(tmp_path, "LL104") == []


def test_ll104_silent_on_valid_values(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": (
                "[pytest]\nasyncio_mode = auto\n"
                "asyncio_default_fixture_loop_scope = fixture-scope\n"
                "asyncio_default_test_loop_scope = package\naddopts = --asyncio-mode=strict\n"
            )
        },
    )
    assert run(tmp_path, "LL104") == []


def test_ll104_fixture_scope_names_the_declaration_that_allows_the_old_release(
    tmp_path: Path,
) -> None:
    """Declarations that contradict each other are each taken alone: the one that allows the
    release before 1.5 is named, not the first one read."""
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nasyncio_default_fixture_loop_scope = fixture-scope\n",
            "requirements-a.txt": "pytest-asyncio>=1.5\n",
            "requirements-b.txt": "pytest-asyncio==1.3.*\n",
            "test_a.py": "import pytest_asyncio\n" + ASYNC_TEST,
        },
    )
    message = one(tmp_path, "LL104").message
    assert "allows 1.3" in message
    assert "requirements-b.txt" in message and "requirements-a.txt" not in message


@pytest.mark.parametrize(
    "config",
    [
        "asyncio_mode = auto # fast",
        "asyncio_default_fixture_loop_scope =",
        "asyncio_default_fixture_loop_scope = fixture-scope",
        "asyncio_default_test_loop_scope = sesion",
        "asyncio_default_test_loop_scope = package",
        "addopts = --asyncio-mode=Auto",
        "addopts = -o asyncio_default_test_loop_scope=module",
    ],
)
def test_ll104_agrees_with_pytest_asyncio(tmp_path: Path, config: str) -> None:
    """LL104 fires exactly when pytest-asyncio itself rejects the value."""
    write(
        tmp_path,
        {
            "pytest.ini": f"[pytest]\n{config}\n",
            "test_a.py": "import pytest_asyncio\n" + ASYNC_TEST,
        },
    )
    proc = _pytest(tmp_path, "--co", "-W", "ignore::DeprecationWarning")
    rejected = proc.returncode != 0
    assert rejected == bool(run(tmp_path, "LL104")), proc.stdout + proc.stderr


# --------------------------------------------------------------------------- LL105


def test_ll105_narrows_the_fixture_default(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": (
                "[pytest]\nasyncio_default_fixture_loop_scope = module\n"
                "asyncio_default_test_loop_scope = function\n"
            ),
            "conftest.py": (
                "import pytest_asyncio\n\n\n@pytest_asyncio.fixture\n"
                "async def client():\n    yield 1\n"
            ),
        },
    )
    found = one(tmp_path, "LL105")
    assert found.location == Location(2, 1)
    assert any("asyncio_default_test_loop_scope = module" in note for note in found.notes)
    applicability, edits = fix_of(found)
    assert applicability is Applicability.UNSAFE
    apply(edits)
    config = discover([tmp_path])
    assert config.default_fixture_loop_scope == "function"
    assert run(tmp_path, "LL105") == []


def test_ll105_widens_tests_when_narrowing_would_break_a_fixture(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "session"\n'
            ),
            "conftest.py": (
                "import pytest_asyncio\n\n\n@pytest_asyncio.fixture(scope='session')\n"
                "async def db():\n    return 1\n"
            ),
        },
    )
    apply(fix_of(one(tmp_path, "LL105"))[1])
    config = discover([tmp_path])
    assert config.default_fixture_loop_scope == "session"
    assert config.default_test_loop_scope == "session"


@pytest.mark.parametrize(
    "config",
    [
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n",
        "[pytest]\nasyncio_default_fixture_loop_scope = fixture-scope\n",
        "[pytest]\nasyncio_default_fixture_loop_scope = module\n"
        "addopts = -o asyncio_default_test_loop_scope=session\n",
        "[pytest]\nasyncio_default_fixture_loop_scope = sesion\n",
        "[pytest]\nasyncio_default_fixture_loop_scope = module\n"
        "asyncio_default_test_loop_scope = modul\n",
    ],
)
def test_ll105_near_misses(tmp_path: Path, config: str) -> None:
    write(tmp_path, {"pytest.ini": config})
    assert run(tmp_path, "LL105") == []


# --------------------------------------------------------------------------- LL106


@pytest.mark.parametrize(
    ("addopts", "extra", "fires"),
    [
        ("-n auto", "", True),
        ("--numprocesses=4 -ra", "", True),
        ("-n 4 --timeout=60", "", False),
        ("-n 4", "timeout = 60\n", False),
        ("-n 0", "", False),
        ("-ra", "", False),
    ],
)
def test_ll106(tmp_path: Path, addopts: str, extra: str, fires: bool) -> None:
    write(tmp_path, {"pytest.ini": f"[pytest]\naddopts = {addopts}\n{extra}"})
    found = run(tmp_path, "LL106")
    assert len(found) == (1 if fires else 0)
    if fires:
        assert found[0].location == Location(2, 1) and found[0].help is not None


def test_ll106_is_opt_in() -> None:
    rule = get_rule("LL106")
    assert rule is not None and rule.default_enabled is False


# --------------------------------------------------------------------------- LL107


def test_ll107_drops_an_entry_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": (
                "[pytest]\nfilterwarnings =\n    error\n    ignore::ResourceWarning\n"
                "    ignore::DeprecationWarning\n"
            )
        },
    )
    found = one(tmp_path, "LL107")
    assert found.location == Location(4, 5)
    apply(fix_of(found)[1])
    config = discover([tmp_path])
    assert config.settings["filterwarnings"].value == "error\nignore::DeprecationWarning"


def test_ll107_single_entry_removes_the_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"pyproject.toml": '[tool.pytest]\nfilterwarnings = ["ignore"]\naddopts = ["-ra"]\n'},
    )
    found = one(tmp_path, "LL107")
    assert "every warning" in found.message
    apply(fix_of(found)[1])
    assert (tmp_path / "pyproject.toml").read_text() == '[tool.pytest]\naddopts = ["-ra"]\n'


def test_ll107_inline_array_has_no_edit(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"pytest.toml": '[pytest]\nfilterwarnings = ["error", "ignore::ResourceWarning"]\n'},
    )
    found = one(tmp_path, "LL107")
    assert found.location.row == 2 and found.fix is None and found.help is not None


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ("filterwarnings = error\naddopts = -ra -W ignore::ResourceWarning\n", Location(3, 18)),
        ("addopts = -ra --pythonwarnings=ignore\n", Location(2, 32)),
        ("filterwarnings = ignore::ResourceWarning\naddopts = -W error::ResourceWarning\n", None),
        ("filterwarnings = ignore::ResourceWarning\naddopts = -W error\n", None),
        (
            "filterwarnings = ignore::ResourceWarning\naddopts = -W error::UserWarning\n",
            Location(2, 18),
        ),
    ],
)
def test_ll107_addopts_filters_come_last(tmp_path: Path, config: str, where: Location) -> None:
    write(tmp_path, {"pytest.ini": f"[pytest]\n{config}"})
    found = run(tmp_path, "LL107")
    assert [d.location for d in found] == ([] if where is None else [where])


@pytest.mark.parametrize(
    "entries",
    [
        ["ignore::DeprecationWarning"],
        ["ignore:unclosed socket"],
        ["ignore:unclosed socket:Warning"],
        ["error::ResourceWarning"],
        ["ignore::ResourceWarning", "error::ResourceWarning"],
        ["default"],
    ],
)
def test_ll107_near_misses(tmp_path: Path, entries: list[str]) -> None:
    lines = "".join(f"    {e}\n" for e in entries)
    write(tmp_path, {"pytest.ini": f"[pytest]\nfilterwarnings =\n{lines}"})
    assert run(tmp_path, "LL107") == []


# --------------------------------------------------------------------------- docs and CLI

CONFIG_RULES = ("LL002", "LL101", "LL102", "LL103", "LL104", "LL105", "LL106", "LL107")


@pytest.mark.parametrize("code", CONFIG_RULES)
def test_rule_docs_have_the_headings(code: str) -> None:
    rule: type[Rule] | None = get_rule(code)
    assert rule is not None
    docs = rule.docs()
    positions = [
        docs.index(h)
        for h in ("## What it does", "## Why is this bad?", "## Example", "Use instead:")
    ]
    assert positions == sorted(positions) and "## Fix safety" in docs


def test_cli_findings_exit_1(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "[pytest]\nasyncio_mode = sync\n", "test_a.py": SYNC_TEST})
    result = CliRunner().invoke(
        main, ["check", str(tmp_path), "--select", "LL1,LL002", "--output-format", "concise"]
    )
    assert result.exit_code == 1, result.output
    assert "pytest.ini:2:16: LL104" in result.stdout


def test_cli_clean_exit_0(tmp_path: Path) -> None:
    config = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    write(tmp_path, {"pytest.ini": config, "test_a.py": SYNC_TEST})
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--select", "LL1,LL002"])
    assert result.exit_code == 0, result.output


def test_cli_config_option_picks_the_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nasyncio_mode = auto\n",
            "ci.ini": "[pytest]\nasyncio_mode = atuo\n",
            "test_a.py": SYNC_TEST,
        },
    )
    args = ["check", str(tmp_path), "--select", "LL104", "--output-format", "concise"]
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--config", str(tmp_path / "ci.ini")])
    assert result.exit_code == 1 and "ci.ini:2:16: LL104" in result.stdout


def test_cli_bad_config_path_exit_2(tmp_path: Path) -> None:
    write(tmp_path, {"test_a.py": SYNC_TEST})
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--config", str(tmp_path / "no")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "config file not found" in result.stderr


def test_cli_missing_path_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- hostile configs

_HEADERS = ["[pytest]", "[tool.pytest]", "[tool.pytest.ini_options]", "[tool:pytest]", "[tool]", ""]
_LINES = [
    "asyncio_mode = auto",
    'asyncio_mode = "auto # x"',
    "asyncio_default_fixture_loop_scope = sesion",
    'asyncio_default_fixture_loop_scope = "session"',
    "asyncio_default_test_loop_scope = 3",
    "asyncio_debug = true",
    "filterwarnings =",
    "    ignore::ResourceWarning",
    "    ignore",
    'filterwarnings = ["ignore", 5]',
    "filterwarnings = 5",
    'addopts = "-n auto --asyncio-mode=atuo -o asyncio_mode=x -p no:asyncio"',
    "addopts = -o",
    "addopts = 'unbalanced",
    'addopts = ["-n", "4", "--timeout"]',
    'pytest = "x"',
    'ini_options = "x"',
    "tool = 5",
    "timeout = 5",
    "= nothing",
    "[broken",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.dictionaries(
        st.sampled_from(["pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", "pytest.toml"]),
        st.lists(st.sampled_from(_HEADERS + _LINES), max_size=8).map("\n".join),
        max_size=3,
    )
)
def test_hostile_configs_never_crash_and_fixes_apply(files: dict[str, str]) -> None:
    rules = [r for code in CONFIG_RULES if (r := get_rule(code)) is not None]
    with tempfile.TemporaryDirectory() as tmp:
        root = write(Path(tmp), {**files, "test_a.py": "import pytest_asyncio\n" + ASYNC_TEST})
        result = lint(Project.load([root]), rules)
        assert not result.internal_errors, result.internal_errors
        for diagnostic in result.diagnostics:
            assert diagnostic.location.row >= 1 and diagnostic.location.column >= 1
            if diagnostic.fix is not None:
                apply(diagnostic.fix.edits)  # every edit range exists in its file
                break  # later fixes were computed against the old text
