"""Positions of functions, decorators and ``pytestmark`` without libcst's position metadata.

LL202 reads positions in many files besides the test module it checks (where each fixture it
names is defined, a fixture in a conftest it reports at); resolving libcst's ``PositionProvider``
for each of them costs a full extra pass over the tree. Python's own parser gives the same
positions for statements much faster, so this module reads them from ``ast`` and pairs each
libcst ``FunctionDef`` with its ``ast`` twin by source order (both trees hold the same ``def``
statements in the same order). When anything does not line up (``ast`` cannot parse what
libcst did, or the counts differ) it falls back to the libcst positions, which are always right.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from functools import cached_property

import libcst as cst

from leaklint.diagnostics import Location
from leaklint.model.pytest_model import requested_by_value
from leaklint.python.source import SourceFile

AstDef = ast.FunctionDef | ast.AsyncFunctionDef
_CLAUSES = (
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
)


class Locator:
    def __init__(self, source: SourceFile) -> None:
        assert source.module is not None
        self.source = source
        self.module = source.module

    @cached_property
    def _text(self) -> str:
        # The file's own text: ``module.code`` would render the whole tree again.
        return self.source.raw.decode(self.module.encoding, errors="replace")

    @cached_property
    def _tree(self) -> ast.Module | None:
        try:
            return ast.parse(self.source.raw)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None

    @cached_property
    def _lines(self) -> list[str]:
        return re.split(r"\r\n|\r|\n", self._text)

    @cached_property
    def _defs(self) -> dict[cst.FunctionDef, AstDef] | None:
        tree = self._tree
        if tree is None:
            return None
        twins = sorted(_ast_defs(tree.body), key=lambda n: (n.lineno, n.col_offset))
        nodes = list(_cst_defs(self.module))
        if len(nodes) != len(twins) or any(
            n.name.value != t.name for n, t in zip(nodes, twins, strict=True)
        ):
            return None
        return dict(zip(nodes, twins, strict=True))

    def _location(self, line: int, byte_column: int) -> Location:
        text = self._lines[line - 1] if line - 1 < len(self._lines) else ""
        column = len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))
        return Location(line, column + 1)

    def _range(self, node: ast.expr | ast.stmt) -> tuple[Location, Location]:
        end_line = node.end_lineno if node.end_lineno is not None else node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        return self._location(node.lineno, node.col_offset), self._location(end_line, end_col)

    # ---- functions ---------------------------------------------------------------------

    def name_range(self, func: cst.FunctionDef) -> tuple[Location, Location]:
        """The range of the function's name."""
        twin = self._twin(func)
        if twin is not None:
            text = self._lines[twin.lineno - 1]
            start = self._location(twin.lineno, twin.col_offset).column - 1
            match = re.compile(rf"def\s+({re.escape(twin.name)})\b").search(text, start)
            if match is not None:
                begin = Location(twin.lineno, match.start(1) + 1)
                return begin, Location(twin.lineno, match.end(1) + 1)
        return self.source.range_of(func.name)

    def start(self, func: cst.FunctionDef) -> Location:
        """Where the statement starts: its first decorator's ``@``, else ``def``/``async``."""
        twin = self._twin(func)
        if twin is None:
            first: cst.CSTNode = func.decorators[0] if func.decorators else func
            return self.source.range_of(first)[0]
        if not twin.decorator_list:
            return self._location(twin.lineno, twin.col_offset)
        expr = twin.decorator_list[0]
        at = self._location(expr.lineno, expr.col_offset)
        text = self._lines[expr.lineno - 1]
        index = text.rfind("@", 0, at.column - 1)
        return Location(at.row, index + 1) if index >= 0 else at

    def decorator_range(self, func: cst.FunctionDef, index: int) -> tuple[Location, Location]:
        """The range of the expression of the function's ``index``-th decorator."""
        twin = self._twin(func)
        if twin is not None and index < len(twin.decorator_list):
            return self._range(twin.decorator_list[index])
        return self.source.range_of(func.decorators[index].decorator)

    def requested_by_value(self, func: cst.FunctionDef) -> tuple[str, ...]:
        """Fixture names the function asks for with ``request.getfixturevalue("name")``
        (plain string literals only), read from the ``ast`` twin when there is one."""
        twin = self._twin(func)
        if twin is None:
            return requested_by_value(func)
        end = twin.end_lineno if twin.end_lineno is not None else twin.lineno
        if not any("getfixturevalue" in line for line in self._lines[twin.lineno - 1 : end]):
            return ()
        names: list[str] = []
        for node in ast.walk(twin):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getfixturevalue"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value not in names
            ):
                names.append(node.args[0].value)
        return tuple(names)

    def _twin(self, func: cst.FunctionDef) -> AstDef | None:
        defs = self._defs
        return None if defs is None else defs.get(func)

    # ---- module level ------------------------------------------------------------------

    def pytestmark(self) -> ast.Assign | None:
        """The last module-level ``pytestmark = ...`` (as ``pytest_model`` reads it)."""
        tree = self._tree
        if tree is None:
            return None
        found: ast.Assign | None = None
        for stmt in _ast_statements(tree.body):
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
            ):
                found = stmt
        return found

    def range(self, node: ast.expr | ast.stmt) -> tuple[Location, Location]:
        return self._range(node)

    def after_imports(self) -> Location | None:
        """Where the first module statement after the docstring and imports starts."""
        tree = self._tree
        if tree is None:
            return None
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            ):
                continue
            decorators = getattr(stmt, "decorator_list", None)
            if decorators:
                expr = decorators[0]
                at = self._location(expr.lineno, expr.col_offset)
                index = self._lines[expr.lineno - 1].rfind("@", 0, at.column - 1)
                return Location(at.row, index + 1) if index >= 0 else at
            return self._location(stmt.lineno, stmt.col_offset)
        return None


def _cst_defs(module: cst.Module) -> Iterator[cst.FunctionDef]:
    """Every ``FunctionDef`` in source order, walking statements only (defs are statements)."""
    return _defs_in(module.body)


def _defs_in(statements: Sequence[cst.CSTNode]) -> Iterator[cst.FunctionDef]:
    for stmt in statements:
        if isinstance(stmt, cst.FunctionDef):
            yield stmt
        if isinstance(stmt, cst.BaseCompoundStatement):
            yield from _defs_in_parts(stmt)


_PARTS = ("body", "handlers", "orelse", "finalbody", "cases")


def _defs_in_parts(node: cst.CSTNode) -> Iterator[cst.FunctionDef]:
    for attr in _PARTS:
        part = getattr(node, attr, None)
        for item in part if isinstance(part, (list, tuple)) else (part,):
            if isinstance(item, cst.IndentedBlock):
                yield from _defs_in(item.body)
            elif isinstance(item, cst.BaseCompoundStatement):  # `elif`
                yield from _defs_in((item,))
            elif isinstance(item, _CLAUSES):
                yield from _defs_in_parts(item)


def _ast_defs(statements: list[ast.stmt]) -> Iterator[AstDef]:
    """Every function definition, walking statements only."""
    for stmt in statements:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt
        for attr in _PARTS:
            part = getattr(stmt, attr, None)
            if not isinstance(part, list):
                continue
            for item in part:
                if isinstance(item, ast.stmt):
                    yield from _ast_defs([item])
                elif isinstance(item, (ast.ExceptHandler, ast.match_case)):
                    yield from _ast_defs(item.body)


def _ast_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, looking into ``if``/``try`` blocks like ``pytest_model``."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.If, ast.Try)):
            yield from _ast_statements(stmt.body)
