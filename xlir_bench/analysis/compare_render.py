"""`compare` as text or Markdown: one compact table and a verdict by default, every column with --verbose."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from xlir_bench.analysis.compare import Comparison, Row, gain
from xlir_bench.core.constants import FAMILIES
from xlir_bench.core.text import md_cell
from xlir_bench.measures import gated_names, measure

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
    worst_rows = sorted(c.settings, key=lambda r: gain(r, c.metric))[:worst]
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
