"""The pre-commit hook, run for real with ``pre-commit try-repo`` against this repository.

try-repo installs leaklint from this checkout (its HEAD commit plus uncommitted changes) into a
fresh environment under ``PRE_COMMIT_HOME``, with pip, so it needs the package index.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness import FIXTURES

from leaklint.cli import main

HERE = Path(__file__).resolve().parent
HEADER = re.compile(r"^(\S+:\d+:\d+: LL\d{3}) ", re.MULTILINE)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=git_env()
    )
    return done.stdout.strip()


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    return env


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module's runs."""
    if importlib.util.find_spec("pre_commit") is None:
        pytest.skip("pre-commit is not installed (it comes with the dev extra)")
    return tmp_path_factory.mktemp("pre-commit-home")


def run_hook(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``pre-commit try-repo`` of this checkout's ``leaklint`` hook in ``project``'s root."""
    repository = Path(git(HERE, "rev-parse", "--show-toplevel"))
    env = git_env()
    env["PRE_COMMIT_HOME"] = str(home)
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(repository),
            "leaklint",
            "--all-files",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )


def test_hook_fails_on_a_finding_and_passes_once_fixed(
    tmp_path: Path, pre_commit_home: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    (project / "tests").mkdir()
    # A thread rule needs the file, so its syntax error is a finding.
    (project / "tests" / "test_broken.py").write_text(
        "import threading\ndef test_x(:\n    threading.Thread()\n"
    )
    (project / "README.txt").write_text("not linted\n")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "bad example")

    def hook() -> subprocess.CompletedProcess[str]:
        return run_hook(project, pre_commit_home)

    failing = hook()
    output = failing.stdout + failing.stderr
    assert failing.returncode == 1, output
    assert "tests/test_broken.py:2:12: LL001" in output, output

    (project / "tests" / "test_broken.py").write_text("import threading\ndef test_x():\n    pass\n")
    git(project, "commit", "-q", "-am", "fixed")
    passing = hook()
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout


def test_hook_at_a_monorepo_root_lints_each_project_under_its_own_config(
    tmp_path: Path, pre_commit_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pre-commit runs from the repository root: the subprojects' configs still decide."""
    project = tmp_path / "monorepo"
    shutil.copytree(
        FIXTURES / "workspace" / "monorepo", project, ignore=shutil.ignore_patterns("*.fixed")
    )
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "monorepo")

    hooked = run_hook(project, pre_commit_home)
    output = hooked.stdout + hooked.stderr
    assert hooked.returncode == 1, output
    assert "server/pyproject.toml:6:1: LL101" in output, output

    monkeypatch.chdir(project)
    direct = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "concise"])
    assert direct.exit_code == 1
    assert sorted(HEADER.findall(output)) == sorted(HEADER.findall(direct.stdout))
    assert len(HEADER.findall(direct.stdout)) == 7


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("tests/test_api.py", True),
        ("setup.py", True),
        ("server/pyproject.toml", True),
        ("pytest.ini", True),
        ("setup.cfg", True),
        ("tox.ini", True),
        ("requirements-dev.txt", True),  # declares the pytest-asyncio range
        ("crate/Cargo.toml", True),
        ("README.md", False),
        ("notes.txt", False),
    ],
)
def test_the_hook_runs_when_a_file_leaklint_reads_changes(name: str, read: bool) -> None:
    import re

    import yaml

    hooks = yaml.safe_load((HERE.parent / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        assert bool(re.search(hook["files"], name)) is read, (hook["id"], name)
