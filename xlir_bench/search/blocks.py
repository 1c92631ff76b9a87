"""Score-block scheduling for exact search: how many queries and candidates one GEMM block holds.

Blocks bound peak memory whatever the pool size; pool blocks start at multiples of
``POOL_ALIGN`` so a block's scores are bitwise those of the whole product.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from xlir_bench.search.index import POOL_ALIGN
from xlir_bench.search.judgements import Pool


@dataclass(frozen=True)
class BlockSizes:
    """How exact scoring is cut into blocks; a value object, so tests pass small sizes instead of patching constants.

    ``score_bytes``: peak memory of one (queries x pool) float32 block, whatever the number of
    queries; a pool so large that fewer than ``min_rows`` queries fit in a block is scored in
    blocks of the pool instead, each a multiple of ``pool_align`` candidates.
    """

    score_bytes: int = 256 * 2**20
    min_rows: int = 16
    pool_align: int = POOL_ALIGN

    def rows(self, pool_size: int, threads: int = 1) -> int:
        """Queries per score block: the blocks of ``threads`` scoring threads together fit ``score_bytes``."""
        return max(2, self.score_bytes // threads // (4 * max(pool_size, 1)))

    def pool_block(self, pool_size: int) -> int | None:
        """Candidates per pool block (a multiple of ``pool_align``), or None when the whole pool fits in a block."""
        if self.score_bytes // (4 * max(pool_size, 1)) >= self.min_rows:
            return None
        return max(self.pool_align, self.score_bytes // (4 * self.min_rows) // self.pool_align * self.pool_align)


@dataclass
class BlockSource:
    """Where a setting's score blocks come from; ``block`` aligns its blocks with a shared source's.

    A pool-blocked source gives ``pool(rows, a, b)``: the scores of those queries against pool positions a..b-1.
    """

    scores: Callable[[slice], np.ndarray] | None
    block: int | None = None
    pool: Callable[[slice, int, int], np.ndarray] | None = None
    pool_block: int | None = None
    checked: bool = False  # the scores come from a union block already checked for inf/NaN
    sizes: BlockSizes = BlockSizes()

    def blocks(self, n_queries: int, pool: Pool) -> Iterator[slice]:
        size = self.block or self.sizes.rows(len(pool.candidate_ids))
        starts = list(range(0, n_queries, size))
        if len(starts) > 1 and n_queries - starts[-1] == 1:
            starts.pop()  # no block of one query: BLAS's one-row path rounds differently from its GEMM
        for i, start in enumerate(starts):
            yield slice(start, starts[i + 1] if i + 1 < len(starts) else n_queries)


def finish(steps) -> Any:
    """The return value of a generator whose every step has run."""
    try:
        next(steps)
    except StopIteration as finished:
        return finished.value
    raise RuntimeError("a scoring generator had more blocks than planned")


def union_slices(rows: np.ndarray, block: int) -> list[slice]:
    """A setting's judged queries grouped by the union block their question falls in (``rows`` ascending)."""
    cuts = np.flatnonzero(np.diff(rows // block)) + 1
    bounds = [0, *cuts.tolist(), len(rows)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def sliced(union_scores, query_rows: np.ndarray, block: int, columns: np.ndarray) -> np.ndarray:
    """The given columns of the union scores of ``query_rows`` (rows of the language's questions).

    Columns are cut before rows are gathered, and a block whose rows are all wanted in order
    is only sliced (a view), so a setting never copies the whole union block.
    """
    contiguous = len(columns) > 0 and columns[-1] - columns[0] == len(columns) - 1
    wanted = slice(int(columns[0]), int(columns[-1]) + 1) if contiguous else columns
    starts = np.unique(query_rows // block) * block
    if len(starts) == 1:
        scores = union_scores(int(starts[0]))
        local = query_rows - starts[0]
        if contiguous and len(local) == len(scores) and np.array_equal(local, np.arange(len(scores))):
            return scores[:, wanted]
        return scores[local, wanted] if contiguous else scores[np.ix_(local, columns)]
    out = np.empty((len(query_rows), len(columns)), dtype=np.float32)
    for start in starts:
        inside = (query_rows >= start) & (query_rows < start + block)
        local = query_rows[inside] - start
        scores = union_scores(int(start))
        out[inside] = scores[local, wanted] if contiguous else scores[np.ix_(local, columns)]
    return out


def columns_of(scores: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    return scores if columns is None else scores[:, columns]
