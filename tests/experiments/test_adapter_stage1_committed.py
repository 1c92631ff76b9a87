"""The committed adapter study (experiments/adapter-stage1): its report regenerates from the committed cell
summaries, the fast evaluator's numbers equal the full pipeline's records of the kept cells, and the README
quotes the report."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest

from xlir_bench.analysis.adapter_report import build_report, render

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "experiments" / "adapter-stage1"
GRID = REPO / "experiments" / "adapter-stage1.toml"

pytestmark = pytest.mark.skipif(not (FOLDER / "report.json").exists(), reason="stage-1 results not committed")


def test_report_regenerates_from_the_committed_summaries():
    report = build_report(FOLDER, GRID)
    committed = json.loads((FOLDER / "report.json").read_text())
    assert json.dumps(report, sort_keys=True, indent=1) == json.dumps(committed, sort_keys=True, indent=1)
    assert render(report) == (FOLDER / "report.md").read_text()


def _kept():
    for record in sorted(FOLDER.glob("cells/*/runs/*.json.gz")):
        yield record, record.parent.parent / "evals" / (record.name[: -len(".json.gz")] + ".json")


def test_fast_numbers_equal_the_pipeline_records_of_kept_cells():
    kept = list(_kept())
    assert kept, "no kept run records"
    for record_path, fast_path in kept:
        record = json.loads(gzip.decompress(record_path.read_bytes()))
        fast = json.loads(fast_path.read_text())
        (task,) = record["results"]
        entries = record["results"][task]["settings"]
        settings = {f"{s['query_lang']}->{s['pool']}": s["metrics"]["map"] for s in entries}
        n_queries = {f"{s['query_lang']}->{s['pool']}": s["n_queries"] for s in entries}
        assert set(fast["settings"]) == set(settings)
        # equal, except where a near-tie of float32 scores is ordered differently by the pipeline's blocked
        # GEMM: such a swap moves one query's AP, so a setting differs by at most 1/n_queries, and rarely
        exact = sum(abs(fast["settings"][k] - v) < 1e-6 for k, v in settings.items())
        assert exact >= 0.95 * len(settings), record_path
        for key, value in settings.items():
            assert abs(fast["settings"][key] - value) <= 1 / n_queries[key], (record_path, key)
        macro = record["results"][task]["macro"]
        assert fast["macro"]["multi"]["rank_distance"] == pytest.approx(macro["multi"]["rank_distance"], rel=1e-3)


def _generated_blocks(text: str) -> list[str]:
    """Every ``<!-- generated: ... -->`` ... ``<!-- end of generated table -->`` block of the README."""
    blocks, rest = [], text
    while "<!-- generated: " in rest:
        rest = rest[rest.index("<!-- generated: ") :]
        rest = rest[rest.index("-->") + 3 :]
        blocks.append(rest[: rest.index("<!-- end of generated table -->")].strip())
    return blocks


def test_readme_quotes_the_report():
    blocks = _generated_blocks((FOLDER / "README.md").read_text())
    rendered = render(build_report(FOLDER, GRID))
    assert len(blocks) >= 3  # arm tables and cost, declared tests, conclusions
    for block in blocks:
        assert block and block in rendered, block[:200]


def test_every_cell_has_every_declared_evaluation():
    from xlir_bench.train.adapter_grid import load_grid

    grid = load_grid(GRID)
    labels = {spec.label for spec in grid.evals}
    assert "xquad-r-dialect" in labels
    cells = [cell.name for cell in grid.cells()] + ["base"]
    assert len(cells) == 131
    for name in cells:
        done = {p.stem for p in (FOLDER / "cells" / name / "evals").glob("*.json")}
        assert labels <= done, name


def test_the_dialect_evaluation_scored_perturbed_questions():
    """Perturbed questions change the scores: no arm's dialect summary equals its clean one (per setting)."""
    for name in ("base", "hybrid-s1", "mixed-s1"):
        clean = json.loads((FOLDER / "cells" / name / "evals" / "xquad-r.json").read_text())
        dialect = json.loads((FOLDER / "cells" / name / "evals" / "xquad-r-dialect.json").read_text())
        assert set(clean["settings"]) == set(dialect["settings"])
        moved = sum(abs(clean["settings"][k] - dialect["settings"][k]) > 1e-9 for k in clean["settings"])
        assert moved >= 0.9 * len(clean["settings"]), name


def test_the_alpha_means_are_monotonic_as_the_readme_says():
    """README: multi mAP falls and rank distance rises from alpha 0 to 1, every evaluation, both language groups."""
    report = json.loads((FOLDER / "report.json").read_text())
    alphas = [f"a{i / 10:.2f}" for i in range(11)]
    for label, entry in report["evals"].items():
        if label.endswith(" − clean"):
            continue
        for measure in (
            "multi_map",
            "rank_distance_norm",
            *(f"{m}_{g}" for m in ("multi_map", "rank_distance_norm") for g in ("seen", "unseen")),
        ):
            if measure not in entry["arms"]["a0.00"]:
                continue
            means = [entry["arms"][arm][measure]["mean"] for arm in alphas]
            steps = list(np.diff(means))
            assert all(step < 0 for step in steps) if "map" in measure else all(step > 0 for step in steps), (
                label,
                measure,
            )


def _encoding_log() -> dict[str, int]:
    text = (FOLDER / "dialect-encoding.log").read_text()
    total, distinct, missing = (
        int(x) for x in re.search(r"questions (\d+) distinct (\d+) missing (\d+)", text).groups()
    )
    rows = re.findall(r"^(\w\w) (\d+) missing before (\d+) ([\d.]+)s$", text, re.M)
    return {
        "total": total,
        "distinct": distinct,
        "missing": missing,
        "per_lang_missing": sum(int(r[2]) for r in rows),
        "seconds": sum(float(r[3]) for r in rows),
        "rates": [int(r[2]) / float(r[3]) for r in rows if int(r[2])],
    }


def test_the_readme_quotes_the_dialect_encoding_log():
    log, readme = _encoding_log(), (FOLDER / "README.md").read_text()
    assert log["per_lang_missing"] == log["missing"]
    assert f"({log['distinct']:,} distinct texts" in readme
    assert f"{log['distinct'] - log['missing']:,} were already there" in readme
    assert f"{log['missing']:,} were encoded in ~{round(log['seconds'] / 60)} min" in readme
    assert f"({int(min(log['rates']))}–{int(max(log['rates']))} texts/s" in readme


@pytest.mark.realdata
def test_the_dialect_questions_are_the_ones_the_log_counts(data_dir, monkeypatch):
    from xlir_bench.data.perturb import parse_perturbation, perturb_task_questions
    from xlir_bench.data.tasks import load_selection

    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    (task,) = load_selection(["xquad-r"])
    questions = perturb_task_questions(task, [parse_perturbation("dialect")], 0)
    texts = [q for lang in questions for q in questions[lang]]
    log = _encoding_log()
    assert (len(texts), len(set(texts))) == (log["total"], log["distinct"])
    clean = {q for lang in task.langs for q in task.data[lang].questions}
    assert len(set(texts) - clean) > 0.9 * len(set(texts))  # perturbed: almost none equals a clean question
