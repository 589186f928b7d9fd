from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from leaklint.model.loops import is_asyncio_fixture
from leaklint.model.pytest_model import FixtureDef, Mark, literal
from leaklint.python.source import SourceFile
from leaklint.rules.base import FileRule, FixAvailability, register

if TYPE_CHECKING:
    from leaklint.model.project import Project

EVENT_LOOP = "event_loop"
USEFIXTURES = frozenset({"pytest.mark.usefixtures"})
ASYNC_HELP = "call `asyncio.get_running_loop()` inside the async test or fixture instead"
SYNC_HELP = (
    "make it async and call `asyncio.get_running_loop()`, or run coroutines with "
    "`asyncio.run()` / `asyncio.Runner` in the test"
)


@register
class EventLoopFixtureRequest(FileRule):
    """
    ## What it does
    Reports a test or fixture that requests the `event_loop` fixture: as a parameter, with
    `@pytest.mark.usefixtures("event_loop")` (on a function, a class or in `pytestmark`), or
    with `request.getfixturevalue("event_loop")`.

    A parameter that `pytest.mark.parametrize` supplies is not a fixture request and is left
    alone. Only reported when the pytest-asyncio range the project declares allows 1.0 or
    later (with no declared range, the current release is assumed).

    ## Why is this bad?
    pytest-asyncio 1.0 removed the `event_loop` fixture. Without a fixture of that name in the
    project, the request fails with "fixture 'event_loop' not found". With one (an old
    override that is now an ordinary fixture), an async test or fixture that asks for it gets
    a loop of that fixture's making, not the loop pytest-asyncio runs it on: futures and
    tasks created on it fail with "attached to a different loop" or never complete.

    A sync test or fixture that requests a project-defined `event_loop` just uses an ordinary
    fixture and is not reported; neither is a request for a project-defined `event_loop`
    that is itself an async pytest-asyncio fixture (it runs on the pytest-asyncio loop).

    ## Example
    ```python
    async def test_call_soon(event_loop):
        event_loop.call_soon(callback)
    ```

    Use instead:
    ```python
    async def test_call_soon():
        asyncio.get_running_loop().call_soon(callback)
    ```

    ## Fix safety
    No automatic fix: the loop is used in ways a rewrite cannot follow. The finding suggests
    `asyncio.get_running_loop()`.
    """

    code = "LL205"
    name = "event-loop-fixture-request"
    needs_pytest_asyncio = True
    fix_availability = FixAvailability.SUGGESTION
    tokens = (b"event_loop",)
    test_files_only = True

    def __init__(self, source: SourceFile, project: Project) -> None:
        super().__init__(source, project)
        # Innermost function first: is it ``async def``?
        self._async_stack: list[bool] = []
        self._defined: tuple[FixtureDef | None] | None = None

    # ---- requests in calls: usefixtures marks, request.getfixturevalue ------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._async_stack.append(node.asynchronous is not None)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._async_stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "getfixturevalue":
            argument = _first_positional(node)
            if argument is not None and literal(argument.value) == EVENT_LOOP:
                in_async = bool(self._async_stack) and self._async_stack[-1]
                self._request(argument, "`request.getfixturevalue`", in_async=in_async)
            return
        if self.imports.matches(node.func, USEFIXTURES) is None:
            return
        # On a function's decorator the innermost function is the decorated one; on a class or
        # in ``pytestmark`` the marked tests are unknown here, so count them as async.
        in_async = self._async_stack[-1] if self._async_stack else True
        for arg in node.args:
            if arg.keyword is None and arg.star == "" and literal(arg.value) == EVENT_LOOP:
                self._request(arg, "`usefixtures`", in_async=in_async)

    # ---- requests as parameters ------------------------------------------------------

    def finish(self) -> None:
        model = self.project.file_model(self.source.path)
        if model is None:
            return
        for test in model.tests:
            if EVENT_LOOP in test.params and EVENT_LOOP not in _parametrized(test.marks):
                self._param(test.node, f"test `{test.name}`", in_async=test.is_async)
        for fixture in model.fixtures:
            if EVENT_LOOP in fixture.params and fixture.name != EVENT_LOOP:
                self._param(fixture.node, f"fixture `{fixture.name}`", in_async=fixture.is_async)

    def _param(self, func: cst.FunctionDef, who: str, *, in_async: bool) -> None:
        params = func.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.name.value == EVENT_LOOP and param.default is None:
                self._request(param.name, who, in_async=in_async)
                return

    def _request(self, node: cst.CSTNode, who: str, *, in_async: bool) -> None:
        if not self.project.uses_pytest_asyncio:
            return
        if not self.project.pytest_asyncio_range.allows_at_least("1.0"):
            return  # the fixture is still there before 1.0
        defined = self._project_event_loop()
        if defined is None:
            message = (
                f"{who} requests `event_loop`, which pytest-asyncio 1.0 removed; "
                "it fails with 'fixture not found'"
            )
        elif not in_async or is_asyncio_fixture(defined, self.project):
            return
        else:
            message = (
                f"{who} requests `event_loop`, the project's own fixture ({self._where(defined)}), "
                "not the loop pytest-asyncio runs it on"
            )
        self.report(node, message, help=ASYNC_HELP if in_async else SYNC_HELP)

    def _where(self, fixture: FixtureDef) -> str:
        where = self.project.relative(fixture.path).as_posix()
        source = self.project.source(fixture.path)
        if isinstance(source, SourceFile) and source.module is not None:
            where += f":{source.range_of(fixture.node.name)[0].row}"
        return where

    def _project_event_loop(self) -> FixtureDef | None:
        """The ``event_loop`` fixture this file sees: its own, or a conftest's above it."""
        if self._defined is None:
            self._defined = (_visible_fixture(self, EVENT_LOOP),)
        return self._defined[0]


def _visible_fixture(rule: FileRule, name: str) -> FixtureDef | None:
    project = rule.project
    path = rule.source.path
    candidates: list[Path] = [path]
    candidates += sorted(
        (c for c in project.conftests if c != path and _is_relative(path.parent, c.parent)),
        key=lambda c: -len(c.parts),
    )
    for candidate in candidates:
        model = project.file_model(candidate)
        if model is None:
            continue
        for fixture in model.fixtures:
            if fixture.name == name:
                return fixture
    return None


def _is_relative(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
    except ValueError:
        return False
    return True


def _first_positional(call: cst.Call) -> cst.Arg | None:
    first = call.args[0] if call.args else None
    if first is None or first.keyword is not None or first.star != "":
        return None
    return first


def _parametrized(marks: tuple[Mark, ...]) -> set[str]:
    """Argument names that ``pytest.mark.parametrize`` supplies."""
    names: set[str] = set()
    for mark in marks:
        if mark.name != "parametrize" or mark.call is None:
            continue
        argnames = next(
            (
                a.value
                for a in mark.call.args
                if (a.keyword is None and a.star == "")
                or (a.keyword is not None and a.keyword.value == "argnames")
            ),
            None,
        )
        if argnames is None:
            continue
        value = literal(argnames)
        if isinstance(value, str):
            names.update(n.strip() for n in value.split(","))
        elif isinstance(argnames, (cst.List, cst.Tuple)):
            for element in argnames.elements:
                item = literal(element.value)
                if isinstance(item, str):
                    names.add(item.strip())
    return names
