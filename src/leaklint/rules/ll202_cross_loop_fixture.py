from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from leaklint.model.fixture_graph import CrossLoop, ResolvedTest, graph_of
from leaklint.model.locate import Locator
from leaklint.model.project import Project
from leaklint.model.pytest_model import FileModel, FixtureDef, Mark, TestDef
from leaklint.python.source import SourceFile
from leaklint.python.walk import child_nodes
from leaklint.rules.base import FileRule, FixAvailability, register

# A test with cross-loop uses, and the loop scope that would put it on all its fixtures' loop.
Finding = tuple[ResolvedTest, list[CrossLoop], str | None]


@register
class CrossLoopFixture(FileRule):
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

    Fixtures are resolved as pytest does: the test's classes, its module, every `conftest.py`
    from its directory up to the rootdir, the project's own `pytest_plugins` modules; overrides
    by name, `name=` aliases, `usefixtures`, autouse fixtures and `getfixturevalue("literal")`.
    Fixtures from installed plugins are unknown and never reported. When every async test of a
    module has the same problem, one finding points at the module's `pytestmark` (or where it
    would go). An async fixture that uses a fixture of another loop is reported at the fixture.

    A fixture that hands over only plain data (a literal, a name built from one, or a return
    annotation such as `str` or `list[str]`) and starts no task or server is left alone: a
    test on another loop awaits nothing of its loop.

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
    needs_pytest_asyncio = True
    # A test module that can hold an async test. Its findings depend on it, the conftests and
    # the ``pytest_plugins`` modules it sees, and the pytest config: it is checked alone.
    tokens = (b"async",)
    test_modules_only = True
    fix_availability = FixAvailability.UNSAFE

    def finish(self) -> None:
        project, path = self.project, self.source.path
        graph = graph_of(project)
        reported: set[tuple[FixtureDef, FixtureDef]] = set()
        plain_data: dict[int, bool] = {}  # by fixture node: asked for every test that uses it

        def plain(cross: CrossLoop) -> bool:
            fixture = cross.use.fixture
            key = id(fixture.node)
            if key not in plain_data:
                plain_data[key] = hands_over_plain_data(fixture)
            return plain_data[key]

        tests = [t for t in graph.tests_in(path) if t.asyncio]
        findings: list[Finding] = []
        for resolved in tests:
            own, inner = graph.cross_loop(resolved)
            own = [c for c in own if not plain(c)]
            inner = [c for c in inner if not plain(c)]
            if own:
                findings.append((resolved, own, graph.fitting_loop_scope(resolved)))
            for cross in inner:
                fixture = cross.requester
                assert isinstance(fixture, FixtureDef)
                key = (fixture, cross.use.fixture)
                if key not in reported:
                    reported.add(key)
                    self.diagnostics.append(self._fixture_finding(project, cross))
        if not findings:
            return
        model = project.file_model(path)
        assert model is not None
        targets = {target for _, _, target in findings}
        module_scope = targets.pop() if len(targets) == 1 else None
        if (
            len(tests) > 1
            and len(findings) == len(tests)
            and module_scope is not None
            and all(_nearest_asyncio_level(r.test) in (None, "module") for r, _, _ in findings)
        ):
            self.diagnostics.append(self._module_finding(project, model, findings, module_scope))
        else:
            for resolved, crosses, target in findings:
                self.diagnostics.append(self._test_finding(project, resolved, crosses, target))

    # ---- messages ----------------------------------------------------------------------

    def _test_finding(
        self,
        project: Project,
        resolved: ResolvedTest,
        crosses: list[CrossLoop],
        target: str | None,
    ) -> Diagnostic:
        test = resolved.test
        first = crosses[0]
        # A method a class inherits is named with its class: each subclass runs it anew.
        name = test.qualified if test.inherited else test.name
        message = f"{name} runs on {first.loop} but uses {_describe(project, first)}"
        if len(crosses) > 1:
            message += f" (and {len(crosses) - 1} more on other loops)"
        locator = graph_of(project).locator(test.source_path)
        start, end = locator.name_range(test.node)
        notes = tuple(f"also uses {_describe(project, c)}" for c in crosses[1:])
        # A mark on an inherited method would move it in every subclass: no fix.
        fix = None if target is None or test.inherited else _test_fix(locator, test, target)
        help = None
        if fix is None:
            help = (
                "run the test on one loop with its async fixtures, or give those fixtures the "
                "test's loop_scope"
            )
        return self.diagnostic(
            message=message,
            path=test.source_path,
            start=start,
            end=end,
            fix=fix,
            help=help,
            notes=notes,
        )

    def _module_finding(
        self,
        project: Project,
        model: FileModel,
        findings: list[Finding],
        scope: str,
    ) -> Diagnostic:
        first = findings[0][1][0]
        message = (
            f"all {len(findings)} async tests in this module run on {first.loop.scope} loops "
            f"but use {_describe(project, first)}"
        )
        locator = graph_of(project).locator(model.path)
        fix, (start, end) = _module_fix(locator, model, scope)
        notes = tuple(f"{r.test.qualified} uses {_describe(project, c[0])}" for r, c, _ in findings)
        return self.diagnostic(
            message=message, path=model.path, start=start, end=end, fix=fix, notes=notes
        )

    def _fixture_finding(self, project: Project, cross: CrossLoop) -> Diagnostic:
        """Reported at the fixture, once for the project: every test module that sets it up
        finds it, and the first of them (in file order) gives it."""
        fixture = cross.requester
        assert isinstance(fixture, FixtureDef)
        graph = graph_of(project)
        start, end = graph.locator(fixture.path).name_range(fixture.node)
        dependency = cross.use.fixture
        used = graph.locator(dependency.path).name_range(dependency.node)[0]
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
            dedup_key=(
                f"{fixture.path}:{start.row}:{start.column} "
                f"{dependency.path}:{used.row}:{used.column}"
            ),
        )


