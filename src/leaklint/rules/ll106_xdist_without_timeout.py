from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from leaklint.diagnostics import Diagnostic
from leaklint.rules.base import FixAvailability, ProjectRule, register

if TYPE_CHECKING:
    from leaklint.model.project import Project


@register
class XdistWithoutTimeout(ProjectRule):
    """
    ## What it does
    Reports `-n` / `--numprocesses` (pytest-xdist) in `addopts` when no pytest-timeout limit
    is set: neither a `timeout` option in the config nor `--timeout` in `addopts`.

    ## Why is this bad?
    A test that hangs (a thread never joined, a loop waiting on a future from another loop)
    blocks its worker forever. The controller waits for it, the output says nothing about
    which test it was, and the CI job dies at its own time limit.

    ## Example
    ```ini
    [pytest]
    addopts = -n auto
    ```

    Use instead:
    ```ini
    [pytest]
    addopts = -n auto
    timeout = 300
    ```

    `faulthandler_timeout` does not count: it dumps the stacks of a slow test but lets it
    hang on.

    ## Fix safety
    No fix: the right limit depends on the suite. A suggestion is given.
    """

    code = "LL106"
    name = "xdist-without-timeout"
    default_enabled = False
    fix_availability = FixAvailability.SUGGESTION

    def check(self, project: Project) -> Iterable[Diagnostic]:
        config = project.config
        workers = config.addopts.numprocesses
        if workers is None or str(workers.value).strip() in ("0", ""):
            return
        if config.addopts.timeout is not None or config.get("timeout") is not None:
            return
        addopts = config.settings.get("addopts")
        location = addopts.location if addopts is not None else workers.location
        yield self.diagnostic(
            message=(
                f"tests run in xdist workers (-n {workers.value}) with no pytest-timeout limit: "
                "a hanging test stalls the run until CI kills it"
            ),
            path=workers.path,
            start=location,
            help="install pytest-timeout and set `timeout = 300` (or add --timeout=300 to addopts)",
        )
