"""The fixture graph: fixture resolution across conftest files, effective loops, LL202, and a
differential check against real pytest + pytest-asyncio."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from leaklint.cli import main
from leaklint.diagnostics import Diagnostic, Edit
from leaklint.model.fixture_graph import ResolvedTest, graph_of
from leaklint.model.loops import loop_use
from leaklint.model.project import Project
from leaklint.rules.base import RuleSelection
from leaklint.run.engine import lint

CONFIG = """\
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def project_of(root: Path, files: dict[str, str], mode: str = "auto") -> Project:
    write(root, {"pytest.ini": CONFIG.format(mode=mode), **files})
    return Project.load([root])


def resolved(project: Project) -> dict[str, ResolvedTest]:
    graph = graph_of(project)
    return {
        f"{project.relative(r.test.path).as_posix()}::{r.test.qualified}": r
        for path in graph.test_files
        for r in graph.tests_in(path)
    }


def loops(project: Project) -> dict[str, str | None]:
    return {k: None if r.loop is None else r.loop.scope for k, r in resolved(project).items()}


def ll202(project: Project) -> list[Diagnostic]:
    return lint(project, RuleSelection(select=("LL202",)).rules()).diagnostics


def brief(project: Project, diagnostics: list[Diagnostic]) -> list[tuple[str, int]]:
    return [(project.relative(d.path).as_posix(), d.location.row) for d in diagnostics]


# A project with conftests at three levels, an override by name, an alias, autouse, class
# marks, a pytestmark list, usefixtures, getfixturevalue and a plugin fixture.
LAYERED = {
    "conftest.py": """\
        import pytest
        import pytest_asyncio


        @pytest_asyncio.fixture(scope="session", loop_scope="session")
        async def pool():
            return object()


        @pytest_asyncio.fixture
        async def client():
            return object()


        @pytest.fixture(autouse=True)
        def env():
            return {}
        """,
    "tests/conftest.py": """\
        import pytest
        import pytest_asyncio as pa


        @pa.fixture(scope="session", loop_scope="session")
        async def pool(pool):
            return pool


        @pytest.fixture
        def repo(pool):
            return pool
        """,
    "tests/unit/conftest.py": """\
        import pytest
        import pytest_asyncio


        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def client():
            return object()


        @pytest.fixture(name="cache")
        def _make_cache(repo):
            return repo


        @pytest.fixture(autouse=True)
        def marker(request):
            return request
        """,
    "tests/unit/test_a.py": """\
        import pytest

        pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


        async def test_client(client):
            pass


        async def test_pool(repo):
            pass


        @pytest.mark.usefixtures("cache")
        async def test_usefixtures():
            pass


        async def test_plugin(unused_tcp_port):
            pass


        async def test_dynamic(request):
            request.getfixturevalue("pool")


        @pytest.mark.asyncio(loop_scope="session")
        class TestSession:
            async def test_cache(self, cache):
                pass

            @pytest.mark.asyncio
            async def test_bare_mark(self, cache):
                pass


        class TestClassMark:
            pytestmark = pytest.mark.asyncio(loop_scope="class")

            async def test_in_class(self, client):
                pass


        def test_sync(repo):
            pass


        @pytest.mark.parametrize("client", [1, 2])
        async def test_parametrized(client):
            pass
        """,
    "tests/test_b.py": """\
        async def test_outer_client(client):
            pass
        """,
}


def test_layered_loops(tmp_path: Path) -> None:
    project = project_of(tmp_path, LAYERED)
    assert loops(project) == {
        "tests/test_b.py::test_outer_client": "function",
        "tests/unit/test_a.py::test_client": "module",
        "tests/unit/test_a.py::test_pool": "module",
        "tests/unit/test_a.py::test_usefixtures": "module",
        "tests/unit/test_a.py::test_plugin": "module",
        "tests/unit/test_a.py::test_dynamic": "module",
        "tests/unit/test_a.py::TestSession::test_cache": "session",
        # The nearest asyncio mark wins, even without loop_scope: the default applies.
        "tests/unit/test_a.py::TestSession::test_bare_mark": "function",
        "tests/unit/test_a.py::TestClassMark::test_in_class": "class",
        "tests/unit/test_a.py::test_sync": None,
        "tests/unit/test_a.py::test_parametrized": "module",
    }


