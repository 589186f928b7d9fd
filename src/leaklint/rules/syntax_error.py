from __future__ import annotations

from leaklint.diagnostics import Severity
from leaklint.rules.base import FixAvailability, Rule, register


@register
class SyntaxErrorRule(Rule):
    """
    ## What it does
    Reports a Python file that leaklint had to read and could not.

    That is a file that does not parse, cannot be decoded or cannot be read, and that mentions
    what a selected rule looks for (a thread, a pool, `asyncio`, a fixture…): a finding could
    hide in it. A file that no selected rule needs is not parsed or compiled at all, so a
    syntax error there is not reported: whether it imports is ruff's and pytest's business,
    and they say so. Deselecting rules can therefore also silence an `LL001`.

    Valid code for a newer Python than the one running leaklint (PEP 750 template strings,
    `t"..."`, before Python 3.14) is not reported: where libcst reads it, the rules check the
    file as usual; where it does not, and a rule needed the file, a warning says the file was
    skipped.

    ## Why is this bad?
    pytest cannot import the file, and leaklint cannot check it: its fixtures, threads and
    event-loop use are invisible until it is fixed. Linting goes on for every other file.

    ## Example
    ```python
    def test_x(:
        ...
    ```

    Use instead:
    ```python
    def test_x():
        ...
    ```

    ## Fix safety
    No fix: the code needs a human.
    """

    code = "LL001"
    name = "syntax-error"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
