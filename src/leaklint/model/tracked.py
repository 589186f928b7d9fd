"""What LL401-LL404 track: the constructors of threads, executors and processes, and what a file
does with each object one makes.

``Resource`` is one constructor call (``threading.Thread(...)``, ``subprocess.Popen(...)``, a
project subclass) with every ``Use`` of the object it makes; ``leaklint.model.lifecycle`` fills
them in, the rules read them (``joined``, ``untimed_join``, ``unowned``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import libcst as cst

THREAD_CLASSES = frozenset({"threading.Thread", "threading.Timer"})
PROCESS_CLASSES = frozenset({"multiprocessing.Process", "multiprocessing.context.Process"})
EXECUTOR_CLASSES = frozenset(
    {
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.ProcessPoolExecutor",
        "concurrent.futures.InterpreterPoolExecutor",
        "concurrent.futures.thread.ThreadPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor",
        "multiprocessing.Pool",
        "multiprocessing.pool.Pool",
        "multiprocessing.pool.ThreadPool",
        "multiprocessing.dummy.Pool",
    }
)
POPEN_CLASSES = frozenset({"subprocess.Popen"})
GET_CONTEXT = frozenset({"multiprocessing.get_context", "multiprocessing.context.get_context"})
# Calls that reap a child given its pid; ``os._exit`` ends the process (an exec emulation).
PID_REAPERS = frozenset({"os.waitpid", "os.kill", "os.killpg", "os.wait4", "os.pidfd_open"})
OS_EXIT = frozenset({"os._exit"})

# Tokens one of which a file must contain to hold a tracked constructor (the rules' prefilter).
THREAD_TOKENS = (b"Thread", b"Timer")
EXECUTOR_TOKENS = (b"Executor", b"Pool")
# Each executor constructor (or ``get_context``) as the whole words a file that calls it writes:
# its module's first part, in the import, and its own name (``(b"concurrent",
# b"ThreadPoolExecutor")``).
EXECUTOR_WORDS = tuple(
    sorted(
        {
            (name.partition(".")[0].encode(), name.rpartition(".")[2].encode())
            for name in EXECUTOR_CLASSES | GET_CONTEXT
        }
    )
)
PROCESS_TOKENS = (b"Process", b"Popen")


class Kind(enum.Enum):
    THREAD = "thread"
    EXECUTOR = "executor"
    PROCESS = "process"
    POPEN = "popen"


@dataclass
class Use:
    """One use of a tracked object: a method call, an attribute store, or an escape."""

    # "call" | "ref" | "store" | "escape" | "with" | "bind" | "neutral" | "handoff" (returned
    # or yielded by a fixture, or given to ``set_default_executor``: ``method`` says which) |
    # "append" (``items.append(obj)``: ``method`` names the list) | "item" (``items[0]``)
    kind: str
    node: cst.CSTNode
    method: str = ""
    call: cst.Call | None = None
    value: cst.BaseExpression | None = None
    nested: bool = False  # seen inside a nested function
    # Inside a ``while`` loop: ``while t.is_alive(): t.join(1)``; for an "append", inside any
    # loop (the list may get several objects from it).
    repeated: bool = False
    # For an "item" use of ``items[0]``, ``items[-1]`` or ``items.pop()``: what is done with
    # that one item ("call", "ref", "store", ...; ``method``, ``call`` and ``value`` describe
    # it). Empty for other indexes.
    item: str = ""
    # An "item" use that reaches every item: ``while items: items.pop().join()``.
    every: bool = False


@dataclass
class Resource:
    """One constructor call and what the file does with the object it makes."""

    kind: Kind
    call: cst.Call
    label: str  # the class as written in messages: ``threading.Thread``, ``Worker``
    name: str | None = None  # ``t``, ``self._thread``; None when never bound
    collection: bool = False  # bound as a list of such objects
    managed: bool = False  # created as a ``with`` item
    escaped: bool = False
    started: bool = False
    daemon: bool | None = False  # None: cannot tell
    accepts_daemon: bool = True  # the constructor takes ``daemon=``
    timer: bool = False
    join_methods: frozenset[str] = frozenset({"join"})  # a subclass's stop() may join
    # "raises": made inside ``pytest.raises``/``assertRaises``; "try": in a ``try`` body.
    expects_failure: str = ""
    uses: list[Use] = field(default_factory=list)
    # For a local ``name = Ctor(...)`` statement: the statement and its block (fixes need them).
    statement: cst.SimpleStatementLine | None = None
    block: cst.BaseSuite | cst.Module | None = None
    function_body: bool = False  # ``block`` is the whole body of a function
    handed: str = ""  # "return" / "yield": a fixture hands it to pytest, which stops nothing
    exits: bool = False  # its function ends the process with ``os._exit()`` (exec emulation)

    @property
    def unowned(self) -> bool:
        """Nothing here is responsible for it: managed by ``with``, escaped, or never made."""
        if self.managed or self.escaped or self.expects_failure == "raises":
            return True
        # ``try: Popen(bad) except OSError: ...``: a constructor expected to fail.
        return self.expects_failure == "try" and all(u.kind == "bind" for u in self.uses)

    def methods(self) -> set[str]:
        return {u.method for u in self.uses if u.kind in ("call", "ref")}

    @property
    def joined(self) -> bool:
        """Joined in any way (with or without a timeout)."""
        return bool(self.methods() & self.join_methods)

    @property
    def untimed_join(self) -> bool:
        for use in self.uses:
            if use.method not in self.join_methods:
                continue
            if use.kind == "ref" or use.method != "join" or use.repeated:
                return True
            if use.kind == "call" and use.call is not None and not has_timeout(use.call):
                return True
        return False

    @property
    def timed_joins(self) -> list[cst.Call]:
        return [
            u.call
            for u in self.uses
            if u.kind == "call"
            and u.method == "join"
            and u.call is not None
            and has_timeout(u.call)
        ]

    @property
    def with_used(self) -> bool:
        return any(u.kind == "with" for u in self.uses)


def has_timeout(call: cst.Call) -> bool:
    for arg in call.args:
        if arg.keyword is None and arg.star == "":
            return not _is_none(arg.value)
        if arg.keyword is not None and arg.keyword.value == "timeout":
            return not _is_none(arg.value)
        if arg.star:
            return True  # cannot tell: count it as timed, never as a proper join
    return False


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def bool_literal(expr: cst.BaseExpression) -> bool | None:
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return expr.value == "True"
    return None
