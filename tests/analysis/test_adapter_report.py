"""The adapter study's report on a fake grid of 3 seeds per arm: its statistics against scipy and by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from xlir_bench.analysis.adapter_report import build_report, interval, render, write_report
from xlir_bench.analysis.adapter_tests import non_inferiority, superiority, verdict

MULTI = {
    "a0.00": [0.40, 0.41, 0.42],
    "a1.00": [0.30, 0.32, 0.31],
    "hybrid": [0.405, 0.415, 0.425],
    "mixed": [0.50, 0.52, 0.51],
}
GRID = '[analysis]\nhybrid = "hybrid"\nmono = "a1.00"\ncross = "a0.00"\nmixed = "mixed"\nmargin = 0.005\n'


def _summary(multi: float, lang_offset: float = 0.0) -> dict:
    by_lang = {
        lang: {"multi": {"map": multi + lang_offset * (lang in ("ru", "th"))}} for lang in ("de", "en", "ru", "th")
    }
    return {
        "macro": {"multi": {"map": multi, "rank_distance": 10.0}, "mono": {"map": 0.8}, "cross": {"map": multi + 0.1}},
        "by_query_lang": by_lang,
        "rank_distance_norm": {"multi": 1 - multi, "by_query_lang": {}},
    }


@pytest.fixture
def folder(tmp_path) -> Path:
    for arm, values in MULTI.items():
        for seed, value in enumerate(values, 1):
            cell = tmp_path / "cells" / f"{arm}-s{seed}"
            (cell / "evals").mkdir(parents=True)
            (cell / "cell.json").write_text(json.dumps({"name": cell.name, "arm": arm, "seed": seed}))
            (cell / "evals" / "xq.json").write_text(json.dumps(_summary(value, -0.1)))
    (tmp_path / "grid.toml").write_text(GRID)
    return tmp_path


def test_arm_intervals_and_welch_tests_by_hand(folder):
    report = build_report(folder, folder / "grid.toml")
    mono = report["evals"]["xq"]["arms"]["a1.00"]["multi_map"]
    assert mono["mean"] == pytest.approx(0.31) and mono["sd"] == pytest.approx(0.01)
    assert mono["half_width"] == pytest.approx(stats.t.ppf(0.975, 2) * 0.01 / np.sqrt(3))
    (test,) = [
        t
        for t in report["tests"]
        if t["a"] == "hybrid" and t["b"] == "a1.00" and t["measure"] == "multi_map" and t["kind"] == "superiority"
    ]
    assert test["delta"] == pytest.approx(0.105)
    reference = stats.ttest_ind(MULTI["hybrid"], MULTI["a1.00"], equal_var=False)
    assert test["p"] == pytest.approx(reference.pvalue, rel=1e-9)
    # equal SDs (0.01) and n = 3 + 3: Welch df = 4, se = 0.01 * sqrt(2/3)
    assert test["mdd"] == pytest.approx((stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) * 0.01 * np.sqrt(2 / 3))
    # 3 + 3 seeds: 20 distinct relabellings, the observed one is the most extreme pair of them: p = 2/20
    assert test["p_perm"] == pytest.approx(0.1, abs=0.01)
    assert test["verdict"] == "hybrid better than a1.00"  # Welch after Holm over the report's 10 tests
    seen = report["evals"]["xq"]["arms"]["mixed"]
    assert seen["multi_map_seen"]["mean"] == pytest.approx(0.51) and seen["multi_map_unseen"]["mean"] == pytest.approx(
        0.41
    )


def test_non_inferiority_and_holm(folder):
    report = build_report(folder, folder / "grid.toml")
    ni = [t for t in report["tests"] if t["kind"] == "non-inferiority" and t["measure"] == "multi_map"][0]
    assert ni["b"] == "a0.00"  # cross is the better of mono and cross here
    assert ni["p"] == pytest.approx(
        stats.ttest_ind(
            np.array(MULTI["hybrid"]) + 0.005, MULTI["a0.00"], equal_var=False, alternative="greater"
        ).pvalue
    )
    ps = [x["p"] for x in report["tests"]]
    holm = [x["p_holm"] for x in report["tests"]]
    assert len(ps) == 12  # 5 comparisons + 1 non-inferiority, on each of the 2 primary measures
    smallest = int(np.argmin(ps))
    assert holm[smallest] == pytest.approx(min(1.0, len(ps) * ps[smallest]))


def test_report_files(folder):
    paths = write_report(folder, folder / "grid.toml")
    text = paths["md"].read_text()
    assert "| hybrid | 3 |" in text and (folder / "xq.png").stat().st_size > 1000
    assert render(json.loads(paths["json"].read_text())) == text


def test_interval_and_compare_helpers():
    assert interval(np.array([1.0, 2.0, 3.0]))["half_width"] == pytest.approx(stats.t.ppf(0.975, 2) / np.sqrt(3))
    out = superiority(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    assert out["delta"] == 0.0 and out["p"] == pytest.approx(1.0)


def test_non_inferiority_interval_and_verdicts_by_hand():
    # a - b = -0.01 on every seed pair but spread: a = b - 0.01, SDs 0.001 each, 4 seeds a side
    b = np.array([0.500, 0.501, 0.502, 0.503])
    a = b - 0.01
    got = non_inferiority(a, b, 0.005, up=True)
    se = np.sqrt(2 * np.var(b, ddof=1) / 4)  # equal SDs: Welch df = 6
    half = stats.t.ppf(0.95, 6) * se  # the (1 - 2 alpha) = 90 % interval
    assert got["delta"] == pytest.approx(-0.01) and got["high"] == pytest.approx(-0.01 + half)
    assert got["p"] == pytest.approx(stats.t.sf((-0.01 + 0.005) / se, 6))  # H1: a - b > -0.005
    test = {"kind": "non-inferiority", "higher_better": True, "p_holm": got["p"], **got}
    assert -0.01 + half < -0.005 and verdict(test) == "inferior (beyond margin 0.005)"
    # lower is better: the same numbers mirrored are non-inferior when a is lower than b
    lower = non_inferiority(b - 0.02, b, 0.005, up=False)
    assert lower["p"] < 1e-6 and verdict(
        {"kind": "non-inferiority", "higher_better": False, "p_holm": lower["p"], **lower}
    ) == ("non-inferior (margin 0.005)")


def test_perturbed_minus_clean_and_seen_unseen_go_to_the_secondary_family(folder):
    for cell in (folder / "cells").iterdir():  # the perturbed evaluation: 0.02 below the clean one, every cell
        clean = json.loads((cell / "evals" / "xq.json").read_text())
        (cell / "evals" / "xq-dialect.json").write_text(
            json.dumps(_summary(clean["macro"]["multi"]["map"] - 0.02, -0.1))
        )
    report = build_report(folder, folder / "grid.toml")
    drops = report["evals"]["xq-dialect − clean"]["arms"]
    assert all(arm["multi_map"]["mean"] == pytest.approx(-0.02) for arm in drops.values())
    assert {t["eval"] for t in report["tests"]} == {"xq", "xq-dialect"}  # declared family: the evaluations
    secondary = {(t["eval"], t["measure"]) for t in report["secondary"]}
    assert ("xq-dialect − clean", "multi_map") in secondary and ("xq", "multi_map_unseen") in secondary
    unseen = [t for t in report["secondary"] if t["eval"] == "xq" and t["measure"] == "multi_map_unseen"]
    assert unseen[0]["delta"] == pytest.approx(np.mean(MULTI["hybrid"]) - np.mean(MULTI["a1.00"]))
    assert any(line.startswith("multi_map, hybrid vs a0.00 (non-inferiority") for line in report["conclusions"])
