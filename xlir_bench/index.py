"""Index and search: one index per language pool and one for the multilingual union pool.

Dense pools live in a FAISS ``IndexFlatIP`` (exact inner product). Exact
evaluation needs the rank of *every* relevant candidate in the whole pool, so
the scorer asks an index for the full score matrix of a block of queries (one
GEMM, the same computation FAISS's flat IP search runs before its top-k heap)
and derives ranks and top-k lists from that one matrix; ``search`` is the usual
FAISS top-k for ad-hoc retrieval. All orderings use trec_eval's rule: higher
score first, equal scores broken by the larger candidate id first.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class PoolIndex(Protocol):
    """One pool's index. Exact indexes score every candidate; approximate ones also answer top-k ``search``."""

    ntotal: int
    approximate: bool

    def scores(self, queries: Any) -> np.ndarray: ...


class DenseIndex:
    """Candidate embeddings of one pool in a FAISS inner-product index."""

    approximate = False

    def __init__(self, embeddings: np.ndarray) -> None:
        import faiss

        self._index = faiss.IndexFlatIP(embeddings.shape[1])
        self._index.add(np.ascontiguousarray(embeddings, dtype=np.float32))
        self.ntotal = self._index.ntotal

    @property
    def vectors(self) -> np.ndarray:
        import faiss

        flat = faiss.rev_swig_ptr(self._index.get_xb(), self.ntotal * self._index.d)
        return flat.reshape(self.ntotal, self._index.d)

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Inner product of every query with every candidate, shape (queries, candidates).

        One query goes through the same GEMM as many (BLAS's one-row path rounds
        differently), so a query's scores never depend on how queries are blocked.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if len(queries) == 1:
            return (np.vstack([queries, queries]) @ self.vectors.T)[:1]
        return queries @ self.vectors.T


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


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best candidates per row, best first, ties to the larger position.

    ``scores`` rows are candidates in pool order, whose ids sort like their
    positions, so this equals trec_eval's ordering (score desc, docno desc).
    """
    n_queries, n_candidates = scores.shape
    k = min(k, n_candidates)
    if k == 0:
        return np.zeros((n_queries, 0), dtype=np.int64)
    groups = GROUPS_PER_K * k
    width = n_candidates // groups
    if width < 2:  # a small pool: sorting it whole is as cheap
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
