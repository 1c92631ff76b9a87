"""Measures, one per module (after ir_measures), each a small pure function of ranks.

Every module's docstring holds the definition and its citation. ``MEASURES``
names the per-setting measures a run record reports.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._ranks import n_relevant, pad_ranks
from .ap import average_precision
from .language_share import same_language_share
from .ndcg import ndcg_at_k
from .rank_distance import rank_distance
from .recall import recall_at_k
from .rr import reciprocal_rank


def nan_mean(values) -> float:
    """Mean of the defined values (NaN and None skipped); NaN, without a warning, when there are none."""
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    array = array[~np.isnan(array)]
    return float(array.mean()) if array.size else float("nan")


MEASURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "map": average_precision,
    "recall@1": lambda ranks: recall_at_k(ranks, 1),
    "recall@5": lambda ranks: recall_at_k(ranks, 5),
    "recall@10": lambda ranks: recall_at_k(ranks, 10),
    "recall@100": lambda ranks: recall_at_k(ranks, 100),
    "ndcg@10": lambda ranks: ndcg_at_k(ranks, 10),
    "mrr@10": lambda ranks: reciprocal_rank(ranks, 10),
}

__all__ = [
    "MEASURES",
    "average_precision",
    "n_relevant",
    "nan_mean",
    "ndcg_at_k",
    "pad_ranks",
    "rank_distance",
    "recall_at_k",
    "reciprocal_rank",
    "same_language_share",
]
