from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import libcst as cst

from leaklint.diagnostics import Fix
from leaklint.model.built_classes import built_class_names, built_class_words
from leaklint.model.loops import loop_use
from leaklint.model.project import Project
from leaklint.model.pytest_model import FIXTURE_WORDS, FixtureDef, scope_rank
from leaklint.python.ast_facts import IMPORT_TIME, AstFacts, CallSite
from leaklint.python.source import SourceFile
from leaklint.rules.async_context import (
    EAGER_LOOP_OBJECTS,
    LAZY_LOOP_OBJECTS,
    BuiltClass,
    LoopObject,
    ScopedRule,
    async_fixture_fix,
    built_class,
    is_new_event_loop,
    loop_object,
)
from leaklint.rules.base import FixAvailability, register
from leaklint.rules.loop_candidates import (
    builders_of,
    in_sync_fixture,
    may_build_a_loop_class,
    sync_fixtures,
)

_ASYNC_FIXTURE_HELP = (
    "create it in an async fixture (`async def` under `@pytest_asyncio.fixture`), "
    "where the loop that will use it is running"
)


@register
class LoopBoundObjectInSyncCode(ScopedRule):
    """
    ## What it does
    Reports asyncio objects that belong to one event loop when they are made where no loop is
    running: in a sync fixture, in the sync `__init__` (or a dataclass's `__post_init__`) of a
    class a sync fixture builds (in the same file or a project file it imports), or at import
    time, which includes a class instantiated in a module constant or a class attribute (its
    `__init__` runs then). `asyncio.StreamReader()`, `asyncio.Future()` and
    `loop.create_future()` bind a loop when created and are always reported there.
    `asyncio.Queue`, `Lock`, `Event`, `Condition`, `Semaphore` and `BoundedSemaphore` bind the
    loop that first uses them, so they are reported only where they outlive that loop: in a
    sync fixture whose cache scope is wider than the tests' loop scope, or at import time, and
    only when the project's tests can run on more than one loop (a default test loop scope
    narrower than `session` is enough, however many tests are visible). An object any function
    stores into a module-level container (`_LOCKS.setdefault(name, asyncio.Lock())`,
    `_WAITERS.append(...)`, `_LOCKS[name] = ...`) lives as long as the process, like one made
    at import time, and is reported on the same terms.

    Code in async functions and async fixtures is left alone: a loop is running there. So are
    objects bound on purpose to an explicit loop (`loop=` given, or `create_future()` on a loop
    the function made with `asyncio.new_event_loop()` or takes as a parameter). So is
    `asyncio.get_event_loop()` itself, which is LL304's (implicit-or-unclosed-loop); the object
    made from it (`asyncio.get_event_loop().create_future()`) is reported here, once.

    ## Why is this bad?
    Outside a running loop, `asyncio.StreamReader()` and `asyncio.Future()` warn "There is no
    current event loop" on Python 3.12 and 3.13 and raise on 3.14; where they still work, they
    are bound to a loop the tests do not run on, and awaiting them fails with "attached to a
    different loop" or hangs. A `Queue` or `Lock` made once for a whole session is bound to the
    first test's loop and breaks every test that runs on another one.

    ## Example
    ```python
    @pytest.fixture(scope="session")
    def reader():
        return asyncio.StreamReader()
    ```

    Use instead:
    ```python
    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def reader():
        return asyncio.StreamReader()
    ```

    ## Fix safety
    For an eagerly bound object in a sync fixture the fix makes the fixture async (`async def`,
    `@pytest_asyncio.fixture`, `loop_scope=` its cache scope when wider than `function`, and
    `import pytest_asyncio` when missing). It is unsafe: the fixture now runs on an event loop,
    sync tests can no longer use it, and tests on other loops still need a matching
    `loop_scope`. Lazily bound objects, import-time objects and objects made in `__init__` get
    a suggestion only, since the right place for them depends on the tests.
    """

    code = "LL301"
    name = "loop-bound-object-in-sync-code"
    fix_availability = FixAvailability.SOMETIMES
    tokens = (b"asyncio", b"create_future")
    indirect_words = FIXTURE_WORDS

    @classmethod
    def project_tokens(cls, project: Project) -> tuple[bytes, ...]:
        # ``THING = Thing()`` at import time in a module that names neither asyncio nor a
        # fixture, where ``Thing.__init__`` (another module's) makes what this rule reports.
        return built_class_names(project, cls.code, _makes_loop_object, _may_hold_loop_object)

    @classmethod
    def required_words(cls, project: Project) -> Iterator[tuple[bytes, ...]]:
        # A loop object's name with ``asyncio`` (written in the import that binds it), or
        # ``create_future``, or the name of a project class whose ``__init__`` may make one
        # with its module's (lazily: found once per project, and only for a file without the
        # first).
        yield from ((b"asyncio", word) for word in _LOOP_OBJECT_WORDS)
        yield (b"create_future",)
        yield from built_class_words(project, cls.code, _makes_loop_object, _may_hold_loop_object)

    @classmethod
    def candidate(cls, facts: AstFacts, path: Path, project: Project) -> bool:
        # A loop object made at import time, in a sync fixture, or stored into a container;
        # or a class built at import time or in a sync fixture whose ``__init__`` makes one.
        fixtures = sync_fixtures(facts)
        for site in facts.sites:
            if _makes_loop_object(site) and (
                site.where & IMPORT_TIME
                or site.argument_of in _STORING_METHODS
                or in_sync_fixture(site, fixtures)
            ):
                return True
        return may_build_a_loop_class(
            facts,
            builders_of(facts, fixtures),
            _makes_loop_object,
            _may_hold_loop_object,
            path,
            project,
        )

    def __init__(self, source: SourceFile, project: Project) -> None:
        super().__init__(source, project)
        self._fixed: set[int] = set()  # fixtures that already carry the fix
        self._explicit_loops: set[tuple[int, str]] = set()  # (frame node, name) of new loops
        assert source.module is not None
        self._module_names = _module_level_names(source.module)
        self._stored: dict[int, str] = {}  # loop object call -> module container it goes into
        self._locals: dict[int, set[str]] = {}  # function node -> its local names

    def visit_Assign(self, node: cst.Assign) -> None:
        # ``loop = asyncio.new_event_loop()``: objects made from it are bound on purpose.
        if is_new_event_loop(node.value, self.imports):
            scope = self.frames[-1].node
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self._explicit_loops.add((id(scope), target.target.value))
        # ``_LOCKS[name] = asyncio.Lock()``; ``_LOCKS[loop, name] = ...`` keeps one per loop.
        if isinstance(node.value, cst.Call):
            for target in node.targets:
                subscript = target.target
                if isinstance(subscript, cst.Subscript) and not any(
                    _names_a_loop(e.slice.value)
                    for e in subscript.slice
                    if isinstance(e.slice, cst.Index)
                ):
                    self._note_store(subscript.value, node.value)

    def _note_store(self, container: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``value`` goes into ``container``: note it when that is a module-level name."""
        function = self.function
        if (
            function is None
            or not isinstance(container, cst.Name)
            or container.value not in self._module_names
            or not isinstance(value, cst.Call)
        ):
            return
        name = container.value
        if name not in function.globals and name in self._local_names(function.node):
            return
        self._stored[id(value)] = name

    def _local_names(self, node: cst.CSTNode) -> set[str]:
        key = id(node)
        if key not in self._locals:
            finder = _LocalNames()
            if isinstance(node, cst.FunctionDef):
                node.params.visit(finder)
                node.body.visit(finder)
            elif isinstance(node, cst.Lambda):
                node.params.visit(finder)
            self._locals[key] = finder.names
        return self._locals[key]

    def _on_explicit_loop(self, node: cst.Call) -> bool:
        """``loop.create_future()`` on a loop the function made or was given."""
        func = node.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return False
        name = func.value.value
        frame = self.frames[-1]
        if (id(frame.node), name) in self._explicit_loops:
            return True
        params = frame.node.params if isinstance(frame.node, cst.FunctionDef) else None
        return params is not None and any(
            p.name.value == name
            for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        # ``_LOCKS.setdefault(name, asyncio.Lock())``, ``_WAITERS.append(asyncio.Event())``
        if isinstance(func, cst.Attribute) and func.attr.value in _STORING_METHODS:
            keyed = func.attr.value in _KEYED_METHODS and bool(node.args)
            if not (keyed and _names_a_loop(node.args[0].value)):
                for arg in node.args:
                    self._note_store(func.value, arg.value)
        obj = loop_object(node, self.imports)
        if obj is not None and self._on_explicit_loop(node):
            return
        if obj is not None:
            if self.at_import_time:
                self._import_time(node, obj)
                return
            fixture = self.sync_fixture
            container = self._stored.get(id(node))
            if container is not None and (obj.kind == "lazy" or fixture is None):
                self._in_container(node, obj, container)
                return
            if fixture is not None:
                self._in_fixture(node, obj, fixture)
            return
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return
        if self.at_import_time:
            built = built_class(node, self.source, self.project)
            if built is not None:
                self._built_at_import_time(node, built)
            return
        fixture = self.sync_fixture
        if fixture is not None:
            built = built_class(node, self.source, self.project)
            if built is not None:
                self._built(node, built, fixture)

    # ---- the three places ---------------------------------------------------------------

    def _import_time(self, node: cst.Call, obj: LoopObject) -> None:
        if obj.kind == "eager":
            self.report(
                node,
                f"`{obj.label}` at import time binds an event loop that the tests do not run on",
                help=_ASYNC_FIXTURE_HELP,
            )
            return
        loops = loop_use(self.project)
        if loops.multiple:
            self.report(
                node,
                f"`{obj.label}` at import time is shared by every test, but {loops.describe()}; "
                "it binds the first loop that uses it",
                help="create it in a fixture no wider than the tests' loop scope",
            )

    def _in_container(self, node: cst.Call, obj: LoopObject, container: str) -> None:
        loops = loop_use(self.project)
        if loops.multiple:
            self.report(
                node,
                f"`{obj.label}` stored in module-level `{container}` lives as long as the "
                f"process, as if made at import time, but {loops.describe()}; it stays bound "
                "to the first loop that uses it",
                help="keep it where the loop that uses it lives (an attribute of an object "
                "made on that loop, or a fixture no wider than the tests' loop scope), or key "
                "the container by the running loop",
            )

    def _built_at_import_time(self, node: cst.Call, built: BuiltClass) -> None:
        """``X = Thing()`` at module level or in a class body: ``Thing.__init__`` runs at
        import time."""
        eager = [h for h in built.hits if h.kind == "eager"]
        lazy = [h for h in built.hits if h.kind == "lazy"]
        where = built.where
        if eager:
            hit = eager[0]
            self.report(
                node,
                f"`{built.name}()` at import time runs its `__init__`, which makes "
                f"`{hit.label}` ({where(hit, self.project.root)}) bound to an event loop that "
                "the tests do not run on",
                help=_ASYNC_FIXTURE_HELP,
            )
            return
        loops = loop_use(self.project)
        if lazy and loops.multiple:
            hit = lazy[0]
            self.report(
                node,
                f"`{built.name}()` at import time makes `{hit.label}` in its `__init__` "
                f"({where(hit, self.project.root)}), shared by every test, but "
                f"{loops.describe()}; it binds the first loop that uses it",
                help="create it in a fixture no wider than the tests' loop scope",
            )

    def _in_fixture(self, node: cst.Call, obj: LoopObject, fixture: FixtureDef) -> None:
        if obj.kind == "eager":
            self.report(
                node,
                f"`{obj.label}` in sync fixture `{fixture.name}` is made while no event loop "
                "is running",
                fix=self._fix(fixture),
                help=_ASYNC_FIXTURE_HELP,
            )
            return
        outlives = self._outlives(fixture)
        if outlives is not None:
            self.report(
                node,
                f"`{obj.label}` made in {outlives}",
                help="make the fixture no wider than the tests' loop scope, or run the tests "
                "that use it on one loop (`loop_scope=`)",
            )

    def _built(self, node: cst.Call, built: BuiltClass, fixture: FixtureDef) -> None:
        eager = [h for h in built.hits if h.kind == "eager"]
        lazy = [h for h in built.hits if h.kind == "lazy"]
        if eager:
            hit = eager[0]
            self.report(
                node,
                f"sync fixture `{fixture.name}` builds `{built.name}`, whose `__init__` makes "
                f"`{hit.label}` ({built.where(hit, self.project.root)}) while no event loop "
                "is running",
                fix=self._fix(fixture),
                help=_ASYNC_FIXTURE_HELP,
            )
            return
        outlives = self._outlives(fixture) if lazy else None
        if outlives is not None:
            hit = lazy[0]
            self.report(
                node,
                f"`{built.name}` makes `{hit.label}` in its `__init__` "
                f"({built.where(hit, self.project.root)}), and it is built in {outlives}",
                help="make the fixture no wider than the tests' loop scope, or run the tests "
                "that use it on one loop (`loop_scope=`)",
            )

    # ---- helpers ------------------------------------------------------------------------

    def _outlives(self, fixture: FixtureDef) -> str | None:
        """Why a lazily bound object made by ``fixture`` outlives a loop; ``None`` if not."""
        test_scope = self.project.config.default_test_loop_scope
        if fixture.scope == "dynamic" or scope_rank(fixture.scope) <= scope_rank(test_scope):
            return None
        loops = loop_use(self.project)
        if not loops.multiple:
            return None
        return (
            f"{fixture.scope}-scoped sync fixture `{fixture.name}`, which outlives the "
            f"{test_scope}-scoped loop that first uses it: {loops.describe()}"
        )

    def _fix(self, fixture: FixtureDef) -> Fix | None:
        """The fix, carried by the fixture's first finding only (its edits would overlap)."""
        if id(fixture.node) in self._fixed:
            return None
        self._fixed.add(id(fixture.node))
        return async_fixture_fix(self, fixture, f"make `{fixture.name}` an async fixture")


_LOOP_OBJECTS = EAGER_LOOP_OBJECTS | LAZY_LOOP_OBJECTS
# The last part of each loop object's name: a module that makes one writes it, in the call or
# in the import, as it writes ``asyncio``.
_LOOP_OBJECT_WORDS = tuple(sorted({name.rpartition(".")[2].encode() for name in _LOOP_OBJECTS}))


def _makes_loop_object(site: CallSite) -> bool:
    """A call ``loop_object`` may accept: ``create_future()``, or a loop object's name."""
    return site.attr == "create_future" or not _LOOP_OBJECTS.isdisjoint(site.names)


def _may_hold_loop_object(raw: bytes) -> bool:
    return b"create_future" in raw or (
        b"asyncio" in raw and any(word in raw for word in _LOOP_OBJECT_WORDS)
    )


# Methods that put their argument into a container the container outlives.
_STORING_METHODS = frozenset({"setdefault", "append", "add", "insert", "appendleft", "__setitem__"})


_KEYED_METHODS = frozenset({"setdefault", "__setitem__"})


def _names_a_loop(key: cst.BaseExpression) -> bool:
    """A container key that mentions a loop (``loop``, ``id(loop)``, ``get_running_loop()``):
    the container keeps one object per loop, which is the way to share them safely."""
    finder = _LoopMention()
    key.visit(finder)
    return finder.found


class _LoopMention(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Name(self, node: cst.Name) -> None:
        if "loop" in node.value.lower():
            self.found = True


def _module_level_names(module: cst.Module) -> frozenset[str]:
    """Names assigned by module-level statements (containers such as ``_LOCKS = {}``)."""
    names: set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            targets: list[cst.BaseExpression] = []
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                targets = [small.target]
            names.update(t.value for t in targets if isinstance(t, cst.Name))
    return frozenset(names)


class _LocalNames(cst.CSTVisitor):
    """Names a function binds itself: parameters and assignment targets (nested functions,
    lambdas and classes excluded)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Param(self, node: cst.Param) -> None:
        self.names.add(node.name.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._bind(node.name)

    def _bind(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.names.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False
