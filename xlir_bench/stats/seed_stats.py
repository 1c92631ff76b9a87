"""Seed-level statistics for training studies: a training run (seed) is the unit.

Each arm of a study is trained with several seeds; its score on a task is one number per
seed. Arms are compared on those numbers only (questions of one run are not independent
replicates of the training). Everything here is plain and small:

* :func:`t_interval`     mean and Student-t interval over an arm's seeds;
* :func:`welch`          Welch's t for the difference of two arms' means (unequal variances,
  Welch-Satterthwaite degrees of freedom; Welch 1947, Biometrika 34:28-35), one-sided
  p for ``diff > shift`` — ``shift = -margin`` is the non-inferiority test;
* :func:`permutation`    the exact permutation test of the same one-sided hypothesis
  (all relabellings of the pooled seeds, after shifting one arm by the margin);
* :func:`one_sample`     a seed mean against a fixed value (the untrained base has no seeds);
* :func:`detectable`     the difference a Welch test at level ``alpha`` detects with 80 %
  power at this spread and number of seeds: (t_{1-alpha} + t_{power}) * se.

The article-clustered, two-stage machinery of the inference work (issue 24) should
replace these where it lands; the numbers a report quotes come from here today.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int
    sd: float


@dataclass(frozen=True)
class Test:
    diff: float  # mean(a) - mean(b)
    low: float  # two-sided (1 - 2 alpha) interval of the difference: the one-sided test's bound
    high: float
    p: float  # one-sided p of the stated direction
    df: float
    se: float


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    x = np.asarray(values, dtype=float)
    n, mean = len(x), float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n) if n > 1 else float("nan")
    return Interval(mean, mean - half, mean + half, n, sd)


def welch(
    a: Sequence[float], b: Sequence[float], shift: float = 0.0, alpha: float = 0.05, greater: bool = True
) -> Test:
    """H1: mean(a) - mean(b) > shift (``greater``) or < shift; one-sided p, (1-2 alpha) interval."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1)) if se > 0 else float("nan")
    diff = float(x.mean() - y.mean())
    if se == 0:
        return Test(diff, diff, diff, float("nan"), df, se)
    t = (diff - shift) / se if greater else (shift - diff) / se
    half = stats.t.ppf(1 - alpha, df) * se
    return Test(diff, diff - half, diff + half, float(stats.t.sf(t, df)), float(df), se)


def one_sample(a: Sequence[float], value: float, alpha: float = 0.05, greater: bool = True) -> Test:
    """H1: mean(a) > value (``greater``) or < value; Student t over the seeds."""
    x = np.asarray(a, dtype=float)
    se = float(x.std(ddof=1) / math.sqrt(len(x)))
    diff = float(x.mean() - value)
    if se == 0:
        return Test(diff, diff, diff, float("nan"), len(x) - 1, se)
    t = diff / se if greater else -diff / se
    half = stats.t.ppf(1 - alpha, len(x) - 1) * se
    return Test(diff, diff - half, diff + half, float(stats.t.sf(t, len(x) - 1)), len(x) - 1.0, se)


def permutation(a: Sequence[float], b: Sequence[float], shift: float = 0.0, greater: bool = True) -> float:
    """Exact one-sided permutation p of mean(a) - mean(b) > shift (or < shift) over all relabellings."""
    x = np.asarray(a, dtype=float) - shift
    pooled = np.concatenate([x, np.asarray(b, dtype=float)])
    observed = x.mean() - np.mean(b)
    sign = 1.0 if greater else -1.0
    hits = total = 0
    for chosen in itertools.combinations(range(len(pooled)), len(x)):
        mask = np.zeros(len(pooled), dtype=bool)
        mask[list(chosen)] = True
        stat = pooled[mask].mean() - pooled[~mask].mean()
        hits += sign * stat >= sign * observed - 1e-12
        total += 1
    return hits / total


def detectable(se: float, df: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true difference a one-sided test at ``alpha`` finds with ``power`` at this standard error."""
    if not se or not math.isfinite(df):
        return float("nan")
    return float((stats.t.ppf(1 - alpha, df) + stats.t.ppf(power, df)) * se)
