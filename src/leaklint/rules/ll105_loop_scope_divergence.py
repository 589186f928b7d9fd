from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from leaklint.config.config_edits import add_setting, read_lines
from leaklint.config.pytest_config import LOOP_SCOPES, Setting
from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from leaklint.model.loops import is_asyncio_fixture
from leaklint.model.pytest_model import scope_rank
from leaklint.rules.base import FixAvailability, ProjectRule, register

if TYPE_CHECKING:
    from leaklint.model.project import Project

FIXTURE_KEY = "asyncio_default_fixture_loop_scope"
TEST_KEY = "asyncio_default_test_loop_scope"


@register
class LoopScopeDivergence(ProjectRule):
    """
    ## What it does
    Reports an `asyncio_default_fixture_loop_scope` wider than
    `asyncio_default_test_loop_scope` (which defaults to `function`), in a project with at
    least one async fixture that takes the default (no `loop_scope=` of its own).

    ## Why is this bad?
    Every async fixture without `loop_scope=` then runs on a wider loop than every test
    without a mark. A test awaiting something the fixture created gets `Future attached to a
    different loop`, hangs, or fails at teardown with `Event loop is closed`. pytest-asyncio
    allows the combination and says nothing.

    ## Example
    ```ini
    [pytest]
    asyncio_default_fixture_loop_scope = session
    ```

    Use instead:
    ```ini
    [pytest]
    asyncio_default_fixture_loop_scope = session
    asyncio_default_test_loop_scope = session
    ```

    ## Fix safety
    Unsafe: aligning the two changes which loop fixtures or tests run on. The fix narrows the
    fixture default to the test default, unless an async fixture without `loop_scope=` has a
    cache scope wider than the test default (narrowing would then be a `ScopeMismatch`); then
    it widens the test default instead. The help text names the other choice.
    """

    code = "LL105"
    name = "loop-scope-divergence"
    fix_availability = FixAvailability.UNSAFE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        config = project.config
        fixture_setting = config.get(FIXTURE_KEY)
        fixture_scope = config.default_fixture_loop_scope
        test_scope = config.default_test_loop_scope
        if fixture_setting is None or fixture_scope is None:
            return
        written_test_scope = config.text(TEST_KEY)
        if written_test_scope is not None and written_test_scope not in LOOP_SCOPES:
            return  # invalid: pytest-asyncio refuses to start (LL104)
        if scope_rank(fixture_scope) <= scope_rank(test_scope):
            return
        if not _has_defaulted_async_fixture(project):
            return  # no async fixture takes the default: no test can meet one on another loop
        message = (
            f"async fixtures default to a {fixture_scope} loop but tests to a {test_scope} "
            "loop: a test awaiting a fixture's objects runs on another loop"
        )
        widen = _has_wide_unpinned(project, test_scope)
        if widen:
            fix = _set(project, TEST_KEY, fixture_scope)
            other = f"or set {FIXTURE_KEY} = {test_scope} and give wider fixtures loop_scope="
        else:
            fix = _set(project, FIXTURE_KEY, test_scope)
            other = f"or set {TEST_KEY} = {fixture_scope} to run tests on the wider loop"
        yield self.diagnostic(
            message=message,
            path=fixture_setting.path,
            start=fixture_setting.location,
            fix=fix,
            help=other if fix is None else None,
            notes=(other,),
        )


def _has_defaulted_async_fixture(project: Project) -> bool:
    """Whether an async fixture that pytest-asyncio runs takes its loop scope from the default
    (no ``loop_scope=`` of its own)."""
    return any(
        is_asyncio_fixture(fixture, project)
        and not (fixture.kind == "pytest_asyncio" and fixture.has_loop_scope_arg)
        for fixture in project.async_fixtures()
    )


def _has_wide_unpinned(project: Project, test_scope: str) -> bool:
    return any(
        fixture.loop_scope is None
        and (fixture.scope == "dynamic" or scope_rank(fixture.scope) > scope_rank(test_scope))
        for fixture in project.async_fixtures(wide=True)
    )


def _set(project: Project, key: str, value: str) -> Fix | None:
    setting = project.config.get(key)
    edit: Edit | None
    if setting is None:
        file = project.config.file
        edit = None if file is None else add_setting(file, key, value)
    else:
        edit = _replace_value(setting, value)
    if edit is None:
        return None
    return Fix(Applicability.UNSAFE, f"set {key} = {value}", (edit,))


def _replace_value(setting: Setting, value: str) -> Edit | None:
    lines = read_lines(setting.path)
    old = setting.value
    if lines is None or not isinstance(old, str) or not old:
        return None
    line = lines[setting.location.row - 1].rstrip("\r\n")
    offset = line.find("=") + 1 if setting.mode != "addopts" else 0
    start = line.find(old, offset)
    if start < 0:
        return None
    row = setting.location.row
    return Edit(setting.path, Location(row, start + 1), Location(row, start + 1 + len(old)), value)
