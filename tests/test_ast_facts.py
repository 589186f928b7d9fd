"""The candidate stage's facts: every name a call may stand for, never fewer than the libcst
side resolves; a file CPython cannot read gives none."""

from __future__ import annotations

import pytest

from leaklint.python.ast_facts import IMPORT_TIME, IN_ASYNC, IN_HANDLER, AstFacts, ast_facts
from leaklint.rules.base import get_rule


def facts_of(text: str) -> AstFacts:
    found = ast_facts(text.encode())
    assert found is not None
    return found


def test_calls_resolve_through_imports_at_any_depth() -> None:
    facts = facts_of(
        "import asyncio as aio\n"
        "def f():\n"
        "    from threading import Thread as T\n"
        "    T()\n"
        "    aio.Queue()\n"
        "    loop.create_future()\n"
    )
    assert {"threading.Thread", "asyncio.Queue", "T", "aio.Queue"} <= facts.calls
    assert "create_future" in facts.called_attrs
    assert not facts.import_time_imported_calls


def test_an_attribute_called_on_a_call_result_is_named() -> None:
    facts = facts_of("def f(self):\n    self.get_loop().create_future()\n")
    assert {"create_future", "get_loop"} <= facts.called_attrs


def test_a_name_imported_twice_may_stand_for_either() -> None:
    facts = facts_of(
        "try:\n    from a import Pool\nexcept ImportError:\n    from b import Pool\nPool()\n"
    )
    assert {"a.Pool", "b.Pool"} <= facts.calls
    assert {"a.Pool", "b.Pool"} == facts.import_time_imported_calls


def test_import_time_calls_include_class_bodies_and_main_blocks_not_functions() -> None:
    facts = facts_of(
        "from app import Service, Other, Third\n"
        "class Holder:\n    shared = Service()\n"
        "if __name__ == '__main__':\n    Other()\n"
        "def later():\n    Third()\n"
    )
    assert facts.import_time_imported_calls == {"app.Service", "app.Other"}


def test_decorators_bases_and_async_defs() -> None:
    facts = facts_of(
        "import pytest\nfrom threading import Thread\n"
        "@pytest.fixture(scope='module')\ndef f():\n    pass\n"
        "class W(Thread):\n    pass\n"
    )
    assert "pytest.fixture" in facts.decorators
    assert "threading.Thread" in facts.bases
    assert not facts.async_defs
    assert facts_of("async def f():\n    pass\n").async_defs


def test_relative_imports_and_star_imports() -> None:
    facts = facts_of("from .base import Client\nfrom os import *\nClient()\ngetcwd()\n")
    assert ".base.Client" in facts.calls
    assert "getcwd" in facts.calls  # as written; a star import binds nothing


