"""LL304: an event loop created and never closed, or made implicitly where none can run.

Over 500 lines: one rule, which must tell apart every way a loop is created, set, closed or
handed back (in tests, fixtures, helpers, classes and scripts) to stay silent on correct code;
the visitors at the end serve only it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import libcst as cst

from leaklint.diagnostics import Applicability, Fix
from leaklint.model.built_classes import built_class_names, built_class_words
from leaklint.model.fixture_graph import Lookup, graph_of
from leaklint.model.loop_scope import fixture_loop_scope
from leaklint.model.project import Project
from leaklint.model.pytest_model import FIXTURE_WORDS, SCOPES, FixtureDef, scope_rank
from leaklint.model.tracked import OS_EXIT
from leaklint.python.ast_facts import IMPORT_TIME, IN_ASYNC, IN_HANDLER, AstFacts, CallSite
from leaklint.python.source import ImportMap, SourceFile, dotted_name
from leaklint.rules.async_context import (
    GET_EVENT_LOOP,
    GET_POLICY,
    GET_RUNNING_LOOP,
    NEW_EVENT_LOOP,
    SET_EVENT_LOOP,
    USES_LOOP,
    NameUses,
    ScopedRule,
    built_class,
    called_function,
    code_of,
    create_future_receiver,
    is_call_to,
    is_new_event_loop,
    name_uses,
    statements,
)
from leaklint.rules.base import FixAvailability, register
from leaklint.rules.loop_candidates import (
    builders_of,
    may_build_a_loop_class,
    sync_fixtures,
)

_CLOSE = frozenset({"close"})
_CLOSE_HELP = (
    "close it when done (`loop.close()` in a `finally:` block or after the fixture's "
    "`yield`), or use `asyncio.run()`"
)
_GET_HELP = (
    "use `asyncio.run()`, or create the loop with `asyncio.new_event_loop()` and close it; "
    "in a fixture, make it an async fixture and use `asyncio.get_running_loop()`"
)


@register
class ImplicitOrUnclosedLoop(ScopedRule):
    """
    ## What it does
    Reports `asyncio.new_event_loop()` (or `uvloop.new_event_loop()`) whose loop is never
    closed in its function (directly, in a `finally:` block, after a fixture's `yield`, or by a
    registered callback such as `addfinalizer(loop.close)`), including a fixture that returns
    or yields a new loop without closing it (pytest closes nothing), and
    `asyncio.set_event_loop(asyncio.new_event_loop())` unless the class (`tearDown`...), the
    function or the fixture's teardown closes the current loop
    (`asyncio.get_event_loop().close()`) or returns it to the caller. Reports
    `asyncio.get_event_loop()` where no loop can be running: at import time (a class
    instantiated then whose `__init__` calls it included), in a script's
    `if __name__ == "__main__":` block, in an `except RuntimeError:` after
    `asyncio.get_running_loop()` failed, and in the sync code of test modules and conftest
    files (sync tests, fixtures and helpers, and the sync `__init__` or `__post_init__` of a
    class that a sync fixture builds).

    Sync application code is left alone: a running loop may be calling it. So are methods of
    test cases whose framework makes a loop current (unittest's `IsolatedAsyncioTestCase`,
    tornado's `AsyncTestCase` and `AsyncHTTPTestCase`, also through base classes), bodies run
    on a loop (`@gen_test`, `@gen.coroutine`), test modules under a plugin whose autouse
    fixture makes a loop current (aiomisc, named in `pytest_plugins`; sync fixtures wider than
    `function` are set up before it), and
    `try: loop = asyncio.get_event_loop() except RuntimeError: ... else: loop.close()`, which
    closes a loop left behind. So are a helper that an async function in the same file calls,
    a lambda, a call inside `pytest.raises(...)` or `self.assertRaises(...)` (the test expects
    the error), a function that sets its own current loop with `asyncio.set_event_loop(loop)`,
    the block of a context manager that makes a loop current on entry (`asyncio.Runner()`
    without a `loop_factory`, aiohttp's `loop_context()`, or a project function that calls
    `asyncio.set_event_loop(loop)` before its `yield`, itself or through a helper), a sync
    fixture under `@pytest_asyncio.fixture` (pytest-asyncio 1.x runs it with its runner's loop
    current), and a sync test or fixture that uses (directly, through other fixtures or
    autouse ones) a fixture that leaves a loop current on a function loop or on the narrowest
    loop scope in use: an async fixture or a sync `@pytest_asyncio.fixture` (pytest-asyncio's
    runner has made its loop the current one), or a fixture that calls
    `asyncio.set_event_loop(loop)` before its `yield` (its cache scope counts). A requested
    fixture that no project file defines and that neither pytest nor pytest-mock provides (a
    plugin's `loop`, a `db` from a conftest outside the linted tree) may make a loop current
    too, so such a test is left alone. A class whose `__init__`
    calls `get_event_loop()` only as a fallback (`loop or asyncio.get_event_loop()`,
    `if loop is None: ...`) is left alone where the fixture passes that argument.

    A loop that is returned, stored or handed to another call is someone else's to close and
    is not reported (`asyncio.run_coroutine_threadsafe(coro, loop)` and
    `loop.call_soon_threadsafe(...)` only use it). Neither is a loop made in a function that
    ends the process with `os._exit()` (a forked child): nothing outlives it.
    `asyncio.get_event_loop().create_future()` is reported once, by LL301
    (loop-bound-object-in-sync-code), which owns the objects made from a loop; this rule owns
    every other `get_event_loop()` call.

    ## Why is this bad?
    An unclosed loop keeps its selector and socket pair open until garbage collection, which
    shows up as `ResourceWarning: unclosed event loop` and leaked file descriptors across a
    test session. `asyncio.get_event_loop()` with no running loop warns on Python 3.12 and
    3.13 and raises on 3.14; where it still works it makes a loop that pytest-asyncio does not
    run the tests on, and nobody closes it.

    ## Example
    ```python
    def test_fetch():
        loop = asyncio.get_event_loop()
        assert loop.run_until_complete(fetch()) == 1
    ```

    Use instead:
    ```python
    def test_fetch():
        assert asyncio.run(fetch()) == 1
    ```

    ## Fix safety
    `asyncio.get_event_loop().run_until_complete(x)` and
    `asyncio.new_event_loop().run_until_complete(x)` become `asyncio.run(x)`. The fix is unsafe:
    `asyncio.run()` makes a fresh loop, closes it, and refuses to run inside a running loop, and
    code that kept using the implicit loop afterwards sees a different one. Other cases get a
    suggestion, since where to close the loop depends on the code.
    """

    code = "LL304"
    name = "implicit-or-unclosed-loop"
    fix_availability = FixAvailability.SOMETIMES
    tokens = (b"get_event_loop", b"new_event_loop")
    indirect_words = FIXTURE_WORDS

    @classmethod
    def project_tokens(cls, project: Project) -> tuple[bytes, ...]:
        # ``THING = Thing()`` at import time in a module that names neither asyncio nor a
        # fixture, where ``Thing.__init__`` (another module's) makes what this rule reports.
        return built_class_names(project, cls.code, _gets_loop, _may_get_loop)

    @classmethod
    def required_words(cls, project: Project) -> Iterator[tuple[bytes, ...]]:
        # The name of what it reports, or of a project class whose ``__init__`` may call
        # ``get_event_loop()`` with its module's (lazily: found once per project).
        yield (b"get_event_loop",)
        yield (b"new_event_loop",)
        yield from built_class_words(project, cls.code, _gets_loop, _may_get_loop)

    @classmethod
    def candidate(cls, facts: AstFacts, path: Path, project: Project) -> bool:
        # Any new loop; ``get_event_loop()`` where this rule reports it (import time, a
        # ``__main__`` block, an ``except`` block, sync code of a test file); a class built at
        # import time or in a sync fixture whose ``__init__`` calls it.
        policy = facts.calls_any(GET_POLICY)
        pytest_file: bool | None = None
        for site in facts.sites:
            if not NEW_EVENT_LOOP.isdisjoint(site.names) or (
                policy and site.attr == "new_event_loop"
            ):
                return True
            if _gets_loop(site):
                if site.where & (IMPORT_TIME | IN_HANDLER):
                    return True
                if not site.where & IN_ASYNC:
                    if pytest_file is None:
                        pytest_file = project.is_pytest_file(path)
                    if pytest_file:
                        return True
        return may_build_a_loop_class(
            facts,
            builders_of(facts, sync_fixtures(facts)),
            _gets_loop,
            _may_get_loop,
            path,
            project,
        )

    def __init__(self, source: SourceFile, project: Project) -> None:
        super().__init__(source, project)
        self._owned_by_ll301: set[int] = set()
        self._run_fixes: dict[int, Fix] = {}  # get_event_loop() call -> fix of its chain
        self._pytest_file = project.is_pytest_file(source.path)
        self._expecting: list[cst.With] = []  # ``with pytest.raises(...)`` blocks we are in
        self._sets_loop: dict[int, bool] = {}  # function node -> calls set_event_loop(loop)
        self._uses: dict[tuple[int, str], NameUses] = {}  # (scope node, name) -> its uses
        self._helpers: list[tuple[cst.Call, str, Fix | None, str]] = []  # decided in finish()
        self._async_refs: set[str] = set()  # names that async functions mention
        # ``except RuntimeError:`` handlers of a ``try`` whose ``get_running_loop()`` failed,
        # as the frame depth they were entered at.
        self._no_loop_handlers: set[int] = set()
        self._handler_depths: list[int] = []
        self._cleanup_calls: set[int] = set()  # ``get_event_loop()`` of a close-if-any block
        self._plugin_loop: bool | None = None
        # ``with loop_context() as loop:`` blocks that make a loop current, with the frame
        # depth they were entered at.
        self._loop_blocks: list[tuple[cst.With, int]] = []
        self._loop_block_found: dict[int, bool] = {}  # with node -> makes a loop current
        self._closes_current: dict[int, bool] = {}  # scope node -> closes the current loop
        self._current_loop_scopes: dict[FixtureDef, str | None] = {}
        self._ends: dict[int, bool] = {}  # function node -> calls os._exit()

    # ---- try blocks around a loop --------------------------------------------------------

    def visit_Try(self, node: cst.Try) -> None:
        handlers = [h for h in node.handlers if _catches_runtime_error(h)]
        if not handlers:
            return
        calls = _OwnCalls()
        node.body.visit(calls)
        if any(self.imports.matches(c.func, GET_RUNNING_LOOP) for c in calls.found):
            self._no_loop_handlers.update(id(h) for h in handlers)
        # ``try: loop = get_event_loop() except RuntimeError: ... else: loop.close()`` (or the
        # close after the ``try``): code that closes whatever loop an earlier test left behind.
        function = self.function
        scope = function.node if function is not None else self.frames[0].node
        for stmt in statements(node.body):
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and is_call_to(small.value, self.imports, GET_EVENT_LOOP)
                ):
                    name = small.targets[0].target.value
                    if name_uses(scope, name, closing=_CLOSE, imports=self.imports).closed:
                        self._cleanup_calls.add(id(small.value))

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if id(node) in self._no_loop_handlers:
            self._handler_depths.append(len(self.frames))

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        if id(original_node) in self._no_loop_handlers:
            self._handler_depths.pop()

    def _after_running_loop_failed(self) -> bool:
        return bool(self._handler_depths) and self._handler_depths[-1] == len(self.frames)

    def _plugin_loop_in_use(self) -> bool:
        """An installed plugin whose autouse fixture makes a loop current for every test of
        this module (aiomisc's ``loop``), named in ``pytest_plugins`` here or in a conftest."""
        if self._plugin_loop is None:
            names = list(self._own_plugins(self.source.path))
            directory = self.source.path.parent
            root = self.project.root
            while True:
                conftest = directory / "conftest.py"
                if conftest.is_file():
                    names.extend(self._own_plugins(conftest))
                if directory == root or directory.parent == directory:
                    break
                if not directory.is_relative_to(root):
                    break
                directory = directory.parent
            self._plugin_loop = any(n.split(".")[0] in _AUTOUSE_LOOP_PLUGINS for n in names)
        return self._plugin_loop

    def _on_plugin_loop(self) -> bool:
        """A sync test, helper or function-scoped fixture of a module under such a plugin: its
        function-scoped autouse loop is set up before them. A wider sync fixture is set up
        before it, with no loop current."""
        if not self._pytest_file or not self._plugin_loop_in_use():
            return False
        fixture = self.sync_fixture
        return fixture is None or fixture.scope == "function"

    def _own_plugins(self, path: Path) -> tuple[str, ...]:
        model = self.project.file_model(path)
        return model.plugins if model is not None else ()

    def visit_With(self, node: cst.With) -> None:
        if any(_expects_failure(item.item, self.imports) for item in node.items):
            self._expecting.append(node)
        if any(isinstance(item.item, cst.Call) for item in node.items):
            self._loop_blocks.append((node, len(self.frames)))

    def leave_With(self, original_node: cst.With) -> None:
        if self._expecting and self._expecting[-1] is original_node:
            self._expecting.pop()
        if self._loop_blocks and self._loop_blocks[-1][0] is original_node:
            self._loop_blocks.pop()

    def _sets_loop_block(self, expr: cst.BaseExpression) -> bool:
        """``asyncio.Runner()`` (without a ``loop_factory``), aiohttp's ``loop_context()``, or
        a project context manager that calls ``asyncio.set_event_loop(loop)`` on entry."""
        if not isinstance(expr, cst.Call):
            return False
        qualified = self.imports.matches(expr.func, _LOOP_BLOCKS | _RUNNERS)
        if qualified in _RUNNERS:
            return all(a.keyword is None or a.keyword.value != "loop_factory" for a in expr.args)
        if qualified is not None:
            return True
        found = called_function(expr, self.source, self.project)
        return found is not None and _sets_loop_on_entry(found[1], found[0], self.project, 1)

    def _in_loop_block(self) -> bool:
        """Inside (not in a function nested in) a ``with`` block that makes a loop current."""
        for node, depth in self._loop_blocks:
            if depth != len(self.frames):
                continue
            key = id(node)
            if key not in self._loop_block_found:
                self._loop_block_found[key] = any(
                    self._sets_loop_block(item.item) for item in node.items
                )
            if self._loop_block_found[key]:
                return True
        return False

    def _explicit_loop(self) -> bool:
        """The enclosing function sets a current loop itself: get_event_loop() returns it."""
        function = self.function
        if function is None:
            return False
        key = id(function.node)
        if key not in self._sets_loop:
            finder = _SetsLoop(self.imports)
            function.node.visit(finder)
            self._sets_loop[key] = finder.found
        return self._sets_loop[key]

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._handed_to_pytest(node.value, "returns")

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression):
            self._handed_to_pytest(node.value, "yields")

    def _handed_to_pytest(self, value: cst.BaseExpression, how: str) -> None:
        """``return asyncio.new_event_loop()`` in a fixture: pytest closes nothing."""
        frame = self.fixture_frame
        if frame is None or frame.fixture is None or not is_new_event_loop(value, self.imports):
            return
        assert isinstance(value, cst.Call)
        self.report(
            value,
            f"fixture `{frame.fixture.name}` {how} the event loop made by `{code_of(value)}`, "
            "and nothing closes it",
            help="bind it to a name, `yield` it, and close it after the `yield`",
        )

    def visit_Call(self, node: cst.Call) -> None:
        receiver = create_future_receiver(node)
        if receiver is not None:
            self._owned_by_ll301.add(id(receiver))
        imports = self.imports
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value != "close":
            inner = func.value
            if is_call_to(inner, imports, GET_EVENT_LOOP):
                fix = self._run_fix(node)
                if fix is not None:
                    self._run_fixes[id(inner)] = fix
            if is_new_event_loop(inner, imports):
                assert isinstance(inner, cst.Call)
                self.report(
                    inner,
                    f"the loop made by `{code_of(inner)}` is used once and never closed",
                    fix=self._run_fix(node),
                    help=_CLOSE_HELP,
                )
                return
        if is_call_to(node, imports, GET_EVENT_LOOP):
            if id(node) not in self._owned_by_ll301:
                self._get_event_loop(node)
            return
        if (
            imports.matches(func, SET_EVENT_LOOP) is not None
            and node.args
            and is_new_event_loop(node.args[0].value, imports)
            and not self._closes_current_loop()
            and not self._ends_process()
        ):
            made = node.args[0].value
            self.report(
                made,
                f"the loop made by `{code_of(made)}` is set as the current loop and never closed",
                help="bind it to a name and close it when done (after "
                "`asyncio.set_event_loop(None)`), or use `asyncio.run()`",
            )
            return
        if self.at_import_time_or_main and isinstance(func, (cst.Name, cst.Attribute)):
            self._built_at_import_time(node)
            return
        fixture = self.sync_fixture
        if fixture is not None and isinstance(func, (cst.Name, cst.Attribute)):
            self._report_built(
                node, f"sync fixture `{fixture.name}` builds `{{name}}`, whose `__init__` calls"
            )

    def _closes_current_loop(self) -> bool:
        """The enclosing class (``tearDown``, ``close``...), else the outermost enclosing
        function (a fixture's teardown), else the module closes whatever loop is current
        (``asyncio.get_event_loop().close()``, or ``loop = asyncio.get_event_loop()`` and
        ``loop.close()``) or returns it to its caller."""
        scope = next((f.node for f in reversed(self.frames) if f.kind == "class"), None)
        if scope is None:
            functions = [f for f in self.frames if f.kind in ("function", "lambda")]
            scope = functions[0].node if functions else self.frames[0].node
        key = id(scope)
        if key not in self._closes_current:
            finder = _ClosesCurrentLoop(self.imports)
            scope.visit(finder)
            self._closes_current[key] = finder.closes()
        return self._closes_current[key]

    def _ends_process(self) -> bool:
        """The enclosing function ends the process with ``os._exit()`` (a forked child, an
        exec emulation): nothing it made outlives it, closed or not."""
        function = self.function
        if function is None or not isinstance(function.node, cst.FunctionDef):
            return False
        key = id(function.node)
        if key not in self._ends:
            calls = _OwnCalls()
            function.node.body.visit(calls)
            self._ends[key] = any(
                self.imports.matches(call.func, OS_EXIT) is not None for call in calls.found
            )
        return self._ends[key]

    def _built_at_import_time(self, node: cst.Call) -> None:
        """``SERVICE = Service()`` at module level: ``Service.__init__`` runs at import time."""
        self._report_built(node, "`{name}()` at import time runs its `__init__`, which calls")

    def _report_built(self, node: cst.Call, opening: str) -> None:
        """``node`` builds a project class whose ``__init__`` calls ``get_event_loop()`` where
        no loop is running; ``opening`` says how, up to "calls" (``{name}``: the class)."""
        built = built_class(node, self.source, self.project)
        if built is None or (built.same_file and self._pytest_file):
            return  # its __init__ is sync code of this test file: reported there
        hits = [h for h in built.hits if h.kind == "get_event_loop"]
        if hits:
            self.report(
                node,
                f"{opening.format(name=built.name)} `asyncio.get_event_loop()`"
                f" ({built.where(hits[0], self.project.root)}) while "
                "no event loop is running: it warns on Python 3.12 and 3.13 and raises on 3.14",
                help=_GET_HELP,
            )

    def _get_event_loop(self, node: cst.Call) -> None:
        if (
            self._expecting
            or id(node) in self._cleanup_calls
            or self._explicit_loop()
            or self._in_loop_block()
        ):
            return
        if self._after_running_loop_failed():
            self.report(
                node,
                "`asyncio.get_event_loop()` in an `except RuntimeError:` after "
                "`asyncio.get_running_loop()` failed runs where no event loop is running, and "
                "hands out an implicit loop (it warns on Python 3.12 and 3.13 and raises on 3.14)",
                help="create a loop with `asyncio.new_event_loop()` and close it, or use "
                "`asyncio.run()`",
            )
            return
        helper: str | None = None  # the name async code would call it by
        if self.at_import_time:
            where = "at import time"
        elif self.at_import_time_or_main:
            where = 'in the `if __name__ == "__main__":` block'
        elif self.in_framework_loop_class or self._on_plugin_loop():
            return  # the framework or plugin has made its loop current
        elif self._pytest_file and self.in_sync_code:
            fixture = self.sync_fixture
            function = self.function
            if fixture is not None:
                if self._runs_on_runner(fixture) or self._on_current_loop(fixture=fixture):
                    return
                where = f"in sync fixture `{fixture.name}`"
            elif function is not None and isinstance(function.node, cst.FunctionDef):
                name = function.node.name.value
                if self.project.collection.is_test_function(name):
                    if self._on_current_loop(test_node=function.node):
                        return
                    where = f"in sync test `{name}`"
                else:
                    where = f"in sync function `{name}`"
                    helper = self._callable_name(function.node)
            else:
                return  # a lambda: a callback that may well run on a loop
        else:
            return
        message = (
            f"`asyncio.get_event_loop()` {where}, where no event loop is running, hands out an "
            "implicit loop (it warns on Python 3.12 and 3.13 and raises on 3.14)"
        )
        fix = self._run_fixes.get(id(node))
        if helper is None:
            self.report(node, message, fix=fix, help=_GET_HELP)
        else:
            self._helpers.append((node, message, fix, helper))

    def _on_current_loop(
        self, *, fixture: FixtureDef | None = None, test_node: cst.FunctionDef | None = None
    ) -> bool:
        """Whether the sync test or fixture uses (directly or through fixtures, autouse ones
        included) an async fixture on the narrowest loop scope in use: pytest-asyncio's runner
        for that loop has made it the current loop, and keeps it current until the test is
        torn down, so ``get_event_loop()`` returns it without a warning."""
        graph = graph_of(self.project)
        if fixture is not None:
            if fixture.class_name is not None:
                return False
            lookup = Lookup(graph.module_layers(fixture.path))
            uses, unknown = graph.closure(lookup, graph.requests(fixture))
        else:
            resolved = next(
                (r for r in graph.tests_in(self.source.path) if r.test.node is test_node), None
            )
            if resolved is None:
                return False
            uses, unknown = resolved.uses, resolved.unknown
        if any(name not in _NO_LOOP_FIXTURES for name in unknown):
            # A plugin's fixture, or one from a conftest outside the linted tree: it may make
            # a loop current (aiohttp's and aiomisc's ``loop``), so no-loop is not known.
            return True
        scopes = {s for s in (self._current_loop_scope(use.fixture) for use in uses) if s}
        if not scopes:
            return False
        in_use = {loop.scope for loop in graph.loops} | scopes
        narrowest = min(in_use, key=scope_rank)
        return "function" in scopes or narrowest in scopes

    def _runs_on_runner(self, fixture: FixtureDef) -> bool:
        """A sync fixture under ``@pytest_asyncio.fixture``: pytest-asyncio 1.x runs it with
        its runner's loop set as the current one."""
        graph = graph_of(self.project)
        return fixture.kind == "pytest_asyncio" and not graph.asyncio_disabled

    def _current_loop_scope(self, fixture: FixtureDef) -> str | None:
        """The scope of the loop that ``fixture`` leaves current for whoever requests it: the
        loop scope of a fixture that pytest-asyncio runs on its runner (an async one, or a sync
        one under ``@pytest_asyncio.fixture``), or the cache scope of a fixture that calls
        ``asyncio.set_event_loop(loop)`` before it yields."""
        if fixture in self._current_loop_scopes:
            return self._current_loop_scopes[fixture]
        graph = graph_of(self.project)
        scope = graph.fixture_loop_scope(fixture)
        if scope is None and not fixture.is_async:
            if self._runs_on_runner(fixture):
                scope = fixture_loop_scope(fixture, self.project.config)
            elif fixture.scope in SCOPES:
                owner = self.project.source(fixture.path)
                if not isinstance(owner, OSError) and _sets_loop_on_entry(
                    fixture.node, owner, self.project, 2
                ):
                    scope = fixture.scope
        if scope not in SCOPES:
            scope = None
        self._current_loop_scopes[fixture] = scope
        return scope

    def _callable_name(self, function: cst.FunctionDef) -> str:
        """``__init__`` runs when its class is called; anything else by its own name."""
        outer = self.frames[-2] if len(self.frames) > 1 else None
        if (
            function.name.value == "__init__"
            and outer is not None
            and isinstance(outer.node, cst.ClassDef)
        ):
            return outer.node.name.value
        return function.name.value

    # ---- helpers called from async code are not reported ---------------------------------

    def visit_Name(self, node: cst.Name) -> None:
        if any(f.is_async for f in self.frames):
            self._async_refs.add(node.value)

    def finish(self) -> None:
        # A sync helper that async code in this file calls may run on the loop, where
        # ``get_event_loop()`` returns the running loop.
        for node, message, fix, helper in self._helpers:
            if helper not in self._async_refs:
                self.report(node, message, fix=fix, help=_GET_HELP)

    def _run_fix(self, outer: cst.Call) -> Fix | None:
        """``<asyncio>.new_event_loop().run_until_complete(x)`` -> ``<asyncio>.run(x)``."""
        func = outer.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value == "run_until_complete"
            and isinstance(func.value, cst.Call)
            and isinstance(func.value.func, cst.Attribute)
            and len(outer.args) == 1
            and outer.args[0].keyword is None
            and not outer.args[0].star
        ):
            return None
        module = func.value.func.value
        if self.imports.qualified_name(module) != "asyncio":
            return None
        new = cst.Call(
            func=cst.Attribute(value=module, attr=cst.Name("run")),
            args=[outer.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)],
        )
        return Fix(
            Applicability.UNSAFE, "run it with `asyncio.run()`", (self.replace_edit(outer, new),)
        )

    # ---- new_event_loop() assigned to a name ----------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._assigned(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assigned(node.target, node.value)

    def _assigned(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not is_new_event_loop(value, self.imports):
            return
        name = dotted_name(target)
        if name is None:
            return
        if isinstance(target, cst.Attribute):
            # ``self.loop = ...``: closed anywhere in the class (``close``/``tearDown``...).
            scope = next((f.node for f in reversed(self.frames) if f.kind == "class"), None)
        else:
            function = self.function
            scope = function.node if function is not None else self.frames[0].node
            if function is not None and name in function.globals:
                scope = self.frames[0].node
        if scope is None:
            return
        key = (id(scope), name)
        if key not in self._uses:
            # A loop passed to anything but asyncio.set_event_loop() and
            # asyncio.run_coroutine_threadsafe() (which use it) may be closed there
            # (``self.set_event_loop(loop)`` of unittest helpers registers its close).
            self._uses[key] = name_uses(
                scope,
                name,
                closing=_CLOSE,
                imports=self.imports,
                harmless_calls=SET_EVENT_LOOP | USES_LOOP,
                statement_calls_use=False,
            )
        uses = self._uses[key]
        if uses.closed or uses.escapes or self._ends_process():
            return
        function = self.function
        fixture = function.fixture if function is not None else None
        if (uses.returned or uses.yielded) and fixture is None:
            return  # the caller owns it now
        assert isinstance(value, cst.Call)
        if fixture is not None and (uses.returned or uses.yielded):
            how = "yields" if uses.yielded else "returns"
            message = (
                f"fixture `{fixture.name}` {how} the event loop in `{name}` and never closes it"
            )
        else:
            message = f"the event loop in `{name}` is never closed"
        self.report(value, message, help=_CLOSE_HELP)


def _gets_loop(site: CallSite) -> bool:
    return not GET_EVENT_LOOP.isdisjoint(site.names)


def _may_get_loop(raw: bytes) -> bool:
    return b"get_event_loop" in raw


# Installed plugins with an autouse fixture that makes a loop current for every test.
_AUTOUSE_LOOP_PLUGINS = frozenset({"aiomisc", "aiomisc_pytest"})
# Fixtures that pytest itself (and pytest-asyncio, and pytest-mock) provides, none of which
# makes a loop current: a test that requests no other fixture the project does not define has
# no loop.
_NO_LOOP_FIXTURES = frozenset(
    {
        "cache",
        "capfd",
        "capfdbinary",
        "caplog",
        "capsys",
        "capsysbinary",
        "capteesys",
        "doctest_namespace",
        "monkeypatch",
        "pytestconfig",
        "pytester",
        "record_property",
        "record_testsuite_property",
        "record_xml_attribute",
        "recwarn",
        "request",
        "subtests",
        "testdir",
        "tmp_path",
        "tmp_path_factory",
        "tmpdir",
        "tmpdir_factory",
        "event_loop_policy",
        "unused_tcp_port",
        "unused_tcp_port_factory",
        "unused_udp_port",
        "unused_udp_port_factory",
        "mocker",
        "class_mocker",
        "module_mocker",
        "package_mocker",
        "session_mocker",
    }
)
# Context managers that make a loop current in their block: aiohttp's ``loop_context()``, and
# ``asyncio.Runner()``, which sets its loop current on entry unless given a ``loop_factory``.
_LOOP_BLOCKS = frozenset({"aiohttp.test_utils.loop_context"})
_RUNNERS = frozenset({"asyncio.Runner", "asyncio.runners.Runner"})
_EXPECTING = frozenset({"pytest.raises", "pytest.warns", "pytest.deprecated_call"})
_UNITTEST_EXPECTING = frozenset(
    {"assertRaises", "assertRaisesRegex", "assertWarns", "assertWarnsRegex"}
)


def _expects_failure(expr: cst.BaseExpression, imports: ImportMap) -> bool:
    """``pytest.raises(...)``, ``self.assertWarns(...)``: the test expects the error."""
    if not isinstance(expr, cst.Call):
        return False
    func = expr.func
    if isinstance(func, cst.Attribute) and func.attr.value in _UNITTEST_EXPECTING:
        return True
    return imports.matches(func, _EXPECTING) is not None


class _SetsLoop(cst.CSTVisitor):
    """Finds ``asyncio.set_event_loop(x)`` with an ``x`` other than ``None``."""

    def __init__(self, imports: ImportMap) -> None:
        self.imports = imports
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if (
            self.imports.matches(node.func, SET_EVENT_LOOP) is not None
            and node.args
            and not (
                isinstance(node.args[0].value, cst.Name) and node.args[0].value.value == "None"
            )
        ):
            self.found = True


def _sets_loop_on_entry(
    function: cst.FunctionDef, owner: SourceFile, project: Project, depth: int
) -> bool:
    """``function`` calls ``asyncio.set_event_loop(x)`` (``x`` not ``None``) before its first
    ``yield`` (a fixture's setup, a context manager's entry), itself or through the project
    functions it calls, ``depth`` calls deep."""
    calls = _EntryCalls()
    function.body.visit(calls)
    for call in calls.found:
        if owner.imports.matches(call.func, SET_EVENT_LOOP) is not None:
            if call.args and not (
                isinstance(call.args[0].value, cst.Name) and call.args[0].value.value == "None"
            ):
                return True
            continue
        if depth > 0 and isinstance(call.func, (cst.Name, cst.Attribute)):
            found = called_function(call, owner, project)
            if (
                found is not None
                and found[1] is not function
                and _sets_loop_on_entry(found[1], found[0], project, depth - 1)
            ):
                return True
    return False


class _ClosesCurrentLoop(cst.CSTVisitor):
    """Finds ``asyncio.get_event_loop().close()``, and the ``close`` (called, or handed over as
    in ``addCleanup(loop.close)``) of a name or attribute bound to
    ``asyncio.get_event_loop()``, and the current loop returned to the caller, who owns it
    then (``return asyncio.get_event_loop()``)."""

    def __init__(self, imports: ImportMap) -> None:
        self.imports = imports
        self.closed_names: set[str] = set()
        self.current_names: set[str] = set()
        self.closed = False

    def _current(self, expr: cst.BaseExpression) -> bool:
        if is_call_to(expr, self.imports, GET_EVENT_LOOP):
            return True
        return (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "get_event_loop"
            and is_call_to(expr.func.value, self.imports, GET_POLICY)
        )

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._current(node.value):
            for target in node.targets:
                name = dotted_name(target.target)
                if name is not None:
                    self.current_names.add(name)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "close":
            self._done_with(node.value)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self._done_with(node.value)

    def _done_with(self, loop: cst.BaseExpression) -> None:
        """``loop`` is closed or handed back to the caller: the current loop, or a name."""
        if self._current(loop):
            self.closed = True
            return
        name = dotted_name(loop)
        if name is not None:
            self.closed_names.add(name)

    def closes(self) -> bool:
        return self.closed or bool(self.closed_names & self.current_names)


def _catches_runtime_error(handler: cst.ExceptHandler) -> bool:
    kind = handler.type
    names = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return any(isinstance(n, cst.Name) and n.value == "RuntimeError" for n in names)


class _OwnCalls(cst.CSTVisitor):
    """Calls in a block, nested functions, lambdas and classes excluded."""

    def __init__(self) -> None:
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


class _EntryCalls(_OwnCalls):
    """Calls in a function body up to its first ``yield``, in source order."""

    def __init__(self) -> None:
        super().__init__()
        self.done = False

    def visit_Call(self, node: cst.Call) -> None:
        if not self.done:
            self.found.append(node)

    def visit_Yield(self, node: cst.Yield) -> bool:
        self.done = True
        return False
