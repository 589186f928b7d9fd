"""What CPython's own parser says about one file, for the candidate stage.

libcst parses about eight times slower than ``ast.parse``. Between the token prefilter and
libcst, the engine reads each file with ``ast`` once and asks every remaining rule whether the
file holds a *candidate*: something its rule could fire on (a call that may be a thread or loop
constructor, a fixture, an import-time call into another module…). Only files with a candidate
are parsed by libcst, where the rules run unchanged.

The facts over-approximate what the libcst side resolves, never the other way round: a name is
resolved through every import of the file, at any depth and in any order (``ImportMap`` binds
fewer), so a call gets every qualified name it may stand for. A file ``ast`` cannot read gives
no facts, and every rule treats it as a candidate.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


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

    def calls_any(self, names: Iterable[str]) -> bool:
        return not self.calls.isdisjoint(names)

    def calls_under(self, prefixes: tuple[str, ...]) -> bool:
        """A call that may name something in one of the modules ``prefixes`` (``asyncio.``)."""
        return any(name.startswith(prefixes) for name in self.calls)

    def decorated_by_any(self, names: Iterable[str]) -> bool:
        return not self.decorators.isdisjoint(names)


def ast_facts(raw: bytes) -> AstFacts | None:
    """The facts of ``raw``, or ``None`` when CPython cannot parse it (every rule is then a
    candidate, and libcst reports what it finds)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: not ours to say
            tree = ast.parse(raw)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return _Collector(tree).facts


_MARK_PREFIX = "pytest.mark."
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement of ``tree`` at any depth (in functions, classes, branches, handlers and
    match cases), without walking expressions: a tenth of ``ast.walk``'s nodes."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        for block in _BLOCKS:
            children = getattr(node, block, None)
            if children:
                todo.extend(reversed(children))
        if isinstance(node, ast.stmt):
            yield node


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
        self._calls: list[tuple[str, bool]] = []  # dotted callee, made at import time
        self._decorators: list[str] = []
        self._bases: list[str] = []
        self._mark_values: list[str] = []  # dotted names in ``pytestmark`` values
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.facts.module_defs.add(stmt.name)
                if isinstance(stmt, ast.ClassDef):
                    self.facts.module_classes.add(stmt.name)
        self._scan(tree.body, import_time=True)
        facts = self.facts
        for dotted, import_time in self._calls:
            names = self._resolve(dotted)
            facts.calls.update(names)
            facts.calls.add(dotted)
            facts.called_attrs.add(dotted.rpartition(".")[2])
            if import_time:
                facts.import_time_calls.add(dotted)
                facts.import_time_imported_calls.update(names)
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
                if isinstance(stmt, ast.AsyncFunctionDef):
                    self.facts.async_defs = True
                self._expressions([*stmt.decorator_list], import_time, decorators=True)
                self._expressions(_signature(stmt.args), import_time)
                if stmt.returns is not None:
                    self._expressions([stmt.returns], import_time)
                self._scan(stmt.body, import_time=False)
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
            for node in ast.walk(top):
                if isinstance(node, ast.Call):
                    func = node.func
                    if isinstance(func, ast.Attribute):  # on any receiver: ``f().attr()``
                        self.facts.called_attrs.add(func.attr)
                    dotted = _dotted(func)
                    if dotted is not None:
                        # (A call in a lambda or a comprehension counts as made at import
                        # time: more candidates, never fewer.)
                        self._calls.append((dotted, import_time))


def _signature(args: ast.arguments) -> list[ast.expr]:
    found: list[ast.expr] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None and arg.annotation is not None:
            found.append(arg.annotation)
    return found
