"""Small rules that exist only to exercise the fixer. They are not registered on import: the
``fixer_rules`` fixture (conftest.py) adds them to the registry for one test and removes them,
and tests select them by code, so no other test ever sees them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst

from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from leaklint.model.project import Project
from leaklint.rules.base import FileRule, FixAvailability, ProjectRule, Rule

_DOC = """
    ## What it does
    Exercises the fixer.

    ## Why is this bad?
    It is not; it is a test rule.

    ## Example
    ```python
    old_name()
    ```

    Use instead:
    ```python
    new_name()
    ```

    ## Fix safety
    As declared.
"""


def _called_name(node: cst.Call) -> str | None:
    return node.func.value if isinstance(node.func, cst.Name) else None


class RenameSafe(FileRule):
    __doc__ = _DOC
    code = "LL991"
    name = "test-rename-safe"
    fix_availability = FixAvailability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if _called_name(node) == "old_name":
            edit = self.replace_edit(node.func, cst.Name("new_name"))
            fix = self.make_fix(Applicability.SAFE, "call new_name", edit)
            self.report(node, "old_name is gone", fix=fix)


class RenameUnsafe(FileRule):
    __doc__ = _DOC
    code = "LL992"
    name = "test-rename-unsafe"
    fix_availability = FixAvailability.UNSAFE

    def visit_Call(self, node: cst.Call) -> None:
        if _called_name(node) == "risky":
            edit = self.replace_edit(node.func, cst.Name("careful"))
            fix = self.make_fix(Applicability.UNSAFE, "call careful", edit)
            self.report(node, "risky may change behaviour", fix=fix)


class IniSetting(ProjectRule):
    """Adds ``asyncio_default_fixture_loop_scope`` under ``[pytest]`` of pytest.ini."""

    __doc__ = _DOC
    code = "LL993"
    name = "test-ini-setting"
    fix_availability = FixAvailability.SAFE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        path = project.root / "pytest.ini"
        if not path.is_file():
            return
        lines = path.read_bytes().decode("utf-8").splitlines()
        if any(line.startswith("asyncio_default_fixture_loop_scope") for line in lines):
            return
        for row, line in enumerate(lines, start=1):
            if line.strip() == "[pytest]":
                edit = Edit(
                    path,
                    Location(row + 1, 1),
                    Location(row + 1, 1),
                    "asyncio_default_fixture_loop_scope = function\n",
                )
                fix = Fix(Applicability.SAFE, "set it to function", (edit,))
                yield self.diagnostic(
                    message="loop scope unset", path=path, start=Location(row, 1), fix=fix
                )


class BreaksSyntax(FileRule):
    """A fix that produces code that does not parse: the fixer must drop it."""

    __doc__ = _DOC
    code = "LL994"
    name = "test-breaks-syntax"
    fix_availability = FixAvailability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if _called_name(node) == "break_me":
            start, end = self.source.whole_range_of(node)
            edit = Edit(self.source.path, start, end, "break_me(")
            self.report(node, "breaks", fix=self.make_fix(Applicability.SAFE, "break it", edit))


class Unwrap(FileRule):
    """``wrap(x)`` -> ``x``: nested calls give overlapping fixes, applied over several passes."""

    __doc__ = _DOC
    code = "LL995"
    name = "test-unwrap"
    fix_availability = FixAvailability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if _called_name(node) == "wrap" and len(node.args) == 1:
            edit = self.replace_edit(node, node.args[0].value)
            self.report(
                node, "needless wrap", fix=self.make_fix(Applicability.SAFE, "unwrap", edit)
            )


class AddLineAbove(FileRule):
    """Inserts a line above each ``add_line()`` statement (the content ends with ``\\n``,
    whatever the file's newline) and renames the call, in one fix of two edits."""

    __doc__ = _DOC
    code = "LL996"
    name = "test-add-line"
    fix_availability = FixAvailability.SAFE

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        for stmt in node.body:
            if (
                isinstance(stmt, cst.Expr)
                and isinstance(stmt.value, cst.Call)
                and _called_name(stmt.value) == "add_line"
            ):
                start, _ = self.source.range_of(node)
                indent = " " * (start.column - 1)
                insert = self.insert_edit(Location(start.row, 1), f"{indent}added()\n")
                rename = self.replace_edit(stmt.value.func, cst.Name("line_added"))
                fix = self.make_fix(Applicability.SAFE, "add a line", insert, rename)
                self.report(stmt.value, "add_line wants company", fix=fix)


class MultiFile(FileRule):
    """One fix, two files: renames ``both()`` and records it in pytest.ini's first line."""

    __doc__ = _DOC
    code = "LL997"
    name = "test-multi-file"
    fix_availability = FixAvailability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if _called_name(node) == "both":
            ini = self.project.root / "pytest.ini"
            edits = (
                self.replace_edit(node.func, cst.Name("both_done")),
                Edit(ini, Location(1, 1), Location(1, 1), "; both renamed\n"),
            )
            fix = self.make_fix(Applicability.SAFE, "rename and record", *edits)
            self.report(node, "both wants two files", fix=fix)


class OffTheLine(FileRule):
    """An edit whose column lies past the end of its line: the fixer must refuse it."""

    __doc__ = _DOC
    code = "LL998"
    name = "test-off-the-line"
    fix_availability = FixAvailability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if _called_name(node) == "too_far":
            start, _ = self.source.range_of(node)
            edit = Edit(self.source.path, Location(start.row, 999), Location(start.row, 999), "x")
            self.report(node, "too far", fix=self.make_fix(Applicability.SAFE, "reach", edit))


class SuffixEveryCall(FileRule):
    """Renames every call of a bare name ``f`` to ``f_ll`` (for round trips over real files)."""

    __doc__ = _DOC
    code = "LL999"
    name = "test-suffix-every-call"
    fix_availability = FixAvailability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        name = _called_name(node)
        if name is not None and not name.endswith("_ll"):
            edit = self.replace_edit(node.func, cst.Name(f"{name}_ll"))
            self.report(node, "rename", fix=self.make_fix(Applicability.SAFE, "rename", edit))


TEST_RULES: tuple[type[Rule], ...] = (
    RenameSafe,
    RenameUnsafe,
    IniSetting,
    BreaksSyntax,
    Unwrap,
    AddLineAbove,
    MultiFile,
    OffTheLine,
    SuffixEveryCall,
)


def codes() -> Iterator[str]:
    return (rule.code for rule in TEST_RULES)
