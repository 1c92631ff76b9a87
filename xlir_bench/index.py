"""Index and search: one index per language pool and one for the multilingual union pool.

Dense pools are a matrix of candidate embeddings (float32, or float16 when the
embedding cache stores float16: half the memory, converted back to float32 block
by block while scoring, which is exact since the values are float16 already).
Exact evaluation needs the rank of *every* relevant candidate in the whole pool,
so the scorer asks an index for the score matrix of a block of queries against
the pool, or against a block of the pool when the pool is huge (one GEMM, the
computation FAISS's flat IP search runs before its top-k heap), and derives ranks
and top-k lists from it. All orderings use trec_eval's rule: higher score first,
equal scores broken by the larger candidate id first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

# Pool blocks start at multiples of this many candidates: BLAS then splits the columns of a block
# as it splits those of the whole pool, so a block's scores are bitwise those of the full product.
POOL_ALIGN = 4096
# float16 pools are converted to float32 this many candidates at a time (50 MB at 384 dimensions).
CONVERT_ROWS = 8 * POOL_ALIGN


def block_bounds(size: int, block: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) blocks of ``block`` positions covering ``size``; a last block shorter than half
    a block joins the one before it, since BLAS's small-matrix kernels round differently from its GEMM."""
    bounds = [(a, min(size, a + block)) for a in range(0, size, block)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < block / 2:
        bounds[-2:] = [(bounds[-2][0], size)]
    return bounds


class PoolIndex(Protocol):
    """One pool's index. Exact indexes score every candidate; approximate ones also answer top-k ``search``."""

    ntotal: int
    approximate: bool

    def scores(self, queries: Any) -> np.ndarray: ...


def _owner(array: np.ndarray) -> object:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array.base if array.base is not None else array


def join_rows(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The parts as one matrix: a view when they are consecutive rows of one buffer (no copy), else stacked."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    adjacent = all(
        part.flags.c_contiguous
        and part.dtype == first.dtype
        and part.shape[1:] == first.shape[1:]
        and _owner(part) is _owner(first)
        and part.__array_interface__["data"][0] == prev.__array_interface__["data"][0] + prev.nbytes
        for prev, part in zip(parts, parts[1:], strict=False)
    )
    if adjacent and first.flags.c_contiguous:
        rows = sum(len(part) for part in parts)
        # every row lies in the buffer that ``first`` keeps alive (one owner, checked above)
        return np.lib.stride_tricks.as_strided(first, shape=(rows, *first.shape[1:]), writeable=False)
    return np.vstack(parts)


class DenseIndex:
    """Candidate embeddings of one pool (float32 or float16), scored exactly by inner product."""

    approximate = False

    def __init__(self, embeddings: np.ndarray) -> None:
        if embeddings.dtype not in (np.float32, np.float16):
            embeddings = embeddings.astype(np.float32)
        self._vectors = np.ascontiguousarray(embeddings)  # no copy for a contiguous pool (or a view of the union)
        self.ntotal = len(self._vectors)

    @property
    def vectors(self) -> np.ndarray:
        return self._vectors

    def scores(self, queries: np.ndarray, candidates: slice | np.ndarray | None = None) -> np.ndarray:
        """Inner product of every query with every candidate (or those in ``candidates``), shape (queries, candidates).

        One query goes through the same GEMM as many (BLAS's one-row path rounds
        differently), so a query's scores never depend on how queries are blocked.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if len(queries) == 1:
            return self.scores(np.vstack([queries, queries]), candidates)[:1]
        if candidates is None and self._vectors.dtype == np.float32:
            return queries @ self._vectors.T
        if isinstance(candidates, slice) or candidates is None:
            start, stop, _ = (candidates or slice(None)).indices(self.ntotal)
            candidates = slice(start, stop)
            width = stop - start
        else:
            width = len(candidates)
        out = np.empty((len(queries), width), dtype=np.float32)
        for a, b in block_bounds(width, CONVERT_ROWS):  # aligned sub-blocks: same bits as one product
            if isinstance(candidates, slice):
                piece = self._vectors[candidates.start + a : candidates.start + b]
            else:
                piece = self._vectors[candidates[a:b]]
            np.matmul(queries, piece.astype(np.float32, copy=False).T, out=out[:, a:b])
        return out


class ApproximateIndex:
    """An approximate FAISS index (HNSW or IVF, inner product) for pools too large for exact scoring.

    Vectors are added in streaming batches; ``search`` is approximate top-k, and
    ``scores`` (exact, against the same vectors) serves only the recall check on a
    sample of queries. Evaluation over it is depth-truncated: a relevant candidate
    outside the retrieved depth counts as not retrieved, as trec_eval counts it.
    """

    approximate = True

    def __init__(
        self,
        embeddings: np.ndarray,
        kind: str = "hnsw",
        batch: int = 50_000,
        hnsw_m: int = 32,
        ef_search: int = 256,
        nprobe: int = 32,
        seed: int = 0,
    ) -> None:
        import faiss

        vectors = np.ascontiguousarray(embeddings, dtype=np.float32)
        n, d = vectors.shape
        if kind == "hnsw":
            self._index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            self._index.hnsw.efSearch = ef_search
        elif kind == "ivf":
            nlist = max(1, min(int(4 * np.sqrt(n)), n // 39 or 1))  # FAISS wants >= 39 training points per list
            self._index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(seed).choice(n, size=min(n, 256 * nlist), replace=False)
            self._index.train(vectors[np.sort(sample)])
            self._index.nprobe = min(nprobe, nlist)
        else:
            raise ValueError(f"unknown approximate index {kind!r}")
        for start in range(0, n, batch):
            self._index.add(vectors[start : start + batch])
        self._vectors = vectors
        self.kind = kind
        self.ntotal = n

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, self.ntotal))

    def scores(self, queries: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(queries, dtype=np.float32) @ self._vectors.T


# top_k works on this many scores at a time: argpartition's int64 positions of a (64 x 1 M) block would be 512 MB
TOP_K_ELEMENTS = 2**22


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best candidates per row, best first, ties to the larger position.

    ``scores`` rows are candidates in pool order, whose ids sort like their
    positions, so this equals trec_eval's ordering (score desc, docno desc).
    Rows are taken a few at a time, so the work arrays stay small for a huge pool.
    """
    n_queries, n_candidates = scores.shape
    k = min(k, n_candidates)
    if k == 0:
        return np.zeros((n_queries, 0), dtype=np.int64)
    step = max(1, TOP_K_ELEMENTS // max(n_candidates, 1))
    if step >= n_queries:
        return _top_k_rows(scores, k)
    return np.concatenate([_top_k_rows(scores[i : i + step], k) for i in range(0, n_queries, step)])


def _top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    n_queries, n_candidates = scores.shape
    groups = GROUPS_PER_K * k
    width = n_candidates // groups
    if width < 2 or k == n_candidates:  # a small pool: sorting it whole is as cheap
        return _sorted_positions(scores, k)
    # Disjoint groups of columns (g, g + groups, ...): k of them hold a score >= the k-th largest
    # group maximum, so that maximum is a floor under the row's k-th score. Only the few
    # candidates above the floor are sorted, which is several times cheaper than an argpartition
    # of the whole row, and a tie across the cut-off is resolved like any other tie.
    maxima = scores[:, : groups * width].reshape(n_queries, width, groups).max(axis=1)
    if groups * width < n_candidates:
        maxima = np.concatenate([maxima, scores[:, groups * width :].max(axis=1, keepdims=True)], axis=1)
    floor = np.partition(maxima, maxima.shape[1] - k, axis=1)[:, maxima.shape[1] - k]
    rows, cols = np.nonzero(scores >= floor[:, None])
    order = np.lexsort((-cols, -scores[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    first = np.searchsorted(rows, np.arange(n_queries))
    return cols[(first[:, None] + np.arange(k)).ravel()].reshape(n_queries, k).astype(np.int64)


# Groups of columns per wanted candidate in top_k: more groups raise the floor closer to the
# k-th score (fewer candidates to sort) at the cost of a longer partition of the maxima.
GROUPS_PER_K = 4


def _sorted_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """top_k by sorting each whole row: score descending, ties to the larger position."""
    positions = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    order = np.lexsort((-positions, -scores), axis=1)[:, :k]
    return np.take_along_axis(positions, order, axis=1).astype(np.int64)


def merge_top(
    top: np.ndarray, top_scores: np.ndarray, more: np.ndarray, more_scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of two top lists per row (pool positions and their scores), in top_k's order.

    Each pool block's top-k holds every member of the whole pool's top-k that lies in
    the block, so merging the blocks' lists gives exactly the whole pool's top-k.
    """
    positions = np.concatenate([top, more], axis=1)
    scores = np.concatenate([top_scores, more_scores], axis=1)
    order = np.lexsort((-positions, -scores), axis=1)[:, :k]
    return np.take_along_axis(positions, order, axis=1), np.take_along_axis(scores, order, axis=1)
