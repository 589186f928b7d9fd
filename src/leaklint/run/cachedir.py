"""Where the cache lives, and the stamps that say which leaklint wrote it.

Kept free of libcst and of the engine: a warm run that changed nothing (``leaklint.run.snapshot``)
finds its answer here without importing either.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import leaklint

CACHE_DIR = ".leaklint_cache"
IGNORE_FILE = ".gitignore"


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def cache_folder(root: Path, setting: Path | None, chosen: Path | None = None) -> Path:
    """The folder that holds the cache and its ``.gitignore``: ``chosen`` (``--cache-dir``),
    else ``$LEAKLINT_CACHE_DIR``, else the settings' ``cache-dir`` (``setting``), else
    ``.leaklint_cache`` beside the rootdir ``root``."""
    return chosen_folder(setting, chosen) or root / CACHE_DIR


def chosen_folder(setting: Path | None, chosen: Path | None = None) -> Path | None:
    """The cache folder the user chose, if any (see ``cache_folder``)."""
    shared = os.environ.get("LEAKLINT_CACHE_DIR")
    for folder in (chosen, Path(shared) if shared else None, setting):
        if folder is not None:
            return folder.absolute()
    return None


def cache_root(root: Path, setting: Path | None, chosen: Path | None = None) -> Path:
    """Where the entries of the project rooted at ``root`` live: its own folder under a chosen
    cache folder (which may serve many projects), or the default folder itself."""
    folder = cache_folder(root, setting, chosen)
    if folder == root / CACHE_DIR:
        return folder
    return folder / content_hash(str(root).encode())[:16]


def write_ignore_file(ignore_file: Path) -> None:
    """The ``.gitignore`` that keeps the cache folder out of version control, unless it is
    there (raises ``OSError`` on a read-only tree)."""
    if not ignore_file.exists():
        ignore_file.parent.mkdir(parents=True, exist_ok=True)
        ignore_file.write_text("# Created by leaklint.\n*\n", encoding="utf-8")


def code_stamp() -> str:
    """leaklint's version, the size and mtime of its own modules and rule data (an edited rule
    or resource table invalidates the cache), and where libcst is installed and when (an
    upgrade does too)."""
    package = Path(leaklint.__file__).parent
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"leaklint {leaklint.__version__}\n".encode())
    modules = sorted(package.rglob("*.py")) + sorted((package / "data").glob("*.toml"))
    spec = importlib.util.find_spec("libcst")
    if spec is not None and spec.origin is not None:
        libcst_init = Path(spec.origin)
        modules += [libcst_init, libcst_init.parent / "_version.py"]
    for module in modules:
        try:
            stat = module.stat()
        except OSError:
            continue
        digest.update(f"{module}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
