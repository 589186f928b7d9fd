"""Time `leaklint check` on a generated project with and without LL202 (the fixture graph).

    python benchmarks/bench_fixture_graph.py [--files 1000] [--repeat 3]

The project: a root conftest with session-loop fixtures, 10 packages with a conftest each, 10
directories per package with a conftest each, and test modules spread over them. Every module
has async tests, its own async fixtures, sync fixtures that chain into the conftests, and a tenth
of them use a session-loop fixture from the function loop (so LL202 has findings to report).
Prints the best wall time of each run and the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

ROOT_CONFTEST = """\
import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    yield object()


@pytest.fixture(scope="session")
def dsn(engine):
    return str(engine)


@pytest.fixture(autouse=True)
def settings():
    return {}
"""

PACKAGE_CONFTEST = """\
import pytest
import pytest_asyncio


@pytest_asyncio.fixture
async def client_{n}():
    return object()


@pytest.fixture
def repo(dsn):
    return dsn
"""

DIR_CONFTEST = """\
import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cache():
    return {{}}


@pytest.fixture(name="factory_{n}")
def make_factory(repo):
    return lambda: repo
"""

TEST_MODULE = """\
import asyncio

import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio(loop_scope="{loop}")


@pytest_asyncio.fixture(loop_scope="{loop}")
async def local_{n}():
    await asyncio.sleep(0)
    return {n}


async def test_local(local_{n}):
    assert local_{n} == {n}


async def test_cache(cache):
    assert cache == {{}}


async def test_factory(factory_{d}):
    assert factory_{d}()


@pytest.mark.parametrize("value", [1, 2, 3])
async def test_parametrized(value, settings):
    assert value


class TestGroup:
    async def test_in_class(self, cache, request):
        request.getfixturevalue("cache")

    def test_sync(self, repo):
        assert repo
"""


def generate(root: Path, files: int, hazards: int = 10) -> None:
    (root / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    (root / "conftest.py").write_text(ROOT_CONFTEST)
    for index in range(files):
        package, directory = index // 100, (index // 10) % 10
        pkg = root / "tests" / f"pkg{package}"
        sub = pkg / f"dir{directory}"
        if not sub.exists():
            sub.mkdir(parents=True)
            (pkg / "__init__.py").touch()
            (pkg / "conftest.py").write_text(PACKAGE_CONFTEST.format(n=package))
            (sub / "__init__.py").touch()
            (sub / "conftest.py").write_text(DIR_CONFTEST.format(n=directory))
        # Most modules run on the session loop with their fixtures; one in `hazards` runs on the
        # function loop, so the session `engine` (reached through sync fixtures) and the module
        # loop `cache` are on other loops: LL202 findings.
        loop = "function" if index % hazards == 0 else "session"
        text = TEST_MODULE.format(n=index, d=directory, loop=loop)
        (sub / f"test_mod{index}.py").write_text(text)


def run(root: Path, *extra: str) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system, the child's) and the number of findings."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "leaklint",
            "check",
            str(root),
            "--output-format",
            "concise",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return elapsed, cpu, done.stdout.count("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--hazards",
        type=int,
        default=10,
        help="one module in this many runs on a loop other than its fixtures' (1: all)",
    )
    args = parser.parse_args()
    without: list[tuple[float, float, int]] = []
    with_rule: list[tuple[float, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.files, args.hazards)
        for _ in range(args.repeat):  # interleaved, so load changes hit both alike
            without.append(run(root, "--ignore", "LL202"))
            with_rule.append(run(root))
    print(f"test files: {args.files}, one in {args.hazards} with a cross-loop problem")
    for label, runs in (("without LL202", without), ("with LL202", with_rule)):
        wall = min(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        print(f"{label:14} wall {wall:6.2f}s  cpu {cpu:6.2f}s  ({runs[0][2]} findings)")
    wall_ratio = min(r[0] for r in with_rule) / min(r[0] for r in without)
    cpu_ratio = min(r[1] for r in with_rule) / min(r[1] for r in without)
    print(f"ratio          wall {wall_ratio:.2f}x  cpu {cpu_ratio:.2f}x")


if __name__ == "__main__":
    main()
