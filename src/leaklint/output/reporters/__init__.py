"""Reporters: pure functions from diagnostics to text. They never read or write files,
except that ``full`` is handed the source lines it shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from leaklint.diagnostics import Diagnostic
from leaklint.output.reporters.context import ReportContext
from leaklint.output.reporters.github import render_github
from leaklint.output.reporters.json_format import render_json
from leaklint.output.reporters.json_lines import render_json_lines
from leaklint.output.reporters.sarif import render_sarif
from leaklint.output.reporters.text import render_concise, render_full

__all__ = ["REPORTERS", "ReportContext", "Reporter"]

Reporter = Callable[[Sequence[Diagnostic], ReportContext], str]


REPORTERS: dict[str, Reporter] = {
    "full": render_full,
    "concise": render_concise,
    "json": render_json,
    "json-lines": render_json_lines,
    "sarif": render_sarif,
    "github": render_github,
}
