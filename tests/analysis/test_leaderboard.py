"""Leaderboard and HTML report on hand-made records, and the project's own leaderboard README."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xlir_bench.analysis.leaderboard import default_runs_folder, leaderboard, render
from xlir_bench.analysis.report import map_matrix
from xlir_bench.cli.app import cli
from xlir_bench.core.errors import XlirError

REPO = Path(__file__).resolve().parents[2]


def make_record(name, fingerprint, mono, cross, multi, sha="a" * 64, created="2026-01-02T03:04:05+00:00"):
    """A minimal valid record: XQuAD-R over en/de with the given per-setting mAP (each family's settings share it)."""

    def entry(query, pool, family, value, rd=None):
        per_query = {"qid": ["q1", "q2"], "map": [value, value]}
        metrics = {"map": value, "recall@10": value}
        if family == "multi":
            per_query["rank_distance"] = [rd, rd]
            metrics |= {"rank_distance": rd, "same_lang_top10_share": 0.5}
        return {"query_lang": query, "pool": pool, "family": family, "metrics": metrics, "per_query": per_query}

    settings = [
        entry("de", "de", "mono", mono),
        entry("de", "en", "cross", cross),
        entry("de", "all", "multi", multi, 7.0),
        entry("en", "en", "mono", mono),
        entry("en", "de", "cross", cross),
        entry("en", "all", "multi", multi, 3.0),
    ]
    macro = {
        "mono": {"map": mono, "recall@10": mono},
        "cross": {"map": cross, "recall@10": cross},
        "multi": {"map": multi, "recall@10": multi, "rank_distance": 5.0, "same_lang_top10_share": 0.5},
    }
    by_lang = {
        lang: {f: {"map": v} for f, v in (("mono", mono), ("cross", cross), ("multi", multi))} for lang in ("de", "en")
    }
    return {
        "schema_version": 1,
        "created": created,
        "model": {"name": name, "fingerprint": fingerprint},
        "data": {"xquad-r": {"xquad-r/de.json": sha, "xquad-r/en.json": sha}},
        "selection": {"xquad-r": {"langs": ["de", "en"], "families": ["mono", "cross", "multi"]}},
        "versions": {"python": "3.11"},
        "timings": {"encode_s": 1.0, "search_s": 0.1, "score_s": 0.1, "total_s": 1.3},
        "encode_calls": {"xquad-r": {}},
        "results": {"xquad-r": {"macro": macro, "by_query_lang": by_lang, "settings": settings}},
    }


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    for name, fp, values in [
        ("alpha", "11111111aaaa", (0.9, 0.5, 0.4)),
        ("beta", "22222222bbbb", (0.7, 0.6, 0.6)),
        ("gamma", "33333333cccc", (0.8, 0.2, 0.1)),
    ]:
        (folder / f"{name}.json").write_text(json.dumps(make_record(name, fp, *values)))
    return folder


def test_ranked_by_multilingual_map(runs):
    frame = leaderboard([runs])
    assert frame["model"].tolist() == ["beta", "alpha", "gamma"]
    assert frame["position"].tolist() == [1, 2, 3]
    assert frame["rank"].tolist() == ["1-3"] * 3  # two questions cannot separate anything
    assert frame.loc[0, ["multi", "cross", "mono"]].tolist() == [0.6, 0.6, 0.7]
    assert frame.loc[0, "fingerprint"] == "22222222" and frame.loc[0, "date"] == "2026-01-02"
    assert leaderboard([runs], metric="recall@10")["model"].tolist() == ["beta", "alpha", "gamma"]


def test_output_is_deterministic(runs):
    files = sorted(runs.iterdir())
    for fmt in ("md", "html", "csv"):
        first = render(leaderboard(files), fmt)
        assert render(leaderboard(list(reversed(files))), fmt) == first
    markdown = render(leaderboard([runs]), "md")
    assert re.search(r"\| 1-3 +\| beta\s+\|\s+0\.6000 \|", markdown)
    assert "| 22222222      |" in markdown  # fingerprints stay text, left-aligned


def test_invalid_records(runs, tmp_path):
    (runs / "broken.json").write_text('{"schema_version": 1, "model": ')
    with pytest.raises(XlirError, match=r"broken\.json: not valid JSON"):
        leaderboard([runs])
    frame = leaderboard([runs], skip_invalid=True)
    assert len(frame) == 3 and "broken.json" in frame.attrs["warnings"][0]
    (runs / "broken.json").write_text(json.dumps(dict(make_record("old", "x" * 12, 0.1, 0.1, 0.1), schema_version=9)))
    result = CliRunner().invoke(cli, ["leaderboard", str(runs)])
    assert result.exit_code == 2 and "schema_version 9" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["leaderboard", str(empty)])
    assert result.exit_code == 2 and "no run records" in result.stderr


def test_other_data_versions_are_ranked_apart(runs):
    (runs / "delta.json").write_text(json.dumps(make_record("delta", "44444444dddd", 1.0, 1.0, 1.0, sha="b" * 64)))
    frame = leaderboard([runs])
    assert frame.groupby("data").size().sort_values().tolist() == [1, 3]
    assert "2 different versions of the data" in frame.attrs["warnings"][0]
    result = CliRunner().invoke(cli, ["leaderboard", str(runs)])
    assert result.exit_code == 0 and "warning:" in result.stderr
    assert result.output.count("## XQuAD-R (xquad-r) — data") == 2


