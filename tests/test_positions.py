"""``SourceFile`` positions come from one code generation pass of its own (``source._Spans``),
built on libcst's codegen state. They must equal, node for node, what libcst's position
providers compute."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import (
    CodeRange,
    MetadataWrapper,
    PositionProvider,
    WhitespaceInclusivePositionProvider,
)

from leaklint.diagnostics import Location
from leaklint.python.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"])

SAMPLES = {
    "crlf": b"import os\r\n\r\ndef f(a,\r\n      b):\r\n    return (a +\r\n            b)\r\n",
    "no trailing newline": b"x = 1\nif x:\n    y = [1,\n         2]",
    "tabs and unicode": "class K:\n\tdef m(self):\n\t\treturn 'h\u00e9', \u00e9t\u00e9\n".encode(),
    "decorators and comments": (
        b"# head\n\n@a.b(c=1)  # tail\n@d\nasync def f(x, /, *, y=2):\n"
        b"    '''doc\n    more'''\n    async with x as (p, q):\n        await p\n"
    ),
    "continuation": b"total = 1 + \\\n    2\nassert total, \\\n    'message'\n",
    "empty": b"",
    "only a comment": b"# nothing\n",
}


def _expected(module: cst.Module) -> tuple[dict[cst.CSTNode, CodeRange], ...]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    return (
        dict(wrapper.resolve(PositionProvider)),
        dict(wrapper.resolve(WhitespaceInclusivePositionProvider)),
    )


def _locations(code_range: CodeRange) -> tuple[Location, Location]:
    return (
        Location(code_range.start.line, code_range.start.column + 1),
        Location(code_range.end.line, code_range.end.column + 1),
    )


def _check(path: Path, raw: bytes) -> int:
    source = SourceFile.parse(path, raw)
    assert source.module is not None, source.error
    syntactic, whole = _expected(source.module)
    assert syntactic, "libcst gave no positions"
    for node, code_range in syntactic.items():
        assert source.range_of(node) == _locations(code_range), (path, type(node).__name__)
    for node, code_range in whole.items():
        assert source.whole_range_of(node) == _locations(code_range), (path, type(node).__name__)
    return len(syntactic)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_positions_match_libcst_on_samples(name: str) -> None:
    _check(Path(f"{name}.py"), SAMPLES[name])


def test_positions_match_libcst_on_real_files() -> None:
    files = sorted((ROOT / "fixtures").rglob("*.py"))[:60]
    files += [STDLIB / name for name in ("threading.py", "asyncio/base_events.py", "typing.py")]
    nodes = sum(_check(path, path.read_bytes()) for path in files)
    assert nodes > 50_000


def test_an_edit_is_rendered_at_its_place_in_a_crlf_file() -> None:
    """``rendered_in_place`` reads offsets in the module's own text through the same pass."""
    raw = b"class K:\r\n    def m(self):\r\n        call(a,\r\n             b)\r\n"
    source = SourceFile.parse(Path("k.py"), raw)
    assert source.module is not None
    call = cst.ensure_type(
        cst.ensure_type(
            cst.ensure_type(source.module.body[0], cst.ClassDef).body.body[0], cst.FunctionDef
        ).body.body[0],
        cst.SimpleStatementLine,
    ).body[0]
    old = cst.ensure_type(call, cst.Expr).value
    new = cst.ensure_type(old, cst.Call).with_changes(func=cst.Name("other"))
    start, end = source.range_of(old)
    assert source.rendered_in_place(old, new, start, end) == "other(a,\r\n             b)"
