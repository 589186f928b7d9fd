"""Who owns a thread, executor or process, and is it ever joined, shut down or waited?

One pass over a file finds every constructor call of a tracked kind (``threading.Thread``,
``concurrent.futures.ThreadPoolExecutor``, ``subprocess.Popen``, a ``Thread`` subclass of the
file or of another project module, ...), follows the variable it is bound to (a local name,
``self.<attr>`` across the class, a list built by a comprehension or by ``append`` and the loop
variables that walk it), and records what is
done with it: the methods called on it, ``.daemon = ...``, ``with obj:``, and whether it
*escapes* (is returned, stored, passed to a call). Rules LL401-LL404 read the result; they never
walk the tree themselves.

Precision first: an object that escapes is someone else's to clean up and is never reported.
A pytest fixture that returns or yields what it started hands it to pytest, which stops nothing:
that is no escape, so the fixture itself must stop it (after ``yield``, or in a finalizer).
Uses inside nested functions count (``request.addfinalizer(t.join)``, a ``def fin(): t.join()``),
so do uses after ``yield`` in a fixture and in ``finally``: anywhere in the owning function.

Over 500 lines because it still holds three things that belong apart: the resource model
(``Kind``, ``Use``, ``Resource``), the ownership walk (``Analysis``, with the class and
cross-module lookups it needs) and the messages and fixes (``described``, ``daemon_edit``,
``with_rewrite``). Splitting them is still open: the model and the fixes can move out first, as
the walk uses the model and the fixes only read its result.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

import libcst as cst

from leaklint.diagnostics import Edit, Location
from leaklint.model.pytest_model import fixture_decorator
from leaklint.python.source import SourceFile, dotted_name
from leaklint.python.walk import is_content_type

if TYPE_CHECKING:
    from leaklint.model.project import Project

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
            if use.kind == "call" and use.call is not None and not _has_timeout(use.call):
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
            and _has_timeout(u.call)
        ]

    @property
    def with_used(self) -> bool:
        return any(u.kind == "with" for u in self.uses)


def _has_timeout(call: cst.Call) -> bool:
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


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def bool_literal(expr: cst.BaseExpression) -> bool | None:
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return expr.value == "True"
    return None


# --------------------------------------------------------------------------- the walk

# Fields that only hold punctuation, whitespace and comments: never a name or a call.
_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "newline",
        "comma",
        "semicolon",
        "equal",
        "colon",
        "dot",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "operator",
        "asynchronous",
        "star_tok",
        "first_line",
        "empty_lines",
        "last_line",
    }
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
        _CHILD_FIELDS[cls] = names
    return names


def walk(
    node: cst.CSTNode,
    enter: Callable[[cst.CSTNode], object],
    leave: Callable[[cst.CSTNode], object],
) -> None:
    """Visit ``node`` and its descendants in source order, without libcst's node rebuilding.

    ``CSTNode.visit`` copies every node it passes, which made this module's pass cost more
    than parsing. Only fields that can hold names and calls are followed, and trivia
    (whitespace, comments, punctuation) is stepped over.
    """
    enter(node)
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                if is_content_type(type(item)):
                    walk(item, enter, leave)
        elif is_content_type(kind):
            walk(value, enter, leave)
    leave(node)


def walk_visitor(node: cst.CSTNode, visitor: object) -> None:
    """``walk`` with ``visit_<Node>``/``leave_<Node>`` methods, as libcst visitors spell them."""

    def enter(n: cst.CSTNode) -> None:
        method = getattr(visitor, "visit_" + type(n).__name__, None)
        if method is not None:
            method(n)

    def leave(n: cst.CSTNode) -> None:
        method = getattr(visitor, "leave_" + type(n).__name__, None)
        if method is not None:
            method(n)

    walk(node, enter, leave)


# --------------------------------------------------------------------------- classes


@dataclass
class _ClassInfo:
    node: cst.ClassDef
    bases: list[str]  # qualified names or local class names
    daemon: bool | None = False
    daemon_set: bool = False
    self_start: bool = False
    joiners: set[str] = field(default_factory=set)  # methods that call ``self.join()``
    external: bool = False  # derives from a class defined elsewhere (it may own attributes)


@dataclass
class _Subclass:
    kind: Kind
    daemon: bool | None
    self_start: bool
    joiners: frozenset[str] = frozenset()


def _class_infos(module: cst.Module, source: SourceFile) -> dict[str, _ClassInfo]:
    """The file's classes by name: those at module level, and those defined inside functions,
    classes and compound statements. A name that a nested class shares with another class
    is left out: which one a call means depends on the scope."""
    infos: dict[str, _ClassInfo] = {}
    nested: list[cst.ClassDef] = []
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef):
            infos[stmt.name.value] = _class_info(stmt, source)
        if isinstance(stmt, cst.BaseCompoundStatement):
            _nested_classes(stmt, nested)
    ambiguous: set[str] = set()
    for node in nested:
        name = node.name.value
        if name in infos:
            ambiguous.add(name)
        else:
            infos[name] = _class_info(node, source)
    for name in ambiguous:
        del infos[name]
    return infos


def _class_info(node: cst.ClassDef, source: SourceFile) -> _ClassInfo:
    bases: list[str] = []
    for arg in node.bases:
        if arg.keyword is not None:
            continue
        qualified = source.imports.qualified_name(arg.value)
        if qualified is not None:
            bases.append(qualified)
        elif isinstance(arg.value, cst.Name):
            bases.append(arg.value.value)
    return _ClassInfo(node, bases)


def _nested_classes(stmt: cst.BaseCompoundStatement, found: list[cst.ClassDef]) -> None:
    """Classes inside ``stmt``'s blocks (a ``Thread`` subclass defined in a test function)."""
    suites: list[cst.BaseSuite] = []
    if isinstance(stmt, cst.Match):
        suites.extend(case.body for case in stmt.cases)
    else:
        suites.append(stmt.body)
    if isinstance(stmt, (cst.Try, cst.TryStar)):
        suites.extend(handler.body for handler in stmt.handlers)
        if stmt.finalbody is not None:
            suites.append(stmt.finalbody.body)
    orelse = getattr(stmt, "orelse", None)
    if isinstance(orelse, cst.If):
        _nested_classes(orelse, found)
    elif isinstance(orelse, cst.Else):
        suites.append(orelse.body)
    for suite in suites:
        if not isinstance(suite, cst.IndentedBlock):
            continue
        for inner in suite.body:
            if isinstance(inner, cst.BaseCompoundStatement):
                if isinstance(inner, cst.ClassDef):
                    found.append(inner)
                _nested_classes(inner, found)


