"""The pytest projects in the linted tree.

A repository may keep several pytest projects (``server/``, ``packages/x/``), each with its own
config. Each linted file belongs to the project of its nearest enclosing directory, up to the
common ancestor of the linted paths, that holds a pytest config
(``pytest_config.holds_config``): what ``pytest`` run on that directory would use. Each such
directory is a project of its own (rootdir, conftest tree, fixture graph, loop use, cache). The
files above or beside every such directory form one more project, whose config is discovered
from the linted paths as pytest does. ``--config`` forces one project for everything, as
pytest's ``-c`` does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leaklint.config.paths import common_ancestor
from leaklint.config.pytest_config import discover, holds_config
from leaklint.config.settings import Settings
from leaklint.model.project import Project, check_config_file, iter_files, resolve_paths


@dataclass(frozen=True)
class _Spec:
    """How to build one project again: its paths, its config's search start, its files."""

    paths: tuple[Path, ...]
    config_file: Path | None
    files: tuple[Path, ...]


@dataclass
class Workspace:
    """The projects to lint, the outer one (files above or beside every nested project)
    first, then the nested ones by directory."""

    projects: list[Project]
    settings: Settings
    _specs: list[_Spec] = field(default_factory=list, repr=False)

    @classmethod
    def load(
        cls,
        paths: Sequence[Path],
        *,
        config_file: Path | None = None,
        settings: Settings | None = None,
    ) -> Workspace:
        settings = settings or Settings()
        resolved = resolve_paths(paths)
        check_config_file(config_file)
        files = list(iter_files(resolved, tuple(settings.exclude_patterns())))
        specs = _split(resolved, files) if config_file is None else []
        if not specs:
            specs = [_Spec(tuple(resolved), config_file, tuple(files))]
        workspace = cls([], settings, specs)
        workspace.projects = [workspace.reload(index) for index in range(len(specs))]
        return workspace

    def reload(self, index: int) -> Project:
        """Project ``index`` built afresh: its config read again (a fix may have changed it),
        the same files."""
        spec = self._specs[index]
        config = discover(spec.paths, spec.config_file)
        return Project.of_files(spec.paths, config, spec.files, self.settings)

    @property
    def root(self) -> Path:
        """The folder every project's rootdir is in (the one rootdir when there is one)."""
        roots = [project.root for project in self.projects]
        return roots[0] if len(roots) == 1 else common_ancestor(roots)


def _split(resolved: Sequence[Path], files: Sequence[Path]) -> list[_Spec]:
    """One spec per nested project, after the outer one; none when there is no nested project
    (then the caller builds the one project as before)."""
    homes: dict[Path, list[Path]] = {}
    outer: list[Path] = []
    home_of = _Homes(str(common_ancestor(resolved)))
    for path in files:
        home = home_of(os.path.dirname(path))
        if home is None:
            outer.append(path)
        else:
            homes.setdefault(Path(home), []).append(path)
    if not homes:
        return []
    nested = sorted(homes)
    outer_paths = tuple(p for p in resolved if not any(_within(p, home) for home in nested))
    specs: list[_Spec] = []
    if outer_paths:
        specs.append(_Spec(outer_paths, None, tuple(outer)))
    specs.extend(_Spec((home,), None, tuple(homes[home])) for home in nested)
    return specs


class _Homes:
    """The nearest directory at or above a directory, and at or below ``top`` (the common
    ancestor of the linted paths), that holds a pytest config (``None``: none does; the
    config above ``top`` is the one pytest finds for all the paths). Files share their
    directory's answer, so each directory is asked once; paths are strings, which hash faster
    than ``Path``."""

    def __init__(self, top: str) -> None:
        self._top = top
        self._below = top.rstrip(os.sep) + os.sep
        self._homes: dict[str, str | None] = {}

    def inside(self, directory: str) -> bool:
        """Whether ``directory`` is ``top`` or below it."""
        return directory == self._top or directory.startswith(self._below)

    def __call__(self, directory: str) -> str | None:
        if directory in self._homes:
            return self._homes[directory]
        home: str | None = None
        if self.inside(directory):
            if holds_config(Path(directory)):
                home = directory
            else:
                parent = os.path.dirname(directory)
                home = self(parent) if parent != directory else None
        self._homes[directory] = home
        return home


def _within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents
