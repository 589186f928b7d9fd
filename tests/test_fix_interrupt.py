"""An interrupted ``--fix`` (SIGINT or SIGTERM) leaves every file either old or new, never half,
and no temporary file behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import leaklint

SRC = str(Path(leaklint.__file__).resolve().parent.parent)
PYPROJECT = (
    "[tool.pytest.ini_options]\n"
    'asyncio_mode = "strict"\n'
    'asyncio_default_fixture_loop_scope = "function"\n'
)
# LL207's safe fix rewrites the decorator and adds the import: two edits per file.
MODULE = (
    "import pytest\n\n\n"
    "@pytest.fixture\n"
    "async def resource():\n"
    "    yield {index}\n\n\n"
    "@pytest.mark.asyncio\n"
    "async def test_uses(resource):\n"
    "    assert resource == {index}\n"
)
FILES = 400


def fixed_version(tmp_path: Path, index: int) -> bytes:
    """What ``--fix`` makes of one module, from an uninterrupted run on a copy."""
    single = tmp_path / "single"
    single.mkdir()
    (single / "pyproject.toml").write_text(PYPROJECT)
    (single / "test_one.py").write_text(MODULE.format(index=index))
    run = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "--fix", "--select", "LL207", str(single)],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    fixed = (single / "test_one.py").read_bytes()
    shutil.rmtree(single)
    assert fixed != MODULE.format(index=index).encode()
    return fixed


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_fix_leaves_whole_files(tmp_path: Path, signum: int) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    originals: dict[Path, bytes] = {}
    for index in range(FILES):
        path = project / f"test_mod{index:03}.py"
        path.write_text(MODULE.format(index=index))
        originals[path] = path.read_bytes()
    expected_fixed = fixed_version(tmp_path, 424242)

    process = subprocess.Popen(
        [sys.executable, "-m", "leaklint", "check", "--fix", "--select", "LL207", str(project)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Signal as soon as the first file is replaced: the run is then writing.
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if any(p.read_bytes() != data for p, data in originals.items()):
                break
            time.sleep(0.001)
        if process.poll() is None:
            process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    new = 0
    for path, data in originals.items():
        now = path.read_bytes()
        index = int(path.stem.removeprefix("test_mod"))
        whole = expected_fixed.replace(b"424242", str(index).encode())
        assert now in (data, whole), f"{path.name} is neither old nor new:\n{now.decode()}"
        new += now == whole
    assert new > 0
    leftovers = sorted(p.name for p in project.iterdir() if p.suffix == ".tmp")
    assert not leftovers
    if process.returncode not in (0, 1):  # interrupted before the end: one clear line
        assert process.returncode == 2
        assert b"interrupted" in stderr
        assert b"Traceback" not in stderr
