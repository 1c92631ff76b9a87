"""Seed-level comparison of two configurations: the training run is the unit, questions come in clusters.

A configuration trained with several seeds gives one record per seed; its score
on a question set is a mean over questions. Comparing two configurations asks
whether *another* training run of each would keep the order, so the
between-seed spread, not only the question sample, bounds what the data say.

Input: for each side a matrix ``values`` (seeds x questions) of per-question
values on a *shared* question list (NaN: undefined, skipped), whose seed score
is the mean over its defined questions; ``codes`` the cluster (article) index of
each question, or None for independent questions. :func:`compare_seeds` gives

* ``estimate``: mean over candidate seeds minus mean over baseline seeds of the
  seed scores;
* ``boot_low``/``boot_high``: percentile interval of a two-stage bootstrap
  (Davison & Hinkley 1997, Sec. 3.8): each resample draws each side's seeds
  with replacement, then the clusters (one draw for both sides: the questions
  are the same), and recomputes the estimate;
* ``low``/``high``: the interval that goes with the test: with seeds as the
  unit, estimate +- t_{(1+confidence)/2, df} x SE of the t-test below; with one
  record per side, the two-stage (there: cluster) bootstrap interval. With 2 or
  3 seeds a percentile bootstrap over seeds is too narrow to report alone (it
  sees no more spread than the seeds show, and with 2 seeds half its resamples
  repeat one seed), so the t interval is the one shown and gated on;
* ``p``: with at least 2 seeds on a side, a two-sample t-test whose unit is the
  training run: Welch's when both sides have >= 2 seeds, else a t-test with the
  spread of the side that has them (df = its seeds - 1). With one record per
  side the unit falls back to the cluster: a sign-flip randomization test on
  the per-cluster sums of the paired differences (:mod:`xlir_bench.significance`);
* ``mdd``: the minimal detectable difference at 80 % power and two-sided
  ``alpha``, (q_{1-alpha/2} + q_{0.8}) x SE, with t quantiles at the test's df
  (normal quantiles for the cluster test), and ``needed``: how many seeds per
  side (or clusters) would bring the MDD down to |estimate|, scaling SE by
  1/sqrt(n) with normal quantiles. A sign-flip test over k clusters cannot give
  p below 2 / 2^k, so with fewer than :func:`smallest_clusters` (6 at alpha 0.05)
  the MDD is infinite: no effect is detectable (a sample of 4 articles cannot fail).

NaN p (and no verdict) when the spread is zero, e.g. two identical records.

    @book{davison1997bootstrap, title={Bootstrap Methods and their Application},
      author={Davison, A. C. and Hinkley, D. V.}, publisher={Cambridge
      University Press}, year={1997}}
    @article{welch1947generalization, title={The generalization of Student's
      problem when several different population variances are involved},
      author={Welch, Bernard L.}, journal={Biometrika}, volume={34},
      pages={28--35}, year={1947}}
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xlir_bench.stats.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, _percentiles, draw_counts
from xlir_bench.stats.significance import DEFAULT_PERMUTATIONS, cluster_sums, randomization_test

POWER = 0.8


@dataclass(frozen=True)
class SeedOptions:
    """Size and seed of the resampling, the test's alpha and the interval's confidence."""

    resamples: int = DEFAULT_RESAMPLES
    permutations: int = DEFAULT_PERMUTATIONS
    seed: int = DEFAULT_SEED
    alpha: float = 0.05
    confidence: float = DEFAULT_CONFIDENCE


@dataclass(frozen=True)
class SeedComparison:
    """Effect of candidate over baseline with its interval, test and power; see the module docstring."""

    estimate: float
    low: float
    high: float
    p: float
    mdd: float
    needed: float
    n_base: int
    n_cand: int
    spread_base: float  # between-seed standard deviation of the seed scores (NaN with one seed)
    spread_cand: float
    test: str  # "welch", "t (spread of one side)", "cluster randomization" or "question randomization"
    boot_low: float = float("nan")
    boot_high: float = float("nan")


def seed_scores(values: np.ndarray) -> np.ndarray:
    """Each seed's score: the mean of its defined per-question values (NaN when none is defined)."""
    a = np.atleast_2d(values)
    defined = ~np.isnan(a)
    return np.where(defined.any(axis=1), np.where(defined, a, 0.0).sum(axis=1) / np.maximum(defined.sum(axis=1), 1), np.nan)


def compare_seeds(base, cand, codes: np.ndarray | None = None, options: SeedOptions = SeedOptions()) -> SeedComparison:
    """Candidate minus baseline configuration with seeds (then clusters) as the units; see the module docstring."""
    a, b = np.atleast_2d(np.asarray(base, dtype=np.float64)), np.atleast_2d(np.asarray(cand, dtype=np.float64))
    if a.shape[1] != b.shape[1] or (codes is not None and len(codes) != a.shape[1]):
        raise ValueError(f"question lists differ: {a.shape[1]} vs {b.shape[1]} values, {None if codes is None else len(codes)} codes")
    sa, sb = seed_scores(a), seed_scores(b)
    estimate = float(sb.mean() - sa.mean())
    boot = _two_stage_interval(a, b, codes, options)
    spread = (_sd(sa), _sd(sb))
    if len(sa) == 1 and len(sb) == 1:
        p, mdd, needed, test = _cluster_test(a[0], b[0], codes, estimate, options)
        low, high = boot
    else:
        p, mdd, needed, test, low, high = _seed_test(sa, sb, estimate, options.alpha, options.confidence)
    return SeedComparison(estimate, low, high, p, mdd, needed, len(sa), len(sb), *spread, test, *boot)


