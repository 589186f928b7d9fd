"""Reporters: pure functions from diagnostics to text. They never read or write files,
except that ``full`` is handed the source lines it shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from leaklint.diagnostics import Diagnostic
from leaklint.output.reporters.github import render_github
from leaklint.output.reporters.json_format import render_json
from leaklint.output.reporters.json_lines import render_json_lines
from leaklint.output.reporters.sarif import render_sarif
from leaklint.output.reporters.text import render_concise, render_full

if TYPE_CHECKING:
    from leaklint.rules.base import Rule

Reporter = Callable[[Sequence[Diagnostic], "ReportContext"], str]


class ReportContext:
    """What a reporter may know beyond the diagnostics: where paths are shown from, the
    source lines for context, whether to use colour, and (for SARIF) the rules selected for the
    run and the version to name."""

    def __init__(
        self,
        *,
        cwd: Path,
        root: Path,
        lines: Callable[[Path], list[str]] | None = None,
        color: bool = False,
        rules: Sequence[type[Rule]] = (),
        version: str = "",
    ) -> None:
        self.cwd = cwd
        self.root = root
        self._lines = lines
        self.color = color
        self.rules = tuple(rules)
        self.version = version

    def display_path(self, path: Path) -> str:
        try:
            return path.relative_to(self.cwd).as_posix()
        except ValueError:
            return path.as_posix()

    def root_relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def source_line(self, path: Path, row: int) -> str | None:
        if self._lines is None:
            return None
        lines = self._lines(path)
        return lines[row - 1] if 0 < row <= len(lines) else None


REPORTERS: dict[str, Reporter] = {
    "full": render_full,
    "concise": render_concise,
    "json": render_json,
    "json-lines": render_json_lines,
    "sarif": render_sarif,
    "github": render_github,
}
