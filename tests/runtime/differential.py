"""The loop map checked against pytest-asyncio itself.

Every example project under ``fixtures/graph`` and ``fixtures/loops``, and every project of
``projects.py``, is copied to a scratch folder and run once with real pytest + pytest-asyncio
(one process per project, two at a time) under the recording plugin ``record_loops.py``. The
record is compared with ``leaklint fixtures --output-format json`` and ``leaklint check --select
LL201,LL202 --output-format json`` on the same copies:

- every async test pytest-asyncio ran is in the map, on a known loop (or one the map calls
  unknown), and two tests or fixtures share a loop at run time exactly when the map gives them
  the same loop key;
- every (test, async fixture) pair has the verdict the run shows: ``same`` or ``different``;
- LL201 fires exactly at the fixtures whose setup raised a loop ``ScopeMismatch``;
- LL202 fires exactly at the tests and async fixtures that ran on another loop than an async
  fixture they use (directly or through sync fixtures) that handed over more than plain data.

Run alone, ``python tests/runtime/differential.py [NAME-PART]`` prints the counts and every
difference (of the projects whose name holds NAME-PART).
``LEAKLINT_PYTHON`` names another interpreter to run pytest with (e.g. a virtualenv with the
previous minor line of pytest-asyncio).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
EXAMPLES = [REPOSITORY / "fixtures" / "graph", REPOSITORY / "fixtures" / "loops"]

sys.path.insert(0, str(HERE))

from projects import PROJECTS  # noqa: E402

# Differences that are known and explained, in one place: (project, kind, subject) -> why,
# and the minor lines of pytest-asyncio where they happen.
BOTH = ("1.4", "1.5")
EXCEPTIONS: dict[tuple[str, str, str], tuple[str, tuple[str, ...]]] = {
    (
        "graph__conftest_levels",
        "pair",
        "tests/api/v1/test_orders.py::test_by_computed_name > tests/conftest.py::engine",
    ): (
        "`request.getfixturevalue(name)` with a computed name: no reading of the source can "
        "know which fixture it sets up",
        BOTH,
    ),
    ("graph__conftest_levels", "LL202", "tests/api/v1/test_orders.py::test_by_value"): (
        "`getfixturevalue` of an async fixture from inside a running async test fails before "
        "any loop is chosen (`Runner.run() cannot be called from a running event loop`): the "
        "run gives nothing to compare; the test fails either way",
        BOTH,
    ),
    ("graph__plain_data_fixture", "LL202", "test_plain.py::test_lease"): (
        "the fixture yields a string inside an open `async with` on its loop: LL202 counts the "
        "open context, which a run does not show (the value is plain, nothing is scheduled)",
        BOTH,
    ),
    ("loops__ll203_mark_scope", "run", "test_decorators.py"): (
        "the example gives one asyncio mark both `scope=` and `loop_scope=` (LL203's subject): "
        "pytest-asyncio refuses the module at collection, so none of its tests run",
        BOTH,
    ),
    ("loops__ll201_sync_declared_before_1_1", "LL201", "test_app.py::settings"): (
        "the project declares pytest-asyncio <1.1, where a sync `def` under "
        "`@pytest_asyncio.fixture` runs as a plain fixture (1.0.0 passes it, 1.1.0 raises "
        "ScopeMismatch): the run here uses a newer line than the project allows",
        BOTH,
    ),
    ("runtime__fixture_scope_default", "run", "pytest"): (
        '`asyncio_default_fixture_loop_scope = "fixture-scope"` exists from 1.5 on: 1.4 stops '
        "with a usage error (LL104 reports it when the declared range allows 1.4)",
        ("1.4",),
    ),
}


def expected_exceptions(line: str) -> set[tuple[str, str, str]]:
    """The listed differences that happen on the minor line ``line`` (``1.5``)."""
    return {key for key, (_, lines) in EXCEPTIONS.items() if line in lines}


@dataclass(frozen=True)
class Difference:
    project: str
    kind: str  # test | loop | pair | LL201 | LL202 | run
    subject: str
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.project, self.kind, self.subject)

    def __str__(self) -> str:
        return f"{self.project}: {self.kind} {self.subject}: {self.detail}"


@dataclass
class Tally:
    projects: int = 0
    tests: int = 0
    tests_agree: int = 0
    tests_unknown: int = 0
    pairs: int = 0
    pairs_agree: int = 0
    pairs_unknown: int = 0
    ll201: int = 0  # fixtures LL201 or the run names
    ll201_agree: int = 0
    ll202: int = 0  # tests and fixtures LL202 or the run names
    ll202_agree: int = 0
    unreached: int = 0  # LL201/LL202 findings on what no test reached at run time
    rules_unknown: int = 0  # silent where the map cannot read a loop scope
    differences: list[Difference] = field(default_factory=list)
    versions: str = ""  # "pytest 9.2.0, pytest-asyncio 1.5.0"
    line: str = ""  # pytest-asyncio's minor line: "1.5"

    @property
    def unexplained(self) -> list[Difference]:
        listed = expected_exceptions(self.line)
        return [d for d in self.differences if d.key not in listed]

    @property
    def explained(self) -> list[Difference]:
        listed = expected_exceptions(self.line)
        return [d for d in self.differences if d.key in listed]

    def summary(self) -> str:
        return (
            f"{self.versions}: {self.projects} projects; "
            f"async tests {self.tests_agree}/{self.tests} agree "
            f"({self.tests_unknown} unknown loop); (test, async fixture) pairs "
            f"{self.pairs_agree}/{self.pairs} agree ({self.pairs_unknown} unknown); "
            f"LL201 {self.ll201_agree}/{self.ll201} fixtures agree; LL202 "
            f"{self.ll202_agree}/{self.ll202} tests and fixtures agree ({self.unreached} "
            f"findings on code no test reached, {self.rules_unknown} silent on an unknown "
            "loop); "
            f"{len(self.explained)} listed exceptions, {len(self.unexplained)} unexplained"
        )


# --------------------------------------------------------------------------- running


def copy_projects(scratch: Path, only: str = "") -> dict[str, Path]:
    """Every project under ``scratch``: ``graph__one_loop``, ``runtime__mark_order``, ...
    (only those whose name holds ``only``)."""
    found: dict[str, Path] = {}
    for family in EXAMPLES:
        for case in sorted(p for p in family.iterdir() if p.is_dir()):
            name = f"{family.name}__{case.name}"
            if only not in name:
                continue
            shutil.copytree(case, scratch / name, ignore=shutil.ignore_patterns("*.fixed"))
            found[name] = scratch / name
    for name, files in PROJECTS.items():
        if only not in f"runtime__{name}":
            continue
        root = scratch / f"runtime__{name}"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        found[f"runtime__{name}"] = root
    return found


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LEAKLINT_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_pytest(root: Path, python: str) -> dict[str, Any] | str:
    """The record of one run, or the output of a run that wrote none."""
    record = root.parent / f"{root.name}.record.json"
    env = _environment()
    env["LEAKLINT_LOOP_RECORD"] = str(record)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [python, "-m", "pytest", "-p", "record_loops", "-p", "no:cacheprovider", "-q"]
    command += ["-p", "no:randomly", "-p", "no:xdist", "-W", "ignore"]
    try:
        run = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return "timed out"
    if not record.is_file():
        return run.stdout + run.stderr
    data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    return data


def run_leaklint(scratch: Path, *args: str) -> Any:
    command = [sys.executable, "-m", "leaklint", *args, "."]
    env = _environment()
    run = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, check=False)
    if run.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout)


def differential(python: str | None = None, jobs: int = 2, only: str = "") -> Tally:
    python = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="leaklint-loops-") as folder:
        scratch = Path(folder).resolve()
        roots = copy_projects(scratch, only)
        with ThreadPoolExecutor(max_workers=jobs + 1) as pool:
            fixtures = pool.submit(run_leaklint, scratch, "fixtures", "--output-format", "json")
            check = pool.submit(
                run_leaklint,
                scratch,
                "check",
                "--select",
                "LL201,LL202",
                "--output-format",
                "json",
                "--no-cache",
                "--exit-zero",
            )
            records = dict(
                zip(roots, pool.map(lambda r: run_pytest(r, python), roots.values()), strict=True)
            )
            maps = {Path(p["root"]).resolve(): p for p in fixtures.result()["projects"]}
            diagnostics: dict[Path, list[dict[str, Any]]] = defaultdict(list)
            for diagnostic in check.result():
                path = (scratch / diagnostic["filename"]).resolve()
                owner = next((r for r in roots.values() if path.is_relative_to(r)), None)
                if owner is not None:
                    diagnostics[owner].append(diagnostic)
        tally = Tally()
        tally.versions, tally.line = _versions(python)
        for name, root in roots.items():
            tally.projects += 1
            record = records[name]
            if isinstance(record, str):
                tally.differences.append(Difference(name, "run", "pytest", record[-2000:]))
                continue
            project_map = maps.get(root)
            tests = [] if project_map is None else project_map["tests"]
            Comparison(name, root, scratch, record, tests, diagnostics[root], tally).run()
        return tally


def _versions(python: str) -> tuple[str, str]:
    code = "import pytest, pytest_asyncio as a; print(pytest.__version__, a.__version__)"
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    pytest_version, asyncio_version = run.stdout.split()
    line = ".".join(asyncio_version.split(".")[:2])
    return f"pytest {pytest_version}, pytest-asyncio {asyncio_version}", line


# --------------------------------------------------------------------------- comparing


def _base(node_id: str) -> str:
    return node_id.split("[", 1)[0]


def _params(node_id: str) -> str:
    return node_id[len(_base(node_id)) :]


class Comparison:
    def __init__(
        self,
        name: str,
        root: Path,
        scratch: Path,
        record: dict[str, Any],
        tests: list[dict[str, Any]],
        diagnostics: list[dict[str, Any]],
        tally: Tally,
    ) -> None:
        self.name, self.root, self.scratch = name, root, scratch
        self.record, self.tally = record, tally
        self.map = {t["node_id"]: t for t in tests}
        self.diagnostics = diagnostics
        self.failed_setup = {_base(e["node_id"]) for e in record["errors"]}
        self.ran = [t for t in record["tests"] if t["async"]]

    def differ(self, kind: str, subject: str, detail: str) -> None:
        self.tally.differences.append(Difference(self.name, kind, subject, detail))

    def run(self) -> None:
        for error in self.record["errors"]:
            if "::" not in error["node_id"]:  # a module that pytest could not collect
                self.differ("run", error["node_id"], error["text"][-500:])
        self.tests()
        self.loops()
        self.pairs()
        self.ll201()
        self.ll202()

    def _fixture_key(self, entry: dict[str, Any]) -> str:
        path = (self.scratch / entry["path"]).resolve()
        relative = path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else ""
        return f"{relative}::{entry['function']}"

    # ---- tests and loops ---------------------------------------------------------------

    def tests(self) -> None:
        for test in self.ran:
            node_id = _base(test["node_id"])
            entry = self.map.get(node_id)
            self.tally.tests += 1
            if entry is None:
                self.differ("test", node_id, "pytest ran it; it is not in the map")
                continue
            status = entry["loop"]["status"]
            if test["loop"] is None:
                if node_id in self.failed_setup:
                    self.tally.tests -= 1  # never reached its loop: nothing to compare
                elif status == "not-asyncio":
                    self.tally.tests_agree += 1
                elif status == "unknown":
                    self.tally.tests_unknown += 1
                else:
                    self.differ("test", node_id, f"not run on a loop; the map says {status}")
            elif status == "known":
                self.tally.tests_agree += 1
            elif status == "unknown":
                self.tally.tests_unknown += 1
            else:
                self.differ("test", node_id, f"ran on a loop; the map says {status}")

    def _key(self, key: str, node_id: str) -> str:
        """A map loop key for one collected item: function loops are per parameter set."""
        return key + _params(node_id) if key.startswith("function:") else key

    def loops(self) -> None:
        by_key: dict[str, set[int]] = defaultdict(set)
        by_loop: dict[int, set[str]] = defaultdict(set)
        seen: dict[tuple[str, int], str] = {}
        for test in self.ran:
            entry = self.map.get(_base(test["node_id"]))
            if entry is None or test["loop"] is None or entry["loop"]["status"] != "known":
                continue
            observations = [(self._key(entry["loop"]["key"], test["node_id"]), test["loop"])]
            keyed = {self._fixture_key(f): f for f in entry["fixtures"]}
            for fixture in test["fixtures"]:
                mapped = keyed.get(fixture["key"])
                if fixture["loop"] is not None and mapped is not None and mapped["loop_key"]:
                    key = self._key(mapped["loop_key"], test["node_id"])
                    observations.append((key, fixture["loop"]))
            for key, loop in observations:
                by_key[key].add(loop)
                by_loop[loop].add(key)
                seen.setdefault((key, loop), test["node_id"])
        for key, loops in sorted(by_key.items()):
            if len(loops) > 1:
                where = sorted(seen[(key, loop)] for loop in loops)
                self.differ("loop", key, f"one loop in the map, {len(loops)} at run time: {where}")
        for keys in by_loop.values():
            if len(keys) > 1:
                self.differ("loop", " = ".join(sorted(keys)), "one loop at run time")

    def pairs(self) -> None:
        for test in self.ran:
            node_id = _base(test["node_id"])
            entry = self.map.get(node_id)
            if entry is None or test["loop"] is None:
                continue
            keyed = {self._fixture_key(f): f for f in entry["fixtures"]}
            for fixture in test["fixtures"]:
                mapped = keyed.get(fixture["key"])
                subject = f"{node_id} > {fixture['key']}"
                if fixture["loop"] is None:
                    if mapped is not None and mapped["loop"] in ("same", "different"):
                        self.tally.pairs += 1
                        self.differ("pair", subject, "ran on no loop; the map gives it one")
                    continue
                self.tally.pairs += 1
                actual = "same" if fixture["loop"] == test["loop"] else "different"
                if mapped is None:
                    self.differ("pair", subject, f"{actual} loop at run time; not in the map")
                elif mapped["loop"] == "unknown":
                    self.tally.pairs_unknown += 1
                elif mapped["loop"] == actual:
                    self.tally.pairs_agree += 1
                else:
                    self.differ(
                        "pair", subject, f"{actual} loop at run time, map: {mapped['loop']}"
                    )

    # ---- rules -------------------------------------------------------------------------

    def _sites(self, code: str) -> list[tuple[str, int, str]]:
        found = []
        for diagnostic in self.diagnostics:
            if diagnostic["code"] == code:
                path = (self.scratch / diagnostic["filename"]).resolve()
                relative = path.relative_to(self.root).as_posix()
                found.append((relative, diagnostic["location"]["row"], diagnostic["message"]))
        return found

    def _fixture_at(self, path: str, line: int) -> str | None:
        best: tuple[int, str] | None = None
        for key, where in self.record["fixtures"].items():
            first, last = where["lines"]
            inside = where["path"] == path and first <= line <= last
            if inside and (best is None or last - first < best[0]):
                best = (last - first, key)
        return None if best is None else best[1]

    def _compare(
        self,
        code: str,
        flagged: set[str],
        actual: set[str],
        reached: set[str],
        unknown: set[str],
    ) -> None:
        """``unknown``: what the map gives a loop it cannot read (the rule stays silent)."""
        for subject in sorted(flagged | actual):
            if subject not in reached and subject not in actual:
                self.tally.unreached += 1  # reported, but no test got that far at run time
                continue
            if subject in actual and subject not in flagged and subject in unknown:
                self.tally.rules_unknown += 1
                continue
            if code == "LL201":
                self.tally.ll201 += 1
            else:
                self.tally.ll202 += 1
            if subject in flagged and subject in actual:
                if code == "LL201":
                    self.tally.ll201_agree += 1
                else:
                    self.tally.ll202_agree += 1
            elif subject in flagged:
                self.differ(code, subject, "reported; it did not happen at run time")
            else:
                self.differ(code, subject, "happened at run time; not reported")

    def ll201(self) -> None:
        flagged: set[str] = set()
        for path, line, _ in self._sites("LL201"):
            key = self._fixture_at(path, line)
            flagged.add(key or f"{path}:{line}")
        reached = {f["key"] for t in self.record["tests"] for f in t["fixtures"]}
        reached |= set(self.record["mismatches"])
        unknown = {
            self._fixture_key(f)
            for test in self.map.values()
            for f in test["fixtures"]
            if f["scope"] == "dynamic" or (f["loop"] == "unknown" and f["loop_key"] is None)
        }
        self._compare("LL201", flagged, set(self.record["mismatches"]), reached, unknown)

    def ll202(self) -> None:
        actual: set[str] = set()
        reached: set[str] = set()
        for test in self.ran:
            if test["loop"] is None:
                continue
            reached.add(_base(test["node_id"]))
            fixtures = {f["key"]: f for f in test["fixtures"]}
            if self._crosses(test["requests"], test["loop"], fixtures):
                actual.add(_base(test["node_id"]))
            for fixture in fixtures.values():
                if fixture["loop"] is None:
                    continue
                reached.add(fixture["key"])
                if self._crosses(fixture["dependencies"], fixture["loop"], fixtures):
                    actual.add(fixture["key"])
        flagged: set[str] = set()
        for path, line, message in self._sites("LL202"):
            tests = [t for t in self.ran if t["where"] and _contains(t["where"], path, line)]
            fixture = self._fixture_at(path, line)
            if message.startswith("async fixture "):
                flagged.add(fixture or f"{path}:{line}")
            elif not message.startswith("all "):
                named = message.split(" ", 1)[0]
                if "::" in named:  # an inherited method, named with the class that runs it
                    tests = [t for t in tests if _base(t["node_id"]).endswith("::" + named)]
                flagged.update(_base(t["node_id"]) for t in tests)
            else:  # one finding for every async test of the module
                flagged.update(
                    _base(t["node_id"])
                    for t in self.ran
                    if t["node_id"].split("::", 1)[0] == path and t["loop"] is not None
                )
        unknown: set[str] = set()
        for node_id, test in self.map.items():
            loops = [f["loop"] for f in test["fixtures"]]
            if test["loop"]["status"] == "unknown" or "unknown" in loops:
                unknown.add(node_id)
            unknown.update(self._fixture_key(f) for f in test["fixtures"] if f["loop"] == "unknown")
        self._compare("LL202", flagged, actual, reached, unknown)

    def _crosses(self, keys: Iterable[str], loop: int, fixtures: dict[str, Any]) -> bool:
        """Whether a fixture on a loop reached from ``keys`` directly or through fixtures on no
        loop ran on another loop than ``loop`` and handed over more than plain data."""
        queue, seen = list(keys), set()
        while queue:
            key = queue.pop()
            fixture = fixtures.get(key)
            if fixture is None or key in seen:
                continue
            seen.add(key)
            if fixture["loop"] is None:
                queue.extend(fixture["dependencies"])
            elif fixture["loop"] != loop and not fixture["plain"]:
                return True
        return False


def _contains(where: list[Any], path: str, line: int) -> bool:
    return bool(where[0] == path and where[1] <= line <= where[2])


def main() -> int:
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    tally = differential(os.environ.get("LEAKLINT_PYTHON"), only=only)
    for difference in tally.explained:
        print(f"listed: {difference}\n    because {EXCEPTIONS[difference.key][0]}")
    for difference in tally.unexplained:
        print(f"DIFFERENT: {difference}")
    print(tally.summary())
    return 1 if tally.unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
