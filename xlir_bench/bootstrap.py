"""Percentile bootstrap intervals for family macros, resampling questions.

A family macro is the unweighted mean over settings of each setting's mean
per-query value (NaN values skipped), as the run record reports it. Its
uncertainty comes from the sample of questions, and the settings of a family
share their questions (one question id is one information need, asked in every
language), so one resample of question ids serves every setting: question q
drawn c times counts c times in every setting that holds q. Resample b gives

    mean_s(b)  = sum_q c_bq v_sq / sum_q c_bq [v_sq defined]     (per setting s)
    macro(b)   = mean over the settings s whose mean_s(b) is defined

with q over the union U of the settings' question ids, each resample drawing
|U| ids uniformly with replacement. A setting none of whose questions were
drawn (or whose drawn values are all NaN) sits out that resample; a resample
with no defined setting is dropped. The 95 % interval is the 2.5th and 97.5th
percentiles (linear interpolation) of macro(b) over B resamples (Efron &
Tibshirani 1993, Ch. 13), seeded with ``numpy.random.default_rng(seed)``. It
draws the same indices as ``scipy.stats.bootstrap(..., paired=True,
method='percentile')`` with the same generator, so on settings that share one
question list the two agree.

Counting is vectorised: the draws become a count matrix C (B, |U|), and the
settings' values a matrix V (|U|, settings) with 0 for missing or NaN values
and a mask M beside it; then every resample's setting means are (C @ V) / (C @ M).

    @book{efron1993introduction, title={An Introduction to the Bootstrap},
      author={Efron, Bradley and Tibshirani, Robert J.}, publisher={Chapman
      and Hall/CRC}, year={1993}}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_CONFIDENCE = 0.95
_CHUNK_CELLS = 4_000_000  # count-matrix cells per chunk of resamples, to bound memory on large question sets

SettingValues = tuple[Sequence[str] | np.ndarray, Sequence[float] | np.ndarray]


class Interval(NamedTuple):
    """Point estimate and percentile interval (``low``/``high`` NaN when there are no resamples)."""

    estimate: float
    low: float
    high: float


def macro_interval(
    settings: Sequence[SettingValues],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """Macro of setting means with its question-resampling percentile interval.

    ``settings`` holds one (question ids, per-query values) pair per setting of the family.
    """
    values, mask, n_settings = _layout(list(settings))
    estimate = _macros(np.ones((1, values.shape[0])), values, mask, n_settings)[0]
    distribution = bootstrap_distribution(values, mask, n_settings, n_resamples, seed)
    return Interval(float(estimate), *_percentiles(distribution, confidence))


def paired_difference_interval(
    settings_a: Sequence[SettingValues],
    settings_b: Sequence[SettingValues],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """Macro(a) - macro(b) for two records' settings of one family, both resampled with the same question draws."""
    values, mask, n_settings = _layout(list(settings_a) + list(settings_b))
    n_a = len(settings_a)

    def difference(counts: np.ndarray) -> np.ndarray:
        return _macros(counts, values[:, :n_a], mask[:, :n_a], n_a) - _macros(
            counts, values[:, n_a:], mask[:, n_a:], n_settings - n_a
        )

    estimate = difference(np.ones((1, values.shape[0])))[0]
    distribution = _over_resamples(difference, values.shape[0], n_resamples, seed)
    return Interval(float(estimate), *_percentiles(distribution, confidence))


def bootstrap_distribution(
    values: np.ndarray, mask: np.ndarray, n_settings: int, n_resamples: int, seed: int
) -> np.ndarray:
    """macro(b) for b = 1..B (NaN where no setting is defined) from the laid-out value and mask matrices."""
    return _over_resamples(lambda counts: _macros(counts, values, mask, n_settings), values.shape[0], n_resamples, seed)


