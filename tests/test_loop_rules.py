"""The pytest-asyncio fixture rules (LL201, LL203-LL207): what they find in small projects and
what their fixes turn the code into."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import pytest

from leaklint.diagnostics import Applicability, Diagnostic, Edit
from leaklint.model.project import Project
from leaklint.rules.base import DOC_HEADINGS, RuleSelection, get_rule
from leaklint.run.engine import lint

CODES = ("LL201", "LL203", "LL204", "LL205", "LL206", "LL207")

STRICT = """\
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
"""
AUTO = """\
[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""


def apply_edits(text: str, edits: tuple[Edit, ...]) -> str:
    """The text with the edits applied (positions are 1-based, refer to the original text)."""
    lines = text.splitlines(keepends=True)

    def offset(row: int, column: int) -> int:
        return sum(len(line) for line in lines[: row - 1]) + column - 1

    spans = sorted(
        ((offset(e.start.row, e.start.column), offset(e.end.row, e.end.column), e) for e in edits),
        key=lambda span: span[0],
    )
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert end <= start, "edits of one fix overlap"
    for start, end, edit in reversed(spans):
        text = text[:start] + edit.content + text[end:]
    return text


def make_project(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))


def findings(root: Path, code: str) -> list[Diagnostic]:
    project = Project.load([root])
    result = lint(project, RuleSelection(select=(code,)).rules())
    assert not result.internal_errors, result.internal_errors
    return [d for d in result.diagnostics if d.code == code]


def fixed(root: Path, name: str, code: str, applicability: Applicability | None = None) -> str:
    """The file after applying the (single) finding's fix; the fixed file is clean."""
    path = root / name
    found = [d for d in findings(root, code) if d.path == path.absolute()]
    assert len(found) == 1, found
    fix = found[0].fix
    assert fix is not None and fix.edits
    if applicability is not None:
        assert fix.applicability is applicability
    result = apply_edits(path.read_text(), fix.edits)
    path.write_text(result)
    assert not [d for d in findings(root, code) if d.path == path.absolute()]
    return result


# --------------------------------------------------------------------------- docs


@pytest.mark.parametrize("code", CODES)
def test_rule_docs_have_the_headings_in_order(code: str) -> None:
    rule = get_rule(code)
    assert rule is not None
    docs = rule.docs()
    positions = [docs.find(heading) for heading in DOC_HEADINGS]
    assert -1 not in positions and positions == sorted(positions), positions


# --------------------------------------------------------------------------- LL201


def test_ll201_replaces_an_explicit_loop_scope(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest_asyncio

                @pytest_asyncio.fixture(scope="module", loop_scope='function')
                async def db():
                    yield 1
            """,
        },
    )
    assert "@pytest_asyncio.fixture(scope=\"module\", loop_scope='module')" in fixed(
        tmp_path, "test_a.py", "LL201", Applicability.SAFE
    )


def test_ll201_adds_loop_scope_when_the_config_default_is_narrower(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "conftest.py": """\
                import pytest_asyncio as pa

                @pa.fixture(scope="session")
                async def pool():
                    return 1

                @pa.fixture(
                    scope="module",
                    autouse=True,
                )
                async def client():
                    yield 2
            """,
        },
    )
    found = findings(tmp_path, "LL201")
    assert [d.location.row for d in found] == [3, 7]
    assert 'asyncio_default_fixture_loop_scope = "function"' in found[0].message
    text = (tmp_path / "conftest.py").read_text()
    assert found[0].fix is not None and found[1].fix is not None
    assert '@pa.fixture(scope="session", loop_scope="session")' in apply_edits(
        text, found[0].fix.edits
    )
    assert (
        '@pa.fixture(\n    scope="module",\n    autouse=True,\n    loop_scope="module",\n)'
        in apply_edits(text, found[1].fix.edits)
    )


def test_ll201_auto_mode_pytest_fixture_becomes_pytest_asyncio_fixture(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": AUTO,
            "test_a.py": '''\
                """Docs."""
                import os
                from pytest import fixture

                X = os.sep

                @fixture(scope="module")
                async def db():
                    yield 1
            ''',
        },
    )
    assert fixed(tmp_path, "test_a.py", "LL201") == textwrap.dedent(
        '''\
        """Docs."""
        import os
        from pytest import fixture
        import pytest_asyncio

        X = os.sep

        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def db():
            yield 1
        '''
    )


@pytest.mark.parametrize(
    "config",
    [
        "[tool.pytest.ini_options]\nasyncio_mode = 'strict'\n",
        "[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = 'fixture-scope'\n",
    ],
    ids=["unset", "fixture-scope"],
)
def test_ll201_silent_when_the_loop_scope_follows_the_cache_scope(
    tmp_path: Path, config: str
) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": config,
            "test_a.py": """\
                import pytest_asyncio

                @pytest_asyncio.fixture(scope="module")
                async def db():
                    yield 1
            """,
        },
    )
    assert findings(tmp_path, "LL201") == []


def test_ll201_silent_when_pytest_asyncio_is_disabled(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT + 'addopts = "-p no:asyncio"\n',
            "test_a.py": """\
                import pytest_asyncio

                @pytest_asyncio.fixture(scope="module", loop_scope="function")
                async def db():
                    yield 1
            """,
        },
    )
    assert findings(tmp_path, "LL201") == []


# --------------------------------------------------------------------------- LL203


def test_ll203_renames_scope(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest

                pytestmark = [pytest.mark.asyncio(scope="module")]
            """,
        },
    )
    result = fixed(tmp_path, "test_a.py", "LL203", Applicability.SAFE)
    assert 'pytestmark = [pytest.mark.asyncio(loop_scope="module")]' in result


