"""Parse and run file rules in worker processes, for large trees.

Each worker builds its own Project view from what the main process already settled (paths,
pytest config, the file lists, and facts such as ``uses_pytest_asyncio``), and its own fixture
graph from the conftests and plugin modules its test modules see: no libcst tree ever crosses a
process boundary. Workers return ``FileOutcome`` values (diagnostics and internal errors); the
caller puts them back in file order, so the findings and their order are those of a serial run.
Project rules never run here.

A rule that needs the project's loop use (how the async tests spread over event loops) gets it
in the worker when the configuration alone proves several loops (nothing is parsed for that).
Otherwise it does not work it out in a worker, which would parse every async test module again
in each worker:
the file comes back deferred, the pool works out the loop use once (from the loops of the test
modules it already resolved, parsing only the others), and the deferred files are checked again.

If the pool breaks (a worker killed, something unpicklable), the remaining files are checked
in this process: slower, same answer.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from pickle import PicklingError
from typing import TYPE_CHECKING, Any, TypeVar

from leaklint.model.fixture_graph import graph_of
from leaklint.model.loop_scope import LoopUse, loop_use_of
from leaklint.model.project import Project
from leaklint.rules.base import FileRule
from leaklint.run.collection import use_fewer_collections
from leaklint.run.tasks import FileOutcome, FileTask

if TYPE_CHECKING:
    from leaklint.model.loop_scope import Loop

T = TypeVar("T")
LoopUseFacts = tuple[LoopUse, frozenset[Path]]
# ``leaklint.run.engine.check_file``, passed in (the engine imports this module, not the reverse).
CheckFile = Callable[[Project, FileTask, Sequence[type[FileRule]]], FileOutcome]

# Chunks per worker: enough to even out files of very different sizes, few enough to keep
# the per-chunk overhead negligible.
CHUNKS_PER_WORKER = 8
# Cached project facts that are cheap to ship and may be costly to recompute in each worker.
SHIPPED_FACTS = (
    "uses_pytest_asyncio",
    "declares_pytest_asyncio",
    "uses_other_async_plugin",
    "pytest_asyncio_range",
)


@dataclass(frozen=True)
class ProjectState:
    """What a worker needs to rebuild the project view."""

    paths: tuple[Path, ...]
    config: Any  # PytestConfig: plain frozen dataclasses, picklable
    python_files: list[Path]
    cargo_files: list[Path]
    exclude: tuple[str, ...]
    facts: dict[str, object]
    loop_use_facts: Any  # tuple[LoopUse, frozenset[Path]] | None

    @classmethod
    def of(cls, project: Project) -> ProjectState:
        facts = {name: project.__dict__[name] for name in SHIPPED_FACTS if name in project.__dict__}
        return cls(
            project.paths,
            project.config,
            project.python_files,
            project.cargo_files,
            project.exclude,
            facts,
            project.loop_use_facts,
        )

    def build(self) -> Project:
        project = Project(
            paths=self.paths,
            config=self.config,
            python_files=self.python_files,
            cargo_files=self.cargo_files,
            exclude=self.exclude,
        )
        project.__dict__.update(self.facts)  # pre-fills the cached properties
        project.loop_use_facts = self.loop_use_facts
        project.defer_loop_use = self.loop_use_facts is None
        return project


_worker_project: Project | None = None
_worker_rules: Sequence[type[FileRule]] = ()
_worker_check: CheckFile | None = None


def _init_worker(
    state: ProjectState, file_rules: Sequence[type[FileRule]], check_file: CheckFile
) -> None:
    global _worker_project, _worker_rules, _worker_check
    use_fewer_collections()
    _worker_project = state.build()
    _worker_rules = file_rules
    _worker_check = check_file


def _check_chunk(tasks: Sequence[FileTask]) -> list[FileOutcome]:
    assert _worker_project is not None and _worker_check is not None
    return [_worker_check(_worker_project, task, _worker_rules) for task in tasks]


def _check_chunk_knowing(job: tuple[Sequence[FileTask], LoopUseFacts]) -> list[FileOutcome]:
    """``_check_chunk`` once the main process knows the project's loop use."""
    assert _worker_project is not None
    tasks, facts = job
    _worker_project.loop_use_facts = facts
    _worker_project.defer_loop_use = False
    return _check_chunk(tasks)


