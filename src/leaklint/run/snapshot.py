"""A run that nothing has changed since replays the last run's output.

The findings cache (``leaklint.run.cache``) keeps each file's findings, but using it still means
loading libcst and the rules, reading and hashing every file and searching it for tokens:
most of a second on a large tree. When the same command runs again in the same place and no
file or directory it looked at has changed, the answer is the one it printed last time. This
module checks exactly that, with one ``stat`` per input and without importing libcst, the
rules or the engine.

What a run looked at (its manifest):

* every file it opened for reading and every directory it listed, seen through CPython's
  audit hooks (``open``, ``os.scandir``, ``os.listdir``) while the run is recorded;
* every file it lints (worker processes read those; the main process lists them);
* the names it only tested for existence: the config, settings, ``.gitignore``, ``.git`` and
  ``conftest.py`` names in every directory above the linted paths (creating a ``pytest.ini``
  up there changes the run), and what ``note_probe`` was told;
* the linted paths themselves.

Each entry is compared by file type, size, mtime, ctime and inode. A directory's mtime
changes when an entry is added, removed or renamed in it, so new files are seen without
walking the tree. A file whose signature changed but whose size did not is read and compared
by content hash (a checkout, or pre-commit stashing unstaged changes, rewrites files with the
bytes they had); the snapshot then takes its new signature. A run whose inputs changed
within ``RACY_NS`` before it started leaves no snapshot (a file rewritten within the file
system's timestamp granularity could look unchanged), and so do runs that fixed files,
printed a diff, hit an internal error or warned.

The key holds the command line as parsed (options and absolute paths), the working
directory, whether colour is on, ``$LEAKLINT_CACHE_DIR``, the Python interpreter and
``leaklint.run.cachedir.code_stamp()``. Snapshots live in the cache folder, next to the findings
cache; ``--no-cache`` neither reads nor writes them. A missing, unreadable or corrupt snapshot
is no snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import leaklint
from leaklint.config.probes import listen, stop_listening
from leaklint.run import cachedir

FORMAT = 1
# Inputs changed this close before the run started may change again unseen (mtime granularity).
RACY_NS = 2_000_000_000
# Snapshots kept per cache folder (one per distinct command line; a folder chosen with
# --cache-dir may serve many projects): the oldest go first.
KEEP = 64
STDOUT, STDERR = 1, 2

Signature = list[int]


@dataclass(frozen=True)
class Invocation:
    """One ``leaklint check`` command, as the key of its snapshot."""

    targets: tuple[Path, ...]  # absolute
    options: Mapping[str, object]  # JSON-able: the parsed command-line options
    config_file: Path | None
    cache_dir: Path | None
    color: bool

    @cached_property
    def key(self) -> str:
        document = {
            "format": FORMAT,
            "code": cachedir.code_stamp(),
            "python": [os.path.realpath(sys.executable), sys.version],
            "cwd": os.getcwd(),
            "targets": [str(t) for t in self.targets],
            "options": self.options,
            "color": self.color,
            "cache": os.environ.get("LEAKLINT_CACHE_DIR"),
        }
        return cachedir.content_hash(json.dumps(document, sort_keys=True, default=str).encode())


@dataclass
class Recorded:
    """What a run printed, in order, and how it ended."""

    # (STDOUT or STDERR, text); bytes are a patch, printed as they are (never replayed)
    chunks: list[tuple[int, str | bytes]] = field(default_factory=list)
    exit_code: int = 0
    output_file: tuple[Path, str] | None = None  # --output-file and what was written to it

    def out(self, text: str | bytes) -> None:
        self.chunks.append((STDOUT, text))

    def err(self, text: str) -> None:
        self.chunks.append((STDERR, text))


# --------------------------------------------------------------------------- recording

_ACTIVE: list[Recorder] = []
_HOOKED: list[bool] = []
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class Recorder:
    """Collects the files opened for reading and the directories listed while active."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.dirs: set[str] = set()
        self.probes: set[str] = set()
        self.started_ns = 0

    def __enter__(self) -> Recorder:
        if not _HOOKED:
            sys.addaudithook(_audit)
            _HOOKED.append(True)
        self.started_ns = time.time_ns()
        _ACTIVE.append(self)
        listen(self.probes)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_listening(self.probes)
        _ACTIVE.remove(self)


def _audit(event: str, args: tuple[object, ...]) -> None:
    # Runs for every audited event of the process: return at once unless recording, and never
    # raise (an exception here would fail the operation being audited).
    if not _ACTIVE or (event != "open" and event != "os.scandir" and event != "os.listdir"):
        return
    try:
        target = args[0]
        if event == "open":
            mode, flags = args[1], args[2]
            if isinstance(mode, str) and any(c in mode for c in "wax+"):
                return
            if mode is None and isinstance(flags, int) and flags & _WRITES:
                return
            if not isinstance(target, (str, bytes, os.PathLike)):
                return  # a file descriptor
            for recorder in _ACTIVE:
                recorder.files.add(os.path.abspath(os.fsdecode(target)))
        else:
            if target is None:
                target = "."
            if not isinstance(target, (str, bytes, os.PathLike)):
                return
            for recorder in _ACTIVE:
                recorder.dirs.add(os.path.abspath(os.fsdecode(target)))
    except Exception:  # recording is best effort: a miss only costs a replay
        return


