"""The text of ``leaklint fixtures PATH``: every test, its event loop, and its fixtures.

For each test: the loop it runs on, then every fixture it sets up (transitively), with the
fixture's cache scope, its loop scope when pytest-asyncio runs it, the file and line that
define it, and the chain it is reached through. Fixtures with a loop other than the test's are
flagged, and names with no definition in the project are listed as coming from a plugin.
"""

from __future__ import annotations

from pathlib import Path

from leaklint.model.fixture_graph import ResolvedTest, graph_of
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
