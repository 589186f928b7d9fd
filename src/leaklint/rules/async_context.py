"""Where a piece of code runs relative to an event loop, for the LL3xx rules.

* ``ScopedRule``: a file rule that keeps a stack of frames (module, class body, function body,
  lambda) so that a rule can ask "is this import time?", "is this the body of a sync fixture?",
  "is any enclosing function async?" for the node it is looking at. The frame of a function
  starts at its body: decorators and default values run in the enclosing frame.
* Name tables for loop-bound asyncio objects and loop accessors.
* ``built_class``: the class a call in a sync fixture builds (same file, or a project file found
  through the import map), with the loop-bound objects its sync ``__init__`` creates.
* ``name_uses``: how a local name (or ``self.x``) is used in a function, to tell a loop or a
  resource that is closed or handed over from one that is dropped.

Over 500 lines: these are what LL301-LL304 share, and each rule uses most of them together (the
frame stack decides where ``name_uses`` and ``built_class`` look); the name tables could move
to a module of their own first.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import libcst as cst

from leaklint.diagnostics import Applicability, Edit, Fix, Location
from leaklint.model.project import Project
from leaklint.model.pytest_model import FixtureDef, literal, scope_rank
from leaklint.python.source import ImportMap, SourceFile, dotted_name
from leaklint.rules.base import FileRule

Defined = TypeVar("Defined", cst.FunctionDef, cst.ClassDef)

# --------------------------------------------------------------------------- names

# Bound to the current event loop when created: outside a running loop they warn (3.12, 3.13)
# or raise (3.14), and a loop made for the purpose is not the one the tests run on.
EAGER_LOOP_OBJECTS = frozenset(
    {
        "asyncio.StreamReader",
        "asyncio.streams.StreamReader",
        "asyncio.Future",
        "asyncio.futures.Future",
    }
)
# Bound to the loop that first uses them (3.10+): harmful only when they outlive that loop.
_LAZY = {
    "queues": ("Queue", "LifoQueue", "PriorityQueue"),
    "locks": ("Lock", "Event", "Condition", "Semaphore", "BoundedSemaphore"),
}
LAZY_LOOP_OBJECTS = frozenset(
    {f"asyncio.{name}" for names in _LAZY.values() for name in names}
    | {f"asyncio.{module}.{name}" for module, names in _LAZY.items() for name in names}
)
GET_EVENT_LOOP = frozenset({"asyncio.get_event_loop", "asyncio.events.get_event_loop"})
NEW_EVENT_LOOP = frozenset(
    {"asyncio.new_event_loop", "asyncio.events.new_event_loop", "uvloop.new_event_loop"}
)
# Use a loop without taking it over: whoever made the loop still has to close it.
USES_LOOP = frozenset(
    {"asyncio.run_coroutine_threadsafe", "asyncio.tasks.run_coroutine_threadsafe"}
)
GET_RUNNING_LOOP = frozenset({"asyncio.get_running_loop", "asyncio.events.get_running_loop"})
# Decorators whose function body runs on a running loop (tornado drives it on its IOLoop).
_ON_LOOP_DECORATORS = frozenset({"tornado.testing.gen_test", "tornado.gen.coroutine"})
# Test case classes that make a loop current for all their methods: unittest's runs every
# method (``setUp`` and sync tests too) with its ``asyncio.Runner`` loop set as the current
# one; tornado's ``setUp`` makes a new IOLoop current before the test runs.
FRAMEWORK_LOOP_CLASSES = frozenset(
    {
        "unittest.IsolatedAsyncioTestCase",
        "unittest.async_case.IsolatedAsyncioTestCase",
        "tornado.testing.AsyncTestCase",
        "tornado.testing.AsyncHTTPTestCase",
        "tornado.testing.AsyncHTTPSTestCase",
    }
)
SET_EVENT_LOOP = frozenset({"asyncio.set_event_loop", "asyncio.events.set_event_loop"})
CACHE_DECORATORS = frozenset({"functools.lru_cache", "functools.cache"})

_EMPTY = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def short_name(qualified: str) -> str:
    """``asyncio.streams.StreamReader`` -> ``asyncio.StreamReader``."""
    head, _, last = qualified.rpartition(".")
    return f"{head.split('.')[0]}.{last}" if head else last


@dataclass(frozen=True)
class LoopObject:
    kind: str  # "eager" | "lazy"
    label: str  # for messages: ``asyncio.Queue()``, ``loop.create_future()``


def loop_object(call: cst.Call, imports: ImportMap) -> LoopObject | None:
    """A loop-bound asyncio object made by ``call``; an explicit ``loop=`` binds it knowingly."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "create_future":
        return LoopObject("eager", f"{code_of(func)}()")
    qualified = imports.qualified_name(func)
    if qualified is None:
        return None
    if any(arg.keyword is not None and arg.keyword.value == "loop" for arg in call.args):
        return None
    if qualified in EAGER_LOOP_OBJECTS:
        return LoopObject("eager", f"{short_name(qualified)}()")
    if qualified in LAZY_LOOP_OBJECTS:
        return LoopObject("lazy", f"{short_name(qualified)}()")
    return None


