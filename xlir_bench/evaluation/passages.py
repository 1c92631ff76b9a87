"""Where a task's candidate vectors live while it is scored (one union matrix when the multilingual pool needs it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xlir_bench.core.constants import MULTI_POOL
from xlir_bench.data.tasks import Setting, Task
from xlir_bench.encode.cached import CachedEncoder


@dataclass
class PassageStore:
    """Where a task's candidate vectors live: one matrix in union-pool order when the multilingual pool
    needs them all (each language is then a view of it, and the union index copies nothing), stored as
    float16 when the cache stores float16 (exact: the cached values are float16 already)."""

    offsets: dict[str, int]
    total: int
    dtype: np.dtype
    union: np.ndarray | None = None

    @classmethod
    def plan(cls, task: Task, settings: list[Setting], cached: CachedEncoder | None) -> PassageStore:
        dtype = (
            np.dtype(np.float16) if cached is not None and cached.cache.dtype == np.float16 else np.dtype(np.float32)
        )
        if not any(s.pool == MULTI_POOL for s in settings):
            return cls({}, 0, dtype)
        offsets, total = {}, 0
        for lang in sorted(task.langs):  # the union pool's language order (pools_of)
            offsets[lang] = total
            total += len(task.data[lang].candidates)
        return cls(offsets, total, dtype)

    def keep(self, lang: str, reps: Any) -> Any:
        if not isinstance(reps, np.ndarray) or reps.ndim != 2 or reps.dtype.kind != "f":
            return reps  # not dense vectors (BM25's token lists)
        if lang not in self.offsets or (self.union is not None and self.union.shape[1] != reps.shape[1]):
            return reps.astype(self.dtype, copy=False)  # a dimension mismatch is reported by check()
        if self.union is None:
            self.union = np.empty((self.total, reps.shape[1]), dtype=self.dtype)
        start = self.offsets[lang]
        self.union[start : start + len(reps)] = reps
        return self.union[start : start + len(reps)]
