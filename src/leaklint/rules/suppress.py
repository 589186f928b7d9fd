"""Suppression comments, and which of them were used.

Forms (codes may be prefixes such as ``LL4``; a comment without codes covers every code):

* ``# leaklint: ignore[LL401, LL402]`` / ``# leaklint: ignore`` on the line a finding points to;
* ``# noqa: LL401`` / ``# noqa`` on that line (``# noqa: E501`` names no leaklint code and
  suppresses nothing here);
* in Python files, also on the first line of the statement the finding is in (a finding on line
  3 of a call that starts on line 1 is suppressed by a comment on line 1);
* in config files (TOML, INI, ``Cargo.toml``), also a comment alone on the line directly above
  the finding, because INI values keep trailing comments as part of the value; INI files may use
  ``;`` as well as ``#``;
* ``# leaklint: ignore-file[LL401]`` / ``# leaklint: ignore-file`` in the comment block at the top
  of a file covers the whole file.

``Suppressor`` filters diagnostics and records which comments (and which of their codes) did
something, so that LL003 can report the ones that suppressed nothing.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location

if TYPE_CHECKING:
    from leaklint.model.project import Project
    from leaklint.rules.base import Rule

_COMMENT = re.compile(
    r"(?P<leader>[#;])\s*(?:"
    r"leaklint:\s*(?P<kind>ignore-file|ignore)\b(?:\s*\[(?P<bracket>[^\]]*)\])?"
    r"|(?P<noqa>noqa)\b(?::\s*(?P<colon>[A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+)*))?"
    r")",
    re.IGNORECASE,
)
_LL_CODE = re.compile(r"^LL\d*$", re.IGNORECASE)
_MARKERS = (b"leaklint", b"noqa", b"NOQA")
UNUSED_CODE = "LL003"


@dataclass(frozen=True)
class Suppression:
    """One suppression comment."""

    line: int
    column: int  # 1-based column of the comment's ``#``
    end_column: int  # exclusive end of the matched directive
    text: str  # the directive as written
    codes: tuple[str, ...] | None  # None: every code
    noqa: bool = False
    file_level: bool = False
    own_line: bool = False  # nothing but this comment on its line
    # Other tools' codes in the same noqa list; the fix keeps them.
    foreign: tuple[str, ...] = ()

    def covers(self, code: str) -> bool:
        return self.codes is None or any(code.startswith(c) for c in self.codes)


def parse_suppressions(text: str, *, python: bool, ini: bool = False) -> list[Suppression]:
    """Every suppression comment in ``text``. In Python files only real comments count (a
    ``# noqa`` inside a string is not one)."""
    if not any(m.decode() in text for m in _MARKERS):
        return []
    lines = text.splitlines()
    comments = _python_comments(text) if python else None
    if comments is None:
        comments = _line_comments(lines, ini=ini)
    top = _top_comment_block(lines, ini=ini)
    found: list[Suppression] = []
    for line, column, comment in comments:
        for match in _COMMENT.finditer(comment):
            if match["leader"] == ";" and not ini:
                continue
            suppression = _suppression(match, line, column, lines[line - 1], top)
            if suppression is not None:
                found.append(suppression)
    return found


def _suppression(
    match: re.Match[str], line: int, column: int, source_line: str, top: int
) -> Suppression | None:
    start = column + match.start()
    own_line = not source_line[: start - 1].strip()
    if match["noqa"]:
        raw = match["colon"]
        if raw is None:
            return Suppression(line, start, column + match.end(), match[0], None, noqa=True)
        names = [c.strip().upper() for c in raw.split(",") if c.strip()]
        ours = tuple(c for c in names if _LL_CODE.match(c))
        if not ours:
            return None  # another tool's noqa
        foreign = tuple(c for c in names if not _LL_CODE.match(c))
        return Suppression(
            line,
            start,
            column + match.end(),
            match[0],
            ours,
            noqa=True,
            own_line=own_line,
            foreign=foreign,
        )
    file_level = match["kind"].lower() == "ignore-file"
    if file_level and line > top:
        return None
    codes = None
    if match["bracket"] is not None:
        codes = tuple(c.strip().upper() for c in match["bracket"].split(",") if c.strip()) or None
    return Suppression(
        line,
        start,
        column + match.end(),
        match[0],
        codes,
        file_level=file_level,
        own_line=own_line,
    )


def _python_comments(text: str) -> list[tuple[int, int, str]] | None:
    """(line, 1-based column, comment text) of every comment; None if the file won't tokenize."""
    found: list[tuple[int, int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0], token.start[1] + 1, token.string))
    except (tokenize.TokenError, SyntaxError):
        return None
    return found


