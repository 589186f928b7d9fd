"""Who made what: the creation functions are wrapped while the plugin is on, and each new
thread, process, ``Popen``, event loop, task, executor or pool is charged to the owner running
at that moment (a test, a fixture, or the session) with a few frames of where it was made.

The wrappers cost one ``sys._getframe`` walk of a few frames per object; nothing is wrapped
until :meth:`Tracker.install` and everything is put back by :meth:`Tracker.uninstall`. Install
imports the few standard-library modules it wraps (about 25 ms, once), so the first test to use
``concurrent.futures.thread`` or ``multiprocessing.pool`` is tracked like the next one.
"""

from __future__ import annotations

import functools
import importlib
import os
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

import pluggy
import pytest

_HERE = __file__
_STDLIB = os.path.dirname(threading.__file__ or "") + os.sep
_STDLIB_PACKAGES = tuple(
    _STDLIB + package + os.sep for package in ("asyncio", "concurrent", "multiprocessing")
)
# Frames in these files are the machinery between the caller and the object, not the caller.
_MACHINERY = (*_STDLIB_PACKAGES, threading.__file__ or "", subprocess.__file__ or "")
# An object made directly by these belongs to the executor, pool or queue that made it, which
# is what gets reported (its worker threads and processes end when it is shut down).
_POOLS = _STDLIB_PACKAGES[1:]
# An executor made directly by asyncio is a loop's default executor (``asyncio.to_thread``,
# ``run_in_executor(None, ...)``): the loop shuts it down when it is closed, so it is the loop's.
_LOOP_MADE = _STDLIB_PACKAGES
# The test runner's own frames: the creation site ends where the test or fixture was called.
_RUNNER = tuple(
    os.path.dirname(os.path.dirname(module.__file__ or "")) + os.sep + name + os.sep
    for module, name in ((pytest, "_pytest"), (pluggy, "pluggy"))
)
# (module, class, method, kind, record before or after the call)
_WRAPPED = (
    ("threading", "Thread", "start", "thread", "before"),
    ("subprocess", "Popen", "__init__", "popen", "after"),
    ("multiprocessing.process", "BaseProcess", "start", "process", "before"),
    ("asyncio.base_events", "BaseEventLoop", "__init__", "loop", "after"),
    ("asyncio.base_events", "BaseEventLoop", "create_task", "task", "result"),
    ("concurrent.futures.thread", "ThreadPoolExecutor", "__init__", "executor", "after"),
    ("concurrent.futures.process", "ProcessPoolExecutor", "__init__", "executor", "after"),
    ("multiprocessing.pool", "Pool", "__init__", "pool", "after"),
    # Its Pool.__init__ call comes from multiprocessing (so looks internal): record it here too.
    ("multiprocessing.pool", "ThreadPool", "__init__", "pool", "after"),
)
_RUNNERS = frozenset({"thread", "process", "popen"})
_PRUNE = 4096  # forget the collected objects of an owner every so many records
_DEPTH = 8  # frames kept for a creation site
_TASK_DEPTH = 2
_WALK = 40  # frames looked at to find them


@dataclass(frozen=True, slots=True)
class Frame:
    path: str
    line: int
    function: str


