"""Embedding cache on disk: encode each (model, role, text) once, ever.

Layout: ``<cache_dir>/<fingerprint>/`` holds ``model.json`` (name, dim) and
chunks ``<role>-<uuid>.npz``, each a plain numpy archive (never pickle) of
``keys`` (hex sha256 of role + text) and ``vectors`` (float32).

* Atomic: a chunk is written to a temporary file and renamed, so a killed run
  leaves only whole chunks; encoding is written chunk by chunk as it goes, so
  the work done before a kill is kept.
* Concurrent runs: chunk names are unique and writes hold an exclusive
  ``fcntl`` lock on ``<fingerprint>/.lock`` (readers take it shared), so two
  processes sharing a cache never see a half-written or half-deleted state.
* Checked on read: a chunk that does not load, or whose keys, shape, dtype,
  dimension or values are wrong, is deleted with a warning and its texts are
  encoded again; it is never used.
* Owned, never foreign: the cache root carries a ``CACHEDIR.TAG`` (the Cache
  Directory Tagging spec, which backup tools honour) naming xlir-bench, and a
  model folder holds nothing but ``model.json``, ``.lock``, chunks and
  temporary files. ``cache info``/``cache clear`` touch only such folders under
  such a root; anything else is refused, or named and left untouched.
* Shared: chunks are fsync'ed before the rename and group-readable.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import cache_root
from .encoders import Wraps, as_matrix
from .errors import XlirError
from .files import write_atomic

CHUNK_TEXTS = 512
ROLES = ("query", "passage")
TAG_NAME = "CACHEDIR.TAG"
TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by xlir-bench (embedding cache).\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_CHUNK = re.compile(r"^(query|passage)-[0-9a-f]{32}\.npz$")
_SAFE_FOLDER = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


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
    return hashlib.sha256(f"{role}\0{text}".encode()).hexdigest().encode("ascii")


@contextmanager
def _locked(folder: Path, exclusive: bool) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class CacheStats:
    hits: int = 0
    encoded: int = 0
    rebuilt_chunks: int = 0


class EmbeddingCache:
    """The vectors of one encoder fingerprint, read from and written to ``<root>/<fingerprint>``."""

    def __init__(self, root: str | os.PathLike, fingerprint: str, name: str) -> None:
        self.root = Path(root)
        self.folder = self.root / folder_name(fingerprint)
        self.fingerprint = fingerprint
        self.name = name
        self.dim: int | None = None
        self._vectors: dict[bytes, np.ndarray] = {}
        self.stats = CacheStats()
        self._load()

    def _load(self) -> None:
        if not self.folder.is_dir():
            return
        with _locked(self.folder, exclusive=False):
            meta = self._read_meta()
            self.dim = meta.get("dim")
            paths = sorted(self.folder.glob("*.npz"))
            loaded = [(path, self._read_chunk(path)) for path in paths]
        for path, chunk in loaded:
            if chunk is None:
                self._discard(path)
                continue
            keys, vectors = chunk
            self._vectors.update(zip(keys.tolist(), vectors, strict=True))

    def _read_meta(self) -> dict:
        return _read_json(self.folder / "model.json")

    def _read_chunk(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        """A chunk's keys and vectors, or None (with a warning) when anything about it is wrong."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                keys, vectors, fingerprint = archive["keys"], archive["vectors"], str(archive["fingerprint"])
        except Exception as exc:  # noqa: BLE001 - any unreadable chunk is handled the same way
            return self._bad(path, f"unreadable ({type(exc).__name__})")
        if fingerprint != self.fingerprint:
            return self._bad(path, f"fingerprint {fingerprint} is not {self.fingerprint}")
        if (
            keys.dtype != np.dtype("S64")
            or vectors.dtype != np.float32
            or vectors.ndim != 2
            or len(keys) != len(vectors)
        ):
            return self._bad(
                path, f"keys {keys.dtype}{keys.shape} / vectors {vectors.dtype}{vectors.shape} do not match"
            )
        if self.dim is not None and vectors.shape[1] != self.dim:
            return self._bad(path, f"dimension {vectors.shape[1]} is not the model's {self.dim}")
        if not np.isfinite(vectors).all():
            return self._bad(path, "holds NaN or inf")
        return keys, vectors

    def _bad(self, path: Path, reason: str) -> None:
        warnings.warn(f"embedding cache: {path} {reason}; its texts will be encoded again", stacklevel=3)
        self.stats.rebuilt_chunks += 1
        return None

    def _discard(self, path: Path) -> None:
        with _locked(self.folder, exclusive=True):
            path.unlink(missing_ok=True)

    def get(self, role: str, texts: Sequence[str]) -> tuple[list[np.ndarray | None], list[int]]:
        """Cached vectors in order (None where missing) and the positions of the missing texts."""
        found = [self._vectors.get(text_key(role, text)) for text in texts]
        missing = [i for i, vector in enumerate(found) if vector is None]
        self.stats.hits += len(texts) - len(missing)
        return found, missing

    def put(self, role: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one chunk atomically."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise XlirError(
                f"model {self.name}: returned {vectors.shape[0] if vectors.ndim else 0} vectors for {len(texts)} texts; "
                "an encoder must return one row per text (nothing was cached)"
            )
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise XlirError(
                f"model {self.name}: returned {vectors.shape[1]}-dimensional vectors but its cache holds {self.dim}; "
                "fix the encoder, or give it a new fingerprint (nothing was cached)"
            )
        keys = np.array([text_key(role, text) for text in texts], dtype="S64")
        buffer = io.BytesIO()
        np.savez(buffer, keys=keys, vectors=vectors, fingerprint=np.array(self.fingerprint))
        mark_cache_root(self.root)
        with _locked(self.folder, exclusive=True):
            _remove_orphans(self.folder)
            if self.dim is None:
                self.dim = int(vectors.shape[1])
                meta = {"name": self.name, "fingerprint": self.fingerprint, "dim": self.dim}
                write_atomic(self.folder / "model.json", json.dumps(meta), mode=_file_mode())
            write_atomic(self.folder / f"{role}-{uuid.uuid4().hex}.npz", buffer.getvalue(), mode=_file_mode())
        self._vectors.update(zip(keys.tolist(), vectors, strict=True))
        self.stats.encoded += len(texts)


