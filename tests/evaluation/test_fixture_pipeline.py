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
from xlir_bench.cli.app import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
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
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
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
    page = (tmp_path / "r.html").read_text()
    assert report.exit_code == 0 and "lareqa-mini" in page
    assert "median multilingual-pool rank" in page and "best-ranked answer is in each language" in page
    assert "95 % bootstrap" in page


# --- language-bias measures on the fixture, by hand ----------------------------------------------


def _setting(result, key):
    return next(s for s in result.run.results["lareqa-mini"].settings if s.key == key)


def test_bias_measures_by_hand(result):
    # en q1 answers at ranks 2 (en) and 6 (de); en q2 at 1 (en) and 3 (de); de q1, q2 at 1 (de) and 2 (en)
    en, de = _setting(result, "en->all"), _setting(result, "de->all")
    assert en.per_query["same_lang_first"] == [1.0, 1.0] and de.per_query["same_lang_first"] == [1.0, 1.0]
    assert en.per_query["strong_alignment"] == [0.0, 0.0] and de.per_query["strong_alignment"] == [1.0, 1.0]
    assert en.per_query["r_precision"] == [0.5, 0.5] and de.per_query["r_precision"] == [1.0, 1.0]
    assert _setting(result, "en->en").per_query["r_precision"] == [0.0, 1.0]
    bias = result.run.results["lareqa-mini"].extra["bias"]
    assert bias["rank_matrix"]["en"] == {"de": {"mean": 4.5, "median": 4.5}, "en": {"mean": 1.5, "median": 1.5}}
    assert bias["rank_matrix"]["de"] == {"de": {"mean": 1.0, "median": 1.0}, "en": {"mean": 2.0, "median": 2.0}}
    assert bias["first_answer_language"] == {"en": {"de": 0.0, "en": 1.0}, "de": {"de": 1.0, "en": 0.0}}
    # each question is asked in one other language only, so its consistency is the same RBO seen from both sides
    assert en.per_query["translation_consistency"] == de.per_query["translation_consistency"]
    assert all(0.0 < v < 1.0 for v in en.per_query["translation_consistency"])


CONCEPTS = {  # translation-invariant: every translation of a text has the same vector
    ("Paris is the capital of France.", "Paris ist die Hauptstadt Frankreichs."): [1, 0, 0, 0],
    ("It lies on the Seine.", "Es liegt an der Seine."): [0, 1, 0, 0],
    ("Berlin is in Germany.", "Berlin liegt in Deutschland."): [0, 0, 1, 0],
    ("The Spree flows through it.", "Die Spree fließt hindurch."): [0, 0, 0, 1],
    ("What is the capital of France?", "Was ist die Hauptstadt Frankreichs?"): [1, 0, 0.3, 0],
    ("Which river flows through Berlin?", "Welcher Fluss fließt durch Berlin?"): [0, 0, 0.3, 1],
}


class InvariantEncoder:
    """Every translation maps to one vector; ``language_weight`` > 0 adds a vector per language."""

    name = "invariant"
    language_weight = 0.0

    @property
    def fingerprint(self):
        return f"invariant-{self.language_weight}"

    def _encode(self, texts, query):
        rows = []
        for text in texts:
            (pair, vector), = [(p, v) for p, v in CONCEPTS.items() if text in p]
            lang = [0.0, 0.0]
            lang[pair.index(text)] = 1.0 if query else self.language_weight
            rows.append(vector + [x * (1.0 if self.language_weight else 0.0) for x in lang])
        return np.array(rows, dtype=np.float32)

    def encode_queries(self, texts):
        return self._encode(texts, True)

    def encode_passages(self, texts):
        return self._encode(texts, False)


class BiasedEncoder(InvariantEncoder):
    language_weight = 1.0


def _multi(encoder):
    run = xlir_bench.evaluate(encoder, tasks=[TASK], data_dir=MIRROR, use_cache=False, settings="multi", progress=False)
    return run.run.results["lareqa-mini"].macro["multi"]


def test_a_translation_invariant_encoder_is_language_agnostic():
    macro = _multi(InvariantEncoder())
    assert macro["rank_distance"] == 1.0  # R - 1 with R = 2 parallel answers: they sit side by side
    assert macro["strong_alignment"] == 1.0
    assert macro["translation_consistency"] == pytest.approx(1.0)
    assert macro["same_lang_first"] == 0.5  # 1 / R: the tie goes to the larger docno (en) for both languages


def test_a_language_vector_makes_it_biased():
    agnostic, biased = _multi(InvariantEncoder()), _multi(BiasedEncoder())
    assert biased["same_lang_first"] == 1.0
    assert biased["rank_distance"] > agnostic["rank_distance"]
    assert biased["translation_consistency"] < agnostic["translation_consistency"]


def test_intervals_are_seeded_and_equal_an_independent_bootstrap():
    from xlir_bench.stats.bootstrap import macro_interval

    runs = [
        xlir_bench.evaluate(HandEncoder(), tasks=[TASK], data_dir=MIRROR, use_cache=False, progress=False, bootstrap=200)
        for _ in range(2)
    ]
    first, second = (r.run.results["lareqa-mini"].extra["intervals"] for r in runs)
    assert first == second
    result = runs[0].run.results["lareqa-mini"]
    assert runs[0].run.extra["bootstrap"]["unit"] == {"lareqa-mini": "article"}  # the task's default unit
    clusters = result.extra["clusters"]
    assert clusters["unit"] == "article"
    settings = [s for s in result.settings if s.family == "multi"]
    alone = macro_interval([(s.query_ids, s.values("map")) for s in settings], n_resamples=200, seed=0, clusters=clusters["of"])
    assert first["multi"]["map"] == pytest.approx([alone.low, alone.high])
    assert first["multi"]["map"][0] <= runs[0].run.results["lareqa-mini"].macro["multi"]["map"] <= first["multi"]["map"][1]
