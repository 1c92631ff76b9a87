"""Regression gate: significance tests against scipy and exact enumeration; verdicts on real records."""

from __future__ import annotations

import copy
import gzip
import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

import xlir_bench
from xlir_bench.analysis.compare import Gate, compare
from xlir_bench.analysis.compare_render import render
from xlir_bench.cli.app import cli
from xlir_bench.stats.significance import holm_bonferroni, paired_t_test, randomization_test


def exact_randomization_p(d):
    """Independent enumeration of all 2^n sign assignments with itertools."""
    observed = abs(sum(d))
    flips = list(itertools.product((1, -1), repeat=len(d)))
    return sum(abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= observed - 1e-12 for signs in flips) / len(
        flips
    )


def test_randomization_test_equals_exact_enumeration_when_small():
    d = [0.3, -0.1, 0.25, 0.05, 0.0, 0.4, -0.2, 0.15, 0.1, 0.05]
    assert randomization_test(d) == pytest.approx(exact_randomization_p(d), abs=1e-12)


def test_monte_carlo_randomization_is_close_to_exact():
    rng = np.random.default_rng(1)
    d = list(np.round(rng.normal(0.05, 0.2, size=16), 3))  # 65,536 assignments > 10,000: Monte Carlo path
    exact = exact_randomization_p(d)
    assert randomization_test(d, n_permutations=10_000, seed=0) == pytest.approx(exact, abs=0.015)
    assert randomization_test(d, seed=0) == randomization_test(d, seed=0)  # fixed seed, same answer


def test_t_test_equals_scipy_ttest_rel():
    rng = np.random.default_rng(2)
    base = rng.uniform(size=200)
    cand = base + rng.normal(0.01, 0.05, size=200)
    assert paired_t_test(cand - base) == pytest.approx(stats.ttest_rel(cand, base).pvalue, rel=1e-12)
    assert paired_t_test(np.zeros(10)) == 1.0
    assert np.isnan(paired_t_test(np.full(10, 0.01)))  # zero variance: t undefined, not p = 0


def test_holm_by_hand():
    # sorted p: 0.01, 0.02, 0.04, 0.30 -> 4*0.01, 3*0.02, max(0.06, 2*0.04), max(0.08, 0.30)
    assert holm_bonferroni([0.04, 0.01, 0.30, 0.02]).tolist() == pytest.approx([0.08, 0.04, 0.30, 0.06])


@pytest.fixture(scope="module")
def baseline_record(data_dir, tmp_path_factory):
    result = xlir_bench.evaluate(
        "bm25", tasks=["xquad-r"], langs=["en", "de", "es"], data_dir=str(data_dir), progress=False
    )
    return result.record


def rewrite(record, change, keys=None):
    """Apply ``change(values, rng)`` to the per-query map of the chosen settings and recompute means and macros."""
    record = copy.deepcopy(record)
    rng = np.random.default_rng(5)
    res = record["results"]["xquad-r"]
    for entry in res["settings"]:
        if keys is None or f"{entry['query_lang']}->{entry['pool']}" in keys:
            values = np.array(entry["per_query"]["map"])
            new = np.clip(change(values, rng), 0, 1)
            entry["per_query"]["map"] = [round(float(v), 6) for v in new]
            entry["metrics"]["map"] = float(new.mean())
    for family in res["macro"]:
        res["macro"][family]["map"] = float(
            np.mean([e["metrics"]["map"] for e in res["settings"] if e["family"] == family])
        )
    return record


def save(record, path):
    path.write_text(json.dumps(record))
    return str(path)


def test_identical_records_pass(baseline_record, tmp_path):
    base = save(baseline_record, tmp_path / "a.json")
    result = compare(base, base)
    assert result.exit_code == 0
    assert all(r.delta == 0 and r.p == 1.0 for r in result.settings + result.families)


def test_degraded_settings_are_exactly_the_flagged_ones(baseline_record, tmp_path):
    degraded = {"de->de", "es->all"}  # settings where BM25 scores well, so clipping at 0 keeps the 0.1 drop
    cand = rewrite(baseline_record, lambda v, rng: v - 0.1, degraded)
    result = compare(save(baseline_record, tmp_path / "a.json"), save(cand, tmp_path / "b.json"))
    assert {r.name for r in result.settings if r.regressed} == {f"xquad-r:{k}" for k in degraded}
    assert result.exit_code == 1
    report = render(result, "text", verbose=True)
    assert report.index("Regressions:") < report.index("Worst")
    assert "REGRESSION (exit code 1)" in report
    compact = render(result, "text")
    assert compact.splitlines()[-1].startswith("REGRESSION: ") and "Worst" not in compact


