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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

ROOT_CONFTEST = '''\
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
'''

PACKAGE_CONFTEST = '''\
import pytest
import pytest_asyncio


@pytest_asyncio.fixture
async def client_{n}():
    return object()


@pytest.fixture
def repo(dsn):
    return dsn
'''

DIR_CONFTEST = '''\
import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cache():
    return {{}}


@pytest.fixture(name="factory_{n}")
def make_factory(repo):
    return lambda: repo
'''

TEST_MODULE = '''\
import asyncio

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="{loop}")


@pytest.fixture
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
'''


def generate(root: Path, files: int) -> None:
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
        # Nine modules in ten run on the module loop: `factory` reaches the session engine
        # through sync fixtures, so each of those is a finding; the tenth is on the session loop.
        loop = "session" if index % 10 == 0 else "module"
        text = TEST_MODULE.format(n=index, d=directory, loop=loop)
        (sub / f"test_mod{index}.py").write_text(text)


def run(root: Path, *extra: str) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", str(root), "--output-format", "concise", *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    return elapsed, done.stdout.count("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.files)
        without = [run(root, "--ignore", "LL202") for _ in range(args.repeat)]
        with_rule = [run(root) for _ in range(args.repeat)]
    best_without = min(t for t, _ in without)
    best_with = min(t for t, _ in with_rule)
    print(f"test files: {args.files}")
    print(f"without LL202: {best_without:.2f}s ({without[0][1]} findings)")
    print(f"with LL202:    {best_with:.2f}s ({with_rule[0][1]} findings)")
    print(f"ratio:         {best_with / best_without:.2f}x")


if __name__ == "__main__":
    main()
