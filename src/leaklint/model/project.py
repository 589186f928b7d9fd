"""The Project: what leaklint lints, seen the way pytest will run it.

Paths -> the effective pytest config (and its rootdir), the Python files to lint, the
``conftest.py`` files, the ``Cargo.toml`` files. Every file is read once and parsed once, on
demand, through ``Project.source``.

Just over 500 lines: the Project is the one object every rule sees; its file discovery
(``iter_files``, ``resolve_paths``) could move out if it grows.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol, TypeVar

import pathspec

from leaklint.config.probes import note_probe
from leaklint.config.pytest_config import PytestConfig, discover
from leaklint.config.requirements import DeclaredRange, pytest_asyncio_range
from leaklint.config.settings import Settings
from leaklint.model.loop_scope import Loop, LoopUse
from leaklint.model.pytest_model import Collection, FileModel, FixtureDef, read_file_model
from leaklint.python.source import SourceFile

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".eggs",
        "build",
        "dist",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".leaklint_cache",
        ".hypothesis",
        "__pypackages__",
        "site-packages",
    }
)

DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
CONFTEST = "conftest.py"
GITIGNORE = ".gitignore"
GIT_MARKER = ".git"  # a repository's root: the parent .gitignore files end there

T = TypeVar("T")


class UsageError(Exception):
    """A problem with what the user asked for (missing path, unreadable --config): exit 2."""


class LoopUseDeferred(Exception):
    """``loop_use`` asked in a worker process before the main process knew it: computing it
    there would parse every async test module again in each worker. The file is checked again
    once the main process knows (``leaklint.run.parallel``)."""


class KeptGraph(Protocol):
    """What a project asks of the fixture graph kept on it (``leaklint.model.fixture_graph``
    builds it on the project and sits above it)."""

    plugin_modules: set[Path]

    def forget(self, path: Path) -> None: ...

    def resolved_loops_in(self, path: Path) -> tuple[frozenset[Loop], frozenset[Path]] | None: ...


@dataclass
class Project:
    paths: tuple[Path, ...]
    config: PytestConfig
    python_files: list[Path]
    cargo_files: list[Path]
    exclude: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)
    _sources: dict[Path, SourceFile] = field(default_factory=dict, repr=False)
    _raw: dict[Path, bytes | OSError] = field(default_factory=dict, repr=False)
    _models: dict[Path, FileModel | None] = field(default_factory=dict, repr=False)
    _holds: dict[tuple[bytes, ...], bool] = field(default_factory=dict, repr=False)
    # When set, every path read through ``read`` is added: the engine learns which other files
    # a file's findings depended on (for the cache).
    access_log: set[Path] | None = field(default=None, repr=False)
    # The fixture graph once built (``leaklint.model.fixture_graph.graph_of``).
    graph: KeptGraph | None = field(default=None, init=False, repr=False)
    # ``leaklint.model.loops.loop_use`` once computed, with the files it read.
    loop_use_facts: tuple[LoopUse, frozenset[Path]] | None = field(default=None, repr=False)
    # In a worker: raise ``LoopUseDeferred`` rather than compute ``loop_use``.
    defer_loop_use: bool = field(default=False, repr=False)

    @classmethod
    def load(
        cls,
        paths: Sequence[Path],
        *,
        config_file: Path | None = None,
        settings: Settings | None = None,
    ) -> Project:
        settings = settings or Settings()
        exclude = tuple(settings.exclude_patterns())
        resolved = resolve_paths(paths)
        check_config_file(config_file)
        config = discover(resolved, config_file)
        return cls.of_files(resolved, config, iter_files(resolved, exclude), settings)

    @classmethod
    def of_files(
        cls,
        paths: Sequence[Path],
        config: PytestConfig,
        files: Iterable[Path],
        settings: Settings,
    ) -> Project:
        """The project of ``config`` linting ``files`` (those it does not lint are dropped)."""
        python_files: list[Path] = []
        cargo_files: list[Path] = []
        for path in files:
            if path.suffix == ".py":
                python_files.append(path)
            elif path.name == "Cargo.toml":
                cargo_files.append(path)
        return cls(
            paths=tuple(paths),
            config=config,
            python_files=sorted(set(python_files)),
            cargo_files=sorted(set(cargo_files)),
            exclude=tuple(settings.exclude_patterns()),
            settings=settings,
        )

    @property
    def root(self) -> Path:
        return self.config.rootdir

    # ---- files -----------------------------------------------------------------------

    def read(self, path: Path) -> bytes | OSError:
        """The file's bytes, read once; the error when it cannot be read."""
        self._note(path)
        if path not in self._raw:
            try:
                self._raw[path] = path.read_bytes()
            except OSError as exc:
                self._raw[path] = exc
        return self._raw[path]

    def loaded(self) -> dict[Path, bytes]:
        """The bytes of every file read so far, as read."""
        return {path: raw for path, raw in self._raw.items() if isinstance(raw, bytes)}

    def use_contents(self, contents: Mapping[Path, bytes]) -> Project:
        """Read these bytes instead of what is on disk (the fixer's edits not yet written)."""
        self._raw.update(contents)
        self._sources = {p: s for p, s in self._sources.items() if p not in contents}
        return self

    def source(self, path: Path) -> SourceFile | OSError:
        """The parsed file, parsed once per run."""
        self._note(path)
        if path not in self._sources:
            raw = self.read(path)
            if isinstance(raw, OSError):
                return raw
            self._sources[path] = SourceFile.parse(path, raw)
        return self._sources[path]

    def _note(self, paths: Path | frozenset[Path]) -> None:
        if self.access_log is not None:
            if isinstance(paths, Path):
                self.access_log.add(paths)
            else:
                self.access_log |= paths

    def note_reads(self, paths: Path | frozenset[Path]) -> None:
        """Count ``paths`` as read now: the caller uses something computed from them earlier
        (or from their absence)."""
        self._note(paths)

    def tracked(self, compute: Callable[[], T]) -> tuple[T, frozenset[Path]]:
        """``compute()`` and the files it read through this project. A result kept for later
        callers must be kept with those files, and each later use must ``note_reads`` them:
        every use depends on them, not only the first (the findings cache keys on them)."""
        outer, self.access_log = self.access_log, set()
        try:
            value = compute()
        finally:
            reads, self.access_log = frozenset(self.access_log), outer
        self._note(reads)
        return value, reads

    def forget(self, path: Path) -> None:
        """Drop the parsed tree and model of ``path`` (its bytes stay), and what the fixture
        graph resolved for it alone: bounds memory. Not for a file ``is_shared`` holds."""
        self._sources.pop(path, None)
        self._models.pop(path, None)
        if self.graph is not None:
            self.graph.forget(path)

    def is_shared(self, path: Path) -> bool:
        """Whether what other files' rules read comes from this file's tree: a conftest, or a
        module of the project that the fixture graph loaded as a ``pytest_plugins`` plugin."""
        if self.is_conftest(path):
            return True
        return self.graph is not None and path in self.graph.plugin_modules

    def resolved_loops(self, path: Path) -> tuple[frozenset[Loop], frozenset[Path]] | None:
        """The loops of a test module's async tests, with the files they depend on, when the
        fixture graph of this process already resolved its tests."""
        return None if self.graph is None else self.graph.resolved_loops_in(path)

    def is_parsed(self, path: Path) -> bool:
        return path in self._sources

    def file_model(self, path: Path) -> FileModel | None:
        """Fixtures, tests and marks of a file; ``None`` when it does not parse."""
        self._note(path)
        if path not in self._models:
            source = self.source(path)
            if isinstance(source, OSError) or source.module is None:
                self._models[path] = None
            else:
                self._models[path] = read_file_model(source, self.collection)
        return self._models[path]

    def holds_any(self, tokens: tuple[bytes, ...]) -> bool:
        """Whether some Python file of the project contains one of ``tokens`` (bytes only)."""
        if tokens not in self._holds:
            self._holds[tokens] = any(
                isinstance(raw, bytes) and any(token in raw for token in tokens)
                for raw in map(self.read, self.python_files)
            )
        return self._holds[tokens]

    def async_fixtures(self, *, wide: bool = False) -> Iterator[FixtureDef]:
        """Every ``async def`` fixture in the project's Python files (files that cannot hold one
        are passed over by their bytes, unparsed). ``wide``: at least those whose scope is not
        ``function`` (a literal wider scope or a dynamic one); files whose bytes name no scope
        are passed over too, which leaves most test modules unparsed."""
        for path in self.python_files:
            raw = self.read(path)
            if not isinstance(raw, bytes) or b"fixture" not in raw or b"async" not in raw:
                continue
            if wide and not _NAMES_A_SCOPE.search(raw):
                continue
            model = self.file_model(path)
            if model is not None:
                yield from (fixture for fixture in model.fixtures if fixture.is_async)

    @cached_property
    def collection(self) -> Collection:
        def patterns(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            setting = self.config.get(key)
            if setting is None:
                return default
            value = setting.value
            items = value if isinstance(value, list) else str(value).split()
            return tuple(str(item) for item in items) or default

        return Collection(
            functions=patterns("python_functions", ("test",)),
            classes=patterns("python_classes", ("Test",)),
        )

    def relative(self, path: Path) -> Path:
        try:
            return path.relative_to(self.root)
        except ValueError:
            return path

    @cached_property
    def python_file_patterns(self) -> tuple[str, ...]:
        setting = self.config.get("python_files")
        if setting is None:
            return DEFAULT_PYTHON_FILES
        value = setting.value
        items = value if isinstance(value, list) else str(value).split()
        return tuple(str(item) for item in items) or DEFAULT_PYTHON_FILES

    def is_conftest(self, path: Path) -> bool:
        return path.name == CONFTEST

    def is_test_file(self, path: Path) -> bool:
        """A test module by pytest's ``python_files`` patterns."""
        return any(fnmatch.fnmatch(path.name, pattern) for pattern in self.python_file_patterns)

    def is_pytest_file(self, path: Path) -> bool:
        return self.is_conftest(path) or self.is_test_file(path)

    @property
    def conftests(self) -> list[Path]:
        return [p for p in self.python_files if self.is_conftest(p)]

    @cached_property
    def outer_conftests(self) -> list[Path]:
        """``conftest.py`` files above the linted paths, up to the rootdir: pytest loads them
        for the tests below, so the fixture graph reads them too."""
        found: set[Path] = set()
        for path in self.paths:
            start = path if path.is_dir() else path.parent
            for directory in (start, *start.parents):
                if directory != self.root and self.root not in directory.parents:
                    break
                candidate = directory / CONFTEST
                if candidate not in self.conftest_set and candidate.is_file():
                    found.add(candidate)
                if directory == self.root:
                    break
        return sorted(found)

    @cached_property
    def python_file_set(self) -> frozenset[Path]:
        return frozenset(self.python_files)

    @cached_property
    def conftest_set(self) -> frozenset[Path]:
        return frozenset(self.conftests)

    # ---- pytest-asyncio --------------------------------------------------------------

    @cached_property
    def uses_pytest_asyncio(self) -> bool:
        """Whether pytest-asyncio is in play: config, addopts, code, or declared dependencies."""
        config = self.config
        if config.addopts.asyncio_disabled:
            return False
        if config.addopts.asyncio_mode is not None:
            return True
        if any(k.startswith("asyncio_") for k in (*config.settings, *config.addopts.overrides)):
            return True
        if self.declares_pytest_asyncio:
            return True
        for path in self.python_files:
            raw = self.read(path)
            if not isinstance(raw, bytes):
                continue
            # The plain substring tests first: the line-anchored pattern is slow on big files.
            named = b"pytest_asyncio" in raw or b"mark.asyncio" in raw
            if named and PYTEST_ASYNCIO_USE.search(raw):
                return True
        return False

    @cached_property
    def uses_other_async_plugin(self) -> bool:
        """Whether a test module or conftest uses anyio's or trio's pytest plugin, whose async
        fixtures are plain ``@pytest.fixture`` functions in pytest-asyncio's strict mode."""
        if "trio_mode" in self.config.settings:
            return True
        for path in self.python_files:
            if not self.is_pytest_file(path):
                continue
            raw = self.read(path)
            if isinstance(raw, bytes) and _OTHER_ASYNC_PLUGIN.search(raw):
                return True
        return False

    @cached_property
    def pytest_asyncio_range(self) -> DeclaredRange:
        """pytest-asyncio as the project declares it (``leaklint.config.requirements``)."""
        return pytest_asyncio_range(self.root)

    @cached_property
    def declares_pytest_asyncio(self) -> bool:
        """pytest-asyncio named in any of the project's dependency declarations."""
        return self.pytest_asyncio_range.declared


# A fixture scoped wider than ``function`` says so: ``scope=`` (``loop_scope=`` is not it), or a
# first argument that is no keyword (the old ``pytest.fixture("module")``, ``fixture(**opts)``).
_NAMES_A_SCOPE = re.compile(rb"\bscope\s*=|fixture\s*\(\s*(?![A-Za-z_]\w*\s*=)[^)\s]")
_OTHER_ASYNC_PLUGIN = re.compile(
    rb"mark\.(?:anyio|trio)\b|\banyio_backend\b|\bpytest_trio\b|\btrio_mode\b"
)
# pytest_asyncio / mark.asyncio in code, not in a comment (a URL to pytest-asyncio's source).
PYTEST_ASYNCIO_USE = re.compile(rb"^[^#\n]*(?:\bpytest_asyncio\b|\bmark\.asyncio\b)", re.MULTILINE)


def resolve_paths(paths: Sequence[Path]) -> list[Path]:
    """``paths`` made absolute; a missing one is a usage error."""
    resolved: list[Path] = []
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{path}: no such file or directory")
        resolved.append(path.absolute())
    return resolved


def check_config_file(config_file: Path | None) -> None:
    """A ``--config`` file that is missing or unreadable is a usage error."""
    if config_file is None:
        return
    if not config_file.is_file():
        raise UsageError(f"{config_file}: config file not found")
    try:
        config_file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{config_file}: cannot read config file: {exc.strerror}") from exc


# --------------------------------------------------------------------------- file walk


def iter_files(paths: Sequence[Path], exclude: tuple[str, ...] = ()) -> Iterator[Path]:
    """Files under ``paths``; directories that never hold project code are skipped, and so is
    what ``.gitignore`` files (from the walk's roots down) ignore. Files named explicitly are
    always yielded."""
    for path in paths:
        if path.is_dir():
            yield from _walk(path, _parent_ignores(path), exclude)
        elif _is_lintable(path) and not _excluded(path, exclude):
            yield path


def _is_lintable(path: Path) -> bool:
    """A regular file, or a broken link named on purpose (so its error is shown); never a FIFO,
    whose read would block forever."""
    return path.is_file() or (path.is_symlink() and not path.exists())


def _excluded(path: Path, exclude: tuple[str, ...]) -> bool:
    text = path.as_posix()
    return any(
        fnmatch.fnmatch(path.name, pattern) or fnmatch.fnmatch(text, pattern) for pattern in exclude
    )


@dataclass(frozen=True)
class _Ignore:
    base: Path
    spec: pathspec.GitIgnoreSpec

    def ignored(self, path: Path, is_dir: bool) -> bool:
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return False
        return self.spec.match_file(relative + "/" if is_dir else relative)


def _read_gitignore(directory: Path) -> _Ignore | None:
    gitignore = directory / GITIGNORE
    try:
        lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return _Ignore(directory, pathspec.GitIgnoreSpec.from_lines(lines))


def _parent_ignores(directory: Path) -> list[_Ignore]:
    """``.gitignore`` files above ``directory`` up to the repository root. A directory named on
    purpose is linted even when those files ignore it (then they say nothing about it)."""
    ignores: list[_Ignore] = []
    for parent in directory.parents:
        found = _read_gitignore(parent)
        if found is not None:
            ignores.append(found)
        if (parent / GIT_MARKER).exists():
            break
    if any(ignore.ignored(directory, True) for ignore in ignores):
        return []
    return list(reversed(ignores))


def _walk(directory: Path, ignores: list[_Ignore], exclude: tuple[str, ...]) -> Iterator[Path]:
    own = _read_gitignore(directory)
    if own is not None:
        ignores = [*ignores, own]
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if any(ignore.ignored(path, is_dir) for ignore in ignores) or _excluded(path, exclude):
            continue
        if is_dir:
            if entry.is_symlink() or entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                continue
            venv_marker = path / "pyvenv.cfg"
            if venv_marker.exists():
                note_probe(venv_marker)  # its removal would bring the directory in
                continue
            yield from _walk(path, ignores, exclude)
        elif _is_regular_file(entry):
            # Broken links, link loops, FIFOs and sockets are not source files (a FIFO would
            # block the read forever).
            yield path


def _is_regular_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False
