"""The text of ``leaklint fixtures PATH``: every test, its event loop, and its fixtures.

For each test: the loop it runs on, then every fixture it sets up (transitively), with the
fixture's cache scope, its loop scope when pytest-asyncio runs it, the file and line that
define it, and the chain it is reached through. Fixtures with a loop other than the test's are
flagged, and names with no definition in the project are listed as coming from a plugin.
"""

from __future__ import annotations

from leaklint.fixture_graph import ResolvedTest
from leaklint.project import Project


def fixture_map(project: Project) -> str:
    graph = project.fixture_graph
    blocks: list[str] = []
    for path in graph.test_files:
        for resolved in graph.tests_in(path):
            blocks.append(_test_block(project, resolved))
    if not blocks:
        return "no tests found\n"
    return "\n".join(blocks)


def _test_block(project: Project, resolved: ResolvedTest) -> str:
    graph = project.fixture_graph
    test = resolved.test
    node_id = f"{project.relative(test.path).as_posix()}::{test.qualified}"
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
        rows.append((fixture.name, f"scope={fixture.scope}", kind, graph.where(fixture) + via))
    for name in resolved.unknown:
        rows.append((name, "", "", "plugin or built-in"))
    if not rows:
        lines.append("    (no fixtures)")
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("    " + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
