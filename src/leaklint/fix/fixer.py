"""Apply fixes: turn the edits of diagnostics into new file contents, verify them, write them.

One pass: lint, take every applicable fix (SAFE, and UNSAFE when asked), resolve its edits to
offsets in the decoded text of each file, keep the fixes whose edits do not overlap those
already kept (the others wait for the next pass), apply them, and re-parse every changed file
(Python with libcst and CPython, TOML with tomllib, INI with iniconfig). A fix whose result does
not parse is dropped and reported. Passes repeat, re-linting the project, until no applicable
fix is left (at most ``MAX_PASSES``).

Guarantees:

* A fix is all-or-nothing, across every file it edits.
* A file is written only when its new content parses, and only if it still holds the bytes that
  were read (compared just before the replace); it is written atomically (a temporary file in
  the same folder, fsync, ``os.replace``) with its mode kept. A read-only file is not written.
* Encoding, BOM and line endings are kept: Python files are decoded and encoded the way libcst
  does (PEP 263 cookie, BOM), config files as UTF-8, and every line break an edit inserts is
  written as the file's own newline.

Anything in doubt leaves the file as it was, with one line saying why (``FixOutcome.problems``).
In diff mode nothing is written: pending contents are fed to the next pass's project instead.

Over 500 lines: the guarantees above hold only because one module owns the whole pass (resolving,
choosing, applying, verifying and writing share the per-file state of a pass).
"""

from __future__ import annotations

import ast
import bisect
import contextlib
import difflib
import io
import os
import re
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import iniconfig

from leaklint.diagnostics import Applicability, Diagnostic, Fix
from leaklint.model.project import Project
from leaklint.model.workspace import Workspace
from leaklint.python.source import SourceFile, newer_syntax
from leaklint.rules.base import Rule
from leaklint.run.engine import LintResult, add_result, lint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_PASSES = 10

# Line breaks as libcst (and Python's tokenizer) see them; not str.splitlines, which also
# breaks on \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and \u2029.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Loads a fresh project; the mapping holds contents to use instead of what is on disk.
ProjectLoader = Callable[[Mapping[Path, bytes]], Project]


class FixError(Exception):
    """An edit that cannot be applied as given (bad location, unknown file kind, ...)."""


class _Blocked(FixError):
    """The edit's file could not be written earlier in the run (already reported)."""


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Document:
    """A file as the fixer edits it: decoded text, how to encode it back, its line starts."""

    path: Path
    raw: bytes | None  # None: the file does not exist (an edit may create it)
    text: str
    encoding: str
    newline: str
    kind: str  # "python", "toml" or "ini"
    line_starts: tuple[int, ...]
    line_ends: tuple[int, ...]  # where each line's content ends (before its line break)

    def offset(self, row: int, column: int) -> int:
        """The index in ``text`` of a 1-based row and character column."""
        if row < 1 or row > len(self.line_starts):
            raise FixError(f"line {row} is outside the file ({len(self.line_starts)} lines)")
        start = self.line_starts[row - 1]
        length = self.line_ends[row - 1] - start
        if column < 1 or column > length + 1:
            raise FixError(f"column {column} is outside line {row} ({length} characters)")
        return start + column - 1

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def file_kind(path: Path) -> str | None:
    name = path.name
    if name.endswith((".py", ".pyi")):
        return "python"
    if name.endswith(".toml"):
        return "toml"
    if name.endswith((".ini", ".cfg")):
        return "ini"
    return None


