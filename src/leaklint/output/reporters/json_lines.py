"""``json-lines``: one JSON object per line, the same objects as ``json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from leaklint.diagnostics import Diagnostic
from leaklint.output.reporters.json_format import diagnostic_to_dict

if TYPE_CHECKING:
    from leaklint.output.reporters.context import ReportContext


def render_json_lines(diagnostics: Sequence[Diagnostic], ctx: ReportContext) -> str:
    return "".join(json.dumps(diagnostic_to_dict(d, ctx)) + "\n" for d in diagnostics)
