"""Which event loops the project's async tests run on.

Rules whose hazard needs more than one event loop (LL302, the lazy half of LL301) ask
``project.loop_use``: ``.multiple`` is false only when the project provably runs on one loop;
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
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.model.pytest_model import SCOPES, FixtureDef, TestDef

if TYPE_CHECKING:
    from leaklint.model.fixture_graph import Loop
    from leaklint.model.project import Project


@dataclass(frozen=True)
class LoopUse:
    """How the async tests and their async fixtures spread over loops."""

    scopes: frozenset[str]  # loop scopes in use
    loops: int  # how many distinct loops there are (at least 2 when ``per`` is set)
    # Set when the configuration alone proves several loops: what gets a loop of its own.
    per: str | None = None

    @property
    def multiple(self) -> bool:
        return self.loops > 1

    def describe(self) -> str:
        if self.per is not None:
            return self.per
        scopes = ", ".join(sorted(self.scopes, key=SCOPES.index))
        noun = "scope" if len(self.scopes) == 1 else "scopes"
        return f"the tests run on {self.loops} event loops ({scopes} loop {noun})"


def test_loop_scope(test: TestDef, project: Project) -> str:
    """The effective loop scope of an async test: the nearest asyncio mark's ``loop_scope``,
    else the config default (also when the mark's value cannot be read)."""
    scope = project.fixture_graph.test_loop_scope(test)
    return scope if scope is not None else project.config.default_test_loop_scope


def is_asyncio_test(test: TestDef, project: Project) -> bool:
    """pytest-asyncio runs the test: auto mode, or an asyncio mark (strict mode)."""
    return project.fixture_graph.is_asyncio_test(test)


def project_loop_use(project: Project) -> LoopUse:
    """``config_loop_use`` when the configuration decides, else the fixture graph's count."""
    known = config_loop_use(project)
    return known if known is not None else loop_use_of(project.fixture_graph.loops)


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


def loop_use_of(loops: Collection[Loop]) -> LoopUse:
    """How ``loops`` (every loop of the project) spread."""
    return LoopUse(frozenset(loop.scope for loop in loops), len(loops))


# --------------------------------------------------------------------------- async fixtures


def is_asyncio_fixture(fixture: FixtureDef, project: Project) -> bool:
    """pytest-asyncio runs the fixture: ``@pytest_asyncio.fixture`` on an ``async def``, or (auto
    mode only) an ``async def`` under plain ``@pytest.fixture``."""
    return project.fixture_graph.runs_on_loop(fixture)


def fixture_loop_scope(fixture: FixtureDef, project: Project) -> str | None:
    """The effective loop scope of an async fixture: its ``loop_scope=``, else the config's
    ``asyncio_default_fixture_loop_scope``, else its cache scope. ``None`` when that cannot be
    known statically (a ``loop_scope=`` that is not a literal, a callable scope)."""
    if fixture.kind == "pytest_asyncio" and fixture.has_loop_scope_arg:
        return fixture.loop_scope
    default = project.config.default_fixture_loop_scope
    if default is not None:
        return default
    return None if fixture.scope == "dynamic" else fixture.scope
