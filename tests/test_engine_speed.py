"""The engine's speed machinery never changes what is found.

The prefilter, worker processes and the cache are each compared against the plain run (every
rule on every file, one process, nothing cached), on the annotated fixtures and on a copy of
real code (200 stdlib modules). The rules below exist only for these tests; they are small but
exercise what real rules do: name resolution, test-file scope, the conftest fixture graph,
the project's loop use (a cross-file fact), and a crash.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sysconfig
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from click.testing import CliRunner
from harness import FIXTURES, fixture_projects, write_tree

from leaklint.cli import main
from leaklint.config.settings import load_settings
from leaklint.diagnostics import (
    Applicability,
    Diagnostic,
    Edit,
    Fix,
    Location,
    Severity,
    diagnostic_from_dict,
    diagnostic_to_dict,
)
from leaklint.model.loops import loop_use
from leaklint.model.project import LoopUseDeferred, Project
from leaklint.model.pytest_model import FixtureDef
from leaklint.rules.base import FileRule, Rule, all_rules
from leaklint.run import engine
from leaklint.run.cachedir import CACHE_DIR
from leaklint.run.engine import (
    FileTask,
    LintResult,
    check_file,
    lint,
    rules_for_file,
    worker_count,
)
from leaklint.run.parallel import ProjectState


class ThreadCall(FileRule):
    code = "LL901"
    name = "test-thread-call"
    tokens = (b"Thread",)

    def visit_Call(self, node: cst.Call) -> None:
        if self.imports.matches(node.func, {"threading.Thread"}):
            self.report(
                node,
                "thread created",
                fix=self.make_fix(
                    Applicability.UNSAFE,
                    "make it a daemon",
                    self.insert_edit(self.source.range_of(node)[1], "  # daemon"),
                ),
            )


class AsyncTest(FileRule):
    code = "LL902"
    name = "test-async-def-in-test-file"
    tokens = (b"async",)
    test_files_only = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is not None:
            self.report(node.name, f"async function {node.name.value}", help="look at it")


class ConftestFixtureUse(FileRule):
    """Reads the conftests' fixtures: findings depend on conftest contents."""

    code = "LL903"
    name = "test-conftest-fixture-use"
    tokens = (b"def test",)
    test_files_only = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.name.value.startswith("test"):  # what its tokens promise
            return
        names = set()
        for conftest in self.project.conftests:
            model = self.project.file_model(conftest)
            if model is not None:
                names.update(f.name for f in model.fixtures)
        for param in node.params.params:
            if param.name.value in names:
                self.report(param, f"uses conftest fixture {param.name.value}")


class ManyLoops(FileRule):
    """Fires only when the project's tests run on several loops: depends on other files."""

    code = "LL904"
    name = "test-many-loops"
    tokens = (b"async def",)
    test_files_only = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is not None and loop_use(self.project).multiple:
            self.report(node.name, loop_use(self.project).describe())


class Crash(FileRule):
    code = "LL905"
    name = "test-crash"
    tokens = (b"CRASH_HERE",)

    def visit_Module(self, node: cst.Module) -> None:
        if b"CRASH_HERE" in self.source.raw:
            raise RuntimeError("boom")


class SharedFinding(FileRule):
    """Every file that mentions ``SHARED`` finds the same thing in ``shared.py``; its message
    names the file that found it."""

    code = "LL907"
    name = "test-shared-finding"
    tokens = (b"SHARED",)

    def visit_Module(self, node: cst.Module) -> None:
        target = self.project.root / "shared.py"
        self.diagnostics.append(
            self.diagnostic(
                message=f"found from {self.source.path.name}",
                path=target,
                start=Location(1, 1),
                dedup_key=str(target),
            )
        )


class Pid(FileRule):
    code = "LL906"
    name = "test-pid"

    def visit_Module(self, node: cst.Module) -> None:
        self.report(node, str(os.getpid()))


TEST_RULES: list[type[Rule]] = [ThreadCall, AsyncTest, ConftestFixtureUse, ManyLoops, Crash]


def every_rule() -> list[type[Rule]]:
    return [*all_rules(), *TEST_RULES]


def lint_path(root: Path, rules: list[type[Rule]] | None = None, **options: object) -> LintResult:
    return lint(Project.load([root]), rules or every_rule(), **options)  # type: ignore[arg-type]


def _key(result: LintResult) -> tuple[list[Diagnostic], list[str]]:
    return result.diagnostics, result.internal_errors


# --------------------------------------------------------------------------- trees


