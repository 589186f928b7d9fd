from __future__ import annotations

from leaklint.diagnostics import Severity
from leaklint.rules.base import FixAvailability, Rule, register


@register
class SyntaxErrorRule(Rule):
    """
    ## What it does
    Reports a Python file that does not parse or cannot be decoded.

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
