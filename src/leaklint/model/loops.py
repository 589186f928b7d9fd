"""Which event loops the project's async tests run on.

Rules whose hazard needs more than one event loop (LL302, the lazy half of LL301) ask
``loop_use(project)``: ``.multiple`` is false only when the project provably runs on one loop;
``.describe()`` names the loops for a message.

The configuration decides first, without parsing anything (``config_loop_use``): with
pytest-asyncio in use and a default test loop scope of ``function``, ``class`` or ``module``,
each test (class, module) gets its own loop, however many async tests leaklint can see; their
number says nothing, since async tests may live outside the linted paths or be written
tomorrow. anyio's pytest plugin starts a new loop for each test (it keeps one only while a wider
async fixture holds it open), and unittest's ``IsolatedAsyncioTestCase`` gives each test its
own loop. Only when marks could still put every async test on one loop (the default is
``session``, or ``package``, which pytest-asyncio 1.x runs as one loop; or every async test
module of a fully linted project names a ``session`` loop) does the fixture graph count the
loops of the async tests and the async fixtures they use (``leaklint.model.fixture_graph``, built
once per process). LL202 asks the graph about one test module at a time instead.
"""

from __future__ import annotations

import re

from leaklint.model.fixture_graph import graph_of
from leaklint.model.loop_scope import LoopUse, loop_use_of
from leaklint.model.project import LoopUseDeferred, Project
from leaklint.model.pytest_model import FixtureDef, TestDef


def test_loop_scope(test: TestDef, project: Project) -> str:
    """The effective loop scope of an async test: the nearest asyncio mark's ``loop_scope``,
    else the config default (also when the mark's value cannot be read)."""
    scope = graph_of(project).test_loop_scope(test)
    return scope if scope is not None else project.config.default_test_loop_scope


def is_asyncio_test(test: TestDef, project: Project) -> bool:
    """pytest-asyncio runs the test: auto mode, or an asyncio mark (strict mode)."""
    return graph_of(project).is_asyncio_test(test)


def loop_use(project: Project) -> LoopUse:
    """How the project's async tests spread over event loops: ``config_loop_use`` when the
    configuration decides, else the fixture graph's count. Computed once per project; a caller
    depends on the files it was computed from. In a worker process that must not count the
    graph's loops itself (``Project.defer_loop_use``), raises ``LoopUseDeferred``."""
    if project.loop_use_facts is None:
        known, reads = project.tracked(lambda: config_loop_use(project))
        if known is not None:
            project.loop_use_facts = (known, reads)
        elif project.defer_loop_use:  # only counting the graph's loops waits for the pool
            raise LoopUseDeferred(str(project.root))
        else:
            project.loop_use_facts = project.tracked(lambda: loop_use_of(graph_of(project).loops))
        return project.loop_use_facts[0]
    use, reads = project.loop_use_facts
    project.note_reads(reads)
    return use


# What gets its own loop under each default test loop scope narrower than the package loop.
_OWN_LOOP = {"function": "each test", "class": "each test class", "module": "each test module"}
_ANYIO_PLUGIN = re.compile(rb"^[^#\n]*(?:\bmark\.anyio\b|\banyio_backend\b)", re.MULTILINE)
_IN_UNITTEST = re.compile(rb"\bIsolatedAsyncioTestCase\b")
_ASYNC_DEF = re.compile(rb"^[ \t]*async[ \t]+def[ \t]", re.MULTILINE)


def config_loop_use(project: Project) -> LoopUse | None:
    """Several loops, when the configuration (and, for plugins leaklint does not model, a
    byte search) proves it without parsing a file; ``None`` when the fixture graph must
    count them."""
    if project.uses_pytest_asyncio:
        scope = project.config.default_test_loop_scope
        per = _OWN_LOOP.get(scope)
        if per is not None and not _marks_may_share_a_loop(project):
            return LoopUse(
                frozenset({scope}), 2, f"{per} gets its own event loop ({scope} loop scope)"
            )
    if _uses_anyio_plugin(project):
        return LoopUse(
            frozenset({"function"}),
            2,
            "anyio's pytest plugin gives each test its own event loop unless a wider async "
            "fixture keeps one running",
        )
    if _unittest_async_cases(project):
        return LoopUse(
            frozenset({"function"}),
            2,
            "each `IsolatedAsyncioTestCase` test gets its own event loop",
        )
    return None


def _marks_may_share_a_loop(project: Project) -> bool:
    """Whether marks may still put every async test on the session loop: the linted paths
    hold the whole project (no test module unseen), it has async test modules, and each of
    them names a ``session`` scope somewhere (the graph reads the marks)."""
    root = project.root
    if not any(path == root or path in root.parents for path in project.paths):
        return False
    found = False
    for path in project.python_files:
        if not project.is_test_file(path):
            continue
        raw = project.read(path)
        if not isinstance(raw, bytes) or not _ASYNC_DEF.search(raw):
            continue
        if b"session" not in raw:
            return False
        found = True
    return found


def _uses_anyio_plugin(project: Project) -> bool:
    if "anyio" in project.config.addopts.disabled_plugins:
        return False
    return _pytest_files_match(project, _ANYIO_PLUGIN)


def _unittest_async_cases(project: Project) -> bool:
    return _pytest_files_match(project, _IN_UNITTEST)


def _pytest_files_match(project: Project, pattern: re.Pattern[bytes]) -> bool:
    for path in project.python_files:
        if project.is_pytest_file(path):
            raw = project.read(path)
            if isinstance(raw, bytes) and pattern.search(raw):
                return True
    return False


# --------------------------------------------------------------------------- async fixtures


def is_asyncio_fixture(fixture: FixtureDef, project: Project) -> bool:
    """pytest-asyncio runs the fixture: ``@pytest_asyncio.fixture`` on an ``async def``, or (auto
    mode only) an ``async def`` under plain ``@pytest.fixture``."""
    return graph_of(project).runs_on_loop(fixture)
