"""Time leaklint against ruff, Fixit and a bare libcst parse, on the same trees in one run.

    python benchmarks/run.py [--runs 3] [--trees stdlib,generated,pandas,sqlalchemy] [--data DIR]

Trees (built once into the data folder, default ``~/.cache/leaklint-bench``):

* ``stdlib``: a copy of the running Python's standard library (``site-packages`` left out);
* ``pandas``: ``pandas/tests`` from the pandas 2.2.3 wheel (``pip download``; the nearest
  version with a wheel for this Python when 2.2.3 has none);
* ``sqlalchemy``: the whole SQLAlchemy 2.0.36 sdist (``lib`` and ``test``; ``pip download
  --no-deps --no-binary :all: sqlalchemy==2.0.36``), a real project linted as a user would;
* ``generated``: 1,000 async-heavy test modules with conftests at three levels.

Tools, each run ``--runs`` times (median wall time reported):

* ``leaklint cold``: ``leaklint check --no-cache``; ``leaklint warm``: with its cache primed and
  nothing changed (the last run's output is replayed); ``leaklint touched``: one test module's
  mtime changed before each run, bytes the same (the replay reads that file and compares its
  hash); ``leaklint 1 edit``: that module's bytes changed before each run (no replay: every
  other file's findings come from the findings cache, that module is parsed again);
* ``leaklint parse-all``: as cold, plus a probe rule with no tokens, so every file is parsed and
  walked: what the machinery costs once rules need every tree;
* ``ruff cold``: ``ruff check --isolated --no-cache --select ASYNC,PT`` (ruff's default, full
  output: on the standard library most of its time goes into rendering some 70,000 PT009
  findings with their fix diffs); ``ruff cold concise``: the same with ``--output-format
  concise``, the format leaklint is timed with; ``ruff warm``: concise, with a primed cache;
* ``fixit``: ``fixit lint`` from a separate virtualenv (``--fixit``, default
  ``/work/fixit-venv/bin/fixit``; ``python3 -m venv /work/fixit-venv &&
  /work/fixit-venv/bin/pip install fixit``), one run only, on the trees ``--fixit-trees``
  names (default: the generated one), and left out when it is not installed;
* ``bare parse``: ``libcst.parse_module`` over every ``.py`` file, one process.

leaklint's modules are byte-compiled first, as an installed package's are (this machine sets
``PYTHONDONTWRITEBYTECODE``, which would otherwise charge every run for compiling them). Peak
memory is the largest resident set of any single process of the command (``wait4``).
No figure here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
PYTHON = sys.executable
SKIP = {"site-packages", "__pycache__", ".leaklint_cache", ".ruff_cache", "dist-packages"}

PROBE = """
import sys
import libcst as cst
from leaklint.rules.base import FileRule, register
from leaklint.cli import main

@register
class Probe(FileRule):
    '''Benchmark probe: every file parsed and walked, nothing reported.'''
    code = "LL999"
    name = "benchmark-probe"
    def visit_Name(self, node: cst.Name) -> None:
        pass

sys.argv = ["leaklint", *sys.argv[1:]]
main()
"""

BARE_PARSE = """
import sys, pathlib, libcst
count = 0
for line in open(sys.argv[1]):
    try:
        libcst.parse_module(pathlib.Path(line.rstrip("\\n")).read_bytes())
    except Exception:
        pass
    count += 1
