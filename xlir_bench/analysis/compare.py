"""Compare two configurations setting by setting, with clustered or seed-level tests: a CI regression gate.

Each side is one run record, or several records of one configuration trained
with different seeds (comma-joined paths, or a folder). For every setting both
sides share, and for every family macro (mono, cross, multi), compare gives the
baseline and candidate means of the metric, the delta with its 95 % interval,
a test, Holm-Bonferroni correction, and the minimal detectable difference at
80 % power (MDD): :mod:`xlir_bench.seed_level` does the numbers.

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

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.constants import FAMILIES, LEADERBOARD_ENV
from xlir_bench.core.errors import XlirError
from xlir_bench.core.text import md_cell
from xlir_bench.measures import gated_names, measure, nan_mean
from xlir_bench.records.schema import RunRecord, SettingResult, TaskResult, load_record
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
        return sorted([r for r in rows if r.regressed], key=lambda r: _gain(r, r.metric))

    @property
    def improvements(self) -> list[Row]:
        return sorted([r for r in self.settings if r.improved], key=lambda r: -_gain(r, self.metric))

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


def _gain(row: Row, metric: str) -> float:
    """The change in the measure's own direction: positive is better."""
    return measure(metric).sign() * row.delta


# --- the records of each side -------------------------------------------------------------------------

_SEED_SUFFIX = re.compile(r"[-_.](s|seed)\d+$")


def configuration(name: str) -> str:
    """A record's model name without a trailing seed tag (``-s1``, ``_seed2``): the configuration it trains."""
    return _SEED_SUFFIX.sub("", name)


def resolve_record(ref: str) -> tuple[str, RunRecord]:
    """A run record path, or ``leaderboard:NAME`` for the newest leaderboard record of model NAME."""
    if not ref.startswith("leaderboard:"):
        return ref, load_record(ref)
    name = ref.split(":", 1)[1]
    from xlir_bench.records.store import default_runs_folder

    folder = Path(os.environ.get(LEADERBOARD_ENV) or default_runs_folder())
    if not folder.is_dir():
        raise XlirError(f"{ref}: no leaderboard folder at {folder}; set {LEADERBOARD_ENV} to a folder of run records")
    matches = []
    for path in sorted([*folder.glob("*.json"), *folder.glob("*.json.gz")]):
        record = load_record(path)
        if record.model_name == name:
            matches.append((record.created, str(path), record))
    if not matches:
        raise XlirError(f"{ref}: no record of model {name!r} in {folder}; see `xlir-bench leaderboard` for the names")
    _, path, record = max(matches, key=lambda match: match[:2])
    return f"{ref} = {Path(path).name}", record


def resolve_side(ref: str, role: str) -> list[tuple[str, RunRecord]]:
    """The records of one side: a record, ``leaderboard:NAME``, comma-joined records, or a folder of records."""
    parts = [part.strip() for part in ref.split(",") if part.strip()]
    if len(parts) == 1 and Path(parts[0]).is_dir():
        folder = Path(parts[0])
        parts = [str(p) for p in sorted([*folder.glob("*.json"), *folder.glob("*.json.gz")])]
        if not parts:
            raise XlirError(f"{role} {ref}: the folder holds no run record (.json, .json.gz); give records or a folder of them")
    if not parts:
        raise XlirError(f"{role}: no run record given; give a record, comma-joined records or a folder")
    side = [resolve_record(part) for part in parts]
    _check_side(side, role)
    return side


def _check_side(side: list[tuple[str, RunRecord]], role: str) -> None:
    """Seeds of one configuration: the same tasks, data, selection, sample and model configuration."""
    first_name, first = side[0]
    for name, record in side[1:]:
        for what, mine, theirs in (
            ("tasks", sorted(record.results), sorted(first.results)),
            ("data files", record.data, first.data),
            ("selection", record.selection, first.selection),
            ("article sample", record.extra.get("sample"), first.extra.get("sample")),
            ("configuration", configuration(record.model_name), configuration(first.model_name)),
        ):
            if mine != theirs:
                raise XlirError(
                    f"{role} {name}: its {what} differ from {first_name}'s ({_short(mine)} vs {_short(theirs)}); "
                    "a side lists seeds of one configuration evaluated alike"
                )


