"""leaklint's own settings: ``leaklint.toml`` (top-level keys) or ``[tool.leaklint]`` in
``pyproject.toml``.

The file is found by walking up from the common ancestor of the linted paths; in each directory
``leaklint.toml`` wins over ``pyproject.toml``, and a ``pyproject.toml`` only counts when it has a
``[tool.leaklint]`` table. An unknown key, a wrongly typed value or an unknown rule code is an
error: settings that silently do nothing are worse than none.

Paths and globs in ``exclude``, ``extend-exclude``, ``per-file-ignores`` and ``cache-dir`` are
relative to the directory of the settings file. A glob without ``/`` matches a file or directory
name anywhere.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTINGS_FILE = "leaklint.toml"
PYPROJECT = "pyproject.toml"

_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude")
KNOWN_KEYS = (*_LIST_KEYS, "per-file-ignores", "output-format", "cache-dir")


class SettingsError(Exception):
    """A settings file leaklint cannot use; the message names the file and the key."""


@dataclass(frozen=True)
class Settings:
    path: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    output_format: str | None = None
    cache_dir: Path | None = None  # absolute: a relative value is resolved against ``base``

    @property
    def base(self) -> Path | None:
        return None if self.path is None else self.path.parent

    def exclude_patterns(self) -> tuple[str, ...]:
        """``exclude`` and ``extend-exclude`` as patterns ``Project.load`` understands: a glob
        with a ``/`` is anchored at the settings file's directory."""
        patterns: list[str] = []
        for pattern in (*self.exclude, *self.extend_exclude):
            pattern = pattern.rstrip("/")
            if "/" in pattern and self.base is not None:
                pattern = f"{self.base.as_posix()}/{pattern.removeprefix('./')}"
            patterns.append(pattern)
        return tuple(patterns)

    def ignored_codes(self, path: Path) -> tuple[str, ...]:
        """The codes ``per-file-ignores`` turns off for ``path``."""
        if not self.per_file_ignores:
            return ()
        relative = path.as_posix()
        if self.base is not None and path.is_relative_to(self.base):
            relative = path.relative_to(self.base).as_posix()
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores.items():
            pattern = pattern.removeprefix("./")
            if fnmatch.fnmatch(relative, pattern) or (
                "/" not in pattern and fnmatch.fnmatch(path.name, pattern)
            ):
                codes.extend(ignored)
        return tuple(codes)

    def is_ignored(self, path: Path, code: str) -> bool:
        return any(
            code.startswith(c.upper()) or c.upper() == "ALL" for c in self.ignored_codes(path)
        )


def find_settings_file(start: Path) -> Path | None:
    """The settings file for a run whose paths share ``start`` as common ancestor."""
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        own = candidate / SETTINGS_FILE
        if own.is_file():
            return own
        pyproject = candidate / PYPROJECT
        if pyproject.is_file() and _has_leaklint_table(pyproject):
            return pyproject
    return None


def _has_leaklint_table(pyproject: Path) -> bool:
    try:
        raw = pyproject.read_bytes()
    except OSError:
        return False
    if b"leaklint" not in raw:
        return False
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    tool = document.get("tool")
    return isinstance(tool, dict) and "leaklint" in tool


KnownCodes = Callable[[], Iterable[str]]


def load_settings(
    path: Path, output_formats: Sequence[str] = (), *, known_codes: KnownCodes | None = None
) -> Settings:
    """Read and check one settings file. ``known_codes`` gives the codes of every rule, and is
    called only when the file names a code (the CLI passes the registry, which loads the
    rules); without it the rule codes are left unchecked: for reading a file that was checked
    before."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: invalid TOML: {exc}") from exc
    if path.name == PYPROJECT:
        tool = document.get("tool", {})
        table = tool.get("leaklint", {}) if isinstance(tool, dict) else {}
        where = "[tool.leaklint]"
    else:
        table = document
        where = "top level"
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.leaklint] must be a table")
    return _from_table(path, table, where, output_formats, known_codes)


def _from_table(
    path: Path,
    table: dict[str, object],
    where: str,
    output_formats: Sequence[str],
    known_codes: KnownCodes | None,
) -> Settings:
    for key in table:
        if key not in KNOWN_KEYS:
            known = ", ".join(KNOWN_KEYS)
            raise SettingsError(f"{path}: unknown key `{key}` in {where} (known keys: {known})")
    lists = {key: _string_list(path, key, table[key]) for key in _LIST_KEYS if key in table}
    for key in ("select", "ignore", "extend-select"):
        for code in lists.get(key, ()):
            _check_code(path, key, code, known_codes)
    per_file: dict[str, tuple[str, ...]] = {}
    raw_per_file = table.get("per-file-ignores", {})
    if not isinstance(raw_per_file, dict):
        raise SettingsError(f"{path}: `per-file-ignores` must be a table of glob = [codes]")
    for glob, codes in raw_per_file.items():
        key = f"per-file-ignores.{glob!r}"
        values = _string_list(path, key, codes)
        for code in values:
            _check_code(path, key, code, known_codes)
        per_file[glob] = values
    output_format = table.get("output-format")
    valid = isinstance(output_format, str) and (
        not output_formats or output_format in output_formats
    )
    if output_format is not None and not valid:
        choices = ", ".join(output_formats)
        raise SettingsError(
            f"{path}: `output-format` must be one of {choices}, not {output_format!r}"
        )
    cache_dir = table.get("cache-dir")
    if cache_dir is not None and (not isinstance(cache_dir, str) or not cache_dir.strip()):
        raise SettingsError(f"{path}: `cache-dir` must be a non-empty path string")
    return Settings(
        path=path,
        select=lists.get("select"),
        ignore=lists.get("ignore", ()),
        extend_select=lists.get("extend-select", ()),
        exclude=lists.get("exclude", ()),
        extend_exclude=lists.get("extend-exclude", ()),
        per_file_ignores=per_file,
        output_format=output_format if isinstance(output_format, str) else None,
        cache_dir=None if cache_dir is None else path.parent / Path(cache_dir).expanduser(),
    )


def _string_list(path: Path, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SettingsError(f"{path}: `{key}` must be a list of strings")
    return tuple(item.strip() for item in value if item.strip())


def _check_code(path: Path, key: str, code: str, known_codes: KnownCodes | None) -> None:
    selector = code.upper()
    if known_codes is None or selector == "ALL":
        return
    if not any(known.startswith(selector) for known in known_codes()):
        raise SettingsError(f"{path}: unknown rule code {code!r} in `{key}`")
