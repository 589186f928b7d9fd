"""Fuzzing: random Python and random pytest configs through the whole engine never raise.

A quick profile runs with the normal suite. The long one runs with ``LEAKLINT_FUZZ=1``
(``LEAKLINT_FUZZ=1 python -m pytest tests/test_fuzz.py --hypothesis-show-statistics``), 2,000
examples a test; ``LEAKLINT_FUZZ_EXAMPLES=N`` sets another count.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import hypothesmith
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.core import given

from leaklint.model.project import Project
from leaklint.rules.base import RuleSelection
from leaklint.run.engine import lint

LONG = os.environ.get("LEAKLINT_FUZZ") == "1"
EXAMPLES = int(os.environ.get("LEAKLINT_FUZZ_EXAMPLES", "2000" if LONG else "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EVERY_RULE = RuleSelection(select=("ALL",))

# Snippets in the domain: they make random programs reach the rules' interesting paths.
DOMAIN_LINES = [
    "import asyncio",
    "import asyncio as aio",
    "import threading",
    "from threading import Thread as T",
    "import pytest",
    "import pytest_asyncio",
    "from concurrent.futures import ThreadPoolExecutor",
    "import subprocess",
    "import multiprocessing as mp",
    "pytestmark = pytest.mark.asyncio(loop_scope='module')",
    "@pytest.fixture(scope='session')\ndef res():\n    yield asyncio.Queue()",
    "@pytest_asyncio.fixture(scope='module', loop_scope='function')\n"
    "async def conn():\n    return 1",
    "@pytest.fixture\ndef event_loop():\n    loop = asyncio.new_event_loop()\n    yield loop",
    "t = threading.Thread(target=print)\nt.start()",
    "T(target=print, daemon=False).start()",
    "ex = ThreadPoolExecutor()\nex.submit(print)",
    "p = subprocess.Popen(['true'])",
    "reader = asyncio.StreamReader()",
    "async def test_x(conn, res):\n    await asyncio.sleep(0)",
    "class TestA:\n    async def test_y(self, conn):\n        pass",
    "global_engine = None\ndef get():\n    global global_engine\n    return global_engine",
    "loop = asyncio.get_event_loop()",
]


def lint_tree(files: dict[str, str | bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        project = Project.load([root])
        result = lint(project, EVERY_RULE.rules())
        assert not result.internal_errors, result.internal_errors


@FUZZ
@given(source=hypothesmith.from_grammar())
def test_random_valid_python_never_raises(source: str) -> None:
    lint_tree({"test_random.py": source, "conftest.py": source})


@FUZZ
@given(lines=st.lists(st.sampled_from(DOMAIN_LINES), min_size=1, max_size=12))
def test_random_domain_programs_never_raise(lines: list[str]) -> None:
    source = "\n".join(lines) + "\n"
    lint_tree({"test_domain.py": source, "conftest.py": source, "src/app.py": source})


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    lint_tree({"test_bytes.py": data})


KEYS = st.sampled_from(
    [
        "asyncio_mode",
        "asyncio_default_fixture_loop_scope",
        "asyncio_default_test_loop_scope",
        "addopts",
        "filterwarnings",
        "timeout",
        "python_files",
        "python_functions",
        "python_classes",
        "asyncio_debug",
    ]
)
TEXT_VALUES = st.sampled_from(
    [
        "auto",
        "strict",
        "sesion",
        "function",
        "session",
        "fixture-scope",
        "-n 4 --asyncio-mode=auto",
        "-p no:asyncio -o asyncio_mode=auto",
        "--timeout",
        "ignore::ResourceWarning",
        "test_*.py check_*.py",
        "",
        "'unterminated",
        "=",
    ]
)
TOML_VALUES = st.one_of(
    TEXT_VALUES.map(lambda v: '"' + v.replace("\\", "").replace('"', "") + '"'),
    st.integers(-5, 5).map(str),
    st.sampled_from(["true", "false", "[]", '["-n", "2"]', "{a = 1}", "[1, 2", '"""x"""']),
)
INI_HEADERS = st.sampled_from(["[pytest]", "[tool:pytest]", "[other]", "[pytest", "pytest]", ""])
TOML_HEADERS = st.sampled_from(
    ["[tool.pytest.ini_options]", "[tool.pytest]", "[pytest]", "[tool.leaklint]", "[tool", ""]
)


@st.composite
def ini_file(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append(draw(INI_HEADERS))
        for _ in range(draw(st.integers(0, 4))):
            sep = draw(st.sampled_from([" = ", "=", ": ", " "]))
            lines.append(f"{draw(KEYS)}{sep}{draw(TEXT_VALUES)}")
            if draw(st.booleans()):
                lines.append("    " + draw(TEXT_VALUES))
    return "\n".join(lines) + "\n"


@st.composite
def toml_file(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append(draw(TOML_HEADERS))
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"{draw(KEYS)} = {draw(TOML_VALUES)}")
    return "\n".join(lines) + "\n"


CONFIG_NAMES = st.sampled_from(
    ["pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml", "pytest.toml"]
)


@FUZZ
@given(
    configs=st.dictionaries(CONFIG_NAMES, st.one_of(ini_file(), toml_file()), max_size=4),
    test_source=st.sampled_from(["", "import pytest_asyncio\n", "async def test_a():\n    pass\n"]),
)
def test_random_pytest_configs_never_raise(configs: dict[str, str], test_source: str) -> None:
    lint_tree({**configs, "tests/test_a.py": test_source})


# --------------------------------------------------------------------------- fixes

FIXABLE_BLOCKS = [
    "@pytest.fixture(scope='module')\nasync def mod_conn():\n    yield 1",
    "@pytest_asyncio.fixture(scope='session', loop_scope='function')\nasync def sess():\n"
    "    return 2",
    "@pytest.mark.asyncio(scope='module')\nasync def test_marked():\n    pass",
    "pytestmark = [pytest.mark.asyncio(scope='module'), pytest.mark.slow]",
    "class TestGroup:\n    @pytest.fixture\n    async def inner(self):\n        yield 3\n"
    "    async def test_inner(self, inner):\n        pass",
    "@fixture(scope='class')  # keep this comment\nasync def aliased():\n    return 4",
    "@pytest.fixture\ndef event_loop():\n    loop = asyncio.new_event_loop()\n    yield loop\n"
    "    loop.close()",
    "async def test_plain(mod_conn):\n    assert mod_conn",
    "x = 1  # an unrelated line that must survive",
]
HEADERS = st.sampled_from(
    [
        "import asyncio\nimport pytest\n",
        "import asyncio\nimport pytest\nimport pytest_asyncio\n",
        "import asyncio\nimport pytest as pt\nfrom pytest import fixture\nimport pytest\n",
    ]
)
MODES = st.sampled_from(["strict", "auto"])


def _apply(text: str, edits: list[tuple[int, int, int, int, str]]) -> str:
    """The edits (1-based rows and columns, end exclusive), applied independently of the
    fixer's own code: lines break at \\r\\n, \\r and \\n only."""
    lines = re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(row: int, column: int) -> int:
        return starts[row - 1] + column - 1

    spans = sorted((offset(r1, c1), offset(r2, c2), new) for r1, c1, r2, c2, new in edits)
    out, last = [], 0
    for start, end, new in spans:
        assert start >= last, "overlapping edits in one pass"
        out += [text[last:start], new]
        last = end
    return "".join(out) + text[last:]


