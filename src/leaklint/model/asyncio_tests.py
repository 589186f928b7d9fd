"""Which test modules can hold a test that pytest-asyncio runs, read with CPython's ``ast``.

Counting the event loops of a project (``FixtureGraph.loops``) resolves every async test of
every test module, and libcst parses each module for it. Most modules that mention ``async``
hold no such test: pytest-asyncio runs a test only when it is an ``async def`` and, outside
auto mode, carries an ``asyncio`` mark (its own, its class's, over the class's MRO, or its
module's). Both can come from the module or from the classes its test classes derive from, in
other project modules (``model.inheritance``).

``may_hold_asyncio_test`` answers from ``ast`` facts (``python.ast_facts``), an
over-approximation of what the fixture graph reads: the module and every project module that a
base class of a class in them may name, followed through re-exports, all taken whole. Only
when none of those files has an ``async def``, or (outside auto mode) none may write an
``asyncio`` mark, is the module left out, and the graph would find no such test in it. A file
``ast`` cannot read keeps the module in. Every file read goes through the project, so the
caller's record of what it read (``Project.tracked``) includes them.
"""

from __future__ import annotations

from pathlib import Path

from leaklint.model.modules import module_file
from leaklint.model.project import Project
from leaklint.python.ast_facts import AstFacts, ast_facts

_ASYNCIO_MARK = "asyncio"


def may_hold_asyncio_test(project: Project, path: Path, *, auto: bool) -> bool:
    """Whether the test module ``path`` may hold a test pytest-asyncio runs (``auto``: the
    project's asyncio mode is ``auto``, where no mark is needed). Each file is read through
    the project, which notes it; its facts are kept for the next module that derives from it
    and for the candidate stage."""
    async_def = False
    marked = auto
    seen: set[Path] = set()
    followed: set[tuple[Path, str]] = set()
    todo: list[tuple[Path, str | None]] = [(path, None)]
    while todo:
        here, name = todo.pop()
        facts = _facts(project, here)
        if facts is None:
            return True
        if here not in seen:
            seen.add(here)
            async_def = async_def or facts.async_defs
            marked = marked or _ASYNCIO_MARK in facts.marks
            if async_def and marked:
                return True
            todo.extend(_named_classes(project, here, facts.bases))
        if name is not None and name in facts.imports and (here, name) not in followed:
            # A re-export: the class is defined where this module imports it from.
            followed.add((here, name))
            todo.extend(_named_classes(project, here, facts.imports[name]))
    return False


def _facts(project: Project, path: Path) -> AstFacts | None:
    raw = project.read(path)
    return None if isinstance(raw, OSError) else ast_facts(raw, keep=True)


def _named_classes(project: Project, here: Path, names: set[str]) -> list[tuple[Path, str]]:
    """The project modules (and the class names in them) that the qualified ``names`` of a
    base class or an import in ``here`` may stand for."""
    found: list[tuple[Path, str]] = []
    for qualified in names:
        module, _, name = qualified.rpartition(".")
        if not module:
            continue
        target = module_file(project, module, here)
        if target is not None:
            found.append((target, name))
    return found
