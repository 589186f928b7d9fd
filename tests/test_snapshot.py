"""A run that nothing has changed since replays the last run's output (``leaklint.run.snapshot``);
any change to what the run looked at sends it through the linter again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import leaklint.run.engine
from leaklint.cli import main
from leaklint.run import snapshot

LEAKY = """\
import threading


def test_worker():
    worker = threading.Thread(target=print)
    worker.start()
"""
FIXED = LEAKY + "    worker.join()\n"
AN_HOUR = 3600 * 10**9
DEFAULT_RACY_NS = snapshot.RACY_NS


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LEAKLINT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def project(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose files look an hour old, and runs that trust timestamps up to their start
    (the tests' file system keeps nanoseconds; the 2 s margin is for coarse ones)."""
    monkeypatch.setattr(snapshot, "RACY_NS", 0)
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "tests" / "test_worker.py").write_text(LEAKY)
    age(root)
    return root


def age(root: Path) -> None:
    """Set the mtime of ``root`` and everything in it an hour back."""
    old = time.time_ns() - AN_HOUR
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(old, old))


def check(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", "--output-format", "concise", *args])


def snapshots(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.snapshot"))


def refuse(*args: object, **kwargs: object) -> None:
    """Stands in for the engine where a run must replay."""
    raise AssertionError("the engine ran")


def linted(result: Result) -> bool:
    """Whether the run reached the engine (replaced by ``refuse``) rather than replaying."""
    return isinstance(result.exception, AssertionError)


def test_an_unchanged_run_replays_its_output_without_linting(
    project: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = check(str(project))
    assert first.exit_code == 1
    assert "LL401" in first.stdout
    assert len(snapshots(cache_dir)) == 1

    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    again = check(str(project))
    assert (again.exit_code, again.stdout, again.stderr) == (
        first.exit_code,
        first.stdout,
        first.stderr,
    )


@pytest.mark.parametrize("where", ["root", "below the root", "--config elsewhere"])
def test_a_cache_inside_the_project_does_not_stop_the_replay(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The default .leaklint_cache sits beside the rootdir: its writes are no input, and the
    replay finds it without reading the pytest config (at or above the linted path, or beside
    the --config file)."""
    monkeypatch.delenv("LEAKLINT_CACHE_DIR")
    args = [str(project)]
    cache = project / ".leaklint_cache"
    if where == "below the root":
        args = [str(project / "tests")]
    elif where == "--config elsewhere":
        config = tmp_path / "configs" / "pytest.ini"
        config.parent.mkdir()
        config.write_text("[pytest]\n")
        age(config.parent)
        args = ["--config", str(config), str(project / "tests")]
        cache = config.parent / ".leaklint_cache"
    first = check(*args)  # creates the cache folder: the rootdir changed during the run
    assert cache.is_dir()
    check(*args)
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    again = check(*args)
    assert not linted(again)
    assert (again.exit_code, again.stdout) == (first.exit_code, first.stdout)


def test_a_plugin_module_outside_the_linted_path_read_in_a_worker_counts(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linting tests/ alone with two workers: the conftest names a plugin module under
    plugins/, which no run lists or scans; the workers read it for the cross-loop check."""
    monkeypatch.setattr(snapshot, "RACY_NS", 0)
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "plugins").mkdir()
    (root / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    plugin = root / "plugins" / "db.py"
    plugin.write_text(
        "import pytest_asyncio\n\n"
        '@pytest_asyncio.fixture(scope="session", loop_scope="session")\n'
        "async def pool():\n    yield object()\n"
    )
    (root / "tests" / "conftest.py").write_text('pytest_plugins = ["plugins.db"]\n')
    for name in ("a", "b"):
        (root / "tests" / f"test_{name}.py").write_text(
            f"async def test_{name}(pool):\n    assert pool\n"
        )
    age(root)
    args = ("--jobs", "2", "--select", "LL202", str(root / "tests"))
    assert check(*args).exit_code == 1
    with monkeypatch.context() as patched:
        patched.setattr(leaklint.run.engine, "lint", refuse)
        assert not linted(check(*args))
        plugin.write_text(plugin.read_text().replace("session", "function"))
        assert linted(check(*args))
    fresh = check(*args)
    assert fresh.exit_code == 0, fresh.output


def test_a_replay_loads_neither_libcst_nor_the_rules(project: Path, cache_dir: Path) -> None:
    script = (
        "import atexit, sys\n"
        "import leaklint.run.snapshot\n"
        "leaklint.run.snapshot.RACY_NS = 0\n"
        "atexit.register(lambda: print('libcst loaded:', 'libcst' in sys.modules, "
        "file=sys.stderr))\n"
        "from leaklint.cli import main\n"
        "sys.argv = ['leaklint', 'check', '--output-format', 'concise', sys.argv[1]]\n"
        "main()\n"
    )
    env = {**os.environ, "LEAKLINT_CACHE_DIR": str(cache_dir)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, str(project)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    first, second = run(), run()
    assert "libcst loaded: True" in first.stderr
    assert "libcst loaded: False" in second.stderr
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout and "LL401" in second.stdout


def test_an_edited_file_is_linted_again(project: Path) -> None:
    assert check(str(project)).exit_code == 1
    (project / "tests" / "test_worker.py").write_text(FIXED)
    result = check(str(project))
    assert result.exit_code == 0, result.output
    assert "All checks passed!" in result.stderr


def test_a_touched_file_with_the_same_bytes_still_replays(
    project: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout or pre-commit's stash rewrites files with the bytes they had."""
    module = project / "tests" / "test_worker.py"
    first = check(str(project))
    module.write_text(LEAKY)  # in place: the directory keeps its mtime
    age(module)
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    again = check(str(project))
    assert not linted(again)
    assert (again.exit_code, again.stdout) == (first.exit_code, first.stdout)
    [stored] = snapshots(cache_dir)
    manifest = json.loads(stored.read_text())["manifest"]
    assert manifest[str(module)] == snapshot.signature(str(module))  # kept for the next run


def test_a_file_rewritten_to_the_same_size_is_linted_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = project / "tests" / "test_worker.py"
    check(str(project))
    module.write_text(LEAKY.replace("worker", "runner"))
    age(module)
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    assert linted(check(str(project)))


def test_a_new_file_is_seen(project: Path) -> None:
    (project / "tests" / "test_worker.py").write_text(FIXED)
    age(project)
    assert check(str(project)).exit_code == 0
    (project / "tests" / "sub").mkdir()
    (project / "tests" / "sub" / "test_more.py").write_text(LEAKY)
    result = check(str(project))
    assert result.exit_code == 1
    assert "test_more.py" in result.stdout


def test_a_settings_file_created_above_the_rootdir_counts(tmp_path: Path, project: Path) -> None:
    """Nothing lists the directories above the rootdir: only their probed names tell."""
    assert check(str(project / "tests")).exit_code == 1
    (tmp_path / "leaklint.toml").write_text('ignore = ["LL401"]\n')
    assert check(str(project / "tests")).exit_code == 0


def test_a_pytest_config_created_above_the_rootdir_counts(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No config in the project: pytest roots it higher up once one appears there."""
    (project / "pytest.ini").unlink()
    age(project)
    assert check(str(project / "tests")).exit_code == 1
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    assert not linted(check(str(project / "tests")))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert linted(check(str(project / "tests")))


@pytest.mark.parametrize(
    "options",
    [["--no-cache"], ["--fix"], ["--diff"]],
    ids=["no-cache", "fix", "diff"],
)
def test_runs_that_change_files_or_skip_the_cache_never_replay(
    project: Path, cache_dir: Path, options: list[str]
) -> None:
    check("--select", "LL402", str(project))  # a snapshot of another command
    before = snapshots(cache_dir)
    check(*options, str(project))
    check(*options, str(project))
    assert snapshots(cache_dir) == before


def test_other_options_are_another_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check("--select", "LL401", str(project))
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    assert not linted(check("--select", "LL401", str(project)))
    assert linted(check("--select", "LL401,LL402", str(project)))


def test_the_output_file_is_written_again(tmp_path: Path, project: Path) -> None:
    report = tmp_path / "report.json"
    args = ["--output-format", "json", "--output-file", str(report), str(project)]
    assert check(*args).exit_code == 1
    written = json.loads(report.read_text())
    report.unlink()
    assert check(*args).exit_code == 1
    assert json.loads(report.read_text()) == written


def test_a_corrupt_snapshot_is_no_snapshot(project: Path, cache_dir: Path) -> None:
    first = check(str(project))
    for path in snapshots(cache_dir):
        path.write_text("{not json")
    again = check(str(project))
    assert (again.exit_code, again.stdout) == (first.exit_code, first.stdout)


def test_a_run_right_after_an_edit_leaves_no_snapshot(
    project: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "RACY_NS", DEFAULT_RACY_NS)
    (project / "tests" / "test_worker.py").write_text(LEAKY + "\n")
    assert check(str(project)).exit_code == 1
    assert snapshots(cache_dir) == []


def test_ancestor_probes_name_every_directory_up_to_the_root(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    target.mkdir(parents=True)
    probes = list(snapshot.ancestor_probes([target, tmp_path / "a"], ["x.ini"]))
    assert probes[0] == target / "x.ini"
    assert Path(target.anchor) / "x.ini" in probes
    assert len(probes) == len(set(probes)) == len(target.parts)


@pytest.fixture
def monorepo(project: Path) -> Path:
    """``project`` with a subproject of its own config."""
    server = project / "server"
    (server / "tests").mkdir(parents=True)
    (server / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    (server / "tests" / "test_server.py").write_text(FIXED)
    age(project)
    return project


def test_editing_a_subproject_config_is_linted_again(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = check(str(monorepo))
    assert first.exit_code == 1
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    assert not linted(check(str(monorepo)))
    (monorepo / "server" / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
    )
    age(monorepo / "server")
    assert linted(check(str(monorepo)))


def test_a_subproject_config_created_is_linted_again(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check(str(monorepo))
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    assert not linted(check(str(monorepo)))
    (monorepo / "tests" / "pytest.ini").write_text("[pytest]\n")
    assert linted(check(str(monorepo)))


def test_a_monorepo_with_caches_beside_each_rootdir_replays(
    monorepo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEAKLINT_CACHE_DIR")
    first = check(str(monorepo))  # creates the cache folders: the rootdirs changed
    assert (monorepo / "server" / ".leaklint_cache").is_dir()
    check(str(monorepo))
    monkeypatch.setattr(leaklint.run.engine, "lint", refuse)
    again = check(str(monorepo))
    assert not linted(again)
    assert (again.exit_code, again.stdout) == (first.exit_code, first.stdout)
    # Each project's findings cache is the run's own output, never an input.
    [stored] = snapshots(monorepo / ".leaklint_cache")
    manifest = json.loads(stored.read_text())["manifest"]
    assert not [path for path in manifest if ".leaklint_cache" in path]
