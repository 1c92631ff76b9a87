"""Bring-your-own data: a BEIR-format fixture and an ir_datasets collection registered from local files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from trec_check import FULL_DEPTH, assert_agrees_with_pytrec

import xlir_bench
from xlir_bench.data.tasks import get_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BEIR_TASK = str(FIXTURES / "beir-mini.toml")


class LookupEncoder:
    """Fixed vectors per text, so every ranking below is known by hand."""

    name = "lookup"
    fingerprint = "lookup-v1"
    vectors = {
        "capital of Kenya": [1.0, 0.0],
        "Mombasa Mombasa is a port city of Kenya on the coast.": [0.9, 0.0],  # grade 1
        "The Nile is the longest river in Africa.": [0.5, 0.0],  # not judged for q1
        "Nairobi Nairobi is the capital of Kenya.": [0.1, 0.0],  # grade 2
    }

    def _encode(self, texts):
        return np.array([self.vectors.get(text, [0.0, 1.0]) for text in texts], dtype=np.float32)

    encode_queries = encode_passages = _encode


def test_beir_fixture_graded_ndcg_by_hand(tmp_path):
    result = xlir_bench.evaluate(
        LookupEncoder(), tasks=[BEIR_TASK], settings="mono", langs=["en"], cache_dir=str(tmp_path), progress=False
    )
    (setting,) = result.record["results"]["beir-mini"]["settings"]
    per_query = dict(zip(setting["per_query"]["qid"], setting["per_query"]["ndcg@10"], strict=True))
    # q1 ranks d2 (grade 1) first, d3 (unjudged) second, d1 (grade 2) third.
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert per_query["q1"] == pytest.approx(dcg / idcg, abs=1e-6)
    ap = dict(zip(setting["per_query"]["qid"], setting["per_query"]["map"], strict=True))
    assert ap["q1"] == pytest.approx((1 / 1 + 2 / 3) / 2, abs=1e-6)


def test_beir_fixture_settings_follow_the_judgements(tmp_path):
    result = xlir_bench.evaluate("bm25", tasks=[BEIR_TASK], progress=False, depth=FULL_DEPTH)
    keys = {(s.setting.query_lang, s.setting.pool): s for s in result.outcomes["beir-mini"]}
    assert set(keys) == {("en", "en"), ("en", "sw"), ("en", "all"), ("sw", "sw"), ("sw", "en"), ("sw", "all")}
    assert keys[("sw", "en")].scores.query_ids == ["q1"]  # q3 has no English judgement
    assert result.record["data"]["beir-mini"].keys() >= {"beir-mini/corpus.jsonl", "beir-mini/qrels/test.tsv"}
    for outcome in result.outcomes["beir-mini"]:
        if outcome.setting.family != "multi":
            assert_agrees_with_pytrec(outcome)


def test_ir_datasets_registered_from_local_files(tmp_path, monkeypatch):
    """One dataset per language, as MIRACL or Mr. TyDi are laid out, registered through ir_datasets' registry."""
    import json

    import ir_datasets
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import GenericDoc, GenericQuery, JsonlDocs, JsonlQueries, TrecQrels
    from ir_datasets.util import LocalDownload

    monkeypatch.setenv("IR_DATASETS_HOME", str(tmp_path / "ird"))
    source = FIXTURES / "beir-mini"
    rows = [row.split("\t") for row in (source / "qrels" / "test.tsv").read_text().splitlines()[1:]]
    for lang in ("en", "sw"):
        folder = tmp_path / lang
        folder.mkdir()
        for name in ("corpus", "queries"):
            lines = [
                line for line in (source / f"{name}.jsonl").read_text().splitlines() if json.loads(line)["lang"] == lang
            ]
            (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
        (folder / "qrels.trec").write_text("".join(f"{q} 0 {d} {g}\n" for q, d, g in rows))
        dataset_id = f"xlir-test/mini-{lang}"
        if dataset_id not in ir_datasets.registry:
            ir_datasets.registry.register(
                dataset_id,
                Dataset(
                    JsonlDocs(
                        LocalDownload(folder / "corpus.jsonl"),
                        doc_cls=GenericDoc,
                        mapping={"doc_id": "_id", "text": "text"},
                        lang=lang,
                    ),
                    JsonlQueries(
                        LocalDownload(folder / "queries.jsonl"),
                        query_cls=GenericQuery,
                        mapping={"query_id": "_id", "text": "text"},
                        lang=lang,
                    ),
                    TrecQrels(
                        LocalDownload(folder / "qrels.trec"), {0: "not relevant", 1: "relevant", 2: "highly relevant"}
                    ),
                ),
            )
    task_file = tmp_path / "mini.toml"
    task_file.write_text(
        'name = "ird-mini"\nformat = "ir_datasets"\nlanguages = ["en", "sw"]\nlicense = "CC0"\n'
        '[ir_datasets]\nen = "xlir-test/mini-en"\nsw = "xlir-test/mini-sw"\n'
    )
    result = xlir_bench.evaluate("bm25", tasks=[str(task_file)], progress=False, depth=FULL_DEPTH)
    outcomes = {o.setting.key: o for o in result.outcomes["ird-mini"]}
    assert outcomes["ird-mini:en->en"].qrels["q1"] == {"d1": 2, "d2": 1}
    assert outcomes["ird-mini:sw->all"].qrels["q1"] == {"d1": 2, "d2": 1, "d4": 2}  # q1 is judged in both pools
    for key in ("ird-mini:en->en", "ird-mini:sw->sw", "ird-mini:sw->en"):
        assert_agrees_with_pytrec(outcomes[key])
    assert sorted(result.record["data"]["ird-mini"]) == [
        "ir_datasets:xlir-test/mini-en",
        "ir_datasets:xlir-test/mini-sw",
    ]


def test_task_folder_env_and_bad_task_files(tmp_path, monkeypatch):
    shutil.copy(BEIR_TASK, tmp_path / "beir-mini.toml")
    (tmp_path / "beir-mini").symlink_to(FIXTURES / "beir-mini")
    monkeypatch.setenv("XLIR_BENCH_TASKS", str(tmp_path))
    assert get_spec("beir-mini").format == "beir"
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nformat = "beir"\nlanguages = ["en"]\nlicense = "x"\n')
    with pytest.raises(xlir_bench.XlirError, match=r"bad\.toml: missing key 'path' \(format beir\)"):
        get_spec(str(bad))
