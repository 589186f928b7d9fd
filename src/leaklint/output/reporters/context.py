"""What a reporter is handed besides the diagnostics; kept apart from the reporter table so that
each reporter can name it without importing the table that imports the reporter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leaklint.rules.base import Rule


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
