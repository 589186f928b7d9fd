"""Which of the project's files an import names, as pytest's default import mode (``prepend``)
finds it: a relative import from the importing file's package; an absolute one from the
importer's basedir (the first folder upwards without an ``__init__.py``, which pytest puts on
``sys.path``), then the rootdir, then every ``pythonpath`` entry of the configuration.

Only files inside the project count (an installed package is not the project's). Every path
tried matters, found or not: a module written there later changes the answer. ``module_file``
notes them all as read; ``resolve`` hands them to a caller that keeps its own policy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leaklint.model.project import Project


def basedir(path: Path) -> Path:
    """The folder pytest's default import mode puts on ``sys.path`` for the file ``path``."""
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        directory = directory.parent
    return directory


def import_roots(project: Project) -> tuple[Path, ...]:
    """The folders every module of the project imports from: the rootdir, then the
    configuration's ``pythonpath`` entries (relative to the file that sets them)."""
    roots = [project.root]
    setting = project.config.get("pythonpath")
    if setting is not None:
        value = setting.value
        items = value if isinstance(value, list) else str(value).split()
        # Normalised: ``../vendor`` is outside the project, which ``is_relative_to`` (a
        # comparison of the written parts) only sees without the ``..``.
        roots.extend(Path(os.path.normpath(setting.path.parent / str(item))) for item in items)
    return tuple(dict.fromkeys(roots))


def search_roots(project: Project, module: str, importer: Path | None) -> tuple[Path, ...]:
    """The folders, in order, where ``module`` (dotted, maybe relative) imported from the
    file ``importer`` is looked for (``importer`` None: a plugin named in the configuration)."""
    level = len(module) - len(module.lstrip("."))
    if level and importer is not None:
        base = importer.parent
        for _ in range(level - 1):
            base = base.parent
        return (base,)
    if level:
        return ()
    start = () if importer is None else (basedir(importer),)
    return tuple(dict.fromkeys((*start, *import_roots(project))))


def resolve(
    project: Project, module: str, importer: Path | None
) -> tuple[Path | None, tuple[Path, ...]]:
    """The project file of ``module`` (dotted, maybe relative) imported from ``importer``, and
    every path tried for it, in order (the file found last). Notes nothing as read."""
    parts = [p for p in module.lstrip(".").split(".") if p]
    tried: list[Path] = []
    for root in search_roots(project, module, importer):
        target = root.joinpath(*parts) if parts else root
        for candidate in (target.with_name(target.name + ".py"), target / "__init__.py"):
            tried.append(candidate)
            if candidate.is_file() and candidate.is_relative_to(project.root):
                return candidate, tuple(tried)
    return None, tuple(tried)


def module_file(project: Project, module: str, importer: Path | None) -> Path | None:
    """The project file of ``module`` imported from ``importer`` (None: a plugin the
    configuration names); every path tried counts as read."""
    found, tried = resolve(project, module, importer)
    project.note_reads(frozenset(tried))
    return found