class _DaemonFinder:
    """``self.daemon = X``, ``super().__init__(daemon=X)``, ``self.start()`` in ``__init__``."""

    def __init__(self, info: _ClassInfo) -> None:
        self.info = info
        self.in_init = 0
        self.functions: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node.name.value)
        if node.name.value == "__init__":
            self.in_init += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()
        if original_node.name.value == "__init__":
            self.in_init -= 1

    def _joins(self, call: cst.Call) -> None:
        if not _has_timeout(call):
            self.info.joiners.add(self.functions[0])

    def _set(self, value: cst.BaseExpression) -> None:
        literal = bool_literal(value)
        self.info.daemon = literal if literal is not None else None
        self.info.daemon_set = True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            t = target.target
            if (
                isinstance(t, cst.Attribute)
                and t.attr.value == "daemon"
                and _is_name(t.value, "self")
            ):
                self._set(node.value)
            if isinstance(t, cst.Name) and t.value == "daemon":
                self._set(node.value)  # class attribute shadowing the property

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        if func.attr.value == "__init__":
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "daemon":
                    self._set(arg.value)
                elif arg.star == "**":
                    self.info.daemon = None
                    self.info.daemon_set = True
        elif func.attr.value == "setDaemon" and node.args:
            if isinstance(func.value, cst.Name) and func.value.value == "self":
                self._set(node.args[0].value)
        elif func.attr.value == "start" and self.in_init and _is_name(func.value, "self"):
            self.info.self_start = True
        elif func.attr.value == "join" and _is_name(func.value, "self") and self.functions:
            self._joins(node)


def _read_class_body(info: _ClassInfo) -> None:
    walk_visitor(info.node.body, _DaemonFinder(info))


def _subclasses(
    infos: dict[str, _ClassInfo], external: Callable[[str], _Subclass | None] | None = None
) -> dict[str, _Subclass]:
    """Classes of the file that derive (through each other, or through ``external``: classes
    of other project modules by qualified name) from Thread, Timer or Process."""
    result: dict[str, _Subclass] = {}

    def resolve(name: str, seen: frozenset[str]) -> _Subclass | None:
        if name in result:
            return result[name]
        info = infos.get(name)
        if info is None or name in seen:
            return None
        for base in info.bases:
            parent: _Subclass | None
            if base in THREAD_CLASSES:
                parent = _Subclass(Kind.THREAD, False, False)
            elif base in PROCESS_CLASSES:
                parent = _Subclass(Kind.PROCESS, False, False)
            elif base not in infos and external is not None:
                parent = external(base)
            else:
                parent = resolve(base, seen | {name})
            if parent is not None:
                # Only a class that derives from Thread or Process needs its body read.
                _read_class_body(info)
                daemon = info.daemon if info.daemon_set else parent.daemon
                sub = _Subclass(
                    parent.kind,
                    daemon,
                    info.self_start or parent.self_start,
                    parent.joiners | info.joiners,
                )
                result[name] = sub
                return sub
        return None

    for name in infos:
        resolve(name, frozenset())
    return result


# --------------------------------------------------------------------------- other modules

# ``class Name(bases):`` at the start of a line, for searches of a file's bytes.
_CLASS_DEF = re.compile(rb"^[ \t]*class[ \t]+(\w+)[ \t]*\(([^)]*)\)", re.MULTILINE)
_WORD = re.compile(rb"[A-Za-z_]\w*")
_ROOT_CLASSES = {b"Thread": Kind.THREAD, b"Timer": Kind.THREAD, b"Process": Kind.PROCESS}


