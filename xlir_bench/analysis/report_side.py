"""Side by side: every other record against the first, per task, family and measure, with paired statistics.

Nothing is re-derived here: the difference's interval is
:func:`~xlir_bench.bootstrap.paired_difference_interval` (both records resampled
with the same question draws), its p-value the paired randomization test of
:mod:`~xlir_bench.significance` on :func:`~xlir_bench.compare.family_differences`
(questions are the paired unit, as in ``compare``), Holm-corrected across every
row of the section. Tasks whose data files differ between the records are not
compared (their numbers measure different things).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from xlir_bench.analysis.compare import family_differences
from xlir_bench.analysis.report_html import Cell, esc, num, table, text
from xlir_bench.analysis.report_tables import HEADLINE, bootstrap_of, digits, label, task_title
from xlir_bench.core.constants import FAMILIES
from xlir_bench.measures import REGISTRY
from xlir_bench.records.schema import RunRecord, TaskResult
from xlir_bench.stats.bootstrap import paired_difference_interval
from xlir_bench.stats.significance import DEFAULT_PERMUTATIONS, DEFAULT_SEED, holm_bonferroni, randomization_test

MEASURES = (*HEADLINE, "rank_distance")
ALPHA = 0.05


@dataclass
class Difference:
    model: str
    task: str
    family: str
    measure: str
    reference: float
    value: float
    delta: float
    low: float
    high: float
    p: float
    p_holm: float = 1.0


def _pairs(result: TaskResult, name: str, keys: list[str]) -> list[tuple[list[str], object]]:
    settings = result.by_key()
    return [(settings[k].query_ids, settings[k].values(name)) for k in keys]


def _difference(model: str, task: str, ref: TaskResult, other: TaskResult, family: str, name: str, boot) -> Difference | None:
    ref_s, other_s = ref.by_key(), other.by_key()
    keys = sorted(k for k in set(ref_s) & set(other_s) if ref_s[k].family == family and name in ref_s[k].per_query and name in other_s[k].per_query)
    if not keys or name not in ref.macro.get(family, {}) or name not in other.macro.get(family, {}):
        return None
    iv = paired_difference_interval(_pairs(other, name, keys), _pairs(ref, name, keys), *boot)
    p = randomization_test(family_differences(ref, other, family, name), DEFAULT_PERMUTATIONS, DEFAULT_SEED)
    return Difference(model, task, family, name, _macro(ref, keys, name), _macro(other, keys, name), iv.estimate, iv.low, iv.high, p)


def _macro(result: TaskResult, keys: list[str], name: str) -> float:
    settings = result.by_key()
    values = [settings[k].metrics.get(name) for k in keys]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def differences(records: list[tuple[str, RunRecord]]) -> tuple[list[Difference], list[str]]:
    """Rows of every later record against the first; notes name the tasks that could not be compared."""
    (_, ref), rows, notes = records[0], [], []
    for name, record in records[1:]:
        for task in sorted(set(ref.results) & set(record.results)):
            if ref.data.get(task) != record.data.get(task):
                notes.append(f"{name}: {task} was evaluated on other data files (sha256 differ); not compared")
                continue
            for family in FAMILIES:
                for measure in MEASURES:
                    row = _difference(name, task, ref.results[task], record.results[task], family, measure, bootstrap_of(ref))
                    if row is not None:
                        rows.append(row)
    for row, p in zip(rows, holm_bonferroni([r.p for r in rows]), strict=True):
        row.p_holm = float(p)
    return rows, notes


def _mark(row: Difference) -> Cell:
    if row.p_holm >= ALPHA:
        return Cell("–", None, "text")
    better = REGISTRY[row.measure].sign() * row.delta > 0
    return Cell("▲ better" if better else "▼ worse", None, "text sig " + ("better" if better else "worse"))


HEADERS = ["model", "task", "family", "measure", "reference", "model value", "Δ", "95 % interval of Δ", "p (Holm)", "significant"]


def _cells(r: Difference) -> list[Cell]:
    places = digits(r.measure)
    return [
        text(r.model), text(task_title(r.task)), text(r.family), text(label(r.measure)),
        num(r.reference, places), num(r.value, places), _signed(r.delta, places),
        Cell(f"[{r.low:+.{places}f}, {r.high:+.{places}f}]", r.low), _p(r.p_holm), _mark(r),
    ]  # fmt: skip


def side_by_side(records: list[tuple[str, RunRecord]]) -> str:
    """Intro, the mAP (and rank distance) rows with a chart of Δ mAP, then every measure folded away."""
    rows, notes = differences(records)
    reference = records[0][0]
    main = [r for r in rows if r.measure == "map" or (r.measure == "rank_distance" and r.family == "multi")]
    intro = (
        f"<p class='note'>Each record against <b>{esc(reference)}</b> (the first given; 'reference' below), on the "
        "settings both hold. Δ = model − reference macro; interval: paired bootstrap over questions (same draws for "
        f"both records); p: paired randomization test over questions ({DEFAULT_PERMUTATIONS} permutations), "
        f"Holm-corrected across all {len(rows)} rows (so no p can be below {len(rows)}/{DEFAULT_PERMUTATIONS + 1}); "
        f"marked where p (Holm) &lt; {ALPHA}, ▲/▼ in the measure's own direction (lower rank distance is better).</p>"
    )
    chart = delta_chart(main, reference)
    full = f"<details><summary>Every measure ({len(rows)} rows)</summary>{table(HEADERS, [_cells(r) for r in rows])}</details>"
    extra = "".join(f"<p class='note'>{esc(n)}</p>" for n in notes)
    return intro + table(HEADERS, [_cells(r) for r in main]) + chart + full + extra


def delta_chart(rows: list[Difference], reference: str) -> str:
    """Δ mAP with its interval per model, task and family: a dot plot, colour = better / worse / not significant."""
    import plotly.graph_objects as go

    from xlir_bench.analysis.report_html import figure_div
    from xlir_bench.analysis.report_plots import FONT

    rows = [r for r in rows if r.measure == "map"]
    if not rows:
        return ""
    names = [html.escape(f"{r.model} · {r.task} · {r.family}") for r in rows]
    colours = {"better": "#0072B2", "worse": "#D55E00", "n.s.": "#777777"}
    fig = go.Figure()
    for kind, colour in colours.items():
        chosen = [i for i, r in enumerate(rows) if _kind(r) == kind]
        if chosen:
            fig.add_trace(go.Scatter(
                x=[rows[i].delta for i in chosen], y=[names[i] for i in chosen], mode="markers", name=kind,
                marker={"color": colour, "size": 9}, error_x={"type": "data", "symmetric": False,
                "array": [rows[i].high - rows[i].delta for i in chosen], "arrayminus": [rows[i].delta - rows[i].low for i in chosen]},
                hovertemplate="%{y}<br>Δ mAP %{x:+.4f}<extra></extra>",
            ))  # fmt: skip
    fig.add_vline(x=0, line_color="#1f2328", line_width=1)
    fig.update_layout(
        title={"text": html.escape(f"Δ mAP against {reference} (95 % paired bootstrap interval)"), "x": 0},
        height=140 + 26 * len(rows), font=FONT, showlegend=True, plot_bgcolor="white", margin={"l": 260, "r": 30, "t": 60, "b": 50},
        xaxis={"title": {"text": "Δ mAP (model − reference)"}, "zeroline": False, "gridcolor": "#e5e7eb"},
        yaxis={"type": "category", "autorange": "reversed"}, legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )  # fmt: skip
    return figure_div(fig, "delta-map", "Δ mAP per model, task and family against the reference; blue: significantly better, orange: significantly worse, grey: not significant (Holm).")


def _kind(r: Difference) -> str:
    if r.p_holm >= ALPHA:
        return "n.s."
    return "better" if REGISTRY[r.measure].sign() * r.delta > 0 else "worse"


def _signed(value: float, places: int) -> Cell:
    return Cell(f"{value:+.{places}f}", float(value))


def _p(p: float) -> Cell:
    return Cell(f"{p:.3g}", float(p))
