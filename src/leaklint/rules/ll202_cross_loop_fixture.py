from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import libcst as cst

from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from leaklint.fixture_graph import CrossLoop, ResolvedTest
from leaklint.project import Project
from leaklint.pytest_model import FileModel, FixtureDef, Mark, TestDef
from leaklint.rule import FixAvailability, ProjectRule, register
from leaklint.source import SourceFile


@register
class CrossLoopFixture(ProjectRule):
    """
    ## What it does
    Finds an async test, or an async fixture, that uses an async fixture set up on a different
    event loop: directly, through sync fixtures, or across `conftest.py` files.

    ## Why is this bad?
    pytest-asyncio runs each loop scope on its own event loop. A fixture whose loop scope is
    `session` creates its connections, futures and tasks on the session loop; a test on the
    function loop that awaits them fails with `got Future attached to a different loop`, hangs,
    or ends with `Event loop is closed`. The same holds the other way round (a function-loop
    fixture in a module-loop test). pytest-asyncio allows both and says nothing until run time.

    ## Example
    ```python
    # conftest.py
    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def pool():
        ...

    # test_jobs.py
    async def test_jobs(pool):  # runs on the function loop
        ...
    ```

    Use instead:
    ```python
    @pytest.mark.asyncio(loop_scope="session")
    async def test_jobs(pool):
        ...
    ```

    ## Fix safety
    The fix sets `loop_scope` on the test's asyncio mark (or on the module's `pytestmark` when
    every async test of the module has the same problem). It is unsafe: the test then shares
    its loop with other tests, and the function-loop fixtures it uses move loops too.
    """

    code = "LL202"
    name = "cross-loop-fixture"
    fix_availability = FixAvailability.UNSAFE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        graph = project.fixture_graph
        reported: set[tuple[FixtureDef, FixtureDef]] = set()
        for path in graph.async_test_files():
            tests = [t for t in graph.tests_in(path) if t.asyncio]
            findings: list[tuple[ResolvedTest, list[CrossLoop]]] = []
            for resolved in tests:
                own, inner = graph.cross_loop(resolved)
                if own:
                    findings.append((resolved, own))
                for cross in inner:
                    fixture = cross.requester
                    assert isinstance(fixture, FixtureDef)
                    key = (fixture, cross.use.fixture)
                    if key not in reported:
                        reported.add(key)
                        yield self._fixture_finding(project, cross)
            if not findings:
                continue
            model = project.file_model(path)
            assert model is not None
            module_scope = _common_target(findings)
            if (
                len(tests) > 1
                and len(findings) == len(tests)
                and module_scope is not None
                and all(_nearest_asyncio_level(r.test) in (None, "module") for r, _ in findings)
            ):
                yield self._module_finding(project, model, findings, module_scope)
            else:
                for resolved, crosses in findings:
                    yield self._test_finding(project, resolved, crosses)

    # ---- messages ----------------------------------------------------------------------

    def _test_finding(
        self, project: Project, resolved: ResolvedTest, crosses: list[CrossLoop]
    ) -> Diagnostic:
        test = resolved.test
        first = crosses[0]
        message = f"{test.name} runs on {first.loop} but uses {_describe(project, first)}"
        if len(crosses) > 1:
            message += f" (and {len(crosses) - 1} more on other loops)"
        source = _source(project, test.path)
        start, end = source.range_of(test.node.name)
        notes = tuple(f"also uses {_describe(project, c)}" for c in crosses[1:])
        target = _target_scope(crosses)
        fix = None if target is None else _test_fix(source, test, target)
        help = None
        if fix is None:
            help = (
                "run the test on one loop with its async fixtures, or give those fixtures the "
                "test's loop_scope"
            )
        return self.diagnostic(
            message=message, path=test.path, start=start, end=end, fix=fix, help=help, notes=notes
        )

    def _module_finding(
        self,
        project: Project,
        model: FileModel,
        findings: list[tuple[ResolvedTest, list[CrossLoop]]],
        scope: str,
    ) -> Diagnostic:
        first = findings[0][1][0]
        message = (
            f"all {len(findings)} async tests in this module run on {first.loop.scope} loops "
            f"but use {_describe(project, first)}"
        )
        source = _source(project, model.path)
        fix, anchor = _module_fix(source, model, scope)
        start = _statement_start(source, anchor)
        end = source.range_of(anchor)[1] if anchor is model.pytestmark else start
        notes = tuple(f"{r.test.qualified} uses {_describe(project, c[0])}" for r, c in findings)
        return self.diagnostic(
            message=message, path=model.path, start=start, end=end, fix=fix, notes=notes
        )

    def _fixture_finding(self, project: Project, cross: CrossLoop) -> Diagnostic:
        fixture = cross.requester
        assert isinstance(fixture, FixtureDef)
        source = _source(project, fixture.path)
        start, end = source.range_of(fixture.node.name)
        message = (
            f"async fixture `{fixture.name}` runs on {cross.loop} but uses "
            f"{_describe(project, cross)}"
        )
        return self.diagnostic(
            message=message,
            path=fixture.path,
            start=start,
            end=end,
            help=f'set up both on one loop, e.g. `loop_scope="{cross.other.scope}"` on both',
        )


def _source(project: Project, path: Path) -> SourceFile:
    source = project.source(path)
    assert not isinstance(source, OSError) and source.module is not None
    return source


