"""The project-wide fixture graph: which fixture each test gets, and which event loop runs what.

Per-file facts (fixtures, tests, marks) come from ``pytest_model``; this module joins them the
way pytest does. A test sees the fixtures of its classes (innermost first), its module, and the
``conftest.py`` of its directory and of every parent up to the rootdir; the nearest definition of
a name wins. A fixture that requests its own name gets the next definition further out. A name
with no definition in the project comes from a plugin or an installed package: it is *unknown*,
never an error.

Event loops, as pytest-asyncio 1.x runs them: an async test runs on the loop of its effective loop
scope (nearest ``asyncio`` mark, else ``asyncio_default_test_loop_scope``); an async fixture on
the loop of its ``loop_scope``, else ``asyncio_default_fixture_loop_scope``, else its cache scope.
Each loop scope has its own runner fixture, so two things share a loop only when their loop
scopes are equal (and, for the narrow scopes, they sit in the same function, class or module).
A ``package`` loop is one loop for the whole session: pytest-asyncio's runner fixture is defined
by the plugin, outside every package, and pytest caches such a package-scoped fixture on the
session (measured with pytest 9.2 and pytest-asyncio 1.5). It is still not the session loop.

The graph is built once per process (``graph_of``, which keeps it on the ``Project``; each
worker builds its own) and shared by every rule. It is resolved one test module at a time, and
what it resolves is kept for the next module that needs it, each result with the files it was
read from: a module served from a kept result notes those files in ``Project.access_log`` as if
it had read them (the findings cache keys each module's findings on them). ``forget`` drops what
was resolved for one module alone.

Just over 500 lines: fixture resolution and the loop each test and fixture runs on are resolved
together, one test module at a time, from the same kept results.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Generic, TypeVar

from leaklint.model.asyncio_tests import may_hold_asyncio_test
from leaklint.model.inheritance import Inheritance
from leaklint.model.locate import Locator
from leaklint.model.loop_scope import Loop, fixture_loop_scope, loop_of
from leaklint.model.modules import module_file
from leaklint.model.project import CONFTEST, Project
from leaklint.model.pytest_model import (
    SCOPES,
    FileModel,
    FixtureDef,
    TestDef,
    parametrized_names,
)

Layer = dict[str, FixtureDef]
K = TypeVar("K")
V = TypeVar("V")


class _Kept(Generic[K, V]):
    """Results computed through the project, each kept with the files it read; serving one
    again notes those files again (``Project.tracked``)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.results: dict[K, tuple[V, frozenset[Path]]] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        found = self.results.get(key)
        if found is None:
            found = self.results[key] = self.project.tracked(compute)
        else:
            self.project.note_reads(found[1])
        return found[0]

    def drop(self, key: K) -> None:
        self.results.pop(key, None)

    def drop_where(self, unwanted: Callable[[K], bool]) -> None:
        for key in [key for key in self.results if unwanted(key)]:
            del self.results[key]


@dataclass(frozen=True)
class Use:
    """A fixture reached from a test or fixture; ``via`` are the fixtures in between."""

    fixture: FixtureDef
    via: tuple[FixtureDef, ...] = ()

    def chain(self) -> str:
        names = ", ".join(f"`{f.name}`" for f in self.via)
        return f"`{self.fixture.name}`" + (f" (via {names})" if names else "")


@dataclass(frozen=True)
class Lookup:
    """The fixture definitions a test can see, nearest layer first."""

    layers: tuple[Layer, ...]

    def resolve(self, name: str, requester: FixtureDef | None = None) -> FixtureDef | None:
        start = 0
        if requester is not None and requester.name == name:
            # A fixture asking for its own name overrides it: it gets the next one out.
            for index, layer in enumerate(self.layers):
                if layer.get(name) is requester:
                    start = index + 1
                    break
            else:
                return None
        for layer in self.layers[start:]:
            found = layer.get(name)
            if found is not None:
                return found
        return None

    def autouse(self) -> list[str]:
        """Autouse fixture names in scope, outermost first (the order pytest sets them up)."""
        names: list[str] = []
        for layer in reversed(self.layers):
            names.extend(n for n, f in layer.items() if f.autouse and n not in names)
        return names


