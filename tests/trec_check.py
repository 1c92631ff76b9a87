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
