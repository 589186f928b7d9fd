"""What CPython's own parser says about one file, for the candidate stage.

libcst parses about eight times slower than ``ast.parse``. Between the token prefilter and
libcst, the engine reads each file with ``ast`` once and asks every remaining rule whether the
file holds a *candidate*: something its rule could fire on (a call that may be a thread or loop
constructor, a fixture, an import-time call into another module…). Only files with a candidate
are parsed by libcst, where the rules run unchanged.

The facts over-approximate what the libcst side resolves, never the other way round: a name is
resolved through every import of the file, at any depth and in any order (``ImportMap`` binds
fewer), so a call gets every qualified name it may stand for. Each call is also kept as a
``CallSite`` with where it is made (import time, an ``except`` block, an ``async def``, the
functions around it, the ``__init__`` of a module-level class, the method it is passed to), in
the same walk: a rule that reports a call only in some places asks for those places, and a
place the facts cannot tell apart counts as every place it may be. A file ``ast`` cannot read
gives no facts, and every rule treats it as a candidate.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

# Where a call is made (``CallSite.where``), as bits.
IMPORT_TIME = 1  # module level or a class body (``if __name__ == "__main__":`` included)
IN_HANDLER = 2  # in an ``except`` block, however nested
IN_ASYNC = 4  # in an ``async def``, however nested


class CallSite(NamedTuple):
    """One call: the names its callee may stand for, and where it is made (a tuple: files
    hold thousands of calls, and a frozen dataclass takes five times as long to build)."""

    # The dotted callee as written (``aio.Queue``, ``Service``), if it is a name or attribute.
    written: str | None
    # What the callee may stand for through the file's imports (its head imported).
    resolved: tuple[str, ...]
    # The attribute called, on any receiver (``create_future`` of ``f().create_future()``).
    attr: str | None
    where: int
    # Indexes in ``AstFacts.functions`` of the functions the call is in, innermost last
    # (not those whose decorators or defaults hold it: those run in the enclosing scope).
    functions: tuple[int, ...]
    # The class whose sync ``__init__``/``__post_init__`` (a method of a module-level class)
    # holds the call, however nested.
    init_of: str | None
    # ``x.append(<call>)``: the method the call is passed to (``__setitem__`` for
    # ``x[k] = <call>``).
    argument_of: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return self.resolved if self.written is None else (*self.resolved, self.written)


@dataclass(frozen=True)
class FunctionInfo:
    # Every name a decorator (or the callee of a decorator call) may stand for, and as written.
    decorators: frozenset[str]
    is_async: bool


@dataclass
class AstFacts:
    """One file's calls, decorators and definitions, as names they may stand for."""

    # Every name a call's callee may stand for: resolved through the file's imports when its
    # head is imported, and always as written (``a.b.c``).
    calls: set[str] = field(default_factory=set)
    # The last part of every callee that is a name or an attribute (``create_future``, also
    # of ``get_loop().create_future()``).
    called_attrs: set[str] = field(default_factory=set)
    # Calls made at import time (module level or a class body, however nested in ``if`` or
    # ``try``) whose callee is imported: the names they may stand for.
    import_time_imported_calls: set[str] = field(default_factory=set)
    # The callee of every call made at import time, as written (``Api``, ``models.Api``).
    import_time_calls: set[str] = field(default_factory=set)
    # Whether a function declares a name ``global``.
    declares_global: bool = False
    # Every name a decorator (or the callee of a decorator call) may stand for.
    decorators: set[str] = field(default_factory=set)
    # Every name a base class of a class may stand for.
    bases: set[str] = field(default_factory=set)
    async_defs: bool = False
    # Names defined at module level by ``def`` or ``class``.
    module_defs: set[str] = field(default_factory=set)
    # Names defined at module level by ``class``.
    module_classes: set[str] = field(default_factory=set)
    # Every import binding, at any depth: the local name and every name it may stand for.
    imports: dict[str, set[str]] = field(default_factory=dict)
    # The names under ``pytest.mark.`` that a decorator or a ``pytestmark`` value (module level
    # or class body) may stand for: ``asyncio`` for ``@pytest.mark.asyncio(loop_scope=...)``.
    marks: set[str] = field(default_factory=set)
    # Every call with where it is made, in source order of the walk.
    sites: list[CallSite] = field(default_factory=list)
    # Every ``def`` and ``async def`` (``CallSite.functions`` indexes it).
    functions: list[FunctionInfo] = field(default_factory=list)
    # ``name = <call>`` anywhere: the names the callee may stand for, by the bound name
    # (``module_fixture = pytest.fixture(scope="module")``).
    assigned_calls: dict[str, set[str]] = field(default_factory=dict)

    def calls_any(self, names: Iterable[str]) -> bool:
        return not self.calls.isdisjoint(names)

    def calls_under(self, prefixes: tuple[str, ...]) -> bool:
        """A call that may name something in one of the modules ``prefixes`` (``asyncio.``)."""
        return any(name.startswith(prefixes) for name in self.calls)

    def decorated_by_any(self, names: Iterable[str]) -> bool:
        return not self.decorators.isdisjoint(names)


