"""The pre-commit hook, run for real with ``pre-commit try-repo`` against this repository.

try-repo installs leaklint from this checkout (its HEAD commit plus uncommitted changes) into a
fresh environment under ``PRE_COMMIT_HOME``, with pip, so it needs the package index.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


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


def test_hook_fails_on_a_finding_and_passes_once_fixed(tmp_path: Path) -> None:
    if importlib.util.find_spec("pre_commit") is None:
        pytest.skip("pre-commit is not installed (it comes with the dev extra)")
    repository = Path(git(HERE, "rev-parse", "--show-toplevel"))
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    (project / "tests").mkdir()
    (project / "tests" / "test_broken.py").write_text("def test_x(:\n    pass\n")
    (project / "README.txt").write_text("not linted\n")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "bad example")

    env = git_env()
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    env.pop("PYTHONPATH", None)

    def hook() -> subprocess.CompletedProcess[str]:
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

    failing = hook()
    output = failing.stdout + failing.stderr
    assert failing.returncode == 1, output
    assert "tests/test_broken.py:1:12: LL001" in output, output

    (project / "tests" / "test_broken.py").write_text("def test_x():\n    pass\n")
    git(project, "commit", "-q", "-am", "fixed")
    passing = hook()
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