def _stdlib_files(count: int) -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    candidates = sorted(
        p
        for p in stdlib.rglob("*.py")
        if "site-packages" not in p.parts and p.stat().st_size < 8_000
    )
    tests = [p for p in candidates if p.name.startswith("test_")]
    others = [p for p in candidates if not p.name.startswith("test_")]
    half = count // 2
    picked = tests[:: max(1, len(tests) // half)][:half]
    picked += others[:: max(1, len(others) // (count - len(picked)))][: count - len(picked)]
    return picked


@pytest.fixture(scope="module")
def stdlib_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 real modules (half of them test modules), a conftest, one file a rule crashes on."""
    root = tmp_path_factory.mktemp("stdlib")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for source in _stdlib_files(200):
        target = root / source.relative_to(stdlib)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (root / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (root / "conftest.py").write_text("import pytest\n\n@pytest.fixture\ndef self():\n    pass\n")
    (root / "test_crash.py").write_text("CRASH_HERE = 1\nimport threading\nthreading.Thread()\n")
    return root


def _project_tree(root: Path) -> Path:
    """A small pytest project with a conftest, async tests on two loop scopes and a thread."""
    files = {
        "pytest.ini": "[pytest]\nasyncio_mode = auto\n",
        "conftest.py": "import pytest\n\n@pytest.fixture\ndef server():\n    return 1\n",
        "tests/test_a.py": (
            "import threading\n\nasync def test_a(server):\n    threading.Thread()\n"
        ),
        "tests/test_b.py": "def test_b(server):\n    pass\n",
        "app.py": "from threading import Thread as T\nT()\n",
    }
    return write_tree(root, files)


# --------------------------------------------------------------------------- prefilter


@pytest.mark.parametrize("case", fixture_projects(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_prefilter_keeps_findings_of_fixtures(case: Path) -> None:
    on = lint_path(case)
    off = lint_path(case, prefilter=False)
    assert _key(on) == _key(off)
    assert on.files_parsed <= off.files_parsed


def test_prefilter_keeps_findings_of_real_code(stdlib_tree: Path) -> None:
    on = lint_path(stdlib_tree, jobs=1)
    off = lint_path(stdlib_tree, jobs=1, prefilter=False)
    assert _key(on) == _key(off)
    assert {d.code for d in on.diagnostics} >= {"LL901", "LL902", "LL903"}
    assert on.internal_errors == [
        f"{stdlib_tree / 'test_crash.py'}: internal error in LL905 (test-crash): RuntimeError: boom"
    ]
    # Measurable: the prefilter spares parses of real code (with every real rule selected,
    # about half of these small modules still mention a thread, a pool, asyncio or a fixture).
    assert on.files_checked == off.files_checked == 202
    assert off.files_parsed == 202
    assert on.files_parsed < off.files_parsed * 3 // 4


@pytest.mark.parametrize("case", fixture_projects(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_candidate_stage_keeps_findings_of_fixtures(case: Path) -> None:
    on = lint_path(case)
    off = lint_path(case, candidates=False)
    assert _key(on) == _key(off)
    assert on.files_parsed <= off.files_parsed


def test_candidate_stage_keeps_findings_of_real_code(stdlib_tree: Path) -> None:
    on = lint_path(stdlib_tree, jobs=1)
    off = lint_path(stdlib_tree, jobs=1, candidates=False)
    assert _key(on) == _key(off)
    assert on.files_checked == off.files_checked == 202
    # Measurable: CPython's ast spares libcst parses that the token prefilter kept.
    assert on.files_parsed < off.files_parsed


def test_candidate_stage_in_workers_and_from_the_cache(tmp_path: Path) -> None:
    root = _project_tree(tmp_path)
    # Mentions asyncio and a fixture (the prefilter keeps it for the loop rules), but holds
    # nothing any rule fires on: no libcst parse, and the same findings everywhere.
    (root / "tests/test_quiet.py").write_text(
        "import asyncio\n\n\ndef test_quiet():\n    assert asyncio\n"
    )
    serial = lint_path(root, candidates=False, jobs=1)
    assert _key(lint_path(root, jobs=1)) == _key(serial)
    assert _key(lint_path(root, jobs=2)) == _key(serial)
    cold = lint_path(root, cache=True)
    warm = lint_path(root, cache=True)
    assert _key(cold) == _key(warm) == _key(serial)
    assert warm.files_parsed == 0


def test_candidate_on_a_call_result(tmp_path: Path) -> None:
    # ``create_future`` called on whatever a call returns: no name to resolve, still a candidate.
    (tmp_path / "app.py").write_text("import loops\n\nFUTURE = loops.current().create_future()\n")
    rules = [r for r in all_rules() if r.code == "LL301"]
    on = lint_path(tmp_path, rules)
    assert [d.code for d in on.diagnostics] == ["LL301"]
    assert _key(on) == _key(lint_path(tmp_path, rules, candidates=False))


def test_candidate_read_in_another_file_is_followed_by_the_cache(tmp_path: Path) -> None:
    # main.py holds no loop object itself: whether its import-time call can build one depends
    # on app/service.py, which the candidate stage reads (and the cache must follow).
    root = write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/service.py": "import asyncio\n\nclass Other:\n    pass\n",
            "app/main.py": "# asyncio\nfrom app.service import Service\n\nSERVICE = Service()\n",
        },
    )
    rules = [r for r in all_rules() if r.code == "LL301"]
    first = lint_path(root, rules, cache=True)
    assert first.diagnostics == [] and first.files_parsed == 0
    (root / "app/service.py").write_text(
        "import asyncio\n\nclass Service:\n    def __init__(self):\n"
        "        self.future = asyncio.Future()\n"
    )
    warm = lint_path(root, rules, cache=True)
    assert [(d.code, d.path.name) for d in warm.diagnostics] == [("LL301", "main.py")]
    assert _key(warm) == _key(lint_path(root, rules, candidates=False))


def test_deselecting_rules_shrinks_what_is_parsed(stdlib_tree: Path) -> None:
    everything = lint_path(stdlib_tree, jobs=1)
    threads_only = lint_path(stdlib_tree, [ThreadCall], jobs=1)
    assert threads_only.files_parsed < everything.files_parsed
    assert threads_only.diagnostics == [d for d in everything.diagnostics if d.code == "LL901"]


def test_identifier_tokens_count_only_as_whole_words(tmp_path: Path) -> None:
    rules = [r for r in all_rules() if r.code in ("LL401", "LL404")]
    (tmp_path / "errors.py").write_text(
        "import subprocess\n\n\ndef check(e: subprocess.CalledProcessError) -> None:\n"
        "    print('Threads:', e.returncode)\n"
    )
    (tmp_path / "worker.py").write_text(
        "from threading import Thread as T\n\n\ndef go() -> None:\n    T(target=print).start()\n"
    )
    result = lint_path(tmp_path, rules)
    assert result.files_parsed == 1
    assert [(d.code, d.path.name) for d in result.diagnostics] == [("LL401", "worker.py")]
    assert _key(result) == _key(lint_path(tmp_path, rules, prefilter=False))


def test_resource_rules_read_only_files_that_name_a_constructor(tmp_path: Path) -> None:
    # Every file names a resource library; only those that write a constructor's name, or
    # the name of a project class whose __init__ calls one (under an alias here), pass the
    # prefilter; of those, only a file that can keep one for the whole process is parsed
    # (clients.py only defines the class: it is read for globals.py's finding).
    rules = [r for r in all_rules() if r.code in ("LL302", "LL303")]
    case = FIXTURES / "loop_objects" / "resource_opened_in_another_module"
    root = tmp_path / "case"
    shutil.copytree(case, root)
    (root / "src/app/engine.py").write_text(
        '"""Engine options for aiosqlite and SQLAlchemy."""\n\nECHO = dict(echo=True)\n'
    )
    result = lint_path(root, rules)
    assert result.files_parsed == 1  # globals.py
    assert [(d.code, d.path.name) for d in result.diagnostics] == [("LL302", "globals.py")]
    assert _key(result) == _key(lint_path(root, rules, prefilter=False))
    assert _key(result) == _key(lint_path(root, rules, candidates=False))


def test_resource_rules_need_a_constructor_with_its_own_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``connect`` is aiosqlite's constructor, not SQLAlchemy's: a module that says
    # ``sqlalchemy`` and ``engine.connect()`` cannot call a resource constructor.
    rules = [r for r in all_rules() if r.code in ("LL302", "LL303")]
    files = {
        "pytest.ini": "[pytest]\nasyncio_mode = auto\n",
        "orm.py": (
            "import sqlalchemy\n\nENGINE = sqlalchemy.create_engine('sqlite://')\n"
            "CONNECTION = ENGINE.connect()\n"
        ),
        "db.py": "import aiosqlite\n\nDB = aiosqlite.connect(':memory:')\n",
        "test_a.py": "async def test_a():\n    pass\n",
    }
    root = write_tree(tmp_path, files)
    read: list[bytes] = []
    facts = engine.ast_facts
    monkeypatch.setattr(engine, "ast_facts", lambda raw: read.append(raw) or facts(raw))
    result = lint_path(root, rules)
    assert [(d.code, d.path.name) for d in result.diagnostics] == [("LL302", "db.py")]
    assert read == [(root / "db.py").read_bytes()]
    assert _key(result) == _key(lint_path(root, rules, prefilter=False))


def test_executor_rule_needs_an_executor_with_its_own_module(tmp_path: Path) -> None:
    # ``Pool`` is also a database pool: only a module that imports concurrent.futures or
    # multiprocessing can make an executor.
    rules = [r for r in all_rules() if r.code == "LL403"]
    files = {
        "pytest.ini": "[pytest]\n",
        "db.py": "from sqlalchemy.pool import Pool\n\n\ndef make():\n    return Pool(None)\n",
        "work.py": (
            "from multiprocessing import Pool\n\n\ndef run():\n    pool = Pool(2)\n"
            "    return pool.map(abs, [-1])\n"
        ),
    }
    root = write_tree(tmp_path, files)
    result = lint_path(root, rules, candidates=False)
    assert [(d.code, d.path.name) for d in result.diagnostics] == [("LL403", "work.py")]
    assert result.files_parsed == 1
    assert _key(result) == _key(lint_path(root, rules, prefilter=False))


def _builder_project(root: Path, init_body: str) -> Path:
    """A sync fixture in a conftest that mentions no asyncio builds a class of ``app.py``."""
    imports = "import asyncio\n\n\n" if "asyncio" in init_body else ""
    files = {
        "pytest.ini": "[pytest]\n",
        "conftest.py": (
            "import pytest\nfrom app import Client\n\n\n@pytest.fixture\ndef client():\n"
            "    return Client()\n"
        ),
        "test_a.py": "def test_a(client):\n    assert client\n",
        "app.py": f"{imports}class Client:\n    def __init__(self):\n        {init_body}\n",
    }
    return write_tree(root, files)


def test_a_fixture_file_is_parsed_only_when_some_file_can_make_a_loop_object(
    tmp_path: Path,
) -> None:
    rules = [r for r in all_rules() if r.code in ("LL301", "LL304")]
    root = _builder_project(tmp_path, "self.items = []")
    plain = lint_path(root, rules, cache=True)
    assert plain.diagnostics == [] and plain.files_parsed == 0
    assert _key(plain) == _key(lint_path(root, rules, prefilter=False))
    # Now the class's __init__ makes a loop-bound object: the conftest's fixture is reported,
    # although the conftest itself never changed (and its cache entry must not be reused).
    _builder_project(tmp_path, "self.reader = asyncio.StreamReader()")
    bound = lint_path(root, rules, cache=True)
    assert [(d.code, d.path.name) for d in bound.diagnostics] == [("LL301", "conftest.py")]
    assert _key(bound) == _key(lint_path(root, rules, prefilter=False))
    assert _key(lint_path(root, rules, cache=True)) == _key(bound)


def test_the_word_fixture_without_pytest_is_no_way_to_a_loop_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A test suite with fixtures of its own (``testing.fixture``, ``fixtures.TestBase``) and
    # no pytest import has no pytest fixture that could build the class: the prefilter keeps
    # only the module that can make a loop object, and ``ast`` reads nothing else.
    rules = [r for r in all_rules() if r.code in ("LL301", "LL304")]
    files = {
        "pytest.ini": "[pytest]\n",
        "app.py": (
            "import asyncio\n\n\nclass Client:\n    def __init__(self):\n"
            "        self.reader = asyncio.StreamReader()\n"
        ),
        "testing.py": "def fixture(fn):\n    return fn\n",
        "test_b.py": (
            "import testing\n\n\nclass TestB(testing.fixtures.TestBase):\n"
            "    @testing.fixture\n    def settings(self):\n        return {}\n"
        ),
    }
    root = write_tree(tmp_path, files)
    read: list[bytes] = []
    facts = engine.ast_facts
    monkeypatch.setattr(engine, "ast_facts", lambda raw: read.append(raw) or facts(raw))
    result = lint_path(root, rules)
    assert result.diagnostics == [] and read == [(root / "app.py").read_bytes()]
    assert _key(result) == _key(lint_path(root, rules, prefilter=False))
    # With pytest's own decorator the fixture builds the class on no running loop.
    (root / "test_b.py").write_text(
        "import pytest\nfrom app import Client\n\n\n@pytest.fixture\ndef client():\n"
        "    return Client()\n"
    )
    found = lint_path(root, rules)
    assert [(d.code, d.path.name) for d in found.diagnostics] == [("LL301", "test_b.py")]
    assert _key(found) == _key(lint_path(root, rules, prefilter=False))


def test_loop_rules_parse_only_files_with_a_way_to_a_finding(tmp_path: Path) -> None:
    # Every file calls into asyncio and the conftest holds fixtures; only the module that
    # makes a future at import time can hold a finding of the loop rules.
    rules = [r for r in all_rules() if r.code in ("LL301", "LL304")]
    files = {
        "pytest.ini": "[pytest]\nasyncio_mode = auto\n",
        "app.py": (
            "import asyncio\n\n\nclass Client:\n    def __init__(self):\n"
            "        self.items = []\n\n    async def run(self):\n"
            "        self.reader = asyncio.StreamReader()\n        await asyncio.sleep(0)\n"
        ),
        "conftest.py": (
            "import asyncio\nimport pytest\nfrom app import Client\n\n\n@pytest.fixture\n"
            "def client():\n    return Client()\n\n\n@pytest.fixture\nasync def queue():\n"
            "    return asyncio.Queue()\n"
        ),
        "test_a.py": (
            "import asyncio\n\n\nasync def test_a(client, queue):\n"
            "    await asyncio.sleep(0)\n    asyncio.get_running_loop().create_future()\n"
        ),
        "helpers.py": "import asyncio\n\n\ndef loop():\n    return asyncio.get_event_loop()\n",
        "bad.py": "import asyncio\n\nFUTURE = asyncio.Future()\n",
    }
    root = write_tree(tmp_path, files)
    result = lint_path(root, rules)
    assert [(d.code, d.path.name) for d in result.diagnostics] == [("LL301", "bad.py")]
    assert result.files_parsed == 1
    off = lint_path(root, rules, candidates=False)
    assert _key(result) == _key(off)
    assert off.files_parsed == 5


def test_loop_rules_prefilter_wants_a_loop_name_or_a_loop_class(tmp_path: Path) -> None:
    # Every file names asyncio or a fixture. The loop rules keep a file that writes a loop
    # object's name, get_event_loop/new_event_loop, or the name of a project class whose
    # __init__ makes one (here under an alias); no other file.
    rules = [r for r in all_rules() if r.code in ("LL301", "LL304")]
    files = {
        "pytest.ini": "[pytest]\nasyncio_mode = auto\n",
        "app.py": (
            "import asyncio\n\n\nclass Client:\n    def __init__(self):\n"
            "        self.reader = asyncio.StreamReader()\n"
            "        self.loop = asyncio.get_event_loop()\n\n\n"
            "class Plain:\n    def __init__(self):\n        self.items = []\n"
        ),
        "conftest.py": (
            "import pytest\nfrom app import Client as C, Plain\n\n\n@pytest.fixture\n"
            "def client():\n    return C()\n\n\n@pytest.fixture\ndef plain():\n"
            "    return Plain()\n"
        ),
        "plain.py": "import pytest\nfrom app import Plain\n\n\n@pytest.fixture\ndef p():\n"
        "    return Plain()\n",
        "test_a.py": "import asyncio\n\n\nasync def test_a(client):\n    await asyncio.sleep(0)\n",
        # A loop object's name without asyncio; the class's name without its module's.
        "codec.py": "import codecs\n\n\nclass StreamReader(codecs.StreamReader):\n    pass\n",
        "other.py": "from elsewhere import Client\n\nCLIENT = Client()\n",
        # Both, at import time, in a module that names no loop.
        "aliased.py": "import app as a\n\nCLIENT = a.Client()\n",
    }
    root = write_tree(tmp_path, files)
    project = Project.load([root])
    kept = {
        path.name: sorted(r.code for r in rules_for_file(project, path, rules))
        for path in project.python_files
    }
    assert kept == {
        "aliased.py": ["LL301", "LL304"],
        "app.py": ["LL301", "LL304"],
        "codec.py": [],
        "conftest.py": ["LL301", "LL304"],
        "other.py": [],
        "plain.py": [],
        "test_a.py": [],
    }
    result = lint_path(root, rules)
    assert [(d.code, d.path.name, d.location.row) for d in result.diagnostics] == [
        ("LL301", "aliased.py", 3),
        ("LL304", "aliased.py", 3),
        ("LL301", "conftest.py", 7),
        ("LL304", "conftest.py", 7),
    ]
    assert _key(result) == _key(lint_path(root, rules, prefilter=False))


def test_loop_rules_follow_a_class_with_a_non_ascii_name(tmp_path: Path) -> None:
    # CPython reads the fullwidth name as ``Client``; libcst and the bytes keep it as written.
    rules = [r for r in all_rules() if r.code in ("LL301", "LL304")]
    files = {
        "pytest.ini": "[pytest]\n",
        "app.py": (
            "import asyncio\n\n\nclass \uff23lient:\n    def __init__(self):\n"
            "        self.loop = asyncio.get_event_loop()\n"
        ),
        "conftest.py": (
            "import pytest\nfrom app import \uff23lient\n\n\n@pytest.fixture\n"
            "def client():\n    return \uff23lient()\n"
        ),
    }
    root = write_tree(tmp_path, files)
    result = lint_path(root, rules)
    assert [(d.code, d.path.name) for d in result.diagnostics] == [("LL304", "conftest.py")]
    assert _key(result) == _key(lint_path(root, rules, prefilter=False))


def test_files_no_rule_needs_are_not_read_for_their_syntax(tmp_path: Path) -> None:
    (tmp_path / "test_ok.py").write_text("def test_x():\n    pass\n")
    # A thread rule needs this one and cannot read it: a finding could hide there.
    (tmp_path / "test_bad.py").write_text(
        "import threading\ndef test_x(:\n    threading.Thread()\n"
    )
    # No rule needs this one: it is neither compiled nor parsed, and nothing is said.
    (tmp_path / "test_bad_unneeded.py").write_text("def test_x(:\n    pass\n")
    result = lint_path(tmp_path, all_rules())
    assert [(d.code, d.path.name) for d in result.diagnostics] == [("LL001", "test_bad.py")]
    assert result.files_parsed == 1


# --------------------------------------------------------------------------- parallel


def test_workers_give_the_serial_findings_in_the_same_order(stdlib_tree: Path) -> None:
    serial = lint_path(stdlib_tree, jobs=1)
    parallel = lint_path(stdlib_tree, jobs=2)
    assert _key(parallel) == _key(serial)
    assert parallel.files_parsed == serial.files_parsed


def test_workers_do_the_parsing(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"m{i}.py").write_text(f"x = {i}\n")
    result = lint_path(tmp_path, [Pid], jobs=2)
    pids = {d.message for d in result.diagnostics}
    assert len(result.diagnostics) == 12
    assert str(os.getpid()) not in pids


def test_workers_see_cross_file_facts(tmp_path: Path) -> None:
    root = _project_tree(tmp_path)
    (root / "tests/test_c.py").write_text(
        "import pytest\n\n@pytest.mark.asyncio(loop_scope='module')\nasync def test_c():\n"
        "    pass\n"
    )
    serial = lint_path(root, jobs=1)
    parallel = lint_path(root, jobs=2)
    assert _key(parallel) == _key(serial)
    test_codes = {d.code for d in serial.diagnostics if d.code.startswith("LL9")}
    assert test_codes == {"LL901", "LL902", "LL903", "LL904"}


def _several_loops_and_a_module_client(tmp_path: Path, default: str = "session") -> Path:
    """Tests on the session loop by default, one module on its own loop: only the marks tell
    (with a narrower ``default`` the config alone does)."""
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text(
        f"[pytest]\nasyncio_mode = auto\nasyncio_default_test_loop_scope = {default}\n"
    )
    (root / "tests/test_a.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.asyncio(loop_scope='module')\n\n"
        "async def test_a():\n    pass\n"
    )
    (root / "tests/test_b.py").write_text("async def test_b():\n    pass\n")
    for name in ("c", "d"):
        (root / f"tests/test_{name}.py").write_text(
            "import httpx\n\nclient = httpx.AsyncClient()\n\n"
            f"async def test_{name}():\n    await client.get('/')\n"
        )
    return root


@pytest.mark.parametrize("codes", [("LL202", "LL302"), ("LL302",)], ids=["with-LL202", "alone"])
def test_a_worker_defers_what_needs_the_projects_loop_use(
    tmp_path: Path, codes: tuple[str, ...]
) -> None:
    """LL302 reports a module-level client only when the tests run on several loops. A worker
    does not work that out alone (every async test module parsed again in each worker): the
    file comes back deferred, the pool works out the loops (from the modules the first pass
    resolved, parsing the others), and the file is checked again."""
    root = _several_loops_and_a_module_client(tmp_path)
    rules = [r for r in all_rules() if r.code in codes]
    serial = lint_path(root, rules, jobs=1)
    assert [(d.code, d.path.name) for d in serial.diagnostics] == [
        ("LL302", "test_c.py"),
        ("LL302", "test_d.py"),
    ]
    project = Project.load([root])
    parallel = lint(project, rules, jobs=2)
    assert _key(parallel) == _key(serial)
    assert not any(project.is_parsed(path) for path in project.python_files)  # all in workers
    assert project.loop_use_facts is not None
    one_process = Project.load([root])
    assert project.loop_use_facts[0] == loop_use(one_process)
    assert project.loop_use_facts[1] >= one_process.loop_use_facts[1]  # type: ignore[index]


def test_a_worker_knows_from_the_config_alone_that_the_tests_run_on_several_loops(
    tmp_path: Path,
) -> None:
    """Each test gets its own loop: no worker defers, and nothing is parsed to count loops."""
    root = _several_loops_and_a_module_client(tmp_path, default="function")
    rules = [r for r in all_rules() if r.code == "LL302"]
    serial = lint_path(root, rules, jobs=1)
    assert [(d.code, d.path.name) for d in serial.diagnostics] == [
        ("LL302", "test_c.py"),
        ("LL302", "test_d.py"),
    ]
    assert all("each test gets its own event loop" in d.message for d in serial.diagnostics)
    project = Project.load([root])
    parallel = lint(project, rules, jobs=2)
    assert _key(parallel) == _key(serial)
    assert project.loop_use_facts is None  # no file came back deferred
    assert project.graph is None
    worker = ProjectState.of(Project.load([root])).build()
    assert worker.defer_loop_use
    assert loop_use(worker).multiple
    assert not any(worker.is_parsed(path) for path in worker.python_files)


def test_loop_use_in_a_worker_is_deferred(tmp_path: Path) -> None:
    root = _several_loops_and_a_module_client(tmp_path)
    project = Project.load([root])
    project.defer_loop_use = True
    with pytest.raises(LoopUseDeferred):
        _ = loop_use(project)
    task = FileTask(root / "tests/test_c.py", (0,), report_syntax_error=True)
    rules = [r for r in all_rules() if r.code == "LL302"]
    assert check_file(project, task, rules).deferred


WIDE_FORMS = {
    "keyword.py": "@pytest_asyncio.fixture(scope='module')\nasync def a():\n    yield\n",
    "spaced.py": "@pytest.fixture(\n    scope = 'session',\n)\nasync def b():\n    yield\n",
    "positional.py": "@pytest.fixture('package')\nasync def c():\n    yield\n",
    "dynamic.py": "@pytest.fixture(**OPTIONS)\nasync def d():\n    yield\n",
    "alias.py": (
        "from pytest_asyncio import fixture as afixture\n\n"
        "@afixture(scope=pick)\nasync def e():\n    yield\n"
    ),
    "narrow.py": "@pytest_asyncio.fixture(loop_scope='module')\nasync def f():\n    yield\n",
}


@pytest.mark.parametrize("case", [*fixture_projects(), "forms"], ids=str)
def test_wide_async_fixtures_are_never_passed_over(tmp_path: Path, case: Path | str) -> None:
    """``async_fixtures(wide=True)`` skips files by their bytes: never one with an async
    fixture scoped wider than ``function`` (or dynamically)."""
    root = case
    if case == "forms":
        root = tmp_path
        for name, body in WIDE_FORMS.items():
            (tmp_path / name).write_text("import pytest, pytest_asyncio\n\n" + body)
    assert isinstance(root, Path)
    project = Project.load([root])

    def wide(fixtures: Iterable[FixtureDef]) -> set[tuple[Path, str]]:
        return {(f.path, f.name) for f in fixtures if f.scope != "function"}

    everything = wide(project.async_fixtures())
    assert wide(project.async_fixtures(wide=True)) == everything
    if case == "forms":
        assert {name for _, name in everything} == {"a", "b", "c", "d", "e"}
        skipped = [p.name for p in project.python_files if not project.is_parsed(p)]
        fresh = Project.load([root])
        list(fresh.async_fixtures(wide=True))
        assert [p.name for p in fresh.python_files if not fresh.is_parsed(p)] == ["narrow.py"]
        assert skipped == []


def test_a_finding_several_files_find_is_given_by_the_first(tmp_path: Path) -> None:
    (tmp_path / "shared.py").write_text("x = 1\n")
    for name in ("b", "a", "d", "c"):
        (tmp_path / f"m_{name}.py").write_text(f"SHARED = {name!r}\n")

    def found(**options: object) -> list[str]:
        return [d.message for d in lint_path(tmp_path, [SharedFinding], **options).diagnostics]

    assert found(jobs=1) == ["found from m_a.py"]
    assert found(jobs=3) == found(jobs=1, cache=True) == ["found from m_a.py"]
    # The first file's outcome cached, a later one checked again: still one, the first's.
    (tmp_path / "m_c.py").write_text("SHARED = 'again'\n")
    warm = lint_path(tmp_path, [SharedFinding], jobs=1, cache=True)
    assert [d.message for d in warm.diagnostics] == ["found from m_a.py"]
    assert warm.files_cached == 3
    # The first file no longer finds it: the next one gives it.
    (tmp_path / "m_a.py").write_text("x = 2\n")
    assert found(jobs=1, cache=True) == found(jobs=1) == ["found from m_b.py"]


def test_worker_count() -> None:
    assert worker_count(1, 1000) == 1
    assert worker_count(4, 3) == 3
    assert worker_count(None, 10) == 1  # small trees stay in one process
    assert worker_count(None, 10_000) >= 1


def test_diagnostics_survive_pickle_and_json(tmp_path: Path) -> None:
    diagnostic = Diagnostic(
        code="LL901",
        name="x",
        message="m",
        severity=Severity.ERROR,
        path=tmp_path / "a.py",
        location=Location(1, 2),
        end_location=Location(3, 4),
        fix=Fix(
            Applicability.SAFE,
            "do it",
            (Edit(tmp_path / "a.py", Location(1, 1), Location(1, 2), "y"),),
        ),
        help=None,
        notes=("first", "second"),
        dedup_key="shared",
    )
    assert pickle.loads(pickle.dumps(diagnostic)) == diagnostic
    as_json = json.loads(json.dumps(diagnostic_to_dict(diagnostic)))
    assert diagnostic_from_dict(as_json) == diagnostic
    bare = Diagnostic(
        "LL001", "n", "m", Severity.WARNING, Path("b.py"), Location(1, 1), Location(1, 1)
    )
    assert diagnostic_from_dict(diagnostic_to_dict(bare)) == bare


# --------------------------------------------------------------------------- cache


@pytest.fixture(autouse=True)
def _cache_beside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests look at .leaklint_cache beside their tmp_path projects."""
    monkeypatch.delenv("LEAKLINT_CACHE_DIR", raising=False)


def test_cache_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    monkeypatch.setenv("LEAKLINT_CACHE_DIR", str(shared))
    root = _project_tree(tmp_path)
    lint_path(root, cache=True)
    # No rule needs the conftest for its own findings (before, it had a syntax-only check).
    assert lint_path(root, cache=True).files_cached == 3
    assert not (root / CACHE_DIR).exists()
    assert list(shared.rglob("*.json"))


def test_cache_dir_option_then_environment_then_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project_tree(tmp_path / "project")
    (root / "leaklint.toml").write_text("cache-dir = 'build/lint-cache'\n")
    monkeypatch.chdir(root)
    runner = CliRunner()

    def entries(folder: Path) -> list[Path]:
        return sorted(folder.rglob("*.json"))

    # The settings file's cache-dir, relative to the settings file.
    first = runner.invoke(main, ["check", "--output-format", "concise", "."])
    assert first.exit_code == 1, first.output
    setting = root / "build" / "lint-cache"
    assert entries(setting) and not (root / CACHE_DIR).exists()
    assert (setting / ".gitignore").read_text().splitlines()[-1] == "*"
    # The environment beats the setting; --cache-dir beats both.
    from_env = tmp_path / "env-cache"
    monkeypatch.setenv("LEAKLINT_CACHE_DIR", str(from_env))
    runner.invoke(main, ["check", "."])
    assert entries(from_env)
    option = tmp_path / "option-cache"
    again = runner.invoke(main, ["check", "--output-format", "concise", "--cache-dir", str(option)])
    assert again.output == first.output
    assert entries(option) and (option / ".gitignore").is_file()
    # A warm run from the chosen folder reads every outcome from it.
    project = Project.load([root], settings=load_settings(root / "leaklint.toml"))
    lint(project, every_rule(), cache=True, cache_dir=option)
    project = Project.load([root], settings=load_settings(root / "leaklint.toml"))
    warm = lint(project, every_rule(), cache=True, cache_dir=option)
    assert warm.files_cached == 3 and warm.files_parsed == 0
    assert _key(warm) == _key(lint_path(root))
    # A cache-dir that is a file is a usage error, not a traceback.
    (tmp_path / "a-file").write_text("")
    refused = runner.invoke(main, ["check", "--cache-dir", str(tmp_path / "a-file"), "."])
    assert refused.exit_code == 2 and "Traceback" not in refused.output


def test_warm_run_parses_nothing_and_finds_the_same(tmp_path: Path) -> None:
    root = _project_tree(tmp_path)
    cold = lint_path(root, cache=True)
    warm = lint_path(root, cache=True)
    # Cold, three files are parsed for their own rules (the conftest is parsed only for
    # test_a.py's, and has no outcome of its own); three outcomes are cached, and a warm run
    # parses nothing.
    assert cold.files_cached == 0 and cold.files_parsed == 3
    assert warm.files_parsed == 0 and warm.files_cached == 3
    assert _key(warm) == _key(cold) == _key(lint_path(root))
    assert (root / CACHE_DIR / ".gitignore").read_text().splitlines()[-1] == "*"


def test_a_warm_run_searches_no_file_for_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaklint.run.engine import TokenSearch

    root = _project_tree(tmp_path)
    cold = lint_path(root, cache=True)
    searched: list[bytes] = []
    original = TokenSearch.has

    def has(self: TokenSearch, token: bytes) -> bool:
        if token not in self.known:
            searched.append(token)
        return original(self, token)

    monkeypatch.setattr(TokenSearch, "has", has)
    warm = lint_path(root, cache=True)
    assert searched == [] and _key(warm) == _key(cold)
    # An edited file is searched again, and only that file.
    (root / "app.py").write_text("import asyncio\n\nQUEUE = asyncio.Queue()\n")
    edited = lint_path(root, cache=True)
    assert searched and _key(edited) == _key(lint_path(root))


def test_an_edited_file_alone_is_parsed_again(tmp_path: Path) -> None:
    root = _project_tree(tmp_path)
    lint_path(root, cache=True)
    (root / "app.py").write_text("import threading\n\nthreading.Thread()\nthreading.Thread()\n")
    result = lint_path(root, cache=True)
    assert result.files_parsed == 1
    assert _key(result) == _key(lint_path(root))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("conftest.py", "import pytest\n\n@pytest.fixture\ndef other():\n    return 1\n"),
        ("pytest.ini", "[pytest]\nasyncio_mode = strict\npython_files = check_*.py\n"),
    ],
)
def test_a_conftest_or_config_change_invalidates_everything(
    tmp_path: Path, name: str, text: str
) -> None:
    root = _project_tree(tmp_path)
    before = lint_path(root, cache=True)
    (root / name).write_text(text)
    after = lint_path(root, cache=True)
    assert after.files_cached == 0
    assert _key(after) == _key(lint_path(root))
    assert _key(after) != _key(before)


def test_a_conftest_above_the_linted_path_is_part_of_the_key(tmp_path: Path) -> None:
    """Linting ``tests/`` alone: the rootdir's conftest is no linted file, but pytest loads it,
    and the cross-loop findings below depend on it."""
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    conftest = root / "conftest.py"
    conftest.write_text(
        "import pytest_asyncio\n\n"
        '@pytest_asyncio.fixture(scope="session", loop_scope="session")\n'
        "async def pool():\n    yield object()\n"
    )
    (root / "tests/test_a.py").write_text("async def test_a(pool):\n    assert pool\n")
    rules = [r for r in all_rules() if r.code == "LL202"]
    assert [d.code for d in lint_path(root / "tests", rules, cache=True).diagnostics] == ["LL202"]
    conftest.write_text(conftest.read_text().replace("session", "function"))
    assert lint_path(root / "tests", rules, cache=True).diagnostics == []


def test_a_module_that_starts_using_anyio_changes_the_strict_mode_findings(
    tmp_path: Path,
) -> None:
    """LL207 stays quiet once any module uses anyio's plugin: a fact of every test module."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    (root / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\nasync def client():\n    yield 1\n"
    )
    (root / "test_a.py").write_text(
        "import pytest\n\n@pytest.fixture\nasync def server():\n    yield 2\n\n"
        "@pytest.mark.asyncio\nasync def test_a(client, server):\n    pass\n"
    )
    rules = [r for r in all_rules() if r.code == "LL207"]
    found = lint_path(root, rules, cache=True).diagnostics
    assert [(d.code, d.path.name) for d in found] == [
        ("LL207", "conftest.py"),
        ("LL207", "test_a.py"),
    ]
    (root / "test_b.py").write_text(
        "import pytest\n\n@pytest.mark.anyio\nasync def test_b():\n    pass\n"
    )
    assert lint_path(root, rules, cache=True).diagnostics == []


def test_entries_that_read_other_files_follow_them(tmp_path: Path) -> None:
    root = _project_tree(tmp_path)
    # Tests on the session loop by default: the marks of the test modules decide the loops.
    (root / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_test_loop_scope = session\n"
    )
    first = lint_path(root, cache=True)
    assert "LL904" not in {d.code for d in first.diagnostics}
    # A second loop appears in another file: test_a's finding must change.
    (root / "tests/test_c.py").write_text(
        "import pytest\n\n@pytest.mark.asyncio(loop_scope='module')\nasync def test_c():\n"
        "    pass\n"
    )
    second = lint_path(root, cache=True)
    assert _key(second) == _key(lint_path(root))
    assert {d.path.name for d in second.diagnostics if d.code == "LL904"} == {
        "test_a.py",
        "test_c.py",
    }
    # Files that read nothing but themselves and the conftests kept their entries.
    assert second.files_cached >= 2
    # test_a.py turns sync: test_c.py (which asked for the loop use after test_a.py had
    # computed it) must lose its finding too.
    (root / "tests/test_a.py").write_text("import threading\n\ndef test_a(server):\n    pass\n")
    third = lint_path(root, cache=True)
    assert _key(third) == _key(lint_path(root))
    assert "LL904" not in {d.code for d in third.diagnostics}
    # Editing application code leaves entries that read only test modules valid.
    (root / "tests/test_e.py").write_text("async def test_e():\n    pass\n")
    lint_path(root, cache=True)
    (root / "app.py").write_text("x = 1\n")
    fourth = lint_path(root, cache=True)
    assert _key(fourth) == _key(lint_path(root))
    assert fourth.files_parsed == 0  # app.py needs no tree any more; the rest is cached


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    root = _project_tree(tmp_path)
    expected = _key(lint_path(root, cache=True))
    [cache_file] = (root / CACHE_DIR).rglob("*.json")
    document = json.loads(cache_file.read_text())
    for entry in document["files"].values():
        entry["diagnostics"] = [{"code": 1}]
    cache_file.write_text(json.dumps(document))
    damaged = lint_path(root, cache=True)
    assert damaged.files_cached == 0
    assert _key(damaged) == expected
    cache_file.write_text("{not json")
    assert _key(lint_path(root, cache=True)) == expected
    cache_file.write_bytes(b"\xff\x00")
    assert _key(lint_path(root, cache=True)) == expected


def test_cli_cache_and_jobs_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project_tree(tmp_path)
    (root / "tests/test_bad.py").write_text(
        "import threading\ndef test_x(:\n    threading.Thread()\n"
    )
    monkeypatch.chdir(root)
    runner = CliRunner()
    first = runner.invoke(main, ["check", "--no-cache", "--jobs", "2", "."])
    assert first.exit_code == 1, first.output
    assert "LL001" in first.output
    assert not (root / CACHE_DIR).exists()
    second = runner.invoke(main, ["check", "."])
    assert second.output == first.output
    assert (root / CACHE_DIR / ".gitignore").is_file()
    assert runner.invoke(main, ["check", "--jobs", "0", "."]).exit_code == 2


# --------------------------------------------------------------------------- LL202 per module


def _cross_loop_project(root: Path) -> Path:
    """Three test modules in one folder that reach async fixtures of a conftest and of a
    ``pytest_plugins`` module on other loops. ``session`` (function loop) uses ``pool`` (session
    loop) through the sync ``link``, which test_b.py overrides: that fixture finding is one
    finding, whose chain the first test module that reaches it gives."""
    files = {
        "pytest.ini": (
            "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        ),
        "conftest.py": (
            "import pytest\nimport pytest_asyncio\n\n\n"
            "@pytest_asyncio.fixture(scope='session', loop_scope='session')\n"
            "async def pool():\n    yield object()\n\n\n"
            "@pytest.fixture\ndef link(pool):\n    return pool\n\n\n"
            "@pytest_asyncio.fixture\nasync def session(link):\n    yield link\n"
        ),
        "tests/helpers.py": (
            "import pytest_asyncio\n\n\n"
            "@pytest_asyncio.fixture(scope='module', loop_scope='module')\n"
            "async def server():\n    yield object()\n"
        ),
        "tests/test_a.py": (
            "pytest_plugins = ['tests.helpers']\n\n\nasync def test_a(session, server):\n    pass\n"
        ),
        "tests/test_b.py": (
            "import pytest\n\npytest_plugins = ['tests.helpers']\n\n\n"
            "@pytest.fixture\ndef middle(pool):\n    return pool\n\n\n"
            "@pytest.fixture\ndef link(middle):\n    return middle\n\n\n"
            "async def test_b(session, server):\n    pass\n"
        ),
        "tests/test_c.py": "async def test_c(pool):\n    pass\n\n\ndef test_sync():\n    pass\n",
    }
    return write_tree(root, files)


def _fixture_findings(result: LintResult) -> list[str]:
    return [d.message for d in result.diagnostics if d.message.startswith("async fixture")]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths libcst parses in this process, in order."""
    from leaklint.python.source import SourceFile

    parsed: list[Path] = []
    original = SourceFile.parse

    def parse(path: Path, raw: bytes) -> SourceFile:
        parsed.append(path)
        return original(path, raw)

    monkeypatch.setattr(SourceFile, "parse", staticmethod(parse))
    return parsed


def test_cross_loop_findings_of_one_module(tmp_path: Path) -> None:
    root = _cross_loop_project(tmp_path)
    result = lint_path(root, all_rules(), jobs=1)
    found = [(d.path.relative_to(root).as_posix(), d.message) for d in result.diagnostics]
    assert found == [
        (
            "conftest.py",
            "async fixture `session` runs on the function loop but uses `pool` (via `link`), "
            "set up on the session loop at conftest.py:6",
        ),
        (
            "tests/test_a.py",
            "test_a runs on the function loop but uses `server`, set up on the module loop at "
            "tests/helpers.py:5",
        ),
        (
            "tests/test_b.py",
            "test_b runs on the function loop but uses `server`, set up on the module loop at "
            "tests/helpers.py:5",
        ),
        (
            "tests/test_c.py",
            "test_c runs on the function loop but uses `pool`, set up on the session loop at "
            "conftest.py:6",
        ),
    ]


def test_an_edited_test_module_alone_is_parsed_for_cross_loop_uses(
    tmp_path: Path, parses: list[Path]
) -> None:
    root = _cross_loop_project(tmp_path)
    cold = lint_path(root, all_rules(), cache=True, jobs=1)
    # Cold, each test module is parsed once: the cross-loop analysis shares the file rules'
    # parse. (A plugin module checked before a test module names it is parsed again.)
    modules = [path for path in parses if path.name.startswith("test_")]
    assert len(modules) == len(set(modules)) == 3
    parses.clear()
    edited = root / "tests/test_b.py"
    edited.write_text(edited.read_text() + "# edited\n")
    warm = lint_path(root, all_rules(), cache=True, jobs=1)
    # The other test modules are not parsed again: their findings come from the cache.
    assert warm.files_parsed == 1
    assert set(parses) == {edited, root / "conftest.py", root / "tests/helpers.py"}
    assert _key(warm) == _key(cold) == _key(lint_path(root, all_rules(), jobs=1))


def test_a_changed_plugin_module_refreshes_the_findings_of_every_module_naming_it(
    tmp_path: Path,
) -> None:
    root = _cross_loop_project(tmp_path)
    rules = [r for r in all_rules() if r.code == "LL202"]
    lint_path(root, rules, cache=True, jobs=1)
    # test_b.py takes the plugin's fixtures from what test_a.py already resolved; it still
    # depends on the plugin module.
    helpers = root / "tests/helpers.py"
    helpers.write_text(helpers.read_text().replace("loop_scope='module'", "loop_scope='function'"))
    fresh = lint_path(root, rules, cache=True, jobs=1)
    assert fresh.files_cached == 1  # test_c.py names no plugin
    assert _key(fresh) == _key(lint_path(root, rules, jobs=1))
    assert not any("server" in d.message for d in fresh.diagnostics)


def test_a_plugin_module_written_where_one_was_looked_for_is_seen(tmp_path: Path) -> None:
    root = _cross_loop_project(tmp_path)
    rules = [r for r in all_rules() if r.code == "LL202"]
    test_c = root / "tests/test_c.py"
    test_c.write_text("pytest_plugins = ['tests.later']\n\n\nasync def test_c(later):\n    pass\n")
    before = lint_path(root, rules, cache=True, jobs=1)
    assert not any(d.path == test_c for d in before.diagnostics)  # `later`: unknown
    (root / "tests/later.py").write_text(
        "import pytest_asyncio\n\n\n@pytest_asyncio.fixture(loop_scope='session')\n"
        "async def later():\n    yield object()\n"
    )
    after = lint_path(root, rules, cache=True, jobs=1)
    assert _key(after) == _key(lint_path(root, rules, jobs=1))
    assert [d.path for d in after.diagnostics].count(test_c) == 1


def test_a_fixture_finding_comes_from_the_first_module_that_reaches_it(tmp_path: Path) -> None:
    root = _cross_loop_project(tmp_path)
    rules = [r for r in all_rules() if r.code == "LL202"]
    first = "uses `pool` (via `link`), set up"
    cold = lint_path(root, rules, cache=True, jobs=1)
    assert len(_fixture_findings(cold)) == 1 and first in _fixture_findings(cold)[0]
    # test_a.py's outcome from the cache, test_b.py's fresh: still one finding, test_a.py's.
    test_b = root / "tests/test_b.py"
    test_b.write_text(test_b.read_text() + "# edited\n")
    warm = lint_path(root, rules, cache=True, jobs=1)
    assert warm.files_cached == 2
    assert _key(warm) == _key(cold)
    # test_a.py no longer reaches it: test_b.py gives it now, cached or not.
    test_a = root / "tests/test_a.py"
    test_a.write_text(test_a.read_text().replace("session, server", "server"))
    later = lint_path(root, rules, cache=True, jobs=1)
    [message] = _fixture_findings(later)
    assert "uses `pool` (via `link`, `middle`), set up" in message
    assert _key(later) == _key(lint_path(root, rules, jobs=1))
    assert _key(lint_path(root, rules, cache=True, jobs=1)) == _key(later)


def test_a_worker_checks_a_test_module_without_reading_the_others(tmp_path: Path) -> None:
    from leaklint.run.engine import FileTask, check_file
    from leaklint.run.parallel import ProjectState

    root = _cross_loop_project(tmp_path)
    rules = [r for r in all_rules() if r.code == "LL202"]
    project = Project.load([root])
    _ = project.uses_pytest_asyncio
    worker = ProjectState.of(project).build()  # what a worker process starts from
    expected = {"conftest.py"}
    for name, needs in (("test_c", ()), ("test_b", ("tests/helpers.py",))):
        path = root / "tests" / f"{name}.py"
        outcome = check_file(worker, FileTask(path, (0,), True), rules)
        assert outcome.diagnostics and not outcome.internal_errors
        expected |= {f"tests/{name}.py", *needs}
        assert {p.relative_to(root).as_posix() for p in worker._raw} == expected
        assert not worker.is_parsed(path)  # dropped once checked


def test_cross_loop_findings_in_workers_with_and_without_the_prefilter(tmp_path: Path) -> None:
    root = _cross_loop_project(tmp_path)
    for i in range(6):  # more modules than workers, each reaching the shared fixture finding
        (root / f"tests/test_m{i}.py").write_text(
            "import pytest\n\npytest_plugins = ['tests.helpers']\n\n\n"
            f"@pytest.fixture\ndef link(pool):\n    return {i}\n\n\n"
            f"async def test_m{i}(session, server):\n    pass\n"
        )
    rules = all_rules()
    serial = lint_path(root, rules, jobs=1)
    assert len(_fixture_findings(serial)) == 1
    assert _key(lint_path(root, rules, jobs=2)) == _key(serial)
    assert _key(lint_path(root, rules, jobs=3, prefilter=False)) == _key(serial)
    cold = lint_path(root, rules, jobs=2, cache=True)
    warm = lint_path(root, rules, jobs=2, cache=True)
    assert _key(cold) == _key(warm) == _key(serial)
    assert warm.files_parsed == 0


# --------------------------------------------------------------------------- walk


def _recorder_class(
    only: set[str] | None = None, attributes: Sequence[str] = ()
) -> type[cst.BatchableCSTVisitor]:
    """A visitor with a visit_ and a leave_ method for every node type (or those ``only``
    names) and for the ``attributes`` (``"FunctionDef_body"``), logging each call."""

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in cls.__subclasses__()))

    names = sorted({c.__name__ for c in subclasses(cst.CSTNode) if not c.__name__.startswith("_")})
    namespace: dict[str, object] = {}

    def handler(method: str) -> Callable[..., None]:
        def record(self: Any, node: cst.CSTNode) -> None:
            self.log.append((method, node))

        # libcst finds a batched visitor's methods by their __name__.
        record.__name__ = record.__qualname__ = method
        return record

    for name in names:
        if only is None or name in only:
            for kind in ("visit", "leave"):
                namespace[f"{kind}_{name}"] = handler(f"{kind}_{name}")
    for name in attributes:
        for kind in ("visit", "leave"):
            namespace[f"{kind}_{name}"] = handler(f"{kind}_{name}")

    def __init__(self: cst.BatchableCSTVisitor) -> None:
        cst.BatchableCSTVisitor.__init__(self)
        self.log = []  # type: ignore[attr-defined]

    namespace["__init__"] = __init__
    return type("Recorder", (cst.BatchableCSTVisitor,), namespace)


