"""Measures, one per module (after ir_measures), each a small pure function of ranks.

Every module's docstring holds the definition and its citation. ``MEASURES``
names the per-setting measures a run record reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Judged:
    """Pool ranks and grades of each query's judged candidates (grade > 0), padded with inf / 0.

    ``binary`` keeps the ranks of candidates at or above the relevance threshold:
    mAP, recall, RR and rank distance binarise there; nDCG uses the grades as gains.
    """

    ranks: np.ndarray
    grades: np.ndarray
    threshold: float = 1.0

    @property
    def binary(self) -> np.ndarray:
        return np.where(self.grades >= self.threshold, self.ranks, np.inf)


MEASURES: dict[str, Callable[[Judged], np.ndarray]] = {
    "map": lambda j: average_precision(j.binary),
    "recall@1": lambda j: recall_at_k(j.binary, 1),
    "recall@5": lambda j: recall_at_k(j.binary, 5),
    "recall@10": lambda j: recall_at_k(j.binary, 10),
    "recall@100": lambda j: recall_at_k(j.binary, 100),
    "ndcg@10": lambda j: ndcg_at_k(j.ranks, 10, j.grades),
    "mrr@10": lambda j: reciprocal_rank(j.binary, 10),
}

__all__ = [
    "MEASURES",
    "Judged",
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