def _short(value: Any) -> str:
    return " ".join(str(value).split())[:60]


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
    """Tasks and setting keys both records hold; refuses differences unless ``allow_mismatch``."""
    if baseline.extra.get("sample") != candidate.extra.get("sample"):
        raise XlirError(
            f"cannot compare: the records evaluated different article samples ({_short(baseline.extra.get('sample'))} vs "
            f"{_short(candidate.extra.get('sample'))}); run both with the same --sample-articles and --sample-seed"
        )
    notes, common = [], {}
    for task in sorted(set(baseline.results) | set(candidate.results)):
        if task not in baseline.results or task not in candidate.results:
            problem = f"task {task} is in only one record"
        elif baseline.data.get(task) != candidate.data.get(task):
            problem = f"task {task} was evaluated on different data files (sha256 differ)"
        else:
            b, c = set(_settings_of(baseline, task)), set(_settings_of(candidate, task))
            if b != c and not allow_mismatch:
                raise XlirError(
                    f"records differ in {task} settings ({len(b - c)} only in baseline, {len(c - b)} only in candidate); "
                    "evaluate the same selection or pass --allow-mismatch to compare the common settings"
                )
            if b != c:
                notes.append(f"{task}: compared the {len(b & c)} common settings only (--allow-mismatch)")
            common[task] = sorted(b & c)
            continue
        if not allow_mismatch:
            raise XlirError(f"cannot compare: {problem}; pass --allow-mismatch to compare only what matches")
        notes.append(f"skipped: {problem} (--allow-mismatch)")
    if not any(common.values()):
        raise XlirError("the records share no setting on identical data; nothing to compare")
    return common, notes


# --- clusters ----------------------------------------------------------------------------------------


def record_clusters(records: list[RunRecord], task: str, unit: str | None) -> tuple[str, dict[str, int] | None, str]:
    """(unit, query id -> cluster or None, note) for ``task``: from a record that kept its clusters, else the task's data."""
    from xlir_bench.data.clusters import check_unit, cluster_map
    from xlir_bench.data.tasks import get_spec

    for record in records:
        kept = record.results[task].extra.get("clusters")
        if isinstance(kept, dict) and kept.get("unit") == (unit or "article") and isinstance(kept.get("of"), dict):
            return kept["unit"], kept["of"], ""
    if unit == "question":
        return "question", None, ""
    try:
        spec = get_spec(task)
    except XlirError:
        if unit is not None:
            raise XlirError(f"--cluster {unit}: task {task} is not a known task, so its articles are unknown; use --cluster question") from None
        return "question", None, f"{task}: unknown task, questions resampled alone"
    unit_given = unit is not None
    unit = check_unit(spec, unit)
    if unit == "question":
        return unit, None, ""
    qids = {q for record in records for s in record.results[task].settings for q in s.query_ids}
    try:
        return unit, cluster_map(spec, unit, qids, _local_source()), ""
    except XlirError as exc:
        if unit_given:
            raise
        return "question", None, f"{task}: questions resampled alone, its articles are not readable here ({exc})"


def _local_source():
    """The data mirror or download cache, never downloading: comparing records must not reach the network."""
    from xlir_bench.data.lareqa import DataSource, resolve_source

    source = resolve_source()
    return DataSource(source.root, download=False, origin=source.origin)


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
    _check_side(base_side, "baseline")
    _check_side(cand_side, "candidate")
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

_ARROW = {1.0: " ↑", -1.0: " ↓", 0.0: ""}
_COMPACT = ["", "setting / family", "measure", "Δ [95 % interval]", "p (Holm)", "MDD"]
_VERBOSE = ["", "measure", "setting", "n", "units", "baseline", "candidate", "Δ", "95 % interval", "p", "p (Holm)", "MDD", "needed", "test"]


def _fmt(value: float, spec: str) -> str:
    return "–" if value is None or value != value else format(value, spec)


def _digits(metric: str) -> str:
    return ".1f" if metric.startswith("rank_distance") and metric != "rank_distance_norm" else ".4f"


def _mark(row: Row) -> str:
    """The row's status label: REGRESSED, improved, significant (worse, within the margin), untestable, or none."""
    return row.status


def _compact_rows(rows: list[Row], cell) -> list[list[str]]:
    out = []
    for r in rows:
        d = _digits(r.metric)
        out.append([
            _mark(r), cell(r.name), r.metric + _ARROW[measure(r.metric).sign()],
            f"{r.delta:+{d}} [{_fmt(r.low, '+' + d)}, {_fmt(r.high, '+' + d)}]",
            "" if r.p_holm is None else _fmt(r.p_holm, ".3g"), _fmt(r.mdd, d),
        ])  # fmt: skip
    return out


