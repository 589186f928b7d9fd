"""The dependency declarations leaklint reads, and the pytest-asyncio range they allow."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from leaklint.config.requirements import pytest_asyncio_range
from leaklint.model.project import Project


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


DECLARED = {
    "pep621": {"pyproject.toml": '[project]\ndependencies = ["pytest-asyncio>=0.23"]\n'},
    "pep621-extra": {
        "pyproject.toml": '[project.optional-dependencies]\ntest = ["Pytest_Asyncio ~= 0.24"]\n'
    },
    "pep735": {
        "pyproject.toml": '[dependency-groups]\ndev = [{include-group = "x"}, "pytest-asyncio"]\n'
    },
    "poetry-main": {"pyproject.toml": '[tool.poetry.dependencies]\npytest-asyncio = "^0.23"\n'},
    "poetry-dev": {"pyproject.toml": '[tool.poetry.dev-dependencies]\npytest-asyncio = "*"\n'},
    "poetry-group": {
        "pyproject.toml": """\
            [tool.poetry.group.test.dependencies]
            pytest-asyncio = { version = "~0.21", optional = true }
            """
    },
    "requirements": {
        "requirements-dev.txt": (
            "# tests\n-r requirements.txt\npytest-asyncio==0.21.1 \\\n    --hash=sha256:ab\n"
        )
    },
    "setup-cfg-extras": {
        "setup.cfg": """\
            [metadata]
            name = x

            [options.extras_require]
            test =
                pytest
                pytest-asyncio>=0.23
            """
    },
    "setup-cfg-install": {"setup.cfg": "[options]\ninstall_requires =\n    pytest_asyncio\n"},
    "tox": {
        "tox.ini": """\
            [tox]
            envlist = py311

            [testenv]
            deps =
                pytest
                py311,py312: pytest-asyncio<1.0
            commands = pytest
            """
    },
    "setup-py-extras": {
        "setup.py": """\
            from setuptools import setup

            TESTS = ["pytest", "pytest-asyncio>=0.24"]

            setup(name="x", extras_require={"test": TESTS, "docs": ["sphinx"]})
            """
    },
    "setup-py-install": {
        "setup.py": """\
            import setuptools

            setuptools.setup(install_requires=["aiosqlite"] + ["pytest-asyncio"])
            """
    },
}


@pytest.mark.parametrize("files", DECLARED.values(), ids=DECLARED.keys())
def test_pytest_asyncio_is_found_where_it_is_declared(
    tmp_path: Path, files: dict[str, str]
) -> None:
    root = _write(tmp_path, files)
    assert pytest_asyncio_range(root).declared
    (root / "pytest.ini").write_text("[pytest]\n")
    project = Project.load([root])
    assert project.declares_pytest_asyncio
    assert project.uses_pytest_asyncio


NOT_DECLARED = {
    "other-package": {
        "pyproject.toml": '[project]\ndependencies = ["pytest-asyncio-cooperative"]\n'
    },
    "comment": {"requirements.txt": "# pytest-asyncio is not needed\npytest\n"},
    "setup-py-other-call": {
        "setup.py": 'print(["pytest-asyncio"])\nsetup(install_requires=["x"])\n'
    },
    "tox-commands-only": {"tox.ini": "[testenv]\ncommands = pip install pytest-asyncio\n"},
    "broken-setup-py": {"setup.py": "setup(extras_require={'t': ['pytest-asyncio'\n"},
    "broken-toml": {"pyproject.toml": "[project\ndependencies = ['pytest-asyncio']\n"},
}


@pytest.mark.parametrize("files", NOT_DECLARED.values(), ids=NOT_DECLARED.keys())
def test_what_is_not_a_declaration(tmp_path: Path, files: dict[str, str]) -> None:
    assert not pytest_asyncio_range(_write(tmp_path, files)).declared


def test_a_parent_directorys_declaration_is_not_the_projects(tmp_path: Path) -> None:
    _write(tmp_path, {"pyproject.toml": '[project]\ndependencies = ["pytest-asyncio"]\n'})
    inner = _write(tmp_path / "inner", {"pytest.ini": "[pytest]\n"})
    assert not pytest_asyncio_range(inner).declared


RANGES = {
    # files, allows some 1.0 or later, allows some 1.4 or later
    "none": ({}, True, True),
    "no-range": ({"requirements.txt": "pytest-asyncio\n"}, True, True),
    "below-1": ({"requirements.txt": "pytest-asyncio<1.0\n"}, False, False),
    "from-0.23": ({"requirements.txt": "pytest-asyncio>=0.23\n"}, True, True),
    "below-1.4": ({"requirements.txt": "pytest-asyncio>=0.23,<1.4\n"}, True, False),
    "pinned": ({"requirements.txt": "pytest-asyncio==0.21.1\n"}, False, False),
    "poetry-caret-0": (
        {"pyproject.toml": '[tool.poetry.dependencies]\npytest-asyncio = "^0.23"\n'},
        False,
        False,
    ),
    "poetry-caret-1": (
        {"pyproject.toml": '[tool.poetry.dependencies]\npytest-asyncio = "^1.2"\n'},
        True,
        True,
    ),
    "poetry-tilde": (
        {"pyproject.toml": '[tool.poetry.dependencies]\npytest-asyncio = "~1.3"\n'},
        True,
        False,
    ),
    "together": (
        {
            "pyproject.toml": '[project]\ndependencies = ["pytest-asyncio>=0.21"]\n',
            "requirements-lock.txt": "pytest-asyncio==0.23.8\n",
        },
        False,
        False,
    ),
}


@pytest.mark.parametrize(("files", "from_1_0", "from_1_4"), RANGES.values(), ids=RANGES.keys())
def test_the_declared_range(
    tmp_path: Path, files: dict[str, str], from_1_0: bool, from_1_4: bool
) -> None:
    declared = pytest_asyncio_range(_write(tmp_path, files))
    assert declared.allows_at_least("1.0") is from_1_0
    assert declared.allows_at_least("1.4") is from_1_4


@pytest.mark.parametrize(
    ("requirement", "oldest"),
    [
        ("pytest-asyncio>=1.0", "1.0"),
        ("pytest-asyncio~=1.4.0", "1.4"),
        ("pytest-asyncio>=1.5", None),
    ],
)
def test_the_oldest_release_before_one(
    tmp_path: Path, requirement: str, oldest: str | None
) -> None:
    declared = pytest_asyncio_range(_write(tmp_path, {"requirements.txt": requirement + "\n"}))
    found = declared.oldest_before("1.5")
    assert (None if found is None else str(found)) == oldest
    assert pytest_asyncio_range(tmp_path / "nothing").oldest_before("1.5") is None


def test_a_requirements_name_that_is_no_regular_file_is_not_read(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "requirements-dev.txt")  # reading it would block for ever
    (tmp_path / "requirements.txt").write_text("pytest-asyncio<1.0\n")
    declared = pytest_asyncio_range(tmp_path)
    assert [d.path.name for d in declared.declarations] == ["requirements.txt"]


def test_a_setup_py_too_deep_for_the_parser_declares_nothing(tmp_path: Path) -> None:
    deep = "X = " + "+".join(['"a"'] * 200_000) + "\nsetup(install_requires=X)\n"
    (tmp_path / "setup.py").write_text(deep)
    assert not pytest_asyncio_range(tmp_path).declared
