"""Every pytest project in the linted tree: each file is read under the config of its nearest
enclosing directory that holds one, and each such directory is a project of its own."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from harness import FIXTURES, write_tree

from leaklint.cli import main
from leaklint.config.pytest_config import holds_config
from leaklint.model.workspace import Workspace

MONOREPO = FIXTURES / "workspace" / "monorepo"
SUBPROJECTS = ("server", "packages/x")
# The root project's own paths: everything above or beside the subprojects.
ROOT_PATHS = ("conftest.py", "pytest.ini", "tests", "tools", "packages/y")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the monorepo fixture, without goldens, as the working directory."""
    root = tmp_path / "repo"
    shutil.copytree(MONOREPO, root, ignore=shutil.ignore_patterns("*.fixed"))
    monkeypatch.chdir(root)
    monkeypatch.delenv("LEAKLINT_CACHE_DIR", raising=False)
    return root


def check(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args])


def findings(*args: str) -> list[dict[str, object]]:
    """The JSON findings of ``leaklint check ARGS`` in the working directory, with absolute
    file names."""
    result = check("--output-format", "json", "--no-cache", *args)
    assert result.exit_code in (0, 1), result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    for finding in found:
        edits = finding["fix"]["edits"] if isinstance(finding.get("fix"), dict) else []  # type: ignore[index]
        for item in [finding, *edits]:
            item["filename"] = str(Path(str(item["filename"])).absolute())
    return found


def key(finding: dict[str, object]) -> str:
    return json.dumps(finding, sort_keys=True)


# --------------------------------------------------------------------------- the projects


def test_each_file_belongs_to_its_nearest_project() -> None:
    workspace = Workspace.load([MONOREPO])
    roots = [project.root for project in workspace.projects]
    assert roots == [MONOREPO, MONOREPO / "packages" / "x", MONOREPO / "server"]
    outer, x, server = workspace.projects
    assert outer.config.path == MONOREPO / "pytest.ini"
    assert x.config.path == MONOREPO / "packages" / "x" / "pytest.ini"
    assert server.config.path == MONOREPO / "server" / "pyproject.toml"
    assert server.config.asyncio_mode == "auto"

    def names(project: object) -> list[str]:
        files = getattr(project, "python_files")  # noqa: B009
        return [p.relative_to(MONOREPO).as_posix() for p in files]

    assert names(outer) == [
        "conftest.py",
        "packages/y/tests/test_y.py",
        "tests/test_root.py",
        "tools/test_tools.py",
    ]
    assert names(x) == [
        "packages/x/conftest.py",
        "packages/x/tests/conftest.py",
        "packages/x/tests/test_x.py",
    ]
    assert names(server) == [
        "server/conftest.py",
        "server/tests/conftest.py",
        "server/tests/test_api.py",
    ]
    # The fixture graph stops at each project's rootdir.
    assert server.outer_conftests == []
    assert workspace.root == MONOREPO


def test_a_linted_subproject_is_one_project_as_before() -> None:
    workspace = Workspace.load([MONOREPO / "server" / "tests"])
    [project] = workspace.projects
    assert project.config.path == MONOREPO / "server" / "pyproject.toml"
    assert project.outer_conftests == [MONOREPO / "server" / "conftest.py"]


@pytest.mark.parametrize(
    "paths",
    [
        ("server/tests", "packages/x/tests"),
        ("server/tests/test_api.py", "packages/x/tests/test_x.py"),
    ],
)
def test_paths_inside_several_projects_keep_their_own(paths: tuple[str, ...]) -> None:
    workspace = Workspace.load([MONOREPO / p for p in paths])
    configs = [project.config.path for project in workspace.projects]
    assert configs == [
        MONOREPO / "packages" / "x" / "pytest.ini",
        MONOREPO / "server" / "pyproject.toml",
    ]


def test_paths_inside_several_projects_find_what_each_project_finds(repo: Path) -> None:
    together = findings("server/tests", "packages/x/tests")
    alone = findings("server/tests") + findings("packages/x/tests")
    assert sorted(map(key, together)) == sorted(map(key, alone))


