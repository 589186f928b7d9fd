"""``leaklint fixtures PATH``: every test, its event loop, and its fixtures, as text or JSON.

For each test: the loop it runs on, then every fixture it sets up (transitively), with the
fixture's cache scope, its loop scope when pytest-asyncio runs it, the file and line that
define it, and the chain it is reached through. Fixtures with a loop other than the test's are
flagged, and names with no definition in the project are listed as coming from a plugin.

``fixture_map_data`` gives the same as plain values for ``--output-format json``: per test its
pytest node id and its loop (a key that two tests share exactly when leaklint says they run on
one loop), per fixture the verdict ``same``, ``different`` or ``unknown`` against the test's
loop (``null`` for a fixture that runs on no loop, or in a test that runs on none).
"""

from __future__ import annotations

from pathlib import Path

from leaklint.model.fixture_graph import ResolvedTest, graph_of
from leaklint.model.loop_scope import Loop
from leaklint.model.project import Project

NO_TESTS = "no tests found\n"


def fixture_map(project: Project, base: Path | None = None) -> str:
    """The map of ``project``; paths relative to ``base`` (the working directory) when the
    rootdir is at or under it, so that the maps of several projects read alike; else relative
    to the rootdir, as pytest's node ids are."""
    if base is not None and not project.root.is_relative_to(base):
        base = None
    graph = graph_of(project)
    blocks: list[str] = []
    for path in graph.test_files:
        for resolved in graph.tests_in(path):
            blocks.append(_test_block(project, resolved, base))
    if not blocks:
        return NO_TESTS
    return "\n".join(blocks)


def _shown(project: Project, path: Path, base: Path | None) -> str:
    if base is not None and path.is_relative_to(base):
        return path.relative_to(base).as_posix()
    return project.relative(path).as_posix()


def _test_block(project: Project, resolved: ResolvedTest, base: Path | None) -> str:
    graph = graph_of(project)
    test = resolved.test
    node_id = f"{_shown(project, test.path, base)}::{test.qualified}"
    if resolved.loop is not None:
        loop = f"{resolved.loop.scope} loop"
    elif resolved.asyncio:
        loop = "a loop leaklint cannot read (loop_scope is not a literal)"
    elif test.is_async:
        loop = "not run by pytest-asyncio (strict mode, no asyncio mark)"
    else:
        loop = "no loop (sync test)"
    lines = [f"{node_id}  [{loop}]"]
    rows: list[tuple[str, ...]] = []
    for use in resolved.uses:
        fixture = use.fixture
        loop_scope = graph.fixture_loop_scope(fixture)
        if loop_scope is not None:
            kind = f"loop={loop_scope}"
            fixture_loop = graph.fixture_loop(fixture, test)
            if resolved.loop is not None and fixture_loop != resolved.loop:
                kind += " (not the test's loop)"
        elif graph.runs_on_loop(fixture):
            kind = "a loop leaklint cannot read (loop_scope or scope is not a literal)"
        elif fixture.is_async:
            kind = "async, not run by pytest-asyncio"
        else:
            kind = "sync"
        via = " via " + " > ".join(f.name for f in use.via) if use.via else ""
        line = graph.where(fixture).rpartition(":")[2]
        where = f"{_shown(project, fixture.path, base)}:{line}"
        rows.append((fixture.name, f"scope={fixture.scope}", kind, where + via))
    for name in resolved.unknown:
        rows.append((name, "", "", "plugin or built-in"))
    if not rows:
        lines.append("    (no fixtures)")
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("    " + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- JSON


def fixture_map_data(project: Project, base: Path | None = None) -> dict[str, object]:
    """The map of ``project`` as plain values (paths shown as in ``fixture_map``; node ids and
    loop keys relative to the rootdir, as pytest's node ids are)."""
    if base is not None and not project.root.is_relative_to(base):
        base = None
    graph = graph_of(project)
    tests = [
        _test_data(project, resolved, base)
        for path in graph.test_files
        for resolved in graph.tests_in(path)
    ]
    return {"root": project.root.as_posix(), "tests": tests}


def loop_key(project: Project, loop: Loop) -> str:
    """``module:tests/test_a.py``: the loop's scope and the node that owns it."""
    parts: list[str] = []
    for part in loop.node:
        if isinstance(part, Path):
            parts.append(project.relative(part).as_posix())
        elif isinstance(part, tuple):
            parts.extend(str(p) for p in part)
        else:
            parts.append(str(part))
    return f"{loop.scope}:" + "::".join(parts)


def _test_data(project: Project, resolved: ResolvedTest, base: Path | None) -> dict[str, object]:
    graph = graph_of(project)
    test = resolved.test
    if resolved.loop is not None:
        loop: dict[str, object] = {
            "status": "known",
            "scope": resolved.loop.scope,
            "key": loop_key(project, resolved.loop),
        }
    elif resolved.asyncio:
        loop = {"status": "unknown", "scope": None, "key": None}
    else:
        status = "not-asyncio" if test.is_async else "sync"
        loop = {"status": status, "scope": None, "key": None}
    fixtures: list[dict[str, object]] = []
    for use in resolved.uses:
        fixture = use.fixture
        loop_scope = graph.fixture_loop_scope(fixture)
        verdict: str | None = None
        key: str | None = None
        if graph.runs_on_loop(fixture):
            fixture_loop = graph.fixture_loop(fixture, test)
            key = None if fixture_loop is None else loop_key(project, fixture_loop)
            if not resolved.asyncio:
                verdict = None  # the test itself runs on no loop
            elif resolved.loop is None or fixture_loop is None:
                verdict = "unknown"
            else:
                verdict = "same" if fixture_loop == resolved.loop else "different"
        qualname = (
            fixture.function_name
            if fixture.class_name is None
            else f"{fixture.class_name}.{fixture.function_name}"
        )
        fixtures.append(
            {
                "name": fixture.name,
                "function": qualname,
                "scope": fixture.scope,
                "async": fixture.is_async,
                "loop_scope": loop_scope,
                "loop_key": key,
                "loop": verdict,
                "path": _shown(project, fixture.path, base),
                "line": int(graph.where(fixture).rpartition(":")[2]),
                "via": [f.name for f in use.via],
            }
        )
    return {
        "node_id": f"{project.relative(test.path).as_posix()}::{test.qualified}",
        "path": _shown(project, test.path, base),
        "line": graph.locator(test.source_path).name_range(test.node)[0].row,
        "async": test.is_async,
        "loop": loop,
        "fixtures": fixtures,
        "unknown": list(resolved.unknown),
    }