# The attribute visitors leaklint's rules use, and node types that are not trivia.
ATTRIBUTES = ("FunctionDef_body", "Lambda_body", "ClassDef_body", "If_body", "If_orelse")
SOME_NODES = {"Module", "FunctionDef", "Call", "Name", "Attribute", "Assign", "If", "With"}


@pytest.mark.parametrize(
    "recorder",
    [
        _recorder_class(),
        _recorder_class(SOME_NODES, ATTRIBUTES),
        _recorder_class(set(), ATTRIBUTES),
    ],
    ids=["every-node", "some-nodes-and-attributes", "attributes-only"],
)
def test_walk_makes_libcst_calls_on_the_same_nodes_in_the_same_order(
    stdlib_tree: Path, recorder: type[cst.BatchableCSTVisitor]
) -> None:
    from leaklint.python.walk import walk_batched

    sources = sorted(stdlib_tree.rglob("*.py"))[::10]
    sources += sorted(Path(__file__).parent.parent.glob("fixtures/**/*.py"))
    sources.append(Path(__file__))
    compared = calls = 0
    for path in sources:
        try:
            module = cst.parse_module(path.read_bytes())
        except cst.ParserSyntaxError:
            continue
        expected, actual = recorder(), recorder()
        cst.visit_batched(module, [expected])
        walk_batched(module, [actual])
        assert len(actual.log) == len(expected.log), path  # type: ignore[attr-defined]
        for (kind_a, node_a), (kind_b, node_b) in zip(
            actual.log,  # type: ignore[attr-defined]
            expected.log,  # type: ignore[attr-defined]
            strict=True,
        ):
            assert kind_a == kind_b and node_a is node_b, path
        compared += 1
        calls += len(expected.log)  # type: ignore[attr-defined]
    assert compared > 15
    assert calls > 1_000  # libcst really called the recorder


