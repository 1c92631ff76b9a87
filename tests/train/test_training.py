"""Training: pairs from a task, a tiny model trains a few steps on CPU, loss goes down, train -> eval record."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli
from xlir_bench.data.lareqa import resolve_source
from xlir_bench.data.tasks import get_spec, load_task
from xlir_bench.records.build import load_record
from xlir_bench.train.training import build_pairs, read_pairs


def test_pairs_from_mlqa_r(data_dir):
    task = load_task(get_spec("mlqa-r"), ("de", "hi"), resolve_source(data_dir))
    pairs = build_pairs(task)
    # 512 de + 507 hi questions pair with their own language; the 163 shared ids also cross both ways.
    assert len(pairs) == 512 + 507 + 2 * 163
    pair = next(p for p in pairs if p["query_lang"] == "de" and p["passage_lang"] == "hi")
    hi = task.data["hi"]
    assert pair["passage"] == hi.candidates[hi.answer_of[pair["id"]]]
    with_context = build_pairs(task, context=True)
    assert all(p["passage"] in hi.paragraphs for p in with_context if p["passage_lang"] == "hi")


def test_bad_training_file_names_the_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        '{"id": "a", "query_lang": "en", "query": "q", "passage_lang": "en", "passage": "p"}\n{"id": "b"}\n'
    )
    result = CliRunner().invoke(
        cli, ["train", "--base", str(tmp_path), "--train-data", str(path), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "pairs.jsonl:2: missing or empty query_lang" in result.stderr


@pytest.mark.parametrize("strategy", ["hybrid"])
def test_tiny_model_trains_and_evaluates(data_dir, tmp_path, strategy):
    pytest.importorskip("datasets")
    pytest.importorskip("accelerate")
    from tiny_models import build_tiny_sentence_transformer

    base = build_tiny_sentence_transformer(tmp_path / "tiny")
    pairs_path = tmp_path / "pairs.jsonl"
    made = CliRunner().invoke(
        cli, ["train-data", "--from", "mlqa-r", "--langs", "de,es", "--data-dir", str(data_dir), "-o", str(pairs_path)]
    )
    assert made.exit_code == 0 and "1404 pairs" in made.output  # 512 + 500 own-language + 2 x 196 shared ids
    pairs = read_pairs(pairs_path)
    assert len(pairs) == 1404
    # A random 32-dim model learns slowly: give it 24 questions (all four de/es pair types, 96 pairs) to fit.
    shared = list(dict.fromkeys(p["id"] for p in pairs if p["query_lang"] != p["passage_lang"]))[:24]
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(p) + "\n" for p in pairs if p["id"] in set(shared)))
    out = tmp_path / "trained"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--base",
            str(base),
            "--train-data",
            str(small),
            "--strategy",
            strategy,
            "-o",
            str(out),
            "--batch-size",
            "8",
            "--lr",
            "5e-3",
            "--max-steps",
            "120",
            "--warmup-ratio",
            "0",
            "--max-length",
            "32",
            "--device",
            "cpu",
            "--eval",
            "xquad-r",
            "--eval-langs",
            "de,es",
            "--data-dir",
            str(data_dir),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "not zero-shot" not in result.stderr  # MLQA-R texts do not occur in XQuAD-R
    log = json.loads((out / "training_log.json").read_text())
    losses = [entry["loss"] for entry in log["history"] if "loss" in entry]
    assert log["steps"] == 120 and len(losses) == 12 and log["pairs"] == {"mono": 48, "cross": 48}
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.1  # in-batch-negative loss goes down (from ln 8)
    record = load_record(out / "run-xquad-r.json")
    assert record.model_name == "st+hybrid"
    assert len(record.results["xquad-r"].settings) == 2 + 2 + 2


def test_overlap_with_the_evaluation_task_is_reported(data_dir):
    from xlir_bench.train.training import overlap_warning

    xquad = load_task(get_spec("xquad-r"), ("de", "en"), resolve_source(data_dir))
    mlqa = load_task(get_spec("mlqa-r"), ("de", "en"), resolve_source(data_dir))
    assert overlap_warning(build_pairs(mlqa), xquad) is None
    warning = overlap_warning(build_pairs(xquad)[:10], xquad)
    assert warning.startswith("10 training questions and 10 training passages also occur in xquad-r")