def is_call_to(expr: cst.BaseExpression, imports: ImportMap, names: frozenset[str]) -> bool:
    return isinstance(expr, cst.Call) and imports.matches(expr.func, names) is not None


GET_POLICY = frozenset({"asyncio.get_event_loop_policy", "asyncio.events.get_event_loop_policy"})


def is_new_event_loop(expr: cst.BaseExpression, imports: ImportMap) -> bool:
    """``asyncio.new_event_loop()`` or ``asyncio.get_event_loop_policy().new_event_loop()``."""
    if not isinstance(expr, cst.Call):
        return False
    func = expr.func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value == "new_event_loop"
        and is_call_to(func.value, imports, GET_POLICY)
    ):
        return True
    return imports.matches(func, NEW_EVENT_LOOP) is not None


def create_future_receiver(call: cst.Call) -> cst.Call | None:
    """The call ``x()`` in ``x().create_future()``: LL301 reports such a chain, LL304 not."""
    func = call.func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value == "create_future"
        and isinstance(func.value, cst.Call)
    ):
        return func.value
    return None


# --------------------------------------------------------------------------- frames


@dataclass
class Frame:
    kind: str  # "module" | "class" | "function" | "lambda" | "main" (``if __name__ == ...``)
    node: cst.CSTNode
    is_async: bool = False
    fixture: FixtureDef | None = None
    cached: bool = False  # an ``lru_cache``/``cache`` function
    globals: set[str] = field(default_factory=set)


