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

from collections.abc import Callable
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
        owner = ast_facts(raw, keep=True)  # many files import the same few
        return owner is None or any(s.init_of == class_name and makes_it(s) for s in owner.sites)

    return may_name_project_class(project, here, imported, holds)


def builders_of(facts: AstFacts, fixtures: frozenset[int]) -> list[CallSite]:
    """The calls made at import time or in a sync fixture whose callee is a name: where both
    rules report a class that ``__init__`` makes what they look for."""
    return [
        s
        for s in facts.sites
        if s.written is not None and (s.where & IMPORT_TIME or in_sync_fixture(s, fixtures))
    ]