class ProjectClasses:
    """The Thread and Process subclasses of the project's own modules, by qualified name, for
    a file that imports one (``from app.workers import Poller``). Modules are found the way
    pytest's default import mode finds them: from the importing file's first folder that is
    not a package, the rootdir and ``pythonpath``. Every module read, and the paths tried
    before it, are noted as read on each use (the findings cache follows them); a module found
    nowhere in the project (the standard library, an installed package) notes nothing, so
    files that import only those keep their cache entries when other files come and go."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.files: dict[tuple[str, Path], tuple[Path | None, frozenset[Path]]] = {}
        self.modules: dict[Path, tuple[bytes, dict[str, _Subclass], frozenset[Path]]] = {}
        self.active: set[Path] = set()  # being read: an import cycle stops here

    def lookup(self, qualified: str, origin: Path) -> _Subclass | None:
        module, _, name = qualified.rpartition(".")
        if not module.strip(".") or not name[:1].isupper():
            return None  # classes are capitalised: other names are not worth a look
        path = self.module_file(module, origin)
        if path is None:
            return None
        if not self.candidate(name):
            # No class of that name derives from Thread or Process, by the project's bytes:
            # no parse. The answer still depends on the module's bytes.
            self.project.note_reads(path)
            return None
        return self.classes(path).get(name)

    def candidate(self, name: str) -> bool:
        word = name.encode()
        return word in subclass_names(self.project, Kind.THREAD) or word in subclass_names(
            self.project, Kind.PROCESS
        )

    def module_file(self, module: str, origin: Path) -> Path | None:
        dots = len(module) - len(module.lstrip("."))
        if dots:
            base = origin.parent
            for _ in range(dots - 1):
                base = base.parent
            roots: tuple[Path, ...] = (base,)
        else:
            roots = self._roots(origin.parent)
        key = (module, roots[0])
        if key not in self.files:
            parts = module[dots:].split(".")
            tried: list[Path] = []
            found: Path | None = None
            for root in roots:
                target = root.joinpath(*parts)
                for candidate in (target.with_name(target.name + ".py"), target / "__init__.py"):
                    tried.append(candidate)
                    if candidate.is_file():
                        found = candidate
                        break
                if found is not None:
                    break
            self.files[key] = (found, frozenset(tried) if found is not None else frozenset())
        path, tried_paths = self.files[key]
        if tried_paths:
            self.project.note_reads(tried_paths)
        return path

    def _roots(self, directory: Path) -> tuple[Path, ...]:
        while (directory / "__init__.py").is_file() and directory.parent != directory:
            directory = directory.parent
        roots = [directory, self.project.root]
        setting = self.project.config.get("pythonpath")
        if setting is not None:
            value = setting.value
            items = value if isinstance(value, list) else str(value).split()
            roots.extend(setting.path.parent / str(item) for item in items)
        return tuple(dict.fromkeys(roots))

    def classes(self, path: Path) -> dict[str, _Subclass]:
        raw = self.project.read(path)
        kept = self.modules.get(path)
        if kept is not None and kept[0] is raw:
            self.project.note_reads(kept[2])
            return kept[1]
        if not isinstance(raw, bytes) or path in self.active:
            return {}
        self.active.add(path)
        try:
            value, reads = self.project.tracked(lambda: self._read(path, raw))
        finally:
            self.active.discard(path)
        self.modules[path] = (raw, value, reads)
        return value

    def _read(self, path: Path, raw: bytes) -> dict[str, _Subclass]:
        if _CLASS_DEF.search(raw) is None:
            return {}  # no class with a base: nothing to parse
        source = self.project.source(path)
        if isinstance(source, OSError) or source.module is None:
            return {}
        infos = _class_infos(source.module, source)
        return _subclasses(infos, lambda qualified: self.lookup(qualified, path))


_project_classes: ProjectClasses | None = None


def project_classes(project: Project) -> ProjectClasses:
    global _project_classes
    if _project_classes is None or _project_classes.project is not project:
        _project_classes = ProjectClasses(project)
    return _project_classes


_subclass_names: tuple[Project, dict[Kind, tuple[bytes, ...]]] | None = None


def subclass_names(project: Project, kind: Kind) -> tuple[bytes, ...]:
    """Names of the project's classes that derive, by the names of their bases, from Thread
    and Timer (``Kind.THREAD``) or Process: read from bytes, for the prefilter of a file that
    holds none of the rules' tokens but may construct such a class defined elsewhere.

    The files read here are not noted as a file's dependencies (that would tie every cache
    entry to every file): the prefilter's choice is part of a cache entry's key, and a module
    that a lookup passes over on this account is noted by ``ProjectClasses.lookup``."""
    global _subclass_names
    if _subclass_names is None or _subclass_names[0] is not project:
        defs: list[tuple[bytes, list[bytes]]] = []
        saved, project.access_log = project.access_log, None
        try:
            for path in project.python_files:
                raw = project.read(path)
                if isinstance(raw, bytes) and b"class" in raw:
                    for match in _CLASS_DEF.finditer(raw):
                        defs.append((match[1], _WORD.findall(match[2])))
        finally:
            project.access_log = saved
        known = dict(_ROOT_CLASSES)
        changed = True
        while changed:
            changed = False
            for name, bases in defs:
                if name in known:
                    continue
                parent = next((known[b] for b in bases if b in known), None)
                if parent is not None:
                    known[name] = parent
                    changed = True
        names = {
            k: tuple(sorted(n for n, v in known.items() if v is k and n not in _ROOT_CLASSES))
            for k in (Kind.THREAD, Kind.PROCESS)
        }
        _subclass_names = (project, names)
    return _subclass_names[1].get(kind, ())


# --------------------------------------------------------------------------- fresh helpers

# What stops an executor or a Popen: a helper that does any of it is not handing a fresh one out.
_STOPS = frozenset(
    {"shutdown", "terminate", "close", "join", "wait", "communicate", "kill", "poll", "__exit__"}
)


def _fresh_helpers(module: cst.Module, source: SourceFile) -> dict[str, Kind]:
    """Module-level functions (undecorated) that end by returning a new executor or Popen:
    ``return ThreadPoolExecutor()``, or ``ex = ThreadPoolExecutor()`` ... ``return ex`` where
    ``ex`` is only called methods on in between (none that stops it). Each call of one makes a
    fresh object that its caller owns."""
    helpers: dict[str, Kind] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.FunctionDef) or stmt.decorators:
            continue
        body = stmt.body
        if not isinstance(body, cst.IndentedBlock) or not body.body:
            continue
        last = body.body[-1]
        if not (isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1):
            continue
        ret = last.body[0]
        if not isinstance(ret, cst.Return) or ret.value is None:
            continue
        kind = _fresh_kind(ret.value, source)
        if kind is None and isinstance(ret.value, cst.Name):
            kind = _fresh_local(body, ret.value.value, source)
        if kind is not None:
            helpers[stmt.name.value] = kind
    return helpers


def _fresh_kind(expr: cst.BaseExpression, source: SourceFile) -> Kind | None:
    if not isinstance(expr, cst.Call):
        return None
    qualified = source.imports.qualified_name(expr.func)
    if qualified in EXECUTOR_CLASSES:
        return Kind.EXECUTOR
    if qualified in POPEN_CLASSES:
        return Kind.POPEN
    return None


def _fresh_local(body: cst.IndentedBlock, name: str, source: SourceFile) -> Kind | None:
    kind: Kind | None = None
    for stmt in body.body[:-1]:
        line = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if (
            isinstance(line, cst.Assign)
            and len(line.targets) == 1
            and _is_name(line.targets[0].target, name)
        ):
            if kind is not None:
                return None  # bound twice
            kind = _fresh_kind(line.value, source)
            if kind is None:
                return None
            continue
        if kind is None:
            continue
        if not _only_method_calls(stmt, name):
            return None
    return kind


def _only_method_calls(stmt: cst.CSTNode, name: str) -> bool:
    """Whether ``name`` appears in ``stmt`` only as ``name.method(...)``, no method that stops
    an executor or a process."""
    stack: list[cst.CSTNode] = []
    ok = True

    def enter(node: cst.CSTNode) -> None:
        nonlocal ok
        if isinstance(node, cst.Name) and node.value == name:
            parent = stack[-1] if stack else None
            grand = stack[-2] if len(stack) > 1 else None
            ok = ok and (
                isinstance(parent, cst.Attribute)
                and parent.value is node
                and isinstance(grand, cst.Call)
                and grand.func is parent
                and parent.attr.value not in _STOPS
            )
        stack.append(node)

    walk(stmt, enter, lambda node: stack.pop())
    return ok


# Bases known not to touch a subclass's own attributes: ``self.x`` there is the class's own.
PLAIN_BASES = frozenset(
    {
        "object",
        "unittest.TestCase",
        "unittest.IsolatedAsyncioTestCase",
        *THREAD_CLASSES,
        *PROCESS_CLASSES,
    }
)


def _open_families(infos: dict[str, _ClassInfo], families: dict[str, str]) -> set[str]:
    """Families with a base class from elsewhere, which may own ``self.<attr>`` objects."""
    return {
        families[name]
        for name, info in infos.items()
        if any(base not in infos and base not in PLAIN_BASES for base in info.bases)
    }


def _base_name(expr: cst.BaseExpression, source: SourceFile) -> str:
    return source.imports.qualified_name(expr) or dotted_name(expr) or "?"


def _families(infos: dict[str, _ClassInfo]) -> dict[str, str]:
    """Class name -> the name of its oldest ancestor among the file's classes.

    A subclass may join the thread its base class started, so ``self.<attr>`` is tracked per
    family of related classes, not per class.
    """
    parent = {name: name for name in infos}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for name, info in infos.items():
        for base in info.bases:
            if base in infos:
                parent[root(name)] = root(base)
    return {name: root(name) for name in infos}


# --------------------------------------------------------------------------- the pass


@dataclass
class _Scope:
    node: cst.CSTNode
    is_class: bool = False
    self_name: str | None = None  # first parameter of a method
    owner: str = ""  # the class family a method's ``self.<attr>`` belongs to
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    uses: dict[str, list[Use]] = field(default_factory=dict)
    aliases: dict[str, set[str]] = field(default_factory=dict)  # loop variable -> collections
    resources: list[Resource] = field(default_factory=list)
    params: set[str] = field(default_factory=set)
    fixture: bool = False  # a pytest fixture: what it returns or yields goes to pytest
    exits: bool = False  # calls ``os._exit()``
    made: list[Resource] = field(default_factory=list)  # every constructor call in this scope
    # Objects that nested functions append to a list they do not bind (a closure variable),
    # with the "append" use: the function that binds the list follows them.
    closure_appends: list[tuple[Resource, Use]] = field(default_factory=list)


_NEUTRAL_PARENTS = (
    cst.Comparison,
    cst.ComparisonTarget,
    cst.BooleanOperation,
    cst.If,
    cst.While,
    cst.IfExp,
    cst.Assert,
    cst.Del,
)


class Analysis:
    """Walk a module once; ``resources`` holds every tracked constructor call afterwards."""

    def __init__(self, source: SourceFile, project: Project | None = None) -> None:
        assert source.module is not None
        self.source = source
        self.imports = source.imports
        infos = _class_infos(source.module, source)
        self.external: Callable[[str], _Subclass | None] | None = None
        if project is not None:
            classes = project_classes(project)
            self.external = lambda qualified: classes.lookup(qualified, source.path)
        self.subclasses = _subclasses(infos, self.external)
        self.helpers = _fresh_helpers(source.module, source)
        self.families = _families(infos)
        self.open_families = _open_families(infos, self.families)
        self.stack: list[cst.CSTNode] = []
        self.scopes: list[_Scope] = []
        self.resources: list[Resource] = []
        # ``self.<attr>`` of a class (and its subclasses in the file), keyed "family.attr".
        self.self_uses: dict[str, list[Use]] = {}
        self.self_resources: list[tuple[str, Resource]] = []
        self.foreign_attrs: set[str] = set()
        self.contexts: set[str] = set()  # names bound to multiprocessing.get_context(...)
        # ``<loop>.set_default_executor(...)`` calls in source order: (scope, receiver, call).
        self.default_executor_calls: list[tuple[_Scope, str, cst.Call]] = []

    # ---- generic bookkeeping ---------------------------------------------------------

    def on_visit(self, node: cst.CSTNode) -> None:
        kind = type(node)  # exact types: libcst node classes are final, and this is hot
        if kind is cst.Name:
            self._name(node)  # type: ignore[arg-type]
        elif kind is cst.Attribute:
            self._attribute(node)  # type: ignore[arg-type]
        elif kind is cst.Call:
            self._call(node)  # type: ignore[arg-type]
        elif kind is cst.FunctionDef:
            self._enter_function(node)  # type: ignore[arg-type]
        elif kind is cst.ClassDef:
            self.scopes.append(_Scope(node, is_class=True))
        elif kind is cst.Module:
            self.scopes.append(_Scope(node))
        elif kind is cst.Global or kind is cst.Nonlocal:
            for item in node.names:  # type: ignore[attr-defined]
                self.scopes[-1].globals.add(item.name.value)
        self.stack.append(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()
        kind = type(original_node)
        if kind is cst.Module or kind is cst.FunctionDef or kind is cst.ClassDef:
            scope = self.scopes.pop()
            self._close_scope(scope)
        if kind is cst.Module:
            self._close_self_attrs()
            self._close_default_executors()

    def _enter_function(self, node: cst.FunctionDef) -> None:
        parent = self.scopes[-1] if self.scopes else None
        scope = _Scope(node)
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        if isinstance(params.star_arg, cst.Param):
            every.append(params.star_arg)
        if params.star_kwarg is not None:
            every.append(params.star_kwarg)
        scope.locals.update(p.name.value for p in every)
        scope.params.update(p.name.value for p in every)
        scope.fixture = fixture_decorator(node, self.imports) is not None
        positional = [*params.posonly_params, *params.params]
        if parent is not None and parent.is_class and positional:
            static = any(
                isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                for d in node.decorators
            )
            if not static and isinstance(parent.node, cst.ClassDef):
                scope.self_name = positional[0].name.value
                name = parent.node.name.value
                scope.owner = self.families.get(name, name)
                if name not in self.families and any(
                    _base_name(arg.value, self.source) not in PLAIN_BASES
                    for arg in parent.node.bases
                    if arg.keyword is None
                ):
                    self.open_families.add(name)
        self.scopes.append(scope)

    def _close_scope(self, scope: _Scope) -> None:
        for resource in scope.resources:
            if resource.name is None or resource.name.startswith("self."):
                continue
            if resource.name in scope.globals:
                resource.escaped = True
                continue
            uses = list(scope.uses.get(resource.name, ()))
            for alias, targets in scope.aliases.items():
                if resource.name in targets:
                    uses.extend(scope.uses.get(alias, ()))
            uses.extend(self._appended_to(resource, uses, scope))
            self._settle(resource, uses)
        for resource, append in scope.closure_appends:
            self._close_closure_append(resource, append, scope)
        if scope.exits:
            for resource in scope.made:
                resource.exits = True
        # Names this scope reads but does not bind belong to an enclosing function.
        parent = next((s for s in reversed(self.scopes) if not s.is_class), None)
        if parent is None or scope.is_class:
            return
        for name, uses in scope.uses.items():
            if name in scope.locals and name not in scope.globals:
                continue
            target = parent.uses.setdefault(name, [])
            for use in uses:
                use.nested = True
                target.append(use)

    def _appended_to(self, resource: Resource, uses: list[Use], scope: _Scope) -> list[Use]:
        """The uses of the local lists ``resource`` is appended to, and of their loop variables:
        ``threads.append(t)`` then ``for t in threads: t.join()`` joins it.

        A list this function does not bind, and that an enclosing function does (a closure
        variable, reached from a nested function or a nested class's method), is followed in
        the function that binds it, once that function's uses are all known."""
        found: list[Use] = []
        appends = [use for use in uses if use.kind == "append"]
        for use in appends:
            items = use.method
            if (
                resource.name
                and len(appends) == 1
                and items not in scope.locals
                and items not in scope.globals
            ):
                enclosing = self._enclosing_function()
                if enclosing is not None:
                    resource.collection = True
                    resource.name = items
                    enclosing.closure_appends.append((resource, use))
                    continue
            item_uses = scope.uses.get(items, [])
            # Only a list this function made: a parameter or a global list is someone else's.
            own = (
                items not in scope.params
                and items not in scope.globals
                and any(u.kind == "bind" for u in item_uses)
            )
            if not own or not resource.name:
                resource.escaped = True
                continue
            resource.collection = True
            resource.name = items
            found.extend(self._list_uses(items, use, scope))
        return found

    def _close_closure_append(self, resource: Resource, append: Use, scope: _Scope) -> None:
        """``resource`` was appended to ``append.method`` by a function nested in ``scope``:
        follow that list if ``scope`` made it, look further out if ``scope`` does not bind it,
        and count it handed off otherwise (a parameter, a global, not a new list)."""
        items = append.method
        if items in scope.globals:
            resource.escaped = True
            return
        if items not in scope.locals:
            enclosing = self._enclosing_function()
            if enclosing is None:
                resource.escaped = True
            else:
                enclosing.closure_appends.append((resource, append))
            return
        binds = [u for u in scope.uses.get(items, ()) if u.kind == "bind"]
        if items in scope.params or not binds or not all(_is_list(u.value) for u in binds):
            resource.escaped = True
            return
        self._settle(resource, self._list_uses(items, append, scope))

    def _list_uses(self, items: str, append: Use, scope: _Scope) -> list[Use]:
        """What ``scope`` does with the list ``items`` and with the loop variables that walk it.
        When the list holds exactly what ``append`` put in it (bound once to an empty list,
        that one append, not in a loop, and no other method called on it), ``items[0]`` and
        ``items[-1]`` are that object: what is done with them is done with it."""
        item_uses = [u for u in scope.uses.get(items, ()) if u.kind != "bind"]
        binds = [u for u in scope.uses.get(items, ()) if u.kind == "bind"]
        single = (
            not append.repeated
            and len(binds) == 1
            and _is_empty_list(binds[0].value)
            and [u.method for u in item_uses if u.kind == "call"] == ["append"]
        )
        found: list[Use] = []
        for use in item_uses:
            if (single or use.every) and use.kind == "item" and use.item:
                found.append(
                    Use(
                        use.item,
                        use.node,
                        use.method,
                        call=use.call,
                        value=use.value,
                        nested=use.nested,
                        repeated=use.repeated,
                    )
                )
            else:
                found.append(use)
        for alias, targets in scope.aliases.items():
            if items in targets:
                found.extend(scope.uses.get(alias, ()))
        return found

    def _enclosing_function(self) -> _Scope | None:
        """The nearest function around the scope being closed (classes between are skipped:
        their methods see the function's names, not the class body's)."""
        parent = next((s for s in reversed(self.scopes) if not s.is_class), None)
        if parent is None or not isinstance(parent.node, cst.FunctionDef):
            return None
        return parent

    def _close_self_attrs(self) -> None:
        for owner, resource in self.self_resources:
            assert resource.name is not None
            attr = resource.name.removeprefix("self.")
            uses = self.self_uses.get(f"{owner}.{attr}", [])
            # A class that assigns a thread or process to ``self.<attr>`` and starts it owns
            # it, whatever its bases (a Popen or executor, started when made, may be its base
            # class's to clean up).
            started = resource.kind in (Kind.THREAD, Kind.PROCESS) and (
                resource.started or any(u.kind == "call" and u.method == "start" for u in uses)
            )
            open_family = owner in self.open_families and not started
            if attr in self.foreign_attrs or open_family or not owner:
                resource.escaped = True
            self._settle(resource, uses)

    def _close_default_executors(self) -> None:
        """An executor given to ``set_default_executor`` belongs to the loop, unless the same
        function gives that loop another one later: the first is then never shut down."""
        calls = self.default_executor_calls
        for resource in self.resources:
            for use in resource.uses:
                if use.kind != "handoff" or use.method != "set_default_executor":
                    continue
                index = next((i for i, c in enumerate(calls) if c[2] is use.call), None)
                if index is None:
                    resource.escaped = True
                    continue
                scope, receiver, _ = calls[index]
                replaced = any(s is scope and r == receiver for s, r, _ in calls[index + 1 :])
                if not replaced:
                    resource.escaped = True

    def _settle(self, resource: Resource, uses: list[Use]) -> None:
        resource.uses.extend(uses)
        for use in uses:
            if use.kind == "escape" or (use.kind in ("item", "append") and not resource.collection):
                resource.escaped = True
            elif use.kind == "handoff" and use.method in ("return", "yield"):
                resource.handed = use.method
            elif use.method == "start" and use.kind == "call":
                resource.started = True
            elif use.kind == "store" and use.method == "daemon" and use.value is not None:
                resource.daemon = bool_literal(use.value)
            elif use.kind == "call" and use.method == "setDaemon" and use.call and use.call.args:
                resource.daemon = bool_literal(use.call.args[0].value)

    # ---- constructor calls -----------------------------------------------------------

    def _classify(self, call: cst.Call) -> tuple[Kind, str, bool | None, bool] | None:
        """(kind, label, daemon from the class, started on construction) of a constructor."""
        func = call.func
        qualified = self.imports.qualified_name(func)
        if qualified in THREAD_CLASSES:
            return Kind.THREAD, qualified, False, False
        if qualified in PROCESS_CLASSES:
            return Kind.PROCESS, qualified, False, False
        if qualified in EXECUTOR_CLASSES:
            return Kind.EXECUTOR, qualified, False, True
        if qualified in POPEN_CLASSES:
            return Kind.POPEN, qualified, False, True
        if isinstance(func, cst.Name) and func.value in self.subclasses and qualified is None:
            sub = self.subclasses[func.value]
            return sub.kind, func.value, sub.daemon, sub.self_start
        if isinstance(func, cst.Name) and func.value in self.helpers and qualified is None:
            return self.helpers[func.value], f"{func.value}()", False, True
        if qualified is not None and self.external is not None:
            found = self.external(qualified)
            if found is not None:
                label = dotted_name(func) or qualified
                self.subclasses.setdefault(label, found)
                return found.kind, label, found.daemon, found.self_start
        if isinstance(func, cst.Attribute) and func.attr.value in ("Pool", "Process"):
            base = func.value
            from_context = (isinstance(base, cst.Name) and base.value in self.contexts) or (
                isinstance(base, cst.Call)
                and self.imports.matches(base.func, GET_CONTEXT) is not None
            )
            if from_context:
                if func.attr.value == "Pool":
                    return Kind.EXECUTOR, "multiprocessing.Pool", False, True
                return Kind.PROCESS, "multiprocessing.Process", False, False
        return None

    def _call(self, call: cst.Call) -> None:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "set_default_executor":
            receiver = dotted_name(func.value) or ""
            self.default_executor_calls.append((self.scopes[-1], receiver, call))
        elif self.imports.matches(func, OS_EXIT) is not None:
            self.scopes[-1].exits = True
        if self.imports.matches(call.func, GET_CONTEXT) is not None:
            parent = self.stack[-1] if self.stack else None
            if isinstance(parent, cst.Assign):
                for target in parent.targets:
                    if isinstance(target.target, cst.Name):
                        self.contexts.add(target.target.value)
            return
        found = self._classify(call)
        if found is None:
            return
        kind, label, class_daemon, started = found
        resource = Resource(kind, call, label, started=started, daemon=class_daemon)
        resource.timer = label == "threading.Timer"
        # Timer() and the file's own subclasses may not take ``daemon=``.
        resource.accepts_daemon = label in ("threading.Thread", "multiprocessing.Process")
        if label in self.subclasses:
            resource.join_methods = self.subclasses[label].joiners | {"join"}
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "daemon":
                resource.daemon = bool_literal(arg.value)
            elif arg.star == "**":
                resource.daemon = None
        self.resources.append(resource)
        self.scopes[-1].made.append(resource)
        resource.expects_failure = self._expects_failure()
        self._bind(resource)

    def _bind(self, resource: Resource) -> None:
        call = resource.call
        stack = self.stack
        parent = stack[-1] if stack else None
        scope = self.scopes[-1]
        if isinstance(parent, cst.WithItem) and parent.item is call:
            resource.managed = True
            return
        if isinstance(parent, cst.Attribute) and parent.value is call:
            grand = stack[-2] if len(stack) > 1 else None
            if isinstance(grand, cst.Call) and grand.func is parent:
                # ``Thread(...).start()``: an object nobody else can reach.
                resource.uses.append(Use("call", call, parent.attr.value, call=grand))
                resource.started = resource.started or parent.attr.value == "start"
                return
            resource.escaped = True
            return
        if isinstance(parent, cst.Expr):
            return  # a bare constructor call: nothing keeps it
        if isinstance(parent, (cst.Return, cst.Yield)) and parent.value is call and scope.fixture:
            resource.handed = "return" if isinstance(parent, cst.Return) else "yield"
            return
        if isinstance(parent, cst.Arg) and parent.value is call and parent.keyword is None:
            grand = stack[-2] if len(stack) > 1 else None
            if _is_default_executor_call(grand):
                resource.uses.append(Use("handoff", call, "set_default_executor", call=grand))
                return
        container = parent
        depth = 1
        if isinstance(parent, cst.Element) and len(stack) > 2 and isinstance(stack[-2], cst.List):
            container, depth = stack[-2], 2
        listed = isinstance(container, cst.List) and container is not parent
        if listed or (isinstance(parent, cst.ListComp) and parent.elt is call):
            resource.collection = True
            owner = stack[-1 - depth] if len(stack) > depth else None
            target = _single_target(owner, container)
            if isinstance(target, cst.Name) and not scope.is_class:
                resource.name = target.value
                scope.resources.append(resource)
                return
            resource.escaped = True
            return
        target = _single_target(parent, call)
        if isinstance(target, cst.Name) and not scope.is_class:
            resource.name = target.value
            scope.resources.append(resource)
            statement = stack[-2] if len(stack) > 1 else None
            if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                resource.statement = statement
                block = stack[-3] if len(stack) > 2 else None
                if isinstance(block, (cst.IndentedBlock, cst.Module)):
                    resource.block = block
                    function = stack[-4] if len(stack) > 3 else None
                    resource.function_body = (
                        isinstance(function, cst.FunctionDef) and function.body is block
                    )
            return
        if isinstance(target, cst.Attribute) and self._is_self(target.value):
            resource.name = f"self.{target.attr.value}"
            self.self_resources.append((self.scopes[-1].owner, resource))
            return
        resource.escaped = True

    def _in_assert(self, depth: int) -> bool:
        """Whether the node whose parent is ``self.stack[-depth]`` is in an ``assert``."""
        for node in reversed(self.stack[: len(self.stack) - depth + 1]):
            if isinstance(node, cst.Assert):
                return True
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return False
        return False

    def _waits_while(self, index: int) -> bool:
        """Whether the call at ``self.stack[index]`` is a ``while`` loop's whole test, or one of
        its ``or`` operands: the loop ends only when the call is false."""
        node = self.stack[index] if index >= 0 else None
        index -= 1
        while index >= 0:
            outer = self.stack[index]
            if isinstance(outer, cst.BooleanOperation) and isinstance(outer.operator, cst.Or):
                node, index = outer, index - 1
                continue
            return isinstance(outer, cst.While) and outer.test is node
        return False

    def _in_loop(self) -> bool:
        """Inside a loop, in this function or around it (a nested function may be defined, or
        called, once per iteration)."""
        return any(isinstance(node, (cst.For, cst.While, cst.CompFor)) for node in self.stack)

    def _in_while(self) -> bool:
        for node in reversed(self.stack):
            if isinstance(node, cst.While):
                return True
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                return False
        return False

    def _expects_failure(self) -> str:
        """Inside ``with pytest.raises(...)`` / ``self.assertRaises(...)``, or a ``try`` body."""
        stack = self.stack
        for index in range(len(stack) - 1, -1, -1):
            node = stack[index]
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return ""
            in_body = index + 1 < len(stack) and stack[index + 1] is getattr(node, "body", None)
            if isinstance(node, cst.Try) and in_body and node.handlers:
                return "try"
            if isinstance(node, cst.With):
                for item in node.items:
                    call = item.item
                    if not isinstance(call, cst.Call):
                        continue
                    name = self.imports.qualified_name(call.func) or dotted_name(call.func) or ""
                    if name == "pytest.raises" or name.rsplit(".", 1)[-1].startswith(
                        "assertRaises"
                    ):
                        return "raises"
        return ""

    def _is_self(self, expr: cst.BaseExpression) -> bool:
        scope = self.scopes[-1]
        return (
            scope.self_name is not None
            and isinstance(expr, cst.Name)
            and expr.value == scope.self_name
        )

    # ---- uses --------------------------------------------------------------------------

    def _use(self, ref: cst.BaseExpression, depth: int) -> Use:
        """What the code does with ``ref``, whose parent is ``self.stack[-depth]``."""
        stack = self.stack
        parent = stack[-depth] if len(stack) >= depth else None
        grand = stack[-depth - 1] if len(stack) > depth else None
        if isinstance(parent, cst.Attribute) and parent.value is ref:
            method = parent.attr.value
            popped = stack[-depth - 2] if len(stack) > depth + 1 else None
            if (
                method == "pop"
                and isinstance(grand, cst.Call)
                and grand.func is parent
                and isinstance(popped, cst.Attribute)
                and popped.value is grand
            ):
                # ``items.pop().join()`` acts on one item; in a ``while`` loop, on each.
                return self._item_use(ref, grand, depth + 2, every=self._in_while())
            if isinstance(grand, cst.Call) and grand.func is parent:
                if method == "is_alive" and self._waits_while(len(self.stack) - depth - 1):
                    # ``while t.is_alive(): ...`` goes on only once the thread has ended.
                    return Use("call", ref, "join", call=grand, repeated=True)
                repeated = method == "join" and self._in_while()
                return Use("call", ref, method, call=grand, repeated=repeated)
            if isinstance(grand, cst.AssignTarget) and grand.target is parent:
                great = stack[-depth - 2] if len(stack) > depth + 1 else None
                value = great.value if isinstance(great, cst.Assign) else None
                return Use("store", ref, method, value=value)
            if method == "pid" and self._in_assert(depth):
                return Use("neutral", ref, "pid")  # read, not handed to os.waitpid/os.kill
            return Use("ref", ref, method)
        if isinstance(parent, (cst.Return, cst.Yield)) and parent.value is ref:
            if self.scopes[-1].fixture:
                return Use("handoff", ref, "return" if isinstance(parent, cst.Return) else "yield")
            return Use("escape", ref)
        if isinstance(parent, cst.Arg) and parent.value is ref and parent.keyword is None:
            if _is_default_executor_call(grand):
                return Use("handoff", ref, "set_default_executor", call=grand)
            if isinstance(grand, cst.Call) and _is_name_in(grand.func, _READERS):
                return Use("neutral", ref)  # ``len(threads)``: looks, keeps nothing
            if (
                isinstance(grand, cst.Call)
                and len(grand.args) == 1
                and isinstance(grand.func, cst.Attribute)
                and grand.func.attr.value == "append"
                and isinstance(grand.func.value, cst.Name)
            ):
                return Use("append", ref, grand.func.value.value, repeated=self._in_loop())
        if isinstance(parent, cst.Subscript) and parent.value is ref:
            # ``threads[0].join()`` acts on one item, not on the list; anything else may let
            # the item out.
            if isinstance(grand, cst.Attribute) and grand.value is parent:
                if not _end_index(parent):
                    return Use("item", ref)
                return self._item_use(ref, parent, depth + 1)
            return Use("escape", ref)
        if isinstance(parent, cst.WithItem) and parent.item is ref:
            return Use("with", ref)
        if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)) and parent.target is ref:
            owner = grand if isinstance(parent, cst.AssignTarget) else parent
            bound = owner.value if isinstance(owner, (cst.Assign, cst.AnnAssign)) else None
            return Use("bind", ref, value=bound)
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            return Use("neutral", ref)
        if isinstance(parent, _NEUTRAL_PARENTS):
            return Use("neutral", ref)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is ref:
            if isinstance(parent.target, cst.Name):
                return Use("iter", ref, parent.target.value)
            return Use("escape", ref)
        return Use("escape", ref)

    def _item_use(
        self, ref: cst.BaseExpression, item: cst.BaseExpression, depth: int, every: bool = False
    ) -> Use:
        """An "item" use of the list ``ref``: what is done with ``item`` (one of its items,
        whose parent is ``self.stack[-depth]``)."""
        of_item = self._use(item, depth)
        return Use(
            "item",
            ref,
            of_item.method,
            call=of_item.call,
            value=of_item.value,
            # Each turn of the ``while`` loop pops another item: no repeated join of one.
            repeated=of_item.repeated and not every,
            item=of_item.kind,
            every=every,
        )

    def _name(self, node: cst.Name) -> None:
        parent = self.stack[-1] if self.stack else None
        if _is_declaration(node, parent):
            return
        scope = self.scopes[-1]
        if _is_store(node, parent):
            scope.locals.add(node.value)
            if isinstance(parent, (cst.For, cst.CompFor, cst.AsName)):
                return
        use = self._use(node, 1)
        if use.kind == "iter":
            scope.aliases.setdefault(use.method, set()).add(node.value)
            return
        scope.uses.setdefault(node.value, []).append(use)

    def _attribute(self, node: cst.Attribute) -> None:
        if not isinstance(node.value, cst.Name):
            self.foreign_attrs.add(node.attr.value)
            return
        if not self._is_self(node.value):
            self.foreign_attrs.add(node.attr.value)
            return
        use = self._use(node, 1)
        key = f"{self.scopes[-1].owner}.{node.attr.value}"
        self.self_uses.setdefault(key, []).append(use)


