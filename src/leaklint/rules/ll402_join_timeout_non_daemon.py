from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

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


@register
class JoinTimeoutNonDaemon(LifecycleRule):
    """
    ## What it does
    Finds `join(timeout=...)` (or `join(5)`) on a non-daemon thread that is never joined
    without a timeout: in its function, a fixture's teardown, or the methods of the class that
    started it. Threads joined in one loop over a list give one finding at that join.

    ## Why is this bad?
    `join(timeout)` returns when the time is up, whether or not the thread stopped. The test or
    fixture goes on and passes, and the still-running non-daemon thread then holds the
    interpreter at exit: the suite hangs after its last test, far from the cause.

    ## Example
    ```python
    t = threading.Thread(target=poll)
    t.start()
    yield
    t.join(timeout=5)
    ```

    Use instead:
    ```python
    t = threading.Thread(target=poll, daemon=True)
    t.start()
    yield
    t.join(timeout=5)
    ```

    ## Fix safety
    The fix adds `daemon=True` to the constructor. It is unsafe: a daemon thread is killed at
    exit without cleanup. Stopping the thread reliably and joining it without a timeout is the
    other way out.
    """

    code = "LL402"
    name = "join-timeout-non-daemon"
    fix_availability = FixAvailability.UNSAFE
    tokens = THREAD_TOKENS
    kinds = (Kind.THREAD,)

    whole_words = True

    @classmethod
    def project_tokens(cls, project: Project) -> tuple[bytes, ...]:
        return subclass_names(project, Kind.THREAD)

    def finish(self) -> None:
        # Threads joined by the same call (a list of them, joined in one loop) give one finding
        # there, whose fix edits every constructor.
        groups: dict[int, list[Resource]] = {}
        joins: dict[int, cst.Call] = {}
        for resource in resources_of(self.source, self.kinds, self.project):
            if resource.unowned or not resource.started:
                continue
            if resource.daemon is not False or resource.untimed_join:
                continue
            if resource.timer and "cancel" in resource.methods():
                continue
            timed = resource.timed_joins
            if not timed:
                continue
            groups.setdefault(id(timed[0]), []).append(resource)
            joins[id(timed[0])] = timed[0]
        for key, group in groups.items():
            edits = [daemon_edit(self.source, resource) for resource in group]
            complete = all(edit is not None for edit in edits)
            advice = "stop the thread and join it without a timeout"
            self.report(
                joins[key],
                f"{described(group[0])} only joined with a timeout and "
                + ("are not daemons" if group[0].collection else "is not a daemon")
                + "; if it outlives the timeout the interpreter hangs at exit",
                fix=self.make_fix(
                    Applicability.UNSAFE,
                    f"Add `daemon=True` to the constructor; or {advice}",
                    *(edit for edit in edits if edit is not None),
                )
                if complete
                else None,
                help=None if complete else f"Set `daemon = True` before start(), or {advice}",
            )