class ScopedRule(FileRule):
    """A file rule that knows, at every node, which frames enclose it."""

    def __init__(self, source: SourceFile, project: Project) -> None:
        super().__init__(source, project)
        assert source.module is not None
        self.frames: list[Frame] = [Frame("module", source.module)]
        self._fixture_index: dict[int, FixtureDef] | None = None
        self._loop_classes: dict[int, bool] = {}

    # ---- queries ------------------------------------------------------------------------

    @property
    def at_import_time(self) -> bool:
        """Module level or a class body reached from it, outside ``if __name__ == "__main__"``."""
        return all(f.kind in ("module", "class") for f in self.frames)

    @property
    def at_import_time_or_main(self) -> bool:
        """Import time, or the ``if __name__ == "__main__":`` block of a script: no loop is
        running in either."""
        return all(f.kind in ("module", "class", "main") for f in self.frames)

    @property
    def in_framework_loop_class(self) -> bool:
        """Inside a method of a test case class whose framework makes a loop current
        (``IsolatedAsyncioTestCase``, tornado's ``AsyncTestCase``), however nested."""
        for frame in self.frames:
            if frame.kind == "class" and isinstance(frame.node, cst.ClassDef):
                key = id(frame.node)
                if key not in self._loop_classes:
                    self._loop_classes[key] = runs_on_framework_loop(
                        frame.node, self.source, self.project
                    )
                if self._loop_classes[key]:
                    return True
        return False

    @property
    def function(self) -> Frame | None:
        """The innermost function or lambda frame, if the node is in one."""
        for frame in reversed(self.frames):
            if frame.kind in ("function", "lambda"):
                return frame
        return None

    @property
    def in_sync_code(self) -> bool:
        """Inside a function, and no enclosing function is async (no loop can be running)."""
        functions = [f for f in self.frames if f.kind in ("function", "lambda")]
        return bool(functions) and not any(f.is_async for f in functions)

    @property
    def sync_fixture(self) -> FixtureDef | None:
        """The sync fixture whose own body (not a nested function) holds the node."""
        frame = self.frames[-1]
        if frame.kind == "function" and frame.fixture is not None and not frame.is_async:
            return frame.fixture
        return None

    @property
    def fixture_frame(self) -> Frame | None:
        """The frame of the fixture (sync or async) whose own body holds the node."""
        frame = self.frames[-1]
        return frame if frame.kind == "function" and frame.fixture is not None else None

    def fixture_of(self, node: cst.FunctionDef) -> FixtureDef | None:
        if self._fixture_index is None:
            model = self.project.file_model(self.source.path)
            fixtures = model.fixtures if model is not None else []
            self._fixture_index = {id(f.node): f for f in fixtures}
        return self._fixture_index.get(id(node))

    # ---- frame bookkeeping ----------------------------------------------------------------

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        cached = any(
            self.imports.matches(
                d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator,
                CACHE_DECORATORS,
            )
            for d in node.decorators
        )
        on_loop = any(
            self.imports.matches(
                d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator,
                _ON_LOOP_DECORATORS,
            )
            for d in node.decorators
        )
        self.frames.append(
            Frame(
                "function",
                node,
                is_async=node.asynchronous is not None or on_loop,
                fixture=self.fixture_of(node),
                cached=cached,
            )
        )

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.frames.pop()

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self.frames.append(Frame("lambda", node))

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self.frames.pop()

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.frames.append(Frame("class", node))

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        self.frames.pop()

    def visit_If_body(self, node: cst.If) -> None:
        if self.at_import_time and _is_main_guard(node.test):
            self.frames.append(Frame("main", node))

    def leave_If_body(self, node: cst.If) -> None:
        if self.frames[-1].node is node:
            self.frames.pop()

    def visit_Global(self, node: cst.Global) -> None:
        self.frames[-1].globals.update(item.name.value for item in node.names)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    sides = (test.left, target.comparator)
    return (
        isinstance(target.operator, cst.Equal)
        and any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides)
        and any(literal(s) == "__main__" for s in sides)
    )


# --------------------------------------------------------------------------- framework loops


def runs_on_framework_loop(
    cls: cst.ClassDef, source: SourceFile, project: Project, depth: int = 0
) -> bool:
    """Whether ``cls`` derives (directly, or through classes of this file or of project files
    it imports) from a test case class whose framework makes a loop current."""
    if depth > 8:
        return False
    for base in cls.bases:
        if base.keyword is not None:
            continue
        value = base.value
        if source.imports.matches(value, FRAMEWORK_LOOP_CLASSES) is not None:
            return True
        found: tuple[SourceFile, cst.ClassDef] | None = None
        if isinstance(value, cst.Name) and value.value not in source.imports.bindings:
            assert source.module is not None
            local = _module_class(source.module, value.value)
            found = (source, local) if local is not None and local is not cls else None
        elif isinstance(value, (cst.Name, cst.Attribute)):
            qualified = source.imports.qualified_name(value)
            if qualified is not None and "." in qualified:
                found = _project_class(project, source.path, qualified)
        if found is not None and runs_on_framework_loop(found[1], found[0], project, depth + 1):
            return True
    return False


