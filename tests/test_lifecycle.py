"""Thread, executor and process ownership (leaklint.model.lifecycle) and the LL401-LL404 fixes."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from harness import FIXTURES, lint_project

from leaklint.diagnostics import Diagnostic, Edit
from leaklint.model.lifecycle import Kind, resources
from leaklint.model.project import Project
from leaklint.python.source import SourceFile
from leaklint.rules.base import RuleSelection
from leaklint.run.engine import lint


def apply(text: str, edits: tuple[Edit, ...]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(row: int, column: int) -> int:
        return offsets[row - 1] + column - 1

    for edit in sorted(edits, key=lambda e: (e.start.row, e.start.column), reverse=True):
        start = offset(edit.start.row, edit.start.column)
        end = offset(edit.end.row, edit.end.column)
        text = text[:start] + edit.content + text[end:]
    return text


def check(tmp_path: Path, code: str, select: str, name: str = "test_x.py") -> list[Diagnostic]:
    (tmp_path / name).write_text(code)
    project = Project.load([tmp_path])
    return lint(project, RuleSelection(select=(select,)).rules()).diagnostics


def fixed(tmp_path: Path, code: str, select: str) -> str:
    found = check(tmp_path, code, select)
    assert len(found) == 1, found
    assert found[0].fix is not None
    result = apply(code, found[0].fix.edits)
    cst.parse_module(result)
    return result


def test_resources_are_shared_between_rules() -> None:
    source = SourceFile.parse(Path("x.py"), b"import threading\nt = threading.Thread()\n")
    first = resources(source)
    assert first is resources(source)
    assert [r.kind for r in first] == [Kind.THREAD]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("T()", "T(daemon=True)"),
        ("T(target=f)", "T(target=f, daemon=True)"),
        ("T(target=f, daemon=False)", "T(target=f, daemon=True)"),
        (
            "T(\n        target=f,\n    )",
            "T(\n        target=f, daemon=True,\n    )",
        ),
    ],
)
def test_daemon_fix(tmp_path: Path, before: str, after: str) -> None:
    code = f"from threading import Thread as T\n\ndef test_x():\n    t = {before}\n    t.start()\n"
    assert fixed(tmp_path, code, "LL401") == code.replace(before, after)


def test_timer_gets_advice_not_an_edit(tmp_path: Path) -> None:
    code = "import threading\n\ndef f():\n    t = threading.Timer(1, f)\n    t.start()\n"
    [found] = check(tmp_path, code, "LL401")
    assert found.fix is None and found.help


def test_with_rewrite(tmp_path: Path) -> None:
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n\n"
        "def test_x():\n"
        "    ex = ThreadPoolExecutor(\n        2,\n    )  # workers\n"
        "    # submit\n    f = ex.submit(print)\n\n    assert f.result() is None\n"
    )
    expected = (
        "from concurrent.futures import ThreadPoolExecutor\n\n"
        "def test_x():\n"
        "    with ThreadPoolExecutor(\n        2,\n    ) as ex:  # workers\n"
        "        # submit\n        f = ex.submit(print)\n\n        assert f.result() is None\n"
    )
    assert fixed(tmp_path, code, "LL403") == expected
    [found] = check(tmp_path, code, "LL403")
    assert found.fix is not None and found.fix.applicability.value == "safe"


def test_with_rewrite_unsafe_for_pools_and_inner_blocks(tmp_path: Path) -> None:
    code = (
        "import multiprocessing\n\ndef f(x):\n"
        "    pool = multiprocessing.Pool(2)\n    pool.apply_async(f, (1,))\n    return 1\n"
    )
    [found] = check(tmp_path, code, "LL403")
    assert found.fix is not None and found.fix.applicability.value == "unsafe"


@pytest.mark.parametrize(
    "tail",
    [
        "    return ex\n",  # escapes
        "    g(ex)\n",  # passed on
    ],
)
def test_escaping_executor_is_silent(tmp_path: Path, tail: str) -> None:
    head = "from concurrent.futures import ThreadPoolExecutor\n\ndef f():\n"
    code = f"{head}    ex = ThreadPoolExecutor()\n{tail}"
    assert check(tmp_path, code, "LL403") == []


def test_no_with_rewrite_when_used_after_block(tmp_path: Path) -> None:
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n\ndef f(flag):\n"
        "    if flag:\n        ex = ThreadPoolExecutor()\n        ex.submit(print)\n"
        "    ex.submit(print)\n"
    )
    [found] = check(tmp_path, code, "LL403")
    assert found.fix is None and found.help


def test_no_with_rewrite_over_multiline_string(tmp_path: Path) -> None:
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n\ndef f():\n"
        '    ex = ThreadPoolExecutor()\n    ex.submit(print, """a\nb""")\n'
    )
    [found] = check(tmp_path, code, "LL403")
    assert found.fix is None


def test_popen_with_rewrite_is_unsafe(tmp_path: Path) -> None:
    code = "import subprocess\n\ndef f():\n    p = subprocess.Popen(['x'])\n    p.kill()\n"
    [found] = check(tmp_path, code, "LL404")
    assert found.fix is not None and found.fix.applicability.value == "unsafe"
    assert apply(code, found.fix.edits).endswith(
        "    with subprocess.Popen(['x']) as p:\n        p.kill()\n"
    )


def test_runs_on_application_code(tmp_path: Path) -> None:
    code = "import threading\n\ndef serve():\n    threading.Thread(target=serve).start()\n"
    [found] = check(tmp_path, code, "LL401", name="server.py")
    assert found.code == "LL401"


SNIPPET = """
@deco(a)
async def f(x: int = g(), *args: T, k=h(), **kw) -> R:
    async with a() as (b, c), d:
        match x:
            case {"k": [y, *rest]} if y > z():
                print(f"{y!r:>{w()}}", *rest, **kw)
            case Point(x=0) | None:
                pass
    lam = lambda q=r(): q[s():t()]
    del u.v, w[x]
    global G
    (n := m())
    return [i async for i in j() if await k(i)] + {**d1, 'e': e()}
