"""``json``: a list of objects, one per finding, in the shape DESIGN.md gives (ruff-like)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from leaklint.diagnostics import Diagnostic, Location

if TYPE_CHECKING:
    from leaklint.output.reporters.context import ReportContext


def _location(location: Location) -> dict[str, int]:
    return {"row": location.row, "column": location.column}


def diagnostic_to_dict(diagnostic: Diagnostic, ctx: ReportContext) -> dict[str, object]:
    fix: dict[str, object] | None = None
    if diagnostic.fix is not None:
        fix = {
            "applicability": diagnostic.fix.applicability.value,
            "message": diagnostic.fix.message,
            "edits": [
                {
                    "filename": ctx.display_path(edit.path),
                    "location": _location(edit.start),
                    "end_location": _location(edit.end),
                    "content": edit.content,
                }
                for edit in diagnostic.fix.edits
            ],
        }
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "severity": diagnostic.severity.value,
        "filename": ctx.display_path(diagnostic.path),
        "location": _location(diagnostic.location),
        "end_location": _location(diagnostic.end_location),
        "fix": fix,
        "help": diagnostic.help_text,
        "notes": list(diagnostic.notes),
    }


def render_json(diagnostics: Sequence[Diagnostic], ctx: ReportContext) -> str:
    return json.dumps([diagnostic_to_dict(d, ctx) for d in diagnostics], indent=2) + "\n"
