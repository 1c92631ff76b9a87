"""experiments/hybrid-v2/README.md states what its grid, split and data say (each number checked at its source)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from xlir_bench.data.split import read_split

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STUDY = Path(__file__).resolve().parents[2] / "experiments" / "hybrid-v2"
README = (STUDY / "README.md").read_text(encoding="utf-8")


def _rows(header: str) -> list[list[str]]:
    """The cells of the markdown table whose header row starts with ``header``."""
    lines = README[README.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.strip().startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_the_hypothesis_table_is_the_declared_one():
    declared = tomllib.loads((STUDY / "study.toml").read_text())["hypotheses"]
    rows = _rows("| id | hypothesis |")
    assert [row[0] for row in rows] == [h["id"] for h in declared]
    assert [row[1] for row in rows] == [h["claim"] for h in declared]


def test_split_numbers_are_the_split_files():
    split = read_split(STUDY / "split.json")
    assert f"{len(split.train)} of MLQA-R's {len(split.titles)} English" in README
    assert f"{len(split.heldout)} are held out" in README
    assert f"seed {split.seed}, share {split.train_share}" in README


@pytest.mark.realdata
def test_heldout_counts_and_pair_counts_are_the_data(data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    from xlir_bench.data.tasks import get_spec, load_selection
    from xlir_bench.train.sweep import load_grid

    (task,) = load_selection([str(STUDY / "mlqa-r-heldout.toml")])
    published = get_spec("mlqa-r").counts
    for lang, questions, candidates, full in _rows("| language | held-out questions |"):
        assert int(questions) == len(task.data[lang].questions)
        assert int(candidates.replace(",", "")) == len(task.data[lang].candidates)
        assert full.replace(",", "") == f"{published[lang]['questions']} / {published[lang]['candidates']}"
    pairs = load_grid(STUDY / "study.toml", check_base=False).pairs
    mono = sum(p["query_lang"] == p["passage_lang"] for p in pairs)
    numbers = re.search(r"([\d,]+) pairs \(([\d,]+)\s+monolingual, ([\d,]+) cross-lingual", README).groups()
    assert [int(n.replace(",", "")) for n in numbers] == [len(pairs), mono, len(pairs) - mono]
    assert f"{mono:,} / {len(pairs):,} = {mono / len(pairs):.3f}" in README


def test_the_cpu_step_times_quoted_are_the_committed_measurement():
    import json

    measured = json.loads((STUDY / "device" / "cpu_steps.json").read_text())
    wall = ", ".join(f"{t:.1f}" for t in measured["wall_s"])
    assert f"**{wall} s a step**" in README
    cpu = ", ".join(f"{t:.1f}" for t in measured["cpu_s"][:-1]) + f" and {measured['cpu_s'][-1]:.1f}"
    assert f"**{cpu} CPU-seconds** (median after warm-up {measured['median_cpu_s']:.1f})" in README
    hours = 306 * measured["median_cpu_s"] / 3600
    assert f"306 × {measured['median_cpu_s']:.1f} CPU-s ≈ {hours:.1f} CPU-hours" in README
    assert f"306 × {measured['median_wall_s']:.1f} s ≈ {306 * measured['median_wall_s'] / 3600:.1f} h" in README
