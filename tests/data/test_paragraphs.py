"""MTEB-style paragraph tasks: a hand-checked fixture, and MTEB's published sizes on the real files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import xlir_bench
from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import resolve_source
from xlir_bench.data.paragraphs import setting_sizes
from xlir_bench.data.tasks import get_spec, load_spec, load_task

# Two languages. xx: the first and third paragraphs are one text once stripped; "Which country?" is asked
# twice (ids b, c) about different paragraphs. yy lacks ids c and e and has a paragraph (id f) xx lacks.
TINY = {
    "xx": [
        (" Paris is the capital of France. ", [("a", "What is the capital of France?"), ("b", "Which country?")]),
        ("Berlin is in Germany.", [("c", "Which country?"), ("d", " Where is Berlin? ")]),
        ("Paris is the capital of France.", [("e", "Capital of France?")]),
    ],
    "yy": [
        ("Paris ist die Hauptstadt Frankreichs.", [("a", "Was ist die Hauptstadt?"), ("b", "Welches Land?")]),
        ("Berlin liegt in Deutschland.", [("d", "Wo liegt Berlin?")]),
        ("Madrid liegt in Spanien.", [("f", "Wo liegt Madrid?")]),
    ],
}


def _squad(paragraphs) -> dict:
    return {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {"context": context, "qas": [{"id": i, "question": q, "answers": []} for i, q in qas]}
                    for context, qas in paragraphs
                ],
            }
        ]
    }


@pytest.fixture
def tiny(tmp_path) -> tuple[Path, Path]:
    """(task file, data mirror) of the fixture: a source task and a paragraph task beside it."""
    mirror, tasks = tmp_path / "mirror", tmp_path / "tasks"
    (mirror / "tiny-r").mkdir(parents=True)
    tasks.mkdir()
    files = []
    for lang, paragraphs in TINY.items():
        path = mirror / "tiny-r" / f"{lang}.json"
        path.write_text(json.dumps(_squad(paragraphs)), encoding="utf-8")
        files.append(
            f'{lang} = {{ path = "tiny-r/{lang}.json", sha256 = "{hashlib.sha256(path.read_bytes()).hexdigest()}" }}'
        )
    common = 'languages = ["xx", "yy"]\nlicense = "CC BY-SA 4.0"\n'
    (tasks / "tiny-r.toml").write_text(
        f'name = "tiny-r"\n{common}url_template = "https://example.invalid/{{lang}}.json"\n[files]\n' + "\n".join(files)
    )
    paragraph = tasks / "tiny-paragraph.toml"
    paragraph.write_text(
        f'name = "tiny-paragraph"\nformat = "lareqa-paragraph"\nsource_task = "tiny-r"\nstrip = true\n{common}'
    )
    return paragraph, mirror


def test_fixture_builds_as_worked_out_by_hand(tiny):
    task_file, mirror = tiny
    spec = load_spec(task_file)
    assert spec.files["xx"]["path"] == "tiny-r/xx.json" and spec.candidate_unit == "paragraph"
    task = load_task(spec, ("xx", "yy"), resolve_source(mirror))
    xx, yy = task.data["xx"], task.data["yy"]
    # stripped, deduplicated paragraphs; one query per distinct stripped question text
    assert xx.candidates == ["Paris is the capital of France.", "Berlin is in Germany."]
    assert xx.question_ids == ["a", "b+c", "d", "e"]
    assert xx.questions == [
        "What is the capital of France?",
        "Which country?",
        "Where is Berlin?",
        "Capital of France?",
    ]
    assert yy.question_ids == ["a", "b", "d", "f"] and len(yy.candidates) == 3
    # the shared question text judges both of its paragraphs relevant in xx, only b's in yy (yy has no c)
    assert xx.qrels == {"a": {0: 1}, "b+c": {0: 1, 1: 1}, "d": {1: 1}, "e": {0: 1}, "b": {0: 1}}
    assert yy.qrels == {"a": {0: 1}, "b+c": {0: 1}, "d": {1: 1}, "b": {0: 1}, "f": {2: 1}}
    # the pair corpus of yy paragraphs for xx questions lacks Madrid (id f is not in xx); xx keeps all for yy
    assert yy.pool_for == {"xx": [0, 1]} and xx.pool_for == {}
    chars = len("What is the capital of France?Which country?Where is Berlin?Capital of France?")
    chars += len("Paris is the capital of France.Berlin is in Germany.")
    assert setting_sizes(task.data, "xx", "xx") == {"queries": 4, "documents": 2, "characters": chars}
    assert setting_sizes(task.data, "xx", "yy")["queries"] == 3  # f's question has no paragraph in xx
    assert setting_sizes(task.data, "yy", "xx") == {
        "queries": 3,  # a, b+c (through b), d; e is not in yy
        "documents": 2,
        "characters": len("What is the capital of France?Which country?Where is Berlin?")
        + len("Paris ist die Hauptstadt Frankreichs.Berlin liegt in Deutschland."),
    }


class ByText:
    """A 1-d encoder with hand-set passage scores: every query is [1], a passage its score below."""

    name = "by-text"
    fingerprint = "by-text"
    SCORES = {"Madrid liegt in Spanien.": 3.0, "Paris ist die Hauptstadt Frankreichs.": 2.0}

    def encode_queries(self, texts):
        return np.ones((len(texts), 1), np.float32)

    def encode_passages(self, texts):
        return np.array([[self.SCORES.get(text, 1.0)] for text in texts], np.float32)


def test_a_cross_setting_searches_only_its_pair_corpus(tiny):
    task_file, mirror = tiny
    result = xlir_bench.evaluate(
        ByText(), tasks=[str(task_file)], data_dir=str(mirror), use_cache=False, progress=False, depth=5
    )
    settings = {(s["query_lang"], s["pool"]): s for s in result.record["results"]["tiny-paragraph"]["settings"]}
    # xx -> yy: pool {Paris (score 2), Berlin (1)}; Madrid (3) is outside the pair corpus.
    # a and b+c find Paris at rank 1, d finds Berlin at rank 2: nDCG@10 = (1 + 1 + 1/log2 3) / 3.
    cross = settings[("xx", "yy")]
    assert cross["n_queries"] == 3
    assert cross["metrics"]["ndcg@10"] == pytest.approx((2 + 1 / np.log2(3)) / 3)
    # yy -> yy searches all three paragraphs: Madrid ranks first, so d's Berlin comes third
    mono = dict(
        zip(settings[("yy", "yy")]["per_query"]["qid"], settings[("yy", "yy")]["per_query"]["ndcg@10"], strict=True)
    )
    assert mono == pytest.approx({"a": 1 / np.log2(3), "b": 1 / np.log2(3), "d": 0.5, "f": 1.0})
    # the multilingual pool has every paragraph; b+c has three relevant ones there (two in xx, one in yy)
    outcome = next(o for o in result.outcomes["tiny-paragraph"] if o.setting.key == "tiny-paragraph:xx->all")
    assert outcome.qrels["b+c"] == {"xx-p00000": 1, "xx-p00001": 1, "yy-p00000": 1}
    assert outcome.top.shape == (4, 5)
    cross_outcome = next(o for o in result.outcomes["tiny-paragraph"] if o.setting.key == "tiny-paragraph:xx->yy")
    assert cross_outcome.top[0].tolist()[:2] == ["yy-p00000", "yy-p00001"]  # Madrid never retrieved


def test_wrong_published_counts_and_missing_source_are_refused(tiny):
    task_file, mirror = tiny
    text = task_file.read_text()
    task_file.write_text(text + "[counts.yy]\nxx = { queries = 3, documents = 3, characters = 1 }\n")
    with pytest.raises(XlirError, match=r"questions xx -> paragraphs yy: built .*'documents': 2"):
        load_task(load_spec(task_file), ("xx", "yy"), resolve_source(mirror))
    task_file.write_text(text.replace('"tiny-r"', '"nope-r"'))
    with pytest.raises(XlirError, match="source_task 'nope-r'"):
        load_spec(task_file)


# Published by MTEB (mteb/descriptive_stats/Retrieval/*.json, validation split), typed in here by hand.
XQUAD_QUERIES = {"ar": 1186, "de": 1181, "el": 1184, "en": 1185, "es": 1184, "hi": 1183, "ru": 1185, "th": 1180}
XQUAD_QUERIES |= {"tr": 1184, "vi": 1182, "zh": 1181}
# (paragraph language, question language): (queries, documents); MTEB's subset names put the corpus first
MLQA = {("zh", "zh"): (504, 443), ("zh", "ar"): (188, 161), ("en", "en"): (1148, 978), ("ar", "de"): (207, 170)}
MLQA |= {("de", "ar"): (207, 179), ("hi", "vi"): (177, 157), ("vi", "en"): (511, 451)}


def test_xquad_paragraph_has_mteb_sizes(data_dir):
    spec = get_spec("xquad-paragraph")
    task = load_task(spec, spec.languages, resolve_source(data_dir))
    for lang, queries in XQUAD_QUERIES.items():
        assert setting_sizes(task.data, lang, lang)["queries"] == queries
        assert len(task.data[lang].candidates) == 240 and task.data[lang].pool_for == {}
    # characters pin the stripping down: the unstripped English texts are longer than MTEB's
    assert setting_sizes(task.data, "en", "en")["characters"] == 260942
    unstripped = load_task(load_spec_with(spec, strip=False), ("en",), resolve_source(data_dir))
    assert setting_sizes(unstripped.data, "en", "en")["characters"] != 260942


def test_mlqa_paragraph_has_mteb_sizes(data_dir):
    spec = get_spec("mlqa-paragraph")
    assert sum(len(by_q) for by_q in spec.counts.values()) == 49
    task = load_task(spec, spec.languages, resolve_source(data_dir))
    for (context_lang, query_lang), (queries, documents) in MLQA.items():
        sizes = setting_sizes(task.data, context_lang, query_lang)
        assert (sizes["queries"], sizes["documents"]) == (queries, documents), (context_lang, query_lang)
    assert setting_sizes(task.data, "zh", "zh")["characters"] == 117026


def load_spec_with(spec, **options):
    """The spec with changed options and no published counts (so it loads whatever it builds)."""
    from dataclasses import replace

    return replace(spec, options={**spec.options, **options}, counts={})