def test_layered_resolution(tmp_path: Path) -> None:
    project = project_of(tmp_path, LAYERED)
    tests = resolved(project)

    def uses(key: str) -> dict[str, str]:
        return {
            u.fixture.name: project.relative(u.fixture.path).as_posix() for u in tests[key].uses
        }

    # The nearest definition wins; autouse fixtures of every level come along.
    assert uses("tests/unit/test_a.py::test_client") == {
        "env": "conftest.py",
        "marker": "tests/unit/conftest.py",
        "client": "tests/unit/conftest.py",
    }
    assert uses("tests/test_b.py::test_outer_client") == {
        "env": "conftest.py",
        "client": "conftest.py",
    }
    # `pool` in tests/conftest.py requests its own name: it gets the root one as well.
    pools = [u for u in tests["tests/unit/test_a.py::test_pool"].uses if u.fixture.name == "pool"]
    assert sorted(project.relative(u.fixture.path).as_posix() for u in pools) == [
        "conftest.py",
        "tests/conftest.py",
    ]
    # Alias via name=, usefixtures, getfixturevalue literals.
    assert "cache" in uses("tests/unit/test_a.py::test_usefixtures")
    assert "pool" in uses("tests/unit/test_a.py::test_dynamic")
    # Unknown plugin fixtures are listed, not errors; `request` is pytest's own.
    assert set(tests["tests/unit/test_a.py::test_plugin"].unknown) == {"request", "unused_tcp_port"}
    # A directly parametrized argument is not a fixture.
    assert "client" not in uses("tests/unit/test_a.py::test_parametrized")


def test_layered_ll202(tmp_path: Path) -> None:
    project = project_of(tmp_path, LAYERED)
    found = ll202(project)
    by_line = {d.location.row: d.message for d in found}
    assert brief(project, found) == [
        ("tests/unit/test_a.py", 10),
        ("tests/unit/test_a.py", 15),
        ("tests/unit/test_a.py", 23),
        ("tests/unit/test_a.py", 33),
        ("tests/unit/test_a.py", 40),
    ]
    assert by_line[10] == (
        "test_pool runs on the module loop but uses `pool` (via `repo`), "
        "set up on the session loop at tests/conftest.py:6"
    )
    assert "`pool` (via `cache`, `repo`)" in by_line[15]
    assert by_line[23].startswith("test_dynamic runs on the module loop but uses `pool`")
    assert by_line[33].startswith("test_bare_mark runs on the function loop but uses `pool`")
    assert by_line[40].startswith(
        "test_in_class runs on the class loop but uses `client`, set up on the module loop"
    )


def test_strict_mode_only_counts_pytest_asyncio_things(tmp_path: Path) -> None:
    files = {
        "conftest.py": """\
            import pytest
            import pytest_asyncio


            @pytest.fixture(scope="session")
            async def plain():  # strict mode: pytest-asyncio leaves it alone
                return object()


            @pytest_asyncio.fixture(scope="session", loop_scope="session")
            async def marked():
                return object()
            """,
        "test_s.py": """\
            import pytest


            async def test_unmarked(marked):
                pass


            @pytest.mark.asyncio
            async def test_plain(plain):
                pass


            @pytest.mark.asyncio
            async def test_marked(marked):
                pass
            """,
    }
    project = project_of(tmp_path, files, mode="strict")
    assert loops(project) == {
        "test_s.py::test_unmarked": None,
        "test_s.py::test_plain": "function",
        "test_s.py::test_marked": "function",
    }
    assert brief(project, ll202(project)) == [("test_s.py", 14)]


def test_fixture_using_fixture_on_another_loop(tmp_path: Path) -> None:
    files = {
        "conftest.py": """\
            import pytest_asyncio


            @pytest_asyncio.fixture(scope="session", loop_scope="session")
            async def pool():
                return object()


            @pytest_asyncio.fixture
            async def conn(pool):
                return pool


            @pytest_asyncio.fixture(loop_scope="session")
            async def good(pool):
                return pool
            """,
        "test_f.py": """\
            async def test_conn(conn):
                pass


            async def test_again(conn, good):
                pass
            """,
    }
    project = project_of(tmp_path, files)
    found = ll202(project)
    # One finding for the fixture (not one per test); the tests' own fixtures are on... their
    # loop for `conn`, and `good` is on the session loop: test_again gets a finding of its own.
    assert brief(project, found) == [("conftest.py", 10), ("test_f.py", 5)]
    assert found[0].message == (
        "async fixture `conn` runs on the function loop but uses `pool`, "
        "set up on the session loop at conftest.py:5"
    )


