"""Classes and helpers that make tracked objects: ``Thread`` and ``Process`` subclasses of a file
and of the project's other modules (whether they set ``daemon``, start or join themselves),
functions that return a fresh thread, executor or process, and the families of classes that
share ``self.<attr>`` through inheritance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from leaklint.model.modules import basedir, resolve
from leaklint.model.tracked import (
    EXECUTOR_CLASSES,
    POPEN_CLASSES,
    PROCESS_CLASSES,
    THREAD_CLASSES,
    Kind,
    bool_literal,
    has_timeout,
    is_name,
)
from leaklint.python.source import SourceFile, dotted_name
from leaklint.python.walk import walk, walk_visitor

if TYPE_CHECKING:
    from leaklint.model.project import Project

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
class Subclass:
    kind: Kind
    daemon: bool | None
    self_start: bool
    joiners: frozenset[str] = frozenset()


def class_infos(module: cst.Module, source: SourceFile) -> dict[str, _ClassInfo]:
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
        if not has_timeout(call):
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
                and is_name(t.value, "self")
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
        elif func.attr.value == "start" and self.in_init and is_name(func.value, "self"):
            self.info.self_start = True
        elif func.attr.value == "join" and is_name(func.value, "self") and self.functions:
            self._joins(node)


def _read_class_body(info: _ClassInfo) -> None:
    walk_visitor(info.node.body, _DaemonFinder(info))


def find_subclasses(
    infos: dict[str, _ClassInfo], external: Callable[[str], Subclass | None] | None = None
) -> dict[str, Subclass]:
    """Classes of the file that derive (through each other, or through ``external``: classes
    of other project modules by qualified name) from Thread, Timer or Process."""
    result: dict[str, Subclass] = {}

    def resolve(name: str, seen: frozenset[str]) -> Subclass | None:
        if name in result:
            return result[name]
        info = infos.get(name)
        if info is None or name in seen:
            return None
        for base in info.bases:
            parent: Subclass | None
            if base in THREAD_CLASSES:
                parent = Subclass(Kind.THREAD, False, False)
            elif base in PROCESS_CLASSES:
                parent = Subclass(Kind.PROCESS, False, False)
            elif base not in infos and external is not None:
                parent = external(base)
            else:
                parent = resolve(base, seen | {name})
            if parent is not None:
                # Only a class that derives from Thread or Process needs its body read.
                _read_class_body(info)
                daemon = info.daemon if info.daemon_set else parent.daemon
                sub = Subclass(
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
    pytest's default import mode finds them (``model.modules``). Every module read, and the
    paths tried before it, are noted as read on each use (the findings cache follows them); a
    module found nowhere in the project (the standard library, an installed package) notes
    nothing, so files that import only those keep their cache entries when other files come
    and go."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.files: dict[tuple[str, Path], tuple[Path | None, frozenset[Path]]] = {}
        self.modules: dict[Path, tuple[bytes, dict[str, Subclass], frozenset[Path]]] = {}
        self.active: set[Path] = set()  # being read: an import cycle stops here

    def lookup(self, qualified: str, origin: Path) -> Subclass | None:
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
        key = (module, basedir(origin) if not module.startswith(".") else origin.parent)
        if key not in self.files:
            found, tried = resolve(self.project, module, origin)
            self.files[key] = (found, frozenset(tried) if found is not None else frozenset())
        path, tried_paths = self.files[key]
        if tried_paths:
            self.project.note_reads(tried_paths)
        return path

    def classes(self, path: Path) -> dict[str, Subclass]:
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

    def _read(self, path: Path, raw: bytes) -> dict[str, Subclass]:
        if _CLASS_DEF.search(raw) is None:
            return {}  # no class with a base: nothing to parse
        source = self.project.source(path)
        if isinstance(source, OSError) or source.module is None:
            return {}
        infos = class_infos(source.module, source)
        return find_subclasses(infos, lambda qualified: self.lookup(qualified, path))


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


def fresh_helpers(module: cst.Module, source: SourceFile) -> dict[str, Kind]:
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
            and is_name(line.targets[0].target, name)
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


def open_class_families(infos: dict[str, _ClassInfo], families: dict[str, str]) -> set[str]:
    """Families with a base class from elsewhere, which may own ``self.<attr>`` objects."""
    return {
        families[name]
        for name, info in infos.items()
        if any(base not in infos and base not in PLAIN_BASES for base in info.bases)
    }


def base_name(expr: cst.BaseExpression, source: SourceFile) -> str:
    return source.imports.qualified_name(expr) or dotted_name(expr) or "?"


def class_families(infos: dict[str, _ClassInfo]) -> dict[str, str]:
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
