"""What one Python file holds for pytest: fixtures, tests and marks.

This is the per-file half of the fixture graph. It is read straight from the libcst module with
the file's import map (so ``import pytest_asyncio as pa`` and ``from pytest import fixture`` are
understood), with no metadata pass. The project-wide half (which fixture a test sees, which loop
it runs on) builds on these values.

Values are read as pytest and pytest-asyncio read them: marks in the order pytest stores them
(``get_closest_marker`` takes the first), ``loop_scope=None`` as no value, a module-level name
bound once to a string as that string, and a module-level ``name = pytest_asyncio.fixture(...)``
as a decorator alias. Module-level classes are kept (``ClassModel``) for the inheritance that
``leaklint.model.inheritance`` resolves across modules.

Over 500 lines: the literal values, marks, fixtures, tests and classes of a file are read in
one pass over its statements, and split apart they would share most of their helpers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from leaklint.python.source import ImportMap, SourceFile, dotted_name
from leaklint.python.walk import iter_tree

FIXTURE_DECORATORS = frozenset(
    {"pytest.fixture", "pytest_asyncio.fixture", "_pytest.fixtures.fixture"}
)
# Whole words a file must write to use one of them (the prefilter's): its last part, at the
# decorator or in the import; and its module's first part, in the import.
FIXTURE_WORDS = (
    tuple(sorted({name.rpartition(".")[2].encode() for name in FIXTURE_DECORATORS})),
    tuple(sorted({name.partition(".")[0].encode() for name in FIXTURE_DECORATORS})),
)
MARK_PREFIX = "pytest.mark."
SCOPES = ("function", "class", "module", "package", "session")


def scope_rank(scope: str) -> int:
    """Narrow to wide; unknown scopes rank as ``function``."""
    return SCOPES.index(scope) if scope in SCOPES else 0


# --------------------------------------------------------------------------- literals


def literal(
    expr: cst.BaseExpression, constants: Mapping[str, str] | None = None
) -> str | bool | int | None:
    """The value of a simple literal (string, number, True/False/None), else ``None``; with
    ``constants``, a module-level name bound once to a string reads as that string."""
    if constants and isinstance(expr, cst.Name) and expr.value in constants:
        return constants[expr.value]
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return expr.value == "True"
    if isinstance(expr, cst.Integer):
        return int(expr.value, 0) if expr.value.isdigit() else None
    return None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def keyword_literal(
    call: cst.Call, name: str, constants: Mapping[str, str] | None = None
) -> str | bool | int | None:
    arg = keyword(call, name)
    return None if arg is None else literal(arg.value, constants)


def is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


# --------------------------------------------------------------------------- values


@dataclass(eq=False)
class Mark:
    """A ``pytest.mark.X`` applied to a function, a class or a module."""

    name: str
    expr: cst.BaseExpression  # the mark expression (``pytest.mark.asyncio(...)``)
    level: str  # "function" | "class" | "module"
    args: tuple[cst.Arg, ...] = ()
    constants: Mapping[str, str] = field(default_factory=dict)  # of the module it is written in

    @property
    def call(self) -> cst.Call | None:
        return self.expr if isinstance(self.expr, cst.Call) else None

    def kwarg(self, name: str) -> str | bool | int | None:
        call = self.call
        return None if call is None else keyword_literal(call, name, self.constants)

    def given(self, name: str) -> bool:
        """Whether ``name=`` is passed with a value other than ``None`` (pytest-asyncio reads
        ``kwargs.get(name) or ...``: ``None`` is the same as leaving it out)."""
        call = self.call
        arg = None if call is None else keyword(call, name)
        return arg is not None and not is_none(arg.value)

    def string_args(self) -> tuple[str, ...]:
        values = (literal(a.value) for a in self.args if a.keyword is None and a.star == "")
        return tuple(v for v in values if isinstance(v, str))

    @property
    def loop_scope(self) -> str | None:
        """``loop_scope=`` (or the deprecated ``scope=``) of an asyncio mark; ``None`` when
        neither is given or the one that counts cannot be read."""
        value = self.kwarg("loop_scope") if self.given("loop_scope") else self.kwarg("scope")
        return value if isinstance(value, str) else None


@dataclass(eq=False)
class FixtureDef:
    name: str
    function_name: str
    path: Path
    node: cst.FunctionDef
    decorator: cst.Decorator
    kind: str  # "pytest" | "pytest_asyncio"
    is_async: bool
    is_generator: bool
    scope: str  # "function" … "session"; "dynamic" when not a literal
    loop_scope: str | None
    autouse: bool
    params: tuple[str, ...]
    class_name: str | None = None
    # ``@session_fixture`` where ``session_fixture = pytest_asyncio.fixture(scope=...)``: the
    # arguments are those of that call, not written on the decorator (no fix edits them).
    alias: cst.Call | None = None

    @property
    def decorator_call(self) -> cst.Call | None:
        if self.alias is not None:
            return self.alias
        deco = self.decorator.decorator
        return deco if isinstance(deco, cst.Call) else None

    @property
    def has_loop_scope_arg(self) -> bool:
        """Whether the decorator passes ``loop_scope=`` (literal or not; ``None`` is no value)."""
        call = self.decorator_call
        arg = None if call is None else keyword(call, "loop_scope")
        return arg is not None and not is_none(arg.value)


@dataclass(eq=False)
class TestDef:
    name: str
    path: Path
    node: cst.FunctionDef
    is_async: bool
    params: tuple[str, ...]
    # In pytest's order (``iter_markers``): the function's, its classes' (innermost first),
    # the module's; ``mark(name)`` is ``get_closest_marker(name)``.
    marks: tuple[Mark, ...]
    class_names: tuple[str, ...] = ()
    class_nodes: tuple[cst.ClassDef, ...] = ()
    # A test method a class inherits: pytest collects it under the subclass (``path`` is the
    # subclass's module), but it is written in a base class, maybe in another module.
    defined_in: Path | None = None
    inherited: bool = False
    unittest: bool = False  # a ``unittest.TestCase`` method: pytest-asyncio never runs it

    @property
    def source_path(self) -> Path:
        """The file the ``def`` is written in."""
        return self.defined_in or self.path

    def mark(self, name: str) -> Mark | None:
        return next((m for m in self.marks if m.name == name), None)

    @property
    def usefixtures(self) -> tuple[str, ...]:
        names: list[str] = []
        for mark in self.marks:
            if mark.name == "usefixtures":
                names.extend(mark.string_args())
        return tuple(names)

    @property
    def qualified(self) -> str:
        return "::".join((*self.class_names, self.name))


@dataclass(eq=False)
class ClassModel:
    """A module-level class: what pytest's class collection and mark inheritance read."""

    name: str
    node: cst.ClassDef
    # Each base as written, and the qualified name it was imported as (``None``: local).
    bases: tuple[tuple[str, str | None], ...]
    body_marks: tuple[Mark, ...] | None  # the body's ``pytestmark``; ``None`` if it has none
    decorator_marks: tuple[Mark, ...]  # in pytest's order (nearest the ``class`` first)
    defines_init: bool

    @property
    def stores_marks(self) -> bool:
        """Whether the class's own ``__dict__`` holds a ``pytestmark``."""
        return self.body_marks is not None or bool(self.decorator_marks)

    def methods(self) -> Iterator[cst.FunctionDef]:
        body = self.node.body.body if isinstance(self.node.body, cst.IndentedBlock) else ()
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                yield stmt


