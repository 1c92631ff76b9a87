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
DTYPES = ("float32", "float16")
TAG_NAME = "CACHEDIR.TAG"
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
    return hashlib.sha256(f"{role}\0{text}".encode()).hexdigest().encode("ascii")


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
        self.folder = self.root / folder_name(fingerprint)
        self.fingerprint = fingerprint
        self.name = name
        self.dtype = check_dtype(dtype)
        self.dim: int | None = None
        self.stats = CacheStats()
        self._chunks: list[_Chunk] = []
        self._index = _KeyIndex()
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

    def contains(self, role: str, texts: Sequence[str]) -> np.ndarray:
        """Whether each text is cached (from the key index alone)."""
        return self._index.find(text_keys(role, texts)) >= 0

    def read(
        self, role: str, texts: Sequence[str], out: np.ndarray | None = None
    ) -> tuple[np.ndarray | None, list[int]]:
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


def with_cache(
    encoder: Any, cache_dir: str | os.PathLike | None, use_cache: bool, name: str | None = None, dtype: str = "float32"
) -> Any:
    """Wrap an encoder in the embedding cache (unless switched off or already wrapped); ``dtype`` is its storage."""
    if not use_cache or isinstance(encoder, CachedEncoder):
        return encoder
    cache = EmbeddingCache(cache_dir or default_cache_dir(), encoder.fingerprint, name or encoder.name, dtype)
    return CachedEncoder(encoder, cache)


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
        distinct = list(set(texts))
        return int(len(distinct) - self.cache.contains(role, distinct).sum())

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
        if not texts:
            return encode([])
        # one float32 matrix, filled in place: the run's vectors are never held twice
        out, missing = self.cache.read(role, texts)
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
            if np.isfinite(vectors).all():  # never store what the harness will refuse
                # the stored values: a later read of a float16 cache must give what this run used
                vectors = self.cache.put(role, batch, vectors)
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[positions] = vectors
            if self._bar is not None:
                self._bar.update(len(batch))
        return out


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
    """Texts in a chunk, None when its keys or (from the .npy header alone) its vectors are damaged."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            count = len(archive["keys"])
        if _KEYS.fullmatch(path.name):
            vectors = np.load(path.with_suffix(_VECTORS_SUFFIX), mmap_mode="r", allow_pickle=False)
            if vectors.ndim != 2 or len(vectors) != count:
                return None
        return count
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
        for path in sub.iterdir():
            if not (_KEYS.fullmatch(path.name) or _LEGACY.fullmatch(path.name)):
                continue
            n = _count_chunk(path)
            if n is None:
                damaged += 1
            else:
                counts[path.name.split("-", 1)[0]] += n
        entries.append(
            {
                "model": meta.get("name", "?") if isinstance(meta.get("name"), str) else "?",
                "fingerprint": meta.get("fingerprint", sub.name)
                if isinstance(meta.get("fingerprint"), str)
                else sub.name,
                "folder": sub.name,
                "dim": meta.get("dim"),
                "dtype": meta.get("dtype", "float32") if meta else None,
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
