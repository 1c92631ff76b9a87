"""The grid's fast evaluator (xlir_bench.fast_eval) against hand numbers and against the full pipeline."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from test_fixture_pipeline import EXPECTED_MAP, EXPECTED_RANK_DISTANCE, MIRROR, TASK, HandEncoder

import xlir_bench
from xlir_bench.data.tasks import load_selection
from xlir_bench.evaluation.fast_eval import evaluate_vectors, layout


def _fast(task, encoder):
    queries = {lang: encoder.encode_queries(task.data[lang].questions) for lang in task.langs}
    passages = {lang: encoder.encode_passages(task.data[lang].candidates) for lang in task.langs}
    return evaluate_vectors(layout(task), queries, passages)


def test_fast_evaluation_gives_the_hand_numbers():
    (task,) = load_selection([TASK], None, MIRROR)
    fast = _fast(task, HandEncoder())
    for key, value in EXPECTED_MAP.items():
        assert fast["settings"][key] == pytest.approx(value, abs=1e-12), key
    assert fast["macro"]["multi"]["rank_distance"] == pytest.approx(np.mean(list(EXPECTED_RANK_DISTANCE.values())))
    # N = 8 candidates, R = 2: chance (N + 1)(R - 1)/(R + 1) = 3; en: (4 + 2)/2 / 3, de: 1 / 3
    assert fast["rank_distance_norm"]["by_query_lang"] == pytest.approx({"en": 1.0, "de": 1 / 3})


class TiedEncoder(HandEncoder):
    """Every candidate of the pool scores the same: ranks come from the tie rule alone."""

    def encode_passages(self, texts):
        return np.ones((len(texts), 6), np.float32)


def test_ties_follow_the_pipeline_rule():
    (task,) = load_selection([TASK], None, MIRROR)
    fast = _fast(task, TiedEncoder())
    slow = xlir_bench.evaluate(
        TiedEncoder(), tasks=[TASK], data_dir=MIRROR, use_cache=False, progress=False, bootstrap=0
    )
    settings = {f"{s.query_lang}->{s.pool}": s.metrics["map"] for s in slow.run.results["lareqa-mini"].settings}
    assert fast["settings"] == pytest.approx(settings, abs=1e-12)


class RandomEncoder:
    """A vector per text from its hash: continuous scores, reproducible, no model."""

    name = "random"
    fingerprint = "random-v1"

    def _encode(self, texts):
        seeds = [int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) for t in texts]
        out = np.stack([np.random.default_rng(s).standard_normal(16) for s in seeds]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    encode_queries = encode_passages = _encode


@pytest.mark.parametrize("name", ["xquad-r", "mlqa-r"])
def test_fast_evaluation_equals_the_pipeline_on_real_tasks(data_dir, name):
    langs = ["de", "en", "zh"]
    (task,) = load_selection([name], langs, str(data_dir))
    fast = _fast(task, RandomEncoder())
    slow = xlir_bench.evaluate(
        RandomEncoder(), tasks=[name], langs=langs, data_dir=str(data_dir), use_cache=False, progress=False, bootstrap=0
    )
    record = slow.run.results[name]
    settings = {f"{s.query_lang}->{s.pool}": s.metrics["map"] for s in record.settings}
    assert fast["settings"] == pytest.approx(settings, abs=1e-9)
    for family in ("mono", "cross", "multi"):
        assert fast["macro"][family]["map"] == pytest.approx(record.macro[family]["map"], abs=1e-9)
    assert fast["macro"]["multi"]["rank_distance"] == pytest.approx(record.macro["multi"]["rank_distance"], abs=1e-9)
