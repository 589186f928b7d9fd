"""How many event loops a project's tests run on, judged from the configuration first."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from leaklint.model.loops import loop_use
from leaklint.model.project import Project

SESSION = (
    "[pytest]\nasyncio_mode = auto\nasyncio_default_test_loop_scope = session\n"
    "asyncio_default_fixture_loop_scope = session\n"
)
ASYNC_TEST = "async def test_a():\n    pass\n"
UNITTEST = """\
    import unittest


    class T(unittest.IsolatedAsyncioTestCase):
        async def test_a(self):
            pass
    """


def _project(root: Path, files: dict[str, str], *paths: str) -> Project:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return Project.load([root / p for p in paths] or [root])


@pytest.mark.parametrize(
    ("scope", "per"),
    [("function", "each test"), ("class", "each test class"), ("module", "each test module")],
)
def test_a_default_narrower_than_the_session_loop_is_several_loops(
    tmp_path: Path, scope: str, per: str
) -> None:
    config = f"[pytest]\nasyncio_mode = auto\nasyncio_default_test_loop_scope = {scope}\n"
    project = _project(tmp_path, {"pytest.ini": config, "tests/test_a.py": ASYNC_TEST})
    assert loop_use(project).multiple
    assert loop_use(project).describe() == f"{per} gets its own event loop ({scope} loop scope)"
    assert project.graph is None  # the config alone decided


def test_the_session_loop_for_every_test_and_fixture_is_one_loop(tmp_path: Path) -> None:
    project = _project(tmp_path, {"pytest.ini": SESSION, "tests/test_a.py": ASYNC_TEST})
    assert not loop_use(project).multiple


def test_the_package_loop_is_counted_by_the_graph(tmp_path: Path) -> None:
    """pytest-asyncio 1.x runs every package-loop test on one loop: the graph decides."""
    config = SESSION.replace("test_loop_scope = session", "test_loop_scope = package")
    config = config.replace("fixture_loop_scope = session", "fixture_loop_scope = package")
    project = _project(tmp_path, {"pytest.ini": config, "tests/test_a.py": ASYNC_TEST})
    assert not loop_use(project).multiple


def test_session_marks_count_only_when_the_whole_project_is_linted(tmp_path: Path) -> None:
    marked = (
        "import pytest\n\npytestmark = pytest.mark.asyncio(loop_scope='session')\n\n" + ASYNC_TEST
    )
    files = {"pytest.ini": "[pytest]\nasyncio_mode = auto\n", "tests/test_a.py": marked}
    assert not loop_use(_project(tmp_path, files)).multiple
    assert loop_use(_project(tmp_path, files, "tests/test_a.py")).multiple
    # An async test module that names no session loop: its tests get their own loops.
    other = _project(tmp_path, {"tests/test_b.py": ASYNC_TEST})
    assert loop_use(other).describe().startswith("each test gets its own event loop")


def test_unittest_async_cases_are_several_loops_even_on_a_session_config(tmp_path: Path) -> None:
    files = {"pytest.ini": SESSION, "tests/test_a.py": ASYNC_TEST, "tests/test_u.py": UNITTEST}
    use = loop_use(_project(tmp_path, files))
    assert use.multiple
    assert use.describe() == "each `IsolatedAsyncioTestCase` test gets its own event loop"


def test_anyio_plugin_is_several_loops_unless_disabled(tmp_path: Path) -> None:
    test = "import pytest\n\n\n@pytest.mark.anyio\n" + ASYNC_TEST
    files = {"pytest.ini": "[pytest]\naddopts = -ra\n", "tests/test_a.py": test}
    assert loop_use(_project(tmp_path, files)).multiple
    disabled = {"pytest.ini": "[pytest]\naddopts = -p no:anyio\n"}
    assert not loop_use(_project(tmp_path, disabled)).multiple


def test_no_async_plugin_is_one_loop(tmp_path: Path) -> None:
    files = {"pytest.ini": "[pytest]\n", "tests/test_a.py": "def test_a():\n    pass\n"}
    assert not loop_use(_project(tmp_path, files)).multiple