def ast_facts(raw: bytes, *, keep: bool = False) -> AstFacts | None:
    """The facts of ``raw``, or ``None`` when CPython cannot parse it (every rule is then a
    candidate, and libcst reports what it finds). ``keep``: remember them for the next call
    with the same bytes (a project-wide scan before the candidate stage: worker processes
    forked after it find them too)."""
    if raw in _KEPT:
        return _KEPT[raw]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: not ours to say
            tree = ast.parse(raw)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        facts = None
    else:
        facts = _Collector(tree).facts
    if keep:
        if len(_KEPT) >= _KEEP_AT_MOST:
            _KEPT.clear()
        _KEPT[raw] = facts
    return facts


# Facts kept by ``keep=True``, by the file's bytes; a long-lived process starts over when
# there are too many.
_KEPT: dict[bytes, AstFacts | None] = {}
_KEEP_AT_MOST = 4096


_MARK_PREFIX = "pytest.mark."


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Collector:
    def __init__(self, tree: ast.Module) -> None:
        self.facts = AstFacts()
        self.imports: dict[str, set[str]] = {}
        # dotted callee, attribute, where, functions, init of, argument of
        self._calls: list[
            tuple[str | None, str | None, int, tuple[int, ...], str | None, str | None]
        ] = []
        self._decorators: list[str] = []
        self._bases: list[str] = []
        self._mark_values: list[str] = []  # dotted names in ``pytestmark`` values
        self._function_decorators: list[tuple[list[str], bool]] = []
        self._assigned: list[tuple[str, str]] = []  # ``name = <dotted callee>(...)``
        # Where the scan is: context bits, enclosing functions, the ``__init__`` of a class.
        self._where = 0
        self._functions: tuple[int, ...] = ()
        self._init_of: str | None = None
        self._inits: dict[int, str] = {}  # sync ``__init__``/``__post_init__`` -> its class
        self._arguments: dict[int, str] = {}  # call -> the method it is passed to
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.facts.module_defs.add(stmt.name)
            if isinstance(stmt, ast.ClassDef):
                self.facts.module_classes.add(stmt.name)
                for method in stmt.body:
                    if isinstance(method, ast.FunctionDef) and method.name in _INITS:
                        self._inits[id(method)] = stmt.name
        self._scan(tree.body, import_time=True)
        facts = self.facts
        resolved: dict[str, tuple[str, ...]] = {}
        for dotted, attr, where, functions, init_of, argument_of in self._calls:
            names: tuple[str, ...] = ()
            if dotted is not None:
                names = resolved.get(dotted, ())
                if dotted not in resolved:
                    names = resolved[dotted] = tuple(sorted(self._resolve(dotted)))
                facts.calls.update(names)
                facts.calls.add(dotted)
                facts.called_attrs.add(dotted.rpartition(".")[2])
                if where & IMPORT_TIME:
                    facts.import_time_calls.add(dotted)
                    facts.import_time_imported_calls.update(names)
            facts.sites.append(
                CallSite(dotted, names, attr, where, functions, init_of, argument_of)
            )
        for decorators, is_async in self._function_decorators:
            every: set[str] = set()
            for dotted in decorators:
                every.update(self._resolve(dotted))
                every.add(dotted)
            facts.functions.append(FunctionInfo(frozenset(every), is_async))
        for name, dotted in self._assigned:
            facts.assigned_calls.setdefault(name, set()).update({dotted, *self._resolve(dotted)})
        for dotted in self._decorators:
            facts.decorators.update(self._resolve(dotted))
            facts.decorators.add(dotted)
        for dotted in self._bases:
            facts.bases.update(self._resolve(dotted))
            facts.bases.add(dotted)
        for dotted in (*self._decorators, *self._mark_values):
            for name in (dotted, *self._resolve(dotted)):
                if name.startswith(_MARK_PREFIX):
                    facts.marks.add(name[len(_MARK_PREFIX) :])
        facts.imports = self.imports

    def _resolve(self, dotted: str) -> set[str]:
        head, _, rest = dotted.partition(".")
        targets = self.imports.get(head)
        if not targets:
            return set()
        return {f"{t}.{rest}" if rest else t for t in targets}

    def _bind(self, name: str, qualified: str) -> None:
        self.imports.setdefault(name, set()).add(qualified)

    def _scan(self, body: list[ast.stmt], *, import_time: bool) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                is_async = isinstance(stmt, ast.AsyncFunctionDef)
                if is_async:
                    self.facts.async_defs = True
                first = len(self._decorators)
                self._expressions([*stmt.decorator_list], import_time, decorators=True)
                self._function_decorators.append((self._decorators[first:], is_async))
                self._expressions(_signature(stmt.args), import_time)
                if stmt.returns is not None:
                    self._expressions([stmt.returns], import_time)
                saved = (self._where, self._functions, self._init_of)
                if is_async:
                    self._where |= IN_ASYNC
                self._functions = (*self._functions, len(self._function_decorators) - 1)
                self._init_of = self._inits.get(id(stmt), self._init_of)
                self._scan(stmt.body, import_time=False)
                self._where, self._functions, self._init_of = saved
            elif isinstance(stmt, ast.ClassDef):
                self._expressions([*stmt.decorator_list], import_time, decorators=True)
                for base_class in stmt.bases:
                    dotted = _dotted(base_class)
                    if dotted is not None:
                        self._bases.append(dotted)
                self._expressions([*stmt.bases, *(k.value for k in stmt.keywords)], import_time)
                self._scan(stmt.body, import_time=import_time)
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname is not None:
                        self._bind(alias.asname, alias.name)
                    else:
                        head = alias.name.split(".")[0]
                        self._bind(head, head)
            elif isinstance(stmt, ast.ImportFrom):
                base = "." * stmt.level + (stmt.module or "")
                for alias in stmt.names:
                    if alias.name == "*":
                        continue
                    full = (
                        f"{base}.{alias.name}"
                        if base and not base.endswith(".")
                        else f"{base}{alias.name}"
                    )
                    self._bind(alias.asname or alias.name, full)
            else:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                    self._pytestmark(stmt)
                elif isinstance(stmt, ast.Global):
                    self.facts.declares_global = True
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                    dotted = _dotted(stmt.value.func)
                    for target in stmt.targets:
                        if isinstance(target, ast.Subscript):
                            self._arguments[id(stmt.value)] = "__setitem__"
                        elif isinstance(target, ast.Name) and dotted is not None:
                            self._assigned.append((target.id, dotted))
                inner: list[ast.stmt] = []
                expressions: list[ast.expr] = []
                for _name, value in ast.iter_fields(stmt):
                    if isinstance(value, list):
                        for item in value:
                            if isinstance(item, ast.stmt):
                                inner.append(item)
                            elif isinstance(item, ast.expr):
                                expressions.append(item)
                            elif isinstance(item, ast.AST):
                                # handlers, match cases, with items: their own fields
                                self._part(item, import_time)
                    elif isinstance(value, ast.expr):
                        expressions.append(value)
                self._expressions(expressions, import_time)
                if inner:
                    self._scan(inner, import_time=import_time)

    def _pytestmark(self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        """The names a ``pytestmark = ...`` value may hold marks under (any element, any
        depth: more than the marks pytest reads, never fewer)."""
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if stmt.value is None or not any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets
        ):
            return
        for node in ast.walk(stmt.value):
            if isinstance(node, (ast.Attribute, ast.Name)):
                dotted = _dotted(node)
                if dotted is not None:
                    self._mark_values.append(dotted)

    def _part(self, node: ast.AST, import_time: bool) -> None:
        """An except handler, a match case, a ``with`` item, a comprehension…: statements and
        expressions inside it."""
        if isinstance(node, ast.ExceptHandler):
            saved = self._where
            self._where |= IN_HANDLER
            self._part_fields(node, import_time)
            self._where = saved
        else:
            self._part_fields(node, import_time)

    def _part_fields(self, node: ast.AST, import_time: bool) -> None:
        for _, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            statements = [i for i in items if isinstance(i, ast.stmt)]
            self._expressions([i for i in items if isinstance(i, ast.expr)], import_time)
            for item in items:
                if isinstance(item, ast.AST) and not isinstance(item, (ast.stmt, ast.expr)):
                    self._part(item, import_time)
            if statements:
                self._scan(statements, import_time=import_time)

    def _expressions(
        self, nodes: list[ast.expr], import_time: bool, *, decorators: bool = False
    ) -> None:
        for top in nodes:
            if decorators:
                target = top.func if isinstance(top, ast.Call) else top
                dotted = _dotted(target)
                if dotted is not None:
                    self._decorators.append(dotted)
            where = self._where | (IMPORT_TIME if import_time else 0)
            for node in ast.walk(top):  # parents before their children
                if isinstance(node, ast.Call):
                    func = node.func
                    attr = None
                    if isinstance(func, ast.Attribute):  # on any receiver: ``f().attr()``
                        attr = func.attr
                        self.facts.called_attrs.add(attr)
                        for arg in (*node.args, *(k.value for k in node.keywords)):
                            if isinstance(arg, ast.Starred):
                                arg = arg.value
                            if isinstance(arg, ast.Call):
                                self._arguments[id(arg)] = attr
                    # (A call in a lambda or a comprehension counts as made where the lambda
                    # is, at import time too: more candidates, never fewer.)
                    self._calls.append(
                        (
                            _dotted(func),
                            attr,
                            where,
                            self._functions,
                            self._init_of,
                            self._arguments.get(id(node)),
                        )
                    )


_INITS = ("__init__", "__post_init__")


def _signature(args: ast.arguments) -> list[ast.expr]:
    found: list[ast.expr] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None and arg.annotation is not None:
            found.append(arg.annotation)
    return found