def with_cache(encoder: Any, cache_dir: str | os.PathLike | None, use_cache: bool, name: str | None = None) -> Any:
    """Wrap an encoder in the embedding cache (unless switched off or already wrapped)."""
    if not use_cache or isinstance(encoder, CachedEncoder):
        return encoder
    cache = EmbeddingCache(cache_dir or default_cache_dir(), encoder.fingerprint, name or encoder.name)
    return CachedEncoder(encoder, cache)


def mark_cache_root(root: Path) -> None:
    """Create the cache root with its tag, so that info/clear later know the folder is ours."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / TAG_NAME).exists():
        write_atomic(root / TAG_NAME, TAG_TEXT, mode=_file_mode())


def _remove_orphans(folder: Path) -> None:
    """Temporary files left by a killed writer; called under the exclusive lock, so no writer is active."""
    for path in folder.glob(".*.tmp"):
        path.unlink(missing_ok=True)


@dataclass
class CachedEncoder(Wraps):
    """Wraps an encoder: cached texts are read back, the rest encoded in chunks and stored as they finish.

    One progress bar covers the whole run (:meth:`start_progress` sets its total,
    the pipeline's :attr:`label` names what is being encoded), so its rate and
    time left are those of the run, not of one chunk; the wrapped encoder's own
    per-call bar is switched off.
    """

    encoder: object
    cache: EmbeddingCache
    chunk_texts: int = CHUNK_TEXTS
    progress: bool = field(default=False, init=False)
    label: str = field(default="", init=False)
    _bar: object = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.progress = bool(getattr(self.encoder, "progress", False))
        if self.progress:
            self.encoder.progress = False

    def missing(self, role: str, texts: Sequence[str]) -> int:
        """How many of the distinct ``texts`` are not cached yet (for the plan printed before encoding)."""
        return sum(text_key(role, text) not in self.cache._vectors for text in set(texts))

    def start_progress(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.close_progress()
        if self.progress and total:
            self._bar = tqdm(total=total, unit="text", desc="encode", dynamic_ncols=True, mininterval=1.0)

    def close_progress(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("query", self.encoder.encode_queries, texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("passage", self.encoder.encode_passages, texts)

    def _encode(self, role: str, encode, texts: Sequence[str]) -> np.ndarray:
        found, missing = self.cache.get(role, texts)
        if self._bar is not None:
            self._bar.set_description(f"encode {self.label or role}", refresh=False)
        # small chunks keep the bar moving every few seconds on a CPU, and lose little on Ctrl-C
        for start in range(0, len(missing), self.chunk_texts):
            positions = missing[start : start + self.chunk_texts]
            batch = [texts[i] for i in positions]
            method = "encode_queries" if role == "query" else "encode_passages"
            vectors = as_matrix(encode(batch), len(batch), f"model {self.name}: {method}")
            if self.cache.dim not in (None, vectors.shape[1]):
                raise XlirError(
                    f"model {self.name}: {role} embeddings have shape {vectors.shape} but the cache "
                    f"{self.cache.folder} holds dimension {self.cache.dim} for this model; query and passage "
                    "encoders must share one dimension, and keep it (an API model may change behind its name: "
                    f"xlir-bench cache clear --model {self.name})"
                )
            if np.isfinite(vectors).all():
                self.cache.put(role, batch, vectors)  # never store what the harness will refuse
            for i, vector in zip(positions, vectors, strict=True):
                found[i] = vector
            if self._bar is not None:
                self._bar.update(len(batch))
        if not texts:
            return encode([])
        return np.stack(found).astype(np.float32, copy=False)


def _is_cache_file(path: Path) -> bool:
    name = path.name
    return path.is_file() and (
        name in ("model.json", ".lock") or bool(_CHUNK.fullmatch(name)) or (name.startswith(".") and name.endswith(".tmp"))
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
    return named and any(_CHUNK.fullmatch(p.name) for p in folder.iterdir())


def _cache_root(root: str | os.PathLike | None) -> Path | None:
    """The cache root to inspect, None when it does not exist; refuses a folder that is not an xlir-bench cache."""
    folder = Path(root) if root is not None else default_cache_dir()
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise XlirError(f"--cache-dir {folder}: not a folder; point it at an xlir-bench embedding cache")
    if (folder / TAG_NAME).is_file() and "xlir-bench" in (folder / TAG_NAME).read_text(errors="replace"):
        return folder
    entries = list(folder.iterdir())
    if entries and all(_is_legacy_cache_folder(entry) for entry in entries):  # made before the tag existed
        return folder
    if not entries:
        return None
    raise XlirError(
        f"--cache-dir {folder}: not an xlir-bench embedding cache (no {TAG_NAME} from xlir-bench, and it holds "
        "other files); nothing was read or deleted; give the folder xlir-bench caches into"
    )


def _count_chunk(path: Path) -> int | None:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return len(archive["keys"])
    except Exception:  # noqa: BLE001 - a damaged chunk is reported, not fatal
        return None


def cache_info(root: str | os.PathLike | None = None) -> list[dict]:
    """One entry per cached model: name, fingerprint, vectors per role, damaged chunks, bytes on disk.

    Folders under the root that the cache did not write are listed with ``model`` = None
    and ``foreign`` = True; nothing in them is read.
    """
    folder = _cache_root(root)
    if folder is None:
        return []
    entries = []
    for sub in sorted(p for p in folder.iterdir() if p.name != TAG_NAME):
        if not _is_cache_folder(sub):
            strangers = sorted(p.name for p in sub.iterdir() if not _is_cache_file(p))[:3] if sub.is_dir() else []
            entries.append({"model": None, "fingerprint": sub.name, "foreign": True, "strangers": strangers})
            continue
        meta = _read_json(sub / "model.json")
        counts, damaged = dict.fromkeys(ROLES, 0), 0
        for path in sub.glob("*.npz"):
            n = _count_chunk(path)
            if n is None:
                damaged += 1
            else:
                counts[path.name.split("-", 1)[0]] += n
        entries.append(
            {
                "model": meta.get("name", "?") if isinstance(meta.get("name"), str) else "?",
                "fingerprint": meta.get("fingerprint", sub.name) if isinstance(meta.get("fingerprint"), str) else sub.name,
                "folder": sub.name,
                "dim": meta.get("dim"),
                "queries": counts["query"],
                "passages": counts["passage"],
                "damaged_chunks": damaged,
                "metadata_ok": bool(meta),
                "bytes": sum(p.stat().st_size for p in sub.iterdir() if p.is_file()),
                "foreign": False,
            }
        )
    return entries


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class Cleared:
    removed: list[str] = field(default_factory=list)  # model folders deleted
    untouched: list[str] = field(default_factory=list)  # foreign entries left as they were


def cache_clear(root: str | os.PathLike | None = None, model: str | None = None) -> Cleared:
    """Remove the cached vectors of every model, or of the model named ``model`` (name or fingerprint).

    Only cache files inside cache folders are deleted, one by one; a folder is
    removed only once empty. Foreign entries are reported in ``untouched``.
    """
    cleared = Cleared()
    folder = _cache_root(root)
    if folder is None:
        return cleared
    for entry in cache_info(folder):
        if entry["foreign"]:
            cleared.untouched.append(entry["fingerprint"])
            continue
        if model is not None and model not in (entry["model"], entry["fingerprint"], entry["folder"]):
            continue
        sub = folder / entry["folder"]
        with _locked(sub, exclusive=True):
            for path in sub.iterdir():
                if path.name != ".lock" and _is_cache_file(path):
                    path.unlink()
        (sub / ".lock").unlink(missing_ok=True)
        try:
            sub.rmdir()
        except OSError:  # something appeared meanwhile: leave it
            cleared.untouched.append(entry["folder"])
            continue
        cleared.removed.append(entry["fingerprint"])
    return cleared