print(count)
"""


@dataclass
class Figure:
    tree: str
    tool: str
    seconds: float
    peak_mb: float
    runs: int
    note: str = ""


def run(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1):
        print(f"  ! {' '.join(command[:4])} … exited {process.returncode}: {stderr[-400:]}")
    return elapsed, usage.ru_maxrss / 1024


def timed(
    tree: str,
    tool: str,
    command: list[str],
    runs: int,
    before: Callable[[], object] | None = None,
    **kw: object,
) -> Figure:
    results = []
    for _ in range(runs):
        if before is not None:
            before()
        results.append(run(command, **kw))  # type: ignore[arg-type]
    figure = Figure(
        tree,
        tool,
        statistics.median(r[0] for r in results),
        max(r[1] for r in results),
        runs,
    )
    print(f"  {tool:<20} {figure.seconds:8.2f} s  {figure.peak_mb:7.0f} MB", flush=True)
    return figure


# --------------------------------------------------------------------------- trees


def python_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP and not d.startswith("."))
        found.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return found


def stdlib_tree(data: Path) -> Path:
    target = data / "stdlib"
    if not target.exists():
        source = Path(sysconfig.get_paths()["stdlib"])
        temp = data / "stdlib.partial"
        shutil.rmtree(temp, ignore_errors=True)
        shutil.copytree(source, temp, ignore=shutil.ignore_patterns(*SKIP, "*.pyc"), symlinks=True)
        temp.rename(target)
    return target


def pandas_tree(data: Path) -> Path:
    target = data / "pandas-tests"
    if target.exists():
        print(f"  pandas: {(target / 'VERSION').read_text().strip()}")
        return target
    wheels = data / "wheels"
    version = "2.2.3"
    for candidate in ("2.2.3", "2.2.2", "2.3.0", "2.3.1", "2.3.2", "2.3.3", "2.2.1"):
        done = subprocess.run(
            [
                PYTHON,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                f"pandas=={candidate}",
                "-d",
                str(wheels),
            ],
            capture_output=True,
        )
        if done.returncode == 0:
            version = candidate
            break
    else:
        raise SystemExit("no pandas wheel for this Python")
    wheel = next(wheels.glob(f"pandas-{version}-*.whl"))
    temp = data / "pandas.partial"
    shutil.rmtree(temp, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("pandas/tests/"):
                archive.extract(name, temp)
    (temp / "VERSION").write_text(f"pandas {version}\n")
    temp.rename(target)
    print(f"  pandas: {version}")
    return target


SQLALCHEMY = "2.0.36"


def sqlalchemy_tree(data: Path) -> Path:
    target = data / "sqlalchemy"
    if target.exists():
        return target
    downloads = data / "sdists"
    archive = downloads / f"sqlalchemy-{SQLALCHEMY}.tar.gz"
    if not archive.exists():
        subprocess.run(
            [
                PYTHON,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"sqlalchemy=={SQLALCHEMY}",
                "-d",
                str(downloads),
            ],
            check=True,
            capture_output=True,
        )
    temp = data / "sqlalchemy.partial"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    with tarfile.open(archive) as sdist:
        sdist.extractall(temp, filter="data")
    (temp / f"sqlalchemy-{SQLALCHEMY}").rename(target)
    temp.rmdir()
    return target


CONFTEST = """import asyncio

import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="{scope}", loop_scope="{scope}")
async def {name}_client():
    client = {{"name": "{name}"}}
    await asyncio.sleep(0)
    yield client
    await asyncio.sleep(0)


@pytest.fixture
def {name}_settings(tmp_path):
    return {{"path": tmp_path, "level": "{name}"}}
"""

TEST_MODULE = '''"""Generated module {index}: async fixtures and tests."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio(loop_scope="{loop}")


@pytest_asyncio.fixture(loop_scope="{loop}")
async def resource_{index}(pkg_client):
    queue = asyncio.Queue()
    await queue.put({index})
    yield queue
    while not queue.empty():
        queue.get_nowait()


@pytest.fixture
def worker_{index}():
    done = threading.Event()
    thread = threading.Thread(target=done.wait, daemon=True)
    thread.start()
    yield thread
    done.set()
    thread.join()


async def helper_{index}(value: int) -> int:
    await asyncio.sleep(0)
    return value * {index}


async def test_value_{index}(resource_{index}, root_client):
    value = await resource_{index}.get()
    assert await helper_{index}(value) == {index} * {index}


async def test_gather_{index}(sub_client):
    results = await asyncio.gather(*(helper_{index}(i) for i in range(5)))
    assert len(results) == 5


def test_executor_{index}(worker_{index}, root_settings):
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(abs, [-1, -2])) == [1, 2]


class TestGroup{index}:
    async def test_method(self, resource_{index}):
        assert not resource_{index}.empty()

    @pytest.mark.parametrize("n", [1, 2, 3])
    async def test_param(self, n, pkg_settings):
        await asyncio.sleep(0)
        assert n > 0