# Calls that leave work running on the fixture's loop after its setup (a server, a task).
_SPAWNS = frozenset(
    {
        "create_task",
        "ensure_future",
        "start_server",
        "start_unix_server",
        "create_server",
        "create_unix_server",
        "serve",
        "TaskGroup",
        "call_soon",
        "call_later",
        "call_at",
        "run_in_executor",
    }
)
_PLAIN_TYPES = frozenset({"str", "bytes", "int", "float", "bool", "None"})
_CONTAINERS = frozenset({"list", "tuple", "set", "frozenset", "dict", "List", "Tuple", "Dict"})
_ITERATORS = frozenset({"AsyncIterator", "AsyncGenerator", "Iterator", "Generator"})


def hands_over_plain_data(fixture: FixtureDef) -> bool:
    """Whether the fixture gives its users only plain data (a name, a port number, a list of
    strings) and leaves nothing running on its loop: then a user on another loop awaits
    nothing of that loop. The value must be a literal-like expression (or a name bound to one
    in the fixture), or the return annotation must say plain data; no call may start a task or
    a server, and the ``yield`` must not sit inside a ``with`` block that keeps something open.
    """
    scan = _HandOver.of(fixture.node.body)
    if scan.spawns or scan.held_yield or not scan.values:
        return False
    if _plain_annotation(fixture.node.returns, generator=fixture.is_generator):
        return True
    return all(_plain_value(v, scan.bindings) for v in scan.values)


@dataclass
class _HandOver:
    """Yielded/returned values, single-name bindings, spawning calls and held yields of a
    function body (nested functions and classes excluded)."""

    values: list[cst.BaseExpression] = field(default_factory=list)
    bindings: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    spawns: bool = False
    held_yield: bool = False

    @classmethod
    def of(cls, body: cst.BaseSuite) -> _HandOver:
        scan = cls()
        # (node, inside a ``with`` block); read-only, trivia skipped, nested scopes pruned.
        stack: list[tuple[cst.CSTNode, bool]] = [(body, False)]
        while stack:
            node, in_with = stack.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            if isinstance(node, cst.With):
                in_with = True
            elif isinstance(node, cst.Yield):
                scan._yield(node, in_with)
            elif isinstance(node, cst.Return):
                if node.value is not None:
                    scan.values.append(node.value)
            elif isinstance(node, cst.Assign):
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        scan.bindings.setdefault(target.target.value, []).append(node.value)
            elif isinstance(node, cst.Call) and _called_name(node) in _SPAWNS:
                scan.spawns = True
            stack.extend((child, in_with) for child in reversed(child_nodes(node, trivia=False)))
        return scan

    def _yield(self, node: cst.Yield, in_with: bool) -> None:
        if in_with:
            self.held_yield = True
        if isinstance(node.value, cst.BaseExpression):
            self.values.append(node.value)
        elif node.value is not None:  # ``yield from``
            self.held_yield = True
        else:
            self.values.append(cst.Name("None"))


def _called_name(node: cst.Call) -> str | None:
    func = node.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def _plain_value(
    value: cst.BaseExpression,
    bindings: dict[str, list[cst.BaseExpression]],
    depth: int = 0,
) -> bool:
    if depth > 4:
        return False
    if isinstance(
        value,
        (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float),
    ):
        return True
    if isinstance(value, cst.Name):
        if value.value in ("True", "False", "None"):
            return True
        bound = bindings.get(value.value, [])
        return bool(bound) and all(_plain_value(v, bindings, depth + 1) for v in bound)
    if isinstance(value, cst.BinaryOperation):
        # ``"prefix-" + token_hex(4)``: a string literal on one side makes a string.
        sides = (value.left, value.right)
        return any(
            isinstance(s, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))
            for s in sides
        ) or all(_plain_value(s, bindings, depth + 1) for s in sides)
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return all(
            isinstance(e, cst.Element) and _plain_value(e.value, bindings, depth + 1)
            for e in value.elements
        )
    return False


