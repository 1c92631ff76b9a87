"""Approximate search: depth-truncated metrics equal trec_eval on the ANN run, and ANN recall is measured."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import ProjectionEncoder
from trec_check import assert_agrees_with_pytrec

import xlir_bench


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_index_metrics_are_depth_truncated_and_recall_is_recorded(data_dir, tmp_path, kind):
    common = dict(
        tasks=["xquad-r"],
        langs=["en", "es"],
        settings="mono,multi",
        data_dir=str(data_dir),
        cache_dir=str(tmp_path),
        progress=False,
    )
    result = xlir_bench.evaluate(ProjectionEncoder(), index=kind, ann_depth=50, depth=50, **common)
    assert result.record["index"] == {"kind": kind, "depth": 50, "recall_sample": 100}
    for outcome in result.outcomes["xquad-r"]:
        assert 0.5 <= outcome.scores.setting_values["ann_recall"] <= 1.0
        if outcome.setting.family == "mono":
            assert_agrees_with_pytrec(outcome)  # trec_eval on the 50-deep ANN run: same numbers
    exact = xlir_bench.evaluate(ProjectionEncoder(), **common)
    ann_map = result.record["results"]["xquad-r"]["macro"]["mono"]["map"]
    exact_map = exact.record["results"]["xquad-r"]["macro"]["mono"]["map"]
    assert ann_map <= exact_map + 1e-9 and ann_map > 0.5 * exact_map


def test_unknown_index_kind(data_dir):
    with pytest.raises(xlir_bench.XlirError, match="--index annoy"):
        xlir_bench.evaluate("bm25", tasks=["xquad-r"], langs=["en"], data_dir=str(data_dir), index="annoy")


def test_retrieved_ranks():
    from xlir_bench.search.scoring import NOT_RETRIEVED, retrieved_ranks

    retrieved = np.array([[4, 7, 1], [2, -1, -1]])
    positions = np.array([[7, 9, -1], [2, 5, -1]])
    assert retrieved_ranks(retrieved, positions).tolist() == [
        [2.0, NOT_RETRIEVED, np.inf],
        [1.0, NOT_RETRIEVED, np.inf],
    ]


def test_ann_recall_counts_a_candidate_tied_at_the_cut_off():
    """Hand-computed: scores 0.9, 0.5, 0.5, 0.1 for the one query; top-2 exact is {0, 2} (ties: larger position
    first). A search returning {0, 1} found two candidates scoring >= the 2nd best 0.5: recall 1, where matching
    ids would say 0.5; returning {0, 3} finds one (0.1 < 0.5); a padded (-1) slot finds nothing."""
    from xlir_bench.search.ann import ann_recall as _ann_recall
    from xlir_bench.search.index import DenseIndex

    index = DenseIndex(np.array([[0.9], [0.5], [0.5], [0.1]], dtype=np.float32))
    query = np.ones((1, 1), dtype=np.float32)
    assert _ann_recall(index, query, np.array([[0, 1]])) == 1.0
    assert _ann_recall(index, query, np.array([[0, 3]])) == 0.5
    assert _ann_recall(index, query, np.array([[2, -1]])) == 0.5