def _layout(settings: list[SettingValues], rows_of: _RowIndex | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Value matrix V (|U|, settings), 0 where missing or NaN, and its 0/1 mask, over the sorted union U of ids."""
    rows_of = rows_of or _RowIndex()
    n_rows, setting_rows = rows_of([qids for qids, _ in settings])
    values = np.zeros((n_rows, len(settings)))
    mask = np.zeros((n_rows, len(settings)))
    for s, ((qids, raw), rows) in enumerate(zip(settings, setting_rows, strict=True)):
        v = np.asarray(raw, dtype=np.float64)
        if v.shape != (len(qids),):
            raise ValueError(f"setting {s}: {len(qids)} question ids but values of shape {v.shape}")
        defined = ~np.isnan(v)
        values[rows[defined], s] = v[defined]
        mask[rows[defined], s] = 1.0
    return values, mask, len(settings)


class _RowIndex:
    """Rows of the sorted union of question ids, per setting; remembers the last id lists it was given.

    The measures of one family share their settings' id lists (the same objects), so the
    union and the rows are worked out once per family instead of once per measure.
    """

    def __init__(self) -> None:
        self._ids: list[Sequence[str]] | None = None
        self._result: tuple[int, list[np.ndarray]] = (0, [])

    def __call__(self, ids: list[Sequence[str]]) -> tuple[int, list[np.ndarray]]:
        same = (
            self._ids is not None
            and len(ids) == len(self._ids)
            and all(a is b for a, b in zip(ids, self._ids, strict=True))
        )
        if not same:
            self._ids, self._result = ids, _union_rows(ids)
        return self._result


def _union_rows(ids: list[Sequence[str]]) -> tuple[int, list[np.ndarray]]:
    names = [[str(qid) for qid in qids] for qids in ids]
    row_of = {qid: row for row, qid in enumerate(sorted({qid for qids in names for qid in qids}))}
    setting_rows = []
    for s, qids in enumerate(names):
        rows = np.fromiter((row_of[qid] for qid in qids), dtype=np.intp, count=len(qids))
        if np.unique(rows).size != rows.size:
            raise ValueError(f"setting {s}: question ids repeat")
        setting_rows.append(rows)
    return len(row_of), setting_rows


def _macros(counts: np.ndarray, values: np.ndarray, mask: np.ndarray, n_settings: int) -> np.ndarray:
    """Per resample (rows of ``counts``): mean over defined settings of the count-weighted setting means."""
    if n_settings == 0:
        return np.full(counts.shape[0], np.nan)
    sums = counts @ values
    weights = counts @ mask
    defined = weights > 0
    means = np.where(defined, sums / np.where(defined, weights, 1.0), 0.0)
    n_defined = defined.sum(axis=1)
    return np.where(n_defined > 0, means.sum(axis=1) / np.maximum(n_defined, 1), np.nan)


def _over_resamples(statistic, n_questions: int, n_resamples: int, seed: int) -> np.ndarray:
    """statistic(counts) over B resamples of ``n_questions`` ids, drawn in chunks from one seeded generator."""
    if n_resamples <= 0 or n_questions == 0:
        return np.empty(0)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // n_questions)
    out = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        draws = rng.integers(0, n_questions, size=(size, n_questions))
        flat = (np.arange(size)[:, None] * n_questions + draws).ravel()
        counts = np.bincount(flat, minlength=size * n_questions).reshape(size, n_questions).astype(np.float64)
        out.append(statistic(counts))
    return np.concatenate(out)


def _percentiles(distribution: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    defined = distribution[~np.isnan(distribution)]
    if defined.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(defined, [alpha, 1 - alpha])
    return float(low), float(high)


def family_intervals(
    measures: dict[str, Sequence[SettingValues]],
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Interval]:
    """:func:`macro_interval` of several measures of one family at once, with the same question draws.

    The measures of a family share its settings' question ids, so one count
    matrix serves them all: one (B x |U|) @ (|U| x settings*measures) product
    instead of one per measure. Each result equals ``macro_interval`` of that
    measure alone with the same seed (the draws depend only on |U| and the seed).
    """
    names = list(measures)
    rows_of = _RowIndex()
    layouts = [_layout(list(measures[name]), rows_of) for name in names]
    if not layouts:
        return {}
    sizes = {values.shape[0] for values, _, _ in layouts}
    if len(sizes) != 1:
        raise ValueError("the measures of one family must share their question ids")
    values = np.hstack([v for v, _, _ in layouts])
    mask = np.hstack([m for _, m, _ in layouts])
    bounds = np.cumsum([0] + [n for _, _, n in layouts])

    def statistic(counts: np.ndarray) -> np.ndarray:
        sums, weights = counts @ values, counts @ mask
        defined = weights > 0
        means = np.where(defined, sums / np.where(defined, weights, 1.0), 0.0)
        out = np.empty((counts.shape[0], len(names)))
        for j, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            n_defined = defined[:, start:stop].sum(axis=1)
            out[:, j] = np.where(n_defined > 0, means[:, start:stop].sum(axis=1) / np.maximum(n_defined, 1), np.nan)
        return out

    point = statistic(np.ones((1, values.shape[0])))[0]
    distribution = _over_resamples(statistic, values.shape[0], n_resamples, seed)
    return {
        name: Interval(
            float(point[j]), *_percentiles(distribution[:, j] if distribution.size else np.empty(0), confidence)
        )
        for j, name in enumerate(names)
    }
