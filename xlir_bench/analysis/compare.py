"""Compare two configurations setting by setting, with clustered or seed-level tests: a CI regression gate.

Each side is one run record, or several records of one configuration trained
with different seeds (comma-joined paths, or a folder). For every setting both
sides share, and for every family macro (mono, cross, multi), compare gives the
baseline and candidate means of the metric, the delta with its 95 % interval,
a test, Holm-Bonferroni correction, and the minimal detectable difference at
80 % power (MDD): :mod:`xlir_bench.stats.seed_level` does the numbers.

* One record per side: the unit is the *cluster* (``--cluster``: the article
  holding the question by default, where the task knows its articles). A family
  macro's per-question contributions (differences summed over the family's
  settings, each weighted by 1 / (settings x queries of that setting)) add up to
  the macro delta; the test is a sign-flip randomization test on their sums per
  cluster, the interval a cluster bootstrap.
* Several records on a side: the unit is the *training run*. The delta is the
  difference of the sides' mean seed macros, its interval a two-stage bootstrap
  (seeds, then clusters), its test a t-test over seed macros (Welch with >= 2
  seeds per side); the output says ``seeds: 2 vs 2`` and shows the spread.

Every other registered per-query measure with a direction and gated (the
language-bias measures among them) is compared the same way at the family-macro
level, each in its own direction, with Holm correction across those rows.

Verdict: *regression* (exit 1) when a family macro of ``metric`` drops by more
than ``max_drop`` *and* its test rejects at Holm-corrected ``alpha`` (Holm over
the family rows), or a setting drops by more than ``max_setting_drop`` with a
Holm-corrected p below ``alpha``, or another measure's family macro worsens by
more than ``max_relative_change`` (relative) with a Holm-corrected p below
``alpha``; otherwise *pass* (exit 0). A row whose test is undefined (zero
spread: NaN p) cannot fail the gate and the output says why. The default
margins (``max_drop`` 0.02, ``max_setting_drop`` 0.05) lie above the largest
change that re-seeding one configuration made in the study (0.0156 for a family
macro, 0.043 for a setting); see docs/guide/statistics.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from xlir_bench.analysis.sides import check_side, configuration, record_clusters, resolve_side, short
from xlir_bench.core.constants import FAMILIES
from xlir_bench.core.errors import XlirError
from xlir_bench.measures import gated_names, measure, nan_mean
from xlir_bench.records.schema import RunRecord, SettingResult, TaskResult
from xlir_bench.stats.seed_level import SeedComparison, SeedOptions, compare_seeds
from xlir_bench.stats.significance import (
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    contributions,
    holm_bonferroni,
    question_contributions,
)

DEFAULT_MAX_DROP = 0.02  # basis: the largest seed-to-seed change of a family macro mAP in the study, 0.0156
DEFAULT_MAX_SETTING_DROP = 0.05  # basis: the largest seed-to-seed change of one setting's mAP in the study, 0.043


@dataclass
class Row:
    """One compared unit: a setting (``task:X->pool``) or a family macro (``task:family``)."""

    task: str
    name: str
    family: str
    n: int  # questions
    baseline: float
    candidate: float
    delta: float
    low: float
    high: float
    p: float
    mdd: float
    needed: float
    test: str
    boot_low: float = float("nan")  # two-stage bootstrap interval (seeds, then clusters)
    boot_high: float = float("nan")
    clusters: int = 0
    seeds: tuple[int, int] = (1, 1)
    spread: tuple[float, float] = (float("nan"), float("nan"))
    p_holm: float | None = None
    regressed: bool = False
    improved: bool = False
    significant: bool = False  # Holm-corrected p below alpha
    gating: bool = False  # whether this row can fail the gate (headline family macros and settings, other measures)
    metric: str = "map"

    @property
    def status(self) -> str:
        """One label per row, the same in every output: REGRESSED, improved, worse (not significant), ..."""
        if self.regressed:
            return "REGRESSED"
        if self.p != self.p:
            return "untestable"
        if self.significant and not self.improved:
            return "significant"
        return "improved" if self.improved else ""


@dataclass
class Comparison:
    metric: str
    baseline: str
    candidate: str
    settings: list[Row]
    families: list[Row]
    thresholds: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    measures: list[Row] = field(default_factory=list)  # family macros of every other gated measure
    unit: dict[str, str] = field(default_factory=dict)  # task -> resampling unit
    seeds: tuple[int, int] = (1, 1)

    @property
    def regressions(self) -> list[Row]:
        rows = self.families + self.settings + self.measures
        return sorted([r for r in rows if r.regressed], key=lambda r: gain(r, r.metric))

    @property
    def improvements(self) -> list[Row]:
        return sorted([r for r in self.settings if r.improved], key=lambda r: -gain(r, self.metric))

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0

    @property
    def verdict(self) -> str:
        return "REGRESSION" if self.exit_code else "PASS"

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "verdict": self.verdict,
            "seeds": list(self.seeds),
            "unit": self.unit,
            "thresholds": self.thresholds,
            "notes": self.notes,
            "families": [asdict(r) for r in self.families],
            "settings": [asdict(r) for r in self.settings],
            "measures": [asdict(r) for r in self.measures],
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.families + self.settings])


@dataclass(frozen=True)
class Gate:
    """The thresholds of the verdict, the resampling unit and the size and seed of tests and intervals."""

    max_drop: float = DEFAULT_MAX_DROP
    max_setting_drop: float = DEFAULT_MAX_SETTING_DROP
    alpha: float = 0.05
    max_relative_change: float = 0.05
    n_permutations: int = DEFAULT_PERMUTATIONS
    seed: int = DEFAULT_SEED
    resamples: int = 1000
    cluster: str | None = None  # article, paragraph, question; None: article where the task knows its articles

    def seed_options(self) -> SeedOptions:
        return SeedOptions(self.resamples, self.n_permutations, self.seed, self.alpha)


def gain(row: Row, metric: str) -> float:
    """The change in the measure's own direction: positive is better."""
    return measure(metric).sign() * row.delta