def test_small_jitter_is_not_flagged(baseline_record, tmp_path):
    cand = rewrite(baseline_record, lambda v, rng: v + rng.normal(0, 0.002, size=len(v)))
    result = compare(save(baseline_record, tmp_path / "a.json"), save(cand, tmp_path / "b.json"))
    assert result.exit_code == 0 and not any(r.regressed for r in result.settings)


def test_family_macro_fails_only_beyond_the_margin_and_with_a_rejecting_test(baseline_record, tmp_path):
    cand = rewrite(baseline_record, lambda v, rng: v * 0.97, {"en->en"})  # a 3% relative drop of one of 3 mono settings
    a, b = save(baseline_record, tmp_path / "a.json"), save(cand, tmp_path / "b.json")
    result = compare(a, b, gate=Gate(max_drop=0.001))
    assert [r.name for r in result.regressions] == ["xquad-r:mono"]
    (mono,) = [r for r in result.families if r.family == "mono"]
    (en_en,) = [e for e in baseline_record["results"]["xquad-r"]["settings"] if e["query_lang"] == e["pool"] == "en"]
    assert mono.delta == pytest.approx(-0.03 * en_en["metrics"]["map"] / 3, abs=1e-6)
    assert mono.low <= mono.delta <= mono.high and mono.p_holm < 0.05
    assert compare(a, b).exit_code == 0  # within the default margin
    # the same drop in mean, but noise the test cannot tell from nothing: no regression however small the margin
    noisy = rewrite(baseline_record, shuffled_and_one_lower, {"en->en"})
    result = compare(a, save(noisy, tmp_path / "c.json"), gate=Gate(max_drop=0.00001))
    (mono,) = [r for r in result.families if r.family == "mono"]
    assert -mono.delta > 0.00001 and mono.p_holm >= 0.05 and result.exit_code == 0


def shuffled_and_one_lower(values, rng):
    """The same values given to other questions (the mean stays), then the first question's lowered by 0.1."""
    out = rng.permutation(values)
    out[np.argmax(out)] -= 0.1
    return out


def test_cli_markdown_and_exit_codes(baseline_record, tmp_path):
    base = save(baseline_record, tmp_path / "a.json")
    cand = save(rewrite(baseline_record, lambda v, rng: v - 0.2, {"de->en"}), tmp_path / "b.json")
    result = CliRunner().invoke(cli, ["compare", base, cand, "--format", "md", "--verbose"])
    assert result.exit_code == 1
    assert result.output.startswith("**REGRESSION**") and "| REGRESSED | map ↑     | xquad-r:de->en |" in result.output
    assert CliRunner().invoke(cli, ["compare", base, base, "--format", "json"]).exit_code == 0


def test_refuses_different_data_and_settings(baseline_record, data_dir, tmp_path):
    base = save(baseline_record, tmp_path / "a.json")
    other_data = copy.deepcopy(baseline_record)
    other_data["data"]["xquad-r"]["xquad-r/en.json"] = "0" * 64
    refused = CliRunner().invoke(cli, ["compare", base, save(other_data, tmp_path / "b.json")])
    assert refused.exit_code == 2 and "different data files" in refused.stderr

    mono_only = xlir_bench.evaluate(
        "bm25", tasks=["xquad-r"], langs=["en", "de", "es"], settings="mono", data_dir=str(data_dir), progress=False
    ).record
    path = save(mono_only, tmp_path / "c.json")
    refused = CliRunner().invoke(cli, ["compare", base, path])
    assert refused.exit_code == 2 and "--allow-mismatch" in refused.stderr
    allowed = CliRunner().invoke(cli, ["compare", base, path, "--allow-mismatch"])
    assert allowed.exit_code == 0 and "compared the 3 common settings only" in allowed.output