def test_config_forces_one_project() -> None:
    workspace = Workspace.load([MONOREPO], config_file=MONOREPO / "pytest.ini")
    [project] = workspace.projects
    assert len(project.python_files) == 10


@pytest.mark.parametrize(
    ("name", "text", "project"),
    [
        ("pytest.ini", "", True),  # always pytest's config, even empty
        ("pytest.toml", "", True),
        (".pytest.ini", "[pytest]\n", True),
        ("pyproject.toml", "[tool.pytest.ini_options]\n", True),
        ("pyproject.toml", "[tool.pytest]\nminversion = '9.0'\n", True),
        ("pyproject.toml", "[project]\nname = 'x'\n", False),
        ("pyproject.toml", "[tool.pytest.ini_options\n", True),  # pytest stops on it
        ("tox.ini", "[pytest]\n", True),
        ("tox.ini", "[tox]\nenvlist = py311\n", False),
        ("setup.cfg", "[tool:pytest]\n", True),
        ("setup.cfg", "[metadata]\nname = x\n", False),
        ("setup.cfg", "[pytest]\n", True),  # pytest refuses it there
        ("setup.py", "", False),
        ("conftest.py", "", False),
    ],
)
def test_which_directories_hold_a_pytest_config(
    tmp_path: Path, name: str, text: str, project: bool
) -> None:
    (tmp_path / name).write_text(text)
    assert holds_config(tmp_path) is project


def test_ignored_and_skipped_directories_are_never_projects(tmp_path: Path) -> None:
    async_fixture = "import pytest\n\n@pytest.fixture\nasync def f():\n    yield 1\n"
    write_tree(
        tmp_path,
        {
            ".git/HEAD": "",
            ".gitignore": "generated/\n",
            "pytest.ini": "[pytest]\nasyncio_default_fixture_loop_scope = function\n",
            "generated/pytest.ini": "[pytest]\nasyncio_mode = auto\n",
            "generated/test_gen.py": async_fixture,
            ".venv/lib/pytest.ini": "[pytest]\n",
            ".venv/lib/test_venv.py": async_fixture,
            "build/pyproject.toml": "[tool.pytest.ini_options]\n",
            "build/test_built.py": async_fixture,
            "tests/test_a.py": async_fixture,
        },
    )
    [project] = Workspace.load([tmp_path]).projects
    assert project.python_files == [tmp_path / "tests" / "test_a.py"]


# --------------------------------------------------------------------------- the CLI