'''


def generated_tree(data: Path) -> Path:
    target = data / "generated"
    if target.exists():
        return target
    temp = data / "generated.partial"
    shutil.rmtree(temp, ignore_errors=True)
    (temp / "tests").mkdir(parents=True)
    (temp / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    (temp / "tests" / "conftest.py").write_text(CONFTEST.format(scope="session", name="root"))
    index = 0
    for package in range(10):
        pkg = temp / "tests" / f"pkg{package:02d}"
        pkg.mkdir()
        (pkg / "conftest.py").write_text(CONFTEST.format(scope="package", name="pkg"))
        for sub in range(5):
            directory = pkg / f"sub{sub}"
            directory.mkdir()
            (directory / "conftest.py").write_text(CONFTEST.format(scope="module", name="sub"))
            for _ in range(20):
                loop = ("function", "module", "session")[index % 3]
                text = TEST_MODULE.format(index=index, loop=loop)
                (directory / f"test_mod{index:04d}.py").write_text(text)
                index += 1
    temp.rename(target)
    return target


# --------------------------------------------------------------------------- main


def bench_tree(name: str, root: Path, args: argparse.Namespace) -> list[Figure]:
    files = python_files(root)
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"\n{name}: {root} — {len(files)} files, {size:.1f} MB", flush=True)
    env = {**os.environ, "PYTHONPATH": str(args.src), "NO_COLOR": "1"}
    env.pop("LEAKLINT_CACHE_DIR", None)  # the cache goes beside the tree, and is cleared
    leaklint = [PYTHON, "-m", "leaklint", "check", "--exit-zero", "--output-format", "concise"]
    probe = [PYTHON, "-c", PROBE, "check", "--exit-zero", "--output-format", "concise"]
    ruff = [args.ruff, "check", "--isolated", "--exit-zero", "--select", "ASYNC,PT", "-q"]
    runs = args.runs
    figures: list[Figure] = []
    shutil.rmtree(root / ".leaklint_cache", ignore_errors=True)

    figures.append(timed(name, "ruff cold", [*ruff, "--no-cache", str(root)], runs))
    concise = [*ruff, "--output-format", "concise"]
    figures.append(timed(name, "ruff cold concise", [*concise, "--no-cache", str(root)], runs))
    ruff_cache = Path(tempfile.mkdtemp(prefix="ruff-cache-"))
    warm_ruff = [*concise, "--cache-dir", str(ruff_cache), str(root)]
    run(warm_ruff)
    figures.append(timed(name, "ruff warm", warm_ruff, runs))
    shutil.rmtree(ruff_cache, ignore_errors=True)

    figures.append(
        timed(name, "leaklint cold", [*leaklint, "--no-cache", str(root)], runs, env=env)
    )
    # Prime the cache. A run stores the snapshot that the next identical run replays only
    # when its inputs are 2 s old (the first run also creates .leaklint_cache in the tree).
    run([*leaklint, str(root)], env=env)
    time.sleep(2.5)
    run([*leaklint, str(root)], env=env)
    figures.append(timed(name, "leaklint warm", [*leaklint, str(root)], runs, env=env))
    # One file touched (same bytes, new mtime) before each run: the replay compares its bytes.
    edited = next((f for f in files if f.name.startswith("test_")), files[0])
    original = edited.read_bytes()
    figures.append(
        timed(
            name,
            "leaklint touched",
            [*leaklint, str(root)],
            runs,
            env=env,
            before=lambda: os.utime(edited),
        )
    )
    # One file edited (new bytes each run): that file is parsed again.
    counter = iter(range(10**6))
    try:
        figures.append(
            timed(
                name,
                "leaklint 1 edit",
                [*leaklint, str(root)],
                runs,
                env=env,
                before=lambda: edited.write_bytes(original + f"# {next(counter)}\n".encode()),
            )
        )
    finally:
        edited.write_bytes(original)
    shutil.rmtree(root / ".leaklint_cache", ignore_errors=True)

    heavy = 1 if size > 5 and not args.full else runs
    figures.append(
        timed(name, "leaklint parse-all", [*probe, "--no-cache", str(root)], heavy, env=env)
    )
    if args.jobs_one:
        figures.append(
            timed(
                name, "parse-all -j1", [*probe, "--no-cache", "-j", "1", str(root)], heavy, env=env
            )
        )
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("".join(f"{f}\n" for f in files))
    figures.append(timed(name, "bare parse", [PYTHON, "-c", BARE_PARSE, listing.name], heavy))
    os.unlink(listing.name)

    if args.fixit and Path(args.fixit).exists() and name in args.fixit_trees.split(","):
        figures.append(timed(name, "fixit", [args.fixit, "lint", str(root)], 1))

    for figure in figures:
        figure.note = f"{len(files) / figure.seconds:,.0f} files/s"
    return figures


def table(figures: list[Figure]) -> str:
    lines = [
        "| tree | tool | runs | median wall (s) | files/s | peak RSS (MB) | vs ruff (concise)"
        " | vs bare parse |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(f.tree, f.tool): f for f in figures}
    for f in figures:
        warm = any(word in f.tool for word in ("warm", "touched", "edit"))
        mode = "warm" if warm else "cold concise"
        ruff = by.get((f.tree, f"ruff {mode}"))
        bare = by.get((f.tree, "bare parse"))
        vs_ruff = (
            f"{f.seconds / ruff.seconds:.2f}x" if ruff and f.tool.startswith("leaklint") else ""
        )
        vs_bare = f"{f.seconds / bare.seconds:.2f}x" if bare and "parse" in f.tool else ""
        lines.append(
            f"| {f.tree} | {f.tool} | {f.runs} | {f.seconds:.2f} | {f.note.split()[0]} | "
            f"{f.peak_mb:.0f} | {vs_ruff} | {vs_bare} |"
        )
    return "\n".join(lines)


def ratios(figures: list[Figure]) -> str:
    """The issue's targets, one line a tree: leaklint against ruff, Fixit and a bare parse."""
    lines = []
    by = {(f.tree, f.tool): f.seconds for f in figures}
    for tree in dict.fromkeys(f.tree for f in figures):

        def ratio(a: str, b: str, tree: str = tree) -> str:
            if (tree, a) not in by or (tree, b) not in by:
                return "n/a"
            return f"{by[(tree, a)] / by[(tree, b)]:.2f}"

        lines.append(
            f"{tree}: cold/ruff {ratio('leaklint cold', 'ruff cold')} "
            f"(concise {ratio('leaklint cold', 'ruff cold concise')}), "
            f"warm/ruff warm {ratio('leaklint warm', 'ruff warm')} "
            f"(touched {ratio('leaklint touched', 'ruff warm')}, "
            f"1 edit {ratio('leaklint 1 edit', 'ruff warm')}), "
            f"parse-all/bare parse {ratio('leaklint parse-all', 'bare parse')}, "
            f"fixit/cold {ratio('fixit', 'leaklint cold')}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trees", default="stdlib,generated,pandas")
    parser.add_argument("--data", type=Path, default=Path.home() / ".cache" / "leaklint-bench")
    parser.add_argument("--ruff", default=shutil.which("ruff") or str(Path(PYTHON).parent / "ruff"))
    parser.add_argument("--fixit", default="/work/fixit-venv/bin/fixit")
    parser.add_argument(
        "--fixit-trees", default="generated", help="trees Fixit runs on (it is slow)"
    )
    parser.add_argument("--src", type=Path, default=SRC, help="the leaklint sources to time")
    parser.add_argument("--full", action="store_true", help="repeat the slow runs too")
    parser.add_argument("--jobs-one", action="store_true", help="also time parse-all with -j 1")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(args.src)], check=True)
    builders = {
        "stdlib": stdlib_tree,
        "generated": generated_tree,
        "pandas": pandas_tree,
        "sqlalchemy": sqlalchemy_tree,
    }
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, ruff {args.ruff}")
    figures: list[Figure] = []
    for name in args.trees.split(","):
        figures.extend(bench_tree(name, builders[name](args.data), args))
        print("\n" + table(figures) + "\n\n" + ratios(figures), flush=True)


if __name__ == "__main__":
    main()
