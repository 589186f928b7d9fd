"""``concise``: ``path:line:col: CODE message``, one finding a line, the form one problem-matcher
regex reads. ``full``: that line, then the source line with a caret and a ``help:`` line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from leaklint.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from leaklint.output.reporters.context import ReportContext

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_YELLOW = "\x1b[33m"
_CYAN = "\x1b[36m"
_BLUE = "\x1b[34m"


def _paint(text: str, code: str, ctx: ReportContext) -> str:
    return f"{code}{text}{_RESET}" if ctx.color else text


def headline(diagnostic: Diagnostic, ctx: ReportContext) -> str:
    path = _paint(ctx.display_path(diagnostic.path), _BOLD, ctx)
    where = f"{path}:{diagnostic.location.row}:{diagnostic.location.column}:"
    colour = _RED if diagnostic.severity is Severity.ERROR else _YELLOW
    code = _paint(diagnostic.code, _BOLD + colour, ctx)
    return f"{where} {code} {_one_line(diagnostic.message)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_concise(diagnostics: Sequence[Diagnostic], ctx: ReportContext) -> str:
    return "".join(headline(d, ctx) + "\n" for d in diagnostics)


def render_full(diagnostics: Sequence[Diagnostic], ctx: ReportContext) -> str:
    blocks: list[str] = []
    for diagnostic in diagnostics:
        lines = [headline(diagnostic, ctx)]
        source = ctx.source_line(diagnostic.path, diagnostic.location.row)
        if source is not None:
            gutter = str(diagnostic.location.row)
            pad = " " * len(gutter)
            start = diagnostic.location.column
            end = diagnostic.end_location.column
            if diagnostic.end_location.row != diagnostic.location.row:
                end = max(len(source.rstrip()) + 1, start + 1)
            elif end <= start:
                end = start + 1
            caret = " " * (start - 1) + "^" * max(1, end - start)
            lines.append(f"{pad} {_paint('|', _BLUE, ctx)}")
            lines.append(
                f"{_paint(gutter, _BLUE, ctx)} {_paint('|', _BLUE, ctx)} {source.rstrip()}"
            )
            lines.append(f"{pad} {_paint('|', _BLUE, ctx)} {_paint(caret, _RED, ctx)}")
        for note in diagnostic.notes:
            lines.append(f"  = note: {note}")
        help_text = diagnostic.help_text
        if help_text:
            label = "help"
            if diagnostic.fix is not None and diagnostic.fix.edits:
                label = f"help ({diagnostic.fix.applicability.value} fix)"
            lines.append(f"  = {_paint(label, _CYAN, ctx)}: {help_text}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