def signature(path: str) -> Signature | None:
    """What must stay the same for ``path`` to count as unchanged; ``None`` when missing."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return [stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def ancestor_probes(paths: Iterable[Path], names: Iterable[str]) -> Iterator[Path]:
    """``names`` in every directory from each of ``paths`` up to the file system root."""
    wanted = tuple(names)
    seen: set[Path] = set()
    for path in paths:
        start = path if path.is_dir() else path.parent
        for directory in (start, *start.parents):
            if directory in seen:
                break
            seen.add(directory)
            yield from (directory / name for name in wanted)


# --------------------------------------------------------------------------- storing


def location(invocation: Invocation, folder: Path) -> Path:
    """Where the snapshot of ``invocation`` lives in the cache folder ``folder``. The key
    names the command (its absolute paths, the working directory), so one folder may hold
    the snapshots of many projects."""
    return folder / "runs" / leaklint.__version__ / f"{invocation.key}.snapshot"


def save(
    invocation: Invocation,
    recorded: Recorded,
    recorder: Recorder,
    *,
    root: Path,
    setting: Path | None,
    inputs: Iterable[Path],
    contents: Mapping[Path, bytes] | None = None,
    project_roots: Iterable[Path] = (),
) -> bool:
    """Store what this run printed, keyed by ``invocation``, with the manifest of what it
    looked at (``recorder``'s and ``inputs``) and the content hash of each file in it
    (``contents``: the bytes the run read, where known). ``project_roots``: the rootdirs of
    the projects linted besides ``root``'s, whose findings caches are no input either.
    Returns whether it was stored."""
    if any(isinstance(text, bytes) for _, text in recorded.chunks):
        return False
    try:
        folder = cachedir.cache_folder(root, setting, invocation.cache_dir)
        target = location(invocation, folder)
        # The cache changes with every run: this project's entries, the snapshots, and the
        # folder's .gitignore are no input.
        own = (
            str(cachedir.cache_root(root, setting, invocation.cache_dir)),
            *(str(cachedir.cache_root(r, setting, invocation.cache_dir)) for r in project_roots),
            str(target.parent.parent),
            str(folder / cachedir.IGNORE_FILE),
        )
        looked_at = _looked_at(invocation, recorder, own, inputs)
        found = _manifest(looked_at, recorder.started_ns, contents or {})
        if found is None:
            return False
        manifest, hashes = found
        document = {
            "format": FORMAT,
            "key": invocation.key,
            "manifest": manifest,
            "hashes": hashes,
            "chunks": recorded.chunks,
            "exit": recorded.exit_code,
            "output_file": None
            if recorded.output_file is None
            else [str(recorded.output_file[0]), recorded.output_file[1]],
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        cachedir.write_ignore_file(folder / cachedir.IGNORE_FILE)
        _write(target, document)
        _prune(target.parent)
    except OSError:
        return False  # a read-only tree, a working directory gone: no snapshot
    return True


def _looked_at(
    invocation: Invocation, recorder: Recorder, own: Sequence[str], inputs: Iterable[Path]
) -> set[str]:
    """Every path the run depended on: what it opened and listed (the interpreter's and
    leaklint's own modules aside: the key holds them; a linted path inside them still counts;
    the cache's ``own`` folders never), what it probed, ``inputs`` and the linted paths."""
    skipped = (sys.prefix, sys.base_prefix, sys.exec_prefix, _package_dir())
    linted = [str(t) for t in invocation.targets]
    paths = {
        p
        for p in (*recorder.files, *recorder.dirs)
        if not _under_any(p, own) and (not _under_any(p, skipped) or _under_any(p, linted))
    }
    paths |= recorder.probes | {os.path.abspath(p) for p in inputs}
    paths |= {os.path.abspath(t) for t in invocation.targets}
    return paths


def _manifest(
    paths: Iterable[str], started_ns: int, contents: Mapping[Path, bytes]
) -> tuple[dict[str, Signature | None], dict[str, str]] | None:
    """Each path's signature, and each regular file's content hash (from ``contents``, the
    bytes the run read, where known); ``None`` when a path changed too shortly before the run
    started, or while it was read."""
    known = {os.path.abspath(p): raw for p, raw in contents.items()}
    manifest: dict[str, Signature | None] = {}
    hashes: dict[str, str] = {}
    for path in sorted(paths):
        sig = manifest[path] = signature(path)
        if sig is None:
            continue
        if _racy(sig, started_ns):
            return None
        if sig[0] == stat.S_IFREG:
            digest = _content_hash(path, sig, known.get(path))
            if digest is None:
                return None
            hashes[path] = digest
    return manifest, hashes


def _racy(sig: Signature, started_ns: int) -> bool:
    """Changed so shortly before ``started_ns`` that a later change might not show."""
    return max(sig[2], sig[3]) >= started_ns - RACY_NS


def _content_hash(path: str, sig: Signature, read: bytes | None) -> str | None:
    """The hash of the bytes a run read (``read``), else of the file now, while it keeps
    ``sig``; ``None`` when it changed while being read."""
    if read is not None:
        return cachedir.content_hash(read)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    return cachedir.content_hash(data) if signature(path) == sig else None


def _write(target: Path, document: dict[str, object]) -> None:
    """Replace ``target`` with ``document`` in one step (raises ``OSError``)."""
    import tempfile  # only a run that stores a snapshot needs it

    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".snapshot")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, separators=(",", ":"))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _prune(folder: Path) -> None:
    snapshots = sorted(folder.glob("*.snapshot"), key=lambda p: p.stat().st_mtime_ns)
    for old in snapshots[:-KEEP]:
        old.unlink(missing_ok=True)