def test_cycle_and_self_request_without_parent(tmp_path: Path) -> None:
    files = {
        "conftest.py": """\
            import pytest


            @pytest.fixture
            def a(b):
                return object()


            @pytest.fixture
            def b(a):
                return object()


            @pytest.fixture
            def lonely(lonely):
                return object()
            """,
        "test_c.py": """\
            async def test_cycle(a, lonely):
                pass
            """,
    }
    project = project_of(tmp_path, files)
    test = resolved(project)["test_c.py::test_cycle"]
    assert sorted(u.fixture.name for u in test.uses) == ["a", "b", "lonely"]
    assert ll202(project) == []


def test_module_finding_and_fixes(tmp_path: Path) -> None:
    files = {
        "conftest.py": """\
            import pytest_asyncio


            @pytest_asyncio.fixture(scope="session", loop_scope="session")
            async def pool():
                return object()
            """,
        "test_all.py": """\
            import pytest


            async def test_one(pool):
                pass


            @pytest.mark.slow
            async def test_two(pool):
                pass
            """,
        "test_marked.py": """\
            import pytest as pt

            pytestmark = pt.mark.asyncio


            async def test_one(pool):
                pass


            async def test_two(pool):
                pass
            """,
        "test_some.py": """\
            import pytest


            async def test_one(pool):
                pass


            @pytest.mark.asyncio(loop_scope="function")
            async def test_two(pool):
                pass


            async def test_fine():
                pass
            """,
    }
    project = project_of(tmp_path, files)
    found = ll202(project)
    assert brief(project, found) == [
        ("test_all.py", 4),
        ("test_marked.py", 3),
        ("test_some.py", 4),
        ("test_some.py", 9),
    ]
    assert found[0].message.startswith("all 2 async tests in this module run on function loops")
    fixed = apply_fixes(found)
    assert fixed[tmp_path / "test_all.py"].startswith(
        'import pytest\n\n\npytestmark = pytest.mark.asyncio(loop_scope="session")\n\n\n'
        "async def test_one(pool):"
    )
    assert (
        'pytestmark = pt.mark.asyncio(loop_scope="session")\n' in fixed[tmp_path / "test_marked.py"]
    )
    some = fixed[tmp_path / "test_some.py"]
    assert '@pytest.mark.asyncio(loop_scope="session")\nasync def test_one(pool):' in some
    assert '@pytest.mark.asyncio(loop_scope="session")\nasync def test_two(pool):' in some
    for path, text in fixed.items():
        path.write_text(text, encoding="utf-8")
    assert ll202(Project.load([tmp_path])) == []


def test_fix_extends_pytestmark_list(tmp_path: Path) -> None:
    files = {
        "conftest.py": """\
            import pytest_asyncio


            @pytest_asyncio.fixture(scope="module", loop_scope="module")
            async def pool():
                return object()
            """,
        "test_l.py": """\
            import pytest

            pytestmark = [pytest.mark.slow]


            async def test_one(pool):
                pass


            async def test_two(pool):
                pass
            """,
    }
    project = project_of(tmp_path, files)
    fixed = apply_fixes(ll202(project))
    assert (
        'pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]'
        in fixed[tmp_path / "test_l.py"]
    )


def test_pytest_plugins_of_the_project(tmp_path: Path) -> None:
    # Checked against pytest 9.2: a conftest's fixtures beat any plugin's, and among plugins
    # the one registered last (a plugin named by another plugin) wins.
    files = {
        "conftest.py": """\
            pytest_plugins = ["tests.plugins.db", "some_installed_plugin"]
            """,
        "tests/plugins/__init__.py": "",
        "tests/plugins/db.py": """\
            import pytest_asyncio

            pytest_plugins = "tests.plugins.more"


            @pytest_asyncio.fixture(scope="session", loop_scope="session")
            async def database():
                return object()


            @pytest_asyncio.fixture(scope="session", loop_scope="session")
            async def pool():
                return object()
            """,
        "tests/plugins/more.py": """\
            import pytest


            @pytest.fixture
            def database():  # registered after db.py's: this one wins
                return object()


            @pytest.fixture
            def helper(database, pool):
                return database
            """,
        "tests/conftest.py": """\
            import pytest


            @pytest.fixture
            def pool():  # a conftest beats every plugin
                return object()
            """,
        "tests/test_p.py": """\
            async def test_db(helper):
                pass
            """,
    }
    project = project_of(tmp_path, files)
    test = resolved(project)["tests/test_p.py::test_db"]
    assert [(u.fixture.name, u.fixture.path.name) for u in test.uses] == [
        ("helper", "more.py"),
        ("database", "more.py"),
        ("pool", "conftest.py"),
    ]
    assert ll202(project) == []
    (tmp_path / "tests" / "conftest.py").unlink()
    project = Project.load([tmp_path])
    [finding] = ll202(project)
    assert "uses `pool` (via `helper`), set up on the session loop at " in finding.message
    assert finding.message.endswith("tests/plugins/db.py:12")


