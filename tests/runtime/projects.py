"""Small projects for the differential test (``differential.py``), several per class of miss in
issue #16: which asyncio mark counts, class hierarchies, values leaklint cannot read, fixtures
from other places, LL201 for sync fixtures, and the ``fixture-scope`` default; then the common
shapes the map must keep getting right. Each project is ``{relative path: text}``; every
fixture it defines is used by a test, so that the run shows what each one does.
"""

from __future__ import annotations

import textwrap

PROJECTS: dict[str, dict[str, str]] = {}


def ini(mode: str = "auto", default: str | None = "function", extra: str = "") -> str:
    lines = ["[pytest]", f"asyncio_mode = {mode}"]
    if default is not None:
        lines.append(f"asyncio_default_fixture_loop_scope = {default}")
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


def project(name: str, files: dict[str, str], **config: str) -> None:
    """Register a project; ``pytest.ini`` is written from ``config`` unless given."""
    assert name not in PROJECTS, name
    tree = {path: textwrap.dedent(text) for path, text in files.items()}
    if not any(p.endswith(("pytest.ini", "pyproject.toml")) for p in tree):
        tree["pytest.ini"] = ini(**config)
    PROJECTS[name] = tree


HEADER = "import pytest\nimport pytest_asyncio\n\n\n"

# Loop references: tests whose loop is beyond doubt, so that the run's loops line up with the
# map's keys.
REFERENCES = """

@pytest.mark.asyncio(loop_scope="module")
async def test_reference_module():
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_reference_session():
    pass
"""

SESSION_RESOURCE = """

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def resource():
    return object()
"""

# --------------------------------------------------------------------------- which mark counts

project(
    "mark_stacked_decorators",
    {
        "test_stacked.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.asyncio(loop_scope="session")
async def test_module_over_session(resource):
    pass


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.asyncio(loop_scope="module")
async def test_session_over_module(resource):
    pass


@pytest.mark.asyncio
@pytest.mark.asyncio(loop_scope="session")
async def test_bare_over_session(resource):
    pass
""",
    },
    mode="strict",
)

project(
    "mark_class_decorator_and_body",
    {
        "test_class.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest.mark.asyncio(loop_scope="module")
class TestDecoratorAndBody:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_one(self, resource):
        pass


@pytest.mark.asyncio(loop_scope="session")
class TestBodyList:
    pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

    async def test_two(self, resource):
        pass
""",
    },
    mode="strict",
)

project(
    "mark_module_class_function",
    {
        "test_levels.py": """\
import pytest
import pytest_asyncio

pytestmark = pytest.mark.asyncio(loop_scope="session")
"""
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest.mark.asyncio(loop_scope="module")
class TestClassWins:
    async def test_class_mark(self, resource):
        pass

    @pytest.mark.asyncio(loop_scope="class")
    async def test_function_mark(self, resource):
        pass

    @pytest.mark.asyncio
    async def test_bare_function_mark(self, resource):
        pass


async def test_module_mark(resource):
    pass
""",
    },
    mode="strict",
)

project(
    "mark_pytestmark_list_twice",
    {
        "test_twice.py": """\
import pytest
import pytest_asyncio

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.asyncio(loop_scope="session"),
]
"""
        + SESSION_RESOURCE
        + REFERENCES
        + """

async def test_listed(resource):
    pass
""",
    },
    mode="strict",
)

project(
    "mark_inherited_and_own",
    {
        "test_inherit_marks.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest.mark.asyncio(loop_scope="session")
class Base:
    pass


@pytest.mark.asyncio(loop_scope="module")
class TestOwnAndBase(Base):
    async def test_both(self, resource):
        pass


class TestBaseOnly(Base):
    async def test_base(self, resource):
        pass
""",
    },
    mode="strict",
)

project(
    "mark_auto_mode_function_default",
    {
        "test_auto.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.asyncio(loop_scope="session")
async def test_function_over_module(resource):
    pass


async def test_module_mark_auto(resource):
    pass
""",
    },
    mode="auto",
)

# --------------------------------------------------------------------------- class hierarchies

project(
    "class_marks_from_base",
    {
        "test_base_marks.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

class Base:
    pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestInherits(Base):
    async def test_inherited_mark(self, resource):
        pass


class TestGrandchild(TestInherits):
    async def test_grandchild(self, resource):
        pass
""",
    },
    mode="strict",
)

