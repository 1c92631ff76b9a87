"""Equality with pytrec_eval (trec_eval) on real settings, and list-based AP on the multilingual pool.

The runs handed to pytrec_eval rank the *whole* pool with the scores the
harness computed; pytrec_eval sorts them itself (its own tie rule), so this
checks scores, ranks, tie handling and measures together.
"""

from __future__ import annotations

import numpy as np
import pytest
from trec_check import FULL_DEPTH, assert_agrees_with_pytrec

import xlir_bench


@pytest.fixture(scope="module")
def bm25_xquad(data_dir):
    return xlir_bench.evaluate(
        "bm25",
        tasks=["xquad-r"],
        langs=["en", "th", "zh"],
        settings="mono,cross,multi",
        data_dir=str(data_dir),
        depth=FULL_DEPTH,
        progress=False,
    )


def test_bm25_mono_and_cross_equal_pytrec_eval(bm25_xquad):
    """BM25 scores tie a lot (zero scores), so this exercises trec_eval's tie rule hard."""
    outcomes = [o for o in bm25_xquad.outcomes["xquad-r"] if o.setting.family != "multi"]
    assert len(outcomes) == 9
    for outcome in outcomes:
        assert_agrees_with_pytrec(outcome)


def test_bm25_mlqa_cross_with_partial_parallelism_equals_pytrec_eval(data_dir):
    result = xlir_bench.evaluate(
        "bm25",
        tasks=["mlqa-r"],
        langs=["de", "hi"],
        settings="mono,cross",
        data_dir=str(data_dir),
        depth=FULL_DEPTH,
        progress=False,
    )
    outcomes = result.outcomes["mlqa-r"]
    by_key = {o.setting.key: o for o in outcomes}
    # Only questions parallel in the pool language are queries of a cross setting (de and hi share 163).
    assert len(by_key["mlqa-r:de->hi"].scores.query_ids) == 163
    assert len(by_key["mlqa-r:de->de"].scores.query_ids) == 512
    for outcome in outcomes:
        assert_agrees_with_pytrec(outcome)


def list_based_ap(ranked_docs, relevant):
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranked_docs, 1):
        if doc in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)


def test_multilingual_pool_ap_equals_list_based_ap(bm25_xquad):
    (outcome,) = [o for o in bm25_xquad.outcomes["xquad-r"] if o.setting.key == "xquad-r:th->all"]
    assert outcome.top.shape == (1190, 852 + 1180 + 1196)
    expected = [
        list_based_ap(list(docs), set(outcome.qrels[q]))
        for q, docs in zip(outcome.scores.query_ids, outcome.top, strict=True)
    ]
    np.testing.assert_allclose(outcome.scores.per_query["map"], expected, atol=1e-9)
    assert all(len(docs) == 3 for docs in outcome.qrels.values())
