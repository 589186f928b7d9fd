from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import libcst as cst

from leaklint.model.loops import loop_use
from leaklint.model.project import Project
from leaklint.model.resources import (
    CONSTRUCTOR_PAIRS,
    RESOURCES,
    TOKENS,
    AsyncResource,
    opened_resource,
    opening_class_words,
    writes_a_constructor,
)
from leaklint.python.ast_facts import AstFacts
from leaklint.python.source import SourceFile, dotted_name
from leaklint.rules.async_context import (
    CACHE_DECORATORS,
    ScopedRule,
    called_class,
    init_methods,
    may_name_project_class,
)
from leaklint.rules.base import FixAvailability, register

_HELP = (
    "create it in an async fixture that closes it after `yield`, on the loop the tests use "
    "(`loop_scope=`)"
)


@register
class GlobalAsyncResource(ScopedRule):
    """
    ## What it does
    Reports an async connection, pool, client or engine (aiosqlite, asyncpg, SQLAlchemy's
    `create_async_engine`, `redis.asyncio` clients and connection pools, `httpx.AsyncClient`,
    `aiohttp.ClientSession`, `databases.Database`, Motor, aiomysql, aiopg, asyncmy, psycopg's
    `AsyncConnection`, aio-pika connections, aiokafka producers and consumers) kept for the
    whole process: made at module level, as a class attribute, cached in a module global
    (`global conn; conn = await connect(...)`), returned by an `lru_cache`/`cache` function,
    or opened by the `__init__` (or `__post_init__`) of a project class instantiated at module
    level or as a class attribute (`API = Api()`). It reports only when the project's tests
    can run on more than one event loop, and the message says which loops. The configuration
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

    @classmethod
    def candidate(cls, facts: AstFacts, path: Path, project: Project) -> bool:
        # A resource kept for the whole process: opened at import time; or opened in a
        # function where it may be cached (a ``global`` name, an ``lru_cache`` function) or
        # in the ``__init__`` of a class of this file that is instantiated at import time; or
        # an instance made at import time of a class from another project module (its
        # ``__init__`` may open one).
        if not facts.import_time_imported_calls.isdisjoint(RESOURCES):
            return True
        if facts.calls_any(RESOURCES) and (
            facts.declares_global
            or facts.decorated_by_any(CACHE_DECORATORS)
            or not facts.import_time_calls.isdisjoint(facts.module_classes)
        ):
            return True
        return may_name_project_class(
            project,
            path,
            facts.import_time_imported_calls,
            holds=lambda raw, _class: writes_a_constructor(raw),
        )

    @classmethod
    def required_words(cls, project: Project) -> Iterator[tuple[bytes, ...]]:
        # A constructor's module and name, or a project class whose ``__init__`` may call one
        # with its module's name (``built_classes``). Lazily: the classes are found once per
        # project, and only for a file without a constructor.
        yield from CONSTRUCTOR_PAIRS
        yield from opening_class_words(project)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._assigned([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assigned([node.target], node.value)

    def _assigned(self, targets: list[cst.BaseExpression], value: cst.BaseExpression) -> None:
        found = opened_resource(self.imports, value)
        if found is None:
            if self.at_import_time and isinstance(value, cst.Call):
                self._instance(targets, value)
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

    def _instance(self, targets: list[cst.BaseExpression], call: cst.Call) -> None:
        """``API = Api()`` at import time, where ``Api.__init__`` opens a resource: it is
        kept for the whole process too."""
        if not isinstance(call.func, (cst.Name, cst.Attribute)):
            return
        found = called_class(call, self.source, self.project)
        if found is None:
            return
        owner, cls, _ = found
        for method in init_methods(cls):
            opened = _OpenedIn(owner)
            method.body.visit(opened)
            if opened.found is not None:
                inner, resource = opened.found
                where = "a class attribute" if self.frames[-1].kind == "class" else "module-level"
                try:
                    path = owner.path.relative_to(self.project.root).as_posix()
                except ValueError:
                    path = owner.path.as_posix()
                line = owner.range_of(inner)[0].row
                self._report(
                    call,
                    resource,
                    f"{where} `{_names(targets)}` (its `{cls.name.value}.{method.name.value}` "
                    f"opens it, {path}:{line})",
                    label=owner.imports.qualified_name(inner.func),
                )
                return

    def visit_Return(self, node: cst.Return) -> None:
        function = self.function
        if node.value is None or function is None or not function.cached:
            return
        found = opened_resource(self.imports, node.value)
        if found is not None and isinstance(function.node, cst.FunctionDef):
            call, resource = found
            self._report(call, resource, f"cached function `{function.node.name.value}()`")

    def _report(
        self, call: cst.Call, resource: AsyncResource, where: str, label: str | None = None
    ) -> None:
        loops = loop_use(self.project)
        if not loops.multiple:
            return
        qualified = label or self.imports.qualified_name(call.func) or resource.constructor
        self.report(
            call,
            f"{resource.kind} from `{qualified}()` kept in {where} is shared by every test, "
            f"but {loops.describe()}; it stays bound to the loop that first uses it",
            help=_HELP,
        )


def _names(targets: list[cst.BaseExpression]) -> str:
    return ", ".join(dotted_name(t) or "..." for t in targets)


class _OpenedIn(cst.CSTVisitor):
    """The first resource a method's own body opens (nested functions excluded)."""

    def __init__(self, owner: SourceFile) -> None:
        self.owner = owner
        self.found: tuple[cst.Call, AsyncResource] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        if self.found is None:
            self.found = opened_resource(self.owner.imports, node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False
