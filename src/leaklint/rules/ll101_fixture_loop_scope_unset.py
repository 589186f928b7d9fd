from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from leaklint.config.config_edits import add_setting
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from leaklint.model.project import PYTEST_ASYNCIO_USE
from leaklint.model.pytest_model import FixtureDef, scope_rank
from leaklint.rules.base import FixAvailability, ProjectRule, register

if TYPE_CHECKING:
    from leaklint.model.project import Project

KEY = "asyncio_default_fixture_loop_scope"


@register
class FixtureLoopScopeUnset(ProjectRule):
    """
    ## What it does
    Reports a project that uses pytest-asyncio and leaves `asyncio_default_fixture_loop_scope`
    unset in the pytest config that pytest actually reads. The finding points at
    the config's pytest section; with no config file at all, at the first file that uses
    pytest-asyncio.

    ## Why is this bad?
    Unset, every async fixture runs on a loop as wide as its cache scope, and pytest-asyncio
    warns on every run that this default will change to `function`. When it changes, every
    wider-scoped async fixture without `loop_scope=` fails with `ScopeMismatch`, and tests
    silently move to other loops.

    ## Example
    ```ini
    [pytest]
    asyncio_mode = auto
    ```

    Use instead:
    ```ini
    [pytest]
    asyncio_default_fixture_loop_scope = function
    asyncio_mode = auto
    ```

    ## Fix safety
    Safe: the fix adds `asyncio_default_fixture_loop_scope = function` and, to every
    `@pytest_asyncio.fixture` with a scope wider than `function` and no `loop_scope=`, adds
    `loop_scope=` equal to its scope, so every fixture keeps the loop it has today. When such
    a fixture cannot be given `loop_scope=` (a plain `@pytest.fixture` in auto mode, a scope
    that is not a literal), `function` would break it, so only advice naming those fixtures
    is given. With no config file and no `pyproject.toml`, only advice is given too.
    """

    code = "LL101"
    name = "fixture-loop-scope-unset"
    needs_pytest_asyncio = True
    fix_availability = FixAvailability.SAFE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        if not project.uses_pytest_asyncio:
            return
        config = project.config
        if config.get(KEY) is not None:
            return  # set; invalid values (even an empty one) are LL104's, wrong types LL002's
        if config.file is None and config.problems:
            return  # pytest stops at a broken config first (LL002)
        message = (
            f"pytest-asyncio is in use and {KEY} is unset: it warns on every run, "
            "and its coming default moves async fixtures to other loops"
        )
        wide, blockers, fixture_edits = _wide_fixtures(project)
        file = config.file
        if file is None:
            where = _first_user(project)
            if where is None:
                return
            yield self.diagnostic(
                message=message,
                path=where,
                start=Location(1, 1),
                help=(
                    f"create pytest.ini with `[pytest]` and `{KEY} = function`"
                    + _blocker_text(wide, blockers)
                ),
            )
            return
        start = file.section_location if file.section else Location(1, 1)
        config_edit = add_setting(file, KEY, "function")
        fix: Fix | None = None
        if config_edit is not None and not blockers:
            text = f"set {KEY} = function"
            if fixture_edits:
                text += f" and add loop_scope= to {_names(wide)}"
            fix = Fix(Applicability.SAFE, text, (config_edit, *fixture_edits))
        yield self.diagnostic(
            message=message,
            path=file.path,
            start=start,
            fix=fix,
            help=None if fix else f"set {KEY} = function" + _blocker_text(wide, blockers),
        )


def _names(fixtures: list[FixtureDef]) -> str:
    return ", ".join(f"`{f.name}`" for f in fixtures)


def _blocker_text(wide: list[FixtureDef], blockers: list[FixtureDef]) -> str:
    text = ""
    if wide:
        text += f", and add loop_scope= equal to the scope of {_names(wide)}"
    if blockers:
        text += f"; {_names(blockers)} need loop_scope= too (use @pytest_asyncio.fixture)"
    return text


def _first_user(project: Project) -> Path | None:
    """Where to report when there is no config file: the first file using pytest-asyncio."""
    for path in project.python_files:
        raw = project.read(path)
        if isinstance(raw, bytes) and PYTEST_ASYNCIO_USE.search(raw):
            return path
    for requirements in sorted(project.root.glob("requirements*.txt")):
        return requirements
    return None


def _wide_fixtures(project: Project) -> tuple[list[FixtureDef], list[FixtureDef], list[Edit]]:
    """Async fixtures wider than ``function`` without ``loop_scope=``: fixable ones, ones that
    need a hand, and the edits that pin the fixable ones to their current loop."""
    strict = project.config.asyncio_mode == "strict"
    wide: list[FixtureDef] = []
    blockers: list[FixtureDef] = []
    edits: list[Edit] = []
    for fixture in _unpinned(project.async_fixtures(wide=True)):
        if fixture.kind == "pytest" and strict:
            continue  # not an asyncio fixture in strict mode (LL207's business)
        call = fixture.decorator_call
        if fixture.kind != "pytest_asyncio" or fixture.scope == "dynamic" or call is None:
            blockers.append(fixture)
            continue
        edit = _loop_scope_edit(project, fixture.path, call, fixture.scope)
        if edit is None:
            blockers.append(fixture)
            continue
        wide.append(fixture)
        edits.append(edit)
    return wide, blockers, edits


def _unpinned(fixtures: Iterable[FixtureDef]) -> Iterator[FixtureDef]:
    """Fixtures wider than ``function`` whose loop scope comes from the default."""
    for fixture in fixtures:
        if fixture.loop_scope is not None or fixture.has_loop_scope_arg:
            continue  # pinned (a non-literal loop_scope= too)
        if fixture.scope == "dynamic" or scope_rank(fixture.scope) > 0:
            yield fixture


def _loop_scope_edit(project: Project, path: Path, call: cst.Call, scope: str) -> Edit | None:
    source = project.source(path)
    if isinstance(source, OSError) or source.module is None:
        return None
    arg = cst.Arg(
        keyword=cst.Name("loop_scope"),
        value=cst.SimpleString(f'"{scope}"'),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(""),
        ),
    )
    new = call.with_changes(args=[*call.args, arg])
    start, end = source.whole_range_of(call)
    return Edit(path, start, end, source.rendered_in_place(call, new, start, end))