# --------------------------------------------------------------------------- built classes


@dataclass(frozen=True)
class InitHit:
    """A call of interest in a class's sync ``__init__``."""

    call: cst.Call
    kind: str  # "eager" | "lazy" | "get_event_loop"
    label: str
    line: int
    fallback_for: str | None = None  # ``loop or get_event_loop()``: runs only without ``loop``


@dataclass(frozen=True)
class BuiltClass:
    name: str
    source: SourceFile
    same_file: bool
    hits: tuple[InitHit, ...]

    def where(self, hit: InitHit, project_root: Path) -> str:
        try:
            path = self.source.path.relative_to(project_root).as_posix()
        except ValueError:
            path = self.source.path.as_posix()
        return f"{path}:{hit.line}"


def called_class(
    call: cst.Call, source: SourceFile, project: Project
) -> tuple[SourceFile, cst.ClassDef, bool] | None:
    """The class ``call`` instantiates when it is defined in this file or a project file: the
    file, the class, and whether it is this file."""
    assert source.module is not None
    func = call.func
    if isinstance(func, cst.Name) and func.value not in source.imports.bindings:
        cls = _module_class(source.module, func.value)
        return (source, cls, True) if cls is not None else None
    qualified = source.imports.qualified_name(func)
    if qualified is not None and "." in qualified:
        found = _project_class(project, source.path, qualified)
        if found is not None:
            return found[0], found[1], False
    return None


def init_methods(cls: cst.ClassDef) -> list[cst.FunctionDef]:
    """The sync methods that run when ``cls`` is instantiated: ``__init__`` and a dataclass's
    ``__post_init__``."""
    found = [_sync_method(cls, "__init__"), _sync_method(cls, "__post_init__")]
    return [method for method in found if method is not None]


def built_class(call: cst.Call, source: SourceFile, project: Project) -> BuiltClass | None:
    """The class ``call`` instantiates, when it is defined in this file or a project file and
    has a sync ``__init__`` that makes a loop-bound object or calls ``get_event_loop()``."""
    found = called_class(call, source, project)
    if found is None:
        return None
    owner, cls, same_file = found
    init = _sync_method(cls, "__init__")
    # A dataclass's generated ``__init__`` calls ``__post_init__``: it runs as part of it.
    post_init = _sync_method(cls, "__post_init__")
    hits: tuple[InitHit, ...] = ()
    if init is not None:
        passed = _passed_params(call, init)
        hits = tuple(h for h in _init_hits(init, owner) if h.fallback_for not in passed)
    if post_init is not None:
        hits += tuple(h for h in _init_hits(post_init, owner) if h.fallback_for is None)
    if not hits:
        return None
    return BuiltClass(cls.name.value, owner, same_file, hits)


def _module_class(module: cst.Module, name: str) -> cst.ClassDef | None:
    found = None
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == name:
            found = stmt
    return found