def test_csv_and_output_file(runs, tmp_path):
    out = tmp_path / "lb.csv"
    result = CliRunner().invoke(cli, ["leaderboard", str(runs), "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("rank,position,task,data,model,multi") and lines[1].split(",")[4] == "beta"


def test_report_draws_one_chart_per_plot_the_record_supports(runs, tmp_path):
    pytest.importorskip("plotly")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(runs / "alpha.json"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    # heatmap, per-language bars, rank distance (no bias section and no normalised rank distance in this record)
    assert re.findall(r"<div id='([^']+)' class='plot'>", page) == ["map-xquad-r", "bars-xquad-r", "rank_distance-xquad-r"]
    assert "alpha" in page and "11111111aaaa" in page and "xquad-r/en.json" in page
    assert not re.search(r"<script[^>]*\bsrc=|<link\b", page)  # self-contained: plotly.js is inlined


def test_heatmap_matrix_places_settings():
    from xlir_bench.records.schema import TaskResult

    raw = make_record("m", "f" * 12, 0.9, 0.5, 0.4)["results"]["xquad-r"]
    langs, pools, matrix = map_matrix(TaskResult.from_json(raw, "results.xquad-r"))
    assert langs == ["de", "en"] and pools == ["de", "en", "all"]
    assert matrix.tolist() == [[0.9, 0.5, 0.4], [0.5, 0.9, 0.4]]


def test_project_leaderboard_readme_is_up_to_date(data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))  # intervals and tests resample the articles read from the data
    folder = default_runs_folder()
    assert len(list(folder.glob("*.json.gz"))) >= 3, "leaderboard/runs must hold the project's own run records"
    expected = (REPO / "leaderboard" / "README.md").read_text(encoding="utf-8")
    assert render(leaderboard([folder]), "md") == expected


def test_a_missing_value_ranks_last_not_first(tmp_path):
    """Bug: a record without a multilingual macro was ranked first (its NaN was filled with the best value)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    for name, multi in (("has-multi", 0.3), ("no-multi", None)):
        record = make_record(name, name * 3, 0.8, 0.5, multi or 0.0)
        if multi is None:  # a record of the mono and cross settings only
            record["results"]["xquad-r"]["macro"].pop("multi")
            settings = record["results"]["xquad-r"]["settings"]
            record["results"]["xquad-r"]["settings"] = [s for s in settings if s["family"] != "multi"]
        (runs / f"{name}.json").write_text(json.dumps(record))
    assert leaderboard([runs])["model"].tolist() == ["has-multi", "no-multi"]
    assert leaderboard([runs], metric="rank_distance")["model"].tolist() == ["has-multi", "no-multi"]


def test_version_1_records_migrate_and_round_trip():
    from xlir_bench.records.schema import SCHEMA_VERSION, RunRecord, load_record

    # the first release's records, kept as they were written (leaderboard/runs moves on to version 2)
    shipped = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "records-v1").glob("*.json.gz"))
    assert shipped
    for path in shipped:
        raw = json.loads(gzip.decompress(path.read_bytes()))
        assert raw["schema_version"] == 1
        run = load_record(path)
        again = RunRecord.from_json(run.to_json(), "round trip")
        assert again.to_json() == run.to_json() and run.to_json()["schema_version"] == SCHEMA_VERSION == 3
        assert run.results.keys() == raw["results"].keys()
        for task, result in raw["results"].items():
            assert run.results[task].macro == result["macro"]
            assert [s.to_json()["per_query"] for s in run.results[task].settings] == [
                s["per_query"] for s in result["settings"]
            ]


def _many_questions(name, values):
    """A one-setting (en -> all) record over 30 questions with the given per-query AP values."""
    record = make_record(name, name * 4, 0.5, 0.5, float(np.mean(values)))
    qids = [f"q{i}" for i in range(len(values))]
    record["results"]["xquad-r"]["settings"] = [
        {"query_lang": "en", "pool": "all", "family": "multi", "metrics": {"map": float(np.mean(values))},
         "per_query": {"qid": qids, "map": list(values)}}  # fmt: skip
    ]
    record["results"]["xquad-r"]["macro"] = {"multi": {"map": float(np.mean(values))}}
    return record


def test_significance_tiers_share_a_rank_range_when_inseparable(tmp_path):
    """Expected by hand: A and B differ on one question of 30 (not separable), C is far below both."""
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 1.0, 30)
    b = a.copy()
    b[0] -= 0.01
    c = a - 0.4
    for name, values in (("A", a), ("B", b), ("C", c)):
        (tmp_path / f"{name}.json").write_text(json.dumps(_many_questions(name, values)))
    frame = leaderboard([tmp_path])
    assert frame["model"].tolist() == ["A", "B", "C"]
    assert frame["rank"].tolist() == ["1-2", "1-2", "3"]
    p_ab, p_bc = (float(p) for p in frame["p vs next"].tolist()[:2])
    assert p_ab == pytest.approx(1.0) and p_bc < 0.05
    # the B-C test alone: every question's difference is +0.4 (one +0.39), so every sign flip but the
    # identity is smaller: p = (0 + 1) / (10000 + 1), doubled by Holm over the two tests
    assert p_bc == pytest.approx(2 / 10001, rel=1e-3)
