"""The typed record builder writes the same JSON as the dict builder it replaced.

``tests/fixtures/records-golden/*.json`` were written by the dict builder (before the pipeline
built a typed :class:`~xlir_bench.records.schema.RunRecord`), on the hand fixture of
``test_fixture_pipeline``, with every optional section the fixture can produce: provenance,
cache, perturbation with clean and robustness, article clusters and intervals (CLI run), an
approximate index and an article sample (Python API). What varies from run to run (creation
time, timings, package versions, temporary paths) is blanked; the rest, key order included,
must be the same text. Regenerate (only on purpose, with the code whose output is the
reference): ``PYTHONPATH=.:tests python tests/evaluation/test_record_builder.py``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_fixture_pipeline import VECTORS

TESTS = Path(__file__).resolve().parents[1]
GOLDEN = TESTS / "fixtures" / "records-golden"
TASK = str(TESTS / "fixtures" / "lareqa-mini.toml")
MIRROR = str(TESTS / "fixtures" / "lareqa-mini")
VOLATILE = ("created", "versions")


class TolerantEncoder:
    """The hand fixture's vectors; a perturbed text gets a vector from its characters (deterministic)."""

    name = "hand-tolerant"
    fingerprint = "hand-tolerant-v1"

    def _encode(self, texts):
        return np.array([VECTORS.get(text) or _spelled(text) for text in texts], dtype=np.float32)

    encode_queries = encode_passages = _encode


def _spelled(text: str) -> list[float]:
    return [sum(map(ord, text[i::6])) % 11 / 11 for i in range(6)]


def factory() -> TolerantEncoder:
    return TolerantEncoder()


def normalised(text: str, tmp: Path) -> str:
    """The record text with run-to-run values blanked and the machine's paths named."""
    record = json.loads(text.replace(str(tmp), "TMP").replace(str(TESTS), "TESTS"))
    for key in VOLATILE:
        record[key] = "*"
    record["timings"] = {name: 0 for name in record["timings"]}
    return json.dumps(record, indent=1, ensure_ascii=False) + "\n"


def cli_record(tmp: Path) -> str:
    """``xlir-bench run`` with provenance, a fresh cache, a perturbation and article clusters."""
    from xlir_bench.cli.app import cli

    out = tmp / "cli.json"
    args = ["run", "--model", "py:test_record_builder:factory", "--task", TASK, "--data-dir", MIRROR]
    args += ["--cache-dir", str(tmp / "cache"), "--perturb", "typo:0.3", "--perturb-seed", "3"]
    args += ["--bootstrap", "40", "--cluster", "article", "-q", "-o", str(out)]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    return out.read_text(encoding="utf-8")


def api_record(tmp: Path) -> str:
    """``evaluate()`` with an approximate index and an article sample, saved with ``EvaluationResult.save``."""
    import xlir_bench

    result = xlir_bench.evaluate(
        TolerantEncoder(), tasks=[TASK], data_dir=MIRROR, use_cache=False, progress=False,
        index="hnsw", ann_depth=8, sample_articles=1, sample_seed=2, bootstrap=30, settings="mono,multi",
    )
    return result.save(tmp / "api.json").read_text(encoding="utf-8")


SCENARIOS = {"cli": cli_record, "api": api_record}


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_record_is_the_same_json_as_the_dict_builder_wrote(name, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)  # py:test_record_builder:factory is found from here
    got = normalised(SCENARIOS[name](tmp_path), tmp_path)
    assert got == (GOLDEN / f"{name}.json").read_text(encoding="utf-8")


def test_a_saved_record_reads_back_as_the_typed_record_it_was_written_from(tmp_path, monkeypatch):
    """load_record gives typed sections, and its JSON is the file's, key order included."""
    from xlir_bench import load_record
    from xlir_bench.records.sections import BootstrapInfo, CacheStats, Clustering, MacroView, Perturbation

    monkeypatch.chdir(TESTS)
    text = cli_record(tmp_path)
    run = load_record(tmp_path / "cli.json")
    assert json.dumps(run.to_json(), ensure_ascii=False) == json.dumps(json.loads(text), ensure_ascii=False)
    assert isinstance(run.bootstrap, BootstrapInfo) and run.bootstrap.unit == {"lareqa-mini": "article"}
    assert isinstance(run.perturbation, Perturbation) and run.perturbation.spec == ["typo:0.3"]
    assert isinstance(run.cache, CacheStats) and isinstance(run.robustness["lareqa-mini"], MacroView)
    clusters = run.results["lareqa-mini"].clusters
    assert isinstance(clusters, Clustering) and clusters.unit == "article"
    assert run.extra["bootstrap"] == json.loads(text)["bootstrap"]  # the JSON view readers of dicts use


def test_the_golden_records_hold_every_optional_section():
    """The comparison above covers each optional section the builder writes, not just the core."""
    cli, api = (json.loads((GOLDEN / f"{name}.json").read_text()) for name in SCENARIOS)
    assert {"provenance", "cache", "perturbation", "clean", "robustness", "bootstrap"} <= cli.keys()
    assert {"index", "sample", "bootstrap"} <= api.keys()
    assert {"bias", "clusters", "intervals"} <= cli["results"]["lareqa-mini"].keys()


if __name__ == "__main__":  # write the golden records with the code at hand (PYTHONPATH=.:tests)
    GOLDEN.mkdir(exist_ok=True)
    os.chdir(TESTS)
    for name, make in SCENARIOS.items():
        with tempfile.TemporaryDirectory() as tmp:
            (GOLDEN / f"{name}.json").write_text(normalised(make(Path(tmp)), Path(tmp)), encoding="utf-8")
