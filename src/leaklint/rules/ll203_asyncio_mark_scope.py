from __future__ import annotations

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.model.pytest_model import keyword, literal
from leaklint.python.cstedit import remove_arg
from leaklint.rules.base import FileRule, FixAvailability, register

ASYNCIO_MARK = frozenset({"pytest.mark.asyncio"})


@register
class AsyncioMarkScope(FileRule):
    """
    ## What it does
    Reports `pytest.mark.asyncio(scope=...)` wherever the mark is written (on a test, on a
    class, in a `pytestmark` value or list), and a mark that passes both `scope` and
    `loop_scope`.

    ## Why is this bad?
    `scope=` on the asyncio mark was deprecated in pytest-asyncio 0.24 in favour of
    `loop_scope=`, and warns on every test it applies to. A mark with both keywords stops the
    collection of the whole module: "An asyncio pytest marker defines both "scope" and
    "loop_scope", but it should only use "loop_scope"". The name also
    misleads: it sets the event loop's scope, not a cache scope.

    ## Example
    ```python
    @pytest.mark.asyncio(scope="module")
    async def test_query():
        ...
    ```

    Use instead:
    ```python
    @pytest.mark.asyncio(loop_scope="module")
    async def test_query():
        ...
    ```

    ## Fix safety
    Safe when `scope=` is renamed to `loop_scope=` (pytest-asyncio reads them the same way),
    and when both are given with the same value (`scope=` is dropped). Unsafe when they
    differ: the fix keeps `loop_scope=` and drops `scope=`, which may not be the scope that was
    meant.
    """

    code = "LL203"
    name = "asyncio-mark-scope"
    needs_pytest_asyncio = True
    fix_availability = FixAvailability.SOMETIMES
    tokens = (b"asyncio",)
    test_files_only = True

    def visit_Call(self, node: cst.Call) -> None:
        scope = keyword(node, "scope")
        if scope is None or self.imports.matches(node.func, ASYNCIO_MARK) is None:
            return
        if not self.project.uses_pytest_asyncio:
            return
        loop_scope = keyword(node, "loop_scope")
        if loop_scope is None:
            assert scope.keyword is not None
            fix = self.make_fix(
                Applicability.SAFE,
                "rename `scope=` to `loop_scope=`",
                self.replace_edit(scope.keyword, cst.Name("loop_scope")),
            )
            self.report(
                scope,
                "`scope=` on the asyncio mark is deprecated; it is spelled `loop_scope=`",
                fix=fix,
            )
            return
        new_call = remove_arg(node, scope)
        scope_value, loop_value = literal(scope.value), literal(loop_scope.value)
        if isinstance(scope_value, str) and scope_value == loop_value:
            fix = self.make_fix(
                Applicability.SAFE,
                "drop the redundant `scope=`",
                self.replace_edit(node, new_call),
            )
        else:
            fix = self.make_fix(
                Applicability.UNSAFE,
                f"drop `scope=` and keep `loop_scope={_source(self, loop_scope.value)}`; "
                "check that this is the loop scope meant",
                self.replace_edit(node, new_call),
            )
        self.report(
            scope,
            "the asyncio mark passes both `scope=` and `loop_scope=`; pytest-asyncio fails "
            "collecting the module",
            fix=fix,
        )


def _source(rule: FileRule, node: cst.CSTNode) -> str:
    assert rule.source.module is not None
    return rule.source.module.code_for_node(node)
