"""Async resources that hold connections bound to the event loop that opened them.

One row per constructor (by qualified name) with the method that closes what it returns, read
from ``data/async_resources.toml``. Adding a library is a table in that file; LL302
(global-async-resource) and LL303 (async-resource-not-closed) read these rows and nothing else.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources

import libcst as cst

from leaklint.model.built_classes import built_class_words
from leaklint.model.project import Project
from leaklint.python.ast_facts import CallSite
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


def opening_class_words(project: Project) -> tuple[tuple[bytes, ...], ...]:
    """The project's classes whose sync ``__init__`` (or ``__post_init__``) may open a
    resource, as the words a file that builds one writes (``built_classes``), for LL302's
    prefilter."""
    return built_class_words(project, "resources", opens_a_resource, writes_a_constructor)


def opens_a_resource(site: CallSite) -> bool:
    """A call that may stand for a resource constructor."""
    return any(name in RESOURCES for name in site.names)


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
