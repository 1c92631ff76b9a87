"""The XTREME-R protocol: AP@k with divisor min(R, k), against hand values and XTREME-R's own code (verbatim copy)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from xlir_bench.data.lareqa import LanguageData
from xlir_bench.data.xtreme import build_pool, candidate_texts, map_at_k
from xlir_bench.measures._ranks import pad_ranks
from xlir_bench.measures.ap_at_k import average_precision_at_k

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import xtreme_utils_lareqa as xtreme  # noqa: E402 - XTREME-R's code, verbatim


def test_ap_at_k_by_hand():
    # answers at ranks 1, 3 and 30 with k = 20: (1/1 + 2/3) / min(3, 20); ranks 2, 25: (1/2) / 2
    ranks = pad_ranks([[1, 3, 30], [25, 2], []])
    assert average_precision_at_k(ranks, 20).tolist() == pytest.approx([(1 + 2 / 3) / 3, 0.5 / 2, 0.0])
    # 25 answers, all in the top 25: divisor min(25, 20) = 20, the 20 within the cut count 1 each
    assert average_precision_at_k(pad_ranks([list(range(1, 26))]), 20)[0] == pytest.approx(1.0)


def test_ap_at_k_equals_xtreme_code_on_random_rankings():
    rng = np.random.default_rng(0)
    for _ in range(200):
        pool = int(rng.integers(5, 60))
        targets = rng.choice(pool, size=int(rng.integers(1, min(pool, 25))), replace=False)
        scores = rng.standard_normal(pool)
        order = scores.argsort()[::-1]
        theirs = xtreme.average_precision_at_k(targets, order, 20)
        ranks = [int(np.where(order == t)[0][0]) + 1 for t in targets]
        assert math.isclose(average_precision_at_k(pad_ranks([ranks]), 20)[0], theirs, abs_tol=1e-12)
        ours = map_at_k(scores[None, :], [np.sort(targets)], 20)[0]
        assert math.isclose(ours, theirs, abs_tol=1e-12)


def test_candidate_text_and_pool():
    data = {
        lang: LanguageData(
            lang=lang,
            question_ids=["q1"],
            questions=[f"Q {lang}?"],
            candidate_ids=[f"{lang}-0", f"{lang}-1"],
            candidates=[f"A {lang}.", f"B {lang}."],
            qrels={"q1": {1: 1}},
            paragraph_of=[0, 0],
            paragraphs=[f"A {lang}.\nB {lang}."],
        )
        for lang in ("en", "de")
    }
    assert candidate_texts(data["en"]) == ["A en.A en.B en.", "B en.A en.B en."]  # sentence + paragraph, no newline
    pool = build_pool(data)
    assert pool.question_ids == ["q1_de", "q1_en"]  # XTREME-R's uid: xling id _ language
    assert [r.tolist() for r in pool.relevant] == [[1, 3], [1, 3]]  # the answer in every language


def test_candidate_sentence_is_cut_at_the_breaks_like_xtreme():
    # XTREME-R cuts context[start:end] at sentence_breaks; where those offsets and the file's sentences disagree
    # (one XQuAD-R tr paragraph), its candidate text follows the offsets
    data = LanguageData(
        lang="tr",
        question_ids=["q1"],
        questions=["Q?"],
        candidate_ids=["tr-0", "tr-1"],
        candidates=["Ab.", "Cd."],
        qrels={"q1": {1: 1}},
        paragraph_of=[0, 0],
        paragraphs=["Ab. Cd."],
        spans=[(0, 2), (2, 7)],
    )
    assert candidate_texts(data) == ["AbAb. Cd.", ". Cd.Ab. Cd."]


@pytest.mark.realdata
def test_xquad_r_offsets_and_sentences_disagree_in_two_turkish_sentences(data_dir):
    from xlir_bench.data.lareqa import load_lareqa
    from xlir_bench.data.xtreme import xtreme_sentences

    for lang, differing in (("tr", 2), ("en", 0), ("zh", 0)):
        data = load_lareqa(data_dir / "xquad-r" / f"{lang}.json", lang)
        cut = xtreme_sentences(data)
        where = [i for i, (a, b) in enumerate(zip(cut, data.candidates, strict=True)) if a != b]
        assert len(where) == differing, lang
        assert len({data.paragraph_of[i] for i in where}) == min(differing, 1), lang


@pytest.mark.heavy
def test_benchmark_agrees_with_xtreme_code_on_real_data(data_dir, capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("xtreme_r_check", BENCH / "xtreme_r_check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    monkeypatch.setattr(sys, "argv", ["xtreme_r_check.py", "--data-dir", str(data_dir), "--langs", "en,de"])
    check.main()
    out = capsys.readouterr().out
    # the numbers docs/guide/xtreme-r.md quotes
    assert "mAP@20: xlir-bench 0.269749   XTREME-R code 0.269749   largest per-question gap 0.00e+00" in out
    assert "questions 2380, candidates 2456" in out
