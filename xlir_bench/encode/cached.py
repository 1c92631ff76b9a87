"""An encoder behind the embedding cache: only texts the cache lacks reach the model, in chunks, with one progress bar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.core.progress import FIRST_CHUNK, chunk_sizes, run_bar
from xlir_bench.encode.cache import EmbeddingCache
from xlir_bench.encode.layout import CHUNK_TEXTS, default_cache_dir
from xlir_bench.models.encoders import Wraps, as_matrix


def with_cache(
    encoder: Any, cache_dir: str | os.PathLike | None, use_cache: bool, name: str | None = None, dtype: str = "float32"
) -> Any:
    """Wrap an encoder in the embedding cache (unless switched off or already wrapped); ``dtype`` is its storage."""
    if not use_cache or isinstance(encoder, CachedEncoder):
        return encoder
    cache = EmbeddingCache(cache_dir or default_cache_dir(), encoder.fingerprint, name or encoder.name, dtype)
    return CachedEncoder(encoder, cache)


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
        self.close_progress()
        if self.progress and total:
            self._bar = run_bar(total, "encode")

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
        with self.cache.disk_errors():
            out, missing = self.cache.read(role, texts)
        if self._bar is not None:
            self._bar.set_description(f"encode {self.label or role}", refresh=False)
        # small chunks keep the bar moving every few seconds on a CPU, and lose little on Ctrl-C; the run's
        # first chunks are smaller still (32, 64, ...), so the bar moves within seconds of the plan
        first = FIRST_CHUNK if self._bar is not None and self._bar.n == 0 else 0
        start = 0
        for size in chunk_sizes(len(missing), self.chunk_texts, first):
            positions, start = missing[start : start + size], start + size
            batch = [texts[i] for i in positions]
            method = "encode_queries" if role == "query" else "encode_passages"
            # a copy: an encoder that edits its input list in place must not change the texts the keys come from
            vectors = as_matrix(encode(list(batch)), len(batch), f"model {self.name}: {method}")
            if self.cache.dim not in (None, vectors.shape[1]):
                raise XlirError(
                    f"model {self.name}: {role} embeddings have shape {vectors.shape} but the cache "
                    f"{self.cache.folder} holds dimension {self.cache.dim} for this model; query and passage "
                    "encoders must share one dimension, and keep it (an API model may change behind its name: "
                    f"xlir-bench cache clear --model {self.name})"
                )
            if np.isfinite(vectors).all():  # never store what the harness will refuse
                # the stored values: a later read of a float16 cache must give what this run used
                with self.cache.disk_errors():
                    vectors = self.cache.put(role, batch, vectors)
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[positions] = vectors
            if self._bar is not None:
                self._bar.update(len(batch))
        return out
