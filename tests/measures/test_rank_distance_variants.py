"""rank_distance_norm and rank_distance_pairs: by hand, and their chance values against a simulation of random ranking."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlir_bench.measures import REGISTRY, gated_names
from xlir_bench.measures.rank_distance_norm import chance_rank_distance, rank_distance_norm
from xlir_bench.measures.rank_distance_pairs import rank_distance_pairs

INF = math.inf
RANKS = np.array([[1, 2, INF], [1, 5, 9], [3, INF, INF], [9, 1, 5]])


def test_pairs_by_hand():
    got = rank_distance_pairs(RANKS)
    # q0: |1-2| = 1; q1 and q3 (same ranks, other order): (4 + 8 + 4) / 3; q2: one relevant, undefined
    assert got[0] == 1 and got[1] == pytest.approx(16 / 3) and math.isnan(got[2]) and got[3] == pytest.approx(16 / 3)


def test_norm_by_hand():
    got = rank_distance_norm(RANKS, pool_size=9)
    # E = (N + 1)(R - 1)/(R + 1): R = 2 -> 10/3, R = 3 -> 5
    assert got[0] == pytest.approx(1 / (10 / 3)) and got[1] == pytest.approx(8 / 5) and math.isnan(got[2])


def test_chance_values_match_a_simulation_of_random_ranking():
    rng = np.random.default_rng(0)
    n, r, queries = 500, 11, 20_000
    ranks = np.array([rng.choice(n, size=r, replace=False) + 1 for _ in range(queries)], dtype=np.float64)
    spread = ranks.max(axis=1) - ranks.min(axis=1)
    assert spread.mean() == pytest.approx(chance_rank_distance(n, np.array([r]))[0], rel=0.01)
    assert rank_distance_norm(ranks, n).mean() == pytest.approx(1.0, rel=0.01)
    assert rank_distance_pairs(ranks).mean() == pytest.approx((n + 1) / 3, rel=0.01)


def test_xquad_chance_expectation_from_the_published_counts():
    from xlir_bench.data.tasks import get_spec

    n = sum(c["candidates"] for c in get_spec("xquad-r").counts.values())
    assert n == 13_014 and chance_rank_distance(n, np.array([11]))[0] == pytest.approx(10_845.8, abs=0.05)


def test_registered_in_the_multilingual_pool_and_strong_alignment_not_gated():
    for name in ("rank_distance_norm", "rank_distance_pairs"):
        assert REGISTRY[name].scope == "multi" and name in gated_names() and REGISTRY[name].column
    assert "strong_alignment" not in gated_names() and REGISTRY["strong_alignment"].label == "share AP = 1"
