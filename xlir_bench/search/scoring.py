"""Scorer: exact pool ranks of the relevant candidates, then every measure from those ranks.

The rank of a relevant candidate r for query q is its position in the whole
pool ordered by trec_eval's rule (score descending, equal scores: larger
candidate id first; ids sort like pool positions):

    rank(r) = 1 + |{c : s(c) > s(r)}| + |{c : s(c) = s(r), pos(c) > pos(r)}|

Counting against the full score row gives the exact rank without sorting the
pool, which keeps exact mAP cheap even for a 20,000-sentence multilingual pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from xlir_bench.measures import REGISTRY, Context, Judged, nan_mean
from xlir_bench.measures.rank_matrix import rank_by_language
from xlir_bench.search.index import merge_top, top_k
from xlir_bench.search.judgements import Judgements

MULTI = "multi"


def exact_ranks(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based pool ranks of each query's relevant candidates.

    ``scores`` is (queries, pool); ``relevant`` is (queries, max relevant) pool
    positions padded with -1. Returns float ranks padded with ``inf``.
    """
    if relevant.shape[1] == 1 or not len(scores):
        return _ranks_by_counting(scores, relevant)
    # rows a few at a time: the compacted candidates and their per-element temporaries (about 30
    # bytes each) stay bounded for a million-candidate pool, and rows are independent
    step = max(1, COMPACT_CELLS // max(scores.shape[1], 1))
    parts = []
    for start in range(0, len(scores), step):
        rows = slice(start, start + step)
        ranks = _ranks_above_floor(scores[rows], relevant[rows])
        parts.append(_ranks_by_counting(scores[rows], relevant[rows]) if ranks is None else ranks)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# Score-matrix cells per call of _ranks_above_floor (4 M: LAReQA's 1,190 x 13,090 multilingual
# block is four calls; a 1 M-candidate pool is taken 4 rows at a time).
COMPACT_CELLS = 4_000_000


def _ranks_by_counting(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """exact_ranks by two passes over the whole score matrix per relevant column."""
    n_queries, pool_size = scores.shape
    ranks = np.full(relevant.shape, np.inf)
    rows = np.arange(n_queries)
    positions = np.arange(pool_size)
    for j in range(relevant.shape[1]):
        present = relevant[:, j] >= 0
        cols = np.where(present, relevant[:, j], 0)
        threshold = scores[rows, cols][:, None]
        higher = np.count_nonzero(scores > threshold, axis=1)
        tied = np.count_nonzero(scores == threshold, axis=1)  # includes the candidate itself
        tied_after = np.zeros(n_queries, dtype=np.int64)
        # ties are rare for dense scores: only the rows that have one look at positions (same counts, less work)
        sub = np.flatnonzero(tied > 1)
        if sub.size:
            same = scores[sub] == threshold[sub]
            tied_after[sub] = np.count_nonzero(same & (positions > cols[sub, None]), axis=1)
        ranks[:, j] = np.where(present, 1 + higher + tied_after, np.inf)
    return ranks


# Above this share of the score matrix at or above the rows' floors, counting over the whole
# matrix is cheaper than compacting it first.
COMPACT_SHARE = 0.5


def _ranks_above_floor(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray | None:
    """exact_ranks for many relevant candidates per query (the multilingual pool) in one pass.

    Only candidates scoring at or above a query's worst relevant candidate can outrank or tie
    any of its relevant candidates, so the matrix is compacted to those once and every relevant
    column counts over the (usually small) compacted rows. None when the compacted share is large.
    """
    n_queries, pool_size = scores.shape
    present = relevant >= 0
    if not present.any():
        return np.full(relevant.shape, np.inf)
    cols = np.where(present, relevant, 0)
    thresholds = np.take_along_axis(scores, cols, axis=1)
    floor = np.where(present, thresholds, np.inf).min(axis=1)
    flat = np.flatnonzero(scores >= floor[:, None])
    if flat.size > COMPACT_SHARE * scores.size:
        return None
    values = scores.ravel()[flat]
    bounds = np.searchsorted(flat, np.arange(n_queries + 1) * pool_size)
    counts = np.diff(bounds)
    ranks = np.full(relevant.shape, np.inf)
    for j in range(relevant.shape[1]):
        threshold = np.repeat(thresholds[:, j], counts)
        higher = _segment_counts(values > threshold, bounds)
        same = values == threshold
        tied_after = 0
        if np.count_nonzero(same) > np.count_nonzero(present[:, j]):  # a tie besides the candidates themselves
            later = flat - np.repeat(np.arange(n_queries) * pool_size, counts) > np.repeat(cols[:, j], counts)
            tied_after = _segment_counts(same & later, bounds)
        ranks[:, j] = np.where(present[:, j], 1 + higher + tied_after, np.inf)
    return ranks


def _segment_counts(flags: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """True flags per segment [bounds[i], bounds[i+1]); a query without candidates counts 0."""
    # reduceat gives an empty segment the element at its start: a trailing False makes that 0 at the end,
    # and elsewhere only queries without a relevant candidate (masked by the caller) have empty segments
    return np.add.reduceat(np.append(flags, False), bounds[:-1], dtype=np.int64)


def pool_blocked_ranks(
    score_block: Callable[[int, int], np.ndarray], bounds: Sequence[tuple[int, int]], relevant: np.ndarray, depth: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`exact_ranks` and the top-``depth`` of a block of queries, with the pool scored in blocks.

    ``score_block(a, b)`` gives the scores of the queries against pool positions
    a..b-1; ``bounds`` cover the pool in order. Pass 1 reads each relevant
    candidate's score (its threshold) from the block that holds it and merges the
    blocks' top-k lists; pass 2 counts, block by block, the candidates scoring
    above each threshold and those tied with it at a larger position: the counts
    of :func:`exact_ranks` over the whole row, so the same ranks. Peak memory is
    one (queries x pool block) matrix; the price is computing each block twice.
    Returns (ranks, top positions, their scores).
    """
    n_queries, width = relevant.shape
    threshold = np.full(relevant.shape, np.nan, dtype=np.float32)  # padding: every comparison is False
    row_of = np.broadcast_to(np.arange(n_queries)[:, None], relevant.shape)
    top = np.zeros((n_queries, 0), dtype=np.int64)
    top_scores = np.zeros((n_queries, 0), dtype=np.float32)
    for a, b in bounds:
        scores = score_block(a, b)
        inside = (relevant >= a) & (relevant < b)
        threshold[inside] = scores[row_of[inside], relevant[inside] - a]
        if depth:
            local = top_k(scores, depth)
            top, top_scores = merge_top(top, top_scores, local + a, np.take_along_axis(scores, local, axis=1), depth)
    higher = np.zeros(relevant.shape, dtype=np.int64)
    tied_after = np.zeros(relevant.shape, dtype=np.int64)
    for a, b in bounds:
        scores = score_block(a, b)
        for j in range(width):
            at = threshold[:, j : j + 1]
            higher[:, j] += np.count_nonzero(scores > at, axis=1)
            sub = np.flatnonzero(np.count_nonzero(scores == at, axis=1))  # rows with a tie in this block
            if sub.size:
                later = np.arange(a, b) > relevant[sub, j, None]
                tied_after[sub, j] += np.count_nonzero((scores[sub] == at[sub]) & later, axis=1)
    ranks = np.where(relevant >= 0, 1 + higher + tied_after, np.inf)
    return ranks, top, top_scores


@dataclass
class SettingScores:
    """Per-query values of every per-query measure, and the setting-level values, of one setting."""

    query_ids: list[str]
    per_query: dict[str, np.ndarray]
    setting_values: dict[str, float] = field(default_factory=dict)
    lang_ranks: np.ndarray | None = None  # multi: (queries, pool languages) rank of each language's answer

    def mean(self) -> dict[str, float]:
        means = {name: nan_mean(values) for name, values in self.per_query.items()}
        return {**means, **self.setting_values}

    @classmethod
    def concatenate(cls, parts: list[SettingScores]) -> SettingScores:
        """The scores of consecutive blocks of queries as one setting's scores."""
        if len(parts) == 1:
            return parts[0]
        lang_ranks = None if parts[0].lang_ranks is None else np.concatenate([p.lang_ranks for p in parts])
        return cls(
            [qid for part in parts for qid in part.query_ids],
            {name: np.concatenate([part.per_query[name] for part in parts]) for name in parts[0].per_query},
            parts[0].setting_values,
            lang_ranks,
        )


def score_setting(
    scores: np.ndarray, judgements: Judgements, family: str, top: np.ndarray | None = None
) -> SettingScores:
    """Every registered measure that applies to ``family``, from the full score matrix of the judged queries.

    ``top``, when the caller already has each row's top-k (k >= 10, trec_eval order), saves a second top-k.
    """
    if family != MULTI:
        top10 = None
    elif top is not None and top.shape[1] >= min(10, scores.shape[1]):
        top10 = top[:, :10]
    else:
        top10 = top_k(scores, 10)
    return score_ranked(exact_ranks(scores, judgements.positions), judgements, family, top10)


def score_ranked(ranks: np.ndarray, judgements: Judgements, family: str, top10: np.ndarray | None) -> SettingScores:
    """Every registered measure that applies to ``family``, from exact pool ranks (and, for multi, each top 10)."""
    judged = Judged(ranks, judgements.grades, judgements.threshold)
    return _measures(judged, judged.binary, judgements, family, top10 if family == MULTI else None)


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
    retrieved: np.ndarray, judgements: Judgements, family: str, ann_recall: float | None = None
) -> SettingScores:
    """Depth-truncated measures from retrieved lists (approximate search), trec_eval's convention."""
    judged = Judged(retrieved_ranks(retrieved, judgements.positions), judgements.grades, judgements.threshold)
    cap = retrieved.shape[1] + 1  # rank-based bias measures: "not retrieved" ranks just below the retrieved list
    binary = np.where(np.isfinite(judged.binary), np.minimum(judged.binary, cap), np.inf)
    top10 = retrieved[:, :10] if family == MULTI else None
    return _measures(judged, judged.binary, judgements, family, top10, ann_recall, bias_binary=binary)


def _measures(judged, binary, judgements, family, top10, ann_recall=None, bias_binary=None) -> SettingScores:
    multi = family == MULTI
    context = Context(
        judged=judged,
        binary=binary,
        query_lang=judgements.query_lang,
        rel_langs=judgements.rel_langs if multi else None,
        top10=top10,
        candidate_langs=judgements.pool.langs if multi else None,
        ann_recall=ann_recall,
    )
    bias_context = context if bias_binary is None else replace(context, binary=bias_binary)
    per_query, setting_values = {}, {}
    for name, measure in REGISTRY.items():
        if not measure.applies(family, judgements.measures) or measure.stage != "setting":
            continue
        value = measure.compute(bias_context if measure.scope == MULTI else context)
        if measure.per_query:
            per_query[name] = np.asarray(value, dtype=np.float64)
        elif value is not None:
            setting_values[name] = float(value)
    lang_ranks = rank_by_language(bias_context.binary, judgements.rel_langs, list(judgements.pool.offsets)) if multi else None
    return SettingScores(judgements.query_ids, per_query, setting_values, lang_ranks)
