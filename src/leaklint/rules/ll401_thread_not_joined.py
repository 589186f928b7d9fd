from __future__ import annotations

from typing import TYPE_CHECKING

from leaklint.diagnostics import Applicability
from leaklint.model.classes import subclass_names
from leaklint.model.lifecycle import resources_of
from leaklint.model.project import Project
from leaklint.model.tracked import THREAD_TOKENS, Kind, Resource
from leaklint.rules.base import FixAvailability, register
from leaklint.rules.lifecycle_candidates import LifecycleRule
from leaklint.rules.lifecycle_fixes import daemon_edit, described

if TYPE_CHECKING:
    from leaklint.model.project import Project

JOIN_ADVICE = (
    "join it where it is started, in a `finally`, after the fixture's `yield`, "
    "or in the owner's close()/stop()/__exit__"
)


def never_joined(resource: Resource) -> bool:
    """Started, non-daemon, owned here, and no join of any kind (nor a cancelled Timer)."""
    if resource.unowned or not resource.started or resource.daemon is not False:
        return False
    if resource.timer and "cancel" in resource.methods():
        return False
    return not resource.joined


@register
class ThreadNotJoined(LifecycleRule):
    """
    ## What it does
    Finds a non-daemon `threading.Thread`, `threading.Timer` or `Thread` subclass (defined in
    any module of the project, or inside a function) that is started and never joined: not in
    its function, not in a `finally`, not after a fixture's `yield` or in its finalizer, not in
    its owner's `close()`/`stop()`/`__exit__`. Threads appended to a list the function made are
    followed through the loops over that list; `threads[0].join()` joins only one of them.

    ## Why is this bad?
    Python waits for every non-daemon thread before the interpreter exits. A thread left running
    by a test or fixture keeps pytest alive after the last test: the run passes, then hangs until
    CI kills it. Runs on every Python file, since application code started from a test leaks the
    same way. A fixture owns what it starts: returning or yielding a thread hands it to pytest,
    which joins nothing. A class owns a thread it assigns to `self` and starts, whatever its
    base classes. A thread that a plain function returns, or that is stored elsewhere or passed
    on, is not reported.

    ## Example
    ```python
    @pytest.fixture
    def server():
        t = threading.Thread(target=serve)
        t.start()
        yield
    ```

    Use instead:
    ```python
    @pytest.fixture
    def server():
        t = threading.Thread(target=serve)
        t.start()
        yield
        stop.set()
        t.join()
    ```

    ## Fix safety
    The fix adds `daemon=True` to the constructor. It is unsafe: a daemon thread is killed at
    exit without cleanup, so work it has not finished is lost. Joining in teardown is often the
    better change and is left to you. `Timer` and subclasses get no edit, only advice.
    """

    code = "LL401"
    name = "thread-not-joined"
    fix_availability = FixAvailability.UNSAFE
    tokens = THREAD_TOKENS
    kinds = (Kind.THREAD,)

    whole_words = True

    @classmethod
    def project_tokens(cls, project: Project) -> tuple[bytes, ...]:
        return subclass_names(project, Kind.THREAD)

    def finish(self) -> None:
        for resource in resources_of(self.source, self.kinds, self.project):
            if not never_joined(resource):
                continue
            edit = daemon_edit(self.source, resource)
            fix = (
                self.make_fix(Applicability.UNSAFE, f"Add `daemon=True` (or {JOIN_ADVICE})", edit)
                if edit is not None
                else None
            )
            self.report(
                resource.call,
                f"non-daemon {described(resource)} started and never joined; "
                f"the interpreter waits for {'them' if resource.collection else 'it'} at exit",
                fix=fix,
                help=None if fix else f"Set `daemon = True` before start(), or {JOIN_ADVICE}",
            )