def read_document(path: Path, raw: bytes | None, source: SourceFile | None = None) -> Document:
    """Decode ``raw`` (the bytes of ``path``; ``None`` if it does not exist) for editing.
    ``source`` is the file already parsed from ``raw``, when the caller has it."""
    kind = file_kind(path)
    if kind is None:
        raise FixError("leaklint does not edit files of this kind")
    if raw is None:
        text, encoding = "", "utf-8"
    elif kind == "python":
        if source is None or source.raw != raw:
            source = SourceFile.parse(path, raw)
        if source.module is None:
            reason = source.error.message if source.error else "it does not parse"
            raise FixError(f"the file does not parse ({reason})")
        encoding = source.module.encoding
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise FixError(f"the file does not decode as {encoding}") from exc
        # libcst's positions are computed on ``module.code``. It drops a final lone \r, so
        # allow trailing line breaks beyond it; any other difference is a doubt.
        code = source.module.code
        if not (text.startswith(code) and not text[len(code) :].strip("\r\n")):
            raise FixError("libcst does not read the file back as it is")
        if text.encode(encoding) != raw:
            raise FixError("the file does not survive decoding and encoding unchanged")
    else:
        try:
            text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            raise FixError(f"the file is not UTF-8 ({exc.reason})") from exc
    starts = [0]
    ends: list[int] = []
    for match in _LINE_BREAK.finditer(text):
        ends.append(match.start())
        starts.append(match.end())
    ends.append(len(text))
    first_break = _LINE_BREAK.search(text)
    newline = first_break.group() if first_break else "\n"
    document = Document(path, raw, text, encoding, newline, kind, tuple(starts), tuple(ends))
    if kind != "python" and raw is not None:
        problem = parse_problem(document, text)
        if problem is not None:
            raise FixError(f"the file does not parse ({problem})")
    return document


def parse_problem(document: Document, text: str) -> str | None:
    """Why ``text`` would not be a valid file of the document's kind; ``None`` if it is."""
    try:
        data = document.encode(text)
    except UnicodeEncodeError as exc:
        return f"the result cannot be encoded as {document.encoding} ({exc.reason})"
    if document.kind == "python":
        source = SourceFile.parse(document.path, data)
        if source.module is None:
            return source.error.message if source.error else "syntax error"
        if source.module.encoding != document.encoding:
            return f"the result would change the file's encoding to {source.module.encoding}"
        try:
            compile(data, str(document.path), "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            newer = newer_syntax(data)
            if newer is None or newer[2] is not None:  # not only syntax of a newer Python
                return f"syntax error: {exc}"
        except (RecursionError, MemoryError):
            return "the result is too deeply nested to parse"
    elif document.kind == "toml":
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            return f"invalid TOML: {exc}"
    else:
        try:
            iniconfig.IniConfig(str(document.path), data=text)
        except iniconfig.ParseError as exc:
            return f"invalid INI: {exc.msg}"
    return None


# --------------------------------------------------------------------------- one pass


@dataclass(frozen=True)
class _Span:
    path: Path
    start: int
    end: int
    content: str

    def overlaps(self, other: _Span) -> bool:
        return self.path == other.path and self.start < other.end and other.start < self.end

    def conflicts(self, other: _Span) -> bool:
        """Whether two fixes' edits cannot both be applied in one pass: they overlap, or both
        insert at the same point (which goes first is anyone's guess)."""
        if self.path != other.path:
            return False
        both_insert = self.start == self.end == other.start == other.end
        return both_insert or self.overlaps(other)


def _position(span: _Span) -> tuple[int, int]:
    return (span.start, span.end)


def _conflicts_with_taken(span: _Span, taken: list[_Span]) -> bool:
    """Whether ``span`` conflicts with one of ``taken`` (sorted, and free of conflicts among
    themselves, so only the one before ``span`` and those starting up to its end can)."""
    index = bisect.bisect_left(taken, _position(span), key=_position)
    for other in taken[max(index - 1, 0) :]:
        if other.start > span.end:
            break
        if span.conflicts(other):
            return True
    return False


@dataclass
class _Candidate:
    diagnostic: Diagnostic
    spans: tuple[_Span, ...]
    duplicates: list[Diagnostic] = field(default_factory=list)

    @property
    def paths(self) -> set[Path]:
        return {span.path for span in self.spans}


def applicable(fix: Fix | None, unsafe: bool) -> bool:
    if fix is None or not fix.edits:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return unsafe and fix.applicability is Applicability.UNSAFE


def fix_key(diagnostic: Diagnostic) -> tuple[object, ...]:
    """What identifies a fix across passes (positions shift, the change itself does not)."""
    assert diagnostic.fix is not None
    edits = tuple((str(e.path), e.content) for e in diagnostic.fix.edits)
    return (diagnostic.code, str(diagnostic.path), diagnostic.message, edits)


def apply_spans(text: str, spans: Iterable[_Span]) -> str:
    pieces: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        pieces.append(text[cursor : span.start])
        pieces.append(span.content)
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces)