@dataclass(eq=False)
class Owner:
    """A test, a fixture or the session: whatever was running when objects were made."""

    kind: str  # "test", "fixture" or "session"
    nodeid: str
    name: str = ""  # the fixture's name
    scope: str = ""  # the fixture's scope
    created: list[Tracked] = field(default_factory=list)
    # With --leaklint-fds: the descriptors open when the owner started, and those it opened.
    fds_before: dict[int, str] | None = None
    fds: dict[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.kind == "fixture":
            where = f" for {self.nodeid}" if self.scope == "function" else ""
            return f"fixture '{self.name}' ({self.scope} scope){where}"
        return self.nodeid or "the session (import and collection)"


@dataclass(eq=False, slots=True)
class Tracked:
    ref: Callable[[], Any]  # a weak reference to the object
    kind: str  # "thread", "process", "popen", "loop", "task", "executor", "pool"
    site: tuple[Frame, ...]
    internal: bool  # made by an executor or pool for its own use


_RUNNER_CODE, _MACHINE_CODE, _CALLER_CODE = 0, 1, 2
_CODE_KINDS: dict[CodeType, int] = {}  # what each code object seen on a walk is


def _code_kind(code: CodeType) -> int:
    kind = _CODE_KINDS.get(code)
    if kind is None:
        path = code.co_filename
        if path.startswith(_RUNNER):
            kind = _RUNNER_CODE
        elif path.startswith(_MACHINERY) or path == _HERE:
            kind = _MACHINE_CODE
        else:
            kind = _CALLER_CODE
        _CODE_KINDS[code] = kind
    return kind


def creation_site(depth: int = _DEPTH, made: str = "") -> tuple[tuple[Frame, ...], bool]:
    """The first frames outside the machinery, and whether a pool, an executor or (for an
    executor) an event loop made the object for its own use."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == _HERE:
        frame = frame.f_back
    owners = _LOOP_MADE if made == "executor" else _POOLS
    internal = frame is not None and frame.f_code.co_filename.startswith(owners)
    frames: list[Frame] = []
    for _ in range(_WALK if depth <= _DEPTH else depth * 4):
        if frame is None or len(frames) >= depth:
            break
        code = frame.f_code
        kind = _code_kind(code)
        if kind == _RUNNER_CODE:
            break
        if kind == _CALLER_CODE:
            frames.append(Frame(code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return tuple(frames), internal


class Tracker:
    """The owner stack, and the wrappers that charge each new object to its top."""

    def __init__(self, depth: int = _DEPTH) -> None:
        self.depth = depth
        self.session = Owner("session", "")
        self.stack: list[Owner] = [self.session]
        self._undo: list[tuple[type, str, object]] = []
        # What can keep the interpreter from exiting, for the list at the end of the session.
        self.runners: weakref.WeakKeyDictionary[Any, Tracked] = weakref.WeakKeyDictionary()

    @property
    def current(self) -> Owner:
        return self.stack[-1]

    def push(self, owner: Owner) -> None:
        self.stack.append(owner)

    def pop(self, owner: Owner) -> None:
        if self.stack[-1] is owner:
            self.stack.pop()
        elif owner in self.stack:
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(owner)]

    def record(self, obj: object, kind: str) -> None:
        # Tasks come by the thousand and their coroutine says most: two frames are enough.
        site, internal = creation_site(_TASK_DEPTH if kind == "task" else self.depth, kind)
        try:
            ref: Callable[[], Any] = weakref.ref(obj)
        except TypeError:  # pragma: no cover - every tracked class takes weak references
            return
        tracked = Tracked(ref, kind, site, internal)
        created = self.current.created
        created.append(tracked)
        if len(created) % _PRUNE == 0:  # a long-lived owner (the session) making many tasks
            created[:] = [t for t in created if t.ref() is not None]
        if kind in _RUNNERS:
            self.runners[obj] = tracked

    def install(self) -> None:
        for module, cls, name, kind, when in _WRAPPED:
            self._wrap(getattr(importlib.import_module(module), cls), name, kind, when)

    def _wrap(self, cls: type, name: str, kind: str, when: str) -> None:
        record = self.record
        original = cls.__dict__[name]
        if when == "before":

            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                record(self, kind)
                return original(self, *args, **kwargs)

        elif when == "after":

            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(self, *args, **kwargs)
                record(self, kind)
                return result

        else:

            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(self, *args, **kwargs)
                record(result, kind)
                return result

        self._patch(cls, name, functools.wraps(original)(wrapper))

    def _patch(self, cls: type, name: str, value: object) -> None:
        self._undo.append((cls, name, cls.__dict__[name]))
        setattr(cls, name, value)

    def uninstall(self) -> None:
        while self._undo:
            cls, name, original = self._undo.pop()
            setattr(cls, name, original)
