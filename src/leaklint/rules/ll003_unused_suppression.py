from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from leaklint.diagnostics import Diagnostic, Location
from leaklint.model.project import Project
from leaklint.rules.base import FixAvailability, Rule, all_rules, register
from leaklint.rules.suppress import Suppressor


@register
class UnusedSuppression(Rule):
    """
    ## What it does
    Reports a `# leaklint: ignore[...]`, `# leaklint: ignore-file[...]` or `# noqa: LL...`
    comment, or one code in it, that suppressed no finding in this run.

    Only codes whose rules ran are judged, so `--select LL2` never calls an `LL401` suppression
    unused. A comment without codes is judged only when every rule ran (`--select ALL`). A
    `# noqa` that names no leaklint code belongs to another tool and is left alone.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line: once the thread is joined
    and the comment stays, a new unjoined thread there goes unnoticed.

    ## Example
    ```python
    def test_worker():
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()  # leaklint: ignore[LL401]
    ```

    Use instead:
    ```python
    def test_worker():
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    ```

    ## Fix safety
    Safe: the fix removes the comment, or only the unused codes from its list (other tools'
    `noqa` codes are kept). Comments never change what the code does.
    """

    code = "LL003"
    name = "unused-suppression"
    default_enabled = False
    fix_availability = FixAvailability.SAFE


def unused_suppressions(
    project: Project, suppressor: Suppressor, selected: Sequence[type[Rule]]
) -> list[Diagnostic]:
    """LL003 over every file of the project that can hold a suppression comment."""
    paths: list[Path] = [*project.python_files, *project.cargo_files]
    if project.config.path is not None:
        paths.append(project.config.path)
    found: list[Diagnostic] = []
    for unused in suppressor.unused(paths, selected, all_rules()):
        s = unused.suppression
        if unused.whole:
            message = f"`{s.text}` suppressed nothing"
        else:
            codes = ", ".join(unused.unused)
            message = f"{codes} in `{s.text}` suppressed nothing"
        found.append(
            UnusedSuppression.diagnostic(
                message=message,
                path=unused.path,
                start=Location(s.line, s.column),
                end=Location(s.line, s.end_column),
                fix=unused.fix(),
            )
        )
    return found