def test_leaderboard_reference(baseline_record, tmp_path, monkeypatch):
    folder = tmp_path / "lb"
    folder.mkdir()
    save(baseline_record, folder / "bm25.json")
    other = dict(baseline_record, model={"name": "gzipped", "fingerprint": "f" * 16})
    (folder / "other.json.gz").write_bytes(gzip.compress(json.dumps(other).encode()))
    monkeypatch.setenv("XLIR_BENCH_LEADERBOARD", str(folder))
    result = compare("leaderboard:bm25", str(folder / "bm25.json"))
    assert result.exit_code == 0
    assert compare("leaderboard:gzipped", "leaderboard:bm25").baseline.startswith("gzipped (")
    with pytest.raises(xlir_bench.XlirError, match="no record of model 'e5'"):
        compare("leaderboard:e5", str(folder / "bm25.json"))


def test_truncated_and_foreign_records_are_refused(baseline_record, tmp_path):
    good = save(baseline_record, tmp_path / "a.json")
    (tmp_path / "t.json").write_text(json.dumps(baseline_record)[:1000])
    result = CliRunner().invoke(cli, ["compare", good, str(tmp_path / "t.json")])
    assert result.exit_code == 2 and "t.json: not valid JSON" in result.stderr
    old = dict(baseline_record, schema_version=0)
    result = CliRunner().invoke(cli, ["compare", good, save(old, tmp_path / "o.json")])
    assert result.exit_code == 2 and "schema_version 0" in result.stderr


def test_holm_floor_is_reported_when_nothing_can_be_significant(baseline_record, tmp_path):
    cand = rewrite(baseline_record, lambda v, rng: v - 0.3, {"en->de"})
    result = compare(save(baseline_record, tmp_path / "a.json"), save(cand, tmp_path / "b.json"), gate=Gate(alpha=0.001))
    assert not any(r.regressed for r in result.settings)  # 15 settings / 10,001 permutations > 0.001
    assert any("raise --permutations" in note for note in result.notes)


def _bias_record(tmp_path, name, rank_distances):
    """A record with one mono and one multi setting over 40 questions; only rank distance differs between records."""
    qids = [f"q{i}" for i in range(40)]
    ap = [0.5 + 0.01 * i for i in range(40)]
    mono = {"query_lang": "en", "pool": "en", "family": "mono", "n_queries": 40,
            "metrics": {"map": float(np.mean(ap))}, "per_query": {"qid": qids, "map": ap}}  # fmt: skip
    multi = {"query_lang": "en", "pool": "all", "family": "multi", "n_queries": 40,
             "metrics": {"map": float(np.mean(ap)), "rank_distance": float(np.mean(rank_distances))},
             "per_query": {"qid": qids, "map": ap, "rank_distance": list(rank_distances)}}  # fmt: skip
    record = {
        "schema_version": 2, "created": "2026-01-01T00:00:00+00:00", "model": {"name": name, "fingerprint": name},
        "data": {"t": {"f": "0" * 64}}, "versions": {}, "timings": {}, "encode_calls": {},
        "results": {"t": {"macro": {"mono": mono["metrics"], "multi": multi["metrics"]}, "settings": [mono, multi]}},
    }  # fmt: skip
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(record))
    return str(path)


def test_compare_gates_on_bias_measures_in_their_own_direction(tmp_path):
    rng = np.random.default_rng(0)
    base = _bias_record(tmp_path, "base", (100 + rng.integers(0, 10, 40)).tolist())
    worse = _bias_record(tmp_path, "worse", (200 + rng.integers(0, 10, 40)).tolist())
    better = _bias_record(tmp_path, "better", (50 + rng.integers(0, 10, 40)).tolist())
    regressed = compare(base, worse)
    assert regressed.exit_code == 1
    assert [(r.metric, r.name) for r in regressed.regressions] == [("rank_distance", "t:multi")]
    assert all(not r.regressed for r in regressed.families + regressed.settings)  # map is identical
    improved = compare(base, better)
    assert improved.exit_code == 0 and [r.metric for r in improved.measures if r.improved] == ["rank_distance"]
    on_rank_distance = compare(base, worse, metric="rank_distance")  # full records: mono has no rank distance
    assert [r.name for r in on_rank_distance.settings] == ["t:en->all"] and on_rank_distance.exit_code == 1
    markdown = render(regressed, "md", verbose=True)
    assert "| REGRESSED | rank_distance ↓ | t:multi" in markdown and "| map ↑" in markdown
