"""How much of the exact top-k an approximate index finds (the recall recorded beside depth-truncated metrics)."""

from __future__ import annotations

import numpy as np

from xlir_bench.search.index import PoolIndex, top_k

ANN_SAMPLE = 100  # queries whose exact top-k is computed to measure the approximate search's recall


def ann_recall(index: PoolIndex, reps: np.ndarray, retrieved: np.ndarray, seed: int = 0) -> float:
    """Share of the exact top-k that the approximate search found, on a seeded sample of the queries.

    A retrieved candidate counts when its exact score is at least the k-th best exact score
    (ann-benchmarks' definition, Aumüller, Bernhardsson and Faithfull 2020): of several candidates
    tied at the cut-off any is a right answer, which matching ids would deny.
    """
    sample = np.sort(np.random.default_rng(seed).choice(len(reps), size=min(ANN_SAMPLE, len(reps)), replace=False))
    depth = retrieved.shape[1]
    scores = index.scores(reps[sample])
    kth = np.take_along_axis(scores, top_k(scores, depth)[:, -1:], axis=1)
    got = retrieved[sample]
    found = (got >= 0) & (np.take_along_axis(scores, np.maximum(got, 0), axis=1) >= kth)
    return float(found.sum(axis=1).mean() / depth)