def test_what_modules_share_still_names_the_files_it_was_read_from(tmp_path: Path) -> None:
    # The findings cache keys each test module's findings on the files its analysis read: a
    # module served from what an earlier module resolved must note the plugin module too.
    files = {
        "conftest.py": "pytest_plugins = ['shared']\n",
        "shared.py": """\
            import pytest_asyncio


            @pytest_asyncio.fixture(scope="session", loop_scope="session")
            async def pool():
                return object()
            """,
        "own.py": """\
            import pytest


            @pytest.fixture
            def helper(pool):
                return pool
            """,
        "tests/test_a.py": """\
            pytest_plugins = ["own"]


            async def test_a(helper):
                pass
            """,
        "tests/test_b.py": """\
            pytest_plugins = ["own"]


            async def test_b(helper):
                pass
            """,
        "tests/test_c.py": """\
            async def test_c(pool):
                pass
            """,
    }
    project = project_of(tmp_path, files)
    graph = graph_of(project)
    shared, own = tmp_path / "shared.py", tmp_path / "own.py"
    for name, expected in (
        ("test_a", {shared, own}),
        ("test_b", {shared, own}),
        ("test_c", {shared}),
    ):
        path = tmp_path / "tests" / f"{name}.py"
        project.access_log = set()
        for test in graph.tests_in(path):
            graph.cross_loop(test)
        assert project.access_log - {path} - project.conftest_set == expected, name
    project.access_log = None


def test_class_fixtures_and_base_classes(tmp_path: Path) -> None:
    files = {
        "test_k.py": """\
            import pytest_asyncio


            class Base:
                @pytest_asyncio.fixture(scope="class", loop_scope="class")
                async def shared(self):
                    return object()


            class TestChild(Base):
                async def test_inherited(self, shared):
                    pass


            class TestOther:
                @pytest_asyncio.fixture(loop_scope="session")
                async def private(self):
                    return object()


            async def test_module_level(shared, private):
                pass
            """,
    }
    project = project_of(tmp_path, files)
    tests = resolved(project)
    assert [u.fixture.name for u in tests["test_k.py::TestChild::test_inherited"].uses] == [
        "shared"
    ]
    # Class fixtures are not visible outside their class (or its subclasses).
    assert set(tests["test_k.py::test_module_level"].unknown) == {"shared", "private"}
    [finding] = ll202(project)
    assert finding.message == (
        "test_inherited runs on the function loop but uses `shared`, "
        "set up on the class loop at test_k.py:6"
    )


def test_no_fix_when_fixtures_need_two_loops(tmp_path: Path) -> None:
    files = {
        "conftest.py": """\
            import pytest_asyncio


            @pytest_asyncio.fixture(scope="session", loop_scope="session")
            async def pool():
                return object()


            @pytest_asyncio.fixture
            async def conn():
                return object()
            """,
        "test_two.py": """\
            async def test_both(pool, conn):
                pass
            """,
    }
    project = project_of(tmp_path, files)
    [finding] = ll202(project)
    # Moving the test to the session loop would strand `conn` on another loop instead.
    assert finding.fix is None
    assert finding.help is not None


def apply_fixes(diagnostics: list[Diagnostic]) -> dict[Path, str]:
    """Apply every fix's edits (end of file first) and return the new texts."""
    edits: dict[Path, list[Edit]] = {}
    for diagnostic in diagnostics:
        assert diagnostic.fix is not None, diagnostic.message
        for edit in diagnostic.fix.edits:
            edits.setdefault(edit.path, []).append(edit)
    result: dict[Path, str] = {}
    for path, items in edits.items():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line))
        text = "".join(lines)
        for edit in sorted(items, key=lambda e: e.start, reverse=True):
            start = starts[edit.start.row - 1] + edit.start.column - 1
            end = starts[edit.end.row - 1] + edit.end.column - 1
            text = text[:start] + edit.content + text[end:]
        compile(text, str(path), "exec")
        result[path] = text
    return result


