"""``format = "lareqa-xtreme"`` (task ``xquad-r-xtreme``): XTREME-R's candidate text and mAP@20 through the whole pipeline.

The fixture is lareqa-mini (tests/fixtures, two parallel questions in en and de), run as an
XTREME-R task: the encoder below knows only XTREME-R's candidate texts (sentence + its paragraph,
no newline) and gives each the vector of its sentence from test_fixture_pipeline's hand table, so
the rankings are the ones ranked by hand there. In the multilingual pool (8 candidates, R = 2
answers) XTREME-R's AP@20 = (1 / min(2, 20)) * sum over answers within the top 20 of i / r_i:
en q1 answers at ranks 2 and 6, en q2 at 1 and 3, both de questions at 1 and 2. The cut at 20
and the divisor min(R, 20) on larger pools are checked against XTREME-R's own code in
tests/measures/test_xtreme.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_fixture_pipeline import VECTORS

import xlir_bench
from xlir_bench.cli.app import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MIRROR = str(FIXTURES / "lareqa-mini")
PARAGRAPHS = {
    "en": ["Paris is the capital of France. It lies on the Seine.", "Berlin is in Germany. The Spree flows through it."],
    "de": [
        "Paris ist die Hauptstadt Frankreichs. Es liegt an der Seine.",
        "Berlin liegt in Deutschland. Die Spree fließt hindurch.",
    ],
}
# the hand vectors of tests/evaluation/test_fixture_pipeline.py (paris, seine, berlin, spree, en, de)
SENTENCE = {text: vector for text, vector in VECTORS.items() if not text.endswith("?")}
QUESTIONS = {text: vector for text, vector in VECTORS.items() if text.endswith("?")}
# XTREME-R's candidate text: the sentence followed directly by its paragraph
CANDIDATES = {
    sentence + paragraph: vector
    for paragraphs in PARAGRAPHS.values()
    for paragraph in paragraphs
    for sentence, vector in SENTENCE.items()
    if paragraph.startswith(sentence) or paragraph.endswith(sentence)
}
AP20 = {"en->all": ((1 / 2 + 2 / 6) / 2 + (1 + 2 / 3) / 2) / 2, "de->all": 1.0}


class XtremeEncoder:
    name = "hand-xtreme"
    fingerprint = "hand-xtreme-v1"

    def __init__(self, candidates: dict[str, list[float]] = CANDIDATES) -> None:
        self.candidates = candidates

    def encode_queries(self, texts):
        return np.array([QUESTIONS[text] for text in texts], dtype=np.float32)

    def encode_passages(self, texts):  # a plain sentence is a KeyError: only XTREME-R's text may reach the encoder
        return np.array([self.candidates[text] for text in texts], dtype=np.float32)


def factory() -> XtremeEncoder:
    return XtremeEncoder()


def xtreme_task(folder: Path, extra: str = 'measures = ["map@20"]\n') -> str:
    shutil.copy(FIXTURES / "lareqa-mini.toml", folder / "lareqa-mini.toml")
    path = folder / "mini-xtreme.toml"
    path.write_text(
        'name = "mini-xtreme"\nformat = "lareqa-xtreme"\nsource_task = "lareqa-mini"\n'
        f'languages = ["de", "en"]\nlicense = "CC0-1.0"\n{extra}'
        "[counts]\nde = { questions = 2, candidates = 4 }\nen = { questions = 2, candidates = 4 }\n"
    )
    return str(path)


def test_candidate_text_and_map_at_20_by_hand(tmp_path):
    assert len(CANDIDATES) == 8
    result = xlir_bench.evaluate(
        XtremeEncoder(), tasks=[xtreme_task(tmp_path)], data_dir=MIRROR, use_cache=False, progress=False
    )
    task = result.run.results["mini-xtreme"]
    settings = {f"{s.query_lang}->{s.pool}": s.metrics for s in task.settings}
    for key, expected in AP20.items():
        assert settings[key]["map@20"] == pytest.approx(expected, abs=1e-9), key
    assert task.macro["multi"]["map@20"] == pytest.approx((AP20["en->all"] + AP20["de->all"]) / 2)
    # XTREME-R's measure exists only in its one (multilingual) pool; the usual measures stay beside it
    assert all("map@20" not in metrics for key, metrics in settings.items() if not key.endswith("->all"))
    assert "map@20" not in task.macro["mono"] and "ndcg@10" in settings["en->all"]


def test_plain_lareqa_task_has_no_map_at_20():
    # an opt-in measure: the source task itself (sentence candidates, LAReQA's protocol) never reports it
    task = str(FIXTURES / "lareqa-mini.toml")
    result = xlir_bench.evaluate(
        XtremeEncoder(SENTENCE), tasks=[task], data_dir=MIRROR, use_cache=False, progress=False, settings="multi"
    )
    assert all("map@20" not in s.metrics for s in result.run.results["lareqa-mini"].settings)


def test_unknown_measure_is_one_error_line(tmp_path):
    task = xtreme_task(tmp_path, 'measures = ["map@10"]\n')
    run = CliRunner().invoke(cli, ["run", "--model", "bm25", "--task", task, "--data-dir", MIRROR, "--no-cache", "-q"])
    assert run.exit_code == 2
    (line,) = run.output.strip().splitlines()
    assert line.startswith("error: ") and "mini-xtreme.toml" in line and "map@20" in line


def test_cli_run_leaderboard_report_compare(tmp_path):
    task = xtreme_task(tmp_path)
    runner = CliRunner()
    common = ["--task", task, "--data-dir", MIRROR, "--no-cache", "-q", "--bootstrap", "0"]
    record = tmp_path / "x.json"
    run = runner.invoke(cli, ["run", "--model", "py:test_format_xtreme:factory", *common, "-o", str(record)])
    assert run.exit_code == 0, run.output
    for command in (["leaderboard", str(record)], ["compare", str(record), str(record)]):
        done = runner.invoke(cli, command)
        assert done.exit_code == 0, (command, done.output)
    report = runner.invoke(cli, ["report", str(record), "-o", str(tmp_path / "r.html")])
    assert report.exit_code == 0, report.output
