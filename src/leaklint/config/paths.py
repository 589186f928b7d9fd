"""Paths as pytest sees them: shared by the pytest config discovery and leaklint's own settings
discovery (and by a replayed run, which needs no more than these)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def absolute(path: Path) -> Path:
    """pytest's ``absolutepath``: absolute and normalized, symlinks kept."""
    return Path(os.path.abspath(path))


def common_ancestor(paths: Sequence[Path]) -> Path:
    existing = [p for p in paths if p.exists()]
    if not existing:
        return absolute(Path.cwd())
    dirs = [p if p.is_dir() else p.parent for p in existing]
    common = dirs[0]
    for d in dirs[1:]:
        while common not in (d, *d.parents):
            common = common.parent
    return common