def test_attribute_visitors_are_called() -> None:
    from leaklint.python.walk import walk_batched

    class Bodies(cst.BatchableCSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
            self.seen.append(node.name.value)

    visitor = Bodies()
    walk_batched(cst.parse_module("def f():\n    def g():\n        pass\n"), [visitor])
    assert visitor.seen == ["f", "g"]


def test_what_crosses_to_workers_pickles(tmp_path: Path) -> None:
    """Under the spawn and forkserver start methods everything sent to a worker is pickled."""
    from leaklint.run.engine import FileOutcome, FileTask
    from leaklint.run.parallel import ProjectState

    root = _project_tree(tmp_path)
    (root / "pytest.ini").unlink()
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_mode = "auto"\naddopts = "-p no:cacheprovider"\n'
        'python_files = ["test_*.py", "check_*.py"]\n'
    )
    project = Project.load([root])
    _ = project.uses_pytest_asyncio, loop_use(project)
    state = pickle.loads(pickle.dumps(ProjectState.of(project)))
    rebuilt = state.build()
    assert rebuilt.config == project.config
    assert rebuilt.python_files == project.python_files
    assert loop_use(rebuilt) == loop_use(project)
    assert rebuilt.__dict__["uses_pytest_asyncio"] is True
    task = FileTask(root / "app.py", (0, 2), True)
    assert pickle.loads(pickle.dumps(task)) == task
    outcome = lint_path(root, jobs=1)
    carried = FileOutcome(outcome.diagnostics, ["x"], parsed=True, reads="tests")
    assert pickle.loads(pickle.dumps(carried)) == carried
    assert pickle.loads(pickle.dumps(TEST_RULES)) == TEST_RULES


def test_entries_of_deleted_files_are_dropped(tmp_path: Path) -> None:
    root = _project_tree(tmp_path)
    lint_path(root, cache=True)
    (root / "tests/test_b.py").unlink()
    (root / "app.py").write_text("import threading\nthreading.Thread()\n")
    lint_path(root, cache=True)
    [cache_file] = (root / CACHE_DIR).rglob("*.json")
    names = {Path(name).name for name in json.loads(cache_file.read_text())["files"]}
    assert names == {"test_a.py", "app.py"}  # no rule needs the conftest for itself


def test_walk_survives_deep_trees() -> None:
    from leaklint.python.walk import walk_batched

    class Strings(cst.BatchableCSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            self.count += 1

    # An implicit concatenation nests one level per string (pydoc_data/topics.py does this).
    module = cst.parse_module("x = (\n" + "    'a'\n" * 3000 + ")\n")
    visitor = Strings()
    walk_batched(module, [visitor])
    assert visitor.count == 3000
