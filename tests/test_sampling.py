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
