"""The cache's layout on disk: names, keys, dtypes, the lock, and how a folder is recognised as ours.

See :mod:`xlir_bench.encode.cache` for the format; :mod:`xlir_bench.encode.admin`
lists and removes caches; both recognise a cache folder the same way, here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import cache_root

CHUNK_TEXTS = 512
ROLES = ("query", "passage")
DTYPES = ("float32", "float16")
TAG_NAME = "CACHEDIR.TAG"
_TAG_TMP = re.compile(r"\.CACHEDIR\.TAG\.[A-Za-z0-9_]+\.tmp")  # core.files.write_atomic's temporary name
TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by xlir-bench (embedding cache).\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_LEGACY = re.compile(r"^(query|passage)-[0-9a-f]{32}\.npz$")
_KEYS = re.compile(r"^(query|passage)-[0-9a-f]{32}\.keys$")
_VECTORS = re.compile(r"^(query|passage)-[0-9a-f]{32}\.vectors\.npy$")
_CHUNK = _LEGACY  # kept for callers of 0.2
_SAFE_FOLDER = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
_VECTORS_SUFFIX = ".vectors.npy"


def _file_mode() -> int:
    """0666 less the umask, but always owner- and group-readable: one cache is shared by a team's jobs."""
    current = os.umask(0)
    os.umask(current)
    return (0o666 & ~current) | 0o440


def folder_name(fingerprint: str) -> str:
    """A fingerprint as a folder name; an encoder's own fingerprint could hold '/' or '..', so hash those."""
    if _SAFE_FOLDER.fullmatch(fingerprint) and fingerprint not in (".", ".."):
        return fingerprint
    return "fp-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    return cache_root() / "embeddings"


def text_key(role: str, text: str) -> bytes:
    # hex, not raw digest: numpy's S dtype would strip a digest's trailing NUL bytes
    # surrogatepass: a lone surrogate (from a JSON "\\ud800") is still one well-defined key
    return hashlib.sha256(f"{role}\0{text}".encode("utf-8", "surrogatepass")).hexdigest().encode("ascii")


def text_keys(role: str, texts: Sequence[str]) -> np.ndarray:
    """The cache keys of ``texts`` as an S64 array."""
    return np.array([text_key(role, text) for text in texts], dtype="S64").reshape(len(texts))


def check_dtype(dtype: str) -> np.dtype:
    if dtype not in DTYPES:
        raise XlirError(f"--cache-dtype {dtype}: choose one of {', '.join(DTYPES)}")
    return np.dtype(dtype)


@contextmanager
def _locked(folder: Path, exclusive: bool) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_cache_file(path: Path) -> bool:
    name = path.name
    return path.is_file() and (
        name in ("model.json", ".lock")
        or any(pattern.fullmatch(name) for pattern in (_LEGACY, _KEYS, _VECTORS))
        or (name.startswith(".") and name.endswith(".tmp"))
    )


def _is_cache_folder(folder: Path) -> bool:
    """A model folder as the cache writes it: a safe name and nothing but cache files in it."""
    if folder.is_symlink() or not folder.is_dir() or not _SAFE_FOLDER.fullmatch(folder.name):
        return False
    return all(_is_cache_file(entry) and not entry.is_symlink() for entry in folder.iterdir())


def _is_legacy_cache_folder(folder: Path) -> bool:
    """An untagged (xlir-bench 0.1) model folder: our layout, our own model.json, and at least one chunk."""
    if not _is_cache_folder(folder):
        return False
    meta = _read_json(folder / "model.json")
    named = meta.get("fingerprint") == folder.name and isinstance(meta.get("dim"), int)
    return named and any(_LEGACY.fullmatch(p.name) for p in folder.iterdir())


def _cache_root(root: str | os.PathLike | None) -> Path | None:
    """The cache root to inspect, None when it does not exist; refuses a folder that is not an xlir-bench cache."""
    folder = Path(root) if root is not None else default_cache_dir()
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise XlirError(f"--cache-dir {folder}: not a folder; point it at an xlir-bench embedding cache")
    if (folder / TAG_NAME).is_file() and "xlir-bench" in (folder / TAG_NAME).read_text(errors="replace"):
        return folder
    # another process may be tagging a new cache this moment: its tag's temporary file is not "other files"
    entries = [entry for entry in folder.iterdir() if not _TAG_TMP.fullmatch(entry.name)]
    if entries and all(_is_legacy_cache_folder(entry) for entry in entries):  # made before the tag existed
        return folder
    if not entries:
        return None
    raise XlirError(
        f"--cache-dir {folder}: not an xlir-bench embedding cache (no {TAG_NAME} from xlir-bench, and it holds "
        "other files); nothing was read, written or deleted there; give a new or empty folder, "
        "or the folder xlir-bench caches into"
    )


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