def test_loop_use(tmp_path: Path) -> None:
    one = tmp_path / "one"
    project = project_of(
        one,
        {
            "test_s.py": """\
                import pytest

                pytestmark = pytest.mark.asyncio(loop_scope="session")


                async def test_a():
                    pass


                async def test_b():
                    pass
                """
        },
    )
    assert not loop_use(project).multiple
    # Linted in part, the project may hold tests the marks do not put on the session loop.
    (one / "tests").mkdir()
    (one / "tests" / "test_t.py").write_text("def test_sync():\n    pass\n")
    assert loop_use(Project.load([one / "tests"])).multiple
    many = project_of(tmp_path / "many", LAYERED)
    assert loop_use(many).multiple
    assert loop_use(many).describe() == "each test gets its own event loop (function loop scope)"
    # Marks alone decide only where the config's default is the session loop.
    counted = project_of(tmp_path / "counted", LAYERED)
    config = counted.root / "pytest.ini"
    config.write_text(config.read_text() + "asyncio_default_test_loop_scope = session\n")
    counted = Project.load([counted.root])
    assert loop_use(counted).multiple
    assert loop_use(counted).describe().startswith("the tests run on ")


def test_fixtures_command(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": CONFIG.format(mode="auto"), **LAYERED})
    result = CliRunner().invoke(main, ["fixtures", str(tmp_path / "tests" / "unit" / "test_a.py")])
    assert result.exit_code == 0, result.output
    block = result.output.split("\n\n")[1]
    assert block.splitlines()[0] == "tests/unit/test_a.py::test_pool  [module loop]"
    other = r"pool +scope=session +loop=session \(not the test's loop\) +conftest.py:6"
    assert re.search(other, block)
    assert re.search(r"repo +scope=function +sync +tests/conftest.py:11", block)
    assert re.search(r"marker +scope=function +sync +tests/unit/conftest.py:\d+", block)
    plugin = result.output.split("\n\n")[3]
    assert plugin.splitlines()[0] == "tests/unit/test_a.py::test_plugin  [module loop]"
    assert re.search(r"unused_tcp_port +plugin or built-in", plugin)
    assert "test_sync  [no loop (sync test)]" in result.output


def test_fixtures_command_json(tmp_path: Path) -> None:
    write(tmp_path, {"pytest.ini": CONFIG.format(mode="auto"), **LAYERED})
    result = CliRunner().invoke(
        main, ["fixtures", "--output-format", "json", str(tmp_path / "tests")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (project,) = data["projects"]
    assert project["root"] == tmp_path.resolve().as_posix()
    tests = {t["node_id"]: t for t in project["tests"]}
    pool = tests["tests/unit/test_a.py::test_pool"]
    assert pool["loop"] == {
        "status": "known",
        "scope": "module",
        "key": "module:tests/unit/test_a.py",
    }
    by_name: dict[str, dict[str, object]] = {}
    for fixture in pool["fixtures"]:
        by_name.setdefault(fixture["name"], fixture)  # the nearest `pool` (it overrides one)
    # The session pool (reached through the sync repo) is on another loop; repo on none.
    assert by_name["pool"]["loop"] == "different"
    assert by_name["pool"]["loop_key"] == "session:"
    assert by_name["pool"]["via"] == ["repo"]
    assert by_name["repo"]["loop"] is None and by_name["repo"]["loop_scope"] is None
    client = tests["tests/unit/test_a.py::test_client"]
    (same,) = (f for f in client["fixtures"] if f["name"] == "client")
    assert same["loop"] == "same" and same["path"] == "tests/unit/conftest.py"
    assert same["function"] == "client"
    # Two tests of one module share the module loop: the same key.
    assert client["loop"]["key"] == pool["loop"]["key"]
    klass = tests["tests/unit/test_a.py::TestClassMark::test_in_class"]
    assert klass["loop"]["key"] == "class:tests/unit/test_a.py::TestClassMark"
    assert tests["tests/unit/test_a.py::test_sync"]["loop"]["status"] == "sync"
    sync_pool = tests["tests/unit/test_a.py::test_sync"]["fixtures"]
    assert {f["name"]: f["loop"] for f in sync_pool}["pool"] is None
    assert "unused_tcp_port" in tests["tests/unit/test_a.py::test_plugin"]["unknown"]


# --------------------------------------------------------------------------- differential

PACKAGE_TEST = """\
import pytest


async def settle(loop):
    fut = loop.create_future()
    loop.call_soon(fut.set_result, 1)
    return await fut


@pytest.mark.asyncio(loop_scope="package")
async def test_package_loop(package_loop):
    assert await settle(package_loop) == 1


async def test_function_loop(package_loop):
    assert await settle(package_loop) == 1
"""

DIFFERENTIAL = {
    "conftest.py": """\
        import asyncio

        import pytest_asyncio


        @pytest_asyncio.fixture(loop_scope="session")
        async def future():
            # A fresh pending future per test, made on the session loop.
            return asyncio.get_running_loop().create_future()


        @pytest_asyncio.fixture(scope="session", loop_scope="session")
        async def queue():
            # A queue bound to the session loop by a waiting getter.
            q = asyncio.Queue()
            waiter = asyncio.ensure_future(q.get())
            await asyncio.sleep(0)
            yield q
            waiter.cancel()


        @pytest_asyncio.fixture
        async def local_future():
            return asyncio.get_running_loop().create_future()


        @pytest_asyncio.fixture
        async def chained(future):
            # Set up on the function loop, awaiting a future of the session loop.
            asyncio.get_running_loop().call_soon(future.set_result, 1)
            return await future


        @pytest_asyncio.fixture(loop_scope="session")
        async def chained_on_session(future):
            asyncio.get_running_loop().call_soon(future.set_result, 1)
            return await future


        @pytest_asyncio.fixture(scope="package", loop_scope="package")
        async def package_loop():
            # Cached once: this conftest is not in a package. Made on the package loop.
            return asyncio.get_running_loop()
        """,
    "pkg_a/__init__.py": "",
    "pkg_b/__init__.py": "",
    "pkg_a/test_pa.py": PACKAGE_TEST,
    "pkg_b/test_pb.py": PACKAGE_TEST,
    "test_diff.py": """\
        import asyncio

        import pytest


        async def resolve(fut):
            asyncio.get_running_loop().call_soon(fut.set_result, 1)
            return await fut


        async def test_function_loop_future(future):
            assert await resolve(future) == 1


        @pytest.mark.asyncio(loop_scope="session")
        async def test_session_loop_future(future):
            assert await resolve(future) == 1


        async def test_function_loop_queue(queue):
            asyncio.get_running_loop().call_later(0.01, queue.put_nowait, 2)
            assert await queue.get() == 2


        @pytest.mark.asyncio(loop_scope="session")
        async def test_session_loop_queue(queue):
            await queue.put(3)
            await queue.put(3)
            assert await asyncio.wait_for(queue.get(), 5) == 3


        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop_local(local_future):
            assert await resolve(local_future) == 1


        async def test_function_loop_local(local_future):
            assert await resolve(local_future) == 1


        async def test_chained(chained):
            assert chained == 1


        @pytest.mark.asyncio(loop_scope="session")
        async def test_chained_on_session(chained_on_session):
            assert chained_on_session == 1


        class TestClassLoop:
            pytestmark = pytest.mark.asyncio(loop_scope="session")

            async def test_in_class(self, future):
                assert await resolve(future) == 1
        """,
}


def test_differential_against_pytest(tmp_path: Path) -> None:
    project = project_of(tmp_path, DIFFERENTIAL)
    flagged = {(d.path, d.location.row) for d in ll202(project)}

    def fails(test: ResolvedTest) -> bool:
        # Flagged itself, or sets up an async fixture that is flagged (it errors in setup).
        nodes = [
            (test.test.path, test.test.node),
            *((u.fixture.path, u.fixture.node) for u in test.uses),
        ]
        return any((path, _line(project, path, node)) in flagged for path, node in nodes)

    predicted = {key: "failed" if fails(r) else "passed" for key, r in resolved(project).items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
            "-p",
            "no:randomly",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    outcomes = {
        m["test"]: m["outcome"].lower().replace("error", "failed")
        for m in re.finditer(r"^(?P<outcome>PASSED|FAILED|ERROR) (?P<test>\S+)", run.stdout, re.M)
    }
    assert set(outcomes) == set(predicted), run.stdout
    assert outcomes == predicted, run.stdout
    assert "attached to a different loop" in run.stdout or "different event loop" in run.stdout
    # Both kinds of outcome are present, so the comparison means something.
    assert set(predicted.values()) == {"passed", "failed"}


def _line(project: Project, path: Path, node: cst.FunctionDef) -> int:
    source = project.source(path)
    assert not isinstance(source, OSError)
    return source.range_of(node.name)[0].row


@pytest.mark.parametrize("mode", ["auto", "strict"])
def test_asyncio_disabled_means_no_loops(tmp_path: Path, mode: str) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": CONFIG.format(mode=mode) + "addopts = -p no:asyncio\n",
            "test_x.py": "import pytest\n\n@pytest.mark.asyncio\nasync def test_a():\n    pass\n",
        },
    )
    project = Project.load([tmp_path])
    assert loops(project) == {"test_x.py::test_a": None}


TRICKY = '''\
"""Doc."""
import pytest

pytestmark = [pytest.mark.slow]

ñame = "é"; x = 1


@pytest.fixture
@ pytest.mark.x
async def fixture_é():
    def inner():
        def deeper(): pass
    return inner


try:
    def in_try(): pass
except ValueError:
    def in_except(): pass
else:
    def in_else(): pass
finally:
    def in_finally(): pass

if x:
    def in_if(): pass
elif x:
    def in_elif(): pass
else:
    def in_if_else(): pass

match x:
    case 1:
        def in_case(): pass


class TestK:
    @pytest.mark.asyncio(loop_scope="class")
    async def test_method(self): request.getfixturevalue("a"); request.getfixturevalue("b")

    class TestInner:
        def test_inner(self): pass
'''


def test_locator_matches_libcst_positions(tmp_path: Path) -> None:
    from leaklint.model.locate import Locator, _cst_defs

    path = tmp_path / "test_tricky.py"
    path.write_text(TRICKY, encoding="utf-8")
    project = Project.load([tmp_path])
    source = project.source(path)
    assert not isinstance(source, OSError) and source.module is not None
    locator = Locator(source)
    funcs = list(_cst_defs(source.module))
    assert len(funcs) == 13
    for func in funcs:
        assert locator.name_range(func) == source.range_of(func.name), func.name.value
        first = func.decorators[0] if func.decorators else func
        assert locator.start(func) == source.range_of(first)[0], func.name.value
        for index, decorator in enumerate(func.decorators):
            assert locator.decorator_range(func, index) == source.range_of(decorator.decorator)
    method = next(f for f in funcs if f.name.value == "test_method")
    assert locator.requested_by_value(method) == ("a", "b")
    assert locator.requested_by_value(funcs[0]) == ()
    twin = locator.pytestmark()
    assert twin is not None
    assert locator.range(twin)[0].row == 4
    assert locator.after_imports() == source.range_of(source.module.body[2])[0]


# --------------------------------------------------------------------------- issue #16


def test_closest_asyncio_mark_in_pytests_order(tmp_path: Path) -> None:
    """Decorators apply bottom up (the one nearest the def is closest); a class body's
    ``pytestmark`` comes before the class's decorators."""
    project = project_of(
        tmp_path,
        {
            "test_marks.py": """\
                import pytest


                @pytest.mark.asyncio(loop_scope="module")
                @pytest.mark.asyncio(loop_scope="session")
                async def test_stacked():
                    pass


                @pytest.mark.asyncio(loop_scope="module")
                class TestBodyFirst:
                    pytestmark = pytest.mark.asyncio(loop_scope="session")

                    async def test_body(self):
                        pass

                    @pytest.mark.asyncio(loop_scope="class")
                    async def test_own(self):
                        pass
                """
        },
        mode="strict",
    )
    assert loops(project) == {
        "test_marks.py::test_stacked": "session",
        "test_marks.py::TestBodyFirst::test_body": "session",
        "test_marks.py::TestBodyFirst::test_own": "class",
    }


def test_values_none_constants_and_unknowns(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "test_values.py": """\
                import os

                import pytest
                import pytest_asyncio

                LOOP = "session"
                TWICE = "module"
                TWICE = "session"
                FROM_ENV = os.environ.get("X", "module")


                @pytest_asyncio.fixture(scope=LOOP, loop_scope=LOOP)
                async def pool():
                    return object()


                @pytest_asyncio.fixture(loop_scope=FROM_ENV)
                async def unknown():
                    return object()


                @pytest.mark.asyncio(loop_scope=None)
                async def test_none(pool):
                    pass


                @pytest.mark.asyncio(loop_scope=LOOP)
                async def test_constant(pool, unknown):
                    pass


                @pytest.mark.asyncio(loop_scope=TWICE)
                async def test_twice(pool):
                    pass
                """
        },
    )
    tests = resolved(project)
    assert loops(project) == {
        "test_values.py::test_none": "function",
        "test_values.py::test_constant": "session",
        "test_values.py::test_twice": None,
    }
    graph = graph_of(project)
    fixtures = {u.fixture.name: u.fixture for u in tests["test_values.py::test_constant"].uses}
    assert graph.fixture_loop_scope(fixtures["pool"]) == "session"
    assert fixtures["pool"].scope == "session"
    assert graph.fixture_loop_scope(fixtures["unknown"]) is None  # a loop it cannot read
    assert tests["test_values.py::test_twice"].asyncio  # run by pytest-asyncio, loop unknown
    # LL202: the function-loop test is reported, the constant and unknown ones are not.
    assert [d.location.row for d in ll202(project)] == [23]


def test_fixture_decorator_aliases(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "conftest.py": """\
                import pytest_asyncio
                from pytest_asyncio import fixture

                session_fixture = pytest_asyncio.fixture(scope="session", loop_scope="session")
                narrow = fixture(loop_scope="function")
                not_an_alias = print


                @session_fixture
                async def database():
                    return object()


                @narrow
                async def private():
                    return object()
                """,
            "test_alias.py": """\
                async def test_uses(database, private):
                    pass
                """,
        },
    )
    graph = graph_of(project)
    (test,) = resolved(project).values()
    scopes = {
        u.fixture.name: (u.fixture.scope, graph.fixture_loop_scope(u.fixture)) for u in test.uses
    }
    # Only the session-loop database is on another loop than the function-loop test.
    assert scopes == {"database": ("session", "session"), "private": ("function", "function")}
    assert [c.use.fixture.name for c in graph.cross_loop(test)[0]] == ["database"]