def _plain_annotation(annotation: cst.Annotation | None, *, generator: bool) -> bool:
    if annotation is None:
        return False
    expr = annotation.annotation
    if generator:
        if not (isinstance(expr, cst.Subscript) and _type_name(expr.value) in _ITERATORS):
            return False
        first = expr.slice[0].slice
        if not isinstance(first, cst.Index):
            return False
        expr = first.value
    return _plain_type(expr)


def _plain_type(expr: cst.BaseExpression) -> bool:
    name = _type_name(expr)
    if name in _PLAIN_TYPES:
        return True
    if isinstance(expr, cst.Subscript) and _type_name(expr.value) in _CONTAINERS:
        return all(
            isinstance(s.slice, cst.Index)
            and (_plain_type(s.slice.value) or (isinstance(s.slice.value, cst.Ellipsis)))
            for s in expr.slice
        )
    return False


def _type_name(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return None


def _describe(project: Project, cross: CrossLoop) -> str:
    location = graph_of(project).where(cross.use.fixture)
    return f"{cross.use.chain()}, set up on {cross.other} at {location}"


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


def _mark_with_scope(
    locator: Locator, mark: Mark, at: tuple[Location, Location], scope: str
) -> Edit:
    """Set ``loop_scope`` on an existing asyncio mark (bare or called) found at ``at``."""
    expr = mark.expr
    call = expr if isinstance(expr, cst.Call) else cst.Call(func=expr)
    new = _with_loop_scope(call, scope)
    text = locator.source.rendered_in_place(expr, new, at[0], at[1])
    return Edit(locator.source.path, at[0], at[1], text)


def _test_fix(locator: Locator, test: TestDef, scope: str) -> Fix | None:
    message = f'Set `loop_scope="{scope}"` on the test\'s asyncio mark'
    mark = test.mark("asyncio")
    if mark is not None and mark.level == "function":
        index = next(
            (i for i, d in enumerate(test.node.decorators) if d.decorator is mark.expr), None
        )
        if index is None:
            return None
        at = locator.decorator_range(test.node, index)
        return Fix(Applicability.UNSAFE, message, (_mark_with_scope(locator, mark, at, scope),))
    prefix = _mark_prefix(locator.source)
    if prefix is None:
        return None
    start = locator.start(test.node)
    indent = " " * (start.column - 1)
    text = f'@{prefix}.asyncio(loop_scope="{scope}")\n{indent}'
    edit = Edit(locator.source.path, start, start, text)
    return Fix(Applicability.UNSAFE, f'Add `@{prefix}.asyncio(loop_scope="{scope}")`', (edit,))


def _module_fix(
    locator: Locator, model: FileModel, scope: str
) -> tuple[Fix | None, tuple[Location, Location]]:
    """The fix on the module's ``pytestmark`` and the range the finding points at."""
    message = f'Set `loop_scope="{scope}"` in the module\'s `pytestmark`'
    code = locator.module.code_for_node
    path = locator.source.path
    prefix = _mark_prefix(locator.source)
    twin = locator.pytestmark()
    assign = model.pytestmark
    if assign is not None and twin is not None:
        where = locator.range(twin)
        value, twin_value = assign.value, twin.value
        elements = value.elements if isinstance(value, (cst.List, cst.Tuple)) else None
        twin_elements = twin_value.elts if isinstance(twin_value, (ast.List, ast.Tuple)) else None
        mark = next((m for m in model.module_marks if m.name == "asyncio"), None)
        if mark is not None:
            if elements is None:
                at = locator.range(twin_value)
            else:
                index = next((i for i, e in enumerate(elements) if e.value is mark.expr), None)
                if index is None or twin_elements is None or len(twin_elements) != len(elements):
                    return None, where
                at = locator.range(twin_elements[index])
            edit = _mark_with_scope(locator, mark, at, scope)
            return Fix(Applicability.UNSAFE, message, (edit,)), where
        if prefix is None:
            return None, where
        new_mark = f'{prefix}.asyncio(loop_scope="{scope}")'
        if elements and twin_elements:
            start, end = locator.range(twin_elements[-1])
            text = code(elements[-1].value) + f", {new_mark}"
        else:
            start, end = locator.range(twin_value)
            text = f"[{code(value)}, {new_mark}]"
        return Fix(Applicability.UNSAFE, message, (Edit(path, start, end, text),)), where
    if assign is not None:  # only libcst could read the file
        return None, locator.source.range_of(assign)
    anchor = locator.after_imports()
    if anchor is None:
        return None, (Location(1, 1), Location(1, 1))
    if prefix is None:
        return None, (anchor, anchor)
    text = f'pytestmark = {prefix}.asyncio(loop_scope="{scope}")\n\n\n'
    edit = Edit(path, anchor, anchor, text)
    return Fix(Applicability.UNSAFE, f"Add `{text.strip()}`", (edit,)), (anchor, anchor)
