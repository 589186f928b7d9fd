"""What the runtime plugin costs a test run: 1,000 trivial tests and 200 async tests, each run as
a whole pytest process with the plugin absent, installed but off, and on; and with
pytest-threadleak on instead, when it is installed (it is not a dependency of leaklint).

    python benchmarks/runtime_overhead.py [--runs 9] [--keep DIR]

Runs are interleaved (absent, off, on, threadleak, absent, ...) so that a slow spell on a
shared machine lands on every variant alike. Each figure is the CPU time (user + system) of the
whole pytest process, start-up included, which other work on a busy machine disturbs far less
than wall time; and the wall time beside it. Min, median and max over the runs, and the
overhead of each variant over the "absent" one, by the minimum (the run least disturbed by
other work) and by the median. No figure here is asserted by the
test suite.

A second table runs the same variants one after another inside one Python process
(``pytest.main``), after one warm-up run each: CPU time of the session alone, without the
interpreter's and pytest's start-up, which is what the plugin adds per test.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SYNC_MODULES, SYNC_TESTS = 20, 50  # 1,000 trivial tests
ASYNC_MODULES, ASYNC_TESTS = 4, 50  # 200 async tests


def build(root: Path) -> dict[str, Path]:
    suites = {"1,000 trivial tests": root / "sync", "200 async tests": root / "async"}
    for folder in suites.values():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pytest.ini").write_text(
            "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        )
    for m in range(SYNC_MODULES):
        body = "".join(
            f"def test_{n}():\n    assert {n} + 1 == {n + 1}\n\n\n" for n in range(SYNC_TESTS)
        )
        (suites["1,000 trivial tests"] / f"test_sync_{m}.py").write_text(body)
    for m in range(ASYNC_MODULES):
        body = "import asyncio\n\n\n" + "".join(
            textwrap.dedent(f"""
                async def test_{n}():
                    await asyncio.sleep(0)
                    assert await asyncio.gather(asyncio.sleep(0, {n})) == [{n}]
                """)
            for n in range(ASYNC_TESTS)
        )
        (suites["200 async tests"] / f"test_async_{m}.py").write_text(body)
    return suites


def variants() -> dict[str, list[str]]:
    found = {
        "absent": ["-p", "no:leaklint.runtime.plugin", "-p", "no:threadleak"],
        "off": ["-p", "no:threadleak"],
        "on": ["-p", "no:threadleak", "--leaklint"],
    }
    if importlib.util.find_spec("pytest_threadleak") is not None:
        found["threadleak"] = ["-p", "no:leaklint.runtime.plugin", "-o", "threadleak=true"]
    return found


def run_once(folder: Path, args: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one pytest run."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    start = time.perf_counter()
    child = subprocess.Popen(
        [*command, *args], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # reaped here, with its resource usage
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"pytest failed in {folder} with {args}:\n{output.decode()}")
    return usage.ru_utime + usage.ru_stime, wall


IN_PROCESS = """
import contextlib, io, json, sys, time
import pytest

variants = json.loads(sys.argv[1])
runs = int(sys.argv[2])
base = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-W", "ignore"]
times = {name: [] for name in variants}
for round in range(runs + 1):
    for name, args in variants.items():
        start = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            code = pytest.main(base + args)
        if code != 0:
            raise SystemExit(f"pytest failed with {args}")
        if round:
            times[name].append(time.process_time() - start)
print(json.dumps(times))
"""


def in_process(folder: Path, named: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, json.dumps(named), str(runs)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"in-process runs failed in {folder}:\n{done.stdout}{done.stderr}")
    times: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def spread(values: list[float]) -> str:
    return f"{min(values):6.3f} {statistics.median(values):6.3f} {max(values):6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", type=Path, help="build the suites here and keep them")
    options = parser.parse_args()
    # Installed packages come byte-compiled; this machine may set PYTHONDONTWRITEBYTECODE,
    # which would charge every run for compiling the plugin's modules.
    import leaklint

    compileall.compile_dir(Path(leaklint.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as scratch:
        root = options.keep or Path(scratch)
        suites = build(root)
        named = variants()
        print(f"Python {sys.version.split()[0]}, {options.runs} runs each, seconds")
        for suite, folder in suites.items():
            cpus: dict[str, list[float]] = {name: [] for name in named}
            walls: dict[str, list[float]] = {name: [] for name in named}
            for args in named.values():  # warm the file cache and the byte code
                run_once(folder, args)
            for _ in range(options.runs):
                for name, args in named.items():
                    cpu, wall = run_once(folder, args)
                    cpus[name].append(cpu)
                    walls[name].append(wall)
            print(f"\n{suite}")
            header = f"{'cpu min    med    max':<22} {'wall min   med    max':<22}"
            print(f"{'variant':<11} {header} overhead on cpu (min, median)")
            for name in named:
                low = min(cpus[name]) / min(cpus["absent"]) - 1
                mid = statistics.median(cpus[name]) / statistics.median(cpus["absent"]) - 1
                print(
                    f"{name:<11} {spread(cpus[name])}  {spread(walls[name])}  "
                    f"{low:+6.1%} {mid:+6.1%}"
                )
            inside = in_process(folder, named, options.runs)
            print(f"{'in one process':<11} {'cpu min    med    max':<22} overhead (min, median)")
            for name, values in inside.items():
                low = min(values) / min(inside["absent"]) - 1
                mid = statistics.median(values) / statistics.median(inside["absent"]) - 1
                print(f"{name:<11} {spread(values)}  {low:+6.1%} {mid:+6.1%}")


if __name__ == "__main__":
    main()
