"""A whole (tiny) training study on the real data: split pairs, two strategies x two seeds, the untrained base,
learning curves, the declared hypotheses tested from the records, and a report that regenerates.

A random 2-layer BERT keeps it to minutes on a CPU; the numbers are meaningless, the machinery is not.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from tiny_models import build_tiny_sentence_transformer

from xlir_bench.train.sweep import run_sweep
from xlir_bench.train.sweep_report import write_report

STUDY = Path(__file__).resolve().parents[2] / "experiments" / "hybrid-v2"

GRID = """
base = "{model}"
base_name = "tiny"
reference = true
permutations = 1000
[train]
data = {{from = "mlqa-r", split = "split.json", langs = ["de", "en"]}}
steps = 3
learning_rate = 1e-3
batch_size = 8
max_length = 32
logging_steps = 1
[[grid]]
strategy = ["hybrid", "mixed"]
seed = [1, 2]
[dev]
task = "mlqa-r-heldout.toml"
articles = 2
every = 2
[[eval]]
task = "xquad-r"
langs = ["de", "en"]
[[eval]]
task = "mlqa-r-heldout.toml"
langs = ["de", "en"]
[analysis]
margin = 0.005
[[hypotheses]]
id = "H1"
claim = "hybrid is non-inferior to mixed"
kind = "noninferior"
task = "xquad-r"
measure = "map"
arm = "hybrid"
versus = ["mixed"]
[[hypotheses]]
id = "H2"
claim = "hybrid beats the untrained base"
kind = "higher"
task = "mlqa-r-heldout"
measure = "map"
arm = "hybrid"
versus = ["base"]
"""


def _multi_map(out: Path, cell: str, task: str) -> float:
    record = json.loads(gzip.decompress((out / "cells" / cell / "runs" / f"{task}.json.gz").read_bytes()))
    return record["results"][task]["macro"]["multi"]["map"]


@pytest.mark.heavy
@pytest.mark.realdata
def test_a_tiny_study_tests_its_declared_hypotheses_from_its_records(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    model = build_tiny_sentence_transformer(tmp_path / "tiny")
    for name in ("split.json", "mlqa-r-heldout.toml"):
        shutil.copy(STUDY / name, tmp_path / name)
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(model=model))
    out = tmp_path / "out"
    run_sweep(grid, out, progress=False)

    log = json.loads((out / "cells" / "hybrid-s1" / "train" / "training_log.json").read_text())
    assert [point["step"] for point in log["dev_curve"]] == [0, 2, 3]  # before, every 2 steps, at the end
    assert log["options"]["loss_scale"] == 20.0  # no E5 prompts: sentence-transformers' default
    assert any("loss" in entry for entry in log["history"])

    analysis = json.loads((out / "analysis.json").read_text())
    h1, h2 = analysis["hypotheses"]
    hybrid = [_multi_map(out, f"hybrid-s{s}", "xquad-r") for s in (1, 2)]
    mixed = [_multi_map(out, f"mixed-s{s}", "xquad-r") for s in (1, 2)]
    # a second computation: scipy's Welch test of hybrid + margin > mixed
    expected = stats.ttest_ind(np.add(hybrid, 0.005), mixed, equal_var=False, alternative="greater").pvalue
    assert h1["p"] == pytest.approx(expected) and h1["estimate"] == pytest.approx(np.mean(hybrid) - np.mean(mixed))
    base = _multi_map(out, "base", "mlqa-r-heldout")
    held = [_multi_map(out, f"hybrid-s{s}", "mlqa-r-heldout") for s in (1, 2)]
    # against the base (one record, no seeds): seed_level's t with hybrid's spread, SE = sd sqrt(1 + 1/2), df = 1
    se = np.std(held, ddof=1) * np.sqrt(1 + 1 / 2)
    assert h2["p"] == pytest.approx(stats.t.sf((np.mean(held) - base) / se, 1))
    assert h1["verdict"] in ("supported", "refuted", "inconclusive")

    before = {name: (out / name).read_text() for name in ("analysis.md", "analysis.json", "report.md")}
    write_report(out)  # sweep-report: everything regenerates from the records alone
    assert {name: (out / name).read_text() for name in before} == before