@dataclass(eq=False)
class ResolvedTest:
    test: TestDef
    lookup: Lookup
    requested: tuple[str, ...]  # autouse, usefixtures, arguments, getfixturevalue literals
    asyncio: bool  # run by pytest-asyncio
    loop: Loop | None  # None: not run on a loop, or a loop scope leaklint cannot read
    uses: list[Use] = field(default_factory=list)  # every fixture, transitively
    unknown: tuple[str, ...] = ()  # requested names with no definition in the project


@dataclass(frozen=True)
class CrossLoop:
    """``requester`` (a test, or an async fixture) runs on ``loop`` and uses ``use`` on
    ``other``."""

    requester: TestDef | FixtureDef
    loop: Loop
    use: Use
    other: Loop


def graph_of(project: Project) -> FixtureGraph:
    """The project's fixture graph, built on first use and kept on the project."""
    graph = project.graph
    if graph is None:
        graph = project.graph = FixtureGraph(project)
    assert isinstance(graph, FixtureGraph)
    return graph


class FixtureGraph:
    def __init__(self, project: Project) -> None:
        self.project = project
        config = project.config
        self.asyncio_disabled = config.addopts.asyncio_disabled
        self.auto = config.asyncio_mode == "auto"
        self.default_fixture_loop_scope = config.default_fixture_loop_scope
        self.default_test_loop_scope = config.default_test_loop_scope
        self._conftest_layers: _Kept[Path, tuple[Layer, ...]] = _Kept(project)
        self._module_layers: _Kept[Path, tuple[Layer, ...]] = _Kept(project)
        self._requests: _Kept[FixtureDef, tuple[str, ...]] = _Kept(project)
        self._tests: _Kept[Path, list[ResolvedTest]] = _Kept(project)
        self._locators: _Kept[Path, Locator] = _Kept(project)
        self._plugin_files: _Kept[str, Path | None] = _Kept(project)
        self._plugin_layer_cache: _Kept[tuple[Path, tuple[str, ...]], tuple[Layer, ...]] = _Kept(
            project
        )
        # The project's own modules loaded as plugins: their fixtures serve many test modules.
        self.plugin_modules: set[Path] = set()

    def forget(self, path: Path) -> None:
        """Drop what was resolved for the module ``path`` alone (with ``Project.forget``)."""
        for kept in (self._module_layers, self._tests, self._locators):
            kept.drop(path)
        self._requests.drop_where(lambda fixture: fixture.path == path)

    # ---- loops -------------------------------------------------------------------------

    def runs_on_loop(self, fixture: FixtureDef) -> bool:
        """pytest-asyncio sets the fixture up on an event loop."""
        if self.asyncio_disabled or not fixture.is_async:
            return False
        return self.auto or fixture.kind == "pytest_asyncio"

    def fixture_loop_scope(self, fixture: FixtureDef) -> str | None:
        if not self.runs_on_loop(fixture):
            return None
        scope = fixture_loop_scope(fixture, self.project.config)
        return scope if scope in SCOPES else None

    def is_asyncio_test(self, test: TestDef) -> bool:
        """pytest-asyncio runs the test: auto mode, or an asyncio mark (strict mode)."""
        if self.asyncio_disabled or not test.is_async or test.unittest:
            return False
        return self.auto or test.mark("asyncio") is not None

    def test_loop_scope(self, test: TestDef) -> str | None:
        """The loop scope of the nearest asyncio mark, else the default; ``None`` if unreadable."""
        mark = test.mark("asyncio")
        if mark is None or not (mark.given("loop_scope") or mark.given("scope")):
            return self.default_test_loop_scope  # ``loop_scope=None`` is the default too
        scope = mark.loop_scope
        return scope if scope in SCOPES else None

    # ---- resolution --------------------------------------------------------------------

    def _layer(self, model: FileModel | None, class_name: str | None) -> Layer:
        layer: Layer = {}
        if model is not None:
            for fixture in model.fixtures:
                if fixture.class_name == class_name:
                    layer[fixture.name] = fixture  # the last definition in a file wins
        return layer

    def conftest_layers(self, directory: Path) -> tuple[Layer, ...]:
        """``conftest.py`` fixtures visible in ``directory``, nearest first, up to the rootdir."""
        return self._conftest_layers.get(directory, lambda: self._conftest_layers_of(directory))

    def _conftest_layers_of(self, directory: Path) -> tuple[Layer, ...]:
        root = self.project.root
        own: tuple[Layer, ...] = ()
        conftest = directory / CONFTEST
        if conftest.is_file():
            layer = self._layer(self.project.file_model(conftest), None)
            if layer:
                own = (layer,)
        parent = directory.parent
        inside = directory != root and parent != directory and directory.is_relative_to(root)
        return own + (self.conftest_layers(parent) if inside else ())

    def module_layers(self, path: Path) -> tuple[Layer, ...]:
        """The fixtures a module-level fixture or test of ``path`` sees, nearest first."""
        return self._module_lookup_layers(path)

    def _module_lookup_layers(self, path: Path) -> tuple[Layer, ...]:
        def layers() -> tuple[Layer, ...]:
            module = self._layer(self.project.file_model(path), None)
            conftests = self.conftest_layers(path.parent)
            return (module, *conftests, *self._plugin_layers(path))

        return self._module_layers.get(path, layers)

    # ---- pytest_plugins ----------------------------------------------------------------

    def _plugin_layers(self, path: Path) -> tuple[Layer, ...]:
        """Fixtures of the project's own modules loaded as plugins: ``-p NAME`` in ``addopts``
        (registered first, so farthest) and ``pytest_plugins`` (in the test module or a
        conftest it sees): visible everywhere, and farther than any conftest's."""
        own = self.project.file_model(path)
        names = [*self.project.config.addopts.plugins, *(own.plugins if own is not None else ())]

        def layers() -> tuple[Layer, ...]:
            for directory in self._directories(path.parent):
                conftest = directory / CONFTEST
                model = self.project.file_model(conftest) if conftest.is_file() else None
                if model is not None:
                    names.extend(model.plugins)
            return self._plugin_layers_of(names)

        return self._plugin_layer_cache.get((path.parent, tuple(names)), layers)

    def _plugin_layers_of(self, names: list[str]) -> tuple[Layer, ...]:
        # pytest registers a plugin, then the plugins it names (depth first); among plugins
        # the one registered last wins, so the nearest layer is the last registered.
        layers: list[Layer] = []
        seen: set[Path] = set()

        def register(name: str) -> None:
            module = self._plugin_file(name)
            if module is None or module in seen:
                return
            seen.add(module)
            self.plugin_modules.add(module)
            model = self.project.file_model(module)
            if model is not None:
                layers.append(self._layer(model, None))
                for inner in model.plugins:
                    register(inner)

        for name in names:
            register(name)
        return tuple(reversed(layers))

    def _directories(self, directory: Path) -> Iterator[Path]:
        root = self.project.root
        while True:
            yield directory
            if directory == root or directory.parent == directory:
                return
            if not directory.is_relative_to(root):
                return
            directory = directory.parent

    def _plugin_file(self, module: str) -> Path | None:
        """The project's own module named ``module``; ``None`` for an installed plugin. Every
        path tried counts as read: a module written there later changes the answer."""

        return self._plugin_files.get(module, lambda: module_file(self.project, module, None))

    @cached_property
    def inheritance(self) -> Inheritance:
        return Inheritance(self.project)

    def lookup(self, test: TestDef) -> Lookup:
        """Nearest first: the test's classes (innermost first; the outermost with the classes
        of its MRO that the project defines), then its module, conftests and plugins."""
        model = self.project.file_model(test.path)
        classes: list[Layer] = []
        nodes = test.class_nodes
        for node in reversed(nodes[1:]):
            classes.append(self._layer(model, node.name.value))
        if nodes:
            top = model.classes.get(nodes[0].name.value) if model is not None else None
            if top is None or top.node is not nodes[0]:
                classes.append(self._layer(model, nodes[0].name.value))
            else:
                for where, cls in self.inheritance.mro((test.path, top)):
                    owner = model if where == test.path else self.project.file_model(where)
                    classes.append(self._layer(owner, cls.name))
        return Lookup((*classes, *self._module_lookup_layers(test.path)))

    def requests(self, fixture: FixtureDef) -> tuple[str, ...]:
        """What a fixture asks for: its arguments and ``getfixturevalue`` literals."""

        def asked() -> tuple[str, ...]:
            names = fixture.params
            if self._mentions_getfixturevalue(fixture.path):
                extra = self.locator(fixture.path).requested_by_value(fixture.node)
                names = (*names, *(n for n in extra if n not in names))
            return names

        return self._requests.get(fixture, asked)

    def _mentions_getfixturevalue(self, path: Path) -> bool:
        raw = self.project.read(path)
        return isinstance(raw, bytes) and b"getfixturevalue" in raw

    @cached_property
    def ini_usefixtures(self) -> tuple[str, ...]:
        """The ``usefixtures`` ini option: fixtures every test requests."""
        setting = self.project.config.get("usefixtures")
        if setting is None:
            return ()
        value = setting.value
        return (
            tuple(str(v) for v in value) if isinstance(value, list) else tuple(str(value).split())
        )

    def test_requests(self, test: TestDef, lookup: Lookup) -> tuple[str, ...]:
        direct = parametrized_names(test.marks)
        names: list[str] = [*self.ini_usefixtures, *lookup.autouse()]
        names.extend(test.usefixtures)
        names.extend(p for p in test.params if p not in direct)
        if self._mentions_getfixturevalue(test.source_path):
            names.extend(self.locator(test.source_path).requested_by_value(test.node))
        return tuple(dict.fromkeys(names))

    def closure(self, lookup: Lookup, names: Iterable[str]) -> tuple[list[Use], tuple[str, ...]]:
        """Every fixture reached from ``names`` (breadth first: shortest chains), and the names
        with no definition in the project."""
        seen: dict[FixtureDef, Use] = {}
        unknown: list[str] = []
        queue: deque[tuple[str, FixtureDef | None, tuple[FixtureDef, ...]]] = deque(
            (name, None, ()) for name in names
        )
        while queue:
            name, requester, via = queue.popleft()
            fixture = lookup.resolve(name, requester)
            if fixture is None:
                if name not in unknown and (requester is None or requester.name != name):
                    unknown.append(name)
                continue
            if fixture in seen:
                continue
            seen[fixture] = Use(fixture, via)
            for child in self.requests(fixture):
                queue.append((child, fixture, (*via, fixture)))
        return list(seen.values()), tuple(unknown)

    def loop_dependencies(
        self, lookup: Lookup, names: Iterable[str], requester: FixtureDef | None = None
    ) -> list[Use]:
        """The fixtures that run on a loop reached from ``names`` directly or through fixtures
        that do not (a loop fixture's own dependencies are its business)."""
        found: list[Use] = []
        seen: set[FixtureDef] = set() if requester is None else {requester}
        queue: deque[tuple[str, FixtureDef | None, tuple[FixtureDef, ...]]] = deque(
            (name, requester, ()) for name in names
        )
        while queue:
            name, asker, via = queue.popleft()
            fixture = lookup.resolve(name, asker)
            if fixture is None or fixture in seen:
                continue
            seen.add(fixture)
            if self.runs_on_loop(fixture):
                found.append(Use(fixture, via))
                continue
            for child in self.requests(fixture):
                queue.append((child, fixture, (*via, fixture)))
        return found

    # ---- tests -------------------------------------------------------------------------

    def tests_in(self, path: Path) -> list[ResolvedTest]:
        """The tests of one test module, resolved."""
        return self._tests.get(path, lambda: self._resolve_tests(path))

    def collected(self, path: Path) -> list[TestDef]:
        """The tests pytest collects from the module ``path``: its own, and for a test class
        with bases in the project, the test methods of its MRO under the class."""
        model = self.project.file_model(path)
        if model is None:
            return []
        tests = list(model.tests)
        collection = model.collection
        for cls in model.classes.values():
            mro = self.inheritance.mro((path, cls))
            named = collection is not None and collection.is_test_class(cls.name)
            if not named and not self.inheritance.is_unittest(mro):
                continue
            inherited = self.inheritance.tests_of(path, model, cls, mro)
            if inherited is not None:
                own = [t for t in tests if t.class_nodes[:1] == (cls.node,)]
                nested = [t for t in own if len(t.class_nodes) > 1]
                tests = [t for t in tests if t not in own] + inherited + nested
        return tests

    def _resolve_tests(self, path: Path) -> list[ResolvedTest]:
        resolved: list[ResolvedTest] = []
        for test in self.collected(path):
            lookup = self.lookup(test)
            requested = self.test_requests(test, lookup)
            asyncio = self.is_asyncio_test(test)
            scope = self.test_loop_scope(test) if asyncio else None
            uses, unknown = self.closure(lookup, requested)
            resolved.append(
                ResolvedTest(
                    test=test,
                    lookup=lookup,
                    requested=requested,
                    asyncio=asyncio,
                    loop=None if scope is None else loop_of(test, scope),
                    uses=uses,
                    unknown=unknown,
                )
            )
        return resolved

    @cached_property
    def test_files(self) -> list[Path]:
        project = self.project
        return [p for p in project.python_files if project.is_test_file(p)]

    def async_test_files(self) -> Iterator[Path]:
        """Test modules that can hold a test pytest-asyncio runs: the cheap byte check, then
        CPython's ``ast`` over the module and its test classes' bases
        (``asyncio_tests.may_hold_asyncio_test``)."""
        if self.asyncio_disabled:
            return
        for path in self.test_files:
            raw = self.project.read(path)
            if not isinstance(raw, bytes) or b"async" not in raw:
                continue
            if may_hold_asyncio_test(self.project, path, auto=self.auto):
                yield path

    def fixture_loop(self, fixture: FixtureDef, test: TestDef) -> Loop | None:
        scope = self.fixture_loop_scope(fixture)
        return None if scope is None else loop_of(test, scope)

    def cross_loop(self, resolved: ResolvedTest) -> tuple[list[CrossLoop], list[CrossLoop]]:
        """(the test's own cross-loop uses, those of the async fixtures it sets up)."""
        own: list[CrossLoop] = []
        inner: list[CrossLoop] = []
        test, loop, lookup = resolved.test, resolved.loop, resolved.lookup
        if loop is None:
            return own, inner
        for use in self.loop_dependencies(lookup, resolved.requested):
            other = self.fixture_loop(use.fixture, test)
            if other is not None and other != loop:
                own.append(CrossLoop(test, loop, use, other))
        for use in resolved.uses:
            fixture = use.fixture
            fixture_loop = self.fixture_loop(fixture, test)
            if fixture_loop is None:
                continue
            for dep in self.loop_dependencies(lookup, self.requests(fixture), fixture):
                other = self.fixture_loop(dep.fixture, test)
                if other is not None and other != fixture_loop:
                    inner.append(CrossLoop(fixture, fixture_loop, dep, other))
        return own, inner

    def locator(self, path: Path) -> Locator:
        """Positions in a parsed file, without libcst's position metadata."""

        def locator() -> Locator:
            source = self.project.source(path)
            assert not isinstance(source, OSError) and source.module is not None
            return Locator(source)

        return self._locators.get(path, locator)

    def where(self, fixture: FixtureDef) -> str:
        """``tests/conftest.py:5``: the fixture's file (relative to the rootdir) and line."""
        line = self.locator(fixture.path).name_range(fixture.node)[0].row
        return f"{self.project.relative(fixture.path).as_posix()}:{line}"

    def fitting_loop_scope(self, resolved: ResolvedTest) -> str | None:
        """The loop scope that puts the test on the loop of every async fixture it uses
        (directly or through sync fixtures), when there is exactly one."""
        scopes = {
            self.fixture_loop_scope(use.fixture)
            for use in self.loop_dependencies(resolved.lookup, resolved.requested)
        }
        scopes.discard(None)
        return scopes.pop() if len(scopes) == 1 else None

    # ---- the whole project -------------------------------------------------------------

    @cached_property
    def loops(self) -> frozenset[Loop]:
        """Every loop an async test or the async fixtures it uses run on."""
        return frozenset().union(*map(self.loops_in, self.async_test_files()))

    def resolved_loops_in(self, path: Path) -> tuple[frozenset[Loop], frozenset[Path]] | None:
        """``loops_in(path)`` and the files it depends on, when this process already resolved
        the module's tests (``None`` otherwise: nothing is parsed for it here)."""
        if path not in self._tests.results:
            return None
        return self.project.tracked(functools.partial(self.loops_in, path))

    def loops_in(self, path: Path) -> frozenset[Loop]:
        """The loops the async tests of one test module, and the async fixtures they use, run
        on (``loops`` is their union over the modules)."""
        loops: set[Loop] = set()
        for resolved in self.tests_in(path):
            if not resolved.asyncio:
                continue
            if resolved.loop is not None:
                loops.add(resolved.loop)
            for use in resolved.uses:
                other = self.fixture_loop(use.fixture, resolved.test)
                if other is not None:
                    loops.add(other)
        return frozenset(loops)
