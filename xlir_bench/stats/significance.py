"""Paired significance tests over per-query scores, and Holm-Bonferroni correction.

All tests take the per-query *differences* d_q = candidate_q - baseline_q.

* Paired two-sided randomization (sign-flip) test: under H0 each d_q is as likely
  to be -d_q; p is the share of sign assignments whose |sum| is at least the
  observed |sum|. Exact enumeration when 2^n <= the permutation budget, else a
  seeded Monte Carlo estimate with the (count + 1) / (budget + 1) correction
  (Phipson and Smyth 2010). Smucker, Allan and Carterette (CIKM 2007) recommend
  it for IR evaluation.
* Paired t-test: one-sample t-test of d against 0 (identical to
  ``scipy.stats.ttest_rel(candidate, baseline)``); NaN when every difference is
  the same non-zero number (t is undefined: no spread to judge the shift by).
* Clusters: questions of one article are not independent, so with cluster ids
  both tests run on the per-cluster *sums* of the differences (a sign flip then
  flips a whole article, and the t-test's unit is the article); the sum over
  clusters is still the sum over questions.
* Holm-Bonferroni (Holm 1979): step-down adjusted p-values controlling the
  family-wise error rate across settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_PERMUTATIONS = 10_000
DEFAULT_SEED = 0
_CHUNK = 2_000


def _clean(differences) -> np.ndarray:
    d = np.asarray(differences, dtype=np.float64)
    return d[~np.isnan(d)]


def randomization_test(differences, n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = DEFAULT_SEED) -> float:
    """Two-sided paired sign-flip randomization test of mean(d) = 0."""
    d = _clean(differences)
    n = len(d)
    if n == 0 or not np.any(d):
        return 1.0
    observed = abs(d.sum())
    tolerance = 1e-9 * max(1.0, observed)  # sums of the same terms in another order differ in the last bits
    if n < 63 and 2**n <= n_permutations:
        codes = np.arange(2**n, dtype=np.int64)[:, None]
        signs = 1.0 - 2.0 * ((codes >> np.arange(n)) & 1)
        return float(np.mean(np.abs(signs @ d) >= observed - tolerance))
    rng = np.random.default_rng(seed)
    hits, done, total = 0, 0, d.sum()
    while done < n_permutations:
        size = min(_CHUNK, n_permutations - done)
        flips = rng.integers(0, 2, size=(size, n), dtype=np.int8)  # 1: the sign of d_q flips
        # sum of signs * d = sum(d) - 2 * (flipped part): no (size x n) matrix of signs to build
        hits += int(np.sum(np.abs(total - 2.0 * (flips.astype(np.float64) @ d)) >= observed - tolerance))
        done += size
    return (hits + 1) / (n_permutations + 1)


def paired_t_test(differences) -> float:
    """Two-sided paired t-test p-value; 1.0 when the differences are all zero, NaN when they are one non-zero value."""
    from scipy import stats

    d = _clean(differences)
    if len(d) < 2 or not np.any(d):
        return 1.0
    if np.all(d == d[0]):
        return float("nan")  # a constant non-zero shift: zero variance, t is undefined
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def cluster_sums(values, codes: np.ndarray | None) -> np.ndarray:
    """Per-cluster sums of per-question values (NaN skipped); the values themselves when ``codes`` is None."""
    v = np.asarray(values, dtype=np.float64)
    if codes is None:
        return v
    if len(codes) != len(v):
        raise ValueError(f"{len(codes)} cluster codes for {len(v)} values")
    defined = ~np.isnan(v)
    codes = np.asarray(codes)[defined]
    _, dense = np.unique(codes, return_inverse=True)
    return np.bincount(dense, weights=v[defined])


def contributions(parts: list[tuple[list[str], np.ndarray]]) -> tuple[list[str], np.ndarray]:
    """:func:`question_contributions` with the question id of each contribution (order of first appearance)."""
    if not parts:
        return [], np.zeros(0)
    ids = [q for qids, d in parts for q, v in zip(qids, np.asarray(d, dtype=np.float64), strict=True) if v == v]
    return list(dict.fromkeys(ids)), question_contributions(parts)


def question_contributions(parts: list[tuple[list[str], np.ndarray]]) -> np.ndarray:
    """Per-question contributions to a family-macro difference, for tests with questions as the paired unit.

    ``parts`` holds each setting's (question ids, per-query differences). A
    question's contribution is its differences summed over the settings, each
    weighted by 1 / (settings x defined queries of that setting), so the
    contributions add up to exactly the macro difference, and the parallel
    versions of one question move together under a randomization.
    """
    if not parts:
        return np.zeros(0)
    ids, weighted = [], []
    for qids, d in parts:
        d = np.asarray(d, dtype=np.float64)
        if len(qids) != len(d):
            raise ValueError(f"{len(qids)} question ids for {len(d)} differences")
        defined = ~np.isnan(d)
        weight = 1.0 / (len(parts) * max(np.count_nonzero(defined), 1))
        ids.append(np.asarray(qids, dtype=object)[defined])
        weighted.append(weight * d[defined])
    # questions in order of first appearance (the randomization's sign flips follow this order);
    # bincount adds in array order, so the sums are the ones a loop over the settings makes
    codes, uniques = pd.factorize(np.concatenate(ids))
    return np.bincount(codes, weights=np.concatenate(weighted), minlength=len(uniques))


def holm_bonferroni(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted
