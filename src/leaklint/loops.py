"""Which event loops the project's async tests run on.

Rules whose hazard needs more than one event loop (LL302, the lazy half of LL301) ask
``project.loop_use``: ``.multiple`` is false when every async test, and every async fixture they
use, shares one loop; ``.describe()`` names the loops for a message. The answers come from the
fixture graph (``leaklint.fixture_graph``), built once per process. LL202 asks the graph
about one test module at a time instead.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.pytest_model import SCOPES, FixtureDef, TestDef

if TYPE_CHECKING:
    from leaklint.fixture_graph import Loop
    from leaklint.project import Project


@dataclass(frozen=True)
class LoopUse:
    """How the async tests and their async fixtures spread over loops."""

    scopes: frozenset[str]  # loop scopes in use
    loops: int  # how many distinct loops there are

    @property
    def multiple(self) -> bool:
        return self.loops > 1

    def describe(self) -> str:
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
    return loop_use_of(project.fixture_graph.loops)


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
