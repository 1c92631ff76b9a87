"""Language-bias measures on hand-computed pools, against pytrec_eval and slow references, and a synthetic encoder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytrec_eval
from scipy import stats

from xlir_bench.measures import average_precision, pad_ranks, rank_distance
from xlir_bench.measures.r_precision import r_precision
from xlir_bench.measures.rank_matrix import rank_by_language, summarize_rank_matrix
from xlir_bench.measures.same_lang_first import same_lang_first
from xlir_bench.measures.strong_alignment import strong_alignment
from xlir_bench.measures.translation_consistency import rbo, translation_consistency
from xlir_bench.search.index import top_k
from xlir_bench.search.scoring import NOT_RETRIEVED, exact_ranks


def pad_langs(rows: list[list[str]]) -> np.ndarray:
    width = max(len(row) for row in rows)
    return np.array([row + [""] * (width - len(row)) for row in rows], dtype=object)


# Query A: en answer at 1, de at 3, es at 7. Query B: de at 2, en at 5. Query C: no en answer.
RANKS = pad_ranks([[3, 1, 7], [5, 2], [4, 6]])
LANGS = pad_langs([["de", "en", "es"], ["en", "de"], ["de", "es"]])


def test_same_lang_first_by_hand():
    got = same_lang_first(RANKS, LANGS, "en")
    assert got[:2].tolist() == [1.0, 0.0] and math.isnan(got[2])
    # One query language per query; C asked in German: its German answer (rank 4) beats the Spanish one.
    assert same_lang_first(RANKS, LANGS, np.array(["es", "de", "de"])).tolist() == [0.0, 1.0, 1.0]


def test_same_lang_first_counts_a_tie_of_unretrieved_answers_as_zero():
    ranks = pad_ranks([[NOT_RETRIEVED, NOT_RETRIEVED]])
    assert same_lang_first(ranks, pad_langs([["en", "de"]]), "en").tolist() == [0.0]


def test_strong_alignment_by_hand():
    ranks = pad_ranks([[2, 1, 3], [1, 2, 4], [1], [2], []])
    got = strong_alignment(ranks)
    assert got[:4].tolist() == [1.0, 0.0, 1.0, 0.0] and math.isnan(got[4])
    # Strongly aligned exactly when AP = 1 (LAReQA's mAP rewards that event fully).
    assert np.array_equal(got[:4] == 1, np.isclose(average_precision(ranks[:4]), 1.0))


def test_r_precision_by_hand():
    got = r_precision(pad_ranks([[1, 3, 6], [4], [12, 2], [1, 2], []]))
    assert got[:4] == pytest.approx([2 / 3, 0.0, 1 / 2, 1.0]) and math.isnan(got[4])


def test_r_precision_and_strong_alignment_agree_with_pytrec_eval_on_tied_scores():
    rng = np.random.default_rng(11)
    n_queries, pool = 30, 60
    scores = (rng.integers(0, 8, size=(n_queries, pool)) / 4).astype(np.float32)  # many ties
    relevant = np.full((n_queries, 5), -1)
    for q in range(n_queries):
        r = rng.integers(1, 6)
        relevant[q, :r] = rng.choice(pool, size=r, replace=False)
        scores[q, relevant[q, :r]] += rng.integers(0, 2, size=r) * 1.5  # some relevant on top, some tied below
    ranks = exact_ranks(scores, relevant)
    docs = [f"d{p:04d}" for p in range(pool)]  # docnos sort like positions: trec_eval's tie rule is ours
    run = {f"q{q}": {docs[p]: float(scores[q, p]) for p in range(pool)} for q in range(n_queries)}
    qrels = {f"q{q}": {docs[p]: 1 for p in relevant[q] if p >= 0} for q in range(n_queries)}
    trec = pytrec_eval.RelevanceEvaluator(qrels, {"Rprec", "map"}).evaluate(run)
    expected = np.array([trec[f"q{q}"]["Rprec"] for q in range(n_queries)])
    np.testing.assert_allclose(r_precision(ranks), expected, atol=1e-12)
    assert 0 < np.mean(expected == 1) < 1  # the fixture holds both strongly aligned and other queries
    assert np.array_equal(strong_alignment(ranks) == 1, expected == 1)


def test_rank_by_language_and_summary_by_hand():
    langs = ["en", "de", "es"]
    per_query = rank_by_language(RANKS, LANGS, langs)
    expected = np.array([[1, 3, 7], [5, 2, np.nan], [np.nan, 4, 6]], dtype=float)
    np.testing.assert_array_equal(per_query, expected)
    summary = summarize_rank_matrix(per_query, langs)
    assert summary["en"] == {"mean": 3.0, "median": 3.0}
    assert summary["de"] == {"mean": 3.0, "median": 3.0}
    assert summary["es"] == {"mean": 6.5, "median": 6.5}
    assert summarize_rank_matrix(per_query[:, :1][[2]], ["en"]) == {"en": {"mean": None, "median": None}}


def test_rank_by_language_takes_the_best_of_two_answers_in_one_language():
    per_query = rank_by_language(pad_ranks([[9, 4, 6]]), pad_langs([["de", "de", "en"]]), ["de", "en"])
    assert per_query.tolist() == [[4.0, 6.0]]


def test_rbo_by_hand():
    # a = 1 2 3, b = 1 3 2, p = 0.5: overlaps X = 1, 1, 3 and agreements A = 1, 1/2, 1.
    truncated = 0.5 * (1 + 0.5 * 0.5 + 0.25 * 1)  # (1 - p) sum p^(d-1) A_d = 0.75
    assert rbo([1, 2, 3], [1, 3, 2], p=0.5, depth=3) == pytest.approx(truncated + 1 * 0.5**3)  # 0.875
    rbo_min = 1.0 * ((1 - 3) * 0.5 / 1 + (1 - 3) * 0.25 / 2 - 3 * math.log(0.5))  # Eq. 11, = 0.829442
    assert rbo([1, 2, 3], [1, 3, 2], p=0.5, depth=3, variant="min") == pytest.approx(rbo_min)
    assert rbo_min == pytest.approx(0.829442, abs=1e-6)
    assert rbo([5, 6, 7], [5, 6, 7], p=0.9, depth=3) == pytest.approx(1.0)
    assert rbo([1, 2, 3], [4, 5, 6], p=0.9, depth=3) == 0.0
    assert rbo([1, 2, 3], [4, 5, 6], p=0.9, depth=3, variant="min") == 0.0


def slow_rbo(a, b, p, depth, variant):
    """Second implementation: set intersections per depth, and the tail beyond ``depth`` summed as a series."""
    agreement = [len(set(a[:d]) & set(b[:d])) / d for d in range(1, depth + 1)]
    head = (1 - p) * sum(p ** (d - 1) * agreement[d - 1] for d in range(1, depth + 1))
    deeper = range(depth + 1, depth + 4000)
    if variant == "ext":  # the agreement stays at its depth-k value
        tail = (1 - p) * sum(p ** (d - 1) * agreement[-1] for d in deeper)
    else:  # no new shared items: the overlap stays X_k
        tail = (1 - p) * sum(p ** (d - 1) * agreement[-1] * depth / d for d in deeper)
    return head + tail


@pytest.mark.parametrize("variant", ["ext", "min"])
@pytest.mark.parametrize(("p", "depth"), [(0.9, 100), (0.5, 7), (0.98, 30)])
def test_rbo_equals_slow_reference_on_random_lists(variant, p, depth):
    rng = np.random.default_rng(depth)
    n = 12
    a = np.stack([rng.choice(depth * 2, size=depth, replace=False) for _ in range(n)])
    b = np.stack([rng.choice(depth * 2, size=depth, replace=False) for _ in range(n)])
    b[0] = a[0]  # identical
    b[1] = a[1][::-1]  # reversed
    got = rbo(a, b, p=p, depth=depth, variant=variant)
    expected = [slow_rbo(list(x), list(y), p, depth, variant) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    if variant == "ext":
        assert got[0] == pytest.approx(1.0)


def test_rbo_compares_only_the_first_depth_items_and_rejects_padding():
    a = np.array([[1, 2, 3, 9]])
    b = np.array([[1, 2, 3, 8]])
    assert rbo(a, b, p=0.9, depth=3)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        rbo(np.array([[1, -1]]), np.array([[1, 2]]), depth=2)
    with pytest.raises(ValueError):
        rbo(a, b, depth=5)


def test_translation_consistency_averages_over_the_other_languages_that_ask_the_question():
    tops = {
        "en": (["q1", "q2"], np.array([[1, 2, 3], [4, 5, 6]])),
        "de": (["q2", "q1"], np.array([[4, 5, 6], [1, 3, 2]])),
        "es": (["q1", "q3"], np.array([[7, 8, 9], [1, 2, 3]])),
    }
    got = translation_consistency(tops, p=0.5, depth=3)
    en_de_q1 = 0.875  # the by-hand pair above
    assert got["en"][0] == ["q1", "q2"]
    np.testing.assert_allclose(got["en"][1], [(en_de_q1 + 0.0) / 2, 1.0])
    np.testing.assert_allclose(got["de"][1], [1.0, (en_de_q1 + 0.0) / 2])
    q3 = got["es"][1][1]
    assert got["es"][1][0] == 0.0 and math.isnan(q3)  # q3 is asked in Spanish only


def test_peer_is_constant_when_each_language_holds_one_relevant_candidate():
    """Why PEER does not apply here: Kruskal-Wallis over singleton language groups ignores the ranks."""
    rng = np.random.default_rng(5)
    p_values = {stats.kruskal(*[[r] for r in rng.permutation(13_000)[:11] + 1]).pvalue for _ in range(20)}
    assert len({round(p, 12) for p in p_values}) == 1
    assert p_values.pop() == pytest.approx(stats.chi2.sf(10, 10))  # H = R - 1 whatever the ranks


# --- The synthetic check: a translation-invariant encoder, then one with a language vector ---

K_LANGS, N_ANSWERS = 3, 40
SYN_LANGS = ["l0", "l1", "l2"]


def synthetic_pool(language_weight: float):
    """Each answer's K translations share one vector e_n, plus ``language_weight`` times a per-language direction.

    Questions get the same vectors as their answers, so relevant scores are 1 (+ w^2 in the query's language).
    """
    dim = N_ANSWERS + K_LANGS
    vectors = np.zeros((K_LANGS, N_ANSWERS, dim), dtype=np.float32)
    for lang in range(K_LANGS):
        vectors[lang, np.arange(N_ANSWERS), np.arange(N_ANSWERS)] = 1.0
        vectors[lang, :, N_ANSWERS + lang] = language_weight
    pool = vectors.reshape(K_LANGS * N_ANSWERS, dim)  # language-major: position = lang * N + answer
    relevant = np.array([[lang * N_ANSWERS + n for lang in range(K_LANGS)] for n in range(N_ANSWERS)])
    rel_langs = np.array([SYN_LANGS] * N_ANSWERS, dtype=object)
    settings = {}
    for lang, code in enumerate(SYN_LANGS):
        scores = vectors[lang] @ pool.T
        settings[code] = (exact_ranks(scores, relevant), top_k(scores, 100))
    return settings, rel_langs


def test_translation_invariant_encoder_is_unbiased():
    settings, rel_langs = synthetic_pool(0.0)
    qids = [f"q{n}" for n in range(N_ANSWERS)]
    first = []
    for code, (ranks, _) in settings.items():
        # The K relevant answers tie; trec_eval's rule puts them at ranks 1..K, larger position first.
        assert np.array_equal(np.sort(ranks, axis=1), np.tile(np.arange(1.0, K_LANGS + 1), (N_ANSWERS, 1)))
        assert np.all(rank_distance(ranks) == K_LANGS - 1)
        assert np.all(strong_alignment(ranks) == 1) and np.all(r_precision(ranks) == 1)
        first.append(same_lang_first(ranks, rel_langs, code))
    # Only the language placed last in the pool wins the tie: 1/K over all queries, as for any agnostic model.
    assert np.mean(first) == pytest.approx(1 / K_LANGS)
    assert np.all(first[-1] == 1) and not np.any(np.concatenate(first[:-1]))
    consistency = translation_consistency({code: (qids, top) for code, (_, top) in settings.items()})
    for _, values in consistency.values():
        np.testing.assert_allclose(values, 1.0)


def test_language_vector_makes_the_encoder_prefer_its_own_language():
    weight = 1.5  # w^2 = 2.25 > 1: an irrelevant same-language answer outscores a relevant translation
    settings, rel_langs = synthetic_pool(weight)
    qids = [f"q{n}" for n in range(N_ANSWERS)]
    for code, (ranks, _) in settings.items():
        assert np.all(same_lang_first(ranks, rel_langs, code) == 1)
        # Own answer at 1, the N - 1 other same-language answers at 2..N, the K - 1 translations after them.
        assert np.all(rank_distance(ranks) == N_ANSWERS + K_LANGS - 2)
        assert np.all(strong_alignment(ranks) == 0)
        np.testing.assert_allclose(r_precision(ranks), 1 / K_LANGS)
        by_lang = summarize_rank_matrix(rank_by_language(ranks, rel_langs, SYN_LANGS), SYN_LANGS)
        assert by_lang[code]["mean"] == 1.0
        assert all(by_lang[other]["median"] > N_ANSWERS for other in SYN_LANGS if other != code)
    consistency = translation_consistency({code: (qids, top) for code, (_, top) in settings.items()})
    for _, values in consistency.values():
        # The first N items of each top list are in the query's language: no overlap before depth N.
        assert np.all(values <= 0.9**N_ANSWERS + 1e-12) and np.all(values > 0)