def test_ll203_drops_an_equal_scope_safely(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                from pytest import mark

                @mark.asyncio(scope="module", loop_scope="module")
                async def test_x():
                    pass
            """,
        },
    )
    result = fixed(tmp_path, "test_a.py", "LL203", Applicability.SAFE)
    assert '@mark.asyncio(loop_scope="module")\n' in result


def test_ll203_keeps_loop_scope_when_they_differ_unsafely(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest as pt

                @pt.mark.asyncio(
                    loop_scope="class",
                    scope="session",
                )
                class TestX:
                    async def test_x(self):
                        pass
            """,
        },
    )
    result = fixed(tmp_path, "test_a.py", "LL203", Applicability.UNSAFE)
    assert '@pt.mark.asyncio(\n    loop_scope="class",\n)\nclass TestX:' in result


# --------------------------------------------------------------------------- LL204

OVERRIDE = """\
import asyncio

import pytest


@pytest.fixture(scope="module")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.asyncio
async def test_a():
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_b():
    pass


def test_sync():
    pass
"""


def test_ll204_removes_the_override_and_carries_its_scope(tmp_path: Path) -> None:
    make_project(tmp_path, {"pyproject.toml": STRICT, "test_a.py": OVERRIDE})
    result = fixed(tmp_path, "test_a.py", "LL204", Applicability.UNSAFE)
    assert result == textwrap.dedent(
        """\
        import asyncio

        import pytest


        @pytest.mark.asyncio(loop_scope="module")
        async def test_a():
            pass


        @pytest.mark.asyncio(loop_scope="session")
        async def test_b():
            pass


        def test_sync():
            pass
        """
    )


def test_ll204_auto_mode_marks_unmarked_async_tests(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": AUTO,
            "test_a.py": """\
                from pytest import fixture


                class TestLoop:
                    # One loop for the class.
                    @fixture(scope="class")
                    def event_loop(self):
                        yield None

                    async def test_a(self):
                        pass

                    def test_sync(self):
                        pass
            """,
        },
    )
    result = fixed(tmp_path, "test_a.py", "LL204", Applicability.UNSAFE)
    assert result == textwrap.dedent(
        """\
        from pytest import fixture
        import pytest


        class TestLoop:
            # One loop for the class.

            @pytest.mark.asyncio(loop_scope="class")
            async def test_a(self):
                pass

            def test_sync(self):
                pass
        """
    )


def test_ll204_gives_advice_only_when_the_file_still_requests_the_fixture(
    tmp_path: Path,
) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": OVERRIDE + "\n\ndef test_uses(event_loop):\n    pass\n",
        },
    )
    (found,) = findings(tmp_path, "LL204")
    assert found.fix is None
    assert found.help is not None and 'loop_scope="module"' in found.help


def test_ll204_conftest(tmp_path: Path) -> None:
    conftest = """\
        import pytest


        @pytest.fixture(scope="{scope}")
        def event_loop():
            yield None


        @pytest.fixture
        def other():
            return 1
    """
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "a/conftest.py": conftest.format(scope="function"),
            "b/conftest.py": conftest.format(scope="session"),
            "c/conftest.py": conftest.format(scope="function"),
            "c/test_c.py": "def test_c(event_loop):\n    pass\n",
        },
    )
    by_dir = {d.path.parent.name: d for d in findings(tmp_path, "LL204")}
    assert sorted(by_dir) == ["a", "b", "c"]
    # Same scope as the default test loop scope: the fixture can simply go.
    assert by_dir["c"].fix is None  # ... unless a test below still requests it
    assert by_dir["b"].fix is None
    assert by_dir["b"].help is not None
    assert 'asyncio_default_test_loop_scope = "session"' in by_dir["b"].help
    assert fixed(tmp_path, "a/conftest.py", "LL204") == (
        "import pytest\n\n\n@pytest.fixture\ndef other():\n    return 1\n"
    )


# --------------------------------------------------------------------------- LL205


def test_ll205_sync_use_of_a_project_event_loop_is_fine(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "conftest.py": """\
                import asyncio
                import pytest

                @pytest.fixture
                def event_loop():
                    loop = asyncio.new_event_loop()
                    yield loop
                    loop.close()
            """,
            "tests/test_a.py": """\
                import pytest

                def test_sync(event_loop):
                    pass

                @pytest.mark.asyncio
                async def test_async(event_loop):
                    pass
            """,
        },
    )
    (found,) = findings(tmp_path, "LL205")
    assert found.location.row == 7
    assert "conftest.py:5" in found.message


