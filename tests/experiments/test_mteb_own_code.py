"""The pure helpers of benchmarks/mteb_own_code.py (they need no mteb): MTEB-format conversion and tie ranks."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytrec_eval

from xlir_bench.data.lareqa import LanguageData

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mteb_own_code.py"
spec = importlib.util.spec_from_file_location("mteb_own_code", SCRIPT)
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # its dataclasses look their module up by name
spec.loader.exec_module(bench)


def test_mteb_split_keeps_every_candidate_and_only_judged_questions():
    data = LanguageData(
        lang="en",
        question_ids=["q1", "q2", "q3"],
        questions=["Who?", "What?", "Where?"],
        candidate_ids=["en-p0-s0", "en-p0-s1", "en-p1-s0"],
        candidates=["A.", " B.", "A."],
        qrels={"q1": {2: 1}, "q2": {0: 0}, "q3": {1: 1}},
    )
    corpus, queries, qrels = bench.mteb_split(data)
    # hand-derived: duplicates and leading spaces kept, q2 has no relevant candidate so MTEB would drop it
    assert corpus == [
        {"id": "en-p0-s0", "title": "", "text": "A."},
        {"id": "en-p0-s1", "title": "", "text": " B."},
        {"id": "en-p1-s0", "title": "", "text": "A."},
    ]
    assert queries == [{"id": "q1", "text": "Who?"}, {"id": "q3", "text": "Where?"}]
    assert qrels == {"q1": {"en-p1-s0": 1}, "q3": {"en-p0-s1": 1}}


def test_trec_rank_breaks_ties_like_pytrec_eval():
    # three-way tie at the top, one tie lower down: trec_eval puts the larger id first among equal scores
    results = {"d1": 0.9, "d3": 0.9, "d2": 0.9, "d4": 0.5, "d9": 0.5, "d5": 0.7}
    for doc in results:
        judged = pytrec_eval.RelevanceEvaluator({"q": {doc: 1}}, {"ndcg_cut.10"}).evaluate({"q": results})
        rank = bench.trec_rank(results, doc)
        assert math.isclose(judged["q"]["ndcg_cut_10"], 1 / math.log2(rank + 1)), doc
    assert [bench.trec_rank(results, d) for d in ("d3", "d2", "d1", "d5", "d9", "d4")] == [1, 2, 3, 4, 5, 6]
    assert bench.trec_rank(results, "absent") > len(results)


def test_mlqa_pair_is_the_pair_corpus_and_its_judged_questions():
    # de questions q1, q2; ar paragraphs of q1 and q3 only (pair corpus: ids both languages have)
    data = {
        "ar": LanguageData(
            lang="ar",
            question_ids=["q1", "q3"],
            questions=["AR1?", "AR3?"],
            candidate_ids=["ar-p00000", "ar-p00001"],
            candidates=["P1", "P3"],
            qrels={"q1": {0: 1}, "q3": {1: 1}},
            pool_for={"de": [0]},
        ),
        "de": LanguageData(
            lang="de",
            question_ids=["q1", "q2"],
            questions=["DE1?", "DE2?"],
            candidate_ids=["de-p00000", "de-p00001"],
            candidates=["D1", "D2"],
            qrels={"q1": {0: 1}, "q2": {1: 1}},
        ),
    }
    corpus, queries, qrels = bench.mlqa_pair(data, "de", "ar")
    # hand-derived: MTEB's subset ara-deu holds the Arabic paragraph of q1 only and the German question q1
    assert bench.mlqa_subset("de", "ar") == "ara-deu"
    assert corpus == [{"id": "ar-p00000", "title": "", "text": "P1"}]
    assert queries == [{"id": "q1", "text": "DE1?"}]
    assert qrels == {"q1": {"ar-p00000": 1}}
    corpus, queries, _ = bench.mlqa_pair(data, "de", "de")  # monolingual: every paragraph of the language
    assert [row["id"] for row in corpus] == ["de-p00000", "de-p00001"] and len(queries) == 2


def test_readme_timing_table_is_the_recorded_output():
    """benchmarks/README.md's 49-subset alternation equals the script's committed output, ratios recomputed."""
    import re

    bench_dir = SCRIPT.parent
    output = (bench_dir / "records" / "mteb-own-code-mlqa-49.txt").read_text(encoding="utf-8")
    last = output[output.rindex("after round") :]
    walls = {
        tool: [float(v) for v in re.findall(r"([\d.]+) s", re.search(rf"wall {tool}: (.*)", last).group(1))]
        for tool in ("xlir-bench", "MTEB")
    }
    assert output.count("subsets: xlir-bench 49, MTEB 49, both 49") == 2
    assert output.count("max |MTEB unrounded - xlir-bench|: 0.00e+00") == 2  # identical in both rounds
    readme = (bench_dir / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d) \| ([\d.]+) \| ([\d.]+) \| \*\*([\d.]+)\*\* \|$", readme, re.MULTILINE)
    assert len(rows) == len(walls["MTEB"]) == 2
    for (round_, ours, theirs, ratio), xlir, mteb in zip(rows, walls["xlir-bench"], walls["MTEB"], strict=True):
        assert (float(ours), float(theirs)) == (xlir, mteb), round_
        assert ratio == f"{mteb / xlir:.2f}", round_
