"""Parse and run file rules in worker processes, for large trees.

Each worker builds its own Project view from what the main process already settled (paths,
pytest config, the file lists, and facts such as ``uses_pytest_asyncio``), and its own fixture
graph from the conftests and plugin modules its test modules see: no libcst tree ever crosses a
process boundary. Workers return ``FileOutcome`` values (diagnostics and internal errors); the
caller puts them back in file order, so the findings and their order are those of a serial run.
Project rules never run here.

If the pool breaks (a worker killed, something unpicklable), the remaining files are checked
in this process: slower, same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from pickle import PicklingError
from typing import TYPE_CHECKING, Any

from leaklint.project import Project
from leaklint.rule import FileRule

if TYPE_CHECKING:
    from leaklint.engine import FileOutcome, FileTask

# Chunks per worker: enough to even out files of very different sizes, few enough to keep
# the per-chunk overhead negligible.
CHUNKS_PER_WORKER = 8
# Cached project facts that are cheap to ship and may be costly to recompute in each worker.
SHIPPED_FACTS = ("uses_pytest_asyncio", "declares_pytest_asyncio", "uses_other_async_plugin")


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
        return project


_worker_project: Project | None = None
_worker_rules: Sequence[type[FileRule]] = ()


def _init_worker(state: ProjectState, file_rules: Sequence[type[FileRule]]) -> None:
    global _worker_project, _worker_rules
    _worker_project = state.build()
    _worker_rules = file_rules


def _check_chunk(tasks: Sequence[FileTask]) -> list[FileOutcome]:
    from leaklint.engine import check_file

    assert _worker_project is not None
    return [check_file(_worker_project, task, _worker_rules) for task in tasks]


def check_in_workers(
    project: Project,
    file_rules: Sequence[type[FileRule]],
    tasks: Sequence[FileTask],
    workers: int,
) -> dict[Path, FileOutcome]:
    """The outcome of every task, checked by ``workers`` processes."""
    from leaklint.engine import check_file

    if not tasks:
        return {}
    size = max(1, math.ceil(len(tasks) / (workers * CHUNKS_PER_WORKER)))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    outcomes: dict[Path, FileOutcome] = {}
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            initializer=_init_worker,
            initargs=(ProjectState.of(project), tuple(file_rules)),
        ) as pool:
            for chunk, results in zip(chunks, pool.map(_check_chunk, chunks), strict=True):
                for task, outcome in zip(chunk, results, strict=True):
                    outcomes[task.path] = outcome
    except (BrokenProcessPool, PicklingError, AttributeError, TypeError, OSError):
        pass  # finish below, in this process
    for task in tasks:
        if task.path not in outcomes:
            outcomes[task.path] = check_file(project, task, file_rules)
    return outcomes
