from __future__ import annotations

from leaklint.diagnostics import Applicability
from leaklint.model.pytest_model import SCOPES, FixtureDef, scope_rank
from leaklint.rules._asyncio_fixture_fix import asyncio_fixture_edits
from leaklint.rules.base import FileRule, FixAvailability, register


@register
class AsyncFixtureInStrictMode(FileRule):
    """
    ## What it does
    Reports an `async def` fixture under plain `@pytest.fixture` (however it is imported) when
    pytest-asyncio runs in strict mode, the default.

    Projects that also use the anyio or trio pytest plugins (`pytest.mark.anyio`,
    `anyio_backend`, `pytest_trio`, `trio_mode`) are left alone: there, an async
    `@pytest.fixture` belongs to that plugin.

    ## Why is this bad?
    In strict mode pytest-asyncio only runs fixtures declared with `@pytest_asyncio.fixture`.
    An async `@pytest.fixture` is left to pytest, which cannot run it: since pytest 8.4 every
    test that requests it errors at setup ("requested an async fixture ... with no plugin or
    hook that handled it"); older versions hand the test an un-awaited coroutine or async
    generator, so the setup code never runs.

    ## Example
    ```python
    import pytest

    @pytest.fixture
    async def client():
        ...
    ```

    Use instead:
    ```python
    import pytest
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def client():
        ...
    ```

    ## Fix safety
    Safe: the decorator becomes `pytest_asyncio.fixture` with the same arguments, spelled the
    way the file already imports pytest_asyncio (`import pytest_asyncio as pa` gives
    `@pa.fixture`), or with `import pytest_asyncio` added after the last top-level import.
    When `asyncio_default_fixture_loop_scope` is narrower than the fixture's scope the fix
    also sets `loop_scope` to that scope, so the fixed fixture does not stop with
    `ScopeMismatch`.
    """

    code = "LL207"
    name = "async-fixture-in-strict-mode"
    needs_pytest_asyncio = True
    fix_availability = FixAvailability.SAFE
    tokens = (b"async",)
    test_files_only = True

    def finish(self) -> None:
        project = self.project
        if project.config.asyncio_mode != "strict" or not project.uses_pytest_asyncio:
            return
        model = project.file_model(self.source.path)
        if model is None:
            return
        fixtures = [f for f in model.fixtures if f.kind == "pytest" and f.is_async]
        if not fixtures or project.uses_other_async_plugin:
            return
        for fixture in fixtures:
            self._report(fixture)

    def _report(self, fixture: FixtureDef) -> None:
        loop_scope: str | None = None
        default = self.project.config.default_fixture_loop_scope
        if (
            default is not None
            and fixture.scope in SCOPES
            and scope_rank(default) < scope_rank(fixture.scope)
        ):
            loop_scope = fixture.scope
        extra = f' with `loop_scope="{loop_scope}"`' if loop_scope else ""
        fix = None
        if fixture.alias is None:  # a decorator alias is fixed where it is bound
            edits = asyncio_fixture_edits(self, fixture, loop_scope=loop_scope)
            fix = self.make_fix(
                Applicability.SAFE, f"decorate it with `@pytest_asyncio.fixture`{extra}", *edits
            )
        self.report(
            fixture.decorator.decorator,
            f"async fixture `{fixture.name}` uses plain `@pytest.fixture`; in strict mode "
            "pytest-asyncio ignores it and every test that requests it errors",
            fix=fix,
        )