"""


@pytest.mark.parametrize("which", ["lifecycle", "snippet"])
def test_walk_reaches_every_name_and_call_libcst_does(which: str) -> None:
    import leaklint.model.lifecycle as lifecycle
    from leaklint.python.walk import walk

    text = Path(lifecycle.__file__).read_text() if which == "lifecycle" else SNIPPET
    module = cst.parse_module(text)

    class Collect(cst.CSTVisitor):
        def __init__(self) -> None:
            self.seen: set[int] = set()

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.Name, cst.Call, cst.Attribute)):
                self.seen.add(id(node))
            return True

    expected = Collect()
    module.visit(expected)
    seen: set[int] = set()
    walk(
        module,
        lambda n: seen.add(id(n)) if isinstance(n, (cst.Name, cst.Call, cst.Attribute)) else None,
        lambda n: None,
    )
    assert seen == expected.seen


def test_fixture_returning_an_executor_gets_no_with_rewrite(tmp_path: Path) -> None:
    # ``with`` would shut the executor down before the test could use it.
    code = (
        "import pytest\nfrom concurrent.futures import ThreadPoolExecutor\n\n"
        "@pytest.fixture\ndef ex():\n    ex = ThreadPoolExecutor()\n    return ex\n"
    )
    [found] = check(tmp_path, code, "LL403")
    assert found.fix is None and found.help


def test_list_literal_timed_join_fix_edits_every_constructor(tmp_path: Path) -> None:
    code = (
        "from threading import Thread as T\n\ndef test_x():\n"
        "    threads = [T(), T(target=f)]\n    for t in threads:\n        t.start()\n"
        "    for t in threads:\n        t.join(1)\n"
    )
    assert fixed(tmp_path, code, "LL402") == code.replace(
        "[T(), T(target=f)]", "[T(daemon=True), T(target=f, daemon=True)]"
    )


SUBCLASS_TREE = {
    "pytest.ini": "[pytest]\n",
    "app/__init__.py": "",
    "app/workers.py": "import threading\n\nclass Worker(threading.Thread):\n    pass\n",
    "tests/test_w.py": "from app.workers import Worker\n\ndef test_w():\n    Worker().start()\n",
}


def test_an_edit_of_the_subclass_module_reaches_cached_findings(tmp_path: Path) -> None:
    from harness import write_tree

    root = write_tree(tmp_path / "p", SUBCLASS_TREE)
    cache_dir = tmp_path / "cache"
    rules = RuleSelection(select=("LL401",)).rules()

    def run() -> list[str]:
        result = lint(Project.load([root]), rules, cache=True, cache_dir=cache_dir)
        return [f"{d.path.name}:{d.location.row}" for d in result.diagnostics]

    assert run() == ["test_w.py:4"]
    assert run() == ["test_w.py:4"]
    workers = root / "app" / "workers.py"
    workers.write_text(workers.read_text() + "    daemon = True\n")
    assert run() == []
    workers.write_text("class Worker:\n    pass\n")
    assert run() == []
    # The test module holds no thread token: the subclass's name brings its check back.
    workers.write_text(SUBCLASS_TREE["app/workers.py"])
    assert run() == ["test_w.py:4"]


def test_a_thread_bound_to_no_variable_goes_by_its_literal_name() -> None:
    case = FIXTURES / "threads" / "thread_names"
    subjects = {
        d.location.row: d.message.split(" is started", 1)[0] for d in lint_project(case).diagnostics
    }
    assert subjects == {
        10: 'non-daemon thread named "progress" (threading.Thread)',
        15: 'non-daemon thread named "ticker" (threading.Thread)',
        20: "non-daemon thread (threading.Thread)",  # an f-string: known at run time only
        25: "non-daemon thread (threading.Thread)",  # a constant: not followed
        30: "non-daemon unnamed thread (threading.Thread)",
        35: "non-daemon thread `t` (threading.Thread)",  # the variable comes first
        40: 'non-daemon process named "printer" (multiprocessing.Process)',
    }
