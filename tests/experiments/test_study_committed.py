"""The committed hybrid-batch study (experiments/study): every cell has its run records, and the report regenerates.

The committed report was written with 10,000 permutations per randomization test; here a
copy of the study folder is re-reported with 1,000. Its configurations are compared with the
training run as the unit (every trained configuration against mono-frozen's two seeds), by
t-tests that use no permutations, so every number and table must come out identical.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xlir_bench.train.sweep_report import load_sweep, write_report

pytestmark = pytest.mark.heavy  # Ray, torch or minutes of work: not in the quick loop

STUDY = Path(__file__).resolve().parents[2] / "experiments" / "study"
PERMUTATIONS = 1000


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("study") / "study"
    shutil.copytree(STUDY, folder)
    sweep = json.loads((folder / "sweep.json").read_text())
    assert sweep["plan"]["permutations"] == 10_000  # what the committed report was written with
    sweep["plan"]["permutations"] = PERMUTATIONS
    (folder / "sweep.json").write_text(json.dumps(sweep))
    for name in ("report.json", "report.md", "report.html"):
        (folder / name).unlink()
    write_report(folder)
    return folder


def committed_report() -> dict:
    return json.loads((STUDY / "report.json").read_text())


def test_every_cell_of_the_plan_has_its_run_records():
    plan = load_sweep(STUDY)
    names = [cell["name"] for cell in plan["cells"]] + (["base"] if plan["reference"] else [])
    assert len(names) == 9  # 8 trained cells and the untrained base
    for name in names:
        for spec in plan["evals"]:
            assert (STUDY / "cells" / name / "runs" / f"{spec['task']}.json.gz").is_file(), (name, spec["task"])
    assert committed_report()["missing"] == []


def test_report_numbers_regenerate_from_the_records(regenerated):
    old, new = committed_report(), json.loads((regenerated / "report.json").read_text())
    assert new["missing"] == []
    for task, entry in old["tasks"].items():
        fresh = new["tasks"][task]
        for key in ("seen_data", "seen_langs", "unseen_langs", "cells", "configs"):
            assert fresh[key] == entry[key], (task, key)
        assert fresh["significance"].keys() == entry["significance"].keys()
        for config, tested in entry["significance"].items():
            assert fresh["significance"][config]["settings"] == tested["settings"]
            assert fresh["significance"][config]["seeds"] == tested["seeds"]
            for family, row in tested["families"].items():
                again = fresh["significance"][config]["families"][family]
                # seed-level t-tests and t intervals are deterministic; the bootstrap is seeded
                for key in ("baseline", "cell", "delta", "low", "high", "p", "p_holm", "mdd", "test", "n_questions"):
                    assert again[key] == row[key], (config, family, key)


def test_report_tables_regenerate(regenerated):
    old = (STUDY / "report.md").read_text().splitlines()
    new = (regenerated / "report.md").read_text().splitlines()
    assert new == old


def test_perturbed_records_are_of_the_same_models_as_the_clean_ones():
    """The robustness records were made later by models retrained from the same seeds (the first ones
    were not kept): their clean-question macros must equal the committed clean records' (float noise aside)."""
    import gzip

    perturbed = sorted(STUDY.glob("cells/*/runs/*-perturbed.json.gz"))
    assert len(perturbed) >= 10
    for path in perturbed:
        task = path.name.removesuffix("-perturbed.json.gz")
        again = json.loads(gzip.open(path).read())["clean"][task]["macro"]
        clean = json.loads(gzip.open(path.with_name(f"{task}.json.gz")).read())["results"][task]["macro"]
        for family in ("mono", "cross", "multi"):
            assert again[family]["map"] == pytest.approx(clean[family]["map"], abs=1e-4), (path, family)
