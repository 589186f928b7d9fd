"""The one module resolver (``leaklint.model.modules``) that thread subclasses, base classes
and plugins are found with: pytest's default import mode, the project's files only."""

from __future__ import annotations

from pathlib import Path

from leaklint.model.classes import ProjectClasses
from leaklint.model.inheritance import Inheritance
from leaklint.model.modules import basedir, module_file, resolve
from leaklint.model.project import Project

INI = "[pytest]\n"


def project_of(root: Path, files: dict[str, str]) -> Project:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Project.load([root])


def test_basedir_is_the_first_folder_without_init(tmp_path: Path) -> None:
    project_of(tmp_path, {"pytest.ini": INI, "a/__init__.py": "", "a/b/__init__.py": ""})
    assert basedir(tmp_path / "a" / "b" / "test_x.py") == tmp_path
    assert basedir(tmp_path / "tests" / "test_x.py") == tmp_path / "tests"


def test_absolute_relative_and_pythonpath_modules(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "pytest.ini": INI + "pythonpath = src\n",
            "src/app/__init__.py": "",
            "src/app/workers.py": "",
            "tests/helpers.py": "",
            "tests/pkg/__init__.py": "",
            "tests/pkg/base.py": "",
        },
    )
    test = tmp_path / "tests" / "test_x.py"
    inner = tmp_path / "tests" / "pkg" / "test_y.py"
    assert module_file(project, "app.workers", test) == tmp_path / "src/app/workers.py"
    assert module_file(project, "app", test) == tmp_path / "src/app/__init__.py"
    assert module_file(project, "helpers", test) == tmp_path / "tests/helpers.py"  # basedir
    assert module_file(project, ".base", inner) == tmp_path / "tests/pkg/base.py"
    assert module_file(project, "..helpers", inner) == tmp_path / "tests/helpers.py"
    # A plugin named in the configuration has no importer: no basedir, no relative import.
    assert module_file(project, "app.workers", None) == tmp_path / "src/app/workers.py"
    assert module_file(project, "helpers", None) is None
    assert module_file(project, ".base", None) is None
    # Near misses: not there, or not the project's file (an installed package, a sibling).
    assert module_file(project, "app.missing", test) is None
    assert module_file(project, "threading", test) is None


def test_a_file_outside_the_project_is_not_the_projects(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "fakedriver.py").write_text("", encoding="utf-8")
    project = project_of(tmp_path / "project", {"pytest.ini": INI + "pythonpath = ../vendor\n"})
    found, tried = resolve(project, "fakedriver", tmp_path / "project" / "test_x.py")
    assert found is None
    assert tmp_path / "vendor" / "fakedriver.py" in tried


def test_every_path_tried_counts_as_read(tmp_path: Path) -> None:
    project = project_of(tmp_path, {"pytest.ini": INI + "pythonpath = lib\n", "lib/m.py": ""})
    test = tmp_path / "tests" / "test_x.py"
    _, reads = project.tracked(lambda: module_file(project, "m", test))
    # tests/m.py or tests/m/__init__.py written later would win: the answer depends on them.
    assert {tmp_path / "tests" / "m.py", tmp_path / "tests" / "m" / "__init__.py"} <= reads
    assert tmp_path / "lib" / "m.py" in reads


def test_classes_and_bases_resolve_the_same_module(tmp_path: Path) -> None:
    project = project_of(
        tmp_path,
        {
            "pytest.ini": INI + "pythonpath = src\n",
            "src/app/__init__.py": "",
            "src/app/workers.py": "import threading\n\nclass Poller(threading.Thread):\n    pass\n",
        },
    )
    test = tmp_path / "tests" / "test_x.py"
    expected = tmp_path / "src/app/workers.py"
    assert ProjectClasses(project).module_file("app.workers", test) == expected
    assert Inheritance(project).module_file("app.workers", test) == expected
    assert ProjectClasses(project).lookup("app.workers.Poller", test) is not None
    assert ProjectClasses(project).lookup("app.workers.Missing", test) is None
