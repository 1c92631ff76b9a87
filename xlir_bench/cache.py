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
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import cache_root
from .errors import XlirError

CHUNK_TEXTS = 512
ROLES = ("query", "passage")


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
        self.folder = Path(root) / fingerprint
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
        try:
            return json.loads((self.folder / "model.json").read_text())
        except (OSError, ValueError):
            return {}

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
        keys = np.array([text_key(role, text) for text in texts], dtype="S64")
        with _locked(self.folder, exclusive=True):
            if self.dim is None:
                self.dim = int(vectors.shape[1])
                _write_atomic(
                    self.folder / "model.json",
                    json.dumps({"name": self.name, "fingerprint": self.fingerprint, "dim": self.dim}).encode(),
                )
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(handle, keys=keys, vectors=vectors, fingerprint=np.array(self.fingerprint))
                os.replace(tmp, self.folder / f"{role}-{uuid.uuid4().hex}.npz")
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        self._vectors.update(zip(keys.tolist(), vectors, strict=True))
        self.stats.encoded += len(texts)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


@dataclass
class CachedEncoder:
    """Wraps an encoder: cached texts are read back, the rest encoded in chunks and stored as they finish.

    One progress bar covers all the chunks of a call (the wrapped encoder's own
    per-call bar is switched off, or it would restart for every chunk).
    """

    encoder: object
    cache: EmbeddingCache
    chunk_texts: int = CHUNK_TEXTS
    progress: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.progress = bool(getattr(self.encoder, "progress", False))
        if self.progress:
            self.encoder.progress = False

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def fingerprint(self) -> str:
        return self.encoder.fingerprint

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("query", self.encoder.encode_queries, texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("passage", self.encoder.encode_passages, texts)

    def _encode(self, role: str, encode, texts: Sequence[str]) -> np.ndarray:
        from tqdm.auto import tqdm

        found, missing = self.cache.get(role, texts)
        with tqdm(
            total=len(missing),
            desc="encode queries" if role == "query" else "encode passages",
            unit="text",
            disable=not self.progress or not missing,
            leave=False,
        ) as bar:
            for start in range(0, len(missing), self.chunk_texts):
                positions = missing[start : start + self.chunk_texts]
                batch = [texts[i] for i in positions]
                vectors = np.asarray(encode(batch), dtype=np.float32)
                if vectors.ndim == 2 and self.cache.dim not in (None, vectors.shape[1]):
                    raise XlirError(
                        f"model {self.name}: {role} embeddings have shape {vectors.shape} but the cache "
                        f"{self.cache.folder} holds dimension {self.cache.dim} for this model; query and passage "
                        "encoders must share one dimension, and keep it (an API model may change behind its name: "
                        f"xlir-bench cache clear --model {self.name})"
                    )
                if vectors.ndim == 2 and np.isfinite(vectors).all():
                    self.cache.put(role, batch, vectors)  # never store what the harness will refuse
                for i, vector in zip(positions, vectors, strict=True):
                    found[i] = vector
                bar.update(len(batch))
        if not texts:
            return encode([])
        return np.stack(found).astype(np.float32, copy=False)


def cache_info(root: str | os.PathLike | None = None) -> list[dict]:
    """One entry per cached model: name, fingerprint, vectors per role, bytes on disk."""
    root = Path(root or default_cache_dir())
    entries = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        meta = {}
        if (folder / "model.json").exists():
            meta = json.loads((folder / "model.json").read_text())
        counts = dict.fromkeys(ROLES, 0)
        for path in folder.glob("*.npz"):
            role = path.name.split("-", 1)[0]
            with np.load(path, allow_pickle=False) as archive:
                counts[role] = counts.get(role, 0) + len(archive["keys"])
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        entries.append(
            {
                "model": meta.get("name", "?"),
                "fingerprint": folder.name,
                "dim": meta.get("dim"),
                "queries": counts["query"],
                "passages": counts["passage"],
                "bytes": size,
            }
        )
    return entries


def cache_clear(root: str | os.PathLike | None = None, model: str | None = None) -> list[str]:
    """Remove the cached vectors of every model, or of the models named ``model``; returns the fingerprints."""
    removed = []
    for entry in cache_info(root):
        if model is None or entry["model"] == model:
            folder = Path(root or default_cache_dir()) / entry["fingerprint"]
            with _locked(folder, exclusive=True):
                for path in folder.glob("*.npz"):
                    path.unlink()
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(entry["fingerprint"])
    return removed