def _sync_method(cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    if not isinstance(cls.body, cst.IndentedBlock):
        return None
    for stmt in cls.body.body:
        if (
            isinstance(stmt, cst.FunctionDef)
            and stmt.name.value == name
            and stmt.asynchronous is None
        ):
            return stmt
    return None


def called_function(
    call: cst.Call, source: SourceFile, project: Project
) -> tuple[SourceFile, cst.FunctionDef] | None:
    """The module-level function ``call`` calls when it is defined in this file or a project
    file, with the file that defines it."""
    assert source.module is not None
    func = call.func
    if isinstance(func, cst.Name) and func.value not in source.imports.bindings:
        found = _module_function(source.module, func.value)
        return (source, found) if found is not None else None
    qualified = source.imports.qualified_name(func)
    if qualified is None or "." not in qualified:
        return None
    return _in_project(project, source.path, qualified, _module_function)


def _module_function(module: cst.Module, name: str) -> cst.FunctionDef | None:
    found = None
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            found = stmt
    return found


def _project_class(
    project: Project, here: Path, qualified: str
) -> tuple[SourceFile, cst.ClassDef] | None:
    return _in_project(project, here, qualified, _module_class)


def _in_project(
    project: Project,
    here: Path,
    qualified: str,
    find: Callable[[cst.Module, str], Defined | None],
) -> tuple[SourceFile, Defined] | None:
    """The module-level definition ``qualified`` names in a project file (``find`` looks for
    it in one module), with that file."""
    module_name, _, name = qualified.rpartition(".")
    for path in _project_modules(project, here, module_name):
        other = project.source(path)
        if isinstance(other, OSError) or other.module is None:
            continue
        found = find(other.module, name)
        if found is not None:
            return other, found
    return None


def may_name_project_class(
    project: Project,
    here: Path,
    qualified: Iterable[str],
    holds: Callable[[bytes, str], bool] | None = None,
) -> bool:
    """Whether one of ``qualified`` may name a class defined in a project module, as
    ``called_class`` looks for one in other files: the module found the same way, and the
    class by a byte search of it (read through the project, so the findings cache follows
    that file), when given, one that ``holds`` accepts (the module's bytes, the class name).
    For the candidate stage: an over-approximation."""
    for name in qualified:
        module_name, _, class_name = name.rpartition(".")
        if not module_name or not class_name.isidentifier():
            continue
        pattern = re.compile(rb"\bclass\s+" + re.escape(class_name.encode()) + rb"\b")
        for path in _project_modules(project, here, module_name):
            raw = project.read(path)
            if isinstance(raw, OSError) or (
                (pattern.search(raw) is not None or _NON_ASCII_CLASS.search(raw) is not None)
                and (holds is None or holds(raw, class_name))
            ):
                return True
    return False


# ``ast`` normalises non-ASCII names (NFKC), libcst keeps them as written: a class spelled
# ``ﬁle`` is ``file`` to the candidate stage, so such a class may be any name.
_NON_ASCII_CLASS = re.compile(rb"\bclass\s+[^\s(:]*[\x80-\xff]")


def _project_modules(project: Project, here: Path, module_name: str) -> list[Path]:
    """The project files that ``module_name`` (absolute, or relative to ``here``) may name,
    nearest to the root first."""
    dots = len(module_name) - len(module_name.lstrip("."))
    parts = [p for p in module_name.lstrip(".").split(".") if p]
    candidates: list[Path] = []
    if dots:
        base = here.parent
        for _ in range(dots - 1):
            base = base.parent
        target = base.joinpath(*parts) if parts else base
        wanted = {target.with_suffix(".py"), target / "__init__.py"} if parts else set()
        if not parts:
            wanted = {base / "__init__.py"}
        candidates = [p for p in project.python_files if p in wanted]
    elif parts:
        n = len(parts)
        for path in _modules_named(project, parts[-1]):
            pieces = path.with_suffix("").parts
            if pieces[-n:] == tuple(parts) or (
                pieces[-1] == "__init__" and pieces[-n - 1 : -1] == tuple(parts)
            ):
                candidates.append(path)
    return sorted(candidates, key=lambda p: (len(p.parts), p))


# Project files by module name (``client`` for ``client.py`` and ``client/__init__.py``), built
# once per project: a sync fixture may call many things, and a project may hold many files.
_MODULE_INDEX: dict[int, tuple[weakref.ref[Project], dict[str, list[Path]]]] = {}


def _modules_named(project: Project, name: str) -> list[Path]:
    entry = _MODULE_INDEX.get(id(project))
    if entry is None or entry[0]() is not project:
        for key, (ref, _) in list(_MODULE_INDEX.items()):
            if ref() is None:
                del _MODULE_INDEX[key]
        index: dict[str, list[Path]] = {}
        for path in project.python_files:
            stem = path.parent.name if path.stem == "__init__" else path.stem
            index.setdefault(stem, []).append(path)
        entry = (weakref.ref(project), index)
        _MODULE_INDEX[id(project)] = entry
    return entry[1].get(name, [])


class _InitScan(cst.CSTVisitor):
    """Calls in a function's own body (nested functions, lambdas and classes excluded)."""

    def __init__(self, imports: ImportMap) -> None:
        self.imports = imports
        self.found: list[tuple[cst.Call, str, str]] = []
        self.fallbacks: dict[int, str] = {}  # call -> the parameter it stands in for
        self._skip: set[int] = set()
        self._unset: list[str | None] = []  # ``if name is None:`` blocks we are in

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        # ``self.loop = loop or asyncio.get_event_loop()``
        if isinstance(node.operator, cst.Or) and isinstance(node.left, cst.Name):
            self.fallbacks[id(node.right)] = node.left.value

    def visit_If(self, node: cst.If) -> None:
        # ``if loop is None: loop = asyncio.get_event_loop()``
        self._unset.append(_none_test(node.test, cst.Is))

    def visit_If_orelse(self, node: cst.If) -> None:
        self._unset[-1] = None

    def leave_If(self, original_node: cst.If) -> None:
        self._unset.pop()

    def visit_IfExp(self, node: cst.IfExp) -> None:
        # ``loop if loop is not None else asyncio.get_event_loop()`` (and the other way round)
        name = _none_test(node.test, cst.IsNot)
        if name is not None:
            self.fallbacks[id(node.orelse)] = name
        name = _none_test(node.test, cst.Is)
        if name is not None:
            self.fallbacks[id(node.body)] = name

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        receiver = create_future_receiver(node)
        if receiver is not None:
            self._skip.add(id(receiver))
        obj = loop_object(node, self.imports)
        if obj is not None:
            self.found.append((node, obj.kind, obj.label))
        elif id(node) not in self._skip and is_call_to(node, self.imports, GET_EVENT_LOOP):
            self.found.append((node, "get_event_loop", "asyncio.get_event_loop()"))
            unset = next((name for name in reversed(self._unset) if name is not None), None)
            if unset is not None:
                self.fallbacks.setdefault(id(node), unset)


def _none_test(test: cst.BaseExpression, operator: type[cst.BaseCompOp]) -> str | None:
    """``name is None`` (or ``is not None``, by ``operator``): the name."""
    if (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, operator)
        and isinstance(test.comparisons[0].comparator, cst.Name)
        and test.comparisons[0].comparator.value == "None"
    ):
        return test.left.value
    return None