# Builtins that look at a list of objects and keep nothing of it. (Not ``repr(proc)``: code
# that shows an object is often code that mocks it.)
_READERS = frozenset({"len"})


def _end_index(subscript: cst.Subscript) -> bool:
    """``items[0]`` or ``items[-1]``: the one item of a list that holds one."""
    if len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    if not isinstance(index, cst.Index) or index.star is not None:
        return False
    value = index.value
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        return isinstance(value.expression, cst.Integer) and value.expression.value == "1"
    return isinstance(value, cst.Integer) and value.value == "0"


def _is_empty_list(expr: cst.BaseExpression | None) -> bool:
    """``[]`` or ``list()``."""
    if isinstance(expr, cst.List):
        return not expr.elements
    return isinstance(expr, cst.Call) and _is_name(expr.func, "list") and not expr.args


def _is_list(expr: cst.BaseExpression | None) -> bool:
    """A new list: a literal, a comprehension or ``list(...)``."""
    if isinstance(expr, (cst.List, cst.ListComp)):
        return True
    return isinstance(expr, cst.Call) and _is_name(expr.func, "list")


def _is_name_in(expr: cst.BaseExpression, names: frozenset[str]) -> bool:
    return isinstance(expr, cst.Name) and expr.value in names


def _is_default_executor_call(node: cst.CSTNode | None) -> TypeGuard[cst.Call]:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "set_default_executor"
    )


