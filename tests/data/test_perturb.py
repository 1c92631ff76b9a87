"""Perturbations on fixed inputs: exact outputs, cluster-correct for Arabic, Devanagari, Thai and Chinese."""

from __future__ import annotations

import unicodedata

import pytest

import xlir_bench
from xlir_bench.data.perturb import Perturbation, QueryContext, apply, clusters, parse_perturbation

CTX = QueryContext("q1", "xx", {})


def run(spec, text, context=CTX, seed=0):
    return apply(parse_perturbation(spec), text, context, seed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tiếng Việt có dấu", "Tieng Viet co dau"),
        ("مُحَمَّد رَسُول", "محمد رسول"),
        ("Ελληνικά café naïve", "Ελληνικα cafe naive"),
        ("हिन्दी भाषा", "हिन्दी भाषा"),  # matras are vowels, not accents
        ("ทีมรับ", "ทีมรับ"),  # Thai vowels and tone marks stay
        ("中文字", "中文字"),
    ],
)
def test_diacritics(text, expected):
    assert run("diacritics", text) == expected


def test_insert_doubles_whole_clusters():
    assert clusters("ทีมรับ") == ["ที", "ม", "รั", "บ"]
    assert run("insert:1", "ทีมรับ") == "ทีทีมมรัรับบ"
    assert run("insert:1", "हिन्दी") == "हिहिन्न्दीदी"
    assert run("insert:1", "مُحَمَّد") == "مُمُحَحَمَّمَّدد"
    assert run("insert:1", "中文 字") == "中中文文 字字"


def test_swap_and_delete_by_cluster():
    assert run("swap:1", "ทีมรับ") == "มทีบรั"
    assert run("swap:1", "abcd ef") == "badc fe"
    assert run("delete:1", "हिन्दी भाषा") == " "
    assert run("typo:0", "हिन्दी भाषा") == "हिन्दी भाषा"


def test_case_and_punctuation():
    assert run("case:1", "Hello World") == "hELLO wORLD"
    assert run("punct:1", "中文字的冠军是谁？") == "中文字的冠军是谁"
    assert run("punct:1", "क्या यह सच है।") == "क्या यह सच है"
    assert run("punct:1", "هل هذا صحيح؟") == "هل هذا صحيح"


def test_codeswitch_takes_words_at_the_same_relative_position():
    context = QueryContext("q1", "de", {"en": "how many points did they score"})
    assert run("codeswitch:1", "wie viele Punkte", context) == "how points they"
    assert run("codeswitch:1", "wie viele", QueryContext("q1", "de", {})) == "wie viele"  # no parallel question
    zh = run("codeswitch:1", "中文字", QueryContext("q1", "zh", {"en": "a b c"}))
    assert zh == "a b c"


def test_seeded_per_query_and_cluster_safe():
    texts = {
        "hi": "भारत की राजधानी क्या है और वहाँ कितने लोग रहते हैं",
        "th": "ทีมรับของแพนเธอร์สถอดใจที่คะแนน",
        "ar": "مُحَمَّد رَسُول اللَّه كم عدد النقاط",
        "zh": "中文字的冠军是谁在一九九零年",
    }
    for lang, text in texts.items():
        context = QueryContext("56beb4343aeaaa14008c925b", lang, {})
        once = run("typo:0.3", text, context, seed=1)
        assert once == run("typo:0.3", text, context, seed=1)
        assert once != run("typo:0.3", text, QueryContext("another", lang, {}), seed=1) or once != run(
            "typo:0.3", text, context, seed=2
        )
        for i, char in enumerate(once):  # no combining mark left without its letter
            if unicodedata.category(char).startswith("M"):
                assert i > 0 and not once[i - 1].isspace(), (lang, once)


def test_dialect_is_the_documented_composition():
    context = QueryContext("q7", "vi", {"en": "How many points did the Panthers defense surrender?"})
    text = "Đội thủ Panthers đã thua bao nhiêu điểm?"
    steps = [
        Perturbation("diacritics", 1.0),
        Perturbation("case", 0.1),
        Perturbation("punct", 0.5),
        Perturbation("typo", 0.03),
        Perturbation("codeswitch", 0.1),
    ]
    expected = text
    for step in steps:
        expected = apply(step, expected, context, 3)
    assert run("dialect", text, context, seed=3) == expected
    assert "ê" not in expected and "ể" not in expected


def test_bad_specs():
    for bad, match in [("slang", "unknown perturbation"), ("typo:x", "not a number"), ("typo:2", "between 0 and 1")]:
        with pytest.raises(xlir_bench.XlirError, match=match):
            parse_perturbation(bad)


def test_perturbed_run_records_spec_examples_and_robustness(data_dir):
    result = xlir_bench.evaluate(
        "bm25", tasks=["xquad-r"], langs=["en", "vi"], data_dir=str(data_dir), perturb=["diacritics"], progress=False
    )
    record = result.record
    assert record["perturbation"]["spec"] == ["diacritics:1"]
    example = record["perturbation"]["examples"]["xquad-r"]["vi"][0]
    assert example["perturbed"] == run("diacritics", example["clean"])
    robustness = record["robustness"]["xquad-r"]
    clean, perturbed = (
        record["clean"]["xquad-r"]["macro"]["mono"]["map"],
        record["results"]["xquad-r"]["macro"]["mono"]["map"],
    )
    assert robustness["macro"]["mono"]["map"] == pytest.approx(perturbed / clean)
    assert robustness["by_query_lang"]["en"]["mono"]["map"] == pytest.approx(
        1.0, abs=1e-3
    )  # few English accents (names)
    assert robustness["by_query_lang"]["vi"]["mono"]["map"] < 0.8  # BM25 loses Vietnamese without tone marks
    assert record["encode_calls"]["xquad-r"]["vi"]["queries"] == 2
