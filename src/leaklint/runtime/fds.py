"""Opt-in (``--leaklint-fds``): file descriptors and sockets an owner opened and left open.

There is no creation function to wrap for a descriptor, so this one works by difference: the
open descriptors (number and what it points at) when an owner starts and when it ends. What a
fixture opened while it was set up is the fixture's, so a test that first requests a wide
fixture is not charged for the fixture's connection.
"""

from __future__ import annotations

import os
from pathlib import Path

from leaklint.runtime.leaks import Leak
from leaklint.runtime.track import Owner

_FOLDERS = ("/proc/self/fd", "/dev/fd")

Open = dict[int, str]  # descriptor: what it points at ("socket:[123]", a path, "pipe:[4]")


def _folder() -> str | None:
    return next((folder for folder in _FOLDERS if os.path.isdir(folder)), None)


FOLDER = _folder()


def supported() -> bool:
    return FOLDER is not None


def snapshot() -> Open:
    if FOLDER is None:
        return {}
    found: Open = {}
    for name in os.listdir(FOLDER):
        try:
            found[int(name)] = os.readlink(f"{FOLDER}/{name}")
        except (OSError, ValueError):  # closed meanwhile, or the listing's own descriptor
            continue
    return found


def opened(before: Open, after: Open) -> Open:
    """What is open in ``after`` and was not (the same thing) in ``before``."""
    return {fd: target for fd, target in after.items() if before.get(fd) != target}


def still_open(claimed: Open) -> Open:
    now = snapshot()
    return {fd: target for fd, target in claimed.items() if now.get(fd) == target}


def kind_of(target: str) -> str:
    return "socket" if target.startswith("socket:") else "fd"


def shown(target: str, root: Path) -> str:
    try:
        return Path(target).relative_to(root).as_posix()
    except ValueError:
        return target


def fd_leaks(owner: Owner, left: Open, root: Path) -> list[Leak]:
    return [
        Leak(
            kind=kind_of(target),
            owner=owner.label,
            owner_kind=owner.kind,
            nodeid=owner.nodeid,
            name=shown(target, root),
            detail=f"descriptor {fd}, still open",
            created=(),
            project_frame=None,
            code=None,
            rule=None,
            hint="",
        )
        for fd, target in sorted(left.items())
    ]
