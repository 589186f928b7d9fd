from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst

from leaklint.diagnostics import Applicability, Edit, Fix, Location
from leaklint.model.loops import is_asyncio_fixture, is_asyncio_test
from leaklint.model.pytest_model import SCOPES, FileModel, FixtureDef, Mark, TestDef
from leaklint.python.cstedit import (
    import_insertion_point,
    indentation_of,
    reference_to,
    set_keyword,
    string_like,
)
from leaklint.rules.base import FileRule, FixAvailability, register

EVENT_LOOP = "event_loop"
ASYNCIO_MARK = "pytest.mark.asyncio"
# Another request for the fixture by name in the same file (usefixtures, getfixturevalue).
_NAMED_REQUEST = re.compile(rb"""["']event_loop["']""")


@register
class EventLoopFixtureOverride(FileRule):
    """
    ## What it does
    Reports a fixture named `event_loop` (by its function name or by `name=`) in a test module
    or conftest.py of a project that uses pytest-asyncio, where pytest-asyncio would have run
    tests on it: in a conftest.py, or in a test module with an async test (that the fixture
    covers) or an async fixture. An `event_loop` fixture that only sync tests request is their
    own helper and keeps working. Only reported when the pytest-asyncio range the project
    declares allows 1.0 or later (with no declared range, the current release is assumed).

    ## Why is this bad?
    pytest-asyncio 1.0 removed the `event_loop` fixture. An override that used to choose the
    loop tests run on (often a module- or session-wide loop) is now an ordinary fixture that
    pytest-asyncio ignores, without a warning: tests run on a fresh loop of their own loop
    scope, and resources that were meant to share one loop across tests fail with "attached to
    a different loop" or `Event loop is closed`.

    ## Example
    ```python
    @pytest.fixture(scope="module")
    def event_loop():
        loop = asyncio.new_event_loop()
        yield loop
        loop.close()

    @pytest.mark.asyncio
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
    Unsafe, and offered only in a test module (or a test class) where the fixture is a plain
    module-level function or method and nothing in the file requests it: the fix deletes the
    fixture and carries its scope to the tests it covered, as `loop_scope=` on their asyncio
    marks (or a new `@pytest.mark.asyncio(loop_scope=...)` on async tests with no mark in auto
    mode). Tests whose mark already names a loop scope keep it. The tests then share one loop
    per scope, which is the intent of the override but not what pytest-asyncio 1.x does with
    the code as written, and custom loop setup in the fixture (a policy, debug mode, an
    exception handler) is lost. In a conftest.py the fix only deletes the fixture, and only
    when its scope is already the default test loop scope; otherwise the finding says which
    setting carries the scope.
    """

    code = "LL204"
    name = "event-loop-fixture-override"
    needs_pytest_asyncio = True
    fix_availability = FixAvailability.SOMETIMES
    tokens = (b"event_loop",)
    test_files_only = True

    def finish(self) -> None:
        model = self.pytest_asyncio_model()
        if model is None or not self.project.pytest_asyncio_range.allows_at_least("1.0"):
            return  # before 1.0 the override still chooses the loop (with a deprecation)
        for fixture in model.fixtures:
            if fixture.name == EVENT_LOOP and self._was_the_loop(fixture, model):
                self._report(fixture, model)

    def _was_the_loop(self, fixture: FixtureDef, model: FileModel) -> bool:
        """Whether pytest-asyncio before 1.0 would have run something on this fixture's loop:
        an async test it covers, or an async fixture of its module. In a test module with only
        sync tests, the fixture is the tests' own helper, which 1.0 leaves working. A conftest's
        fixture serves modules leaklint does not look at here: always."""
        if self.project.is_conftest(self.source.path):
            return True
        if any(
            self._covers(fixture, test) and is_asyncio_test(test, self.project)
            for test in model.tests
        ):
            return True
        return any(is_asyncio_fixture(other, self.project) for other in model.fixtures)

    def _report(self, fixture: FixtureDef, model: FileModel) -> None:
        scope = fixture.scope
        message = "pytest-asyncio 1.0 ignores this `event_loop` fixture"
        if scope in SCOPES and scope != "function":
            message += f"; tests no longer share its {scope}-scoped loop"
        else:
            message += "; it no longer sets the loop tests run on"
        fix, help_text = self._fix(fixture, model)
        self.report(fixture.node.name, message, fix=fix, help=help_text)

    # ---- the fix -----------------------------------------------------------------------

    def _fix(self, fixture: FixtureDef, model: FileModel) -> tuple[Fix | None, str | None]:
        scope = fixture.scope
        conftest = self.project.is_conftest(self.source.path)
        default = self.project.config.default_test_loop_scope
        if scope not in SCOPES:
            return None, "remove it; pytest-asyncio picks the loop from `loop_scope` instead"
        if conftest:
            advice = (
                f"remove it; to keep the tests it covered on one {scope}-scoped loop, set "
                f'`asyncio_default_test_loop_scope = "{scope}"` in the pytest config, or '
                f'`loop_scope="{scope}"` on their asyncio marks'
            )
        else:
            advice = (
                f"remove it; to keep the tests on one {scope}-scoped loop, mark them "
                f'`@pytest.mark.asyncio(loop_scope="{scope}")`'
            )
        removal = self._removal(fixture)
        if removal is None or self._requested_elsewhere(fixture, model):
            return None, advice
        if conftest:
            if scope != default:
                return None, advice
            return (
                self.make_fix(Applicability.UNSAFE, "remove the ignored fixture", removal),
                None,
            )
        carried = self._carry_scope(fixture, model)
        if carried is None:
            return None, advice
        edits = sorted((removal, *carried), key=lambda e: e.start)
        if carried:
            text = f'remove the ignored fixture and set `loop_scope="{scope}"` on the tests'
        else:
            text = "remove the ignored fixture"
        return self.make_fix(Applicability.UNSAFE, text, *edits), None

    def _requested_elsewhere(self, fixture: FixtureDef, model: FileModel) -> bool:
        """Whether deleting the fixture could break a request for it: in this file, or (for a
        conftest) in any test module or conftest below it that mentions ``event_loop``."""
        path = self.source.path
        if self.project.is_conftest(path):
            for other in self.project.python_files:
                if other == path or not self.project.is_pytest_file(other):
                    continue
                if not other.is_relative_to(path.parent):
                    continue
                raw = self.project.read(other)
                if isinstance(raw, OSError) or EVENT_LOOP.encode() in raw:
                    return True
        if any(EVENT_LOOP in t.params for t in model.tests):
            return True
        if any(EVENT_LOOP in f.params for f in model.fixtures if f is not fixture):
            return True
        # ``name="event_loop"`` on a fixture decorator is a definition, not a request.
        named = sum(1 for f in model.fixtures if f.name == EVENT_LOOP and f.function_name != f.name)
        return len(_NAMED_REQUEST.findall(self.source.raw)) > named

    def _removal(self, fixture: FixtureDef) -> Edit | None:
        """An edit deleting the fixture, decorators included; ``None`` when the function is not
        a plain statement of the module or of a class body that keeps other statements."""
        module = self.source.module
        assert module is not None
        node = fixture.node
        body: Sequence[cst.BaseStatement] | None = None
        if any(stmt is node for stmt in module.body):
            body = module.body
        else:
            for cls in _classes(module.body):
                inner = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
                if any(stmt is node for stmt in inner):
                    body = [s for s in inner if isinstance(s, cst.BaseStatement)]
        if body is None or len(body) < 2:
            return None
        start, end = self.source.whole_range_of(node)
        if any(line.comment is not None for line in node.leading_lines):
            # Keep the comments above the function; delete from its first line.
            first: cst.CSTNode = node.decorators[0] if node.decorators else node
            start = Location(self.source.range_of(first)[0].row, 1)
        return Edit(self.source.path, start, end, "")

    def _carry_scope(self, fixture: FixtureDef, model: FileModel) -> list[Edit] | None:
        """Edits giving the tests the fixture covered its scope as their loop scope; ``None``
        when that cannot be written without touching tests it did not cover."""
        scope = fixture.scope
        default = self.project.config.default_test_loop_scope
        in_class = fixture.class_name is not None
        edits: list[Edit] = []
        edited: list[Mark] = []
        spelling: str | None = None
        for test in model.tests:
            if not self._covers(fixture, test) or not is_asyncio_test(test, self.project):
                continue
            mark = test.mark("asyncio")
            if mark is not None and mark.loop_scope is not None:
                continue  # the test already names its loop scope
            if scope == default:
                continue
            if mark is None:
                if spelling is None:
                    spelling, edit = self._mark_spelling()
                    if edit is not None:
                        edits.append(edit)
                edits.append(self._decorate(test, f'@{spelling}(loop_scope="{scope}")'))
                continue
            if in_class and not self._owned_by_fixture_class(fixture, test, mark):
                return None  # the mark also covers tests outside the fixture's class
            if any(m is mark for m in edited):
                continue
            edited.append(mark)
            edits.append(self._mark_edit(mark, scope))
        return edits

    def _covers(self, fixture: FixtureDef, test: TestDef) -> bool:
        if fixture.class_name is None:
            return True
        return any(_contains(cls, fixture.node) for cls in test.class_nodes)

    def _owned_by_fixture_class(self, fixture: FixtureDef, test: TestDef, mark: Mark) -> bool:
        """Whether ``mark`` is written on the class that holds ``fixture`` (a decorator or its
        ``pytestmark``), so that editing it only reaches that class's tests."""
        if mark.level != "class":
            return False
        owner = next((c for c in test.class_nodes if _contains(c, fixture.node)), None)
        if owner is None:
            return False
        if any(d.decorator is mark.expr for d in owner.decorators):
            return True
        inner = owner.body.body if isinstance(owner.body, cst.IndentedBlock) else ()
        for stmt in inner:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if not isinstance(small, cst.Assign):
                    continue
                value = small.value
                if value is mark.expr:
                    return True
                if isinstance(value, (cst.List, cst.Tuple)) and any(
                    e.value is mark.expr for e in value.elements
                ):
                    return True
        return False

    def _mark_spelling(self) -> tuple[str, Edit | None]:
        module = self.source.module
        assert module is not None
        spelling, import_line = reference_to(module, ASYNCIO_MARK)
        if import_line is None:
            return spelling, None
        return spelling, self.insert_edit(import_insertion_point(module), import_line)

    def _decorate(self, test: TestDef, decorator: str) -> Edit:
        first: cst.CSTNode = test.node.decorators[0] if test.node.decorators else test.node
        row = self.source.range_of(first)[0].row
        indent = indentation_of(self.source.text, row)
        return self.insert_edit(Location(row, 1), f"{indent}{decorator}\n")

    def _mark_edit(self, mark: Mark, scope: str) -> Edit:
        expr = mark.expr
        value = string_like(None, scope)
        if isinstance(expr, cst.Call):
            return self.replace_edit(expr, set_keyword(expr, "loop_scope", value))
        call = cst.Call(func=expr, args=[])
        return self.replace_edit(expr, set_keyword(call, "loop_scope", value))


def _classes(body: Sequence[cst.CSTNode]) -> list[cst.ClassDef]:
    found: list[cst.ClassDef] = []
    for stmt in body:
        if isinstance(stmt, cst.ClassDef):
            found.append(stmt)
            inner = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
            found.extend(_classes(inner))
    return found


def _contains(cls: cst.ClassDef, node: cst.FunctionDef) -> bool:
    inner = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return any(stmt is node for stmt in inner)
