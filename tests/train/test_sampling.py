"""Sampler properties of mono / cross / hybrid batching on generated pairs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from xlir_bench.train.sampling import PairInfo, plan_batches

LANGS = ("ar", "de", "en", "es")


def generated_pairs(n_ids=300, seed=0):
    """Every id exists in a random subset (>= 2) of the languages; all (X, Y) pairs among them, as MLQA-R."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n_ids):
        langs = [lang for lang in LANGS if rng.random() < 0.7] or ["en", "de"]
        langs = langs if len(langs) > 1 else [*langs, "en" if langs[0] != "en" else "de"]
        pairs += [PairInfo(f"q{i}", x, y) for x, y in itertools.product(langs, repeat=2)]
    return pairs


PAIRS = generated_pairs()


@pytest.mark.parametrize("strategy", ["mono", "cross", "hybrid"])
def test_batches_are_homogeneous_and_free_of_repeated_ids(strategy):
    batches = plan_batches(PAIRS, 16, strategy, seed=1)
    assert batches
    for batch in batches:
        infos = [PAIRS[i] for i in batch]
        assert len(batch) == 16
        assert len({(p.query_lang, p.passage_lang) for p in infos}) == 1
        assert len({p.id for p in infos}) == len(batch)
        if strategy == "mono":
            assert infos[0].is_mono
        if strategy == "cross":
            assert not infos[0].is_mono


def test_mono_and_cross_cover_their_pool_once_per_epoch():
    mono = plan_batches(PAIRS, 8, "mono", seed=3, drop_last=False)
    used = sorted(i for batch in mono for i in batch)
    assert len(used) == len(set(used))
    assert len(used) >= sum(p.is_mono for p in PAIRS) - len(LANGS)  # only singleton leftovers can be dropped


def test_hybrid_ratio_converges_to_pool_proportion():
    share = sum(p.is_mono for p in PAIRS) / len(PAIRS)
    kinds = [PAIRS[batch[0]].is_mono for epoch in range(20) for batch in plan_batches(PAIRS, 16, "hybrid", 7, epoch)]
    assert abs(np.mean(kinds) - share) < 0.02
    fixed = [PAIRS[b[0]].is_mono for e in range(20) for b in plan_batches(PAIRS, 16, "hybrid", 7, e, mono_ratio=0.5)]
    assert abs(np.mean(fixed) - 0.5) < 0.03


def test_seeded_and_reproducible():
    assert plan_batches(PAIRS, 16, "hybrid", seed=5) == plan_batches(PAIRS, 16, "hybrid", seed=5)
    assert plan_batches(PAIRS, 16, "hybrid", seed=5) != plan_batches(PAIRS, 16, "hybrid", seed=6)
    assert plan_batches(PAIRS, 16, "hybrid", seed=5, epoch=0) != plan_batches(PAIRS, 16, "hybrid", seed=5, epoch=1)


def test_duplicate_ids_in_one_group_are_split_across_batches():
    pairs = [PairInfo("same", "en", "en")] * 3 + [PairInfo(f"q{i}", "en", "en") for i in range(5)]
    for batch in plan_batches(pairs, 4, "mono", seed=0, drop_last=False):
        ids = [pairs[i].id for i in batch]
        assert len(ids) == len(set(ids))


# ---- the mixed strategy, on fixtures small enough to check by hand

HAND = [  # ids q0..q3, each asked in two languages: 4 mono and 4 cross pairs per language pair set
    PairInfo("q0", "en", "en"), PairInfo("q0", "de", "de"), PairInfo("q0", "en", "de"), PairInfo("q0", "de", "en"),
    PairInfo("q1", "en", "en"), PairInfo("q1", "es", "es"), PairInfo("q1", "en", "es"), PairInfo("q1", "es", "en"),
    PairInfo("q2", "de", "de"), PairInfo("q2", "es", "es"), PairInfo("q2", "de", "es"), PairInfo("q2", "es", "de"),
    PairInfo("q3", "en", "en"), PairInfo("q3", "ar", "ar"), PairInfo("q3", "en", "ar"), PairInfo("q3", "ar", "en"),
]


def test_mixed_batches_hold_one_pair_per_id_so_a_batch_of_4_takes_one_pair_of_each_question():
    # 4 ids with 4 pairs each: a repeated id waits, so every full batch of 4 holds q0..q3 once, and
    # all 16 pairs fit in exactly 4 batches (a pair waits only while its id is taken).
    batches = plan_batches(HAND, 4, "mixed", seed=0, drop_last=False)
    assert sorted(i for b in batches for i in b) == list(range(16))
    for batch in batches:
        assert sorted(HAND[i].id for i in batch) == ["q0", "q1", "q2", "q3"]


def test_mixed_batches_are_heterogeneous_and_cover_the_epoch():
    batches = plan_batches(PAIRS, 16, "mixed", seed=2, drop_last=False)
    used = [i for batch in batches for i in batch]
    assert len(used) == len(set(used))
    assert len(used) >= len(PAIRS) - 16  # only the ragged tail can be dropped
    kinds = [len({(PAIRS[i].query_lang, PAIRS[i].passage_lang) for i in batch}) for batch in batches if len(batch) == 16]
    assert np.mean(kinds) > 5  # 16 pairs from 16 language pairs: far from the 1 of a homogeneous batch
    assert all(len({PAIRS[i].id for i in batch}) == len(batch) for batch in batches)
    share = np.mean([PAIRS[i].is_mono for i in used])
    assert abs(share - sum(p.is_mono for p in PAIRS) / len(PAIRS)) < 0.01  # mono share as in the pool


def test_hybrid_draws_mono_with_probability_n_mono_over_n_total_by_default():
    # 30 en->en pairs and 10 en->de pairs: P(mono) = 30/40 = 0.75 (the paper's "by dataset size").
    pairs = [PairInfo(f"m{i}", "en", "en") for i in range(30)] + [PairInfo(f"c{i}", "en", "de") for i in range(10)]
    kinds = [pairs[b[0]].is_mono for e in range(300) for b in plan_batches(pairs, 2, "hybrid", 11, e)]
    assert len(kinds) == 300 * 20  # 40 pairs // 2 per batch = 20 batches an epoch
    assert abs(np.mean(kinds) - 0.75) < 0.02  # 6000 draws: SE 0.0056
    fixed = [pairs[b[0]].is_mono for e in range(300) for b in plan_batches(pairs, 2, "hybrid", 11, e, mono_ratio=0.2)]
    assert abs(np.mean(fixed) - 0.2) < 0.02
