"""Scorer: exact pool ranks of the relevant candidates, then every measure from those ranks.

The rank of a relevant candidate r for query q is its position in the whole
pool ordered by trec_eval's rule (score descending, equal scores: larger
candidate id first; ids sort like pool positions):

    rank(r) = 1 + |{c : s(c) > s(r)}| + |{c : s(c) = s(r), pos(c) > pos(r)}|

Counting against the full score row gives the exact rank without sorting the
pool, which keeps exact mAP cheap even for a 20,000-sentence multilingual pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import top_k
from .measures import MEASURES, Judged, nan_mean, rank_distance, same_language_share


def exact_ranks(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based pool ranks of each query's relevant candidates.

    ``scores`` is (queries, pool); ``relevant`` is (queries, max relevant) pool
    positions padded with -1. Returns float ranks padded with ``inf``.
    """
    n_queries, pool_size = scores.shape
    ranks = np.full(relevant.shape, np.inf)
    rows = np.arange(n_queries)
    positions = np.arange(pool_size)
    for j in range(relevant.shape[1]):
        present = relevant[:, j] >= 0
        cols = np.where(present, relevant[:, j], 0)
        threshold = scores[rows, cols][:, None]
        higher = (scores > threshold).sum(axis=1)
        tied_after = ((scores == threshold) & (positions > cols[:, None])).sum(axis=1)
        ranks[:, j] = np.where(present, 1 + higher + tied_after, np.inf)
    return ranks


@dataclass
class SettingScores:
    """Per-query values of every measure for one setting."""

    query_ids: list[str]
    per_query: dict[str, np.ndarray]

    def mean(self) -> dict[str, float]:
        return {name: nan_mean(values) for name, values in self.per_query.items()}

    @classmethod
    def concatenate(cls, parts: list[SettingScores]) -> SettingScores:
        """The scores of consecutive blocks of queries as one setting's scores."""
        if len(parts) == 1:
            return parts[0]
        return cls(
            [qid for part in parts for qid in part.query_ids],
            {name: np.concatenate([part.per_query[name] for part in parts]) for name in parts[0].per_query},
        )


def score_setting(
    scores: np.ndarray,
    positions: np.ndarray,
    grades: np.ndarray,
    threshold: float,
    query_ids: list[str],
    candidate_langs: np.ndarray | None = None,
    query_lang: str | None = None,
) -> SettingScores:
    """All measures for one setting; the language-bias measures when ``candidate_langs`` is given (multi pool).

    ``positions``/``grades`` hold each query's judged candidates (grade > 0), padded
    with -1/0. Binary measures count those with grade >= ``threshold``; nDCG uses the grades.
    """
    judged = Judged(exact_ranks(scores, positions), grades, threshold)
    top10 = top_k(scores, 10) if candidate_langs is not None else None
    return _measures(judged, query_ids, top10, candidate_langs, query_lang)


# Rank of a relevant candidate the approximate search did not retrieve: it counts in
# R (the number of relevant candidates) and adds nothing to AP, recall, nDCG or RR.
NOT_RETRIEVED = float(2**60)


def retrieved_ranks(retrieved: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """1-based ranks of the judged positions in each retrieved list; NOT_RETRIEVED when absent, inf for padding."""
    match = retrieved[:, :, None] == positions[:, None, :]
    found = match.any(axis=1)
    ranks = np.where(found, match.argmax(axis=1) + 1.0, NOT_RETRIEVED)
    return np.where(positions >= 0, ranks, np.inf)


def score_retrieved(
    retrieved: np.ndarray,
    positions: np.ndarray,
    grades: np.ndarray,
    threshold: float,
    query_ids: list[str],
    candidate_langs: np.ndarray | None = None,
    query_lang: str | None = None,
) -> SettingScores:
    """Depth-truncated measures from retrieved lists (approximate search), trec_eval's convention."""
    judged = Judged(retrieved_ranks(retrieved, positions), grades, threshold)
    depth = retrieved.shape[1]
    top10 = retrieved[:, :10] if candidate_langs is not None else None
    return _measures(judged, query_ids, top10, candidate_langs, query_lang, rank_cap=depth + 1)


def _measures(judged, query_ids, top10, candidate_langs, query_lang, rank_cap: float | None = None) -> SettingScores:
    per_query = {name: measure(judged) for name, measure in MEASURES.items()}
    if candidate_langs is not None:
        binary = (
            judged.binary
            if rank_cap is None
            else np.where(np.isfinite(judged.binary), np.minimum(judged.binary, rank_cap), np.inf)
        )
        per_query["rank_distance"] = rank_distance(binary)
        per_query["same_lang_top10_share"] = same_language_share((top10 >= 0) & (candidate_langs[top10] == query_lang))
    return SettingScores(query_ids, per_query)
