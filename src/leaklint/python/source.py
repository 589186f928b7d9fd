"""One Python file: its bytes, its libcst module, and how names in it resolve.

A file is read and parsed once per run. Positions are computed lazily, only for files where a
rule reports something, by one code generation pass that notes where each node's text starts
and ends (``_Spans``): the positions libcst's ``PositionProvider`` and
``WhitespaceInclusivePositionProvider`` give, for about a third of their cost.
"""

from __future__ import annotations

import bisect
import io
import itertools
import re
import sys
import tokenize
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import libcst as cst
from libcst._nodes.internal import CodegenState  # no public name; tests/test_positions.py

from leaklint.diagnostics import Location


@dataclass(frozen=True)
class ParseError:
    """Why a file could not be read or parsed; becomes an LL001 diagnostic, unless the file is
    valid Python of a release newer than leaklint's interpreter (``newer_syntax``)."""

    message: str
    location: Location
    # What the file uses that this interpreter and libcst cannot read (``newer_syntax``).
    newer_syntax: str | None = None


@dataclass
class SourceFile:
    path: Path
    raw: bytes
    module: cst.Module | None = None
    error: ParseError | None = None

    @classmethod
    def parse(cls, path: Path, raw: bytes) -> SourceFile:
        # libcst's native parser can crash the process or run for minutes on pathologically
        # nested code that CPython's parser refuses cheaply, so CPython looks first. Its
        # syntax errors are also placed more precisely.
        verdict = cpython_verdict(raw)
        if verdict is not None and verdict.fatal:
            return cls(path, raw, error=verdict.error)
        try:
            module = cst.parse_module(raw)
        except cst.ParserSyntaxError as exc:
            if verdict is not None:
                return cls(path, raw, error=_newer_or(verdict.error, raw))
            location = Location(max(exc.raw_line, 1), exc.raw_column + 1)
            message = " ".join(exc.message.split()) or "invalid syntax"
            return cls(path, raw, error=ParseError(f"syntax error: {message}", location))
        except UnicodeDecodeError as exc:
            row = raw[: exc.start].count(b"\n") + 1
            reason = f"cannot decode file: {exc.reason}"
            return cls(path, raw, error=ParseError(reason, Location(row, 1)))
        except (RecursionError, MemoryError):
            nested = ParseError("file too deeply nested to parse", Location(1, 1))
            return cls(path, raw, error=nested)
        except Exception as exc:  # libcst raises a few other types on hostile input
            if verdict is not None:
                return cls(path, raw, error=_newer_or(verdict.error, raw))
            return cls(path, raw, error=ParseError(f"cannot parse file: {exc}", Location(1, 1)))
        return cls(path, raw, module=module)

    @property
    def text(self) -> str:
        if self.module is None:
            return self.raw.decode("utf-8", errors="replace")
        return self.module.code

    @cached_property
    def _spans(self) -> _Spans:
        assert self.module is not None, "no module: the file did not parse"
        return _Spans.of(self.module)

    def range_of(self, node: cst.CSTNode) -> tuple[Location, Location]:
        """The node's syntactic range (1-based line and column, end exclusive)."""
        start, end = self._spans.syntactic[node]
        return self._spans.location(start), self._spans.location(end)

    def whole_range_of(self, node: cst.CSTNode) -> tuple[Location, Location]:
        """The range that ``module.code_for_node(node)`` renders, whitespace it owns included."""
        start, end = self._spans.whole[node]
        return self._spans.location(start), self._spans.location(end)

    def rendered_in_place(
        self, old: cst.CSTNode, new: cst.CSTNode, start: Location, end: Location
    ) -> str:
        """The text that replaces ``old`` (written between ``start`` and ``end``) by ``new``.

        ``module.code_for_node`` renders a node as if it stood at the top level, so the
        continuation lines of a multi-line call inside a class or a block would lose the
        block's indentation. Such a node is rendered within the whole module instead, and the
        replaced stretch is cut out of the result.
        """
        assert self.module is not None
        alone = self.module.code_for_node(new)
        if "\n" not in alone and "\r" not in alone:
            return alone
        before = self.module.code
        first, last = self._offset(start), self._offset(end)
        replaced = self.module.deep_replace(old, new)
        assert isinstance(replaced, cst.Module)
        after = replaced.code
        tail = len(before) - last
        if after[:first] != before[:first] or after[len(after) - tail :] != before[last:]:
            return alone
        return after[first : len(after) - tail]

    def _offset(self, location: Location) -> int:
        """Where ``location`` is in ``module.code``."""
        return self._spans.line_starts[location.row - 1] + location.column - 1

    @cached_property
    def imports(self) -> ImportMap:
        assert self.module is not None
        return ImportMap.from_module(self.module)


@dataclass(frozen=True)
class _Verdict:
    error: ParseError
    # Fatal: libcst must not see the file (nesting that can crash it, null bytes).
    fatal: bool