def test_the_root_run_is_the_union_of_the_projects_run_from_inside(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = findings()
    parts = findings(*ROOT_PATHS)
    for sub in SUBPROJECTS:
        monkeypatch.chdir(repo / sub)
        parts += findings()
    monkeypatch.chdir(repo)
    assert sorted(map(key, whole)) == sorted(map(key, parts))
    # Each part holds something, and nothing is found twice.
    assert len(whole) == len({key(f) for f in whole}) == 7
    assert {Path(str(f["filename"])).relative_to(repo).parts[0] for f in whole} == {
        "packages",
        "server",
        "tests",
        "tools",
    }


def test_paths_are_relative_to_the_working_directory(repo: Path) -> None:
    result = check("--output-format", "concise", "--no-cache")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    # The config finding points at the subproject's own config file.
    assert "server/pyproject.toml:6:1: LL101" in result.stdout
    assert any(line.startswith("packages/x/conftest.py:12:2: LL207") for line in lines)
    assert any(line.startswith("server/tests/test_api.py:5:11: LL202") for line in lines)
    assert not any(line.startswith("server/conftest.py") for line in lines)  # auto mode there
    assert lines == sorted(lines, key=lambda line: line.split(":")[0])


def test_an_explicit_config_lints_everything_under_it(repo: Path) -> None:
    result = check("--output-format", "concise", "--no-cache", "--config", "pytest.ini")
    assert result.exit_code == 1
    # Strict mode everywhere: server's plain async fixtures are errors; x's module fixture is
    # on the root's function loop, narrower than its scope; server's config is not read.
    assert "server/conftest.py:5:2: LL207" in result.stdout
    assert "packages/x/conftest.py:7:2: LL201" in result.stdout
    assert "LL101" not in result.stdout


def test_sarif_paths_are_relative_to_the_outermost_root(repo: Path) -> None:
    result = check("--output-format", "sarif", "--no-cache", "--exit-zero")
    assert result.exit_code == 0
    run = json.loads(result.stdout)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert "server/pyproject.toml" in uris
    assert "packages/x/conftest.py" in uris


def test_diff_fixes_each_project_under_its_own_config(repo: Path) -> None:
    result = check("--diff")
    assert result.exit_code == 1, result.output
    changed = sorted(
        line.removeprefix("+++ b/") for line in result.stdout.splitlines() if line.startswith("+++")
    )
    assert changed == [
        "packages/x/conftest.py",
        "packages/y/tests/test_y.py",
        "tests/test_root.py",
        "tools/test_tools.py",
    ]


def test_fix_then_only_the_unfixable_remain(repo: Path) -> None:
    result = check("--fix", "--output-format", "concise")
    assert result.exit_code == 1, result.output
    assert "4 fixed, 3 remaining" in result.stderr
    assert (
        "@pytest_asyncio.fixture  # error: LL207" in (repo / "packages/x/conftest.py").read_text()
    )
    again = check("--output-format", "concise", "--no-cache")
    assert again.stdout == result.stdout


def test_each_project_keeps_its_own_cache(repo: Path) -> None:
    first = check("--output-format", "concise")
    assert first.exit_code == 1
    for root in ("", "server", "packages/x"):
        assert (repo / root / ".leaklint_cache").is_dir()
    again = check("--output-format", "concise")
    assert (again.exit_code, again.stdout) == (first.exit_code, first.stdout)
    pyproject = repo / "server" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + 'asyncio_default_fixture_loop_scope = "function"\n'
    )
    edited = check("--output-format", "concise")
    assert "LL101" not in edited.stdout
    # The module-scoped fixture is now on the function loop: narrower than its scope.
    assert "server/tests/conftest.py:4:2: LL201" in edited.stdout


def test_a_clean_monorepo_exits_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(
        tmp_path,
        {
            "pytest.ini": "[pytest]\n",
            "api/pyproject.toml": (
                '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
                'asyncio_default_fixture_loop_scope = "function"\n'
            ),
            "api/tests/test_api.py": "async def test_a():\n    pass\n",
            "tests/test_sync.py": "def test_b():\n    pass\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    result = check("--no-cache")
    assert result.exit_code == 0, result.output
    assert "All checks passed!" in result.stderr


def test_the_fixture_map_from_the_root(repo: Path) -> None:
    result = CliRunner().invoke(main, ["fixtures", "."])
    assert result.exit_code == 0, result.output
    blocks = {block.splitlines()[0]: block for block in result.stdout.split("\n\n")}
    database = blocks["server/tests/test_api.py::test_database  [function loop]"]
    assert "server/tests/conftest.py:5" in database
    assert "(not the test's loop)" in database
    pool = blocks["server/tests/test_api.py::test_not_the_root_pool  [function loop]"]
    assert "shared_pool" in pool and "plugin or built-in" in pool
    worker = blocks["packages/x/tests/test_x.py::test_worker  [module loop]"]
    assert "loop=module" in worker and "not the test's loop" not in worker
    assert "tests/test_root.py::test_root_pool  [function loop]" in blocks


def test_the_fixture_map_from_inside_a_project_names_paths_from_its_rootdir(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "server" / "tests")
    result = CliRunner().invoke(main, ["fixtures", "."])
    assert result.exit_code == 0, result.output
    blocks = {block.splitlines()[0]: block for block in result.stdout.split("\n\n")}
    client = blocks["tests/test_api.py::test_client  [function loop]"]
    assert re.search(r"api_client .* conftest.py:6$", client, re.MULTILINE)
    database = blocks["tests/test_api.py::test_database  [function loop]"]
    assert "tests/conftest.py:5" in database
