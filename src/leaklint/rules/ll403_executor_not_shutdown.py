from __future__ import annotations

from leaklint.diagnostics import Applicability
from leaklint.model.lifecycle import resources_of
from leaklint.model.project import Project
from leaklint.model.tracked import EXECUTOR_TOKENS, EXECUTOR_WORDS, Kind, Resource
from leaklint.rules.base import FixAvailability, register
from leaklint.rules.lifecycle_candidates import LifecycleRule
from leaklint.rules.lifecycle_fixes import with_rewrite


def shut_down(resource: Resource) -> bool:
    methods = resource.methods()
    if resource.with_used or methods & {"shutdown", "terminate", "__exit__"}:
        return True
    return "close" in methods and "join" in methods


@register
class ExecutorNotShutdown(LifecycleRule):
    """
    ## What it does
    Finds a `concurrent.futures.ThreadPoolExecutor` / `ProcessPoolExecutor`, a
    `multiprocessing.Pool` / `multiprocessing.pool.ThreadPool` (also from `get_context()`),
    created outside `with` and never shut down: no `shutdown()`, `terminate()` or
    `close()` + `join()` in its function, its teardown, or its owner's methods.

    ## Why is this bad?
    Worker threads and processes outlive the test that made them. Thread pools are joined at
    interpreter exit, so a worker stuck on a task hangs the end of the run; process pools leave
    children behind and warn `ResourceWarning: unclosed running multiprocessing pool`. A
    fixture that returns or yields an executor hands it to pytest, which shuts nothing down, so
    it is reported unless the fixture shuts it down in teardown. An executor given to
    `loop.set_default_executor()` is the loop's, unless the same function replaces it with
    another: then nothing shuts the first one down. A module-level helper that returns a new
    executor gives each caller one to shut down: the calls of it in the same file are checked
    as constructors. An executor stored elsewhere or passed on is not reported.

    ## Example
    ```python
    def test_parallel():
        ex = ThreadPoolExecutor(4)
        assert list(ex.map(square, [1, 2])) == [1, 4]
    ```

    Use instead:
    ```python
    def test_parallel():
        with ThreadPoolExecutor(4) as ex:
            assert list(ex.map(square, [1, 2])) == [1, 4]
    ```

    ## Fix safety
    When the executor is a local variable used only by the statements that follow it in the
    same block, the fix turns the assignment into `with ... as name:` around the rest of the
    block. For a `concurrent.futures` executor in a function's top-level block the fix is safe:
    the executor is shut down, after waiting for its tasks, where the function ends instead of
    never. It is unsafe for a `multiprocessing` pool (leaving `with` terminates the pool, so
    tasks still running are killed) and inside an inner block (the code after that block now
    waits for the tasks). Otherwise the finding only advises.
    """

    code = "LL403"
    name = "executor-not-shutdown"
    fix_availability = FixAvailability.SOMETIMES
    tokens = EXECUTOR_TOKENS
    kinds = (Kind.EXECUTOR,)

    @classmethod
    def required_words(cls, project: Project) -> tuple[tuple[bytes, ...], ...]:
        # Executors have no project subclasses here: a file that makes one writes the
        # constructor's module and name (``Pool`` alone is also SQLAlchemy's).
        return EXECUTOR_WORDS

    def finish(self) -> None:
        for resource in resources_of(self.source, self.kinds, self.project):
            if resource.unowned or shut_down(resource):
                continue
            edit = with_rewrite(self.source, resource)
            helper = resource.label.endswith("()")  # made by a helper of the file
            what = f"`{resource.name}` ({resource.label})" if resource.name else resource.label
            if helper and not resource.name:
                what = f"the executor `{resource.label}` returns"
            made = resource.label if helper else f"{resource.label.rsplit('.', 1)[-1]}(...)"
            fix = None
            if edit is not None:
                # concurrent.futures waits for pending work on exit; a multiprocessing pool's
                # __exit__ terminates it, and code after an inner block runs later than before.
                waits = resource.label.startswith("concurrent.")
                safe = waits and resource.function_body
                fix = self.make_fix(
                    Applicability.SAFE if safe else Applicability.UNSAFE,
                    f"Use `with {made} as {resource.name}:`",
                    edit,
                )
            replaced = any(
                u.kind == "handoff" and u.method == "set_default_executor" for u in resource.uses
            )
            self.report(
                resource.call,
                f"{what} is "
                + ("replaced as the loop's default executor and " if replaced else "")
                + "never shut down; its workers outlive the code that made them",
                fix=fix,
                help=None
                if fix
                else "Create it in a `with` block, or call `shutdown()` (pools: `close()` and "
                "`join()`) in a `finally` or in teardown",
            )