def _line_comments(lines: list[str], *, ini: bool) -> list[tuple[int, int, str]]:
    """Comments in config files: from the first ``#`` (or ``;`` in INI) that starts a directive."""
    found: list[tuple[int, int, str]] = []
    for number, line in enumerate(lines, start=1):
        match = _COMMENT.search(line)
        if match is None or (match["leader"] == ";" and not ini):
            continue
        found.append((number, match.start() + 1, line[match.start() :]))
    return found


def _top_comment_block(lines: list[str], *, ini: bool) -> int:
    """The last line of the comment block a file starts with (blank lines included)."""
    leaders = ("#", ";") if ini else ("#",)
    last = 0
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(leaders):
            break
        last = number
    return last


# --------------------------------------------------------------------------- statements


RangeOf = Callable[[cst.CSTNode], tuple[Location, Location]]


def statement_start(module: cst.Module, range_of: RangeOf, line: int) -> int | None:
    """The first line of the statement (or compound-statement header, or decorator) that
    holds ``line``."""
    finder = _StatementFinder(range_of, line)
    module.visit(finder)
    return finder.start


class _StatementFinder(cst.CSTVisitor):
    def __init__(self, range_of: RangeOf, line: int) -> None:
        super().__init__()
        self.range_of = range_of
        self.line = line
        self.start: int | None = None

    def _inside(self, node: cst.CSTNode) -> tuple[int, int] | None:
        start, end = self.range_of(node)
        if start.row <= self.line <= end.row:
            return start.row, end.row
        return None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.Decorator)):
            span = self._inside(node)
            if span is not None:
                self.start = span[0]
            return False
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            for decorator in node.decorators:
                span = self._inside(decorator)
                if span is not None:
                    self.start = span[0]
                    return False
        if isinstance(node, cst.BaseCompoundStatement):
            span = self._inside(node)
            if span is None:
                return False
            body = getattr(node, "body", None)
            if isinstance(body, cst.IndentedBlock):
                body_start = self.range_of(body)[0].row
                if self.line < body_start:
                    self.start = self.range_of(node)[0].row
                    return False
            else:
                self.start = span[0]
            return True
        return True


# --------------------------------------------------------------------------- filtering


@dataclass
class _FileTable:
    path: Path
    suppressions: list[Suppression]
    by_line: dict[int, list[Suppression]] = field(default_factory=dict)
    file_level: list[Suppression] = field(default_factory=list)
    python: bool = False

    def __post_init__(self) -> None:
        for s in self.suppressions:
            if s.file_level:
                self.file_level.append(s)
            else:
                self.by_line.setdefault(s.line, []).append(s)


