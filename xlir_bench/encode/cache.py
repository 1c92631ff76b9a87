"""Embedding cache on disk: encode each (model, role, text) once, ever.

Layout: ``<cache_dir>/<fingerprint>/`` holds ``model.json`` (name, dim, storage
dtype) and chunks of up to 512 texts. A chunk is a pair of files:
``<role>-<uuid>.keys`` (a small numpy archive, never pickle: ``keys``, hex sha256
of role + text, and the ``fingerprint``) and ``<role>-<uuid>.vectors.npy`` (a
plain ``.npy`` matrix, float32 or float16). Chunks written before 0.3 are one
``<role>-<uuid>.npz`` archive of keys, float32 vectors and fingerprint; they are
still read.

* Read only what a run needs: opening a cache reads the keys of every chunk
  (64 bytes per text) into one sorted in-memory index; a lookup is a binary
  search, and vectors are read through a memory map of their chunk (``np.load``
  with ``mmap_mode="r"``), only the rows asked for, one chunk at a time.
* Storage dtype: ``float32`` (default) or ``float16`` (half the disk and page
  cache; encoders still return float32, stored vectors are rounded to float16
  and converted back on read, and a fresh encoding returns the same rounded
  values as a later read). The dtype is in ``model.json``: a folder holds one
  dtype only, and asking for the other is refused, so the two never mix.
* Atomic: each file is written to a temporary file and renamed, the vectors
  before the keys, so a chunk exists only once both are whole; a killed run
  leaves only whole chunks (and at most one vectors file without keys, removed
  by the next writer). Encoding is written chunk by chunk as it goes, so the
  work done before a kill is kept.
* Concurrent runs: chunk names are unique and writes hold an exclusive
  ``fcntl`` lock on ``<fingerprint>/.lock`` (readers take it shared), so two
  processes sharing a cache never see a half-written or half-deleted state.
* Checked on read: a chunk whose keys do not load, or whose vectors file is
  missing, short, of another shape, dtype or dimension, or holds NaN or inf in
  the rows read, is deleted with a warning and its texts are encoded again; it
  is never used.
* Owned, never foreign: the cache root carries a ``CACHEDIR.TAG`` (the Cache
  Directory Tagging spec, which backup tools honour) naming xlir-bench, and a
  model folder holds nothing but ``model.json``, ``.lock``, chunks and
  temporary files. ``cache info``/``cache clear`` touch only such folders under
  such a root; anything else is refused, or named and left untouched.
* Shared: chunks are fsync'ed before the rename and group-readable.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import write_atomic
from xlir_bench.encode.layout import (
    _KEYS,
    _LEGACY,
    _VECTORS,
    _VECTORS_SUFFIX,
    CHUNK_TEXTS,
    DTYPES,
    ROLES,
    TAG_NAME,
    TAG_TEXT,
    _cache_root,
    _file_mode,
    _locked,
    _read_json,
    check_dtype,
    default_cache_dir,
    folder_name,
    text_key,
    text_keys,
)


@dataclass
class CacheStats:
    hits: int = 0
    encoded: int = 0
    rebuilt_chunks: int = 0


@dataclass(frozen=True)
class _Chunk:
    """One chunk on disk: its keys file (or 0.2 archive) and, for new chunks, its vectors file."""

    path: Path  # .keys or legacy .npz
    count: int

    @property
    def legacy(self) -> bool:
        return self.path.suffix == ".npz"

    @property
    def vectors_path(self) -> Path:
        return self.path if self.legacy else self.path.with_suffix(_VECTORS_SUFFIX)

    def files(self) -> list[Path]:
        return [self.path] if self.legacy else [self.path, self.vectors_path]


class _KeyIndex:
    """Sorted cache keys with the chunk and row of each; new chunks are merged in on the next lookup."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype="S64")
        self.chunk = np.empty(0, dtype=np.int32)
        self.row = np.empty(0, dtype=np.int32)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, keys: np.ndarray, chunk: int) -> None:
        rows = np.arange(len(keys), dtype=np.int32)
        self._pending.append((keys, np.full(len(keys), chunk, dtype=np.int32), rows))

    def _merge(self) -> None:
        if not self._pending:
            return
        parts = [(self.keys, self.chunk, self.row), *self._pending]
        self._pending = []
        keys = np.concatenate([p[0] for p in parts])
        chunk = np.concatenate([p[1] for p in parts])
        row = np.concatenate([p[2] for p in parts])
        # the first occurrence of a key wins (two runs may have encoded the same text)
        keys, first = np.unique(keys, return_index=True)
        self.keys, self.chunk, self.row = keys, chunk[first], row[first]

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Index positions of ``keys``, -1 where absent."""
        self._merge()
        if not len(self.keys) or not len(keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, at, -1)

    def drop_chunks(self, chunks: set[int]) -> None:
        self._merge()
        keep = ~np.isin(self.chunk, list(chunks))
        self.keys, self.chunk, self.row = self.keys[keep], self.chunk[keep], self.row[keep]

    def __len__(self) -> int:
        self._merge()
        return len(self.keys)


class EmbeddingCache:
    """The vectors of one encoder fingerprint, read from and written to ``<root>/<fingerprint>``."""

    def __init__(self, root: str | os.PathLike, fingerprint: str, name: str, dtype: str = "float32") -> None:
        self.root = Path(root)
        _cache_root(self.root)  # a folder of other files is never tagged as a cache (backup tools skip tagged ones)
        self.folder = self.root / folder_name(fingerprint)
        self.fingerprint = fingerprint
        self.name = name
        self.dtype = check_dtype(dtype)
        self.dim: int | None = None
        self.stats = CacheStats()
        self._chunks: list[_Chunk] = []
        self._index = _KeyIndex()
        with self.disk_errors():
            self._load()

    # ---------------------------------------------------------------- reading

    def _load(self) -> None:
        """Read every chunk's keys (not its vectors) into the index."""
        if not self.folder.is_dir():
            return
        with _locked(self.folder, exclusive=False):
            meta = self._read_meta()
            self._check_meta_dtype(meta)
            self.dim = meta.get("dim")
            paths = sorted(p for p in self.folder.iterdir() if _KEYS.fullmatch(p.name) or _LEGACY.fullmatch(p.name))
            loaded = [(path, self._read_keys(path)) for path in paths]
        for path, keys in loaded:
            if keys is None:
                self._discard([path, path.with_suffix(_VECTORS_SUFFIX)] if _KEYS.fullmatch(path.name) else [path])
                continue
            self._index.add(keys, len(self._chunks))
            self._chunks.append(_Chunk(path, len(keys)))

    def _read_meta(self) -> dict:
        return _read_json(self.folder / "model.json")

    def _check_meta_dtype(self, meta: dict) -> None:
        stored = meta.get("dtype", "float32") if meta else None
        if stored is not None and stored != self.dtype.name:
            raise XlirError(
                f"--cache-dtype {self.dtype.name}: {self.folder} holds {stored} vectors of model {self.name}; "
                f"float16 and float32 vectors are never mixed: use --cache-dtype {stored}, another --cache-dir, "
                f"or `xlir-bench cache clear --model {self.name}`"
            )

    def _read_keys(self, path: Path) -> np.ndarray | None:
        """A chunk's keys, or None (with a warning) when its keys file is wrong."""
        try:
            with np.load(path, allow_pickle=False) as archive:  # an archive reads only the members asked for
                keys, fingerprint = archive["keys"], str(archive["fingerprint"])
        except Exception as exc:  # noqa: BLE001 - any unreadable chunk is handled the same way
            return self._bad(path, f"unreadable ({type(exc).__name__})")
        if fingerprint != self.fingerprint:
            return self._bad(path, f"fingerprint {fingerprint} is not {self.fingerprint}")
        if keys.dtype != np.dtype("S64") or keys.ndim != 1:
            return self._bad(path, f"keys {keys.dtype}{keys.shape} are not 64-byte hex keys")
        return keys

    def _read_vectors(self, chunk: _Chunk, rows: np.ndarray) -> np.ndarray | None:
        """The given rows of a chunk as float32, or None (with a warning) when anything about the chunk is wrong."""
        path = chunk.vectors_path
        try:
            if chunk.legacy:
                with np.load(path, allow_pickle=False) as archive:
                    vectors = archive["vectors"]
            else:
                vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - a missing, short or damaged file is handled the same way
            return self._bad(path, f"unreadable ({type(exc).__name__})")
        if vectors.dtype != self.dtype or vectors.ndim != 2 or len(vectors) != chunk.count:
            return self._bad(
                path, f"vectors {vectors.dtype}{vectors.shape} do not match {chunk.count} {self.dtype.name} vectors"
            )
        if self.dim is not None and vectors.shape[1] != self.dim:
            return self._bad(path, f"dimension {vectors.shape[1]} is not the model's {self.dim}")
        picked = np.asarray(vectors[rows], dtype=np.float32)  # copies only these rows out of the map
        del vectors  # unmap now: mapped pages count in the process's resident memory
        if not np.isfinite(picked).all():
            return self._bad(path, "holds NaN or inf")
        return picked

    def _bad(self, path: Path, reason: str) -> None:
        warnings.warn(f"embedding cache: {path} {reason}; its texts will be encoded again", stacklevel=3)
        self.stats.rebuilt_chunks += 1
        return None

    def _discard(self, paths: list[Path]) -> None:
        with _locked(self.folder, exclusive=True):
            for path in paths:
                path.unlink(missing_ok=True)

    @contextmanager
    def disk_errors(self) -> Iterator[None]:
        """A full disk or a read-only folder under the cache is the cache's problem, not the model's: say so."""
        try:
            yield
        except OSError as exc:
            where = exc.filename or self.folder
            raise XlirError(
                f"--cache-dir {self.root}: cannot use the embedding cache ({where}: {exc.strerror or exc}); "
                "free disk space or fix its permissions, or give another --cache-dir, or pass --no-cache"
            ) from exc

    def contains(self, role: str, texts: Sequence[str]) -> np.ndarray:
        """Whether each text is cached (from the key index alone)."""
        return self._index.find(text_keys(role, texts)) >= 0

    def read(self, role: str, texts: Sequence[str], out: np.ndarray | None = None) -> tuple[np.ndarray | None, list[int]]:
        """Cached vectors of ``texts`` as rows of a float32 matrix (``out`` if given) and the positions not cached.

        Only the chunks holding a wanted text are opened, each once, and only the wanted rows are copied
        out of its memory map. Rows of missing texts are left as they were (zeros in a new matrix).
        """
        where = self._index.find(text_keys(role, texts))
        wanted = np.flatnonzero(where >= 0)
        if out is None and self.dim is not None:
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
        bad: set[int] = set()
        if len(wanted):
            chunk_of = self._index.chunk[where[wanted]]
            order = np.argsort(chunk_of, kind="stable")
            bounds = np.flatnonzero(np.diff(chunk_of[order])) + 1
            with _locked(self.folder, exclusive=False):  # a concurrent `cache clear` waits for this read
                for group in np.split(order, bounds):
                    chunk = int(chunk_of[group[0]])
                    positions = wanted[group]
                    picked = self._read_vectors(self._chunks[chunk], self._index.row[where[positions]])
                    if picked is None:
                        bad.add(chunk)
                    else:
                        out[positions] = picked
        if bad:
            lost = (where >= 0) & np.isin(self._index.chunk[np.maximum(where, 0)], list(bad))
            where[lost] = -1
            self._discard([path for chunk in sorted(bad) for path in self._chunks[chunk].files()])
            self._index.drop_chunks(bad)
        missing = np.flatnonzero(where < 0).tolist()
        self.stats.hits += len(texts) - len(missing)
        return out, missing

    def get(self, role: str, texts: Sequence[str]) -> tuple[list[np.ndarray | None], list[int]]:
        """Cached vectors in order (None where missing) and the positions of the missing texts."""
        out, missing = self.read(role, texts)
        absent = set(missing)
        return [None if i in absent else out[i] for i in range(len(texts))], missing

    # ---------------------------------------------------------------- writing

    def put(self, role: str, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Store one chunk atomically; returns the vectors as stored (float16-rounded when the dtype is float16)."""
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
        with np.errstate(over="ignore"):  # an overflow becomes inf and is refused just below
            stored = vectors.astype(self.dtype)
        if not np.isfinite(stored).all():
            raise XlirError(
                f"model {self.name}: a vector exceeds the float16 range (65504); use --cache-dtype float32 "
                "(nothing was cached)"
            )
        self.put_keys(role, text_keys(role, texts), stored)
        self.stats.encoded += len(texts)
        return stored.astype(np.float32)

    def put_keys(self, role: str, keys: np.ndarray, stored: np.ndarray) -> None:
        """Store one chunk of already-keyed vectors in this cache's dtype (``put`` checks them first)."""
        stored = np.ascontiguousarray(stored, dtype=self.dtype)
        keys = np.asarray(keys, dtype="S64")
        keys_file, vectors_file = io.BytesIO(), io.BytesIO()
        np.savez(keys_file, keys=keys, fingerprint=np.array(self.fingerprint))
        np.save(vectors_file, stored, allow_pickle=False)
        mark_cache_root(self.root)
        name = f"{role}-{uuid.uuid4().hex}"
        with _locked(self.folder, exclusive=True):
            _remove_orphans(self.folder)
            if self.dim is None:
                self._write_meta(int(stored.shape[1]))
            if self.dim != stored.shape[1]:
                raise XlirError(
                    f"model {self.name}: returned {stored.shape[1]}-dimensional vectors but its cache holds "
                    f"{self.dim}; fix the encoder, or give it a new fingerprint (nothing was cached)"
                )
            # vectors first: the keys file is what makes the chunk exist
            write_atomic(self.folder / f"{name}{_VECTORS_SUFFIX}", vectors_file.getvalue(), mode=_file_mode())
            write_atomic(self.folder / f"{name}.keys", keys_file.getvalue(), mode=_file_mode())
        self._index.add(keys, len(self._chunks))
        self._chunks.append(_Chunk(self.folder / f"{name}.keys", len(keys)))

    def _write_meta(self, dim: int) -> None:
        meta = self._read_meta()
        if meta:  # another process created the folder meanwhile: its dimension and dtype rule
            self._check_meta_dtype(meta)
            self.dim = meta.get("dim")
            return
        self.dim = dim
        meta = {"name": self.name, "fingerprint": self.fingerprint, "dim": dim, "dtype": self.dtype.name}
        write_atomic(self.folder / "model.json", json.dumps(meta), mode=_file_mode())




def mark_cache_root(root: Path) -> None:
    """Create the cache root with its tag, so that info/clear later know the folder is ours."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / TAG_NAME).exists():
        write_atomic(root / TAG_NAME, TAG_TEXT, mode=_file_mode())


def _remove_orphans(folder: Path) -> None:
    """Temporary files, and vectors without their keys, left by a killed writer.

    Called under the exclusive lock, so no writer is between its two renames.
    """
    for path in folder.glob(".*.tmp"):
        path.unlink(missing_ok=True)
    for path in folder.glob(f"*{_VECTORS_SUFFIX}"):
        keys = folder / (path.name[: -len(_VECTORS_SUFFIX)] + ".keys")
        if _VECTORS.fullmatch(path.name) and not keys.exists():
            path.unlink(missing_ok=True)




__all__ = [
    "CHUNK_TEXTS", "DTYPES", "ROLES", "TAG_NAME", "CacheStats", "EmbeddingCache", "check_dtype",
    "default_cache_dir", "folder_name", "mark_cache_root", "text_key", "text_keys",
]  # fmt: skip