def test_plugins_from_addopts_and_usefixtures_ini(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pytest.ini": CONFIG.format(mode="auto")
            + "pythonpath = .\n"
            + "addopts = -ra -p myplugin -p no:cacheprovider\n"
            + "usefixtures = seeded\n",
            "myplugin.py": """\
                import pytest_asyncio


                @pytest_asyncio.fixture(scope="session", loop_scope="session")
                async def service():
                    return object()


                @pytest_asyncio.fixture(scope="session", loop_scope="session")
                async def seeded():
                    return object()
                """,
            "tests/test_uses.py": """\
                import pytest


                async def test_function_loop(service):
                    pass


                @pytest.mark.asyncio(loop_scope="session")
                async def test_session_loop(service):
                    pass
                """,
        },
    )
    project = Project.load([tmp_path])
    tests = resolved(project)
    on_function = tests["tests/test_uses.py::test_function_loop"]
    assert on_function.requested[0] == "seeded"
    assert {u.fixture.name for u in on_function.uses} == {"seeded", "service"}
    assert on_function.unknown == ()
    # The function-loop test uses both session fixtures; the session-loop test neither.
    assert brief(project, ll202(project)) == [("tests/test_uses.py", 4)]


def test_class_hierarchies_across_modules(tmp_path: Path) -> None:
    """Test methods, fixtures and marks inherited from a base in another module are collected
    under the subclass; the base's marks come first (pytest reads the MRO from the far end)."""
    project = project_of(
        tmp_path,
        {
            "tests/base.py": """\
                import pytest
                import pytest_asyncio


                @pytest.mark.asyncio(loop_scope="session")
                class BaseSuite:
                    @pytest_asyncio.fixture(scope="session", loop_scope="session")
                    async def engine(self):
                        return object()

                    @pytest_asyncio.fixture
                    async def conn(self):
                        return object()

                    async def test_engine(self, engine):
                        pass

                    async def test_conn(self, conn):
                        pass
                """,
            "tests/test_suite.py": """\
                import pytest
                from base import BaseSuite


                class TestPostgres(BaseSuite):
                    async def test_conn(self, engine):
                        pass


                @pytest.mark.asyncio(loop_scope="module")
                class TestSqlite(BaseSuite):
                    pass


                class TestHasInit(BaseSuite):
                    def __init__(self):
                        pass
                """,
        },
        mode="strict",
    )
    assert loops(project) == {
        "tests/test_suite.py::TestPostgres::test_conn": "session",
        "tests/test_suite.py::TestPostgres::test_engine": "session",
        "tests/test_suite.py::TestSqlite::test_engine": "session",
        "tests/test_suite.py::TestSqlite::test_conn": "session",
    }
    tests = resolved(project)
    inherited = tests["tests/test_suite.py::TestSqlite::test_conn"]
    assert inherited.test.inherited and inherited.test.source_path.name == "base.py"
    assert [u.fixture.name for u in inherited.uses] == ["conn"]
    own = tests["tests/test_suite.py::TestPostgres::test_conn"]
    assert not own.test.inherited and [u.fixture.name for u in own.uses] == ["engine"]
    # The session-loop tests use the function-loop `conn`: reported at the base's method,
    # once per class that runs it, named with that class, with no fix.
    found = ll202(project)
    assert sorted(d.message.split(" ")[0] for d in found) == ["TestSqlite::test_conn"]
    assert [(project.relative(d.path).as_posix(), d.fix) for d in found] == [
        ("tests/base.py", None)
    ]
