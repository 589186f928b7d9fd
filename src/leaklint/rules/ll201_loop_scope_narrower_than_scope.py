from __future__ import annotations

from leaklint.diagnostics import Applicability, Severity
from leaklint.model.loop_scope import fixture_loop_scope
from leaklint.model.loops import is_asyncio_fixture
from leaklint.model.pytest_model import SCOPES, FixtureDef, scope_rank
from leaklint.rules._asyncio_fixture_fix import asyncio_fixture_edits
from leaklint.rules.base import FileRule, FixAvailability, register


@register
class LoopScopeNarrowerThanScope(FileRule):
    """
    ## What it does
    Reports an async fixture whose event loop scope is narrower than its cache scope: an
    explicit `loop_scope="function"` on a `scope="module"` fixture, or a module-scoped fixture
    without `loop_scope` when `asyncio_default_fixture_loop_scope` is `function`.

    The effective loop scope is the fixture's `loop_scope=`, else the config's
    `asyncio_default_fixture_loop_scope`, else its cache `scope`. A callable (dynamic) scope
    or a `loop_scope=` that is not a literal is left alone. A sync `def` decorated with
    `@pytest_asyncio.fixture` counts too when the declared pytest-asyncio range allows 1.1 or
    later: from 1.1 pytest-asyncio sets it up with the loop runner of its loop scope (1.0 ran
    it as a plain fixture).

    ## Why is this bad?
    pytest-asyncio runs the fixture on the loop of its loop scope. A fixture cached for the
    whole module cannot run on a loop that is torn down after every test: pytest stops with
    `ScopeMismatch: You tried to access the function scoped fixture _function_scoped_runner
    with a module scoped request object`. Setting the default to `function` breaks every wider
    async fixture that has no `loop_scope` of its own.

    ## Example
    ```python
    @pytest_asyncio.fixture(scope="module", loop_scope="function")
    async def database():
        ...
    ```

    Use instead:
    ```python
    @pytest_asyncio.fixture(scope="module", loop_scope="module")
    async def database():
        ...
    ```

    ## Fix safety
    Safe: the fix sets `loop_scope` to the cache scope, the only loop scope this fixture can
    run on. An `async` `@pytest.fixture` (auto mode) becomes `@pytest_asyncio.fixture`, because
    `pytest.fixture` takes no `loop_scope`; `import pytest_asyncio` is added when needed.
    """

    code = "LL201"
    name = "loop-scope-narrower-than-scope"
    needs_pytest_asyncio = True
    severity = Severity.ERROR
    fix_availability = FixAvailability.SAFE
    tokens = (b"async", b"pytest_asyncio")
    test_files_only = True

    def finish(self) -> None:
        model = self.pytest_asyncio_model()
        if model is None:
            return
        for fixture in model.fixtures:
            self._check(fixture)

    def _check(self, fixture: FixtureDef) -> None:
        if fixture.scope not in SCOPES:
            return
        # From pytest-asyncio 1.1 a sync ``def`` under ``@pytest_asyncio.fixture`` still asks
        # for the loop runner of its loop scope (it runs with that loop set as the current one);
        # 1.0 and earlier run it as a plain fixture.
        runs_on_loop = is_asyncio_fixture(fixture, self.project) or (
            fixture.kind == "pytest_asyncio"
            and not fixture.is_async
            and not self.project.config.addopts.asyncio_disabled
            and self.project.pytest_asyncio_range.allows_at_least("1.1")
        )
        if not runs_on_loop:
            return
        loop_scope = fixture_loop_scope(fixture, self.project.config)
        if loop_scope not in SCOPES or scope_rank(loop_scope) >= scope_rank(fixture.scope):
            return
        if fixture.kind == "pytest_asyncio" and fixture.has_loop_scope_arg:
            origin = f'loop_scope="{loop_scope}"'
        else:
            origin = f'asyncio_default_fixture_loop_scope = "{loop_scope}"'
        kind = "async fixture" if fixture.is_async else "fixture"
        message = (
            f"{kind} `{fixture.name}` is cached per {fixture.scope} but runs on a "
            f"{loop_scope}-scoped event loop ({origin}); pytest fails with ScopeMismatch"
        )
        fix = None
        if fixture.alias is None:  # a decorator alias is fixed where it is bound
            edits = asyncio_fixture_edits(self, fixture, loop_scope=fixture.scope)
            fix = self.make_fix(
                Applicability.SAFE, f'set `loop_scope="{fixture.scope}"` on the fixture', *edits
            )
        self.report(fixture.decorator.decorator, message, fix=fix)
