"""An event loop as pytest-asyncio scopes it, below the project and its fixture graph.

``Loop`` is one loop: a loop scope and the node that owns it (a test, class, module, or the
session). ``LoopUse`` says how a project's async tests spread over loops (``leaklint.model.loops``
decides it). ``fixture_loop_scope`` reads an async fixture's effective loop scope from the
fixture and the config alone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from leaklint.config.pytest_config import PytestConfig
from leaklint.model.pytest_model import SCOPES, FixtureDef, TestDef


@dataclass(frozen=True)
class Loop:
    """One event loop: a loop scope and the node it belongs to (a test, class, module, ...)."""

    scope: str
    node: tuple[object, ...]

    def __str__(self) -> str:
        return f"the {self.scope} loop"


def loop_of(test: TestDef, scope: str) -> Loop:
    """The loop of ``scope`` that ``test`` (or a fixture it requests) runs on."""
    if scope == "function":
        return Loop(scope, (test.path, test.qualified))
    if scope == "class":
        # A class-scoped runner requested outside a class is cached on the module.
        return Loop(scope, (test.path, test.class_names))
    if scope == "module":
        return Loop(scope, (test.path,))
    return Loop(scope, ())  # package (one per session, see the module docstring) and session


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


def loop_use_of(loops: Collection[Loop]) -> LoopUse:
    """How ``loops`` (every loop of the project) spread."""
    return LoopUse(frozenset(loop.scope for loop in loops), len(loops))


def fixture_loop_scope(fixture: FixtureDef, config: PytestConfig) -> str | None:
    """The effective loop scope of an async fixture: its ``loop_scope=``, else the config's
    ``asyncio_default_fixture_loop_scope``, else its cache scope. ``None`` when that cannot be
    known statically (a ``loop_scope=`` that is not a literal, a callable scope)."""
    if fixture.kind == "pytest_asyncio" and fixture.has_loop_scope_arg:
        return fixture.loop_scope
    default = config.default_fixture_loop_scope
    if default is not None:
        return default
    return None if fixture.scope == "dynamic" else fixture.scope