def test_unreadable_code_gives_no_facts() -> None:
    assert ast_facts(b"def f(:\n    pass\n") is None
    assert ast_facts(b"x = 1\n\x00\n") is None
    assert ast_facts(b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n") is None


def test_invalid_escapes_say_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert ast_facts(b'x = "\\d"\n') is not None
    assert capsys.readouterr().err == ""


def test_which_rules_declare_a_candidate_check() -> None:
    for code in ("LL301", "LL302", "LL303", "LL304", "LL401", "LL404"):
        rule = get_rule(code)
        assert rule is not None and rule.has_candidate_check(), code
    for code in ("LL201", "LL202", "LL001"):
        rule = get_rule(code)
        assert rule is not None and not rule.has_candidate_check(), code


def test_marks_from_decorators_and_pytestmark_values() -> None:
    facts = facts_of(
        "import pytest\n"
        "from pytest import mark as m\n"
        "pytestmark = [pytest.mark.slow, m.filterwarnings('ignore')]\n"
        "class TestA:\n"
        "    pytestmark = pytest.mark.usefixtures('db')\n"
        "    @m.asyncio(loop_scope='class')\n"
        "    async def test_a(self):\n"
        "        pytest.mark.timeout  # not a decorator nor a pytestmark: no mark\n"
    )
    assert facts.marks == {"slow", "filterwarnings", "usefixtures", "asyncio"}


def test_a_mark_name_is_only_a_mark_under_pytest_mark() -> None:
    facts = facts_of("import other\n@other.mark.asyncio\ndef test_a():\n    pass\n")
    assert not facts.marks


def test_imports_keep_every_binding_of_a_name() -> None:
    facts = facts_of(
        "from .suites import Base\nif x:\n    from helpers import Base\nimport a.b as ab\n"
    )
    assert facts.imports["Base"] == {".suites.Base", "helpers.Base"}
    assert facts.imports["ab"] == {"a.b"}


def test_import_time_calls_as_written_and_module_classes() -> None:
    facts = facts_of(
        "import asyncio\n"
        "class Service:\n"
        "    def __init__(self):\n"
        "        self.ready = make()\n"
        "def main():\n"
        "    pass\n"
        "SERVICE = Service()\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
    )
    assert facts.import_time_calls == {"Service", "asyncio.run", "main"}
    assert facts.module_classes == {"Service"}
    assert facts.module_defs == {"Service", "main"}
    assert not facts.declares_global


def test_a_global_declaration_is_seen_in_any_function() -> None:
    facts = facts_of("async def pool():\n    if True:\n        global _pool\n        _pool = 1\n")
    assert facts.declares_global


def test_call_sites_say_where_they_are_made() -> None:
    facts = facts_of(
        "import asyncio as aio\n"
        "X = aio.Future()\n"
        "@deco(aio.Lock())\n"
        "async def f():\n"
        "    try:\n        aio.get_running_loop()\n"
        "    except RuntimeError:\n        aio.get_event_loop()\n"
        "    def inner():\n        aio.Event()\n"
    )
    where = {s.written: s.where for s in facts.sites}
    assert where["aio.Future"] == where["aio.Lock"] == IMPORT_TIME
    assert where["aio.get_running_loop"] == IN_ASYNC
    assert where["aio.get_event_loop"] == IN_ASYNC | IN_HANDLER
    assert where["aio.Event"] == IN_ASYNC
    by_name = {s.written: s for s in facts.sites}
    assert by_name["aio.Future"].resolved == ("asyncio.Future",)
    assert by_name["aio.Lock"].functions == ()  # a decorator runs where the def is
    assert [facts.functions[i].is_async for i in by_name["aio.Event"].functions] == [True, False]
    assert "deco" in facts.functions[0].decorators


def test_call_sites_name_the_init_they_are_in_and_what_they_are_passed_to() -> None:
    facts = facts_of(
        "import asyncio\n"
        "from pytest import fixture\n"
        "session = fixture(scope='session')\n"
        "class Service:\n"
        "    def __init__(self):\n        self.f = asyncio.Future()\n"
        "    def run(self):\n        asyncio.Queue()\n"
        "def f(key):\n"
        "    _W.append(asyncio.Event())\n"
        "    _F[key] = asyncio.Lock()\n"
        "    _W.append(*make())\n"
        "    g().create_future()\n"
    )
    by_name = {s.written: s for s in facts.sites}
    assert by_name["asyncio.Future"].init_of == "Service"
    assert by_name["asyncio.Queue"].init_of is None
    assert by_name["asyncio.Event"].argument_of == "append"
    assert by_name["asyncio.Lock"].argument_of == "__setitem__"
    assert by_name["make"].argument_of == "append"
    assert by_name["_W.append"].argument_of is None
    assert any(s.written is None and s.attr == "create_future" for s in facts.sites)
    assert facts.assigned_calls["session"] == {"fixture", "pytest.fixture"}


def test_kept_facts_serve_the_same_bytes_again() -> None:
    text = b"import threading\nthreading.Thread(target=print).start()\n"
    kept = ast_facts(text + b"# kept\n", keep=True)
    assert kept is not None
    assert ast_facts(bytes(bytearray(text + b"# kept\n"))) is kept  # equal bytes, other object
    fresh = ast_facts(text + b"# not kept\n")
    assert fresh is not None and ast_facts(text + b"# not kept\n") is not fresh
