from __future__ import annotations

from leaklint.rules.base import FileRule, FixAvailability, register


@register
class EventLoopPolicyOverride(FileRule):
    """
    ## What it does
    Reports a fixture named `event_loop_policy` (by its function name or by `name=`) in a test
    module or conftest.py of a project that uses pytest-asyncio, when the pytest-asyncio range
    the project declares allows 1.4 or later (with no declared range, the current release is
    assumed).

    ## Why is this bad?
    Overriding `event_loop_policy` is deprecated since pytest-asyncio 1.4 and will be removed;
    every test run warns. Event loop policies themselves are deprecated in Python 3.14. The
    replacement is the `pytest_asyncio_loop_factories` hook, which names the loop factories
    tests run on (and can run each test once per factory).

    ## Example
    ```python
    @pytest.fixture(scope="session")
    def event_loop_policy():
        return uvloop.EventLoopPolicy()
    ```

    Use instead:
    ```python
    # conftest.py
    def pytest_asyncio_loop_factories(config, item):
        return {"uvloop": uvloop.new_event_loop}
    ```

    ## Fix safety
    No automatic fix: the hook has a different shape (factories, not a policy), and a
    policy object may carry more than the loop class. The finding says what to write.
    """

    code = "LL206"
    name = "event-loop-policy-override"
    needs_pytest_asyncio = True
    fix_availability = FixAvailability.SUGGESTION
    tokens = (b"event_loop_policy",)
    test_files_only = True

    def finish(self) -> None:
        model = self.pytest_asyncio_model()
        if model is None or not self.project.pytest_asyncio_range.allows_at_least("1.4"):
            return  # not deprecated before 1.4
        for fixture in model.fixtures:
            if fixture.name != "event_loop_policy":
                continue
            self.report(
                fixture.node.name,
                "overriding the `event_loop_policy` fixture is deprecated since pytest-asyncio 1.4",
                help=(
                    "remove the fixture and return the loop factory from a "
                    "`pytest_asyncio_loop_factories(config, item)` hook in conftest.py, "
                    'e.g. `return {"uvloop": uvloop.new_event_loop}`'
                ),
            )