def _loops_chunk(paths: Sequence[Path]) -> tuple[set[Loop], frozenset[Path]]:
    """The loops of these test modules' async tests, and the files they were read from."""
    project = _worker_project
    assert project is not None
    graph = graph_of(project)
    found: set[Loop] = set()
    reads: set[Path] = set()
    for path in paths:
        loops, read = project.tracked(functools.partial(graph.loops_in, path))
        found |= loops
        reads |= read
        if not project.is_shared(path):
            project.forget(path)
    return found, frozenset(reads)


def _size(project: Project, path: Path) -> int:
    raw = project.read(path)
    return len(raw) if isinstance(raw, bytes) else 0


def _chunks(items: Sequence[T], workers: int) -> list[Sequence[T]]:
    size = max(1, math.ceil(len(items) / (workers * CHUNKS_PER_WORKER)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _loop_use(
    project: Project,
    pool: ProcessPoolExecutor,
    workers: int,
    outcomes: Mapping[Path, FileOutcome],
) -> LoopUseFacts:
    """``loop_use(project)`` and the files it depends on, as ``loop_use(Project)`` computes them
    in one process: from the loops the checked test modules brought back, and the pool
    parsing the other async test modules."""
    graph = graph_of(project)
    paths, listing = project.tracked(lambda: list(graph.async_test_files()))
    found: set[Loop] = set()
    reads = set(listing)
    missing: list[Path] = []
    for path in paths:
        outcome = outcomes.get(path)
        known = None if outcome is None else outcome.loops
        if known is None:
            missing.append(path)
        else:
            found |= known[0]
            reads |= known[1]
    for loops, read in pool.map(_loops_chunk, _chunks(missing, workers)):
        found |= loops
        reads |= read
    return loop_use_of(found), frozenset(reads)


def check_in_workers(
    project: Project,
    file_rules: Sequence[type[FileRule]],
    tasks: Sequence[FileTask],
    workers: int,
    check_file: CheckFile,
) -> dict[Path, FileOutcome]:
    """The outcome of every task, checked by ``workers`` processes.

    A rule that needs the project's loop use (LL301, LL302: a hazard only when the tests run
    on several loops) defers its file in a worker. Once every file is through, the pool works
    out the loop use (each worker reads some of the async test modules), and the deferred
    files are checked again knowing it. ``check_file`` checks one file (the engine's)."""
    if not tasks:
        return {}
    # Largest files first, so that no worker is left with a large one while the others idle
    # (outcomes are put back in file order by the caller).
    chunks = _chunks(sorted(tasks, key=lambda task: -_size(project, task.path)), workers)
    outcomes: dict[Path, FileOutcome] = {}
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            initializer=_init_worker,
            initargs=(ProjectState.of(project), tuple(file_rules), check_file),
        ) as pool:
            for chunk, results in zip(chunks, pool.map(_check_chunk, chunks), strict=True):
                for task, outcome in zip(chunk, results, strict=True):
                    outcomes[task.path] = outcome
            deferred = [task for task in tasks if outcomes[task.path].deferred]
            if deferred:
                facts = project.loop_use_facts or _loop_use(project, pool, workers, outcomes)
                project.loop_use_facts = facts
                again = _chunks(deferred, workers)
                jobs = [(chunk, facts) for chunk in again]
                for chunk, results in zip(again, pool.map(_check_chunk_knowing, jobs), strict=True):
                    for task, outcome in zip(chunk, results, strict=True):
                        outcomes[task.path] = outcome
    except (BrokenProcessPool, PicklingError, AttributeError, TypeError, OSError):
        pass  # finish below, in this process
    for task in tasks:
        if task.path not in outcomes or outcomes[task.path].deferred:
            outcomes[task.path] = check_file(project, task, file_rules)
    return outcomes