@dataclass
class _Plan:
    accepted: list[_Candidate]
    documents: dict[Path, Document]
    new_text: dict[Path, str]
    rejected: list[tuple[Diagnostic, str | None]]


class _Planner:
    """Choose the fixes of one pass and compute the files they produce."""

    def __init__(self, project: Project, blocked: Mapping[Path, str]):
        self._project = project
        self._blocked = blocked
        self.documents: dict[Path, Document] = {}
        self._bad: dict[Path, str] = {}

    def document(self, path: Path) -> Document:
        if path in self._blocked:
            raise _Blocked(self._blocked[path])
        if path in self._bad:
            raise FixError(self._bad[path])
        if path not in self.documents:
            try:
                if path.exists() and not path.is_file():
                    raise FixError("not a regular file")  # never read a FIFO
                raw = self._project.read(path)
                if isinstance(raw, FileNotFoundError):
                    self.documents[path] = read_document(path, None)
                elif isinstance(raw, OSError):
                    raise FixError(f"cannot read the file: {raw.strerror or raw}")
                else:
                    # Python files were parsed for the lint already: reuse that parse.
                    source = self._project.source(path) if file_kind(path) == "python" else None
                    parsed = source if isinstance(source, SourceFile) else None
                    self.documents[path] = read_document(path, raw, parsed)
            except FixError as exc:
                self._bad[path] = str(exc)
                raise
        return self.documents[path]

    def resolve(self, diagnostic: Diagnostic) -> tuple[_Span, ...]:
        assert diagnostic.fix is not None
        spans: list[_Span] = []
        for edit in diagnostic.fix.edits:
            path = edit.path if edit.path.is_absolute() else edit.path.absolute()
            document = self.document(path)
            start = document.offset(edit.start.row, edit.start.column)
            end = document.offset(edit.end.row, edit.end.column)
            if end < start:
                raise FixError("an edit ends before it starts")
            content = _LINE_BREAK.sub(document.newline, edit.content)
            spans.append(_Span(path, start, end, content))
        for i, one in enumerate(spans):
            if any(one.overlaps(other) for other in spans[i + 1 :]):
                raise FixError("its own edits overlap")
        return tuple(spans)

    def plan(self, diagnostics: Sequence[Diagnostic]) -> _Plan:
        rejected: list[tuple[Diagnostic, str | None]] = []  # None: already reported
        accepted: list[_Candidate] = []
        by_change: dict[frozenset[_Span], _Candidate] = {}
        taken: dict[Path, list[_Span]] = {}  # kept spans of each file, sorted by position
        for diagnostic in diagnostics:
            try:
                spans = self.resolve(diagnostic)
            except _Blocked:
                rejected.append((diagnostic, None))
                continue
            except FixError as exc:
                rejected.append((diagnostic, str(exc)))
                continue
            twin = by_change.get(frozenset(spans))
            if twin is not None:
                twin.duplicates.append(diagnostic)  # the same change, asked for twice
                continue
            if any(_conflicts_with_taken(span, taken.get(span.path, [])) for span in spans):
                continue  # overlaps a fix already kept: wait for the next pass
            candidate = _Candidate(diagnostic, spans)
            accepted.append(candidate)
            by_change[frozenset(spans)] = candidate
            for span in spans:
                bisect.insort(taken.setdefault(span.path, []), span, key=_position)
        new_text = self._verify(accepted, rejected)
        return _Plan(accepted, self.documents, new_text, rejected)

    def _verify(
        self, accepted: list[_Candidate], rejected: list[tuple[Diagnostic, str | None]]
    ) -> dict[Path, str]:
        """Drop the fixes whose result does not parse; the new text of every file kept."""
        while True:
            new_text: dict[Path, str] = {}
            failing: Path | None = None
            for path in sorted({p for c in accepted for p in c.paths}):
                document = self.documents[path]
                spans = [s for c in accepted for s in c.spans if s.path == path]
                text = apply_spans(document.text, spans)
                if parse_problem(document, text) is not None:
                    failing = path
                    break
                new_text[path] = text
            if failing is None:
                return new_text
            touching = [c for c in accepted if failing in c.paths]
            document = self.documents[failing]
            guilty = False
            for candidate in touching:
                alone = apply_spans(
                    document.text, (s for s in candidate.spans if s.path == failing)
                )
                problem = parse_problem(document, alone)
                if problem is not None:
                    guilty = True
                    accepted.remove(candidate)
                    for diagnostic in (candidate.diagnostic, *candidate.duplicates):
                        rejected.append((diagnostic, f"the result would not parse: {problem}"))
            if not guilty:
                # Each parses alone but not together: keep the first, the rest wait a pass.
                for candidate in touching[1:]:
                    accepted.remove(candidate)