def test_ll205_not_without_pytest_asyncio(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-ra'\n",
            "test_a.py": "def test_sync(event_loop):\n    pass\n",
        },
    )
    assert findings(tmp_path, "LL205") == []


# --------------------------------------------------------------------------- LL207


def test_ll207_adds_the_import_after_the_last_import(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest


                @pytest.fixture(scope="module")
                async def db():
                    yield 1
            """,
        },
    )
    assert fixed(tmp_path, "test_a.py", "LL207", Applicability.SAFE) == textwrap.dedent(
        """\
        import pytest
        import pytest_asyncio


        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def db():
            yield 1
        """
    )


@pytest.mark.parametrize(
    ("imports", "decorator"),
    [
        ("import pytest_asyncio as pa", "@pa.fixture"),
        ("from pytest_asyncio import fixture as afix", "@afix"),
    ],
)
def test_ll207_uses_the_existing_import(tmp_path: Path, imports: str, decorator: str) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": f"import pytest as pt\n{imports}\n\n\n"
            "@pt.fixture\nasync def db():\n    yield 1\n",
        },
    )
    result = fixed(tmp_path, "test_a.py", "LL207")
    assert f"{decorator}\nasync def db():" in result
    assert result.count("import") == 2


def test_ll207_silent_in_auto_mode_and_without_pytest_asyncio(tmp_path: Path) -> None:
    source = "import pytest\n\n\n@pytest.fixture\nasync def db():\n    yield 1\n"
    make_project(tmp_path / "auto", {"pyproject.toml": AUTO, "test_a.py": source})
    make_project(
        tmp_path / "none",
        {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-ra'\n", "test_a.py": source},
    )
    assert findings(tmp_path / "auto", "LL207") == []
    assert findings(tmp_path / "none", "LL207") == []


def test_ll204_sets_loop_scope_on_the_module_mark(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest

                pytestmark = [pytest.mark.slow, pytest.mark.asyncio]


                @pytest.fixture(scope="session")
                def event_loop():
                    yield None


                async def test_a():
                    pass


                async def test_b():
                    pass
            """,
        },
    )
    result = fixed(tmp_path, "test_a.py", "LL204")
    assert 'pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]' in result
    assert "event_loop" not in result


def test_ll204_in_a_class_leaves_a_module_mark_alone(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest

                pytestmark = pytest.mark.asyncio


                class TestA:
                    @pytest.fixture(scope="class")
                    def event_loop(self):
                        yield None

                    async def test_a(self):
                        pass


                async def test_outside():
                    pass
            """,
        },
    )
    (found,) = findings(tmp_path, "LL204")
    assert found.fix is None and found.help is not None


@pytest.mark.parametrize("code", ["LL204", "LL206"])
def test_overrides_are_fine_without_pytest_asyncio(tmp_path: Path, code: str) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-ra'\n",
            "conftest.py": """\
                import pytest

                @pytest.fixture
                def event_loop():
                    return None

                @pytest.fixture
                def event_loop_policy():
                    return None
            """,
        },
    )
    assert findings(tmp_path, code) == []


def test_ll205_parametrize_with_a_list_of_names(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest

                @pytest.mark.parametrize(argnames=["event_loop"], argvalues=[1])
                def test_a(event_loop):
                    pass

                @pytest.mark.parametrize("other", [1])
                def test_b(other, event_loop):
                    pass
            """,
        },
    )
    assert [d.location.row for d in findings(tmp_path, "LL205")] == [8]


def test_ll204_in_a_nested_class_leaves_the_outer_class_mark_alone(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest


                @pytest.mark.asyncio
                class TestOuter:
                    class TestInner:
                        @pytest.fixture(scope="class")
                        def event_loop(self):
                            yield None

                        async def test_a(self):
                            pass

                    async def test_b(self):
                        pass


                class TestOwnMark:
                    pytestmark = [pytest.mark.asyncio]

                    @pytest.fixture(scope="class")
                    def event_loop(self):
                        yield None

                    async def test_c(self):
                        pass
            """,
        },
    )
    outer, own = findings(tmp_path, "LL204")
    assert outer.fix is None
    assert own.fix is not None
    result = apply_edits((tmp_path / "test_a.py").read_text(), own.fix.edits)
    assert 'pytestmark = [pytest.mark.asyncio(loop_scope="class")]' in result


def test_ll201_loop_scope_none_means_the_config_default(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            "pyproject.toml": STRICT,
            "test_a.py": """\
                import pytest_asyncio

                @pytest_asyncio.fixture(scope="module", loop_scope=None)
                async def db():
                    yield 1
            """,
        },
    )
    assert 'loop_scope="module")' in fixed(tmp_path, "test_a.py", "LL201")