# --- the records of each side -------------------------------------------------------------------------







def _settings_of(record: RunRecord, task: str) -> dict[str, SettingResult]:
    return record.results[task].by_key()


def family_differences(base: TaskResult, cand: TaskResult, family: str, metric: str) -> np.ndarray:
    """Per-question contributions to ``cand``'s minus ``base``'s macro of ``metric`` over ``family``'s common settings."""
    b_settings, c_settings = base.by_key(), cand.by_key()
    parts = [
        _paired(b_settings[key], c_settings[key], metric)
        for key in sorted(set(b_settings) & set(c_settings))
        if b_settings[key].family == family
        and metric in b_settings[key].per_query
        and metric in c_settings[key].per_query
    ]
    return question_contributions([(qids, c - b) for qids, b, c in parts])


def _paired(base: SettingResult, cand: SettingResult, metric: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    b = dict(zip(base.query_ids, base.values(metric), strict=True))
    c = dict(zip(cand.query_ids, cand.values(metric), strict=True))
    qids = [q for q in b if q in c]
    return qids, np.array([b[q] for q in qids]), np.array([c[q] for q in qids])


def _common(baseline: RunRecord, candidate: RunRecord, allow_mismatch: bool) -> tuple[dict[str, list[str]], list[str]]:
    """Tasks and setting keys both records hold on identical data; refuses differences unless ``allow_mismatch``.

    Data is compared per file: two language selections of the same files share their
    common settings (a multilingual pool over other languages is another setting).
    """
    if baseline.extra.get("sample") != candidate.extra.get("sample"):
        raise XlirError(
            f"cannot compare: the records evaluated different article samples ({short(baseline.extra.get('sample'))} vs "
            f"{short(candidate.extra.get('sample'))}); run both with the same --sample-articles and --sample-seed"
        )
    notes, common = [], {}
    for task in sorted(set(baseline.results) | set(candidate.results)):
        problem = _task_problem(baseline, candidate, task)
        if problem is None:
            keys, note = _shared_settings(baseline, candidate, task, allow_mismatch)
            common[task] = keys
            notes += [note] if note else []
            continue
        if not allow_mismatch:
            raise XlirError(f"cannot compare: {problem}; pass --allow-mismatch to compare only what matches")
        notes.append(f"skipped: {problem} (--allow-mismatch)")
    if not any(common.values()):
        raise XlirError("the records share no setting on identical data; nothing to compare")
    return common, notes


def _task_problem(baseline: RunRecord, candidate: RunRecord, task: str) -> str | None:
    """Why ``task`` cannot be compared at all: missing from a record, or a file both used differs."""
    if task not in baseline.results or task not in candidate.results:
        return f"task {task} is in only one record"
    b, c = baseline.data.get(task) or {}, candidate.data.get(task) or {}
    differ = sorted(name for name in set(b) & set(c) if b[name] != c[name])
    if differ:
        return f"task {task} was evaluated on different data files ({', '.join(differ[:3])}: sha256 differ)"
    return None


def _setting_id(setting: SettingResult) -> tuple[str, tuple[str, ...]]:
    return setting.key, tuple(sorted(setting.pool_langs))


def _shared_settings(baseline: RunRecord, candidate: RunRecord, task: str, allow_mismatch: bool) -> tuple[list[str], str]:
    """Keys of the settings both records hold with the same pool; an error for a mismatch without --allow-mismatch."""
    b = {_setting_id(s): s.key for s in baseline.results[task].settings}
    c = {_setting_id(s): s.key for s in candidate.results[task].settings}
    if set(b) == set(c):
        return sorted(b.values()), ""
    langs = [" ".join(sorted({s.query_lang for s in r.results[task].settings})) for r in (baseline, candidate)]
    what = f"languages {langs[0]} vs {langs[1]}" if langs[0] != langs[1] else "settings"
    if not allow_mismatch:
        raise XlirError(
            f"records differ in {task} {what} ({len(set(b) - set(c))} settings only in baseline, "
            f"{len(set(c) - set(b))} only in candidate); evaluate the same selection or pass --allow-mismatch "
            "to compare the common settings"
        )
    shared = sorted(b[key] for key in set(b) & set(c))
    return shared, f"{task}: compared the {len(shared)} common settings only ({what}; --allow-mismatch)"


# --- clusters ----------------------------------------------------------------------------------------



# --- rows ----------------------------------------------------------------------------------------------


def compare(
    baseline_ref: str, candidate_ref: str, metric: str = "map", gate: Gate = Gate(), allow_mismatch: bool = False
) -> Comparison:
    """Compare two sides (records, comma-joined seeds, folders, ``leaderboard:NAME``); see the module docstring."""
    base_side, cand_side = resolve_side(baseline_ref, "baseline"), resolve_side(candidate_ref, "candidate")
    return compare_sides(base_side, cand_side, metric, gate, allow_mismatch)


def compare_sides(
    base_side: list[tuple[str, RunRecord]],
    cand_side: list[tuple[str, RunRecord]],
    metric: str = "map",
    gate: Gate = Gate(),
    allow_mismatch: bool = False,
) -> Comparison:
    """:func:`compare` of records already loaded: (name, record) per seed of each side."""
    check_side(base_side, "baseline")
    check_side(cand_side, "candidate")
    common, notes = _common(base_side[0][1], cand_side[0][1], allow_mismatch)
    records = [r for _, r in base_side + cand_side]
    clusters, units = {}, {}
    for task in common:
        units[task], clusters[task], note = record_clusters(records, task, gate.cluster)
        notes += [note] if note else []
    sides = ([r for _, r in base_side], [r for _, r in cand_side])
    settings, families = _rows(sides, common, clusters, metric, gate)
    if not settings:
        raise XlirError(f"--metric {metric}: no common setting keeps it per query; use map, recall@10, ndcg@10 or mrr@10")
    _flag_headline(settings, families, metric, gate)
    others = [row for name in gated_names() if name != metric for row in _rows(sides, common, clusters, name, gate, False)[1]]
    _flag_others(others, gate)
    notes += _untestable_notes(families + others)
    seeds = (len(base_side), len(cand_side))
    if seeds == (1, 1):
        floor = holm_floor(len(settings), gate.n_permutations)
        if floor >= gate.alpha:
            notes.append(
                f"with {len(settings)} settings and {gate.n_permutations} permutations the smallest Holm-corrected "
                f"p is {floor:.3g} >= alpha {gate.alpha}: no setting can be flagged; raise --permutations"
            )
    elif 1 in seeds:
        notes.append(f"seeds: {seeds[0]} vs {seeds[1]}: one side has a single record; the t-test borrows the other side's between-seed spread")
    thresholds = {k: v for k, v in asdict(gate).items()}
    thresholds["permutations"] = thresholds.pop("n_permutations")
    label = lambda side: _label(side)  # noqa: E731
    return Comparison(metric, label(base_side), label(cand_side), settings, families, thresholds, notes, others, units, seeds)


def _label(side: list[tuple[str, RunRecord]]) -> str:
    name, record = side[0]
    if len(side) == 1:
        return f"{record.model_name} ({name}, {record.fingerprint[:8]})"
    return f"{configuration(record.model_name)} ({len(side)} seeds: {', '.join(r.model_name for _, r in side)})"


def _untestable_notes(rows: list[Row]) -> list[str]:
    return [
        f"{r.name} {r.metric}: p undefined (zero spread: every difference the same), so it cannot fail the gate"
        for r in rows
        if r.p != r.p and r.delta != 0
    ]


def _rows(sides, common, clusters, metric: str, gate: Gate, settings_too: bool = True) -> tuple[list[Row], list[Row]]:
    """Setting rows (unless not ``settings_too``) and family-macro rows of one measure, over the settings that
    keep it per query. The other gated measures are judged on their family macros only."""
    settings, families = [], []
    for task, keys in common.items():
        kept = [k for k in keys if all(metric in _settings_of(r, task)[k].per_query for side in sides for r in side)]
        for key in kept if settings_too else []:
            settings.append(_setting_row(sides, task, key, clusters[task], metric, gate))
        for family in FAMILIES:
            in_family = [k for k in kept if _settings_of(sides[0][0], task)[k].family == family]
            if in_family:
                families.append(_family_row(sides, task, family, in_family, clusters[task], metric, gate))
    return settings, families


def _setting_row(sides, task: str, key: str, clusters, metric: str, gate: Gate) -> Row:
    """One setting: per-query values of each seed on the questions every record holds."""
    per_record = [[dict(zip(s.query_ids, s.values(metric), strict=True)) for s in (_settings_of(r, task)[key] for r in side)] for side in sides]
    qids = [q for q in per_record[0][0] if all(q in d for side in per_record for d in side)]
    matrices = [np.array([[d[q] for q in qids] for d in side]) for side in per_record]
    family = _settings_of(sides[0][0], task)[key].family
    return _row(task, f"{task}:{key}", family, qids, matrices, clusters, metric, gate)


def _family_row(sides, task: str, family: str, keys: list[str], clusters, metric: str, gate: Gate) -> Row:
    """A family macro: per seed, each question's contribution x the number of questions (their mean is the macro)."""
    qids, values = family_matrix([r for side in sides for r in side], task, keys, metric)
    matrices = [values[: len(sides[0])], values[len(sides[0]) :]]
    return _row(task, f"{task}:{family}", family, qids, matrices, clusters, metric, gate)


def family_matrix(records: list[RunRecord], task: str, keys: list[str], metric: str) -> tuple[list[str], np.ndarray]:
    """(question ids, records x questions): each question's contribution to a record's macro of ``metric`` over the
    settings ``keys``, times the number of questions, so that a row's mean is that record's macro."""
    per_record = []
    for record in records:
        by_key = _settings_of(record, task)
        parts = [(by_key[k].query_ids, by_key[k].values(metric)) for k in keys if metric in by_key[k].per_query]
        per_record.append(dict(zip(*contributions(parts), strict=True)))
    qids = sorted({q for d in per_record for q in d})
    return qids, np.array([[d.get(q, 0.0) * len(qids) for q in qids] for d in per_record])


def _row(task, name, family, qids, matrices, clusters, metric: str, gate: Gate) -> Row:
    from xlir_bench.stats.bootstrap import cluster_codes

    codes = cluster_codes(qids, clusters)
    result: SeedComparison = compare_seeds(matrices[0], matrices[1], codes, gate.seed_options())
    base, cand = (float(np.mean([nan_mean(seed) for seed in m])) for m in matrices)
    n_clusters = len(qids) if codes is None else int(codes.max()) + 1 if len(codes) else 0
    return Row(
        task, name, family, len(qids), base, cand, result.estimate, result.low, result.high, result.p, result.mdd,
        result.needed, result.test, result.boot_low, result.boot_high, n_clusters, (result.n_base, result.n_cand), (result.spread_base, result.spread_cand),
        metric=metric,
    )  # fmt: skip


def _flag_headline(settings: list[Row], families: list[Row], metric: str, gate: Gate) -> None:
    """Settings and family macros fail on a drop beyond their margin *and* a Holm-corrected rejection."""
    sign = measure(metric).sign()
    for rows, margin in ((settings, gate.max_setting_drop), (families, gate.max_drop)):
        for row, p in zip(rows, _holm([r.p for r in rows]), strict=True):
            row.p_holm, row.gating, row.significant = p, True, bool(p < gate.alpha)
            drop = -sign * row.delta
            row.regressed = bool(drop > margin and p < gate.alpha)
            row.improved = bool(drop < 0 and p < gate.alpha)


def _holm(pvalues: list[float]) -> list[float]:
    """Holm over the defined p-values; NaN stays NaN (an untestable row neither fails nor counts)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(len(p), np.nan)
    defined = ~np.isnan(p)
    out[defined] = holm_bonferroni(p[defined])
    return [float(v) for v in out]


def _flag_others(rows: list[Row], gate: Gate) -> None:
    """Other measures: significant (Holm across these rows) and worse by more than the relative tolerance."""
    for row, p in zip(rows, _holm([r.p for r in rows]), strict=True):
        row.p_holm, row.gating, row.significant = p, True, bool(p < gate.alpha)
        worse = -measure(row.metric).sign() * row.delta
        scale = max(abs(row.baseline), 1e-12)
        row.regressed = bool(p < gate.alpha and worse / scale > gate.max_relative_change)
        row.improved = bool(p < gate.alpha and worse < 0)


def holm_floor(n_settings: int, n_permutations: int) -> float:
    """The smallest Holm-corrected p a Monte Carlo randomization test can give: m / (permutations + 1)."""
    return n_settings / (n_permutations + 1)


# --- output ---------------------------------------------------------------------------------------------
