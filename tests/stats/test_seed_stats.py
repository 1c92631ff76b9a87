"""Seed-level tests, against hand computations on 3 + 3 fake seeds."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from xlir_bench.stats.seed_stats import detectable, one_sample, permutation, t_interval, welch

A = [0.50, 0.52, 0.54]  # mean 0.52, var 0.0004
B = [0.49, 0.50, 0.51]  # mean 0.50, var 0.0001


def test_t_interval_by_hand():
    # sd = 0.02, se = 0.02/sqrt(3), t_{0.975, 2} = 4.302653
    got = t_interval(A)
    assert got.mean == pytest.approx(0.52) and got.sd == pytest.approx(0.02)
    assert got.high - got.mean == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-6)


def test_welch_by_hand():
    # se^2 = 0.0004/3 + 0.0001/3 = 0.000166667; df = se^4 / ((0.0004/3)^2/2 + (0.0001/3)^2/2) = 2.9412
    test = welch(A, B)
    se = math.sqrt(0.0005 / 3)
    df = (0.0005 / 3) ** 2 / ((0.0004 / 3) ** 2 / 2 + (0.0001 / 3) ** 2 / 2)
    assert test.se == pytest.approx(se) and test.df == pytest.approx(df) and df == pytest.approx(2.941176, rel=1e-5)
    assert test.p == pytest.approx(stats.t.sf(0.02 / se, df))
    # scipy's own Welch test (two-sided) halves to ours
    assert test.p == pytest.approx(stats.ttest_ind(A, B, equal_var=False).pvalue / 2)
    # non-inferiority at margin 0.005: t = (0.02 + 0.005) / se
    assert welch(A, B, shift=-0.005).p == pytest.approx(stats.t.sf(0.025 / se, df))
    assert welch(B, A, greater=False).p == pytest.approx(test.p)  # B < A is the same evidence


def test_permutation_exact_by_hand():
    # 6 seeds, C(6,3) = 20 relabellings; a relabelling's mean difference is (2S - 3.06)/3 for the sum S
    # of the three labelled A, so "difference >= 0.02" is "S >= 1.56": {.51,.52,.54} = 1.57 and
    # {.50,.52,.54} twice (two 0.50s) = 1.56; 3 of 20.
    assert permutation(A, B) == pytest.approx(3 / 20)
    assert permutation(A, B, greater=False) == pytest.approx(19 / 20)  # sums <= 1.56: all but {.51,.52,.54}


def test_one_sample_and_detectable_by_hand():
    test = one_sample(A, 0.50)
    se = 0.02 / math.sqrt(3)
    assert test.p == pytest.approx(stats.t.sf(0.02 / se, 2))
    assert detectable(se, 2) == pytest.approx((stats.t.ppf(0.95, 2) + stats.t.ppf(0.8, 2)) * se)
    assert math.isnan(welch([1.0, 1.0], [1.0, 1.0]).p)  # no spread: no p, not p = 0