project(
    "class_test_methods_from_base",
    {
        "test_methods.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

class Contract:
    async def test_contract(self, resource):
        pass


@pytest.mark.asyncio(loop_scope="session")
class TestSessionImpl(Contract):
    pass


@pytest.mark.asyncio(loop_scope="module")
class TestModuleImpl(Contract):
    async def test_own(self, resource):
        pass
""",
    },
    mode="strict",
)

project(
    "class_fixtures_from_base",
    {
        "test_base_fixtures.py": HEADER
        + REFERENCES
        + """

class Holder:
    @pytest_asyncio.fixture(scope="class", loop_scope="class")
    async def held(self):
        return object()


@pytest.mark.asyncio(loop_scope="class")
class TestClassLoop(Holder):
    async def test_same(self, held):
        pass


class TestFunctionLoop(Holder):
    @pytest.mark.asyncio
    async def test_other(self, held):
        pass
""",
    },
    mode="strict",
)

project(
    "class_base_in_other_module",
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
    async def test_extra(self, engine):
        pass


@pytest.mark.asyncio(loop_scope="module")
class TestSqlite(BaseSuite):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_reference_module():
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_reference_session():
    pass
""",
    },
    mode="strict",
)

project(
    "class_base_in_package_module",
    {
        "tests/__init__.py": "",
        "tests/shared/__init__.py": "",
        "tests/shared/suites.py": """\
import pytest
import pytest_asyncio


class AsyncSuite:
    pytestmark = pytest.mark.asyncio(loop_scope="class")

    @pytest_asyncio.fixture(scope="class", loop_scope="class")
    async def client(self):
        return object()

    async def test_client(self, client):
        pass
""",
        "tests/test_api.py": """\
import pytest
from tests.shared.suites import AsyncSuite


class TestApi(AsyncSuite):
    async def test_more(self, client):
        pass


class TestAdmin(AsyncSuite):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_reference_module():
    pass
""",
    },
    mode="strict",
)

project(
    "class_base_imported_as_module",
    {
        "tests/helpers.py": """\
import pytest
import pytest_asyncio


class Suite:
    @pytest_asyncio.fixture(loop_scope="module")
    async def per_test(self):
        return object()

    @pytest.mark.asyncio(loop_scope="module")
    async def test_per_test(self, per_test):
        pass
""",
        "tests/test_via_module.py": """\
import helpers
import pytest


class TestViaModule(helpers.Suite):
    async def test_function_loop(self, per_test):
        pass


@pytest.mark.asyncio(loop_scope="session")
async def test_reference_session():
    pass
""",
    },
    mode="strict",
)

project(
    "class_override_in_subclass",
    {
        "test_override.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

class Base:
    @pytest.mark.asyncio(loop_scope="session")
    async def test_shared(self, resource):
        pass

    @pytest.mark.asyncio(loop_scope="session")
    async def test_replaced(self, resource):
        pass


class TestChild(Base):
    @pytest.mark.asyncio(loop_scope="module")
    async def test_replaced(self, resource):
        pass
""",
    },
    mode="strict",
)

project(
    "class_loops_per_subclass",
    {
        "test_class_loops.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(scope="class", loop_scope="class")
async def per_class():
    return object()


@pytest.mark.asyncio(loop_scope="class")
class Shared:
    async def test_uses(self, per_class):
        pass


class TestFirst(Shared):
    pass


class TestSecond(Shared):
    pass
""",
    },
    mode="strict",
)

project(
    "value_loop_scope_none",
    {
        "test_none.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(scope="module", loop_scope=None)
async def module_fixture():
    return object()


@pytest_asyncio.fixture(loop_scope=None)
async def function_fixture():
    return object()


@pytest.mark.asyncio(loop_scope=None)
async def test_none_mark(function_fixture):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_module_fixture(module_fixture):
    pass
""",
    },
    default=None,
)

project(
    "value_module_constants",
    {
        "test_constants.py": HEADER
        + REFERENCES
        + """

LOOP = "session"
CACHE = "session"
MODULE_LOOP = "module"


@pytest_asyncio.fixture(scope=CACHE, loop_scope=LOOP)
async def constant_fixture():
    return object()


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_constant_mark(constant_fixture):
    pass


@pytest.mark.asyncio(loop_scope=MODULE_LOOP)
async def test_module_constant(constant_fixture):
    pass


async def test_default_loop(constant_fixture):
    pass
""",
    },
    mode="auto",
)

project(
    "value_constant_pytestmark",
    {
        "test_constant_mark.py": """\
import pytest
import pytest_asyncio

SCOPE = "module"
pytestmark = pytest.mark.asyncio(loop_scope=SCOPE)
"""
        + SESSION_RESOURCE
        + """

async def test_on_module_loop(resource):
    pass


async def test_also_module(resource):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_reference_session():
    pass
""",
    },
)

project(
    "value_unknown_variables",
    {
        "test_unknown.py": """\
import os

import pytest
import pytest_asyncio

LOOP = os.environ.get("LOOP_SCOPE_FOR_TESTS", "module")
"""
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest_asyncio.fixture(loop_scope=LOOP)
async def from_environment():
    return object()


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_unknown_mark(resource):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_unknown_fixture(from_environment):
    pass
""",
    },
)