def _fix_once_and_again(root: Path) -> None:
    from test_fixes import loader

    from leaklint.fix.fixer import fix_project

    rules = EVERY_RULE.rules()
    originals = {p: p.read_bytes().decode() for p in root.rglob("*.py")}
    first = fix_project(loader(root), rules, unsafe=True, max_passes=1)
    assert not first.remaining.internal_errors, first.remaining.internal_errors
    for path, before in originals.items():
        after = path.read_bytes().decode()
        compile(after, str(path), "exec", dont_inherit=True)
        edits = [
            (e.start.row, e.start.column, e.end.row, e.end.column, e.content)
            for d in first.fixed
            for e in (d.fix.edits if d.fix else ())
            if e.path == path
        ]
        # The file differs from the input exactly by the fixes' edits, nowhere else.
        assert after == _apply(before, edits), after
    settled = fix_project(loader(root), rules, unsafe=True)
    assert not [p for p in settled.problems if "stopped after" in p.message], settled.problems
    snapshot = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    again = fix_project(loader(root), rules, unsafe=True)
    assert not again.fixed, [d.code for d in again.fixed]
    assert snapshot == {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@FUZZ
@given(
    header=HEADERS,
    blocks=st.lists(st.sampled_from(FIXABLE_BLOCKS), min_size=1, max_size=6, unique=True),
    mode=MODES,
)
def test_fixes_parse_stay_inside_their_edits_and_are_stable(
    header: str, blocks: list[str], mode: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(
            "[tool.pytest.ini_options]\n"
            f'asyncio_mode = "{mode}"\n'
            'asyncio_default_fixture_loop_scope = "function"\n'
        )
        (root / "test_fuzzed.py").write_text(header + "\n\n" + "\n\n\n".join(blocks) + "\n")
        _fix_once_and_again(root)
