"""Project classes whose construction makes what a rule reports, for the prefilter.

A rule that reports a call (a loop-bound object, an async resource) also reports building a
class whose sync ``__init__`` or ``__post_init__`` makes that call: at import time, or in a sync
fixture, when the class is this file's or a project module's (``async_context.called_class``
finds such a module by the last part of the name the file imports, and the class at its top
level). A file that builds one writes the class's name and, unless the class sits in a package's
``__init__`` (importable as ``from . import Name``), its module's: those are the words the
prefilter asks of a file that names nothing else the rule looks for.

The classes are found once per project and rule by CPython's ``ast``, in the files that define
an ``__init__`` or ``__post_init__`` and pass the rule's byte test; the facts are kept for the
candidate stage (``ast_facts(keep=True)``). A file ``ast`` cannot read gives every class it
names; a class name that is not ASCII is also kept as written (``ast`` normalises it, libcst
does not). As with ``classes.subclass_names``, the files read are not noted as a file's
dependencies: the prefilter's choice is part of a cache entry's key.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable

from leaklint.model.project import Project
from leaklint.python.ast_facts import CallSite, ast_facts

# Over-approximate: any ``class`` keyword and the name after it, as written (non-ASCII too).
_CLASS_NAME = re.compile(rb"\bclass\s+([^\s(:]+)")
_FOUND: dict[str, tuple[weakref.ref[Project], tuple[tuple[bytes, ...], ...]]] = {}


def built_class_words(
    project: Project,
    key: str,
    makes_it: Callable[[CallSite], bool],
    holds_it: Callable[[bytes], bool],
) -> tuple[tuple[bytes, ...], ...]:
    """For each module-level class whose sync ``__init__`` or ``__post_init__`` holds a call
    ``makes_it`` accepts, in a file whose bytes pass ``holds_it``: the words a file that
    builds it writes (its module's name, then its own). Found once per project and ``key``
    (the rule)."""
    cached = _FOUND.get(key)
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
    _FOUND[key] = (weakref.ref(project), found)
    return found


def built_class_names(
    project: Project,
    key: str,
    makes_it: Callable[[CallSite], bool],
    holds_it: Callable[[bytes], bool],
) -> tuple[bytes, ...]:
    """The class names of ``built_class_words``: a file that holds none of a rule's tokens
    can still build one at import time."""
    words = built_class_words(project, key, makes_it, holds_it)
    return tuple(sorted({group[-1] for group in words}))


def _defines_init(raw: bytes) -> bool:
    """Whether the bytes can hold an ``__init__`` or ``__post_init__`` method (as written:
    what libcst reads)."""
    return b"__init__" in raw or b"__post_init__" in raw