def seed_interval(values, codes: np.ndarray | None = None, options: SeedOptions = SeedOptions()) -> tuple[float, float, float]:
    """(mean seed score, low, high) of one configuration: two-stage bootstrap over its seeds, then clusters."""
    a = np.atleast_2d(np.asarray(values, dtype=np.float64))
    estimate = float(seed_scores(a).mean())
    if options.resamples <= 0:
        return estimate, float("nan"), float("nan")
    rng = np.random.default_rng(options.seed)
    n_units = a.shape[1] if codes is None else int(np.max(codes)) + 1
    counts = draw_counts(rng, options.resamples, n_units)
    means = _weighted_means(counts if codes is None else counts[:, codes], a)
    drawn = draw_counts(rng, options.resamples, a.shape[0]) / a.shape[0]
    return (estimate, *_percentiles(np.nansum(means * drawn, axis=1), options.confidence))


def _sd(scores: np.ndarray) -> float:
    return float(np.std(scores, ddof=1)) if len(scores) > 1 else float("nan")


def _two_stage_interval(a: np.ndarray, b: np.ndarray, codes, options: SeedOptions) -> tuple[float, float]:
    """Percentile interval of the estimate over resamples of seeds (per side) and then clusters (shared)."""
    if options.resamples <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(options.seed)
    n_units = a.shape[1] if codes is None else int(np.max(codes)) + 1
    counts = draw_counts(rng, options.resamples, n_units)
    counts = counts if codes is None else counts[:, codes]
    means = [_weighted_means(counts, side) for side in (a, b)]  # (B, seeds) per side
    drawn = [draw_counts(rng, options.resamples, side.shape[0]) / side.shape[0] for side in (a, b)]
    diff = np.nansum(means[1] * drawn[1], axis=1) - np.nansum(means[0] * drawn[0], axis=1)
    return _percentiles(diff, options.confidence)


def _weighted_means(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(B, seeds): each seed's mean of its defined values, question q weighted by its count in resample b."""
    defined = ~np.isnan(values)
    sums, weights = counts @ np.where(defined, values, 0.0).T, counts @ defined.T.astype(np.float64)
    return np.where(weights > 0, sums / np.where(weights > 0, weights, 1.0), np.nan)


def _seed_test(sa: np.ndarray, sb: np.ndarray, estimate: float, alpha: float, confidence: float):
    """Two-sample t-test over training runs; (p, mdd, seeds per side needed, test name, low, high)."""
    from scipy import stats

    na, nb, va, vb = len(sa), len(sb), np.var(sa, ddof=1) if len(sa) > 1 else 0.0, np.var(sb, ddof=1) if len(sb) > 1 else 0.0
    if na > 1 and nb > 1:
        se2, test = va / na + vb / nb, "welch"
        df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1)) if se2 > 0 else float("nan")
    else:
        var, df = (va, na - 1) if na > 1 else (vb, nb - 1)
        se2, test = var * (1 / na + 1 / nb), "t (spread of one side)"
    if not se2 > 0:
        return float("nan"), float("nan"), float("nan"), test, float("nan"), float("nan")
    se = math.sqrt(se2)
    half = float(stats.t.ppf((1 + confidence) / 2, df) * se)
    p = float(2 * stats.t.sf(abs(estimate) / se, df))
    mdd = float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(POWER, df)) * se)
    pooled = se2 / (1 / na + 1 / nb)  # variance of one seed score; n seeds per side give SE^2 = 2 var / n
    needed = _needed(2 * pooled, estimate, alpha)
    return p, mdd, needed, test, estimate - half, estimate + half


def _cluster_test(a: np.ndarray, b: np.ndarray, codes, estimate: float, options: SeedOptions) -> tuple[float, float, float, str]:
    """One record per side: paired sign-flip test on per-cluster sums of the differences' contributions."""
    from scipy import stats

    d = b - a
    n = np.count_nonzero(~np.isnan(d))
    sums = cluster_sums(d / max(n, 1), codes)  # sum over clusters = mean difference
    p = randomization_test(sums, options.permutations, options.seed)
    k = len(sums)
    se = float(np.std(sums, ddof=1) * math.sqrt(k)) if k > 1 else float("nan")
    z = stats.norm.ppf(1 - options.alpha / 2) + stats.norm.ppf(POWER)
    mdd = z * se if se > 0 else float("nan")
    needed = k * (mdd / abs(estimate)) ** 2 if estimate and se > 0 else float("inf")
    floor_k = smallest_clusters(options.alpha)
    if k < floor_k:  # 2 / 2^k >= alpha: no sign-flip test over k clusters can reject, whatever the effect
        mdd, needed = float("inf"), max(needed, floor_k) if needed == needed else float(floor_k)
    return p, mdd, needed, "cluster randomization" if codes is not None else "question randomization"


def smallest_clusters(alpha: float) -> int:
    """The fewest clusters whose two-sided sign-flip test can reach p < alpha: the smallest p is 2 / 2^k."""
    k = 1
    while 2.0 / 2**k >= alpha:
        k += 1
    return k


def _needed(unit_variance: float, estimate: float, alpha: float) -> float:
    """Units per side for 80 % power at |estimate| when SE^2 = unit_variance / n (normal quantiles)."""
    from scipy import stats

    if not estimate:
        return float("inf")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER)
    return float(unit_variance * (z / estimate) ** 2)
