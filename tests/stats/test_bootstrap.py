"""Question-resampling bootstrap for family macros, against scipy.stats.bootstrap and a plain loop over the same draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from xlir_bench.measures import nan_mean
from xlir_bench.stats import bootstrap
from xlir_bench.stats.bootstrap import macro_interval, paired_difference_interval

QIDS = [f"q{i:03d}" for i in range(40)]  # sorted: the union's order is this order


def random_settings(seed: int, n_settings: int = 4) -> list[tuple[list[str], np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(QIDS, rng.random(len(QIDS)) * (s + 1)) for s in range(n_settings)]


def test_seeded_runs_are_identical_and_seeds_differ():
    settings = random_settings(1)
    assert macro_interval(settings, 200, seed=3) == macro_interval(settings, 200, seed=3)
    assert macro_interval(settings, 200, seed=3) != macro_interval(settings, 200, seed=4)


def test_one_setting_equals_scipy_percentile_bootstrap():
    values = random_settings(2, 1)[0][1]
    got = macro_interval([(QIDS, values)], 500, seed=7)
    ref = stats.bootstrap(
        (values,), lambda x, axis: x.mean(axis=axis), n_resamples=500, vectorized=True,
        method="percentile", rng=np.random.default_rng(7),
    )  # fmt: skip
    assert got.estimate == pytest.approx(values.mean())
    assert (got.low, got.high) == pytest.approx(tuple(ref.confidence_interval), rel=1e-12)


def test_paired_settings_equal_scipy_paired_bootstrap_of_the_macro():
    settings = random_settings(3, 5)

    def macro(*samples, axis):
        return np.mean([sample.mean(axis=axis) for sample in samples], axis=0)

    ref = stats.bootstrap(
        tuple(values for _, values in settings), macro, n_resamples=400, vectorized=True, paired=True,
        method="percentile", rng=np.random.default_rng(11),
    )  # fmt: skip
    got = macro_interval(settings, 400, seed=11)
    assert (got.low, got.high) == pytest.approx(tuple(ref.confidence_interval), rel=1e-12)


def ragged_settings() -> list[tuple[list[str], np.ndarray]]:
    """Questions missing from some settings, NaN values, and a one-question setting often left out of a resample."""
    rng = np.random.default_rng(21)
    out = []
    for _ in range(4):
        keep = sorted(rng.choice(len(QIDS), size=30, replace=False))
        values = rng.random(30)
        values[rng.choice(30, size=4, replace=False)] = np.nan
        out.append(([QIDS[i] for i in keep][::-1], values[::-1]))  # order within a setting does not matter
    out.append((["q017"], np.array([5.0])))
    out.append((["q001", "q002"], np.array([np.nan, np.nan])))  # never defined
    return out


def loop_macros(settings, draws, universe):
    """Second implementation: per resample, rebuild each setting's drawn values with multiplicity."""
    macros = []
    for row in draws:
        drawn = [universe[i] for i in row]
        means = []
        for qids, values in settings:
            lookup = dict(zip(qids, values, strict=True))
            picked = [lookup[q] for q in drawn if q in lookup and not math.isnan(lookup[q])]
            if picked:
                means.append(sum(picked) / len(picked))
        macros.append(sum(means) / len(means) if means else math.nan)
    return np.array(macros)


def test_missing_questions_nan_values_and_empty_settings_equal_a_plain_loop():
    settings = ragged_settings()
    universe = sorted({q for qids, _ in settings for q in qids})
    draws = np.random.default_rng(5).integers(0, len(universe), size=(300, len(universe)))
    macros = loop_macros(settings, draws, universe)
    lone = universe.index("q017")
    assert 0 < np.sum(~(draws == lone).any(axis=1))  # some resamples leave the one-question setting empty
    got = macro_interval(settings, 300, seed=5)
    low, high = np.quantile(macros, [0.025, 0.975])
    assert (got.low, got.high) == pytest.approx((low, high), rel=1e-12)
    # The point estimate is the record's macro: the mean of the settings' NaN-skipping means.
    assert got.estimate == pytest.approx(nan_mean(nan_mean(values) for _, values in settings))


def test_paired_difference_equals_a_plain_loop_over_shared_draws():
    a, b = ragged_settings(), random_settings(8, 3)
    universe = sorted({q for qids, _ in a + b for q in qids})
    draws = np.random.default_rng(9).integers(0, len(universe), size=(250, len(universe)))
    difference = loop_macros(a, draws, universe) - loop_macros(b, draws, universe)
    got = paired_difference_interval(a, b, 250, seed=9)
    assert got.estimate == pytest.approx(macro_interval(a, 0).estimate - macro_interval(b, 0).estimate)
    assert (got.low, got.high) == pytest.approx(tuple(np.quantile(difference, [0.025, 0.975])), rel=1e-12)
    assert got.low < got.estimate < got.high


def test_no_resamples_means_no_interval():
    got = macro_interval(random_settings(4), 0)
    assert not math.isnan(got.estimate) and math.isnan(got.low) and math.isnan(got.high)


def test_chunked_draws_give_the_same_interval(monkeypatch):
    settings = ragged_settings()
    whole = macro_interval(settings, 300, seed=2)
    monkeypatch.setattr(bootstrap, "_CHUNK_CELLS", 7 * len(QIDS))  # 7 resamples per chunk
    assert macro_interval(settings, 300, seed=2) == whole


def test_interval_narrows_with_more_questions():
    rng = np.random.default_rng(0)
    few = [([f"q{i}" for i in range(20)], rng.random(20))]
    many = [([f"q{i}" for i in range(2000)], rng.random(2000))]
    width = [(i.high - i.low) for i in (macro_interval(few, 500), macro_interval(many, 500))]
    assert width[1] < width[0] / 5  # sqrt(100) = 10 times narrower in expectation


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="repeat"):
        macro_interval([(["q1", "q1"], np.array([1.0, 2.0]))])
    with pytest.raises(ValueError, match="values"):
        macro_interval([(["q1", "q2"], np.array([1.0]))])
