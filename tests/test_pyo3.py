"""LL501: finding auto-initialize in PyO3 extension crates and removing it byte for byte."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_lifecycle import apply

from leaklint.diagnostics import Diagnostic
from leaklint.model.project import Project
from leaklint.rules.base import RuleSelection
from leaklint.run.engine import lint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYO3 = 'pyo3 = { version = "0.22", features = ["auto-initialize"] }\n'
PLAIN = f'[package]\nname = "x"\n\n[dependencies]\n{PYO3}'
HEAD = '[package]\nname = "x"\nversion = "0.1.0"\n\n[lib]\ncrate-type = ["cdylib"]\n\n'


def check(tmp_path: Path, cargo: str, pyproject: str | None = None) -> list[Diagnostic]:
    (tmp_path / "Cargo.toml").write_text(cargo)
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    project = Project.load([tmp_path])
    return lint(project, RuleSelection(select=("LL501",)).rules()).diagnostics


@pytest.mark.parametrize(
    ("features", "after"),
    [
        ('["auto-initialize"]', "[]"),
        ('["auto-initialize", "abi3"]', '["abi3"]'),
        ('["abi3", "auto-initialize"]', '["abi3"]'),
        ('[ "abi3" , "auto-initialize" , "x" ]', '[ "abi3" , "x" ]'),
        ('[\n  "abi3",\n  "auto-initialize",\n]', '[\n  "abi3",\n]'),
        ('[\n  "abi3",\n  "auto-initialize"  # why\n]', '[\n  "abi3",\n]'),
        ("['auto-initialize']", "[]"),
    ],
)
def test_removal_keeps_the_rest(tmp_path: Path, features: str, after: str) -> None:
    cargo = HEAD + f'[dependencies.pyo3]\nversion = "0.22"\nfeatures = {features}\n# end\n'
    [found] = check(tmp_path, cargo)
    assert found.fix is not None
    result = apply(cargo, found.fix.edits)
    assert result == cargo.replace(features, after)
    tomllib.loads(result)
    assert check(tmp_path, result) == []


def test_location_is_the_feature_string(tmp_path: Path) -> None:
    cargo = HEAD + '[dependencies]\npyo3 = { version = "0.22", features = ["auto-initialize"] }\n'
    [found] = check(tmp_path, cargo)
    line = cargo.splitlines()[found.location.row - 1]
    assert line[found.location.column - 1 :].startswith('"auto-initialize"')


def test_not_an_extension_is_silent(tmp_path: Path) -> None:
    cargo = PLAIN
    assert check(tmp_path, cargo) == []
    maturin = '[build-system]\nrequires = ["maturin"]\nbuild-backend = "maturin"\n'
    assert [d.code for d in check(tmp_path, cargo, maturin)] == ["LL501"]


def test_tool_maturin_marks_an_extension(tmp_path: Path) -> None:
    cargo = PLAIN
    assert len(check(tmp_path, cargo, "[tool.maturin]\nbindings = 'pyo3'\n")) == 1


def test_dev_dependencies_are_fine(tmp_path: Path) -> None:
    cargo = HEAD + "[dev-dependencies]\n" + PYO3
    assert check(tmp_path, cargo) == []


def test_unparsable_cargo_toml_is_ll002_not_ll501(tmp_path: Path) -> None:
    assert check(tmp_path, "[package\nname = 1\n") == []
    project = Project.load([tmp_path])
    found = lint(project, RuleSelection(select=("LL002", "LL501")).rules()).diagnostics
    assert [(d.code, d.location.row) for d in found] == [("LL002", 1)]
    assert found[0].message.startswith("Cargo.toml does not parse")


def test_target_table_header(tmp_path: Path) -> None:
    cargo = HEAD + (
        "[target.'cfg(unix)'.dependencies.pyo3]\n"
        'version = "0.22"\n'
        'features = ["auto-initialize"]  # unix\n'
    )
    [found] = check(tmp_path, cargo)
    assert found.fix is not None
    assert apply(cargo, found.fix.edits) == cargo.replace('["auto-initialize"]', "[]")


def test_same_feature_on_another_dependency_is_not_the_location(tmp_path: Path) -> None:
    cargo = HEAD + (
        "[dependencies]\n"
        'other = { version = "1", features = ["auto-initialize"] }\n'
        'pyo3 = { version = "0.22", features = ["auto-initialize"] }\n'
    )
    [found] = check(tmp_path, cargo)
    assert found.location.row == cargo.count("\n")
