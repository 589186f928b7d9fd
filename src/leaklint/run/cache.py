"""Findings of unchanged files, kept between runs in ``.leaklint_cache/`` beside the rootdir,
or in a folder of the user's choice (``--cache-dir``, ``$LEAKLINT_CACHE_DIR``, ``cache-dir``
in the settings), where each project has a subfolder of its own. Either folder holds a
``.gitignore`` that ignores everything in it.

A file's findings are reused only when nothing they can depend on has changed:

* the run key: the cache format, leaklint's version and code (size and mtime of its modules),
  libcst's version, the selected rules, the rootdir, the pytest config file's path and bytes
  (asyncio_mode, loop scopes, python_files/functions/classes, addopts all live there),
  whether pytest-asyncio is in play (and then whether anyio's or trio's plugin is, and which
  of its releases the project's declarations allow), and the
  path and bytes of every conftest.py (the fixture graph), including those above the linted
  paths up to the rootdir. Any change drops every entry;
* the file's own bytes (content hash), and what was asked of it (which rules ran on it: the
  prefilter's choice can depend on other files' bytes);
* for a file whose rules read files other than itself and the conftests (the project's loop
  use reads the test modules; a test module's cross-loop analysis reads the ``pytest_plugins``
  modules it sees): the paths of all the project's Python files, and the content hash of each
  file read when they are few (``engine.LISTED_READS``), else of every test module (or, when a
  rule read a non-test module, of every file). Adding, removing or renaming a file, or editing
  a file read, invalidates such entries; editing another file leaves them valid (with many
  files read: editing application code leaves entries that read only test modules valid).

The prefilter's token searches are kept by file content too, so a warm run reads each file
and hashes it, and searches nothing. Project rules run on every run: their findings are not kept.

Cross-file facts must be read through ``Project.read``/``source``/``file_model`` to be seen
here, and a result computed from other files and kept for later files must note them again on
each use (``Project.tracked``). Entries are stored as one JSON document per rule selection,
written atomically; a missing, unreadable or corrupt cache is an empty cache, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import leaklint
from leaklint.config.probes import note_probe
from leaklint.diagnostics import Diagnostic, diagnostic_from_dict, diagnostic_to_dict
from leaklint.model.project import Project
from leaklint.rules.base import Rule
from leaklint.run import cachedir
from leaklint.run.cachedir import content_hash

Entries = dict[str, dict[str, object]]
TokenFacts = tuple[dict[bytes, bool], dict[bytes, bool]]
FORMAT = 6


def cache_folder(project: Project, chosen: Path | None = None) -> Path:
    """The folder that holds ``project``'s cache and its ``.gitignore``."""
    return cachedir.cache_folder(project.root, project.settings.cache_dir, chosen)


def cache_root(project: Project, chosen: Path | None = None) -> Path:
    """Where ``project``'s entries live (see ``leaklint.run.cachedir.cache_root``)."""
    return cachedir.cache_root(project.root, project.settings.cache_dir, chosen)