def _package_dir() -> str:
    return os.path.dirname(os.path.abspath(leaklint.__file__))


def _under_any(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


# --------------------------------------------------------------------------- replaying


def replay(invocation: Invocation) -> Recorded | None:
    """What the last identical run printed, when nothing it looked at has changed since: each
    file and directory has the same signature, or (a file touched, or rewritten by a checkout)
    the same bytes."""
    from leaklint.config.paths import common_ancestor
    from leaklint.config.settings import SettingsError, find_settings_file, load_settings

    try:
        ancestor = common_ancestor(list(invocation.targets))
        found = find_settings_file(ancestor)
        setting = None if found is None else load_settings(found).cache_dir
        target = _find(invocation, setting, ancestor)
        if target is None:
            return None
        document = json.loads(target.read_bytes())
    except (OSError, ValueError, RecursionError, SettingsError):
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return None
    if document.get("key") != invocation.key:
        return None
    manifest, hashes = document.get("manifest"), document.get("hashes")
    if not isinstance(manifest, dict) or not isinstance(hashes, dict):
        return None
    started = time.time_ns()
    touched: dict[str, Signature] = {}
    for path, sig in manifest.items():
        now = signature(path)
        if now == sig:
            continue
        if not _same_bytes(path, sig, now, hashes.get(path)):
            return None
        assert now is not None
        touched[path] = now
    recorded = _recorded(document)
    if recorded is not None and touched and not any(_racy(s, started) for s in touched.values()):
        manifest.update(touched)  # the next run need not read them again
        with contextlib.suppress(OSError):
            _write(target, document)
    return recorded


def _find(invocation: Invocation, setting: Path | None, ancestor: Path) -> Path | None:
    """The snapshot of ``invocation``: in the cache folder the user chose, else in the
    ``.leaklint_cache`` beside the rootdir, which is the ``--config`` file's folder or a folder
    at or above the linted paths. Any snapshot whose key matches is the last run of this
    command, wherever it was kept: the manifest then says whether it still holds, so the
    rootdir need not be worked out (reading the pytest config) to find it."""
    chosen = cachedir.chosen_folder(setting, invocation.cache_dir)
    if chosen is not None:
        folders: list[Path] = [chosen]
    else:
        above = [ancestor, *ancestor.parents]
        if invocation.config_file is not None:
            above.insert(0, invocation.config_file.absolute().parent)
        folders = [folder / cachedir.CACHE_DIR for folder in above]
    for folder in folders:
        target = location(invocation, folder)
        if target.is_file():
            return target
    return None


def _same_bytes(path: str, was: object, now: Signature | None, digest: object) -> bool:
    """Whether a file whose signature changed from ``was`` to ``now`` holds the bytes it held
    (hash ``digest``)."""
    if now is None or not isinstance(was, list) or not isinstance(digest, str):
        return False
    if now[0] != stat.S_IFREG or was[:2] != now[:2]:  # another type or another size
        return False
    return _content_hash(path, now, None) == digest


def _recorded(document: dict[str, object]) -> Recorded | None:
    chunks = document.get("chunks")
    exit_code = document.get("exit")
    output_file = document.get("output_file")
    if not isinstance(chunks, list) or not isinstance(exit_code, int):
        return None
    recorded = Recorded(exit_code=exit_code)
    for chunk in chunks:
        if not (isinstance(chunk, list) and len(chunk) == 2 and isinstance(chunk[1], str)):
            return None
        if chunk[0] not in (STDOUT, STDERR):
            return None
        recorded.chunks.append((chunk[0], chunk[1]))
    if output_file is not None:
        if not (isinstance(output_file, list) and len(output_file) == 2):
            return None
        path, text = output_file
        if not (isinstance(path, str) and isinstance(text, str)):
            return None
        recorded.output_file = (Path(path), text)
    return recorded
