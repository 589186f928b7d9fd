"""The values the engine produces: diagnostics, their locations and their fixes.

Everything here is an immutable value. Rules build them, the engine filters and sorts them,
reporters format them and the fixer applies their edits. Lines and columns are 1-based; a
column counts characters (not bytes) of the decoded line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Applicability(enum.Enum):
    """How far a fix can be trusted. ``--fix`` applies SAFE, ``--unsafe-fixes`` also UNSAFE."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True, order=True)
class Location:
    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between ``start`` (inclusive) and ``end`` (exclusive) of ``path``."""

    path: Path
    start: Location
    end: Location
    content: str


@dataclass(frozen=True)
class Fix:
    applicability: Applicability
    message: str
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    severity: Severity
    path: Path
    location: Location
    end_location: Location
    fix: Fix | None = None
    # Free-text advice shown as ``help:`` when the finding has no applicable edits.
    help: str | None = None
    # Extra context lines (e.g. a chain of fixtures); reporters may show them.
    notes: tuple[str, ...] = field(default=())

    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.path), self.location.row, self.location.column, self.code)

    @property
    def help_text(self) -> str | None:
        if self.fix is not None:
            return self.fix.message
        return self.help
