"""LL301-LL304: their fixes applied to real text, and the split between LL301 and LL304."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import textwrap
from pathlib import Path

import libcst
import pytest

from leaklint.diagnostics import Diagnostic, Edit
from leaklint.model.project import Project
from leaklint.model.resources import CLOSING_METHODS, RESOURCES, TOKENS, opened_resource
from leaklint.python.source import ImportMap
from leaklint.rules.base import RuleSelection
from leaklint.run.engine import lint

CONFIG = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
TWO_LOOPS = "async def test_a(x=None):\n    pass\n\n\nasync def test_b():\n    pass\n"


def run(
    tmp_path: Path, files: dict[str, str], select: str = "LL3", config: str = CONFIG
) -> list[Diagnostic]:
    (tmp_path / "pytest.ini").write_text(config)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    project = Project.load([tmp_path])
    result = lint(project, RuleSelection(select=(select,)).rules())
    assert not result.internal_errors
    return result.diagnostics


def apply(text: str, edits: tuple[Edit, ...]) -> str:
    lines = text.split("\n")

    def offset(row: int, column: int) -> int:
        return sum(len(line) + 1 for line in lines[: row - 1]) + column - 1

    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        start = offset(edit.start.row, edit.start.column)
        end = offset(edit.end.row, edit.end.column)
        text = text[:start] + edit.content + text[end:]
    return text


def fixed(tmp_path: Path, name: str, diagnostic: Diagnostic) -> str:
    assert diagnostic.fix is not None
    result = apply((tmp_path / name).read_text(), diagnostic.fix.edits)
    ast.parse(result)
    return result


def test_ll301_fix_makes_function_fixture_async(tmp_path: Path) -> None:
    conftest = """\
        import asyncio
        import pytest
        import pytest_asyncio


        @pytest.fixture
        def reader():
            return asyncio.StreamReader()
        """
    (found,) = run(tmp_path, {"conftest.py": conftest})
    assert found.code == "LL301"
    assert found.fix is not None and found.fix.applicability.value == "unsafe"
    assert "@pytest_asyncio.fixture\nasync def reader():" in fixed(tmp_path, "conftest.py", found)


def test_ll301_fix_adds_loop_scope_and_import(tmp_path: Path) -> None:
    conftest = """\
        from asyncio import Future
        import pytest


        @pytest.fixture(scope="session", autouse=True)
        def future():
            return Future()
        """
    (found,) = run(tmp_path, {"conftest.py": conftest})
    result = fixed(tmp_path, "conftest.py", found)
    assert "import pytest\nimport pytest_asyncio\n" in result
    assert (
        '@pytest_asyncio.fixture(scope="session", autouse=True, loop_scope="session")\n'
        "async def future():" in result
    )


def test_ll301_fix_is_carried_once_per_fixture(tmp_path: Path) -> None:
    conftest = """\
        import asyncio
        import pytest


        @pytest.fixture
        def pair():
            return asyncio.Future(), asyncio.StreamReader()
        """
    found = run(tmp_path, {"conftest.py": conftest})
    assert [d.code for d in found] == ["LL301", "LL301"]
    assert [d.fix is not None for d in found] == [True, False]


def test_get_event_loop_create_future_is_reported_once(tmp_path: Path) -> None:
    conftest = """\
        import asyncio
        import pytest


        @pytest.fixture
        def future():
            return asyncio.get_event_loop().create_future()


        @pytest.fixture
        def loop():
            return asyncio.get_event_loop()
        """
    found = run(tmp_path, {"conftest.py": conftest})
    assert [(d.code, d.location.row) for d in found] == [("LL301", 7), ("LL304", 12)]


def test_lazy_objects_need_several_loops(tmp_path: Path) -> None:
    conftest = """\
        import asyncio
        import pytest


        @pytest.fixture(scope="session")
        def queue():
            return asyncio.Queue()
        """
    one_test = {"conftest.py": conftest, "test_x.py": "async def test_a(queue):\n    pass\n"}
    # One visible async test is no proof of one loop: each test gets its own.
    (found,) = run(tmp_path, one_test)
    assert found.message.endswith(
        "outlives the function-scoped loop that first uses it: each test gets its own event "
        "loop (function loop scope)"
    )
    assert found.fix is None
    # Every test on the session loop, by the config: the session fixture outlives no loop.
    session = CONFIG + "asyncio_default_test_loop_scope = session\n"
    assert run(tmp_path, {**one_test, "test_y.py": TWO_LOOPS}, config=session) == []


def test_ll303_adds_teardown_after_yield(tmp_path: Path) -> None:
    conftest = """\
        import pytest_asyncio
        from aiosqlite import connect


        @pytest_asyncio.fixture
        async def db():
            conn = await connect(":memory:")
            yield conn  # the test runs here
            print("after")
        """
    (found,) = run(tmp_path, {"conftest.py": conftest})
    assert found.fix is not None and found.fix.applicability.value == "safe"
    assert (
        '    yield conn  # the test runs here\n    await conn.close()\n    print("after")'
        in fixed(tmp_path, "conftest.py", found)
    )


def test_ll303_return_becomes_yield_and_teardown(tmp_path: Path) -> None:
    conftest = """\
        import httpx
        import pytest_asyncio


        @pytest_asyncio.fixture
        async def client():
            client = httpx.AsyncClient()
            return client
        """
    (found,) = run(tmp_path, {"conftest.py": conftest})
    assert found.fix is not None and found.fix.applicability.value == "unsafe"
    assert "    yield client\n    await client.aclose()\n" in fixed(tmp_path, "conftest.py", found)


def test_ll303_sync_fixture_gets_advice_not_an_await(tmp_path: Path) -> None:
    conftest = """\
        import httpx
        import pytest


        @pytest.fixture
        def client():
            client = httpx.AsyncClient()
            yield client
        """
    (found,) = run(tmp_path, {"conftest.py": conftest})
    assert found.fix is None and found.help is not None


def test_ll304_run_until_complete_chain_becomes_asyncio_run(tmp_path: Path) -> None:
    test = """\
        import asyncio as aio


        async def work():
            return 1


        def test_work():
            assert aio.get_event_loop().run_until_complete(work()) == 1
        """
    (found,) = run(tmp_path, {"test_work.py": test})
    assert found.code == "LL304"
    assert "assert aio.run(work()) == 1" in fixed(tmp_path, "test_work.py", found)


def test_ll304_leaves_sync_application_code_alone(tmp_path: Path) -> None:
    app = """\
        import asyncio


        def current():
            return asyncio.get_event_loop()
        """
    assert run(tmp_path, {"app/util.py": app}) == []


def test_resource_table_is_consistent() -> None:
    for resource in RESOURCES.values():
        assert set(resource.closes) <= CLOSING_METHODS
        assert resource.constructor.split(".")[0].encode() in TOKENS
        assert resource.kind and resource.close.isidentifier()
        assert all(part.isidentifier() for part in resource.constructor.split("."))


def _spellings(constructor: str) -> list[str]:
    """Ways a file calls ``constructor``: the module imported, the name imported from it, and
    (for ``Class.method``) the class imported and its method called."""
    module, _, name = constructor.rpartition(".")
    found = [f"import {module}\n{constructor}()\n", f"from {module} import {name}\n{name}()\n"]
    owner, _, cls = module.rpartition(".")
    if owner and cls[:1].isupper():
        found.append(f"from {owner} import {cls}\n{cls}.{name}()\n")
    return found


@pytest.mark.parametrize("constructor", sorted(RESOURCES))
def test_every_resource_entry_resolves(constructor: str) -> None:
    """Every row is reachable from the import forms that call it, and names a real callable
    where its library is installed."""
    for text in _spellings(constructor):
        module = libcst.parse_module(text)
        imports = ImportMap.from_module(module)
        statement = module.body[-1]
        assert isinstance(statement, libcst.SimpleStatementLine)
        expr = statement.body[0]
        assert isinstance(expr, libcst.Expr)
        found = opened_resource(imports, libcst.Await(expr.value))
        assert found is not None and found[1] is RESOURCES[constructor], text
    top = constructor.split(".")[0]
    if importlib.util.find_spec(top) is None:
        return
    parts = constructor.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            target = getattr(target, attr)
        assert callable(target)
        return
    pytest.fail(f"{constructor} does not import")


def test_ll301_follows_relative_and_module_imports(tmp_path: Path) -> None:
    client = """\
        import asyncio


        class Client:
            def __init__(self):
                self.reader = asyncio.StreamReader()
        """
    conftest = """\
        import pytest

        from . import client as client_module
        from .client import Client


        @pytest.fixture
        def one():
            return Client()


        @pytest.fixture
        def two():
            return client_module.Client()
        """
    found = run(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/client.py": client, "pkg/conftest.py": conftest},
        select="LL301",
    )
    assert [(d.location.row, "pkg/client.py:6" in d.message) for d in found] == [
        (9, True),
        (14, True),
    ]


def test_ll303_teardown_keeps_crlf_line_endings(tmp_path: Path) -> None:
    conftest = (
        "import pytest_asyncio\r\nfrom aiosqlite import connect\r\n\r\n\r\n"
        "@pytest_asyncio.fixture\r\nasync def db():\r\n"
        '    conn = await connect(":memory:")\r\n    yield conn\r\n'
    )
    (tmp_path / "pytest.ini").write_text(CONFIG)
    (tmp_path / "conftest.py").write_bytes(conftest.encode())
    result = lint(Project.load([tmp_path]), RuleSelection(select=("LL303",)).rules())
    (found,) = result.diagnostics
    assert found.fix is not None
    text = apply(conftest, found.fix.edits)
    assert text.endswith("    yield conn\r\n    await conn.close()\r\n")


def relint(tmp_path: Path, name: str, text: str, select: str) -> list[Diagnostic]:
    (tmp_path / name).write_text(text)
    result = lint(Project.load([tmp_path]), RuleSelection(select=(select,)).rules())
    assert not result.internal_errors
    return result.diagnostics


@pytest.mark.parametrize(
    ("code", "conftest"),
    [
        (
            "LL301",
            """\
            import asyncio
            import pytest


            @pytest.fixture(scope="module")
            def reader():
                yield asyncio.StreamReader()
            """,
        ),
        (
            "LL303",
            """\
            import httpx
            import pytest_asyncio


            @pytest_asyncio.fixture
            async def client():
                client = httpx.AsyncClient()
                return client
            """,
        ),
        (
            "LL304",
            """\
            import asyncio


            async def work():
                return 1


            def test_work():
                assert asyncio.new_event_loop().run_until_complete(work()) == 1
            """,
        ),
    ],
)
def test_fixed_code_is_clean_and_stable(tmp_path: Path, code: str, conftest: str) -> None:
    (found,) = run(tmp_path, {"conftest.py": conftest}, select=code)
    text = fixed(tmp_path, "conftest.py", found)
    assert relint(tmp_path, "conftest.py", text, code) == []


def test_module_container_needs_several_loops(tmp_path: Path) -> None:
    registry = """\
        import asyncio

        _LOCKS = {}


        class Waiter:
            def __init__(self):
                self.event = asyncio.Event()


        WAITER = Waiter()


        def lock_for(name):
            return _LOCKS.setdefault(name, asyncio.Lock())
        """
    files = {"registry.py": registry, "test_x.py": "async def test_a():\n    pass\n"}
    # Every test on the session loop, by the config: one loop for the whole process.
    session = CONFIG + "asyncio_default_test_loop_scope = session\n"
    assert run(tmp_path, {**files, "test_y.py": TWO_LOOPS}, select="LL301", config=session) == []
    # One visible async test under the function default: each test gets its own loop.
    found = run(tmp_path, files, select="LL301")
    assert [(d.location.row, "its own event loop" in d.message) for d in found] == [
        (11, True),
        (15, True),
    ]


def test_ll304_framework_loop_class_through_a_chain_of_bases(tmp_path: Path) -> None:
    base = """\
        import unittest


        class Middle(unittest.IsolatedAsyncioTestCase):
            pass
        """
    test = """\
        import asyncio

        from pkg.base import Middle


        class Local(Middle):
            pass


        class TestIt(Local):
            def setUp(self):
                self.loop = asyncio.get_event_loop()

            def test_it(self):
                def later():
                    return asyncio.get_event_loop()

                assert later
        """
    files = {"pkg/__init__.py": "", "pkg/base.py": base, "pkg/test_it.py": test}
    assert run(tmp_path, files, select="LL304") == []
