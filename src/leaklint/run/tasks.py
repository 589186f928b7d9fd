"""What the per-file pass is given and gives back, in this process or in a worker: kept apart
from the engine so that the worker pool can name them without importing the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leaklint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from leaklint.model.loop_scope import Loop


@dataclass(frozen=True)
class FileTask:
    """One file to parse: which file rules run on it, and whether a syntax error is reported."""

    path: Path
    rules: tuple[int, ...]  # indexes into the run's file-rule list
    report_syntax_error: bool
    # Read the file with CPython's ``ast`` first and parse it with libcst only when some rule
    # has a candidate there (off: every file the prefilter keeps is parsed; same findings).
    candidates: bool = True


@dataclass
class FileOutcome:
    """What one file produced. ``reads``: what its rules read besides the file itself and the
    conftests: their paths when there are few (the ``pytest_plugins`` modules a test module
    sees), else ``"tests"`` (only test modules, e.g. for the project's loop use) or ``"all"``;
    ``None`` when nothing. The cache keys the findings on those files too."""

    diagnostics: list[Diagnostic]
    internal_errors: list[str]
    parsed: bool
    reads: str | tuple[str, ...] | None = None
    warnings: list[str] = field(default_factory=list)
    # A worker's rule asked for the project's loop use: check the file again once it is known.
    deferred: bool = False
    # A test module's loops, and the files they depend on, when its rules resolved its tests
    # (the project's loop use is their union over the async test modules).
    loops: tuple[frozenset[Loop], frozenset[Path]] | None = None
