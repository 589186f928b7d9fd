"""What is still alive of what an owner made, as :class:`Leak` records: the object, where it was
made, and the static rule that covers the pattern.

An object is alive when a thread or process still runs, a ``Popen`` was never waited for, a loop
was never closed, a task is still pending, or an executor or pool was never shut down.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaklint.runtime.track import Frame, Owner, Tracked

# The static rule for each kind of leak: (code, name). Checked against the rule registry by the
# tests, so that a renamed rule cannot leave a stale name here.
RULES: dict[str, tuple[str, str]] = {
    "thread": ("LL401", "thread-not-joined"),
    "process": ("LL404", "process-not-reaped"),
    "popen": ("LL404", "process-not-reaped"),
    "loop": ("LL304", "implicit-or-unclosed-loop"),
    "executor": ("LL403", "executor-not-shutdown"),
    "pool": ("LL403", "executor-not-shutdown"),
}

_LIBRARIES = ("site-packages", "dist-packages")


@dataclass(frozen=True)
class Leak:
    kind: str  # "thread", "daemon-thread", "process", "popen", "loop", "task", "executor", "pool"
    owner: str  # the owner's label
    owner_kind: str  # "test", "fixture" or "session"
    nodeid: str
    name: str  # what the object is called: thread name, task name, pid, ...
    detail: str  # target, coroutine, command line, ...
    created: tuple[Frame, ...]
    project_frame: Frame | None
    code: str | None
    rule: str | None
    hint: str

    @property
    def blocks_exit(self) -> bool:
        """Daemon threads and pending tasks do not keep the interpreter alive."""
        return self.kind not in ("daemon-thread", "task")

    def to_dict(self, root: Path) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "owner": {"kind": self.owner_kind, "label": self.owner, "nodeid": self.nodeid},
            "object": self.name,
            "detail": self.detail,
            "code": self.code,
            "rule": self.rule,
            "created": [frame_dict(frame, root) for frame in self.created],
            "project_frame": frame_dict(self.project_frame, root) if self.project_frame else None,
            "hint": self.hint,
        }


def frame_dict(frame: Frame, root: Path) -> dict[str, Any]:
    return {"path": shown_path(frame.path, root), "line": frame.line, "function": frame.function}


def shown_path(path: str, root: Path) -> str:
    path = os.path.normpath(path)
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        for marker in _LIBRARIES:
            if marker in path:
                return path.split(marker + os.sep, 1)[-1]
        return path


def in_project(path: str, root: Path) -> bool:
    path = os.path.normpath(path)
    if any(marker in path for marker in _LIBRARIES) or path.startswith(sys.prefix + os.sep):
        return False
    try:
        Path(path).relative_to(root)
    except ValueError:
        return False
    return True


def is_alive(kind: str, obj: Any) -> bool:
    try:
        if kind in ("thread", "process"):
            return bool(obj.is_alive())
        if kind == "popen":
            return obj.returncode is None
        if kind == "loop":
            return not obj.is_closed()
        if kind == "task":
            return not obj.done()
        if kind == "executor":
            return not getattr(obj, "_shutdown", getattr(obj, "_shutdown_thread", True))
        if kind == "pool":
            return getattr(obj, "_state", None) == "RUN"
    except (AssertionError, AttributeError, ValueError):  # another process's object, or gone
        return False
    return False


def describe(kind: str, obj: Any, root: Path) -> tuple[str, str]:
    """(name, detail) of a live object."""
    if kind == "thread":
        target = getattr(obj, "_target", None)
        if target is None:
            target = type(obj).run
        return obj.name, f"target {qualified(target)}"
    if kind == "process":
        return f"{obj.name} (pid {obj.pid})", f"target {qualified(getattr(obj, '_target', None))}"
    if kind == "popen":
        args = obj.args
        command = " ".join(map(str, args)) if isinstance(args, (list, tuple)) else str(args)
        running = _still_running(obj.pid)
        state = "still running" if running else "exited, never waited for"
        return f"pid {obj.pid}", f"{command} ({state})"
    if kind == "loop":
        state = "running" if obj.is_running() else "not running"
        return type(obj).__name__, f"never closed ({state})"
    if kind == "task":
        coro = obj.get_coro()
        where = ""
        frame = getattr(coro, "cr_frame", None)
        if frame is not None:
            where = f", waiting at {shown_path(frame.f_code.co_filename, root)}:{frame.f_lineno}"
        return obj.get_name(), f"coroutine {getattr(coro, '__qualname__', coro)}{where}"
    if kind == "executor":
        workers = len(getattr(obj, "_threads", ()) or getattr(obj, "_processes", None) or ())
        return type(obj).__name__, f"never shut down ({workers} workers)"
    return type(obj).__name__, "never closed or terminated"


def qualified(target: object) -> str:
    if target is None:
        return "run"
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    return name or repr(target)


def _still_running(pid: int) -> bool:
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except (ChildProcessError, OSError, AttributeError):
        return False


def leaks_of(owner: Owner, root: Path, allow: Callable[[], Iterable[str]]) -> list[Leak]:
    """What ``owner`` made that is still alive, minus the allowed names; forgets the rest.
    ``allow`` is called only when something is alive (reading marks costs)."""
    found: list[Leak] = []
    for tracked in owner.created:
        obj = tracked.ref()
        if obj is None or tracked.internal or not is_alive(tracked.kind, obj):
            continue
        found.append(make_leak(owner, tracked, obj, root))
    owner.created.clear()
    if not found:
        return found
    patterns = tuple(allow())
    return [
        leak
        for leak in found
        if not any(fnmatch.fnmatchcase(leak.name, pattern) for pattern in patterns)
    ]


def make_leak(owner: Owner, tracked: Tracked, obj: Any, root: Path) -> Leak:
    kind = tracked.kind
    name, detail = describe(kind, obj, root)
    if kind == "thread" and obj.daemon:
        kind = "daemon-thread"
    code, rule = RULES.get(kind, (None, None))
    project = next((f for f in tracked.site if in_project(f.path, root)), None)
    return Leak(
        kind=kind,
        owner=owner.label,
        owner_kind=owner.kind,
        nodeid=owner.nodeid,
        name=name,
        detail=detail,
        created=tracked.site,
        project_frame=project,
        code=code,
        rule=rule,
        hint=hint(tracked.site, project, code, rule, root),
    )


def hint(
    site: tuple[Frame, ...], project: Frame | None, code: str | None, rule: str | None, root: Path
) -> str:
    if code is None:
        return ""
    static = f"`leaklint check` looks for this pattern as {code} ({rule})"
    if project is None:
        return f"made outside the project; in project code, {static}"
    if site and site[0] == project:
        return static
    where = f"{shown_path(project.path, root)}:{project.line}"
    library = shown_path(site[0].path, root) if site else "a library"
    return f"made inside {library}, which the project called at {where}: stop it there"
