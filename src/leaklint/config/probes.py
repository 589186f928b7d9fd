"""Paths a run tested for existence only: no audit event reports such a test, yet a replayed
run depends on whether the path is there. The modules that probe call ``note_probe``; whoever
records a run (``leaklint.run.snapshot``) passes in a set to collect them with ``listen``.
Kept here, below every module that probes, so that none of them imports the recorder.
"""

from __future__ import annotations

import os
from pathlib import Path

_LISTENERS: list[set[str]] = []


def note_probe(path: Path) -> None:
    """``path`` was tested for existence only: every listening set gets its absolute path."""
    for probes in _LISTENERS:
        probes.add(os.path.abspath(path))


def listen(probes: set[str]) -> None:
    """Collect the probed paths in ``probes`` until ``stop_listening(probes)``."""
    _LISTENERS.append(probes)


def stop_listening(probes: set[str]) -> None:
    # By identity: two recorders' sets may be equal.
    for index, listener in enumerate(_LISTENERS):
        if listener is probes:
            del _LISTENERS[index]
            return