_TOO_DEEP = ("too many nested parentheses", "too complex", "too deeply nested")


def cpython_verdict(raw: bytes) -> _Verdict | None:
    """What CPython's compiler says of ``raw``: ``None`` when it compiles. A full compile, not
    ``ast.parse``: on CPython 3.11 building the AST's Python objects costs more than making the
    bytecode. It also refuses a few files libcst reads (``return`` outside a function); those
    errors are not fatal, so such a file is still parsed by libcst."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the linted code's SyntaxWarnings are not ours
            compile(raw, "<file>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        location = Location(max(exc.lineno or 1, 1), max(exc.offset or 1, 1))
        fatal = any(marker in (exc.msg or "") for marker in _TOO_DEEP) or "null byte" in str(
            exc.msg
        )
        return _Verdict(ParseError(f"syntax error: {exc.msg}", location), fatal)
    except ValueError as exc:  # null bytes (Python < 3.12)
        row = raw[: raw.find(b"\0")].count(b"\n") + 1 if b"\0" in raw else 1
        return _Verdict(ParseError(f"cannot parse file: {exc}", Location(row, 1)), True)
    except (RecursionError, MemoryError):
        return _Verdict(ParseError("file too deeply nested to parse", Location(1, 1)), True)
    return None


def _newer_or(error: ParseError, raw: bytes) -> ParseError:
    """``error``, marked as newer syntax when it is only that; when the file holds newer syntax
    and a real error too, the real one (CPython stops at the first, the newer syntax)."""
    newer = newer_syntax(raw)
    if newer is None:
        return error
    what, where, real = newer
    if real is None:
        return ParseError(error.message, where, newer_syntax=what)
    return real


_TEMPLATE_PREFIXES = frozenset({"t", "tr", "rt"})
_TEMPLATE_STRINGS = "a PEP 750 template string (Python 3.14)"


def newer_syntax(raw: bytes) -> tuple[str, Location, ParseError | None] | None:
    """What in ``raw`` is syntax of a Python newer than this interpreter, where, and the error
    that remains once it is set aside (``None`` when the file then compiles); ``None`` when the
    file holds no such syntax. Covers PEP 750 template strings (``t"..."``, Python 3.14): read
    as f-strings, which share their grammar."""
    if sys.version_info >= (3, 14):
        return None
    try:
        text = raw.decode(tokenize.detect_encoding(io.BytesIO(raw).readline)[0])
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return None
    prefixes: list[tuple[int, int]] = []  # (row, column) of each template string's prefix
    previous: tokenize.TokenInfo | None = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if (
                token.type == tokenize.STRING
                and previous is not None
                and previous.type == tokenize.NAME
                and previous.string.lower() in _TEMPLATE_PREFIXES
                and previous.end == token.start
            ):
                prefixes.append(previous.start)
            previous = token
    except (tokenize.TokenError, SyntaxError):
        pass  # what was read so far counts
    if not prefixes:
        return None
    lines = io.StringIO(text).readlines()  # the lines the tokenizer numbered
    for row, column in prefixes:
        line = lines[row - 1]
        at = column + line[column:].lower().index("t")
        lines[row - 1] = line[:at] + ("f" if line[at] == "t" else "F") + line[at + 1 :]
    first = Location(prefixes[0][0], prefixes[0][1] + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile("".join(lines), "<file>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        location = Location(max(exc.lineno or 1, 1), max(exc.offset or 1, 1))
        return _TEMPLATE_STRINGS, first, ParseError(f"syntax error: {exc.msg}", location)
    except (ValueError, RecursionError, MemoryError):
        return None
    return _TEMPLATE_STRINGS, first, None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Spans(CodegenState):
    """The module's code, generated once, with the token indexes where each node's text
    starts and ends: ``syntactic`` as libcst's ``PositionProvider`` records them (a node may
    borrow its start or end from a child), ``whole`` with the whitespace the node owns, as
    ``WhitespaceInclusivePositionProvider`` does. Lines and columns are worked out only for
    the indexes asked for."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.syntactic: dict[cst.CSTNode, tuple[int, int]] = {}
        self.whole: dict[cst.CSTNode, tuple[int, int]] = {}
        self._starts: list[int] = []

    @classmethod
    def of(cls, module: cst.Module) -> _Spans:
        spans = cls(module)
        module._codegen(spans)
        return spans

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        span = (self._starts.pop(), len(self.tokens))
        self.whole.setdefault(node, span)
        self.syntactic.setdefault(node, span)  # unless the node recorded its own

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        start = len(self.tokens)
        try:
            yield
        finally:
            end = len(self.tokens)
            if start_node is not None:
                start = self.syntactic[start_node][0]
            if end_node is not None:
                end = self.syntactic[end_node][1]
            self.syntactic[node] = (start, end)

    def pop_trailing_newline(self) -> None:
        """Keep it: positions are those of the tokens as generated, as libcst's are."""

    @cached_property
    def _offsets(self) -> list[int]:
        return [0, *itertools.accumulate(map(len, self.tokens))]

    @cached_property
    def text(self) -> str:
        return "".join(self.tokens)

    @cached_property
    def line_starts(self) -> list[int]:
        return [0, *(m.end() for m in _LINE_BREAK.finditer(self.text))]

    def location(self, index: int) -> Location:
        """The 1-based line and column where token ``index`` starts."""
        offset = self._offsets[index]
        line = bisect.bisect_right(self.line_starts, offset)
        return Location(line, offset - self.line_starts[line - 1] + 1)