project(
    "value_reassigned_constant",
    {
        "test_reassigned.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

LOOP = "module"
LOOP = "session"


@pytest.mark.asyncio(loop_scope=LOOP)
async def test_reassigned(resource):
    pass
""",
    },
)

project(
    "value_callable_scope",
    {
        "test_callable.py": HEADER
        + REFERENCES
        + """

def pick(fixture_name, config):
    return "module"


@pytest_asyncio.fixture(scope=pick, loop_scope="module")
async def picked():
    return object()


@pytest_asyncio.fixture(scope=pick)
async def picked_default():
    return object()


@pytest.mark.asyncio(loop_scope="module")
async def test_picked(picked, picked_default):
    pass


async def test_picked_function_loop(picked):
    pass
""",
    },
    default=None,
)

project(
    "value_constant_in_conftest",
    {
        "conftest.py": """\
import pytest_asyncio

SESSION = "session"


@pytest_asyncio.fixture(scope=SESSION, loop_scope=SESSION)
async def pool():
    return object()
""",
        "test_pool.py": HEADER
        + REFERENCES
        + """

async def test_function_loop(pool):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(pool):
    pass
""",
    },
)

# --------------------------------------------------------------------------- other places

project(
    "plugin_from_addopts",
    {
        "myplugin.py": """\
import pytest_asyncio


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def service():
    return object()


@pytest_asyncio.fixture
async def per_test():
    return object()
""",
        "tests/test_plugin.py": HEADER
        + REFERENCES
        + """

async def test_function_loop(service, per_test):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(service, per_test):
    pass
""",
    },
    extra="pythonpath = .\naddopts = -p myplugin\n",
)

project(
    "plugin_package_from_addopts",
    {
        "support/__init__.py": "",
        "support/fixtures.py": """\
import pytest_asyncio


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def broker():
    return object()
""",
        "tests/test_broker.py": HEADER
        + REFERENCES
        + """

async def test_function_loop(broker):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(broker):
    pass
""",
    },
    extra="pythonpath = .\naddopts = -ra -p support.fixtures --strict-markers\n",
)

project(
    "usefixtures_ini",
    {
        "conftest.py": """\
import pytest_asyncio


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def seeded():
    return object()
""",
        "test_seeded.py": HEADER
        + REFERENCES
        + """

async def test_function_loop():
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop():
    pass
""",
    },
    extra="usefixtures = seeded\n",
)

project(
    "decorator_alias",
    {
        "conftest.py": """\
import pytest_asyncio

session_fixture = pytest_asyncio.fixture(scope="session", loop_scope="session")
module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")


@session_fixture
async def database():
    return object()


@module_fixture
async def cache():
    return object()
""",
        "test_alias.py": HEADER
        + REFERENCES
        + """

async def test_function_loop(database):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(database):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(cache, database):
    pass
""",
    },
)

project(
    "decorator_alias_in_module",
    {
        "test_local_alias.py": HEADER
        + REFERENCES
        + """

from pytest_asyncio import fixture

wide = fixture(scope="module", loop_scope="module")
narrow = fixture(loop_scope="function")


@wide
async def shared():
    return object()


@narrow
async def private():
    return object()


async def test_function_loop(shared, private):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(shared, private):
    pass
""",
    },
)

# --------------------------------------------------------------------------- LL201, sync

project(
    "ll201_sync_fixture_default_function",
    {
        "test_sync.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(scope="module")
def module_value():
    return 1


@pytest_asyncio.fixture(scope="module")
def module_generator():
    yield 2


@pytest_asyncio.fixture(scope="module", loop_scope="module")
def matching_value():
    return 3


@pytest.fixture(scope="module")
def plain_value():
    return 4


@pytest.mark.asyncio
async def test_module_value(module_value):
    pass


@pytest.mark.asyncio
async def test_module_generator(module_generator):
    pass


@pytest.mark.asyncio
async def test_matching(matching_value, plain_value):
    pass


def test_sync_user(module_value):
    pass
""",
    },
)

