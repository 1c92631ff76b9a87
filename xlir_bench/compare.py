"""Compare two run records setting by setting, with paired significance tests: a CI regression gate.

For every setting both records share: baseline and candidate means of the
metric, the delta, a paired randomization test and a paired t-test over the
per-query scores, and Holm-Bonferroni correction across settings. For every
family macro (mono, cross, multi) the same, with questions as the paired unit:
a question's contribution is its differences summed over the family's settings,
each weighted by 1 / (settings x queries of that setting), so the contributions
add up to exactly the macro delta, and parallel versions of one question move
together under the randomization.

Every other registered per-query measure with a direction (the language-bias
measures among them: rank distance, same-language shares ...) is compared the
same way at the family-macro level, each in its own direction, with Holm
correction across those rows.

Verdict: *regression* (exit 1) when a family macro of ``metric`` drops by more
than ``max_drop``, or a setting drops by more than ``max_setting_drop`` with a
Holm-corrected randomization p below ``alpha``, or another measure's family
macro worsens by more than ``max_relative_change`` (relative) with a
Holm-corrected p below ``alpha``; otherwise *pass* (exit 0).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .constants import FAMILIES, LEADERBOARD_ENV
from .errors import XlirError
from .measures import gated_names, measure, nan_mean
from .runrecord import RunRecord, SettingResult, TaskResult, load_record
from .significance import (
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    holm_bonferroni,
    paired_t_test,
    question_contributions,
    randomization_test,
)
from .text import md_cell


@dataclass
class Row:
    """One compared unit: a setting (``task:X->pool``) or a family macro (``task:family``)."""

    task: str
    name: str
    family: str
    n: int
    baseline: float
    candidate: float
    delta: float
    p_randomization: float
    p_ttest: float
    p_holm: float | None = None
    regressed: bool = False
    improved: bool = False
    metric: str = "map"


@dataclass
class Comparison:
    metric: str
    baseline: str
    candidate: str
    settings: list[Row]
    families: list[Row]
    thresholds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    measures: list[Row] = field(default_factory=list)  # family macros of every other gated measure

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
            "thresholds": self.thresholds,
            "notes": self.notes,
            "families": [asdict(r) for r in self.families],
            "settings": [asdict(r) for r in self.settings],
            "measures": [asdict(r) for r in self.measures],
        }

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.families + self.settings])


def _gain(row: Row, metric: str) -> float:
    """The change in the measure's own direction: positive is better."""
    return measure(metric).sign() * row.delta


def resolve_record(ref: str) -> tuple[str, RunRecord]:
    """A run record path, or ``leaderboard:NAME`` for the newest leaderboard record of model NAME."""
    if not ref.startswith("leaderboard:"):
        return ref, load_record(ref)
    name = ref.split(":", 1)[1]
    from .leaderboard import default_runs_folder

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


@dataclass(frozen=True)
class Gate:
    """The thresholds of the verdict and the size and seed of the randomization tests."""

    max_drop: float = 0.01
    max_setting_drop: float = 0.03
    alpha: float = 0.05
    max_relative_change: float = 0.05
    n_permutations: int = DEFAULT_PERMUTATIONS
    seed: int = DEFAULT_SEED


