"""Reporters: pure functions from diagnostics to text. They never read or write files,
except that ``full`` is handed the source lines it shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from leaklint.diagnostics import Diagnostic
from leaklint.reporters.json_format import render_json
from leaklint.reporters.text import render_concise, render_full

Reporter = Callable[[Sequence[Diagnostic], "ReportContext"], str]


class ReportContext:
    """What a reporter may know beyond the diagnostics: where paths are shown from, the
    source lines for context, and whether to use colour."""

    def __init__(
        self,
        *,
        cwd: Path,
        root: Path,
        lines: Callable[[Path], list[str]] | None = None,
        color: bool = False,
    ) -> None:
        self.cwd = cwd
        self.root = root
        self._lines = lines
        self.color = color

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
}
