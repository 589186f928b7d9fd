"""Async resources that hold connections bound to the event loop that opened them.

One row per constructor (by qualified name) with the method that closes what it returns, read
from ``data/async_resources.toml``. Adding a library is a table in that file; LL302
(global-async-resource) and LL303 (async-resource-not-closed) read these rows and nothing else.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from dataclasses import dataclass
from importlib import resources

import libcst as cst

from leaklint.model.project import Project
from leaklint.python.ast_facts import statements
from leaklint.python.source import ImportMap
from leaklint.python.words import has_word

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class AsyncResource:
    constructor: str  # qualified name of the call that opens it
    kind: str  # what it is, for messages: connection, pool, engine, client, session
    close: str  # the method that releases it
    awaited: bool = True  # ``await x.close()`` (True) or ``x.close()`` (False)
    other_closes: tuple[str, ...] = ()  # further methods that release it too

    @property
    def closes(self) -> tuple[str, ...]:
        return (self.close, *self.other_closes)

    def close_statement(self, name: str) -> str:
        call = f"{name}.{self.close}()"
        return f"await {call}" if self.awaited else call


def _load(text: str) -> tuple[AsyncResource, ...]:
    """The rows of ``data/async_resources.toml``: one per constructor name."""
    rows: list[AsyncResource] = []
    for entry in tomllib.loads(text)["resource"]:
        for constructor in entry["constructors"]:
            rows.append(
                AsyncResource(
                    constructor,
                    entry["kind"],
                    entry["close"],
                    awaited=entry.get("awaited", True),
                    other_closes=tuple(entry.get("other_closes", ())),
                )
            )
    return tuple(rows)


_RESOURCES = _load(
    resources.files("leaklint").joinpath("data/async_resources.toml").read_text("utf-8")
)

RESOURCES: dict[str, AsyncResource] = {r.constructor: r for r in _RESOURCES}

# Any of these, called or handed over as a callback, counts as releasing a resource.
CLOSING_METHODS = frozenset({"wait_closed", *(name for r in _RESOURCES for name in r.closes)})

# Bytes a file must contain to open one of them (the engine's prefilter).
TOKENS = tuple(sorted({r.constructor.split(".")[0].encode() for r in _RESOURCES}))

# The last part of each constructor's name (``create_async_engine``).
CONSTRUCTOR_WORDS = tuple(sorted({r.constructor.rpartition(".")[2].encode() for r in _RESOURCES}))
# Each constructor as the two whole words a file that calls it writes, as its qualified name
# comes from the file's own imports and attribute chain: its module's first part (in the
# import) and its own name (in the import or at the call), ``(b"asyncpg", b"connect")``.
CONSTRUCTOR_PAIRS = tuple(
    sorted(
        {
            (r.constructor.partition(".")[0].encode(), r.constructor.rpartition(".")[2].encode())
            for r in _RESOURCES
        }
    )
)


def writes_a_constructor(raw: bytes) -> bool:
    """Whether ``raw`` writes a constructor's module and name (``CONSTRUCTOR_PAIRS``): what a
    module that calls one, by any alias, must hold."""
    return any(has_word(raw, head) and has_word(raw, name) for head, name in CONSTRUCTOR_PAIRS)


# Over-approximate: any ``class`` keyword and the name after it, as written (non-ASCII too).
_CLASS_NAME = re.compile(rb"\bclass\s+([^\s(:]+)")
_CONSTRUCTOR_NAMES = frozenset(word.decode() for word in CONSTRUCTOR_WORDS)
_INIT_METHODS = ("__init__", "__post_init__")
_opening_classes: tuple[Project, tuple[bytes, ...]] | None = None


def opening_class_names(project: Project) -> tuple[bytes, ...]:
    """Names of the project's classes whose ``__init__`` (or ``__post_init__``) may open a
    resource: it names a constructor, by its own name or an alias the file imports it as.
    An over-approximation from CPython's ``ast`` of the files that write a constructor's name
    (every class of a file ``ast`` cannot read), for the prefilter. As with ``subclass_names``,
    the files read are not noted as a file's dependencies (the prefilter's choice is part of
    a cache entry's key)."""
    global _opening_classes
    if _opening_classes is not None and _opening_classes[0] is project:
        return _opening_classes[1]
    names: set[bytes] = set()
    saved, project.access_log = project.access_log, None
    try:
        for path in project.python_files:
            raw = project.read(path)
            if not isinstance(raw, bytes) or b"class" not in raw:
                continue
            if b"__init__" not in raw and b"__post_init__" not in raw:
                continue  # no class here has a method that runs when it is built
            if writes_a_constructor(raw):
                names.update(_classes_opening(raw))
    finally:
        project.access_log = saved
    found = tuple(sorted(names))
    _opening_classes = (project, found)
    return found


def _classes_opening(raw: bytes) -> set[bytes]:
    """The classes of one file with an init method that may call a constructor."""
    # ``ast`` normalises non-ASCII names (NFKC): those are kept as written too.
    found = {name for name in _CLASS_NAME.findall(raw) if not name.isascii()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: not ours to say
            tree = ast.parse(raw)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return set(_CLASS_NAME.findall(raw))
    called = set(_CONSTRUCTOR_NAMES)  # and the names the file imports them as
    classes: list[ast.ClassDef] = []
    for node in statements(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name.rpartition(".")[2] in _CONSTRUCTOR_NAMES:
                    called.add(alias.asname or alias.name.partition(".")[0])
        elif isinstance(node, ast.ClassDef):
            classes.append(node)
    for cls in classes:
        if any(
            isinstance(method, ast.FunctionDef)
            and method.name in _INIT_METHODS
            and any(_names_constructor(n, called) for n in ast.walk(method))
            for method in cls.body
        ):
            found.add(cls.name.encode())
    return found


def _names_constructor(node: ast.AST, called: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in called
    return isinstance(node, ast.Attribute) and node.attr in _CONSTRUCTOR_NAMES


def opened_resource(
    imports: ImportMap, value: cst.BaseExpression
) -> tuple[cst.Call, AsyncResource] | None:
    """The resource constructor call ``value`` is (``await`` around it allowed), if any."""
    if isinstance(value, cst.Await):
        value = value.expression
    if not isinstance(value, cst.Call):
        return None
    qualified = imports.qualified_name(value.func)
    resource = RESOURCES.get(qualified) if qualified is not None else None
    return None if resource is None else (value, resource)
