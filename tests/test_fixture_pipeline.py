"""The whole pipeline and CLI on a two-language LAReQA fixture whose every number is computed by hand below.

Needs no data mirror: this is the quick loop (``pytest -m "not realdata"``).

Vectors (dimensions: paris, seine, berlin, spree, english, german). Candidates are
each paragraph's sentences; q1's answer is sentence 0 of paragraph 0, q2's is
sentence 1 of paragraph 1, in both languages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from trec_check import FULL_DEPTH, assert_agrees_with_pytrec

import xlir_bench
from xlir_bench.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"
TASK = str(FIXTURES / "lareqa-mini.toml")
MIRROR = str(FIXTURES / "lareqa-mini")

VECTORS = {
    "Paris is the capital of France.": [1, 0, 0, 0, 0.5, 0],
    "It lies on the Seine.": [0, 1, 0, 0, 0.5, 0],
    "Berlin is in Germany.": [0, 0, 1, 0, 0.5, 0],
    "The Spree flows through it.": [0, 0, 0, 1, 0.5, 0],
    "Paris ist die Hauptstadt Frankreichs.": [0.6, 0, 0, 0, 0, 0.5],
    "Es liegt an der Seine.": [0, 0.6, 0, 0, 0, 0.5],
    "Berlin liegt in Deutschland.": [0, 0, 0.6, 0, 0, 0.5],
    "Die Spree fließt hindurch.": [0, 0, 0, 0.6, 0, 0.5],
    "What is the capital of France?": [0.5, 0, 1, 0, 1, 0],
    "Which river flows through Berlin?": [0, 0, 0.5, 1, 1, 0],
    "Was ist die Hauptstadt Frankreichs?": [1, 0, 0.2, 0, 0, 1],
    "Welcher Fluss fließt durch Berlin?": [0, 0, 0.5, 1, 0, 1],
}


class HandEncoder:
    name = "hand"
    fingerprint = "hand-v1"

    def _encode(self, texts):
        return np.array([VECTORS[text] for text in texts], dtype=np.float32)

    encode_queries = encode_passages = _encode


def factory() -> HandEncoder:
    return HandEncoder()


# Hand-ranked (see the module docstring's vectors):
# en q1 -> en: en2 1.5, en0 1.0 ...          answer en0 at rank 2: AP 1/2
# en q1 -> de: de2 .6, de0 .3 ...            answer de0 at rank 2: AP 1/2
# en q1 -> all: en2 1.5, en0 1.0, de2 .6, en3 .5, en1 .5, de0 .3   answers at 2 and 6: AP (1/2 + 2/6)/2, distance 4
# en q2 -> en/de: answer first; -> all: en3 1.5, en2 1.0, de3 .6    answers at 1 and 3: AP (1 + 2/3)/2, distance 2
# de q1/q2: the answer first in every pool; -> all: answers at 1 and 2: AP 1, distance 1
EXPECTED_MAP = {
    "en->en": (0.5 + 1) / 2,
    "en->de": (0.5 + 1) / 2,
    "en->all": ((1 / 2 + 2 / 6) / 2 + (1 + 2 / 3) / 2) / 2,
    "de->de": 1.0,
    "de->en": 1.0,
    "de->all": 1.0,
}
EXPECTED_RANK_DISTANCE = {"en->all": (4 + 2) / 2, "de->all": 1.0}


@pytest.fixture(scope="module")
def result():
    return xlir_bench.evaluate(
        HandEncoder(), tasks=[TASK], data_dir=MIRROR, use_cache=False, depth=FULL_DEPTH, progress=False
    )


def test_every_setting_by_hand(result):
    settings = {f"{s.query_lang}->{s.pool}": s for s in result.run.results["lareqa-mini"].settings}
    assert set(settings) == set(EXPECTED_MAP)
    for key, expected in EXPECTED_MAP.items():
        assert settings[key].metrics["map"] == pytest.approx(expected, abs=1e-6), key
    for key, expected in EXPECTED_RANK_DISTANCE.items():
        assert settings[key].metrics["rank_distance"] == pytest.approx(expected), key
        assert settings[key].metrics["same_lang_pool_share"] == pytest.approx(0.5)
    macro = result.run.results["lareqa-mini"].macro
    assert macro["mono"]["map"] == pytest.approx(0.875)
    assert macro["cross"]["map"] == pytest.approx(0.875)
    assert macro["multi"]["map"] == pytest.approx((EXPECTED_MAP["en->all"] + 1) / 2)
    assert macro["multi"]["rank_distance"] == pytest.approx(2.0)
    assert macro["mono"]["recall@1"] == pytest.approx(0.75)  # en q1 misses rank 1


def test_every_setting_agrees_with_pytrec_eval(result):
    for outcome in result.outcomes["lareqa-mini"]:
        assert_agrees_with_pytrec(outcome)


def test_multilingual_pool_is_in_docno_order(result):
    (multi,) = [o for o in result.outcomes["lareqa-mini"] if o.setting.pool == "all"][:1]
    ids = multi.judgements.pool.candidate_ids
    assert ids == sorted(ids) and ids[0].startswith("de-") and ids[-1].startswith("en-")


def test_cli_run_compare_leaderboard_report_on_the_fixture(tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    runner = CliRunner()
    common = ["--task", TASK, "--data-dir", MIRROR, "--no-cache", "-q"]
    first = runner.invoke(cli, ["run", "--model", "py:test_fixture_pipeline:factory", *common, "-o", tmp_path / "a.json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["run", "--model", "bm25", *common, "-o", tmp_path / "b.json"])
    assert second.exit_code == 0, second.output
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["results"]["lareqa-mini"]["macro"]["multi"]["map"] == pytest.approx((EXPECTED_MAP["en->all"] + 1) / 2)
    board = runner.invoke(cli, ["leaderboard", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert board.exit_code == 0 and "| hand " in board.output and "| bm25 " in board.output
    same = runner.invoke(cli, ["compare", str(tmp_path / "a.json"), str(tmp_path / "a.json")])
    assert same.exit_code == 0 and "PASS" in same.output
    report = runner.invoke(cli, ["report", str(tmp_path / "a.json"), "-o", str(tmp_path / "r.html")])
    assert report.exit_code == 0 and "lareqa-mini" in (tmp_path / "r.html").read_text()
