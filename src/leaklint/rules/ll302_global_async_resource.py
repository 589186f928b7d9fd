from __future__ import annotations

import libcst as cst

from leaklint.async_context import ScopedRule
from leaklint.resources import TOKENS, AsyncResource, opened_resource
from leaklint.rule import FixAvailability, register
from leaklint.source import dotted_name

_HELP = (
    "create it in an async fixture that closes it after `yield`, on the loop the tests use "
    "(`loop_scope=`)"
)


@register
class GlobalAsyncResource(ScopedRule):
    """
    ## What it does
    Reports an async connection, pool, client or engine (aiosqlite, asyncpg, SQLAlchemy's
    `create_async_engine`, `redis.asyncio`, `httpx.AsyncClient`, `aiohttp.ClientSession`,
    `databases.Database`, Motor) kept for the whole process: made at module level, as a class
    attribute, cached in a module global (`global conn; conn = await connect(...)`), or
    returned by an `lru_cache`/`cache` function. It reports only when the project's tests can
    run on more than one event loop, and the message says which loops. The configuration
    decides first: with pytest-asyncio's default test loop scope narrower than `session`, each
    test (class, module) gets its own loop however many async tests are visible, and so does
    each test under anyio's pytest plugin or `unittest.IsolatedAsyncioTestCase`. Only a
    project whose async tests and async fixtures all run on one loop (the config's session
    default, or marks on every async test module) is left alone.

    ## Why is this bad?
    Such a resource keeps connections that belong to the loop that opened them. The next test,
    on its own loop, gets the cached object and fails with "attached to a different loop",
    "Event loop is closed", or hangs waiting on a connection whose loop is gone. The failure
    depends on test order, which makes it hard to trace.

    ## Example
    ```python
    engine = create_async_engine(DATABASE_URL)
    ```

    Use instead:
    ```python
    @pytest_asyncio.fixture
    async def engine():
        engine = create_async_engine(DATABASE_URL)
        yield engine
        await engine.dispose()
    ```

    ## Fix safety
    No automatic fix: the application decides where its resources live. The suggestion is to
    make the resource in an async fixture with teardown, on the loop the tests use.
    """

    code = "LL302"
    name = "global-async-resource"
    fix_availability = FixAvailability.SUGGESTION
    tokens = TOKENS
    whole_words = True

    def visit_Assign(self, node: cst.Assign) -> None:
        self._assigned([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assigned([node.target], node.value)

    def _assigned(self, targets: list[cst.BaseExpression], value: cst.BaseExpression) -> None:
        found = opened_resource(self.imports, value)
        if found is None:
            return
        call, resource = found
        if self.at_import_time:
            where = "a class attribute" if self.frames[-1].kind == "class" else "module-level"
            self._report(call, resource, f"{where} `{_names(targets)}`")
            return
        function = self.function
        if function is None:
            return
        cached = [t for t in targets if isinstance(t, cst.Name) and t.value in function.globals]
        if cached:
            self._report(call, resource, f"module global `{cached[0].value}`")

    def visit_Return(self, node: cst.Return) -> None:
        function = self.function
        if node.value is None or function is None or not function.cached:
            return
        found = opened_resource(self.imports, node.value)
        if found is not None and isinstance(function.node, cst.FunctionDef):
            call, resource = found
            self._report(call, resource, f"cached function `{function.node.name.value}()`")

    def _report(self, call: cst.Call, resource: AsyncResource, where: str) -> None:
        loops = self.project.loop_use
        if not loops.multiple:
            return
        qualified = self.imports.qualified_name(call.func) or resource.constructor
        self.report(
            call,
            f"{resource.kind} from `{qualified}()` kept in {where} is shared by every test, "
            f"but {loops.describe()}; it stays bound to the loop that first uses it",
            help=_HELP,
        )


def _names(targets: list[cst.BaseExpression]) -> str:
    return ", ".join(dotted_name(t) or "..." for t in targets)