def _init_hits(init: cst.FunctionDef, owner: SourceFile) -> list[InitHit]:
    scan = _InitScan(owner.imports)
    init.body.visit(scan)
    return [
        InitHit(call, kind, label, owner.range_of(call)[0].row, scan.fallbacks.get(id(call)))
        for call, kind, label in scan.found
    ]


def _passed_params(call: cst.Call, init: cst.FunctionDef) -> set[str | None]:
    """The ``__init__`` parameters that ``call`` passes a value other than ``None`` to (every
    parameter when it spreads ``*args`` or ``**kwargs``). ``None`` is never passed."""
    params = [*init.params.posonly_params, *init.params.params][1:]  # without self
    names = {p.name.value for p in (*params, *init.params.kwonly_params)}
    passed: set[str | None] = set()
    positional = 0
    for arg in call.args:
        if arg.star:
            return set(names)
        if isinstance(arg.value, cst.Name) and arg.value.value == "None":
            positional += arg.keyword is None
            continue
        if arg.keyword is not None:
            passed.add(arg.keyword.value)
        else:
            if positional < len(params):
                passed.add(params[positional].name.value)
            positional += 1
    return passed


# --------------------------------------------------------------------------- name uses


@dataclass
class NameUses:
    """How ``target`` (a local name or a dotted ``self.x``) is used in a block of code."""

    closed: bool = False  # ``x.close`` / ``x.aclose`` ... called or handed over
    escapes: bool = False  # returned, stored, passed on: someone else may close it
    returned: list[cst.Return] = field(default_factory=list)
    yielded: list[cst.Yield] = field(default_factory=list)