@dataclass(eq=False)
class FileModel:
    path: Path
    fixtures: list[FixtureDef] = field(default_factory=list)
    tests: list[TestDef] = field(default_factory=list)
    module_marks: tuple[Mark, ...] = ()
    pytestmark: cst.Assign | None = None  # the module-level ``pytestmark = ...`` statement
    plugins: tuple[str, ...] = ()  # module names in a module-level ``pytest_plugins = ...``
    constants: dict[str, str] = field(default_factory=dict)  # module-level ``NAME = "text"``
    # ``name = pytest_asyncio.fixture(...)`` at module level: a decorator alias.
    aliases: dict[str, cst.Call] = field(default_factory=dict)
    classes: dict[str, ClassModel] = field(default_factory=dict)  # module-level classes
    collection: Collection | None = None  # pytest's python_functions / python_classes


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Collection:
    """pytest's ``python_functions`` / ``python_classes`` (prefixes or glob patterns)."""

    functions: tuple[str, ...] = ("test",)
    classes: tuple[str, ...] = ("Test",)

    def is_test_function(self, name: str) -> bool:
        return _name_matches(name, self.functions)

    def is_test_class(self, name: str) -> bool:
        return _name_matches(name, self.classes)


def _name_matches(name: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            if fnmatch.fnmatch(name, pattern):
                return True
        elif name.startswith(pattern):
            return True
    return False


def read_file_model(source: SourceFile, collection: Collection | None = None) -> FileModel:
    assert source.module is not None
    collection = collection or Collection()
    imports = source.imports
    model = FileModel(source.path)
    model.constants, model.aliases = _bound_once(
        source.module, imports, globals_used=b"global" in source.raw
    )
    module_marks: list[Mark] = []
    for stmt in _statements(source.module.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and _assigns_name(small, "pytestmark"):
                    model.pytestmark = small
                    module_marks = list(marks_of(small.value, imports, "module", model.constants))
                elif isinstance(small, cst.Assign) and _assigns_name(small, "pytest_plugins"):
                    model.plugins = _strings(small.value)
    model.module_marks = tuple(module_marks)
    model.collection = collection
    for stmt in _statements(source.module.body):
        if isinstance(stmt, cst.ClassDef):
            model.classes[stmt.name.value] = _class_model(stmt, imports, model.constants)
    _read_body(source, source.module.body, model, collection, (), (), ())
    return model


def _class_model(
    node: cst.ClassDef, imports: ImportMap, constants: Mapping[str, str]
) -> ClassModel:
    bases: list[tuple[str, str | None]] = []
    for arg in node.bases:
        written = dotted_name(arg.value) if arg.keyword is None else None
        if written is not None:
            bases.append((written, imports.qualified_name(arg.value)))
    inner = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    return ClassModel(
        name=node.name.value,
        node=node,
        bases=tuple(bases),
        body_marks=class_pytestmark(inner, imports, constants),
        decorator_marks=decorator_marks(node, imports, "class", constants),
        defines_init=_defines(node, "__init__"),
    )


def _statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """Top-level statements, looking into ``if``/``try`` blocks at module level."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (cst.If, cst.Try)) and isinstance(stmt.body, cst.IndentedBlock):
            yield from _statements(stmt.body.body)


def _assigns_name(assign: cst.Assign, name: str) -> bool:
    return any(isinstance(t.target, cst.Name) and t.target.value == name for t in assign.targets)


def marks_of(
    expr: cst.BaseExpression,
    imports: ImportMap,
    level: str,
    constants: Mapping[str, str] | None = None,
) -> Iterator[Mark]:
    """The marks in a decorator expression or a ``pytestmark`` value (single mark or list)."""
    if isinstance(expr, (cst.List, cst.Tuple)):
        for element in expr.elements:
            yield from marks_of(element.value, imports, level, constants)
        return
    target = expr.func if isinstance(expr, cst.Call) else expr
    qualified = imports.qualified_name(target)
    if qualified is None or not qualified.startswith(MARK_PREFIX):
        return
    name = qualified[len(MARK_PREFIX) :]
    args = tuple(expr.args) if isinstance(expr, cst.Call) else ()
    yield Mark(name, expr, level, args, dict(constants or {}))


def _bound_once(
    module: cst.Module, imports: ImportMap, *, globals_used: bool
) -> tuple[dict[str, str], dict[str, cst.Call]]:
    """Module-level names bound exactly once (and never declared ``global`` in a function):
    those bound to a string literal, and those bound to a call of a fixture decorator."""
    counts: dict[str, int] = {}
    values: dict[str, cst.BaseExpression] = {}

    def bind(target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            counts[target.value] = counts.get(target.value, 0) + 1
            if value is not None:
                values[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                bind(element.value, None)
        elif isinstance(target, cst.StarredElement):
            bind(target.value, None)

    def pruned(node: cst.CSTNode) -> bool:
        return isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.BaseExpression))

    for stmt in iter_tree(module, prune=pruned):  # every block at module level, no deeper
        if isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                bind(target.target, stmt.value if len(stmt.targets) == 1 else None)
        elif isinstance(stmt, cst.AnnAssign):
            bind(stmt.target, stmt.value)
        elif isinstance(stmt, cst.AugAssign):
            bind(stmt.target, None)
            bind(stmt.target, None)
        elif isinstance(stmt, (cst.Import, cst.ImportFrom)):
            names = stmt.names
            for alias in names if isinstance(names, Sequence) else ():
                bound: cst.BaseExpression = (
                    alias.asname.name if alias.asname is not None else alias.name
                )
                while isinstance(bound, cst.Attribute):
                    bound = bound.value
                bind(bound, None)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            bind(stmt.name, None)
        elif isinstance(stmt, cst.For):
            bind(stmt.target, None)
        elif isinstance(stmt, cst.AsName):
            bind(stmt.name, None)  # ``with ... as NAME``, ``except ... as NAME``
    for node in iter_tree(module) if globals_used else ():
        if isinstance(node, cst.Global):
            for item in node.names:
                counts[item.name.value] = 2
    constants: dict[str, str] = {}
    aliases: dict[str, cst.Call] = {}
    for name, value in values.items():
        if counts.get(name) != 1:
            continue
        text = literal(value)
        if isinstance(text, str):
            constants[name] = text
        elif isinstance(value, cst.Call) and imports.matches(value.func, FIXTURE_DECORATORS):
            aliases[name] = value
    return constants, aliases


def decorator_marks(
    node: cst.FunctionDef | cst.ClassDef,
    imports: ImportMap,
    level: str,
    constants: Mapping[str, str] | None = None,
) -> tuple[Mark, ...]:
    """The marks of ``node``'s decorators in the order pytest stores them: decorators apply
    from the bottom up, each appending its mark, so the one nearest the ``def`` comes first
    (and ``get_closest_marker`` returns it)."""
    return tuple(
        m
        for d in reversed(node.decorators)
        for m in marks_of(d.decorator, imports, level, constants)
    )


def _read_body(
    source: SourceFile,
    body: Sequence[cst.BaseStatement],
    model: FileModel,
    collection: Collection,
    class_names: tuple[str, ...],
    class_nodes: tuple[cst.ClassDef, ...],
    class_marks: tuple[Mark, ...],
) -> None:
    imports = source.imports
    in_test_class = bool(class_names)
    for stmt in _statements(body) if not class_names else body:
        if isinstance(stmt, cst.FunctionDef):
            fixture = _fixture(source, stmt, class_names[-1] if class_names else None, model)
            if fixture is not None:
                model.fixtures.append(fixture)
                continue
            if collection.is_test_function(stmt.name.value):
                function_marks = decorator_marks(stmt, imports, "function", model.constants)
                model.tests.append(
                    TestDef(
                        name=stmt.name.value,
                        path=source.path,
                        node=stmt,
                        is_async=stmt.asynchronous is not None,
                        params=_params(stmt, method=in_test_class),
                        marks=(*function_marks, *class_marks, *model.module_marks),
                        class_names=class_names,
                        class_nodes=class_nodes,
                    )
                )
        elif isinstance(stmt, cst.ClassDef) and collection.is_test_class(stmt.name.value):
            if _defines(stmt, "__init__"):
                continue
            inner = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
            # pytest keeps a class's marks in its ``pytestmark``: the body's list first, then
            # each decorator's mark as it is applied (the one nearest the ``class`` first).
            own_marks = (
                *(class_pytestmark(inner, imports, model.constants) or ()),
                *decorator_marks(stmt, imports, "class", model.constants),
            )
            _read_body(
                source,
                [s for s in inner if isinstance(s, cst.BaseStatement)],
                model,
                collection,
                (*class_names, stmt.name.value),
                (*class_nodes, stmt),
                (*own_marks, *class_marks),
            )
        elif isinstance(stmt, cst.ClassDef):
            # Fixtures can live on any class used as a plugin; tests only in Test* classes.
            inner = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
            for member in inner:
                if isinstance(member, cst.FunctionDef):
                    fixture = _fixture(source, member, stmt.name.value, model)
                    if fixture is not None:
                        model.fixtures.append(fixture)


def _defines(cls: cst.ClassDef, name: str) -> bool:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return any(isinstance(s, cst.FunctionDef) and s.name.value == name for s in body)


def method_params(func: cst.FunctionDef) -> tuple[str, ...]:
    """The fixture names a test method asks for (``self`` aside)."""
    return _params(func, method=True)


def _params(func: cst.FunctionDef, *, method: bool) -> tuple[str, ...]:
    params = [
        p.name.value
        for p in (*func.params.posonly_params, *func.params.params, *func.params.kwonly_params)
        if p.default is None
    ]
    if method and params and not _is_static(func):
        params = params[1:]  # self / cls
    return tuple(params)


def _is_static(func: cst.FunctionDef) -> bool:
    return any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
        for d in func.decorators
    )


def fixture_decorator(
    func: cst.FunctionDef,
    imports: ImportMap,
    aliases: Mapping[str, cst.Call] | None = None,
) -> tuple[cst.Decorator, str] | None:
    """The fixture decorator of ``func`` and its kind, ``pytest`` or ``pytest_asyncio`` (with
    ``aliases``, also a bare name bound to a call of one)."""
    for decorator in func.decorators:
        expr = decorator.decorator
        if aliases and isinstance(expr, cst.Name) and expr.value in aliases:
            expr = aliases[expr.value]
        target = expr.func if isinstance(expr, cst.Call) else expr
        qualified = imports.matches(target, FIXTURE_DECORATORS)
        if qualified is not None:
            kind = "pytest_asyncio" if qualified.startswith("pytest_asyncio") else "pytest"
            return decorator, kind
    return None


def _fixture(
    source: SourceFile, func: cst.FunctionDef, class_name: str | None, model: FileModel
) -> FixtureDef | None:
    found = fixture_decorator(func, source.imports, model.aliases)
    if found is None:
        return None
    decorator, kind = found
    expr = decorator.decorator
    alias = model.aliases.get(expr.value) if isinstance(expr, cst.Name) else None
    call = alias if alias is not None else expr if isinstance(expr, cst.Call) else None
    constants = model.constants
    scope: str = "function"
    loop_scope: str | None = None
    autouse = False
    name = func.name.value
    if call is not None:
        scope_arg = keyword(call, "scope")
        if scope_arg is None and call.args and call.args[0].keyword is None:
            scope_arg = call.args[0]  # pytest.fixture("module") (old positional form)
        if scope_arg is not None and not is_none(scope_arg.value):
            value = literal(scope_arg.value, constants)
            scope = value if isinstance(value, str) else "dynamic"
        loop_value = keyword_literal(call, "loop_scope", constants)
        loop_scope = loop_value if isinstance(loop_value, str) else None
        autouse = keyword_literal(call, "autouse") is True
        given_name = keyword_literal(call, "name", constants)
        if isinstance(given_name, str):
            name = given_name
    return FixtureDef(
        name=name,
        function_name=func.name.value,
        path=source.path,
        node=func,
        decorator=decorator,
        kind=kind,
        is_async=func.asynchronous is not None,
        is_generator=contains_yield(func),
        scope=scope,
        loop_scope=loop_scope,
        autouse=autouse,
        params=_params(func, method=class_name is not None),
        class_name=class_name,
        alias=alias,
    )


_OWN_SCOPE = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def contains_yield(func: cst.FunctionDef) -> bool:
    """Whether the function itself yields (nested functions and classes do not count)."""
    inner = iter_tree(func.body, prune=lambda node: isinstance(node, _OWN_SCOPE))
    return any(isinstance(node, cst.Yield) for node in inner)


# --------------------------------------------------------------------------- requests


def class_pytestmark(
    body: Sequence[cst.BaseStatement | cst.BaseSmallStatement],
    imports: ImportMap,
    constants: Mapping[str, str] | None = None,
) -> tuple[Mark, ...] | None:
    """The marks of a ``pytestmark = ...`` assignment in a class body (they apply to its
    tests); ``None`` when the body assigns none."""
    marks: list[Mark] | None = None
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and _assigns_name(small, "pytestmark"):
                    marks = list(marks_of(small.value, imports, "class", constants))
    return None if marks is None else tuple(marks)


def requested_by_value(func: cst.FunctionDef) -> tuple[str, ...]:
    """Fixture names a test or fixture asks for with ``request.getfixturevalue("name")``.

    Only plain string literals count; a computed name is unknowable statically.
    """
    names: list[str] = []
    for node in iter_tree(func.body):
        if not isinstance(node, cst.Call) or not node.args or node.args[0].keyword is not None:
            continue
        func_expr = node.func
        if isinstance(func_expr, cst.Attribute) and func_expr.attr.value == "getfixturevalue":
            value = literal(node.args[0].value)
            if isinstance(value, str) and value not in names:
                names.append(value)
    return tuple(names)


def parametrized_names(marks: Sequence[Mark]) -> frozenset[str]:
    """Argument names that ``pytest.mark.parametrize`` supplies directly (not ``indirect``).

    pytest gives such an argument its parameter value, hiding any fixture of the same name.
    """
    names: set[str] = set()
    for mark in marks:
        if mark.name != "parametrize" or not mark.args:
            continue
        first = mark.args[0] if mark.args[0].keyword is None else None
        argnames_arg = first or next(
            (a for a in mark.args if a.keyword is not None and a.keyword.value == "argnames"),
            None,
        )
        if argnames_arg is None:
            continue
        argnames = _argnames(argnames_arg.value)
        indirect = mark.kwarg("indirect")
        if indirect is True:
            continue
        indirect_names: set[str] = set()
        call = mark.call
        indirect_arg = None if call is None else keyword(call, "indirect")
        if indirect_arg is not None and isinstance(indirect_arg.value, (cst.List, cst.Tuple)):
            indirect_names = set(_argnames(indirect_arg.value))
        names.update(n for n in argnames if n not in indirect_names)
    return frozenset(names)


def _argnames(expr: cst.BaseExpression) -> tuple[str, ...]:
    value = literal(expr)
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip())
    if isinstance(expr, (cst.List, cst.Tuple)):
        items = (literal(e.value) for e in expr.elements)
        return tuple(v.strip() for v in items if isinstance(v, str))
    return ()


def _strings(expr: cst.BaseExpression) -> tuple[str, ...]:
    """A string literal, or the string literals of a list or tuple."""
    value = literal(expr)
    if isinstance(value, str):
        return (value,)
    if isinstance(expr, (cst.List, cst.Tuple)):
        items = (literal(e.value) for e in expr.elements)
        return tuple(v for v in items if isinstance(v, str))
    return ()
