"""Measures on a hand-computed fixture, and the scorer's ranks against a brute-force sort."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlir_bench.measures import (
    average_precision,
    ndcg_at_k,
    pad_ranks,
    rank_distance,
    recall_at_k,
    reciprocal_rank,
    same_language_share,
)
from xlir_bench.search.index import top_k
from xlir_bench.search.scoring import exact_ranks

# Query A: relevant at ranks 1, 3, 6.  Query B: one relevant at rank 4.  Query C: relevant at 12 and 2.
RANKS = pad_ranks([[1, 3, 6], [4], [12, 2]])


def test_average_precision_by_hand():
    expected = [(1 / 1 + 2 / 3 + 3 / 6) / 3, 1 / 4, (1 / 2 + 2 / 12) / 2]
    assert average_precision(RANKS) == pytest.approx(expected)


def test_recall_by_hand():
    assert recall_at_k(RANKS, 1) == pytest.approx([1 / 3, 0, 0])
    assert recall_at_k(RANKS, 5) == pytest.approx([2 / 3, 1, 1 / 2])
    assert recall_at_k(RANKS, 10) == pytest.approx([1, 1, 1 / 2])


def test_ndcg_by_hand():
    def d(rank):
        return 1 / math.log2(rank + 1)

    expected = [
        (d(1) + d(3) + d(6)) / (d(1) + d(2) + d(3)),
        d(4) / d(1),
        d(2) / (d(1) + d(2)),  # rank 12 is past the cut-off
    ]
    assert ndcg_at_k(RANKS, 10) == pytest.approx(expected)
    assert ndcg_at_k(pad_ranks([[1, 2, 3]]), 2) == pytest.approx([1.0])


def test_reciprocal_rank_by_hand():
    assert reciprocal_rank(RANKS) == pytest.approx([1, 1 / 4, 1 / 2])
    assert reciprocal_rank(pad_ranks([[11]]), 10) == pytest.approx([0.0])
    assert reciprocal_rank(pad_ranks([[11]])) == pytest.approx([1 / 11])


def test_rank_distance_by_hand():
    got = rank_distance(RANKS)
    assert got[0] == 5 and got[2] == 10 and np.isnan(got[1])


def test_same_language_share():
    top = np.array([[True] * 7 + [False] * 3, [False] * 10])
    assert same_language_share(top) == pytest.approx([0.7, 0.0])


def test_exact_ranks_with_ties_follow_trec_eval():
    # Positions 0..4; relevant 1 ties with 3 (larger position goes first) and 4 is below.
    scores = np.array([[0.9, 0.5, 0.1, 0.5, 0.2]], dtype=np.float32)
    relevant = np.array([[1, 4, 0]])
    assert exact_ranks(scores, relevant).tolist() == [[3.0, 4.0, 1.0]]


def brute_force_ranks(scores, relevant):
    """Second implementation: a full lexsort per row (score desc, position desc)."""
    out = np.full(relevant.shape, np.inf)
    for q, row in enumerate(scores):
        order = np.lexsort((-np.arange(len(row)), -row))
        rank_of = np.empty(len(row), dtype=np.int64)
        rank_of[order] = np.arange(1, len(row) + 1)
        for j, pos in enumerate(relevant[q]):
            if pos >= 0:
                out[q, j] = rank_of[pos]
    return out


def test_exact_ranks_equal_brute_force_on_tied_random_scores():
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 20, size=(40, 300)).astype(np.float32) / 7  # many ties
    relevant = rng.integers(-1, 300, size=(40, 4))
    relevant[:, 0] = rng.integers(0, 300, size=40)
    assert np.array_equal(exact_ranks(scores, relevant), brute_force_ranks(scores, relevant))


def test_compacted_ranks_equal_brute_force_with_ties_and_unjudged_rows():
    # Relevant candidates among each row's best, so only a small share of the matrix is above
    # the floor and the compacted path runs; ties everywhere; the last rows judge nothing.
    from xlir_bench.search.scoring import _ranks_above_floor

    rng = np.random.default_rng(11)
    scores = rng.integers(0, 400, size=(30, 500)).astype(np.float32) / 9
    best = np.argsort(-scores, axis=1, kind="stable")[:, :20]
    relevant = np.where(rng.random((30, 5)) < 0.8, best[:, rng.permutation(20)[:5]], -1)
    relevant[-3:] = -1
    ranks = _ranks_above_floor(scores, relevant)
    assert ranks is not None
    assert np.array_equal(ranks, brute_force_ranks(scores, relevant))
    assert np.array_equal(exact_ranks(scores, relevant), ranks)


def test_top_k_on_a_large_pool_matches_full_sort_with_ties():
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 50, size=(12, 2000)).astype(np.float32)  # ties across every cut-off
    full = np.stack([np.lexsort((-np.arange(2000), -row)) for row in scores])
    for k in (1, 7, 100, 333):
        assert np.array_equal(top_k(scores, k), full[:, :k])


def test_top_k_matches_full_sort_with_ties():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 6, size=(25, 80)).astype(np.float32)
    full = np.stack([np.lexsort((-np.arange(80), -row)) for row in scores])
    for k in (1, 10, 79, 80):
        assert np.array_equal(top_k(scores, k), full[:, :k])


def test_graded_ndcg_and_binarised_map_by_hand():
    from xlir_bench.measures import REGISTRY, Context, Judged

    # One query, judged candidates at ranks 2 (grade 3), 5 (grade 1) and 30 (grade 2); threshold 2 for binary measures.
    judged = Judged(pad_ranks([[2, 5, 30]]), np.array([[3.0, 1.0, 2.0]]), threshold=2)
    context = Context(judged, judged.binary, "en")
    MEASURES = {name: (lambda _, m=m: m.compute(context)) for name, m in REGISTRY.items()}  # noqa: N806
    dcg = 3 / math.log2(3) + 1 / math.log2(6)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert MEASURES["ndcg@10"](judged) == pytest.approx([dcg / idcg])
    assert MEASURES["map"](judged) == pytest.approx([(1 / 2 + 2 / 30) / 2])  # grade-1 candidate is not relevant
    assert MEASURES["recall@10"](judged) == pytest.approx([0.5])
    assert ndcg_at_k(pad_ranks([[1, 2]]), 10) == pytest.approx([1.0])


def test_registry_metadata_drives_direction_and_scope():
    from xlir_bench.measures import REGISTRY, gated_names

    assert REGISTRY["rank_distance"].higher_is_better is False and REGISTRY["rank_distance"].scope == "multi"
    assert REGISTRY["map"].higher_is_better and REGISTRY["map"].robustness
    assert "same_lang_pool_share" not in gated_names() and "ann_recall" not in gated_names()
    assert {"map", "ndcg@10", "rank_distance"} <= set(gated_names())
    assert not REGISTRY["rank_distance"].applies("mono") and REGISTRY["map"].applies("cross")
