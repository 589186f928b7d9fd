"""The ``ast`` screen of test modules before the fixture graph counts loops: a module is left
out only where the graph would find no test pytest-asyncio runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from leaklint.model.asyncio_tests import may_hold_asyncio_test
from leaklint.model.fixture_graph import graph_of
from leaklint.model.project import Project
from tests.runtime.projects import PROJECTS

HERE = Path(__file__).resolve().parent
EXAMPLES = sorted(
    p for group in ("graph", "loops") for p in (HERE.parent / "fixtures" / group).iterdir()
)
STRICT = "[pytest]\nasyncio_mode = strict\n"
AUTO = "[pytest]\nasyncio_mode = auto\n"


def _project(root: Path, files: dict[str, str]) -> Project:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return Project.load([root])


def _screen(project: Project, name: str) -> bool:
    graph = graph_of(project)
    return may_hold_asyncio_test(project, project.root / name, auto=graph.auto)


def _check_against_the_graph(project: Project) -> int:
    """Every test module in which the graph finds a loop passes the screen; returns how many
    modules the graph found loops in (so a caller can see the check was not empty)."""
    graph = graph_of(project)
    kept = set(graph.async_test_files())
    found = 0
    for path in graph.test_files:
        if graph.loops_in(path):
            found += 1
            assert path in kept, path
    return found


def test_the_graph_finds_no_loop_in_a_module_the_screen_leaves_out_examples() -> None:
    found = sum(_check_against_the_graph(Project.load([example])) for example in EXAMPLES)
    assert found > 10


def test_the_graph_finds_no_loop_in_a_module_the_screen_leaves_out_projects(
    tmp_path: Path,
) -> None:
    found = 0
    for name, files in PROJECTS.items():
        found += _check_against_the_graph(_project(tmp_path / name, files))
    assert found > 40


def test_an_async_test_without_the_asyncio_mark_in_strict_mode_is_left_out(
    tmp_path: Path,
) -> None:
    project = _project(
        tmp_path,
        {
            "pytest.ini": STRICT,
            "test_a.py": """\
                import asyncio

                async def test_a():
                    await asyncio.sleep(0)
                """,
        },
    )
    assert not _screen(project, "test_a.py")


def test_the_same_module_is_kept_in_auto_mode(tmp_path: Path) -> None:
    project = _project(
        tmp_path, {"pytest.ini": AUTO, "test_a.py": "async def test_a():\n    pass\n"}
    )
    assert _screen(project, "test_a.py")


@pytest.mark.parametrize(
    "mark",
    [
        "import pytest\n\n@pytest.mark.asyncio\n",
        "from pytest import mark as m\n\n@m.asyncio(loop_scope='module')\n",
        "import pytest\n\npytestmark = [pytest.mark.slow, pytest.mark.asyncio]\n\n",
    ],
)
def test_an_async_test_with_the_mark_is_kept(tmp_path: Path, mark: str) -> None:
    project = _project(
        tmp_path,
        {"pytest.ini": STRICT, "test_a.py": mark + "async def test_a():\n    pass\n"},
    )
    assert _screen(project, "test_a.py")


def test_a_module_that_only_inherits_its_async_tests_is_kept(tmp_path: Path) -> None:
    """The subclass's module has no ``async def`` and no mark: both are in the base class,
    found through a package's re-export."""
    project = _project(
        tmp_path,
        {
            "pytest.ini": STRICT,
            "helpers/__init__.py": "from .suites import AsyncSuite\n",
            "helpers/suites.py": """\
                import pytest

                @pytest.mark.asyncio
                class AsyncSuite:
                    async def test_ping(self):
                        pass
                """,
            "test_client.py": """\
                from helpers import AsyncSuite

                class TestClient(AsyncSuite):  # async via its base
                    pass
                """,
        },
    )
    assert _screen(project, "test_client.py")
    assert graph_of(project).loops_in(project.root / "test_client.py")


def test_a_base_class_without_async_tests_does_not_keep_the_module(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "pytest.ini": STRICT,
            "base.py": "class Base:\n    def helper(self):\n        return 1\n",
            "test_sync.py": """\
                import pytest
                from base import Base

                class TestSync(Base):
                    @pytest.mark.asyncio
                    def test_a(self):  # not async: pytest-asyncio leaves it alone
                        pass
                """,
        },
    )
    assert not _screen(project, "test_sync.py")


def test_circular_re_exports_end(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "pytest.ini": STRICT,
            "a.py": "from b import Base\n",
            "b.py": "from a import Base\n",
            "test_x.py": "from a import Base\n\nclass TestX(Base):\n    pass\n",
        },
    )
    assert not _screen(project, "test_x.py")


def test_a_module_ast_cannot_read_is_kept(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {"pytest.ini": STRICT, "test_broken.py": "async def test_a(:\n    pass\n"},
    )
    assert _screen(project, "test_broken.py")
