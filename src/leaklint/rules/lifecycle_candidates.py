"""The candidate stage's question for the lifecycle rules (LL401-LL404): can this file make a
thread, a process, an executor or a ``Popen``, by what CPython's ``ast`` says of it?

The lifecycle walk tracks a constructor call when its qualified name is a known class, a
``get_context()`` context's ``Pool``/``Process``, a subclass or fresh helper defined in the
file (whose body or bases name a known class), or a ``Thread``/``Process`` subclass of another
project module (looked up the same way, so the findings cache follows that module). Anything
else makes nothing this file's rules can report.

``LifecycleRule`` is the base of those rules: each names the ``kinds`` it reports, and its
candidate check follows from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from leaklint.model.classes import project_classes
from leaklint.model.project import Project
from leaklint.model.tracked import (
    EXECUTOR_CLASSES,
    GET_CONTEXT,
    POPEN_CLASSES,
    PROCESS_CLASSES,
    THREAD_CLASSES,
    Kind,
)
from leaklint.python.ast_facts import AstFacts
from leaklint.rules.base import FileRule

_KNOWN = {
    Kind.THREAD: THREAD_CLASSES,
    Kind.PROCESS: PROCESS_CLASSES | GET_CONTEXT,
    Kind.EXECUTOR: EXECUTOR_CLASSES | GET_CONTEXT,
    Kind.POPEN: POPEN_CLASSES,
}
# Subclasses found in other project modules are of these kinds only.
_SUBCLASSED = {Kind.THREAD: THREAD_CLASSES, Kind.PROCESS: PROCESS_CLASSES}


def may_make(facts: AstFacts, path: Path, project: Project, kinds: Iterable[Kind]) -> bool:
    kinds = tuple(kinds)
    for kind in kinds:
        if facts.calls_any(_KNOWN[kind]):
            return True
        if kind in _SUBCLASSED and facts.bases.intersection(_SUBCLASSED[kind]):
            return True
    if not any(kind in _SUBCLASSED for kind in kinds):
        return False
    classes = project_classes(project)
    return any(
        (found := classes.lookup(name, path)) is not None and found.kind in kinds
        for name in sorted(facts.calls | facts.bases)
    )


class LifecycleRule(FileRule):
    """A rule about the threads, processes, executors or ``Popen`` objects a file makes."""

    kinds: ClassVar[tuple[Kind, ...]]

    @classmethod
    def candidate(cls, facts: AstFacts, path: Path, project: Project) -> bool:
        return may_make(facts, path, project, cls.kinds)
