"""The candidate stage's question for the loop rules (LL301, LL304): can this file report a
loop-bound object or an implicit or unclosed loop, by what CPython's ``ast`` says of it?

Each rule reports a call it recognises by name (``asyncio.Queue()``, ``create_future()``,
``asyncio.get_event_loop()``...) only in some places, which the facts tell apart (import time,
the body of a sync fixture, an ``except`` block, sync code, an argument stored into a
container). Both also report a call that *builds* a class whose sync ``__init__`` makes such
an object, at import time or in a sync fixture: a class of this file or of a project module
(looked up as ``called_class`` does, through the project, so the findings cache follows that
module) whose ``__init__`` holds such a call by ``ast``.

Everything here over-approximates the libcst side: ``False`` means the rule has nothing to
report in the file.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from leaklint.model.project import Project
from leaklint.model.pytest_model import FIXTURE_DECORATORS
from leaklint.python.ast_facts import IMPORT_TIME, AstFacts, CallSite, ast_facts
from leaklint.rules.async_context import may_name_project_class


def sync_fixtures(facts: AstFacts) -> frozenset[int]:
    """Indexes (in ``facts.functions``) of the sync functions that may be fixtures: under a
    fixture decorator, or under a name bound to a call of one
    (``module_fixture = pytest.fixture(scope="module")``)."""
    aliases = {
        name
        for name, callees in facts.assigned_calls.items()
        if not callees.isdisjoint(FIXTURE_DECORATORS)
    }
    return frozenset(
        index
        for index, function in enumerate(facts.functions)
        if not function.is_async
        and not (
            function.decorators.isdisjoint(FIXTURE_DECORATORS)
            and function.decorators.isdisjoint(aliases)
        )
    )


def in_sync_fixture(site: CallSite, fixtures: frozenset[int]) -> bool:
    """The call is in the own body of a sync fixture: its innermost ``def`` is one (a lambda
    or a class body in between is not seen here, which only adds candidates)."""
    return bool(site.functions) and site.functions[-1] in fixtures


def may_build_a_loop_class(
    facts: AstFacts,
    builders: list[CallSite],
    makes_it: Callable[[CallSite], bool],
    holds_it: Callable[[bytes], bool],
    here: Path,
    project: Project,
) -> bool:
    """Whether one of ``builders`` (calls made where the rule reports a built class) may
    instantiate a class whose sync ``__init__`` or ``__post_init__`` makes what the rule
    reports: a module-level class of this file or of a project module with a call
    ``makes_it`` accepts in those methods (a project module only when its bytes pass
    ``holds_it``, the cheap test, before ``ast`` reads it)."""
    if not builders:
        return False
    local = {s.init_of for s in facts.sites if s.init_of is not None and makes_it(s)}
    if local and any(s.written in local for s in builders):
        return True
    imported = {name for s in builders for name in s.resolved if "." in name}

    def holds(raw: bytes, class_name: str) -> bool:
        if not holds_it(raw):
            return False
        owner = _facts_of(raw)
        return owner is None or any(s.init_of == class_name and makes_it(s) for s in owner.sites)

    return may_name_project_class(project, here, imported, holds)


# The facts of the project modules that builders' classes come from: many files import the
# same few. Keyed by the bytes (read through the project each time).
_facts_of = lru_cache(maxsize=32)(ast_facts)

# Over-approximate: any ``class`` keyword and the name after it, as written (non-ASCII too).
_CLASS_NAME = re.compile(rb"\bclass\s+([^\s(:]+)")


def _defines_init(raw: bytes) -> bool:
    """Whether the bytes can hold an ``__init__`` or ``__post_init__`` method (as written:
    what libcst reads)."""
    return b"__init__" in raw or b"__post_init__" in raw


_CLASS_WORDS: dict[str, tuple[weakref.ref[Project], tuple[tuple[bytes, ...], ...]]] = {}


def loop_class_words(
    project: Project,
    key: str,
    makes_it: Callable[[CallSite], bool],
    holds_it: Callable[[bytes], bool],
) -> tuple[tuple[bytes, ...], ...]:
    """The project's module-level classes whose sync ``__init__`` or ``__post_init__`` may
    make what a loop rule reports (``makes_it``, in a module whose bytes pass ``holds_it``),
    as the words a file that builds one must write, for the prefilter: the class's name, and
    the module's (``called_class`` finds the module by the last part of the name the file
    imports; a package's ``__init__`` may be imported as ``from . import Name``, so its
    classes need their name only). Found once per project and ``key`` (the rule). As with
    ``opening_class_names``, the files read are not noted as a file's dependencies (the
    prefilter's choice is part of a cache entry's key)."""
    cached = _CLASS_WORDS.get(key)
    if cached is not None and cached[0]() is project:
        return cached[1]
    words: set[tuple[bytes, ...]] = set()
    saved, project.access_log = project.access_log, None
    try:
        for path in project.python_files:
            raw = project.read(path)
            if not isinstance(raw, bytes) or b"class" not in raw or not _defines_init(raw):
                continue
            if not holds_it(raw):
                continue
            # ``ast`` normalises non-ASCII names (NFKC): those are kept as written too.
            names = {name for name in _CLASS_NAME.findall(raw) if not name.isascii()}
            facts = ast_facts(raw, keep=True)
            if facts is None:
                names.update(_CLASS_NAME.findall(raw))
            else:
                names.update(
                    s.init_of.encode() for s in facts.sites if s.init_of is not None and makes_it(s)
                )
            stem = path.stem
            module = (stem.encode(),) if stem != "__init__" and stem.isascii() else ()
            words.update((*module, name) for name in names)
    finally:
        project.access_log = saved
    found = tuple(sorted(words))
    _CLASS_WORDS[key] = (weakref.ref(project), found)
    return found


def loop_class_names(
    project: Project,
    key: str,
    makes_it: Callable[[CallSite], bool],
    holds_it: Callable[[bytes], bool],
) -> tuple[bytes, ...]:
    """The names of the classes of ``loop_class_words``: a file that holds none of a rule's
    tokens can still build one at import time."""
    words = loop_class_words(project, key, makes_it, holds_it)
    return tuple(sorted({group[-1] for group in words}))


def builders_of(facts: AstFacts, fixtures: frozenset[int]) -> list[CallSite]:
    """The calls made at import time or in a sync fixture whose callee is a name: where both
    rules report a class that ``__init__`` makes what they look for."""
    return [
        s
        for s in facts.sites
        if s.written is not None and (s.where & IMPORT_TIME or in_sync_fixture(s, fixtures))
    ]
