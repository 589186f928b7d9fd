"""``github``: GitHub Actions workflow commands, one annotation per finding.

``::warning file=tests/test_x.py,line=3,col=5,endLine=3,endColumn=9,title=leaklint (LL401)::msg``

Escaping follows the Actions toolkit: in the message ``%``, CR and LF; in property values also
``:`` and ``,``, which would otherwise end the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from leaklint.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from leaklint.output.reporters.context import ReportContext


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic, ctx: ReportContext) -> str:
    level = "error" if diagnostic.severity is Severity.ERROR else "warning"
    start, end = diagnostic.location, diagnostic.end_location
    properties = {
        "file": ctx.display_path(diagnostic.path),
        "line": str(start.row),
        "col": str(start.column),
        "endLine": str(end.row),
        "endColumn": str(end.column),
        "title": f"leaklint ({diagnostic.code})",
    }
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    message = diagnostic.message
    if diagnostic.help_text:
        message += f"\nhelp: {diagnostic.help_text}"
    return f"::{level} {rendered}::{escape_data(message)}"


def render_github(diagnostics: Sequence[Diagnostic], ctx: ReportContext) -> str:
    return "".join(annotation(d, ctx) + "\n" for d in diagnostics)
