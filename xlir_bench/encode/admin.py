"""``xlir-bench cache info`` and ``cache clear``: list and remove cache folders, only those that are ours."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xlir_bench.encode.layout import (
    _KEYS,
    _LEGACY,
    _VECTORS_SUFFIX,
    ROLES,
    TAG_NAME,
    _cache_root,
    _is_cache_file,
    _is_cache_folder,
    _locked,
    _read_json,
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
                "fingerprint": meta.get("fingerprint", sub.name) if isinstance(meta.get("fingerprint"), str) else sub.name,
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