project(
    "ll201_sync_fixture_explicit",
    {
        "conftest.py": """\
import pytest_asyncio


@pytest_asyncio.fixture(scope="session", loop_scope="module")
def settings():
    return {"name": "x"}


@pytest_asyncio.fixture(scope="class", loop_scope="function")
def per_class():
    return 1
""",
        "test_explicit.py": HEADER
        + """

def test_settings(settings):
    pass


class TestUses:
    def test_per_class(self, per_class):
        pass
""",
    },
    default=None,
)

project(
    "ll201_async_fixtures_both_ways",
    {
        "test_async.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(scope="module")
async def default_function_loop():
    return object()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def wider_loop():
    return object()


@pytest_asyncio.fixture(scope="class", loop_scope="class")
async def class_loop():
    return object()


@pytest.mark.asyncio(loop_scope="module")
async def test_default(default_function_loop):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_wider(wider_loop):
    pass


@pytest.mark.asyncio(loop_scope="class")
async def test_class(class_loop):
    pass
""",
    },
)

project(
    "ll201_auto_mode_plain_decorator",
    {
        "test_auto.py": HEADER
        + REFERENCES
        + """

@pytest.fixture(scope="module")
async def auto_module():
    return object()


@pytest.fixture(scope="module")
def sync_module():
    return 1


async def test_auto(auto_module, sync_module):
    pass
""",
    },
    mode="auto",
)

# --------------------------------------------------------------------------- fixture-scope

project(
    "fixture_scope_default",
    {
        "conftest.py": """\
import pytest_asyncio


@pytest_asyncio.fixture(scope="module")
async def module_fixture():
    return object()


@pytest_asyncio.fixture(scope="session")
async def session_fixture():
    return object()


@pytest_asyncio.fixture
async def function_fixture():
    return object()
""",
        "test_fixture_scope.py": HEADER
        + REFERENCES
        + """

async def test_function_loop(module_fixture, session_fixture, function_fixture):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(module_fixture, function_fixture):
    pass
""",
    },
    default="fixture-scope",
)

# --------------------------------------------------------------------------- common shapes

project(
    "shape_strict_plain_async_fixture",
    {
        "test_strict.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def marked():
    return object()


@pytest.mark.asyncio
async def test_marked(marked):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_marked_session(marked):
    pass


async def test_unmarked_is_not_run(marked):
    pass
""",
    },
)

project(
    "shape_fixture_chain_through_sync",
    {
        "conftest.py": """\
import pytest
import pytest_asyncio


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine():
    return object()


@pytest.fixture
def repo(engine):
    return engine


@pytest_asyncio.fixture
async def uow(repo):
    return object()


@pytest_asyncio.fixture(loop_scope="session")
async def session_uow(repo):
    return object()
""",
        "test_chain.py": HEADER
        + REFERENCES
        + """

@pytest.mark.asyncio
async def test_repo(repo):
    pass


@pytest.mark.asyncio
async def test_uow(uow):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_uow(session_uow):
    pass
""",
    },
)

project(
    "shape_override_by_name",
    {
        "conftest.py": HEADER
        + """
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client():
    return object()
""",
        "sub/conftest.py": HEADER
        + """
@pytest_asyncio.fixture(loop_scope="module")
async def client(client):
    return object()
""",
        "sub/test_sub.py": HEADER
        + REFERENCES
        + """

@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(client):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(client):
    pass
""",
        "test_top.py": HEADER
        + """

@pytest.mark.asyncio(loop_scope="session")
async def test_top(client):
    pass


@pytest.mark.asyncio
async def test_top_function(client):
    pass
""",
    },
)