def compare(
    baseline_ref: str,
    candidate_ref: str,
    metric: str = "map",
    max_drop: float = 0.01,
    max_setting_drop: float = 0.03,
    alpha: float = 0.05,
    allow_mismatch: bool = False,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    max_relative_change: float = 0.05,
) -> Comparison:
    """Compare two run records (paths or ``leaderboard:NAME``); see the module docstring for the verdict."""
    gate = Gate(max_drop, max_setting_drop, alpha, max_relative_change, n_permutations, seed)
    base_name, baseline = resolve_record(baseline_ref)
    cand_name, candidate = resolve_record(candidate_ref)
    common, notes = _common(baseline, candidate, allow_mismatch)
    settings, families = _rows(baseline, candidate, common, metric, gate)
    if not settings:
        raise XlirError(
            f"--metric {metric}: no common setting keeps it per query; use map, recall@10, ndcg@10 or mrr@10"
        )
    _flag_headline(settings, families, metric, gate)
    others = [
        row
        for name in gated_names()
        if name != metric
        for row in _rows(baseline, candidate, common, name, gate, settings_too=False)[1]
    ]
    _flag_others(others, gate)
    floor = holm_floor(len(settings), n_permutations)
    if floor >= alpha:
        notes.append(
            f"with {len(settings)} settings and {n_permutations} permutations the smallest Holm-corrected "
            f"p is {floor:.3g} >= alpha {alpha}: no setting can be flagged; raise --permutations"
        )
    thresholds = {k: v for k, v in asdict(gate).items()}
    thresholds["permutations"] = thresholds.pop("n_permutations")
    label = lambda name, record: f"{record.model_name} ({name}, {record.fingerprint[:8]})"  # noqa: E731
    return Comparison(
        metric, label(base_name, baseline), label(cand_name, candidate), settings, families, thresholds, notes, others
    )


def _rows(
    baseline, candidate, common, metric: str, gate: Gate, settings_too: bool = True
) -> tuple[list[Row], list[Row]]:
    """Setting rows (unless not ``settings_too``) and family-macro rows of one measure, over the settings that
    keep it per query. The other gated measures are judged on their family macros only, so their per-setting
    randomization tests (most of a comparison's time) are skipped."""
    settings, families = [], []
    for task, keys in common.items():
        b_settings, c_settings = _settings_of(baseline, task), _settings_of(candidate, task)
        per_family: dict[str, list[tuple[list[str], np.ndarray]]] = {}
        for key in keys:
            if metric not in b_settings[key].per_query or metric not in c_settings[key].per_query:
                continue  # e.g. rank distance exists for multilingual pools only
            qids, b, c = _paired(b_settings[key], c_settings[key], metric)
            d = c - b
            per_family.setdefault(b_settings[key].family, []).append((qids, d))
            if not settings_too:
                continue
            p_rand, p_t = randomization_test(d, gate.n_permutations, gate.seed), paired_t_test(d)
            row = Row(
                task,
                f"{task}:{key}",
                b_settings[key].family,
                len(qids),
                nan_mean(b),
                nan_mean(c),
                nan_mean(d),
                p_rand,
                p_t,
            )
            row.metric = metric
            settings.append(row)
        for family in FAMILIES:
            if family in per_family:
                row = _family_row(task, family, per_family[family], b_settings, c_settings, keys, metric, gate)
                families.append(row)
    return settings, families


def _flag_headline(settings: list[Row], families: list[Row], metric: str, gate: Gate) -> None:
    sign = measure(metric).sign()
    for row, p in zip(settings, holm_bonferroni([r.p_randomization for r in settings]), strict=True):
        row.p_holm = float(p)
        drop = -sign * row.delta
        row.regressed = drop > gate.max_setting_drop and p < gate.alpha
        row.improved = drop < 0 and p < gate.alpha
    for row in families:
        row.regressed = -sign * row.delta > gate.max_drop


def _flag_others(rows: list[Row], gate: Gate) -> None:
    """Other measures: significant (Holm across these rows) and worse by more than the relative tolerance."""
    for row, p in zip(rows, holm_bonferroni([r.p_randomization for r in rows]), strict=True):
        row.p_holm = float(p)
        worse = -measure(row.metric).sign() * row.delta
        scale = max(abs(row.baseline), 1e-12)
        row.regressed = p < gate.alpha and worse / scale > gate.max_relative_change
        row.improved = p < gate.alpha and worse < 0


def holm_floor(n_settings: int, n_permutations: int) -> float:
    """The smallest Holm-corrected p a Monte Carlo randomization test can give: m / (permutations + 1)."""
    return n_settings / (n_permutations + 1)


