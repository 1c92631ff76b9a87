"""Translation consistency: how much a question's multilingual-pool ranking changes with its language.

A question asked in languages X and Y searches the same multilingual pool; a
language-independent model returns the same ranking for both. Per question q
in language X, with T_X(q) its top-``depth`` list (pool positions, best first):

    consistency(q, X) = mean over the other languages Y that ask q of RBO(T_X(q), T_Y(q))

with rank-biased overlap (Webber, Moffat & Zobel 2010) at p = 0.9 and depth
100 by default. 1 means every translation retrieves the same top list in the
same order; 0 means disjoint top lists. With p = 0.9 the top 10 ranks carry
about 86 % of the weight.

RBO variant. For two lists S and T of the same depth k, let X_d = |S_{:d} and
T_{:d}| (the overlap of their first d items) and A_d = X_d / d. Webber et al.
define RBO = (1 - p) sum_{d >= 1} p^(d-1) A_d over infinite rankings; from
depth-k prefixes:

* ``"ext"`` (the default), RBO_ext, their Eq. 32, the point estimate that
  extrapolates the agreement at depth k to all deeper ranks:

      RBO_ext = (X_k / k) p^k + ((1 - p) / p) sum_{d=1..k} (X_d / d) p^d

  It is 1 for identical lists, which is what "1 = language-independent" needs.
* ``"min"``, RBO_min, their Eq. 11, the lower bound that assumes no agreement
  beyond the X_k items already shared:

      RBO_min = ((1 - p) / p) (sum_{d=1..k} (X_d - X_k) p^d / d - X_k ln(1 - p))

Spearman's footrule or rank correlation over the whole pool, as in the MRC
score of Yang, Jiang & Baldwin (2025), would need every query's full pool
ranking in every language; this module uses the top lists the scorer keeps.

    @article{webber2010similarity, title={A Similarity Measure for Indefinite
      Rankings}, author={Webber, William and Moffat, Alistair and Zobel,
      Justin}, journal={ACM Transactions on Information Systems}, volume={28},
      number={4}, pages={20:1--20:38}, year={2010}}
    @article{yang2025language, title={Language Bias in Information Retrieval:
      The Nature of the Beast and Mitigation Methods}, author={Yang, Jinrui
      and Jiang, Fan and Baldwin, Timothy}, journal={arXiv preprint
      arXiv:2509.06195}, year={2025}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

RBO_VARIANTS = ("ext", "min")


def rbo(a: np.ndarray, b: np.ndarray, p: float = 0.9, depth: int = 100, variant: str = "ext") -> np.ndarray:
    """Rank-biased overlap of paired rows of two top lists (n, >= depth), or of two 1-D lists.

    Items are candidate ids (e.g. pool positions), distinct within a list; the
    first ``depth`` items of each list are compared.
    """
    if variant not in RBO_VARIANTS:
        raise ValueError(f"unknown RBO variant {variant!r}; use one of {RBO_VARIANTS}")
    if depth < 1:
        raise ValueError(f"RBO depth must be at least 1, got {depth}")
    if not 0 < p < 1:
        raise ValueError(f"RBO persistence p must lie in (0, 1), got {p}")
    a, b = np.asarray(a), np.asarray(b)
    single = a.ndim == 1
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    if a.shape[0] != b.shape[0] or min(a.shape[1], b.shape[1]) < depth:
        raise ValueError(f"RBO needs paired lists of at least depth {depth}, got {a.shape} and {b.shape}")
    if a.size and min(a[:, :depth].min(), b[:, :depth].min()) < 0:
        raise ValueError("RBO lists hold padding (negative ids) within the compared depth")
    overlap = _overlaps(a[:, :depth], b[:, :depth])
    value = _rbo_from_overlaps(overlap, p, variant)
    return value[0] if single else value


def _overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """X_d for d = 1..k, per row: (n, k).

    An item shared by both lists enters the overlap at depth max(its rank in a,
    its rank in b). Each item of ``a`` finds its rank in ``b`` in a scratch table
    indexed by (row, item), written for a block of rows and wiped after it.
    """
    n, k = a.shape
    span = int(max(a.max(initial=0), b.max(initial=0))) + 1
    block = max(1, min(n, SCRATCH_CELLS // span))
    scratch = np.full(block * span, k, dtype=np.int32)  # k: not in b
    rank_in_b = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        stop = min(n, start + block)
        offsets = np.arange(stop - start)[:, None] * span
        in_b = (offsets + b[start:stop]).ravel()
        scratch[in_b] = np.tile(np.arange(k), stop - start)
        rank_in_b[start:stop] = scratch[offsets + a[start:stop]]
        scratch[in_b] = k
    found = rank_in_b < k
    enters = np.maximum(np.arange(k), rank_in_b)  # 0-based depth at which the item is shared
    cells = (np.arange(n)[:, None] * k + enters)[found]
    return np.bincount(cells, minlength=n * k).reshape(n, k).cumsum(axis=1)


# Cells of the (rows x pool) scratch table of _overlaps: 4 MB of int32 (cache-sized), whatever the pool size.
SCRATCH_CELLS = 1_000_000


def _rbo_from_overlaps(overlap: np.ndarray, p: float, variant: str) -> np.ndarray:
    k = overlap.shape[1]
    d = np.arange(1, k + 1, dtype=np.float64)
    weights = p**d
    x_k = overlap[:, -1].astype(np.float64)
    if variant == "ext":
        return (x_k / k) * p**k + (1 - p) / p * (overlap / d * weights).sum(axis=1)
    return (1 - p) / p * (((overlap - x_k[:, None]) / d * weights).sum(axis=1) - x_k * np.log(1 - p))


def translation_consistency(
    tops: Mapping[str, tuple[Sequence[str], np.ndarray]],
    p: float = 0.9,
    depth: int = 100,
    variant: str = "ext",
) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per query language, per question: mean RBO of its top list with the same question's in each other language.

    ``tops`` maps a query language to (question ids, top lists (queries, >= depth)
    of pool positions in the shared multilingual pool). Returns, per language,
    its question ids and the values (NaN where no other language asks the question).
    """
    langs = list(tops)
    index = {lang: {qid: row for row, qid in enumerate(tops[lang][0])} for lang in langs}
    totals = {lang: np.zeros(len(index[lang])) for lang in langs}
    counts = {lang: np.zeros(len(index[lang])) for lang in langs}
    for i, x in enumerate(langs):
        for y in langs[i + 1 :]:  # RBO is symmetric: score each pair of languages once
            shared = [qid for qid in tops[x][0] if qid in index[y]]
            if not shared:
                continue
            rows_x = np.array([index[x][qid] for qid in shared])
            rows_y = np.array([index[y][qid] for qid in shared])
            value = rbo(np.asarray(tops[x][1])[rows_x], np.asarray(tops[y][1])[rows_y], p, depth, variant)
            for lang, rows in ((x, rows_x), (y, rows_y)):
                totals[lang][rows] += value
                counts[lang][rows] += 1
    return {
        lang: (list(tops[lang][0]), np.where(counts[lang] > 0, totals[lang] / np.maximum(counts[lang], 1), np.nan))
        for lang in langs
    }
