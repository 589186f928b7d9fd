from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leaklint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from leaklint.model.project import Project
from leaklint.rules.base import FixAvailability, ProjectRule, register

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FEATURE = "auto-initialize"
_HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_\-\"'. ]+?)\s*=")
_ELEMENT = re.compile(r"(?P<q>[\"'])auto-initialize(?P=q)")


@dataclass(frozen=True)
class _Dependency:
    """A pyo3 dependency table that enables ``auto-initialize``: its TOML key path."""

    table: tuple[str, ...]  # e.g. ("dependencies",) or ("target", "cfg(unix)", "dependencies")
    name: str  # the dependency key (``pyo3``, or a rename with ``package = "pyo3"``)


@register
class Pyo3AutoInitialize(ProjectRule):
    """
    ## What it does
    Finds a PyO3 extension crate (a `Cargo.toml` whose library is a `cdylib`, whose `pyo3`
    features include `extension-module`, or that sits next to a maturin `pyproject.toml`) that
    enables PyO3's `auto-initialize` feature in its `[dependencies]` (target-specific ones too).

    ## Why is this bad?
    `auto-initialize` makes PyO3 start an interpreter of its own when Rust code first takes the
    GIL without one. An extension module is always loaded by a running interpreter, so the
    feature does nothing useful there; it links libpython into the module, and code that runs
    outside the importing interpreter (threads spawned at load, `Python::with_gil` from a Rust
    thread during shutdown) can initialize or wait on a second interpreter state, which under
    pytest shows up as hangs and GIL deadlocks at exit. `auto-initialize` is meant for binaries
    and for `cargo test` of a library, where it belongs in `[dev-dependencies]`, which this rule
    leaves alone.

    ## Example
    ```toml
    [lib]
    crate-type = ["cdylib"]

    [dependencies]
    pyo3 = { version = "0.22", features = ["extension-module", "auto-initialize"] }
    ```

    Use instead:
    ```toml
    [lib]
    crate-type = ["cdylib"]

    [dependencies]
    pyo3 = { version = "0.22", features = ["extension-module"] }

    [dev-dependencies]
    pyo3 = { version = "0.22", features = ["auto-initialize"] }
    ```

    ## Fix safety
    The fix removes the `"auto-initialize"` element from the features array and keeps the rest of
    the file byte for byte. It is safe for an extension module, which never needs PyO3 to start
    the interpreter. It is offered only when the edited file parses and has exactly that one
    feature less.
    """

    code = "LL501"
    name = "pyo3-auto-initialize"
    fix_availability = FixAvailability.SAFE

    def check(self, project: Project) -> Iterable[Diagnostic]:
        for path in project.cargo_files:
            raw = project.read(path)
            if isinstance(raw, OSError):
                continue
            text = raw.decode("utf-8", errors="replace")
            try:
                manifest = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                continue  # LL002 reports it
            dependencies = list(_auto_initialize(manifest))
            if not dependencies or not _is_extension(manifest, path):
                continue
            for dependency in dependencies:
                yield self._diagnostic(path, text, manifest, dependency)

    def _diagnostic(
        self, path: Path, text: str, manifest: dict[str, Any], dependency: _Dependency
    ) -> Diagnostic:
        where = ".".join(_quote(part) for part in dependency.table)
        message = (
            f"`{dependency.name}` in [{where}] of an extension module enables `{FEATURE}`; "
            "PyO3 may start or wait on a second interpreter state"
        )
        span = _locate(text, dependency)
        if span is None:
            return self.diagnostic(
                message=message,
                path=path,
                start=Location(1, 1),
                help=f'Remove "{FEATURE}" from the features (keep it in [dev-dependencies])',
            )
        start, end = span
        edit = _removal(path, text, start, end, manifest, dependency)
        fix = (
            Fix(
                Applicability.SAFE,
                f'Remove "{FEATURE}" from the features (use [dev-dependencies] for `cargo test`)',
                (edit,),
            )
            if edit is not None
            else None
        )
        return self.diagnostic(
            message=message,
            path=path,
            start=_location(text, start),
            end=_location(text, end),
            fix=fix,
            help=None if fix else f'Remove "{FEATURE}" from the features',
        )


# --------------------------------------------------------------------------- the manifest


def _features(spec: Any) -> list[Any]:
    if isinstance(spec, dict):
        features = spec.get("features", [])
        return features if isinstance(features, list) else []
    return []


def _is_pyo3(name: str, spec: Any) -> bool:
    package = spec.get("package") if isinstance(spec, dict) else None
    return package == "pyo3" if isinstance(package, str) else name == "pyo3"


def _dependency_tables(manifest: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield ("dependencies",), manifest.get("dependencies")
    targets = manifest.get("target")
    if isinstance(targets, dict):
        for target, table in targets.items():
            if isinstance(table, dict):
                yield ("target", target, "dependencies"), table.get("dependencies")


def _auto_initialize(manifest: dict[str, Any]) -> Iterator[_Dependency]:
    for table, deps in _dependency_tables(manifest):
        if not isinstance(deps, dict):
            continue
        for name, spec in deps.items():
            if _is_pyo3(name, spec) and FEATURE in _features(spec):
                yield _Dependency(table, name)


def _is_extension(manifest: dict[str, Any], path: Path) -> bool:
    lib = manifest.get("lib")
    if isinstance(lib, dict):
        crate_types = lib.get("crate-type", lib.get("crate_type", []))
        if isinstance(crate_types, list) and "cdylib" in crate_types:
            return True
    for _, deps in _dependency_tables(manifest):
        if isinstance(deps, dict) and any(
            _is_pyo3(name, spec) and "extension-module" in _features(spec)
            for name, spec in deps.items()
        ):
            return True
    pyproject = path.parent / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    backend = data.get("build-system", {}).get("build-backend")
    tool = data.get("tool", {})
    return backend == "maturin" or (isinstance(tool, dict) and "maturin" in tool)


# --------------------------------------------------------------------------- the text


def _split_key(key: str) -> tuple[str, ...]:
    """``target.'cfg(unix)'.dependencies`` -> ("target", "cfg(unix)", "dependencies")."""
    parts: list[str] = []
    for match in re.finditer(r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([^.\s\"']+)", key):
        parts.append(next(g for g in match.groups() if g is not None))
    return tuple(parts)


def _quote(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_\-]+", part) else f"'{part}'"


def _strip_comment(line: str) -> str:
    """The line without a trailing comment (quotes respected, escapes kept simple)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _locate(text: str, dependency: _Dependency) -> tuple[int, int] | None:
    """Offsets of the ``"auto-initialize"`` string that belongs to ``dependency``."""
    table: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    depth = 0  # open brackets/braces of a value that spans lines
    offset = 0
    for line in text.splitlines(keepends=True):
        code = _strip_comment(line)
        if depth == 0:
            header = _HEADER.match(code)
            if header:
                table = _split_key(header["name"])
                key = ()
            else:
                key_match = _KEY.match(code)
                if key_match:
                    key = _split_key(key_match["key"])
        full = table + key
        owner = (*dependency.table, dependency.name)
        if full[: len(owner)] == owner:
            for element in _ELEMENT.finditer(code):
                return offset + element.start(), offset + element.end()
        depth += _nesting(code)
        offset += len(line)
    return None


def _nesting(code: str) -> int:
    change = 0
    quote = ""
    for char in code:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            change += 1
        elif char in "]}":
            change -= 1
    if _HEADER.match(code):
        return 0
    return change


def _removal(
    path: Path,
    text: str,
    start: int,
    end: int,
    manifest: dict[str, Any],
    dependency: _Dependency,
) -> Edit | None:
    """Remove one array element, its comma and the space around it; verified by re-parsing."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    after = text[end:line_end]
    before = text[line_start:start]
    if not before.strip() and re.fullmatch(r"\s*,?\s*(#.*)?\r?", after):
        # The element has its own line: drop the line.
        cut = (line_start, min(line_end + 1, len(text)))
    else:
        following = re.match(r"\s*,[ \t]*", text[end:])
        if following:
            cut = (start, end + following.end())
        else:
            preceding = re.search(r",\s*$", text[:start])
            cut = (preceding.start(), end) if preceding else (start, end)
    new_text = text[: cut[0]] + text[cut[1] :]
    try:
        edited = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        return None
    original = _features_of(manifest, dependency) or []
    if _features_of(edited, dependency) != [f for f in original if f != FEATURE]:
        return None
    return Edit(path, _location(text, cut[0]), _location(text, cut[1]), "")


def _features_of(manifest: dict[str, Any], dependency: _Dependency) -> list[Any] | None:
    node: Any = manifest
    for part in (*dependency.table, dependency.name):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return _features(node)


def _location(text: str, offset: int) -> Location:
    row = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Location(row, column)