def _family_row(task, family, parts, b_settings, c_settings, keys, metric, gate: Gate) -> Row:
    """Macro delta of a family, tested with questions as the paired unit (see module docstring)."""
    values = question_contributions(parts)
    in_family = [k for k in keys if b_settings[k].family == family and metric in b_settings[k].per_query]
    mean = lambda settings: float(nan_mean(settings[k].metrics.get(metric) for k in in_family))  # noqa: E731
    base, cand = mean(b_settings), mean(c_settings)
    p_rand = randomization_test(values, gate.n_permutations, gate.seed)
    row = Row(task, f"{task}:{family}", family, len(values), base, cand, cand - base, p_rand, paired_t_test(values))
    row.metric = metric
    return row


_ROW_HEADERS = ["", "measure", "setting", "n", "baseline", "candidate", "delta", "p (rand.)", "p (t)", "p (Holm)"]
_ARROW = {1.0: " ↑", -1.0: " ↓", 0.0: ""}


def _row_table(items: list[Row], fmt: str, cell) -> str:
    """Rows of a comparison as a table (GitHub markdown or plain text); ``cell`` escapes the setting names."""
    from tabulate import tabulate

    out = []
    for r in items:
        mark = "REGRESSED" if r.regressed else ("improved" if r.improved else "")
        out.append(
            [
                mark,
                r.metric + _ARROW[measure(r.metric).sign()],
                cell(r.name),
                r.n,
                f"{r.baseline:.4f}",
                f"{r.candidate:.4f}",
                f"{r.delta:+.4f}",
                f"{r.p_randomization:.4g}",
                f"{r.p_ttest:.4g}",
                "" if r.p_holm is None else f"{r.p_holm:.4g}",
            ]
        )
    return tabulate(out, headers=_ROW_HEADERS, tablefmt="github" if fmt == "md" else "simple", disable_numparse=True)


def render(comparison: Comparison, fmt: str = "text", worst: int = 10) -> str:
    """The report as ``text``, ``md`` (a pull-request comment) or ``json``."""
    if fmt == "json":
        return json.dumps(comparison.to_dict(), indent=2, allow_nan=False, default=lambda v: None)
    cell = md_cell if fmt == "md" else (lambda value: " ".join(str(value).split()))
    rows = partial(_row_table, fmt=fmt, cell=cell)
    c = comparison
    bold = "**" if fmt == "md" else ""
    summary = (
        f"{bold}{c.verdict}{bold}: {cell(c.candidate)} vs {cell(c.baseline)} on {c.metric} — "
        f"{sum(r.regressed for r in c.settings)} regressed / {len(c.improvements)} significantly improved "
        f"of {len(c.settings)} settings (max drop {c.thresholds['max_drop']} per family macro, "
        f"{c.thresholds['max_setting_drop']} per setting at Holm-corrected p < {c.thresholds['alpha']})"
    )
    worst_rows = sorted(c.settings, key=lambda r: _gain(r, c.metric))[:worst]
    order = {name: i for i, name in enumerate(gated_names())}
    macros = sorted(c.families + c.measures, key=lambda r: (r.task, FAMILIES.index(r.family), order.get(r.metric, -1)))
    parts = [summary, "", "Family macros of every measure (↑ higher is better, ↓ lower is better):", rows(macros)]
    if c.regressions:
        parts += ["", "Regressions:", rows(c.regressions)]
    if c.improvements:
        parts += ["", "Significant improvements:", rows(c.improvements)]
    parts += ["", f"Worst {len(worst_rows)} settings:", rows(worst_rows)]
    parts += [f"\nNote: {cell(note)}" for note in c.notes]
    parts += ["", f"Verdict: {bold}{c.verdict}{bold} (exit code {c.exit_code})"]
    return "\n".join(parts) + "\n"
