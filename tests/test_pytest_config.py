"""pytest config discovery, read the way pytest 9 reads it (``_pytest/config/findpaths.py``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from leaklint.config.pytest_config import (
    CONFIG_NAMES,
    Setting,
    discover,
    entries,
    parse_addopts,
)
from leaklint.diagnostics import Location

# A minimal file of each kind that holds pytest config, in pytest's order of precedence.
CONFIGS: dict[str, str] = {
    "pytest.toml": '[pytest]\naddopts = ["-ra"]\n',
    ".pytest.toml": '[pytest]\naddopts = ["-ra"]\n',
    "pytest.ini": "[pytest]\naddopts = -ra\n",
    ".pytest.ini": "[pytest]\naddopts = -ra\n",
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-ra"\n',
    "tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -ra\n",
    "setup.cfg": "[metadata]\nname = demo\n\n[tool:pytest]\naddopts = -ra\n",
}

# Files with those names that hold no pytest config: pytest passes over them.
NOT_CONFIGS: dict[str, str] = {
    "pyproject.toml": '[project]\nname = "demo"\n\n[tool.ruff]\nline-length = 100\n',
    "tox.ini": "[tox]\nenvlist = py311\n",
    "setup.cfg": "[metadata]\nname = demo\n",
}


SYNC = "def test_a():\n    assert True\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_config_names_are_pytests_own_order() -> None:
    from _pytest.config.findpaths import CONFIG_LOADERS_BY_NAME

    assert list(CONFIG_NAMES) == list(CONFIG_LOADERS_BY_NAME)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_each_kind_is_found_alone(tmp_path: Path, name: str) -> None:
    write(tmp_path, {name: CONFIGS[name], "tests/test_a.py": ""})
    config = discover([tmp_path / "tests"])
    assert config.path == tmp_path / name
    assert config.rootdir == tmp_path
    assert config.settings["addopts"].value in ("-ra", ["-ra"])
    assert config.shadowed == ()


@pytest.mark.parametrize("index", range(len(CONFIG_NAMES) - 1))
def test_earlier_name_wins_and_later_ones_are_shadowed(tmp_path: Path, index: int) -> None:
    names = list(CONFIG_NAMES)[index:]
    write(tmp_path, {name: CONFIGS[name] for name in names})
    config = discover([tmp_path])
    assert config.path == tmp_path / names[0]
    assert [f.path.name for f in config.shadowed] == names[1:]


@pytest.mark.parametrize(
    ("name", "winner"),
    [("pyproject.toml", "setup.cfg"), ("tox.ini", "setup.cfg"), ("setup.cfg", "tox.ini")],
)
def test_files_without_pytest_sections_are_passed_over(
    tmp_path: Path, name: str, winner: str
) -> None:
    write(tmp_path, {winner: CONFIGS[winner]})
    write(tmp_path, {name: NOT_CONFIGS[name]})
    config = discover([tmp_path])
    assert config.path == tmp_path / winner
    assert config.shadowed == ()


def test_empty_dedicated_files_still_win(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": "", "tox.ini": CONFIGS["tox.ini"]})
    config = discover([tmp_path])
    assert config.path == tmp_path / "pytest.ini"
    assert config.settings == {}
    assert [f.path.name for f in config.shadowed] == ["tox.ini"]

    write(tmp_path, {"pytest.toml": "[tool.other]\nx = 1\n"})
    config = discover([tmp_path])
    assert config.path == tmp_path / "pytest.toml"
    assert config.problems == ()


def test_walks_up_from_the_common_ancestor(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tox.ini": CONFIGS["tox.ini"],
            "pkg/a/test_a.py": "",
            "pkg/b/test_b.py": "",
            "pkg/setup.cfg": NOT_CONFIGS["setup.cfg"],
        },
    )
    config = discover([tmp_path / "pkg/a/test_a.py", tmp_path / "pkg/b"])
    assert config.path == tmp_path / "tox.ini"
    assert config.rootdir == tmp_path


def test_a_nearer_config_wins_over_a_parent_one(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": CONFIGS["pytest.ini"], "sub/setup.cfg": CONFIGS["setup.cfg"]})
    assert discover([tmp_path / "sub"]).path == tmp_path / "sub/setup.cfg"


def test_setup_py_sets_rootdir_without_config(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": "", "src/pkg/test_x.py": ""})
    config = discover([tmp_path / "src/pkg"])
    assert config.file is None
    assert config.rootdir == tmp_path


def test_bare_pyproject_is_the_configfile_and_beats_setup_py(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": NOT_CONFIGS["pyproject.toml"], "sub/setup.py": ""})
    config = discover([tmp_path / "sub"])
    assert config.path == tmp_path / "pyproject.toml"
    assert config.rootdir == tmp_path
    assert config.settings == {}


def test_each_argument_is_searched_when_the_ancestor_finds_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"a/x/pytest.ini": CONFIGS["pytest.ini"], "b/y/test_b.py": ""})
    config = discover([tmp_path / "a/x", tmp_path / "b/y"])
    assert config.path == tmp_path / "a/x/pytest.ini"


def test_native_toml_keeps_types_and_ini_options_become_strings(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": (
                "[tool.pytest]\nasyncio_debug = true\naddopts = ['-ra']\nminversion = 9.0\n"
            )
        },
    )
    config = discover([tmp_path])
    assert config.file is not None and config.file.mode == "toml"
    assert config.settings["asyncio_debug"].value is True
    assert config.settings["minversion"].value == 9.0
    assert config.settings["asyncio_debug"].location == Location(2, 1)

    write(
        tmp_path,
        {"pyproject.toml": "[tool.pytest.ini_options]\nasyncio_debug = true\nxfail_strict = 1\n"},
    )
    config = discover([tmp_path])
    assert config.file is not None and config.file.mode == "ini"
    assert config.settings["asyncio_debug"].value == "True"
    assert config.settings["xfail_strict"].value == "1"


def test_native_toml_type_errors_are_problems(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.toml": (
                '[pytest]\naddopts = "-ra"\nasyncio_debug = "true"\n'
                'asyncio_mode = "auto"\nfilterwarnings = ["error"]\n'
                "asyncio_default_fixture_loop_scope = 5\n"
            )
        },
    )
    problems = discover([tmp_path]).problems
    assert [(p.kind, p.location.row) for p in problems] == [("type", 2), ("type", 3), ("type", 6)]
    assert "list of strings" in problems[0].message


def test_ini_options_values_are_not_type_checked(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-ra"\n'})
    assert discover([tmp_path]).problems == ()


def test_conflicting_tables_and_setup_cfg_pytest_section(tmp_path: Path) -> None:
    both = "[tool.pytest]\nx = 1\n\n[tool.pytest.ini_options]\ny = 2\n"
    write(tmp_path, {"pyproject.toml": both})
    (problem,) = discover([tmp_path]).problems
    assert problem.kind == "conflicting-tables"
    assert problem.location == Location(4, 1)

    (tmp_path / "pyproject.toml").unlink()
    write(tmp_path, {"setup.cfg": "[metadata]\nname = x\n[pytest]\naddopts = -q\n"})
    config = discover([tmp_path])
    assert [(p.kind, p.location.row) for p in config.problems] == [("setup-cfg-pytest", 3)]
    assert config.file is None


def test_empty_ini_options_with_native_table_is_no_conflict(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.pytest]\nx = 1\n\n[tool.pytest.ini_options]\n"})
    assert discover([tmp_path]).problems == ()


def test_broken_files_are_problems_and_stop_the_search(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": CONFIGS["pytest.ini"], "sub/pytest.toml": "[pytest\n"})
    config = discover([tmp_path / "sub"])
    assert config.file is None
    assert config.rootdir == tmp_path / "sub"
    (problem,) = config.problems
    assert problem.kind == "parse" and problem.location.row == 1

    (tmp_path / "sub/pytest.toml").write_bytes(b"[pytest]\nx = '\xff'\n")
    (problem,) = discover([tmp_path / "sub"]).problems
    assert "decode" in problem.message


def test_broken_shadowed_file_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": CONFIGS["pytest.ini"], "tox.ini": "[pytest]\nnot a key\n"})
    config = discover([tmp_path])
    assert config.path == tmp_path / "pytest.ini"
    (problem,) = config.problems
    assert problem.path.name == "tox.ini" and problem.location.row == 2


def test_top_level_options_in_pytest_toml(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.toml": '\naddopts = ["-ra"]\n'})
    config = discover([tmp_path])
    assert config.path == tmp_path / "pytest.toml"
    (problem,) = config.problems
    assert problem.kind == "top-level" and problem.location == Location(2, 1)


def test_dash_c_wins_over_discovery(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": CONFIGS["pytest.ini"],
            "ci/custom.toml": '[pytest]\nasyncio_mode = "auto"\n',
            "ci/other.ini": "[pytest]\nasyncio_mode = auto\n",
            "ci/other.cfg": "[tool:pytest]\nasyncio_mode = auto\n",
            "ci/tool.toml": "[tool.pytest.ini_options]\nasyncio_mode = 'auto'\n",
            "ci/tox.ini": "[tox]\n",
            "ci/conf.yaml": "x: 1\n",
        },
    )
    for name in ("custom.toml", "other.ini", "other.cfg", "tool.toml"):
        config = discover([tmp_path], tmp_path / "ci" / name)
        assert config.explicit
        assert config.path == tmp_path / "ci" / name
        assert config.rootdir == tmp_path / "ci"
        assert config.text("asyncio_mode") == "auto"
        assert config.shadowed == ()
    # A file with no pytest section is still the configfile, with no values.
    config = discover([tmp_path], tmp_path / "ci/tox.ini")
    assert config.path == tmp_path / "ci/tox.ini" and config.settings == {}
    (problem,) = discover([tmp_path], tmp_path / "ci/conf.yaml").problems
    assert "unsupported format" in problem.message


def test_dash_c_toml_with_both_table_styles(tmp_path: Path) -> None:
    write(tmp_path, {"c.toml": "[pytest]\nx = 1\n\n[tool.pytest]\ny = 2\n"})
    config = discover([tmp_path], tmp_path / "c.toml")
    assert config.text("y") is None and config.settings["y"].value == 2
    assert [p.kind for p in config.problems] == ["conflicting-tables"]


def _setting(value: object) -> Setting:
    return Setting("addopts", value, Path("pytest.ini"), Location(2, 1))


@pytest.mark.parametrize(
    ("addopts", "mode", "disabled", "overrides", "workers", "timeout"),
    [
        ("--asyncio-mode=auto", "auto", (), {}, None, None),
        ("--asyncio-mode auto -p no:asyncio", "auto", ("asyncio",), {}, None, None),
        ("-pno:pytest_asyncio", None, ("pytest_asyncio",), {}, None, None),
        (
            "-o asyncio_mode=auto --override-ini=asyncio_debug=true",
            None,
            (),
            {"asyncio_mode": "auto", "asyncio_debug": "true"},
            None,
            None,
        ),
        ("-oasyncio_mode=auto", None, (), {"asyncio_mode": "auto"}, None, None),
        ("-n 4 --timeout 30", None, (), {}, "4", "30"),
        ("-nauto", None, (), {}, "auto", None),
        (["--numprocesses=2", "--timeout=5"], None, (), {}, "2", "5"),
        ("'-o' 'asyncio_default_test_loop_scope=module'", None, (), {}, None, None),
    ],
)
def test_addopts(
    addopts: object,
    mode: str | None,
    disabled: tuple[str, ...],
    overrides: dict[str, str],
    workers: str | None,
    timeout: str | None,
) -> None:
    parsed = parse_addopts(_setting(addopts))
    assert (parsed.asyncio_mode.value if parsed.asyncio_mode else None) == mode
    assert parsed.disabled_plugins == disabled
    if addopts == "'-o' 'asyncio_default_test_loop_scope=module'":
        overrides = {"asyncio_default_test_loop_scope": "module"}
    assert {k: v.value for k, v in parsed.overrides.items()} == overrides
    assert (parsed.numprocesses.value if parsed.numprocesses else None) == workers
    assert (parsed.timeout.value if parsed.timeout else None) == timeout


def test_addopts_plugins() -> None:
    parsed = parse_addopts(_setting("-ra -p myplugin -psupport.fixtures -p no:cacheprovider"))
    assert parsed.plugins == ("myplugin", "support.fixtures")
    assert parsed.disabled_plugins == ("cacheprovider",)
    assert parse_addopts(_setting("-ra --strict-markers")).plugins == ()


def test_addopts_override_beats_the_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": (
                "[pytest]\nasyncio_mode = strict\nasyncio_default_test_loop_scope = function\n"
                "addopts = --asyncio-mode=auto -o asyncio_default_test_loop_scope=module\n"
            )
        },
    )
    config = discover([tmp_path])
    assert config.asyncio_mode == "auto"
    assert config.default_test_loop_scope == "module"
    setting = config.get("asyncio_default_test_loop_scope")
    assert setting is not None and setting.mode == "addopts" and setting.location.row == 4


def test_entries_have_their_own_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": (
                "[pytest]\nfilterwarnings = error\n    # note\n    ignore::ResourceWarning\n\n"
                "    ignore::UserWarning\naddopts = -ra\n"
            )
        },
    )
    config = discover([tmp_path])
    found = entries(config.settings["filterwarnings"], (tmp_path / "pytest.ini").read_text())
    assert [(e.text, e.line, e.own_line) for e in found] == [
        ("error", 2, False),
        ("ignore::ResourceWarning", 4, True),
        ("ignore::UserWarning", 6, True),
    ]
    write(
        tmp_path,
        {"pytest.toml": '[pytest]\nfilterwarnings = ["error",\n  "ignore::X",  # why\n]\n'},
    )
    config = discover([tmp_path])
    text = (tmp_path / "pytest.toml").read_text()
    found = entries(config.settings["filterwarnings"], text)
    assert [(e.text, e.line, e.own_line) for e in found] == [
        ("error", 2, False),
        ("ignore::X", 3, True),
    ]


# --------------------------------------------------------------------------- differential

_CONFIGFILE = re.compile(r"^configfile: (\S+)(?: \(WARNING: ignoring pytest config in (.+)!\))?$")
_ROOTDIR = re.compile(r"^rootdir: (.+)$")


def pytest_choice(root: Path, *args: str) -> tuple[str | None, list[str], str | None, int]:
    """(configfile, ignored files, rootdir, exit code) as pytest's own header reports them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # discovery is pytest's own; plugins only slow it
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-p", "no:cacheprovider", "-W", "ignore", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    configfile: str | None = None
    ignored: list[str] = []
    rootdir: str | None = None
    for line in proc.stdout.splitlines():
        match = _CONFIGFILE.match(line)
        if match:
            configfile = match[1]
            ignored = match[2].split(", ") if match[2] else []
        match = _ROOTDIR.match(line)
        if match:
            rootdir = match[1]
    return configfile, ignored, rootdir, proc.returncode


