from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from leaklint.diagnostics import Applicability, Edit, Fix
from leaklint.model.project import Project
from leaklint.model.pytest_model import FIXTURE_DECORATORS, FixtureDef
from leaklint.model.resources import (
    CLOSING_METHODS,
    CONSTRUCTOR_PAIRS,
    RESOURCES,
    TOKENS,
    AsyncResource,
    opened_resource,
)
from leaklint.python.ast_facts import AstFacts
from leaklint.python.source import SourceFile
from leaklint.rules.async_context import (
    ScopedRule,
    end_of_line,
    indent_of,
    name_uses,
    newline_of,
    statements,
)
from leaklint.rules.base import FixAvailability, register


@dataclass
class _Opened:
    name: str
    call: cst.Call
    resource: AsyncResource
    label: str


@register
class AsyncResourceNotClosed(ScopedRule):
    """
    ## What it does
    Reports a fixture (sync or async) that opens an async connection, pool, client or engine
    (aiosqlite, asyncpg, SQLAlchemy's `create_async_engine`, `redis.asyncio` clients and
    connection pools, `httpx.AsyncClient`, `aiohttp.ClientSession`, `databases.Database`,
    Motor, aiomysql, aiopg, asyncmy, psycopg's `AsyncConnection`, aio-pika connections,
    aiokafka producers and consumers) and neither closes it after its `yield`
    (`await x.close()`, `.aclose()`, `.dispose()`, `.terminate()`, `.disconnect()`,
    `.wait_closed()`, `.ensure_closed()`, `await x.stop()`, or a callback such as
    `addfinalizer(x.close)`) nor opens it with `async with`; and a fixture that `return`s such
    a resource, which nothing can close.
    A resource handed to another object or an exit stack is that owner's to close and is not
    reported; nor is one cached in a module global (LL302, global-async-resource).

    ## Why is this bad?
    The connection outlives the test and its event loop. Its sockets and background tasks leak,
    pytest-asyncio closes the loop under it ("Event loop is closed" at garbage collection,
    `ResourceWarning: unclosed`), and a server that counts connections can make later tests
    wait until the suite times out.

    ## Example
    ```python
    @pytest_asyncio.fixture
    async def client():
        client = httpx.AsyncClient()
        yield client
    ```

    Use instead:
    ```python
    @pytest_asyncio.fixture
    async def client():
        client = httpx.AsyncClient()
        yield client
        await client.aclose()
    ```

    ## Fix safety
    For a plain `yield x` statement in the fixture body the fix adds the closing call on the
    line after it, with the same indentation; it is safe, since the test is over when the
    teardown runs. `return x` at the end of a fixture becomes `yield x` followed by the
    closing call; that fix is unsafe because the fixture turns into a generator and the
    resource is now closed while other fixtures that kept it may still hold it. A sync fixture
    whose resource needs `await` to close, and every other shape, get a suggestion.
    """

    code = "LL303"
    name = "async-resource-not-closed"
    fix_availability = FixAvailability.SOMETIMES
    tokens = TOKENS

    @classmethod
    def candidate(cls, facts: AstFacts, path: Path, project: Project) -> bool:
        # Every finding is at a call to one of the resource constructors in a fixture: a
        # function under a fixture decorator, or under a name bound to a call of one.
        return facts.calls_any(RESOURCES) and (
            facts.decorated_by_any(FIXTURE_DECORATORS) or facts.calls_any(FIXTURE_DECORATORS)
        )

    @classmethod
    def required_words(cls, project: Project) -> tuple[tuple[bytes, ...], ...]:
        # ... whose module and name the file writes.
        return CONSTRUCTOR_PAIRS

    whole_words = True

    def __init__(self, source: SourceFile, project: Project) -> None:
        super().__init__(source, project)
        self._opened: dict[int, list[_Opened]] = {}  # fixture node -> resources it opened

    def _label(self, call: cst.Call, resource: AsyncResource) -> str:
        return f"`{self.imports.qualified_name(call.func) or resource.constructor}()`"

    # ---- what the fixture does ------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._assigned(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assigned(node.target, node.value)

    def _assigned(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        frame = self.fixture_frame
        if frame is None:
            return
        found = opened_resource(self.imports, value)
        if found is None or not isinstance(target, cst.Name) or target.value in frame.globals:
            return
        call, resource = found
        self._opened.setdefault(id(frame.node), []).append(
            _Opened(target.value, call, resource, self._label(call, resource))
        )

    def visit_Return(self, node: cst.Return) -> None:
        frame = self.fixture_frame
        found = (
            opened_resource(self.imports, node.value) if frame and node.value is not None else None
        )
        if frame is None or found is None or frame.fixture is None:
            return
        call, resource = found
        self.report(
            call,
            f"fixture `{frame.fixture.name}` returns the {resource.kind} from "
            f"{self._label(call, resource)}, so nothing can close it",
            help=f"bind it with `async with` and `yield` it, or yield it and "
            f"`{resource.close_statement('x')}` after the `yield`",
        )

    def visit_Yield(self, node: cst.Yield) -> None:
        frame = self.fixture_frame
        value = node.value if isinstance(node.value, cst.BaseExpression) else None
        found = opened_resource(self.imports, value) if frame and value is not None else None
        if frame is None or found is None or frame.fixture is None:
            return
        call, resource = found
        self.report(
            call,
            f"fixture `{frame.fixture.name}` yields the {resource.kind} from "
            f"{self._label(call, resource)} and never closes it",
            help=f"open it with `async with {self._label(call, resource).strip('`')} as x:` "
            "and yield `x` inside the block",
        )

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        frame = self.frames[-1]
        opened = self._opened.pop(id(node), [])
        if frame.fixture is not None:
            for item in opened:
                self._conclude(frame.fixture, item)
        super().leave_FunctionDef_body(node)

    # ---- conclusions -----------------------------------------------------------------------

    def _conclude(self, fixture: FixtureDef, item: _Opened) -> None:
        uses = name_uses(
            fixture.node.body, item.name, closing=CLOSING_METHODS, imports=self.imports
        )
        if uses.closed or uses.escapes:
            return
        what = f"the {item.resource.kind} from {item.label} in `{item.name}`"
        closing = item.resource.close_statement(item.name)
        if uses.returned:
            self.report(
                item.call,
                f"fixture `{fixture.name}` returns {what}, so nothing can close it",
                fix=self._return_fix(fixture, item, uses.returned[0], closing),
                help=f"yield it and `{closing}` after the `yield`",
            )
        elif uses.yielded:
            self.report(
                item.call,
                f"fixture `{fixture.name}` yields {what} and never closes it",
                fix=self._teardown_fix(fixture, item, uses.yielded[0], closing),
                help=f"`{closing}` after the `yield`",
            )
        else:
            self.report(
                item.call,
                f"fixture `{fixture.name}` opens {what} and never closes it",
                help=f"`{closing}` when done, or open it with `async with`",
            )

    def _can_close(self, fixture: FixtureDef, item: _Opened) -> bool:
        return fixture.is_async or not item.resource.awaited

    def _top_statement(
        self, fixture: FixtureDef, small: cst.CSTNode
    ) -> tuple[cst.SimpleStatementLine, bool] | None:
        """The body-level statement that is just ``small``, and whether it is the last one."""
        body = statements(fixture.node.body)
        for index, stmt in enumerate(body):
            if (
                isinstance(stmt, cst.SimpleStatementLine)
                and len(stmt.body) == 1
                and _holds(stmt.body[0], small)
            ):
                return stmt, index == len(body) - 1
        return None

    def _teardown_fix(
        self, fixture: FixtureDef, item: _Opened, node: cst.Yield, closing: str
    ) -> Fix | None:
        found = self._top_statement(fixture, node)
        if found is None or not self._can_close(fixture, item):
            return None
        stmt, _ = found
        start, end = self.source.range_of(stmt.body[0])
        indent = indent_of(self.source, start.row)
        newline = newline_of(self.source)
        edit = self.insert_edit(end_of_line(self.source, end.row), f"{newline}{indent}{closing}")
        return Fix(Applicability.SAFE, f"`{closing}` after the `yield`", (edit,))

    def _return_fix(
        self, fixture: FixtureDef, item: _Opened, node: cst.Return, closing: str
    ) -> Fix | None:
        found = self._top_statement(fixture, node)
        if found is None or not found[1] or fixture.is_generator:
            return None
        if not self._can_close(fixture, item):
            return None
        start, end = self.source.range_of(node)
        indent = indent_of(self.source, start.row)
        newline = newline_of(self.source)
        edit = Edit(self.source.path, start, end, f"yield {item.name}{newline}{indent}{closing}")
        return Fix(Applicability.UNSAFE, f"yield `{item.name}`, then `{closing}`", (edit,))


def _holds(small: cst.BaseSmallStatement, node: cst.CSTNode) -> bool:
    if small is node:
        return True
    return isinstance(small, cst.Expr) and small.value is node