@dataclass
class Suppressor:
    """Drops suppressed diagnostics and remembers which comments and codes were used."""

    project: Project
    _tables: dict[Path, _FileTable] = field(default_factory=dict)
    # (path, line, column) of a comment -> the codes of it that suppressed something
    # (None stands for a comment without codes).
    used: dict[tuple[Path, int, int], set[str | None]] = field(default_factory=dict)

    def table(self, path: Path) -> _FileTable:
        if path not in self._tables:
            raw = self.project.read(path)
            text = "" if isinstance(raw, OSError) else raw.decode("utf-8", errors="replace")
            python = path.suffix in (".py", ".pyi")
            ini = path.suffix in (".ini", ".cfg")
            found = parse_suppressions(text, python=python, ini=ini) if text else []
            self._tables[path] = _FileTable(path, found, python=python)
        return self._tables[path]

    def filter(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        return [d for d in diagnostics if not self.suppressed(d)]

    def suppressed(self, diagnostic: Diagnostic) -> bool:
        table = self.table(diagnostic.path)
        if not table.suppressions:
            return False
        hits = [
            s for s in self._candidates(table, diagnostic.location.row) if s.covers(diagnostic.code)
        ]
        for s in hits:
            key = (table.path, s.line, s.column)
            codes = self.used.setdefault(key, set())
            if s.codes is None:
                codes.add(None)
            else:
                codes.update(c for c in s.codes if diagnostic.code.startswith(c))
        return bool(hits)

    def _candidates(self, table: _FileTable, line: int) -> list[Suppression]:
        found = [*table.file_level, *table.by_line.get(line, ())]
        if table.python and any(other < line for other in table.by_line):
            first = self._statement_start(table.path, line)
            if first is not None and first != line:
                found += table.by_line.get(first, ())
        elif line > 1:
            found += [s for s in table.by_line.get(line - 1, ()) if s.own_line]
        return found

    def _statement_start(self, path: Path, line: int) -> int | None:
        source = self.project.source(path)
        if isinstance(source, OSError) or source.module is None:
            return None
        return statement_start(source.module, source.range_of, line)

    # ---- LL003 --------------------------------------------------------------------------

    def unused(
        self, paths: Iterable[Path], selected: Sequence[type[Rule]], every: Sequence[type[Rule]]
    ) -> list[UnusedSuppression]:
        """Every comment (or code in one) that suppressed nothing, judging only codes whose
        rules all ran. A comment without codes is judged only when every rule ran; a bare
        ``# noqa`` never is (it may be meant for another tool), nor a comment naming LL003.
        A comment naming LL003 that applies to the line (as for any finding) silences it."""
        selected_codes = {r.code for r in selected}
        all_codes = [r.code for r in every]

        def judged(code: str) -> bool:
            covered = [c for c in all_codes if c.startswith(code)]
            return bool(covered) and all(c in selected_codes for c in covered)

        all_ran = all(c in selected_codes for c in all_codes)
        found: list[UnusedSuppression] = []
        for path in paths:
            raw = self.project.read(path)
            if isinstance(raw, OSError) or not any(m in raw for m in _MARKERS):
                continue
            lines = raw.decode("utf-8", errors="replace").splitlines()
            table = self.table(path)
            for s in table.suppressions:
                used = self.used.get((path, s.line, s.column), set())
                source_line = lines[s.line - 1]
                unterminated = s.line == len(lines) and not raw.endswith((b"\n", b"\r"))
                if s.codes is None:
                    judge = all_ran and not s.noqa and not used
                    if judge and not self._silenced(table, s.line):
                        found.append(UnusedSuppression(path, s, (), source_line, unterminated))
                    continue
                if UNUSED_CODE in s.codes:
                    continue
                unused = tuple(c for c in s.codes if c not in used and judged(c))
                if unused and not self._silenced(table, s.line):
                    found.append(UnusedSuppression(path, s, unused, source_line, unterminated))
        return found

    def _silenced(self, table: _FileTable, line: int) -> bool:
        return any(
            s.codes is not None and UNUSED_CODE in s.codes for s in self._candidates(table, line)
        )


@dataclass(frozen=True)
class UnusedSuppression:
    path: Path
    suppression: Suppression
    unused: tuple[str, ...]  # empty: the whole comment (it has no codes)
    source_line: str
    # The comment's line is the file's last and has no line break.
    unterminated: bool = False

    @property
    def whole(self) -> bool:
        s = self.suppression
        return s.codes is None or (set(s.codes) <= set(self.unused) and not s.foreign)

    def fix(self) -> Fix:
        return removal_fix(
            self.path, self.suppression, self.unused, self.source_line, self.unterminated
        )


def removal_fix(
    path: Path, s: Suppression, unused: Sequence[str], source_line: str, unterminated: bool = False
) -> Fix:
    """Remove the comment, or only its unused codes."""
    codes = s.codes or ()
    kept = [c for c in codes if c not in unused]
    if s.codes is not None and (kept or s.foreign):
        names = ", ".join([*s.foreign, *kept]) if s.noqa else ", ".join(kept)
        if s.noqa:
            text = f"# noqa: {names}"
        else:
            kind = "ignore-file" if s.file_level else "ignore"
            text = f"# leaklint: {kind}[{names}]"
        start = Location(s.line, s.column)
        end = Location(s.line, s.end_column)
        removed = ", ".join(unused)
        return Fix(
            Applicability.SAFE,
            f"Remove {removed} from the comment",
            (Edit(path, start, end, text),),
        )
    before = source_line[: s.column - 1]
    rest = source_line[s.end_column - 1 :]
    if not before.strip() and not rest.strip():
        # The comment is the whole line: drop the line.
        end = Location(s.line, len(source_line) + 1) if unterminated else Location(s.line + 1, 1)
        edit = Edit(path, Location(s.line, 1), end, "")
    else:
        trimmed = before.rstrip()
        rest = rest.strip()
        # ``# leaklint: ignore[X]  # other comment``: keep the other comment.
        if rest.startswith("#"):
            new = "  " + rest
        elif rest:
            new = "  # " + rest
        else:
            new = ""
        edit = Edit(
            path,
            Location(s.line, len(trimmed) + 1),
            Location(s.line, len(source_line) + 1),
            new,
        )
    return Fix(Applicability.SAFE, "Remove the unused suppression comment", (edit,))