def _describe(project: Project, cross: CrossLoop) -> str:
    location = project.fixture_graph.where(cross.use.fixture)
    return f"{cross.use.chain()}, set up on {cross.other} at {location}"


def _target_scope(crosses: list[CrossLoop]) -> str | None:
    """The loop scope that would put the test on its fixtures' loop, when there is one."""
    scopes = {c.other.scope for c in crosses}
    return scopes.pop() if len(scopes) == 1 else None


def _common_target(findings: list[tuple[ResolvedTest, list[CrossLoop]]]) -> str | None:
    targets = {_target_scope(crosses) for _, crosses in findings}
    if len(targets) != 1:
        return None
    return targets.pop()


def _nearest_asyncio_level(test: TestDef) -> str | None:
    mark = test.mark("asyncio")
    return None if mark is None else mark.level


# --------------------------------------------------------------------------- fixes


def _mark_prefix(source: SourceFile) -> str | None:
    """How this file spells ``pytest.mark`` (``pytest.mark``, ``pt.mark``, ``mark``)."""
    for local, qualified in source.imports.bindings.items():
        if qualified == "pytest":
            return f"{local}.mark"
    for local, qualified in source.imports.bindings.items():
        if qualified == "pytest.mark":
            return local
    return None


def _with_loop_scope(call: cst.Call, scope: str) -> cst.Call:
    value = cst.SimpleString(f'"{scope}"')
    args = [a for a in call.args if a.keyword is None or a.keyword.value != "scope"]
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "loop_scope":
            args[index] = arg.with_changes(value=value)
            return call.with_changes(args=args)
    new = cst.Arg(keyword=cst.Name("loop_scope"), value=value, equal=_EQUAL)
    if args:
        last = args[-1]
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, new])


_EQUAL = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _mark_with_scope(source: SourceFile, mark: Mark, scope: str) -> Edit:
    """Set ``loop_scope`` on an existing asyncio mark (bare or called)."""
    assert source.module is not None
    expr = mark.expr
    call = expr if isinstance(expr, cst.Call) else cst.Call(func=expr)
    new = _with_loop_scope(call, scope)
    start, end = source.range_of(expr)
    return Edit(source.path, start, end, source.module.code_for_node(new))


def _test_fix(source: SourceFile, test: TestDef, scope: str) -> Fix | None:
    message = f'Set `loop_scope="{scope}"` on the test\'s asyncio mark'
    mark = test.mark("asyncio")
    if mark is not None and mark.level == "function":
        return Fix(Applicability.UNSAFE, message, (_mark_with_scope(source, mark, scope),))
    prefix = _mark_prefix(source)
    if prefix is None:
        return None
    start = _statement_start(source, test.node)
    indent = " " * (start.column - 1)
    text = f'@{prefix}.asyncio(loop_scope="{scope}")\n{indent}'
    edit = Edit(source.path, start, start, text)
    return Fix(Applicability.UNSAFE, f'Add `@{prefix}.asyncio(loop_scope="{scope}")`', (edit,))


def _module_fix(source: SourceFile, model: FileModel, scope: str) -> tuple[Fix | None, cst.CSTNode]:
    """The fix on the module's ``pytestmark`` and the node the finding points at."""
    assert source.module is not None
    message = f'Set `loop_scope="{scope}"` in the module\'s `pytestmark`'
    assign = model.pytestmark
    if assign is not None:
        mark = next((m for m in model.module_marks if m.name == "asyncio"), None)
        if mark is not None:
            return Fix(Applicability.UNSAFE, message, (_mark_with_scope(source, mark, scope),)), (
                assign
            )
        prefix = _mark_prefix(source)
        if prefix is None:
            return None, assign
        new_mark = f'{prefix}.asyncio(loop_scope="{scope}")'
        value = assign.value
        if isinstance(value, (cst.List, cst.Tuple)) and value.elements:
            last = value.elements[-1]
            start, end = source.range_of(last.value)
            text = source.module.code_for_node(last.value) + f", {new_mark}"
        else:
            start, end = source.range_of(value)
            text = f"[{source.module.code_for_node(value)}, {new_mark}]"
        return Fix(Applicability.UNSAFE, message, (Edit(source.path, start, end, text),)), assign
    anchor = _after_imports(source.module)
    prefix = _mark_prefix(source)
    if prefix is None:
        return None, anchor
    start = _statement_start(source, anchor)
    text = f'pytestmark = {prefix}.asyncio(loop_scope="{scope}")\n\n\n'
    edit = Edit(source.path, start, start, text)
    return Fix(Applicability.UNSAFE, f"Add `{text.strip()}`", (edit,)), anchor


def _after_imports(module: cst.Module) -> cst.CSTNode:
    """The first module statement after the docstring and the imports."""
    body = list(_top(module))
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom))
            or (isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))
            for s in stmt.body
        ):
            continue
        return stmt
    return body[-1]


def _top(module: cst.Module) -> Iterator[cst.BaseStatement]:
    yield from module.body


def _statement_start(source: SourceFile, node: cst.CSTNode) -> Location:
    """Where a statement starts: its first decorator, if it has any."""
    decorators = getattr(node, "decorators", ())
    first = decorators[0] if decorators else node
    return source.range_of(first)[0]
