"""Which event loops the project's async tests run on.

Rules whose hazard needs more than one event loop (LL302, the lazy half of LL301, LL202) ask
``project_loops(project)``: ``None`` when every async test shares one loop, else a description of
the loops for the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leaklint.pytest_model import FixtureDef, TestDef

if TYPE_CHECKING:
    from leaklint.project import Project


@dataclass(frozen=True)
class LoopUse:
    """How the async tests spread over loops."""

    scopes: frozenset[str]  # effective loop scopes of the async tests
    loops: int  # how many distinct loops they run on (at least)

    @property
    def multiple(self) -> bool:
        return self.loops > 1

    def describe(self) -> str:
        scopes = ", ".join(sorted(self.scopes))
        return f"the tests run on {self.loops} event loops ({scopes} loop scope)"


def test_loop_scope(test: TestDef, project: Project) -> str:
    """The effective loop scope of an async test: nearest asyncio mark, else the config default."""
    mark = test.mark("asyncio")
    if mark is not None and mark.loop_scope is not None:
        return mark.loop_scope
    return project.config.default_test_loop_scope


def is_asyncio_test(test: TestDef, project: Project) -> bool:
    """pytest-asyncio runs the test: auto mode, or an asyncio mark (strict mode)."""
    if not test.is_async:
        return False
    return project.config.asyncio_mode == "auto" or test.mark("asyncio") is not None


def loop_key(test: TestDef, scope: str) -> tuple[object, ...]:
    """Tests with the same key share a loop."""
    path: Path = test.path
    if scope == "session":
        return ("session",)
    if scope == "package":
        return ("package", path.parent)
    if scope == "module":
        return ("module", path)
    if scope == "class":
        return ("class", path, test.class_names)
    return ("function", path, test.qualified)


def project_loop_use(project: Project) -> LoopUse:
    scopes: set[str] = set()
    keys: set[tuple[object, ...]] = set()
    for path in project.python_files:
        if not project.is_test_file(path):
            continue
        raw = project.read(path)
        if isinstance(raw, OSError) or b"async" not in raw:
            continue
        model = project.file_model(path)
        if model is None:
            continue
        for test in model.tests:
            if not is_asyncio_test(test, project):
                continue
            scope = test_loop_scope(test, project)
            scopes.add(scope)
            keys.add(loop_key(test, scope))
    return LoopUse(frozenset(scopes), len(keys))


# --------------------------------------------------------------------------- async fixtures


def is_asyncio_fixture(fixture: FixtureDef, project: Project) -> bool:
    """pytest-asyncio runs the fixture: ``@pytest_asyncio.fixture`` on an ``async def``, or (auto
    mode only) an ``async def`` under plain ``@pytest.fixture``."""
    if not fixture.is_async:
        return False
    return fixture.kind == "pytest_asyncio" or project.config.asyncio_mode == "auto"


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
