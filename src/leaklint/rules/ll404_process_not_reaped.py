from __future__ import annotations

from typing import TYPE_CHECKING

from leaklint.diagnostics import Applicability
from leaklint.model.classes import subclass_names
from leaklint.model.lifecycle import resources_of
from leaklint.model.project import Project
from leaklint.model.tracked import PROCESS_TOKENS, Kind, Resource
from leaklint.rules.base import FixAvailability, register
from leaklint.rules.lifecycle_candidates import LifecycleRule
from leaklint.rules.lifecycle_fixes import described, with_rewrite

if TYPE_CHECKING:
    from leaklint.model.project import Project

# ``pid`` handed to os.waitpid()/os.kill() means the caller reaps the child itself.
POPEN_REAPED = frozenset({"wait", "communicate", "poll", "__exit__", "pid"})


def reaped(resource: Resource) -> bool:
    methods = resource.methods()
    if resource.kind is Kind.POPEN:
        return resource.with_used or bool(methods & POPEN_REAPED)
    return resource.joined or bool(methods & {"close", "pid"})


@register
class ProcessNotReaped(LifecycleRule):
    """
    ## What it does
    Finds a non-daemon `multiprocessing.Process` (also from `get_context()`, or a subclass
    defined anywhere in the project) that is started and never joined, and a `subprocess.Popen`
    that is never waited for: no `wait()`, `communicate()`, `poll()`, its `pid` not handed to
    `os.waitpid()`/`os.kill()` (reading it in an `assert` reaps nothing), and not used in
    `with`. A function that ends with `os._exit()` after starting the child (an exec
    emulation) is left alone.

    ## Why is this bad?
    A child that is never reaped stays a zombie, and Python warns
    `ResourceWarning: subprocess N is still running`. multiprocessing joins every non-daemon
    child at interpreter exit, so one that does not stop hangs the end of the test run. A
    fixture that returns or yields a process hands it to pytest, which reaps nothing, so it is
    reported unless the fixture stops it in teardown or a finalizer. A module-level helper
    that returns a new `Popen` gives each caller one to wait for: the calls of it in the same
    file are checked as constructors. A process object stored elsewhere or passed on is not
    reported.

    ## Example
    ```python
    def test_cli():
        proc = subprocess.Popen(["server"])
        proc.kill()
    ```

    Use instead:
    ```python
    def test_cli():
        with subprocess.Popen(["server"]) as proc:
            proc.kill()
    ```

    ## Fix safety
    For a local `Popen` used only by the statements that follow it in its block, the fix wraps
    them in `with subprocess.Popen(...) as proc:`. It is unsafe: leaving the `with` waits for the
    child, which blocks if the child does not end. For `Process` the finding only advises a
    `join()` in teardown.
    """

    code = "LL404"
    name = "process-not-reaped"
    fix_availability = FixAvailability.UNSAFE
    tokens = PROCESS_TOKENS
    kinds = (Kind.PROCESS, Kind.POPEN)

    whole_words = True

    @classmethod
    def project_tokens(cls, project: Project) -> tuple[bytes, ...]:
        return subclass_names(project, Kind.PROCESS)

    def finish(self) -> None:
        for resource in resources_of(self.source, self.kinds, self.project):
            if resource.unowned or resource.exits or reaped(resource):
                continue
            if resource.kind is Kind.POPEN:
                self._popen(resource)
            elif resource.started and resource.daemon is False:
                self.report(
                    resource.call,
                    f"non-daemon {described(resource)} started and never joined; "
                    "multiprocessing waits for it at exit",
                    help="Join it where it is started, in a `finally`, or in teardown",
                )

    def _popen(self, resource: Resource) -> None:
        edit = with_rewrite(self.source, resource)
        helper = resource.label.endswith("()")  # made by a helper of the file
        label = resource.label if helper else "subprocess.Popen"
        what = f"`{resource.name}` ({label})" if resource.name else label
        if helper and not resource.name:
            what = f"the process `{label}` returns"
        made = label if helper else "subprocess.Popen(...)"
        fix = None
        if edit is not None:
            fix = self.make_fix(
                Applicability.UNSAFE,
                f"Use `with {made} as {resource.name}:`; leaving it waits for the child",
                edit,
            )
        self.report(
            resource.call,
            f"{what} is never waited for; the child is left running or as a zombie",
            fix=fix,
            help=None
            if fix
            else "Use `with subprocess.Popen(...) as proc:`, or call `wait()`/`communicate()` "
            "in a `finally` or in teardown",
        )
