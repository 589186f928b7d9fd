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
    # One finding that several files can find (a fixture that many test modules set up): the
    # engine keeps the first diagnostic of each (code, key), in the order the files are linted.
    dedup_key: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.path), self.location.row, self.location.column, self.code)

    @property
    def help_text(self) -> str | None:
        if self.fix is not None:
            return self.fix.message
        return self.help


# --------------------------------------------------------------------------- (de)serialization
# Plain JSON-ready dicts, for the cache. ``from_dict`` raises (KeyError, TypeError, ValueError)
# on anything malformed; callers treat that as a missing entry.


def _location_to_list(location: Location) -> list[int]:
    return [location.row, location.column]


def _location_from(value: object) -> Location:
    if not (isinstance(value, list) and len(value) == 2):
        raise ValueError(f"bad location: {value!r}")
    row, column = value
    if not (isinstance(row, int) and isinstance(column, int)):
        raise ValueError(f"bad location: {value!r}")
    return Location(row, column)


def diagnostic_to_dict(diagnostic: Diagnostic) -> dict[str, object]:
    fix = diagnostic.fix
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "severity": diagnostic.severity.value,
        "path": str(diagnostic.path),
        "location": _location_to_list(diagnostic.location),
        "end_location": _location_to_list(diagnostic.end_location),
        "fix": None
        if fix is None
        else {
            "applicability": fix.applicability.value,
            "message": fix.message,
            "edits": [
                {
                    "path": str(edit.path),
                    "start": _location_to_list(edit.start),
                    "end": _location_to_list(edit.end),
                    "content": edit.content,
                }
                for edit in fix.edits
            ],
        },
        "help": diagnostic.help,
        "notes": list(diagnostic.notes),
        "dedup_key": diagnostic.dedup_key,
    }


def diagnostic_from_dict(data: dict[str, object]) -> Diagnostic:
    fix_data = data["fix"]
    fix: Fix | None = None
    if fix_data is not None:
        if not isinstance(fix_data, dict):
            raise ValueError("bad fix")
        edits = fix_data["edits"]
        if not isinstance(edits, list):
            raise ValueError("bad edits")
        fix = Fix(
            Applicability(fix_data["applicability"]),
            _text(fix_data["message"]),
            tuple(
                Edit(
                    Path(_text(edit["path"])),
                    _location_from(edit["start"]),
                    _location_from(edit["end"]),
                    _text(edit["content"]),
                )
                for edit in edits
            ),
        )
    help_text = data["help"]
    notes = data["notes"]
    dedup_key = data["dedup_key"]
    if not isinstance(notes, list):
        raise ValueError("bad notes")
    return Diagnostic(
        code=_text(data["code"]),
        name=_text(data["name"]),
        message=_text(data["message"]),
        severity=Severity(data["severity"]),
        path=Path(_text(data["path"])),
        location=_location_from(data["location"]),
        end_location=_location_from(data["end_location"]),
        fix=fix,
        help=None if help_text is None else _text(help_text),
        notes=tuple(_text(note) for note in notes),
        dedup_key=None if dedup_key is None else _text(dedup_key),
    )


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value