class _UseScan(cst.CSTVisitor):
    def __init__(
        self,
        target: str,
        closing: frozenset[str],
        imports: ImportMap,
        harmless_calls: frozenset[str],
        statement_calls_use: bool,
    ) -> None:
        self.target = target
        self.statement_calls_use = statement_calls_use
        self.closing = closing
        self.imports = imports
        self.harmless_calls = harmless_calls
        self.uses = NameUses()
        self._accounted: set[int] = set()

    def _is_target(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) == self.target

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._accounted.add(id(node.attr))
        if self._is_target(node.value):
            self._accounted.add(id(node.value))
            if node.attr.value in self.closing:
                self.uses.closed = True

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._accounted.add(id(node.keyword))

    def visit_Param(self, node: cst.Param) -> None:
        self._accounted.add(id(node.name))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if self._is_target(node.target):
            self._accounted.add(id(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._is_target(node.target):
            self._accounted.add(id(node.target))

    def visit_Del(self, node: cst.Del) -> None:
        if self._is_target(node.target):
            self._accounted.add(id(node.target))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if self._is_target(node.item):
            self._accounted.add(id(node.item))
            self.uses.closed = True

    def visit_Call(self, node: cst.Call) -> None:
        if any(self._is_target(arg.value) for arg in node.args) and _closer_name(node):
            self.uses.closed = True  # ``self.close_loop(loop)``, ``await cleanup(conn)``
        if self.imports.matches(node.func, self.harmless_calls) is not None:
            for arg in node.args:
                if self._is_target(arg.value):
                    self._accounted.add(id(arg.value))

    def visit_Expr(self, node: cst.Expr) -> None:
        # ``await seed(x)`` / ``seed(x)`` as a statement uses x; it does not take it over.
        if not self.statement_calls_use:
            return
        value = node.value.expression if isinstance(node.value, cst.Await) else node.value
        if isinstance(value, cst.Call) and not _hands_over(value):
            for arg in value.args:
                if self._is_target(arg.value):
                    self._accounted.add(id(arg.value))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and self._is_target(node.value):
            self._accounted.add(id(node.value))
            self.uses.returned.append(node)

    def visit_Yield(self, node: cst.Yield) -> None:
        if isinstance(node.value, cst.BaseExpression) and self._is_target(node.value):
            self._accounted.add(id(node.value))
            self.uses.yielded.append(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if (
            isinstance(original_node, (cst.Name, cst.Attribute))
            and id(original_node) not in self._accounted
            and self._is_target(original_node)
        ):
            self.uses.escapes = True


# Calls that take a resource or a loop over and release it later.
_HANDOVER_ATTRS = frozenset(
    {
        "enter_async_context",
        "enter_context",
        "push_async_callback",
        "push_async_exit",
        "callback",
        "push",
        "addfinalizer",
        "addCleanup",
        "addAsyncCleanup",
        "closing",
        "aclosing",
    }
)


_CLOSER_WORDS = ("close", "dispose", "shutdown", "cleanup", "teardown", "terminate", "release")


def _closer_name(call: cst.Call) -> bool:
    """A call whose name says it releases what it is given."""
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else None
    if isinstance(func, cst.Name):
        name = func.value
    return name is not None and any(word in name.lower() for word in _CLOSER_WORDS)


def _hands_over(call: cst.Call) -> bool:
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else None
    if isinstance(func, cst.Name):
        name = func.value
    return name in _HANDOVER_ATTRS


def name_uses(
    scope: cst.CSTNode,
    target: str,
    *,
    closing: frozenset[str],
    imports: ImportMap,
    harmless_calls: frozenset[str] = frozenset(),
    statement_calls_use: bool = True,
) -> NameUses:
    """Every use of ``target`` inside ``scope`` (nested functions included, since a callback
    registered there may close it).

    Passing ``target`` to a call hands it over (``escapes``), except to ``harmless_calls`` and,
    when ``statement_calls_use``, to a call that is a statement of its own (``await seed(x)``).
    """
    scan = _UseScan(target, closing, imports, harmless_calls, statement_calls_use)
    scope.visit(scan)
    return scan.uses


# --------------------------------------------------------------------------- fixes


def async_fixture_fix(rule: FileRule, fixture: FixtureDef, message: str) -> Fix | None:
    """Turn a sync fixture into an async one: ``async def`` under ``pytest_asyncio.fixture``,
    with ``loop_scope=`` its cache scope when that is wider than ``function``."""
    source = rule.source
    imports = rule.imports
    if fixture.scope not in ("function", "class", "module", "package", "session"):
        return None
    func = fixture.node
    edits: list[Edit] = []
    # ``async `` before ``def``: the keyword ends where the name's leading whitespace starts.
    name_start, _ = source.range_of(func.name)
    gap = len(func.whitespace_after_def.value) + len("def")
    edits.append(rule.insert_edit(Location(name_start.row, name_start.column - gap), "async "))

    alias = _pytest_asyncio_alias(imports)
    expr = fixture.decorator.decorator
    call = expr if isinstance(expr, cst.Call) else None
    args = list(call.args) if call is not None else []
    if scope_rank(fixture.scope) > 0 and not any(
        a.keyword is not None and a.keyword.value == "loop_scope" for a in args
    ):
        if args:
            last = args[-1]
            if last.comma is cst.MaybeSentinel.DEFAULT:
                args[-1] = last.with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
        args.append(
            cst.Arg(
                keyword=cst.Name("loop_scope"),
                value=cst.SimpleString(f'"{fixture.scope}"'),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
        )
    new_func = cst.parse_expression(alias or "pytest_asyncio.fixture")
    if call is not None:
        new_expr: cst.BaseExpression = call.with_changes(func=new_func, args=args)
    elif args:
        new_expr = cst.Call(func=new_func, args=args)
    else:
        new_expr = new_func
    edits.append(rule.replace_edit(expr, new_expr))
    if alias is None:
        edits.append(_import_edit(rule))
    return Fix(Applicability.UNSAFE, message, tuple(edits))


def _pytest_asyncio_alias(imports: ImportMap) -> str | None:
    """How this file spells ``pytest_asyncio.fixture``, if it imports it."""
    for local, qualified in sorted(imports.bindings.items()):
        if qualified == "pytest_asyncio.fixture":
            return local
    for local, qualified in sorted(imports.bindings.items()):
        if qualified == "pytest_asyncio":
            return f"{local}.fixture"
    return None


def _import_edit(rule: FileRule) -> Edit:
    """``import pytest_asyncio`` on the line after the module's last top-level import."""
    module = rule.source.module
    assert module is not None
    last: cst.CSTNode | None = None
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
        ):
            last = stmt
    if last is None:
        return rule.insert_edit(Location(1, 1), f"import pytest_asyncio{newline_of(rule.source)}")
    assert isinstance(last, cst.SimpleStatementLine)
    _, end = rule.source.range_of(last.body[-1])
    newline = newline_of(rule.source)
    return rule.insert_edit(end_of_line(rule.source, end.row), f"{newline}import pytest_asyncio")


def newline_of(source: SourceFile) -> str:
    """The file's line ending, for text an edit inserts."""
    return "\r\n" if "\r\n" in source.text else "\n"


def _line(source: SourceFile, row: int) -> str:
    return source.text.split("\n")[row - 1].rstrip("\r")


def indent_of(source: SourceFile, row: int) -> str:
    line = _line(source, row)
    return line[: len(line) - len(line.lstrip())]


def end_of_line(source: SourceFile, row: int) -> Location:
    line = _line(source, row)
    return Location(row, len(line) + 1)


def statements(body: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return body.body if isinstance(body, cst.IndentedBlock) else ()