LAYOUTS: dict[str, dict[str, str]] = {
    **{f"alone-{name}": {name: CONFIGS[name]} for name in CONFIGS},
    "all-kinds": dict(CONFIGS),
    "ini-shadows-pyproject": {"pytest.ini": CONFIGS["pytest.ini"], **CONFIGS},
    "tox-over-setup-cfg": {"tox.ini": CONFIGS["tox.ini"], "setup.cfg": CONFIGS["setup.cfg"]},
    "toml-over-dot-ini": {"pytest.toml": CONFIGS["pytest.toml"], ".pytest.ini": ""},
    "native-tool-pytest": {"pyproject.toml": '[tool.pytest]\naddopts = ["-ra"]\n'},
    "non-configs-skipped": {**NOT_CONFIGS, "sub/tox.ini": CONFIGS["tox.ini"]},
    "bare-pyproject": {"pyproject.toml": NOT_CONFIGS["pyproject.toml"]},
    "bare-pyproject-above-setup-py": {
        "pyproject.toml": NOT_CONFIGS["pyproject.toml"],
        "sub/setup.py": "",
    },
    "setup-py": {"setup.py": "", "sub/x.txt": ""},
    "setup-cfg-both-sections": {"setup.cfg": "[tool:pytest]\naddopts = -ra\n[pytest]\nx = 1\n"},
    "parent-config": {
        "pytest.ini": CONFIGS["pytest.ini"],
        "sub/setup.cfg": NOT_CONFIGS["setup.cfg"],
    },
    "empty-pytest-toml-wins": {"pytest.toml": "", "pyproject.toml": CONFIGS["pyproject.toml"]},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_same_configfile_as_pytest(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "project"
    write(root, LAYOUTS[layout])
    target = root / "sub" if (root / "sub").is_dir() else root
    configfile, ignored, rootdir, _ = pytest_choice(target)
    ours = discover([target])
    assert ours.problems == ()
    if configfile is None:
        assert ours.file is None
    else:
        assert rootdir is not None and ours.path == Path(rootdir) / configfile
    assert sorted(f.path.name for f in ours.shadowed) == sorted(ignored)
    assert rootdir is not None and Path(rootdir) == ours.rootdir


@pytest.mark.parametrize(
    "files",
    [
        {"pytest.toml": "[pytest\n"},
        {"pytest.ini": CONFIGS["pytest.ini"], "tox.ini": "[pytest]\nnot a key\n"},
        {"pyproject.toml": "[tool.pytest]\nx = 1\n[tool.pytest.ini_options]\ny = '2'\n"},
        {"setup.cfg": "[pytest]\naddopts = -ra\n"},
        {"pytest.toml": 'addopts = ["-ra"]\n'},
        {"pytest.toml": '[pytest]\naddopts = "-ra"\n'},
    ],
    ids=["broken", "broken-shadowed", "both-tables", "setup-cfg-pytest", "top-level", "type"],
)
def test_pytest_refuses_what_leaklint_calls_a_problem(
    tmp_path: Path, files: dict[str, str]
) -> None:
    write(tmp_path, files)
    _, _, _, code = pytest_choice(tmp_path)
    assert discover([tmp_path]).problems
    assert code not in (0, 5), "pytest accepted a config leaklint calls broken"


def test_dash_c_same_as_pytest(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"pytest.ini": CONFIGS["pytest.ini"], "ci/custom.toml": '[pytest]\naddopts = ["-ra"]\n'},
    )
    configfile, _, rootdir, _ = pytest_choice(tmp_path, "-c", "ci/custom.toml")
    ours = discover([tmp_path], tmp_path / "ci/custom.toml")
    assert configfile is not None and rootdir is not None
    assert ours.path == Path(rootdir) / configfile
    assert Path(rootdir) == ours.rootdir


def test_dash_c_in_addopts_is_ignored_like_pytest_does(tmp_path: Path) -> None:
    """``-c`` only works on the command line: pytest has chosen its config before addopts."""
    write(
        tmp_path,
        {
            "pytest.ini": "[pytest]\naddopts = -c other.ini\n",
            "other.ini": "[pytest]\nasyncio_mode = auto\n",
        },
    )
    configfile, _, rootdir, _ = pytest_choice(tmp_path)
    ours = discover([tmp_path])
    assert configfile == "pytest.ini" and rootdir is not None
    assert ours.path == Path(rootdir) / "pytest.ini"
    assert ours.asyncio_mode == "strict"


def test_rootdir_without_any_config_matches_pytest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"tests/unit/test_a.py": SYNC, "README": ""})
    configfile, _, rootdir, _ = pytest_choice(tmp_path, "tests/unit")
    monkeypatch.chdir(tmp_path)
    ours = discover([Path("tests/unit")])
    assert configfile is None and ours.file is None
    assert rootdir is not None and ours.rootdir == Path(rootdir) == tmp_path
