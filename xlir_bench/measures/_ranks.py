"""The one input every measure takes: the ranks of each query's relevant candidates.

``ranks`` is a float array of shape (queries, max relevant): row q holds the
1-based ranks, in the whole pool, of query q's relevant candidates, padded with
``inf``. Every binary-relevance measure below is a function of these ranks
alone, which is why the scorer never has to sort a whole pool.
"""

from __future__ import annotations

import numpy as np


def pad_ranks(rows: list[list[int]] | list[np.ndarray]) -> np.ndarray:
    """Pack ragged per-query rank lists into the padded ``ranks`` array."""
    width = max((len(row) for row in rows), default=0)
    out = np.full((len(rows), max(width, 1)), np.inf)
    for q, row in enumerate(rows):
        out[q, : len(row)] = row
    return out


def n_relevant(ranks: np.ndarray) -> np.ndarray:
    return np.isfinite(ranks).sum(axis=1)
