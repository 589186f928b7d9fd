"""Imports go one way: ``cli`` → ``fix`` → ``run``/``output`` → ``rules`` → ``model`` →
``python``/``config`` → ``diagnostics`` (see docs/architecture.md).

Every module under ``src/leaklint`` is read with ``ast``; imports inside functions and under
``TYPE_CHECKING`` count like the others, since they tie the modules together all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "leaklint"

# A module may import from its own package, or from a package of a lower layer. Packages on the
# same layer (``run`` and ``output``, ``python`` and ``config``) do not import each other.
LAYERS: dict[str, int] = {
    "cli": 7,
    "runtime": 7,  # the pytest plugin: loaded by pytest, imported by nothing in leaklint
    "__main__": 8,  # ``python -m leaklint``: calls the CLI
    "fix": 6,
    "run": 5,
    "output": 5,
    "rules": 4,
    "model": 3,
    "config": 2,
    "python": 2,
    "diagnostics": 1,
    "": 0,  # ``leaklint/__init__.py``: the version, nothing else
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, leaklint module) for every import in ``path``, however deeply nested."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "leaklint":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "leaklint":
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield node.lineno, submodule if submodule in MODULES else base


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for module, path in MODULES.items():
        for _, target in imported(module, path):
            if target != module:
                edges[module].add(target)
    return edges


def test_every_package_is_placed_in_a_layer() -> None:
    assert {layer_of(module) for module in MODULES} <= LAYERS.keys()


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for module, path in MODULES.items():
        if path.name == "__init__.py" and module != "leaklint" and module.count(".") == 1:
            docstring = ast.get_docstring(ast.parse(path.read_text("utf-8"))) or ""
            assert "May import" in docstring, module


def test_no_import_goes_up_or_sideways() -> None:
    wrong = []
    for module, path in MODULES.items():
        own = layer_of(module)
        for line, target in imported(module, path):
            other = layer_of(target)
            if other != own and LAYERS[other] >= LAYERS[own]:
                wrong.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {target}"
                )
    assert wrong == []


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_among_modules() -> None:
    assert sorted(map(sorted, cycles(graph()))) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [frozenset({"a", "b"})]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [frozenset({"a", "b", "c"})]),
    ],
)
def test_cycles_are_found(edges: dict[str, set[str]], expected: list[frozenset[str]]) -> None:
    assert cycles(edges) == expected


def test_imports_are_read_from_every_kind_of_statement(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import leaklint.run.engine\n"
        "from leaklint.run import snapshot\n"
        "if TYPE_CHECKING:\n"
        "    from leaklint.model.project import Project\n"
        "def f():\n"
        "    from leaklint.rules.base import all_rules\n"
    )
    assert [target for _, target in imported("leaklint.config.settings", source)] == [
        "leaklint.run.engine",
        "leaklint.run.snapshot",
        "leaklint.model.project",
        "leaklint.rules.base",
    ]