def _verbose_rows(rows: list[Row], cell) -> list[list[str]]:
    out = []
    for r in rows:
        d = _digits(r.metric)
        units = f"{r.clusters} clusters" if r.seeds == (1, 1) else f"seeds {r.seeds[0]} vs {r.seeds[1]}"
        out.append([
            _mark(r), r.metric + _ARROW[measure(r.metric).sign()], cell(r.name), r.n, units,
            format(r.baseline, d), format(r.candidate, d), format(r.delta, "+" + d),
            f"[{_fmt(r.low, '+' + d)}, {_fmt(r.high, '+' + d)}]", _fmt(r.p, ".4g"),
            "" if r.p_holm is None else _fmt(r.p_holm, ".4g"), _fmt(r.mdd, d), _fmt(r.needed, ".0f"), r.test,
        ])  # fmt: skip
    return out


def _table(rows: list[list[str]], headers: list[str], fmt: str) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="github" if fmt == "md" else "simple", disable_numparse=True)


def verdict_line(c: Comparison, bold: str = "") -> str:
    """One line: verdict, what was compared, the unit, and why."""
    failing = ", ".join(f"{r.name} {r.metric} {r.delta:+.4f}" for r in c.regressions[:3])
    units = "/".join(sorted(set(c.unit.values()))) or "question"
    unit = f"seeds {c.seeds[0]} vs {c.seeds[1]}, then {units}s" if c.seeds != (1, 1) else f"{units}s resampled"
    why = f"failing: {failing}" if failing else f"no family drops more than {c.thresholds['max_drop']} with Holm p < {c.thresholds['alpha']}"
    return f"{bold}{c.verdict}{bold}: {c.candidate} vs {c.baseline} on {c.metric} ({unit}; {why})"


def render(comparison: Comparison, fmt: str = "text", worst: int = 10, verbose: bool = False) -> str:
    """The report as ``text``, ``md`` (a pull-request comment) or ``json``; compact unless ``verbose``."""
    if fmt == "json":
        return json.dumps(_finite(comparison.to_dict()), indent=2, allow_nan=False, default=lambda v: None)
    cell = md_cell if fmt == "md" else (lambda value: " ".join(str(value).split()))
    c = comparison
    bold = "**" if fmt == "md" else ""
    order = {name: i for i, name in enumerate(gated_names())}
    macros = sorted(c.families + c.measures, key=lambda r: (r.task, FAMILIES.index(r.family), order.get(r.metric, -1)))
    if not verbose:
        shown = [r for r in macros if r.metric == c.metric or r.regressed] + [r for r in c.settings if r.regressed]
        parts = [_table(_compact_rows(shown, cell), _COMPACT, fmt)]
        better = sum(r.improved for r in c.settings)
        parts += [f"Settings: {sum(r.regressed for r in c.settings)} regressed, {better} significantly improved of {len(c.settings)}"]
        parts += [f"Seeds: {c.seeds[0]} vs {c.seeds[1]}; between-seed SD of {c.metric} " + _spreads(c.families)] if c.seeds != (1, 1) else []
        parts += [f"Note: {cell(note)}" for note in c.notes]
        parts += ["REGRESSED: fails the gate (drop beyond the margin and Holm p < alpha); significant / improved: Holm p < "
                  "alpha; MDD: smallest Δ found with 80 % power; every row shown gates; --verbose for all rows",
                  verdict_line(c, bold)]  # fmt: skip
        return "\n".join(parts) + "\n"
    rows = lambda items: _table(_verbose_rows(items, cell), _VERBOSE, fmt)  # noqa: E731
    worst_rows = sorted(c.settings, key=lambda r: _gain(r, c.metric))[:worst]
    parts = [verdict_line(c, bold), "", "Family macros of every measure (↑ higher is better, ↓ lower is better):", rows(macros)]
    if c.seeds != (1, 1):
        parts += ["", f"Seeds: {c.seeds[0]} vs {c.seeds[1]}; between-seed SD of {c.metric}: " + _spreads(c.families)]
    if c.regressions:
        parts += ["", "Regressions:", rows(c.regressions)]
    if c.improvements:
        parts += ["", "Significant improvements:", rows(c.improvements)]
    parts += ["", f"Worst {len(worst_rows)} settings:", rows(worst_rows)]
    parts += [f"\nNote: {cell(note)}" for note in c.notes]
    parts += ["", f"Verdict: {bold}{c.verdict}{bold} (exit code {c.exit_code})"]
    return "\n".join(parts) + "\n"


def _finite(value: Any) -> Any:
    """NaN and infinities as null, so the JSON stays valid (an undefined p, a spread of one seed)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _spreads(families: list[Row]) -> str:
    return "; ".join(f"{r.name} {_fmt(r.spread[0], '.4f')} vs {_fmt(r.spread[1], '.4f')}" for r in families)
