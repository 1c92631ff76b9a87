"""Sharded encoding: fill the shared embedding cache from N independent jobs.

Every distinct (role, text) of the selected tasks and languages is put in one
deterministic order (by cache key), and shard i of N takes the items at
positions i, i+N, i+2N, ...: the shards are disjoint, cover every text, and are
balanced to within one text whatever the scheduler. After all N jobs have run,
``xlir-bench run`` with the same model and cache finds every vector cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.data.selection import Selection
from xlir_bench.data.tasks import load_selection
from xlir_bench.encode.cache import text_key
from xlir_bench.encode.options import CacheOptions
from xlir_bench.models.encoders import Encoder
from xlir_bench.models.registry import load_model

# texts handed to the cached encoder at a time (it returns their vectors: 100 MB at 384 dimensions)
SLICE_TEXTS = 65_536


def parse_shard(value: str) -> tuple[int, int]:
    """``"i/N"`` -> (i, N) with 0 <= i < N."""
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise XlirError(f"--shard {value}: write it as i/N, e.g. 0/4 for the first of four shards") from None
    if count < 1 or not 0 <= index < count:
        raise XlirError(f"--shard {value}: i must be in 0..N-1 and N >= 1")
    return index, count


def task_texts(tasks: Sequence[str], langs: Sequence[str] | None, data_dir: str | None = None) -> list[tuple[str, str]]:
    """Every distinct (role, text) of the selection, in cache-key order."""
    items = set()
    for task in load_selection(tasks, langs, data_dir):
        for data in task.data.values():
            items.update(("query", text) for text in data.questions)
            items.update(("passage", text) for text in data.candidates)
    return sorted(items, key=lambda item: text_key(*item))


def shard_items(items: Sequence[tuple[str, str]], index: int, count: int) -> list[tuple[str, str]]:
    return list(items[index::count])


def encode_shard(
    model: Any,
    shard: str,
    selection: Selection,
    cache: CacheOptions,
    model_options: dict[str, Any],
    progress: bool = True,
) -> dict[str, Any]:
    """Encode one shard of the selection into the cache; returns what was done."""
    index, count = parse_shard(shard)
    items = shard_items(task_texts(selection.task_names, selection.langs, selection.data_dir), index, count)
    encoder = load_model(model, progress=progress, options=model_options) if isinstance(model, str) else model
    if not isinstance(encoder, Encoder):  # a retriever with its own index (BM25) has no vectors
        raise XlirError(f"--model {encoder.name}: a lexical model has no embeddings to cache; shard a dense model")
    cached = CacheOptions(cache.dir, True, cache.dtype, cache.name).wrap(encoder)
    for role, encode in (("query", cached.encode_queries), ("passage", cached.encode_passages)):
        texts = [text for item_role, text in items if item_role == role]
        for start in range(0, len(texts), SLICE_TEXTS):  # the vectors go to the cache; memory holds one slice
            encode(texts[start : start + SLICE_TEXTS])
    stats = cached.cache.stats
    return {
        "shard": f"{index}/{count}",
        "texts": len(items),
        "encoded": stats.encoded,
        "cached_before": stats.hits,
        "model": encoder.name,
        "fingerprint": encoder.fingerprint,
        "cache": str(cached.cache.folder),
    }