@dataclass
class Cache:
    project: Project
    file: Path
    ignore_file: Path
    key: str
    entries: Entries = field(default_factory=dict)
    # The prefilter's token searches of each file, by path, with the file's content hash.
    token_entries: Entries = field(default_factory=dict)
    _hashes: dict[Path, str] = field(default_factory=dict)
    _fingerprints: dict[str, str] = field(default_factory=dict)
    _dirty: bool = False

    @classmethod
    def open(
        cls, project: Project, rules: Sequence[type[Rule]], chosen: Path | None = None
    ) -> Cache:
        """The cache of ``project`` for this rule selection (empty when stale or missing), in
        ``chosen`` or the folder ``cache_folder`` picks."""
        identities = sorted(f"{r.code}:{r.__module__}.{r.__qualname__}" for r in rules)
        selection = content_hash("\n".join(identities).encode())
        folder = cache_root(project, chosen) / leaklint.__version__
        ignore_file = cache_folder(project, chosen) / cachedir.IGNORE_FILE
        cache = cls(project, folder / f"{selection}.json", ignore_file, "")
        cache.key = cache._run_key(identities)
        cache.entries, cache.token_entries = cache._load()
        return cache

    # ---- lookup ------------------------------------------------------------------------

    def get(self, path: Path, task: str) -> list[Diagnostic] | None:
        """The cached findings of ``path`` checked as ``task`` (the rules run on it), or
        ``None`` when they may be stale."""
        entry = self.entries.get(str(path))
        current = self._hash(path)
        if entry is None or current is None or entry.get("hash") != current:
            return None
        if entry.get("task") != task:
            return None
        reads = entry.get("reads")
        if isinstance(reads, list) and all(isinstance(name, str) for name in reads):
            reads = tuple(reads)
        elif reads not in (None, "tests", "all"):
            return None
        if reads is not None and entry.get("project") != self._fingerprint(reads):
            return None
        return _diagnostics(entry.get("diagnostics"))

    def tokens(self, path: Path) -> TokenFacts | None:
        """What the prefilter found searching ``path`` for tokens, while its bytes are the
        same: (substrings, whole words), each token to whether it is there."""
        entry = self.token_entries.get(str(path))
        if entry is None or entry.get("hash") != self._hash(path):
            return None
        facts = tuple(_token_table(entry.get(key)) for key in ("known", "words"))
        if facts[0] is None or facts[1] is None:
            return None
        return facts[0], facts[1]

    def put_tokens(self, path: Path, facts: TokenFacts) -> None:
        entry: dict[str, object] = {
            "hash": self._hash(path),
            "known": _token_row(facts[0]),
            "words": _token_row(facts[1]),
        }
        if self.token_entries.get(str(path)) != entry:
            self.token_entries[str(path)] = entry
            self._dirty = True

    def put(
        self,
        path: Path,
        task: str,
        diagnostics: Sequence[Diagnostic],
        *,
        reads: str | tuple[str, ...] | None,
    ) -> None:
        self.entries[str(path)] = {
            "hash": self._hash(path),
            "task": task,
            "reads": list(reads) if isinstance(reads, tuple) else reads,
            "project": None if reads is None else self._fingerprint(reads),
            "diagnostics": [diagnostic_to_dict(d) for d in diagnostics],
        }
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        current = {str(path) for path in self.project.python_files}
        kept = {k: v for k, v in self.entries.items() if k in current or os.path.exists(k)}
        document = {
            "format": FORMAT,
            "key": self.key,
            "files": kept,
            "tokens": {k: v for k, v in self.token_entries.items() if k in current},
        }
        try:
            folder = self.file.parent
            folder.mkdir(parents=True, exist_ok=True)
            cachedir.write_ignore_file(self.ignore_file)
            handle, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(document, stream, separators=(",", ":"))
                os.replace(temp, self.file)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            return  # a read-only tree: run without a cache
        self._dirty = False

    # ---- keys --------------------------------------------------------------------------

    def _load(self) -> tuple[Entries, Entries]:
        """The file entries and the token searches' (empty when stale)."""
        try:
            document = json.loads(self.file.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}, {}
        if not isinstance(document, dict):
            return {}, {}
        if document.get("format") != FORMAT or document.get("key") != self.key:
            return {}, {}
        return _entries(document.get("files")), _entries(document.get("tokens"))

    def _hash(self, path: Path) -> str | None:
        if path not in self._hashes:
            raw = self.project.read(path)
            if isinstance(raw, OSError):
                return None
            self._hashes[path] = content_hash(raw)
        return self._hashes[path]

    def _fingerprint(self, reads: str | tuple[str, ...]) -> str:
        """The file list, with the content of the files named in ``reads``, of the test modules
        (``"tests"``), of every file (``"all"``) or of none (``"paths"``)."""
        if isinstance(reads, tuple):
            digest = hashlib.blake2b(self._fingerprint("paths").encode(), digest_size=16)
            for name in reads:
                # A path tried and not found counts too; only a regular file is read (never
                # a FIFO).
                path = Path(name)
                note_probe(path)  # a replayed run depends on it too (leaklint.run.snapshot)
                content = self._hash(path) if path.is_file() else None
                digest.update(f"{name}\0{content}\n".encode())
            return digest.hexdigest()
        if reads not in self._fingerprints:
            project = self.project
            digest = hashlib.blake2b(digest_size=16)
            for path in project.python_files:
                read = reads == "all" or (reads == "tests" and project.is_test_file(path))
                digest.update(f"{path}\0{self._hash(path) if read else ''}\n".encode())
            self._fingerprints[reads] = digest.hexdigest()
        return self._fingerprints[reads]

    def _run_key(self, identities: list[str]) -> str:
        project = self.project
        config = project.config
        parts = [
            f"format {FORMAT}",
            f"leaklint {leaklint.__version__} {cachedir.code_stamp()}",
            *identities,
            f"rootdir {config.rootdir}",
            f"explicit {config.explicit}",
            f"pytest-asyncio {project.uses_pytest_asyncio}",
        ]
        if project.uses_pytest_asyncio:
            # Read from every test module by LL207; any module can turn it on.
            parts.append(f"anyio or trio plugin {project.uses_other_async_plugin}")
            # The releases the project's declarations allow (version-specific rules).
            versions = ",".join(map(str, project.pytest_asyncio_range.versions()))
            parts.append(f"pytest-asyncio versions {versions}")
        config_path = config.path
        if config_path is not None:
            parts.append(f"config {config_path} {_file_hash(config_path)}")
        for conftest in (*project.conftests, *project.outer_conftests):
            parts.append(f"conftest {conftest} {self._hash(conftest)}")
        return content_hash("\n".join(parts).encode())


def _token_row(table: dict[bytes, bool]) -> list[str]:
    """A token table as two strings, the tokens found and those not, each joined by NUL
    (tokens are identifiers): a few hundred bytes per file that JSON writes and reads at
    once, where a table of its own per file cost more than the search it saves."""
    found = "\0".join(k.decode("latin-1") for k, v in table.items() if v)
    missing = "\0".join(k.decode("latin-1") for k, v in table.items() if not v)
    return [found, missing]


def _token_table(row: object) -> dict[bytes, bool] | None:
    if not isinstance(row, list) or len(row) != 2 or not all(isinstance(s, str) for s in row):
        return None
    try:
        table = {k.encode("latin-1"): True for k in row[0].split("\0") if k}
        table.update({k.encode("latin-1"): False for k in row[1].split("\0") if k})
    except UnicodeEncodeError:
        return None
    return table


def _entries(table: object) -> Entries:
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, dict)}


def _diagnostics(found: object) -> list[Diagnostic] | None:
    if not isinstance(found, list):
        return None
    try:
        return [diagnostic_from_dict(item) for item in found]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _file_hash(path: Path) -> str | None:
    try:
        return content_hash(path.read_bytes())
    except OSError:
        return None