# --------------------------------------------------------------------------- writing


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_problem(path: Path, expected: bytes | None) -> str | None:
    """Why ``path`` cannot be written now; ``None`` when it can."""
    real = path.resolve()
    try:
        current = _current(real)
    except OSError as exc:
        return f"cannot read it again: {exc.strerror or exc}"
    if current != expected:
        return "it changed on disk while leaklint was fixing it"
    if current is not None:
        mode = real.stat().st_mode
        if not stat.S_ISREG(mode):
            return "not a regular file"
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(real, os.W_OK):
            return "the file is read-only"
        if real.stat().st_nlink > 1:
            return "the file has other hard links, which a replace would detach from it"
    if not os.access(real.parent, os.W_OK | os.X_OK):
        return f"cannot write in its folder {real.parent}"
    return None


@dataclass
class _Pending:
    path: Path  # the real path (symbolic links resolved)
    data: bytes
    expected: bytes | None
    temporary: Path | None = None


def _prepare(pending: _Pending) -> None:
    """Write the new content to a temporary file beside the target, flushed to disk."""
    real = pending.path
    descriptor, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    pending.temporary = Path(name)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pending.data)
        handle.flush()
        os.fsync(handle.fileno())
    if pending.expected is None:
        os.chmod(name, 0o666 & ~_umask())
        return
    status = real.stat()
    os.chmod(name, stat.S_IMODE(status.st_mode))
    if hasattr(os, "chown") and (status.st_uid, status.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(OSError):  # keep the owner where the system lets us
            os.chown(name, status.st_uid, status.st_gid)


def _discard(pending: _Pending) -> None:
    if pending.temporary is not None:
        with contextlib.suppress(OSError):
            pending.temporary.unlink()
        pending.temporary = None


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done: an interrupted run leaves each group of
    files all old or all new, and no temporary file behind."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_group(contents: Mapping[Path, tuple[bytes | None, bytes]]) -> Problem | None:
    """Write several files as one: either all are replaced or none is (replaces already done
    are rolled back when a later one cannot be). ``contents`` maps a path to (bytes read, new
    bytes)."""
    with _signals_deferred():
        return _write_group(contents)


def _write_group(contents: Mapping[Path, tuple[bytes | None, bytes]]) -> Problem | None:
    pending = [_Pending(path.resolve(), new, old) for path, (old, new) in contents.items()]
    done: list[_Pending] = []
    try:
        for item, path in zip(pending, contents, strict=True):
            problem = write_problem(path, item.expected)
            if problem is not None:
                return Problem(path, f"not written: {problem}")
            try:
                _prepare(item)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                return Problem(path, f"not written: cannot write a temporary file: {reason}")
        for item, path in zip(pending, contents, strict=True):
            try:
                # The last look: the file must still hold what was read.
                if _current(item.path) != item.expected:
                    problem = "it changed on disk while leaklint was fixing it"
                else:
                    assert item.temporary is not None
                    os.replace(item.temporary, item.path)
                    item.temporary = None
                    done.append(item)
                    _sync_folder(item.path.parent)
                    continue
            except OSError as exc:
                problem = exc.strerror or str(exc)
            _roll_back(done)
            extra = "; nothing of this fix was written" if len(pending) > 1 else ""
            return Problem(path, f"not written: {problem}{extra}")
        return None
    finally:
        for item in pending:
            _discard(item)


def _roll_back(done: Sequence[_Pending]) -> None:
    """Put back the files already replaced."""
    for item in reversed(done):
        with contextlib.suppress(OSError):
            if item.expected is None:
                item.path.unlink()
            else:
                _restore(item)


def _restore(item: _Pending) -> None:
    assert item.expected is not None
    back = _Pending(item.path, item.expected, item.data)
    try:
        _prepare(back)
        assert back.temporary is not None
        os.replace(back.temporary, item.path)
        back.temporary = None
    finally:
        _discard(back)


def _groups(candidates: Sequence[_Candidate]) -> list[list[_Candidate]]:
    """Fixes linked by the files they share: each group is written all-or-nothing."""
    groups: list[tuple[set[Path], list[_Candidate]]] = []
    for candidate in candidates:
        paths = set(candidate.paths)
        members = [candidate]
        for group in [g for g in groups if g[0] & paths]:
            groups.remove(group)
            paths |= group[0]
            members = group[1] + members
        groups.append((paths, members))
    return [members for _, members in groups]


# --------------------------------------------------------------------------- the loop


@dataclass(frozen=True)
class Problem:
    """Why something was left as it was: one line, about one file (or the whole run)."""

    path: Path | None
    message: str


@dataclass
class FixOutcome:
    fixed: list[Diagnostic] = field(default_factory=list)
    remaining: LintResult = field(default_factory=LintResult)
    # One line per problem: a fix dropped, a file not written, the pass bound reached.
    problems: list[Problem] = field(default_factory=list)
    # path -> (bytes before, bytes after); before is None for a file the fixes create.
    changes: dict[Path, tuple[bytes | None, bytes]] = field(default_factory=dict)
    passes: int = 0


def fix_workspace(
    workspace: Workspace,
    rules: Sequence[type[Rule]],
    *,
    unsafe: bool = False,
    write: bool = True,
    max_passes: int = MAX_PASSES,
) -> FixOutcome:
    """``fix_project`` on each pytest project of ``workspace`` (each linted again with its own
    config on every pass), the outcomes added together."""
    total = FixOutcome()
    for index in range(len(workspace.projects)):

        def load(contents: Mapping[Path, bytes], index: int = index) -> Project:
            return workspace.reload(index).use_contents(contents)

        outcome = fix_project(load, rules, unsafe=unsafe, write=write, max_passes=max_passes)
        total.fixed.extend(outcome.fixed)
        add_result(total.remaining, outcome.remaining)
        total.problems.extend(p for p in outcome.problems if p not in total.problems)
        total.changes.update(outcome.changes)
        total.passes = max(total.passes, outcome.passes)
    return total


def fix_project(
    load: ProjectLoader,
    rules: Sequence[type[Rule]],
    *,
    unsafe: bool = False,
    write: bool = True,
    max_passes: int = MAX_PASSES,
) -> FixOutcome:
    """Lint and fix until nothing applicable is left; write the files unless ``write`` is off."""
    outcome = FixOutcome()
    pending: dict[Path, bytes] = {}  # diff mode: contents not written
    original: dict[Path, bytes | None] = {}
    skipped: set[tuple[object, ...]] = set()
    blocked: dict[Path, str] = {}

    def problem(path: Path | None, message: str) -> None:
        one_line = Problem(path, " ".join(message.split()))
        if one_line not in outcome.problems:
            outcome.problems.append(one_line)

    for number in range(1, max_passes + 2):
        project = load(pending)
        result = lint(project, rules)
        outcome.remaining = result
        wanted = [
            d for d in result.diagnostics if applicable(d.fix, unsafe) and fix_key(d) not in skipped
        ]
        if not wanted:
            break
        if number > max_passes:
            problem(
                None,
                f"stopped after {max_passes} pass{'es' if max_passes != 1 else ''} with fixes "
                "still applicable; the fixes may undo each other",
            )
            break
        planner = _Planner(project, blocked)
        plan = planner.plan(wanted)
        for diagnostic, reason in plan.rejected:
            skipped.add(fix_key(diagnostic))
            if reason is None:
                continue
            where = f"line {diagnostic.location.row}: {diagnostic.code}"
            problem(diagnostic.path, f"{where} fix not applied: {reason}")
        if not plan.accepted:
            continue
        outcome.passes = number
        applied: list[_Candidate] = []
        changed: set[Path] = set()
        for group in _groups(plan.accepted):
            paths = sorted({p for c in group for p in c.paths})
            contents = {
                p: (plan.documents[p].raw, plan.documents[p].encode(plan.new_text[p]))
                for p in paths
            }
            contents = {p: v for p, v in contents.items() if v[0] != v[1]}
            if write:
                failure = write_group(contents)
                if failure is not None:
                    if failure.path is not None:
                        blocked[failure.path] = failure.message
                    # The fixes of the group that do not touch that file get another pass.
                    problem(failure.path, failure.message)
                    continue
            else:
                pending.update({p: new for p, (_, new) in contents.items()})
            for path, (old, _) in contents.items():
                original.setdefault(path, old)
            changed |= set(contents)
            applied.extend(group)
        for candidate in applied:
            outcome.fixed.extend((candidate.diagnostic, *candidate.duplicates))
        if not write and any(file_kind(p) != "python" for p in changed):
            # Config files are read from disk by the config discovery: a further pass would
            # lint stale settings. The diff shows what one pass does to them.
            problem(
                None,
                "the diff shows one pass over config files; `--fix` may apply more fixes after it",
            )
            outcome.remaining = lint(load(pending), rules)
            break

    for path, old in original.items():
        new = pending[path] if not write else _current_or(path, old)
        if new != old:
            outcome.changes[path] = (old, new)
    return outcome


def _current_or(path: Path, fallback: bytes | None) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return fallback or b""


# --------------------------------------------------------------------------- diff


def _patch_lines(data: bytes | None) -> list[bytes]:
    return io.BytesIO(data or b"").readlines()


_NEEDS_QUOTES = re.compile(r'[\s"\\\x00-\x1f\x7f]')
_C_ESCAPES = {"\t": "\\t", "\n": "\\n", '"': '\\"', "\\": "\\\\"}


def _patch_name(name: str) -> bytes:
    """A file name for a ``---``/``+++`` line: C-quoted when it holds blanks, quotes or control
    characters (git and GNU patch both read that form), bare otherwise."""
    if not _NEEDS_QUOTES.search(name):
        return name.encode("utf-8", errors="surrogateescape")
    quoted = "".join(
        _C_ESCAPES.get(ch, f"\\{ord(ch):03o}" if ord(ch) < 32 or ord(ch) == 127 else ch)
        for ch in name
    )
    return f'"{quoted}"'.encode("utf-8", errors="surrogateescape")


def unified_diff(changes: Mapping[Path, tuple[bytes | None, bytes]], cwd: Path) -> bytes:
    """A patch ``git apply`` and ``patch -p1`` accept, with paths relative to ``cwd``."""
    out: list[bytes] = []
    for path in sorted(changes):
        old, new = changes[path]
        name = os.path.relpath(path, cwd).replace(os.sep, "/")
        before = b"/dev/null" if old is None else _patch_name("a/" + name)
        after = _patch_name("b/" + name)
        lines = difflib.diff_bytes(
            difflib.unified_diff,
            _patch_lines(old),
            _patch_lines(new),
            fromfile=before,
            tofile=after,
            lineterm=b"\n",
        )
        for line in lines:
            if line.startswith((b"--- ", b"+++ ")):
                out.append(line.rstrip(b"\n") + b"\n")
            elif line.endswith(b"\n"):
                out.append(line)
            else:
                out.append(line + b"\n\\ No newline at end of file\n")
    return b"".join(out)