project(
    "shape_name_alias_and_usefixtures",
    {
        "test_alias.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest_asyncio.fixture(name="conn", loop_scope="module")
async def make_connection():
    return object()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.usefixtures("resource")
async def test_usefixtures(conn):
    pass


@pytest.mark.usefixtures("conn")
@pytest.mark.asyncio
async def test_conn_function_loop():
    pass
""",
    },
)

project(
    "shape_autouse_async",
    {
        "conftest.py": HEADER
        + """
@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def warm_up():
    return object()
""",
        "test_autouse.py": HEADER
        + REFERENCES
        + """

@pytest.mark.asyncio
async def test_function_loop():
    pass
""",
    },
)

project(
    "shape_getfixturevalue_in_fixture",
    {
        "test_by_value.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest.fixture
def holder(request):
    return request.getfixturevalue("resource")


@pytest.mark.asyncio
async def test_through_sync(holder):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_through_sync_session(holder):
    pass
""",
    },
)

project(
    "shape_package_loop",
    {
        "conftest.py": HEADER
        + """
@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def package_resource():
    return object()
""",
        "pkg_a/__init__.py": "",
        "pkg_b/__init__.py": "",
        "pkg_a/test_a.py": HEADER
        + """

@pytest.mark.asyncio(loop_scope="package")
async def test_a(package_resource):
    pass
""",
        "pkg_b/test_b.py": HEADER
        + """

@pytest.mark.asyncio(loop_scope="package")
async def test_b(package_resource):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_b_session(package_resource):
    pass
""",
    },
)

project(
    "shape_parametrized",
    {
        "test_params.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(loop_scope="module", params=[1, 2])
async def numbered(request):
    return [request.param, object()]


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.asyncio
async def test_function_loops(n, numbered):
    pass


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(n, numbered):
    pass
""",
    },
)

project(
    "shape_plain_data",
    {
        "test_plain.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def name():
    return "name"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ports() -> list[int]:
    return [8000, 8001]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def holder():
    return object()


@pytest.mark.asyncio
async def test_plain(name, ports):
    pass


@pytest.mark.asyncio
async def test_object(holder):
    pass
""",
    },
)

project(
    "shape_class_fixture_in_test_class",
    {
        "test_class_fixture.py": HEADER
        + REFERENCES
        + """

@pytest.mark.asyncio(loop_scope="class")
class TestWithOwnFixture:
    @pytest_asyncio.fixture(scope="class", loop_scope="class")
    async def own(self):
        return object()

    async def test_own(self, own):
        pass

    @pytest.mark.asyncio
    async def test_own_function_loop(self, own):
        pass
""",
    },
)

project(
    "shape_async_fixture_chain",
    {
        "test_async_chain.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def root():
    return object()


@pytest_asyncio.fixture(loop_scope="session")
async def child(root):
    return object()


@pytest_asyncio.fixture
async def grandchild(child):
    return object()


@pytest.mark.asyncio(loop_scope="session")
async def test_child(child):
    pass


@pytest.mark.asyncio
async def test_grandchild(grandchild):
    pass
""",
    },
)

project(
    "shape_default_test_loop_scope",
    {
        "test_default_test.py": HEADER
        + SESSION_RESOURCE
        + """

async def test_session_by_default(resource):
    pass


@pytest.mark.asyncio(loop_scope="function")
async def test_function_mark(resource):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_reference_module():
    pass
""",
    },
    mode="auto",
    extra="asyncio_default_test_loop_scope = session\n",
)

project(
    "shape_pyproject_config",
    {
        "pyproject.toml": """\
[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "module"
""",
        "test_pyproject.py": HEADER
        + REFERENCES
        + """

@pytest_asyncio.fixture
async def module_loop_by_default():
    return object()


async def test_function_loop(module_loop_by_default):
    pass


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(module_loop_by_default):
    pass
""",
    },
)

project(
    "shape_pytest_plugins_module",
    {
        "conftest.py": 'pytest_plugins = ["helpers.db"]\n',
        "helpers/__init__.py": "",
        "helpers/db.py": HEADER
        + """
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db():
    return object()
""",
        "test_db.py": HEADER
        + REFERENCES
        + """

@pytest.mark.asyncio
async def test_function_loop(db):
    pass


@pytest.mark.asyncio(loop_scope="session")
async def test_session_loop(db):
    pass
""",
    },
)

project(
    "shape_nested_test_classes",
    {
        "test_nested.py": HEADER
        + SESSION_RESOURCE
        + REFERENCES
        + """

@pytest.mark.asyncio(loop_scope="session")
class TestOuter:
    async def test_outer(self, resource):
        pass

    class TestInner:
        async def test_inner(self, resource):
            pass

    @pytest.mark.asyncio(loop_scope="class")
    class TestInnerClassLoop:
        async def test_inner_class(self, resource):
            pass
""",
    },
)