# --------------------------------------------------------------------------- names


def dotted_name(expr: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of attribute accesses on a name; ``None`` for anything else."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = dotted_name(expr.value)
        return None if base is None else f"{base}.{expr.attr.value}"
    return None


def _module_name(node: cst.Attribute | cst.Name) -> str:
    name = dotted_name(node)
    assert name is not None
    return name


@dataclass
class ImportMap:
    """Which qualified name each local name stands for, from the file's import statements.

    Imports at module level bind in order; a later ``def``/``class``/assignment of the same name
    at module level unbinds it (a local function called ``Thread`` is not a thread). Imports
    inside functions and classes are applied file-wide when the name is otherwise unbound: a
    cheap approximation that is right for the way test code is written.
    """

    bindings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_module(cls, module: cst.Module) -> ImportMap:
        result = cls()
        local: dict[str, str] = {}
        result._scan(module.body, top_level=True, local=local)
        for name, target in local.items():
            result.bindings.setdefault(name, target)
        return result

    def _scan(
        self,
        body: Sequence[cst.BaseStatement | cst.BaseSmallStatement],
        *,
        top_level: bool,
        local: dict[str, str],
    ) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                self._scan(stmt.body, top_level=top_level, local=local)
            elif isinstance(stmt, (cst.Import, cst.ImportFrom)):
                target = self.bindings if top_level else local
                for name, qualified in _import_bindings(stmt):
                    target[name] = qualified
            elif top_level and isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                self.bindings.pop(stmt.name.value, None)
                self._scan_block(stmt.body, top_level=False, local=local)
            elif top_level and isinstance(stmt, (cst.Assign, cst.AnnAssign)):
                targets = (
                    [t.target for t in stmt.targets]
                    if isinstance(stmt, cst.Assign)
                    else [stmt.target]
                )
                for target_expr in targets:
                    if isinstance(target_expr, cst.Name):
                        self.bindings.pop(target_expr.value, None)
            elif isinstance(stmt, cst.BaseCompoundStatement):
                inner_top = top_level and not isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
                for block in _blocks(stmt):
                    self._scan_block(block, top_level=inner_top, local=local)

    def _scan_block(self, block: cst.BaseSuite, *, top_level: bool, local: dict[str, str]) -> None:
        if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            self._scan(block.body, top_level=top_level, local=local)

    def qualified_name(self, expr: cst.BaseExpression) -> str | None:
        """The imported name ``expr`` stands for (``aio.Queue`` -> ``asyncio.Queue``), if any."""
        if isinstance(expr, cst.Call):
            return None
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        target = self.bindings.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def matches(self, expr: cst.BaseExpression, names: frozenset[str] | set[str]) -> str | None:
        """The qualified name of ``expr`` if it is one of ``names``."""
        qualified = self.qualified_name(expr)
        return qualified if qualified in names else None

    def imports_module(self, prefix: str) -> bool:
        return any(q == prefix or q.startswith(prefix + ".") for q in self.bindings.values())


def _blocks(stmt: cst.BaseCompoundStatement) -> Iterator[cst.BaseSuite]:
    if isinstance(stmt, cst.Match):  # the only compound statement without a ``body``
        for case in stmt.cases:
            yield case.body
        return
    yield stmt.body
    if isinstance(stmt, cst.If):
        orelse: cst.If | cst.Else | None = stmt.orelse
        while orelse is not None:
            yield orelse.body
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    elif isinstance(stmt, cst.Try):
        for handler in stmt.handlers:
            yield handler.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body
    elif isinstance(stmt, cst.TryStar):
        for star_handler in stmt.handlers:
            yield star_handler.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body
    elif isinstance(stmt, (cst.For, cst.While)) and stmt.orelse is not None:
        yield stmt.orelse.body


def _import_bindings(stmt: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, str]]:
    if isinstance(stmt, cst.Import):
        for alias in stmt.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                head = full.split(".")[0]
                yield head, head
        return
    if isinstance(stmt.names, cst.ImportStar):
        return
    base = "." * len(stmt.relative) + (_module_name(stmt.module) if stmt.module else "")
    for alias in stmt.names:
        imported = _module_name(alias.name)
        full = f"{base}.{imported}" if base and not base.endswith(".") else f"{base}{imported}"
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            yield alias.asname.name.value, full
        else:
            yield imported, full
