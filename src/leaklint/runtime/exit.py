"""Why pytest won't exit: the non-daemon threads and child processes still alive when the
session ends, and a watchdog that dumps every thread's stack if the interpreter is still waiting
on them some seconds later.

The watchdog is armed from ``threading``'s exit hook, which runs at interpreter shutdown just
before the non-daemon threads are joined; a pytest run inside another process (pytester) that
ends without shutting the interpreter down arms nothing.
"""

from __future__ import annotations

import contextlib
import faulthandler
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from leaklint.runtime.leaks import Leak, describe, in_project, is_alive
from leaklint.runtime.track import Frame, Tracker


def blockers(tracker: Tracker, root: Path) -> list[Leak]:
    """Every non-daemon thread still alive but the main one, and every live child process."""
    sites = {id(obj): tracked.site for obj, tracked in tracker.runners.items()}
    popens = [
        obj
        for obj, tracked in tracker.runners.items()
        if tracked.kind == "popen" and is_alive("popen", obj)
    ]
    found: list[Leak] = []
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is main or thread.daemon or thread is threading.current_thread():
            continue
        found.append(_blocker("thread", thread, sites, root))
    multiprocessing = sys.modules.get("multiprocessing")  # no children if never imported
    for process in multiprocessing.active_children() if multiprocessing else ():
        found.append(_blocker("process", process, sites, root))
    found.extend(_blocker("popen", popen, sites, root) for popen in popens)
    return found


def _blocker(kind: str, obj: Any, sites: dict[int, tuple[Frame, ...]], root: Path) -> Leak:
    name, detail = describe(kind, obj, root)
    site = sites.get(id(obj), ())
    if not site:
        detail += " (made before leaklint started tracking)"
    return Leak(
        kind=kind,
        owner="exit",
        owner_kind="exit",
        nodeid="",
        name=name,
        detail=detail,
        created=site,
        project_frame=next((f for f in site if in_project(f.path, root)), None),
        code=None,
        rule=None,
        hint="",
    )


def arm_at_shutdown(seconds: float, exit_after: bool, stream: TextIO | None = None) -> None:
    """At interpreter shutdown, if a non-daemon thread is still alive, say so and dump every
    thread's stack after ``seconds`` (and end the process with status 1 if ``exit_after``)."""

    def at_shutdown() -> None:
        waiting = [t for t in threading.enumerate() if not t.daemon and t is not main]
        if not waiting:
            return
        out = stream or sys.__stderr__
        if out is None:
            return
        names = ", ".join(repr(t.name) for t in waiting)
        then = "then exits with status 1" if exit_after else "and keeps waiting"
        print(
            f"leaklint: interpreter exit waits for non-daemon thread(s) {names}; "
            f"every thread's stack follows in {seconds:g}s, {then}",
            file=out,
            flush=True,
        )
        faulthandler.dump_traceback_later(seconds, exit=exit_after, file=out)

    main = threading.main_thread()
    register: Callable[[Callable[[], None]], None] | None = getattr(
        threading, "_register_atexit", None
    )
    if register is None:  # pragma: no cover - every supported Python has it
        return
    with contextlib.suppress(RuntimeError):  # already shutting down
        register(at_shutdown)