def _single_target(
    owner: cst.CSTNode | None, value: cst.CSTNode | None
) -> cst.BaseExpression | None:
    if isinstance(owner, cst.Assign) and owner.value is value and len(owner.targets) == 1:
        return owner.targets[0].target
    if isinstance(owner, cst.AnnAssign) and owner.value is value:
        return owner.target
    return None


def _is_declaration(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    """A name that is not a variable reference: attribute, keyword, def name, import..."""
    if isinstance(parent, cst.Attribute):
        return parent.attr is node
    if isinstance(parent, cst.Arg):
        return parent.keyword is node
    if isinstance(parent, (cst.FunctionDef, cst.ClassDef)):
        return parent.name is node
    return isinstance(parent, (cst.Param, cst.ImportAlias, cst.NameItem, cst.ImportFrom))


def _is_store(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    if isinstance(parent, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign)):
        return parent.target is node
    if isinstance(parent, (cst.For, cst.CompFor, cst.NamedExpr)):
        return parent.target is node
    return isinstance(parent, (cst.AsName, cst.MatchAs))


_last: tuple[cst.Module, list[Resource]] | None = None


def resources(source: SourceFile, project: Project | None = None) -> list[Resource]:
    """Every tracked constructor call of ``source``; computed once per file for all rules.
    With ``project``, Thread and Process subclasses of the project's other modules count."""
    global _last
    assert source.module is not None
    if _last is not None and _last[0] is source.module:
        return _last[1]
    analysis = Analysis(source, project)
    try:
        walk(source.module, analysis.on_visit, analysis.on_leave)
        found = analysis.resources
    except RecursionError:
        found = []  # nesting deeper than the walk can follow: claim nothing about the file
    _last = (source.module, found)
    return found


def resources_of(
    source: SourceFile, kinds: Sequence[Kind], project: Project | None = None
) -> list[Resource]:
    return [r for r in resources(source, project) if r.kind in kinds]


# --------------------------------------------------------------------------- messages and fixes


def described(resource: Resource) -> str:
    """The subject of a message, verb included: ``thread `t` (threading.Thread) is``."""
    noun = {Kind.THREAD: "thread", Kind.PROCESS: "process"}.get(resource.kind, "object")
    if resource.name is None:
        return f"unnamed {noun} ({resource.label}) is"
    if resource.collection:
        plural = "processes" if resource.kind is Kind.PROCESS else f"{noun}s"
        return f"{plural} in `{resource.name}` ({resource.label}) are"
    return f"{noun} `{resource.name}` ({resource.label}) is"


def daemon_edit(source: SourceFile, resource: Resource) -> Edit | None:
    """``daemon=True`` in the constructor call, as a text insertion (layout kept)."""
    call = resource.call
    if not resource.accepts_daemon or call.rpar:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "daemon":
            start, end = source.range_of(arg.value)
            return Edit(source.path, start, end, "True")
        if arg.star == "**":
            return None
    if call.args:
        # The whole range: a parenthesized last value (``args=(sock, )``) ends after its ``)``.
        _, end = source.whole_range_of(call.args[-1].value)
        return Edit(source.path, end, end, ", daemon=True")
    _, end = source.range_of(call)
    at = Location(end.row, end.column - 1)
    return Edit(source.path, at, at, "daemon=True")


def with_rewrite(source: SourceFile, resource: Resource) -> Edit | None:
    """``x = Ctor(...)`` + the rest of its block -> ``with Ctor(...) as x:`` around that rest.

    Only when the variable is used nowhere but in the statements that follow in the same block
    (not in nested functions, not rebound), and the lines to re-indent hold no multi-line string.
    Returns None whenever the rewrite is not certain to be right.
    """
    statement, block, name = resource.statement, resource.block, resource.name
    if statement is None or not isinstance(block, cst.IndentedBlock) or name is None:
        return None
    if resource.collection or resource.handed == "return":
        return None  # ``with`` would stop it before the caller or the test uses it
    if any(u.nested or (u.kind == "handoff" and u.method != "yield") for u in resource.uses):
        return None
    assign = statement.body[0]
    if not isinstance(assign, (cst.Assign, cst.AnnAssign)) or assign.value is not resource.call:
        return None
    body = list(block.body)
    index = next((i for i, s in enumerate(body) if s is statement), None)
    if index is None or index + 1 >= len(body):
        return None
    rest = body[index + 1 :]
    inside: set[int] = set()
    for stmt in rest:
        _collect_ids(stmt, inside)
    stores = 0
    for use in resource.uses:
        if use.kind == "bind":
            stores += 1
        elif id(use.node) not in inside:
            return None
    if stores > 1:
        return None
    text = source.text
    if "\r" in text:
        return None
    lines = text.split("\n")
    start, _ = source.range_of(statement)
    call_start, call_end = source.range_of(resource.call)
    _, last_end = source.range_of(rest[-1])
    end_row = last_end.row if last_end.column > 1 else last_end.row - 1
    tail = lines[call_end.row - 1][call_end.column - 1 :]
    if tail.strip() and not tail.strip().startswith("#"):
        return None
    wrapped = lines[call_end.row : end_row]
    if any('"""' in line or "'''" in line for line in wrapped):
        return None
    first = lines[start.row - 1]
    indent = first[: len(first) - len(first.lstrip())]
    call_text = _slice(lines, call_start, call_end)
    unit = source.module.default_indent if source.module is not None else "    "
    new_lines = [f"{indent}with {call_text} as {name}:{tail}"]
    new_lines += [unit + line if line.strip() else line for line in wrapped]
    edit = Edit(
        source.path,
        Location(start.row, 1),
        Location(end_row, len(lines[end_row - 1]) + 1),
        "\n".join(new_lines),
    )
    new_text = "\n".join([*lines[: start.row - 1], *new_lines, *lines[end_row:]])
    try:
        cst.parse_module(new_text)
    except Exception:
        return None
    return edit


def _slice(lines: list[str], start: Location, end: Location) -> str:
    if start.row == end.row:
        return lines[start.row - 1][start.column - 1 : end.column - 1]
    parts = [lines[start.row - 1][start.column - 1 :]]
    parts += lines[start.row : end.row - 1]
    parts.append(lines[end.row - 1][: end.column - 1])
    return "\n".join(parts)


def _collect_ids(node: cst.CSTNode, ids: set[int]) -> None:
    walk(node, lambda n: ids.add(id(n)), lambda n: None)
