"""Second implementation for the tests: score a setting's full ranking with pytrec_eval (trec_eval)."""

from __future__ import annotations

import numpy as np
import pytrec_eval

FULL_DEPTH = 10**6
TREC_MEASURES = {"map", "recall_1", "recall_5", "recall_10", "recall_100", "ndcg_cut_10", "recip_rank"}
OURS_TO_TREC = {
    "map": "map",
    "recall@1": "recall_1",
    "recall@5": "recall_5",
    "recall@10": "recall_10",
    "recall@100": "recall_100",
    "ndcg@10": "ndcg_cut_10",
}


def assert_agrees_with_pytrec(outcome):
    run = {
        qid: {doc: float(score) for doc, score in zip(docs, scores, strict=True)}
        for qid, docs, scores in zip(outcome.scores.query_ids, outcome.top, outcome.top_scores, strict=True)
    }
    qrels = {qid: dict(docs) for qid, docs in outcome.qrels.items()}
    trec = pytrec_eval.RelevanceEvaluator(qrels, TREC_MEASURES).evaluate(run)
    qids = outcome.scores.query_ids
    for ours, theirs in OURS_TO_TREC.items():
        expected = np.array([trec[q][theirs] for q in qids])
        np.testing.assert_allclose(
            outcome.scores.per_query[ours], expected, atol=1e-6, err_msg=f"{outcome.setting.key} {ours}"
        )
    rr = np.array([trec[q]["recip_rank"] for q in qids])
    np.testing.assert_allclose(outcome.scores.per_query["mrr@10"], np.where(rr >= 0.1, rr, 0.0), atol=1e-6)


def assert_same_up_to_tie_swaps(per_query_a: dict, per_query_b: dict, where: object) -> None:
    """Per-query measures equal up to last-bit GEMM rounding: on some CPUs (AMD EPYC) OpenBLAS rounds a
    block or a slice of a score matrix differently from the whole product, so a near-tied candidate can
    swap with its neighbour; at most 1 % of the queries may move, a wrong merge moves far more."""
    assert per_query_a.keys() == per_query_b.keys(), where
    for name in per_query_a.keys() - {"qid"}:
        a, b = np.asarray(per_query_a[name], float), np.asarray(per_query_b[name], float)
        assert (np.abs(a - b) > 1e-6).mean() <= 0.01, (where, name)
    assert list(per_query_a.get("qid", [])) == list(per_query_b.get("qid", [])), where
