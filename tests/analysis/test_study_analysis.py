"""The declared analysis: chance-level rank distance, verdicts of the seed-level tests on hand-made arms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from xlir_bench.analysis.study_analysis import conclusions, expected_rank_distance, test_hypothesis

test_hypothesis.__test__ = False  # a library function named test_*, not a pytest test


@pytest.mark.parametrize(("pool", "relevant"), [(5, 2), (7, 3), (9, 4)])
def test_expected_rank_distance_equals_enumeration(pool, relevant):
    spans = [max(c) - min(c) for c in itertools.combinations(range(1, pool + 1), relevant)]
    assert expected_rank_distance(pool, relevant) == pytest.approx(np.mean(spans))


HYBRID = [0.520, 0.522, 0.524, 0.521, 0.523]  # mean .522
CROSS = [0.519, 0.521, 0.523, 0.520, 0.522]  # mean .521
MONO = [0.500, 0.502, 0.504, 0.501, 0.503]  # mean .502
NI = {"id": "H", "claim": "c", "kind": "noninferior", "task": "t", "measure": "map", "arm": "hybrid"}


def test_noninferiority_is_supported_when_every_comparator_is_beaten_within_the_margin():
    arms = {"hybrid": {"map": HYBRID}, "cross": {"map": CROSS}, "mono": {"map": MONO}}
    got = test_hypothesis({**NI, "versus": ["mono", "cross"]}, arms, 0.05, 0.005)
    # the better comparator is cross; d = +0.001, se = sqrt(2 * var/5) with var = 0.00025^2 * 10 = 2.5e-6
    assert got["comparator"] == "cross" and got["estimate"] == pytest.approx(0.001)
    assert got["verdict"] == "supported" and got["p"] < 0.001


def test_noninferiority_is_refuted_when_the_interval_lies_below_minus_margin():
    arms = {"mono": {"map": MONO}, "cross": {"map": CROSS}}
    got = test_hypothesis({**NI, "arm": "mono", "versus": ["cross"]}, arms, 0.05, 0.005)
    assert got["estimate"] == pytest.approx(-0.019) and got["interval"][1] < -0.005
    assert got["verdict"] == "refuted"
    assert conclusions({"hypotheses": [got]})[0].startswith("H refuted")


def test_a_difference_inside_the_noise_is_inconclusive_with_its_detectable_difference():
    noisy = [0.50, 0.53, 0.49, 0.52, 0.51]  # sd ~.016 against a margin of .005
    arms = {"hybrid": {"map": noisy}, "cross": {"map": [0.51, 0.52, 0.50, 0.53, 0.505]}}
    got = test_hypothesis({**NI, "versus": ["cross"]}, arms, 0.05, 0.005)
    assert got["verdict"] == "inconclusive" and got["mdd"] > 0.01
    assert "80 % power" in conclusions({"hypotheses": [got]})[0]


def test_superiority_over_the_untrained_base_uses_the_arms_spread():
    arms = {"hybrid": {"map": HYBRID}, "base": {"map": [0.30]}}
    got = test_hypothesis({**NI, "kind": "higher", "versus": ["base"]}, arms, 0.05, 0.005)
    assert got["verdict"] == "supported" and got["estimate"] == pytest.approx(0.222)
    assert got["test"] == "t (spread of one side)"  # the base is one record: seed_level's t with hybrid's spread


def test_too_few_seeds_is_not_run():
    got = test_hypothesis({**NI, "versus": ["cross"]}, {"hybrid": {"map": [0.5]}, "cross": {"map": CROSS}}, 0.05, 0.005)
    assert got["verdict"] == "not run" and "hybrid" in got["why"]


# --- the whole analysis on fake seed records (hand-computed expectations) -----------------------------------


def _record(multi: float, rank_distance: float) -> dict:
    """A minimal valid XQuAD-R record over de/en: every setting of a family has the same mAP."""

    def entry(query, pool, family, value):
        per_query, metrics = {"qid": ["q1", "q2"], "map": [value, value]}, {"map": value}
        if family == "multi":
            per_query["rank_distance"] = [rank_distance, rank_distance]
            metrics["rank_distance"] = rank_distance
        pools = ["de", "en"] if pool == "all" else [pool]
        return {"query_lang": query, "pool": pool, "family": family, "pool_langs": pools, "n_queries": 2,
                "metrics": metrics, "per_query": per_query}  # fmt: skip

    settings = [entry(q, p, f, v) for q in ("de", "en") for p, f, v in (
        (q, "mono", 0.8), ("en" if q == "de" else "de", "cross", 0.7), ("all", "multi", multi))]  # fmt: skip
    macro = {"mono": {"map": 0.8}, "cross": {"map": 0.7}, "multi": {"map": multi, "rank_distance": rank_distance}}
    by_lang = {lang: {"multi": {"map": multi + (0.01 if lang == "de" else -0.01)}} for lang in ("de", "en")}
    return {
        "schema_version": 1, "created": "2026-01-02T03:04:05+00:00",
        "model": {"name": "m", "fingerprint": "0123456789ab"}, "data": {"xquad-r": {}},
        "selection": {"xquad-r": {"langs": ["de", "en"], "families": ["mono", "cross", "multi"]}},
        "versions": {"python": "3.11"}, "timings": {"total_s": 1.0}, "encode_calls": {"xquad-r": {}},
        "results": {"xquad-r": {"macro": macro, "by_query_lang": by_lang, "settings": settings}},
    }  # fmt: skip


class _Lang:
    def __init__(self, lang):
        self.candidates = [f"{lang}{i}" for i in range(3)]  # 3 candidates a language: the multi pool holds 6
        self.qrels = {"q1": {f"{lang}0": 1}, "q2": {f"{lang}1": 1}}  # each question: 1 answer a language, R = 2


class _Task:
    data = {"de": _Lang("de"), "en": _Lang("en")}


FAKE = {"hybrid": [0.60, 0.62, 0.61], "mono": [0.50, 0.52, 0.51], "cross": [0.58, 0.60, 0.59]}


@pytest.fixture
def sweep(tmp_path):
    import gzip
    import json

    cells = [{"name": f"{arm}-s{i}", "config": arm, "options": {}} for arm in FAKE for i in (1, 2, 3)]
    hypotheses = [
        {"id": "H1", "claim": "ni", "kind": "noninferior", "task": "xquad-r", "measure": "map", "arm": "hybrid",
         "versus": ["mono", "cross"]},
        {"id": "H6", "claim": "up", "kind": "higher", "task": "xquad-r", "measure": "map", "arm": "hybrid",
         "versus": ["base"]},
    ]  # fmt: skip
    plan = {"reference": True, "cells": cells, "evals": [{"task": "xquad-r"}], "train_langs": ["de"],
            "analysis": {"alpha": 0.05, "margin": 0.005, "family": "multi"}, "hypotheses": hypotheses}  # fmt: skip
    (tmp_path / "sweep.json").write_text(json.dumps({"plan": plan}))
    values = {"base": [0.40], **{f"{arm}-s{i}": [v] for arm, vs in FAKE.items() for i, v in enumerate(vs, 1)}}
    for name, (value,) in values.items():
        runs = tmp_path / "cells" / name / "runs"
        runs.mkdir(parents=True)
        (runs / "xquad-r.json.gz").write_bytes(gzip.compress(json.dumps(_record(value, 7.0)).encode()))
    return tmp_path


def test_analysis_of_fake_seed_records_by_hand(sweep):
    from scipy import stats

    from xlir_bench.analysis.study_analysis import analyse, render

    got = analyse(sweep, {"xquad-r": _Task()})
    hybrid = got["arms"]["xquad-r"]["hybrid"]
    # rank distance 7 in a pool of N = 6 with R = 2 answers: chance is (N + 1)(R - 1)/(R + 1) = 7/3, ratio 3
    assert hybrid["rank_distance_norm"]["mean"] == pytest.approx(3.0)
    assert hybrid["map"]["mean"] == pytest.approx(0.61) and hybrid["map_seen"]["mean"] == pytest.approx(0.62)
    h1, h6 = got["hypotheses"]
    # H1: the better comparator is cross (.59); SD .01 in every arm, 3 seeds: SE = .01 sqrt(2/3), Welch df = 4
    se = 0.01 * np.sqrt(2 / 3)
    assert h1["comparator"] == "cross" and h1["estimate"] == pytest.approx(0.02) and h1["test"] == "welch"
    assert h1["p"] == pytest.approx(stats.t.sf((0.02 + 0.005) / se, 4))  # one-sided, the larger over mono, cross
    assert h1["interval"] == pytest.approx([0.02 - stats.t.ppf(0.95, 4) * se, 0.02 + stats.t.ppf(0.95, 4) * se])
    assert h1["mdd"] == pytest.approx((stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) * se)
    assert h1["verdict"] == "supported"
    # H6 against the untrained base (one record): t with hybrid's spread, SE = .01 sqrt(1 + 1/3), df = 2
    se6 = 0.01 * np.sqrt(1 + 1 / 3)
    assert h6["estimate"] == pytest.approx(0.21) and h6["test"] == "t (spread of one side)"
    assert h6["p"] == pytest.approx(stats.t.sf(0.21 / se6, 2)) and h6["verdict"] == "supported"
    text = render(got)
    assert "| H1 | ni | 0.0200 (vs cross) |" in text and "H6 supported" in text
