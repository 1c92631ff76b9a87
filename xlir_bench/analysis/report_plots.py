"""The report's charts: ``PLOTS``, one row per figure, drawn with plotly (hover values, a model switcher).

A row names the figure, its caption and a function from one record's task
result to plotly traces (None when the record lacks what the figure needs).
:func:`figure` draws a row for one or several records: with several, every
record's traces are in the figure and a menu shows one record at a time.
Colour scales are viridis / cividis (readable with colour-blind vision and in
grey); categorical colours are Okabe and Ito's palette. Labels from a record are
HTML-escaped before plotly sees them (plotly renders a few tags in labels).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from xlir_bench.core.constants import FAMILIES, MULTI_POOL
from xlir_bench.records.schema import TaskResult

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
FAMILY_COLOURS = {"mono": "#0072B2", "cross": "#E69F00", "multi": "#009E73"}
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 13, "color": "#1f2328"}


def labels(values) -> list[str]:
    return [html.escape(str(v)) for v in values]


def map_matrix(result: TaskResult, metric: str = "map") -> tuple[list[str], list[str], np.ndarray]:
    """Rows: query languages; columns: pool languages then ``all``; NaN where a setting was not run."""
    settings = result.settings
    langs = sorted({s.query_lang for s in settings})
    pools = sorted({s.pool for s in settings if s.pool != MULTI_POOL}) + (
        [MULTI_POOL] if any(s.pool == MULTI_POOL for s in settings) else []
    )
    matrix = np.full((len(langs), len(pools)), np.nan)
    for s in settings:
        value = s.metrics.get(metric)
        matrix[langs.index(s.query_lang), pools.index(s.pool)] = np.nan if value is None else value
    return langs, pools, matrix


def _cells(matrix: np.ndarray) -> list[list[float | None]]:
    return [[None if v != v else float(v) for v in row] for row in matrix]


def _map_heatmap(result: TaskResult) -> list | None:
    import plotly.graph_objects as go

    langs, pools, matrix = map_matrix(result)
    if not langs:
        return None
    return [
        go.Heatmap(
            z=_cells(matrix), x=labels(pools), y=labels(langs), zmin=0, zmax=1, colorscale="Viridis",
            texttemplate="%{z:.3f}", textfont={"size": 13}, colorbar={"title": {"text": "mAP"}, "thickness": 14},
            hovertemplate="questions in %{y}, pool %{x}<br>mAP %{z:.4f}<extra></extra>",
        )
    ]  # fmt: skip


def _family_bars(result: TaskResult) -> list | None:
    import plotly.graph_objects as go

    langs = sorted(result.by_query_lang)
    families = [f for f in FAMILIES if any(f in result.by_query_lang[lang] for lang in langs)]
    return [
        go.Bar(
            name=family, x=labels(langs), marker_color=FAMILY_COLOURS[family],
            y=[result.by_query_lang[lang].get(family, {}).get("map") for lang in langs],
            hovertemplate=f"{family}, questions in %{{x}}<br>macro mAP %{{y:.4f}}<extra></extra>",
        )
        for family in families
    ] or None  # fmt: skip


def _quartiles(values: list) -> dict[str, float] | None:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    p5, q1, median, q3, p95 = np.percentile(v, [5, 25, 50, 75, 95])
    return {"lowerfence": p5, "q1": q1, "median": median, "q3": q3, "upperfence": p95, "mean": float(v.mean())}


def _boxes(result: TaskResult, measure: str, shift: float) -> list | None:
    """Box per query language of the multilingual settings: 5th, 25th, 50th, 75th, 95th percentile and mean."""
    import plotly.graph_objects as go

    multi = sorted((s for s in result.settings if s.family == "multi" and measure in s.per_query), key=lambda s: s.query_lang)
    stats = [(s.query_lang, _quartiles(s.per_query[measure])) for s in multi]
    stats = [(lang, q) for lang, q in stats if q]
    if not stats:
        return None
    column = {key: [q[key] + shift for _, q in stats] for key in stats[0][1]}
    return [go.Box(x=labels(lang for lang, _ in stats), name=measure, marker_color="#0072B2", boxmean=True, **column)]


def _rank_distance(result: TaskResult) -> list | None:
    return _boxes(result, "rank_distance", 1.0)


def _rank_distance_norm(result: TaskResult) -> list | None:
    return _boxes(result, "rank_distance_norm", 0.0)


def _bias(result: TaskResult) -> dict[str, Any] | None:
    bias = result.extra.get("bias")
    return bias if isinstance(bias, dict) and bias.get("rank_matrix") else None


def _median_rank(result: TaskResult) -> list | None:
    """Median pool rank of the answer in language Y for questions in X; colour on a log scale, text the rank."""
    import plotly.graph_objects as go

    bias = _bias(result)
    if bias is None:
        return None
    rows, cols = sorted(bias["rank_matrix"]), list(bias["pool_langs"])
    ranks = np.array([[bias["rank_matrix"][x].get(y, {}).get("median") or np.nan for y in cols] for x in rows], float)
    top = max(1.0, float(np.ceil(np.log10(np.nanmax(ranks))))) if np.isfinite(ranks).any() else 1.0
    ticks = [10.0**k for k in range(int(top) + 1)]
    return [
        go.Heatmap(
            z=_cells(np.log10(ranks)), x=labels(cols), y=labels(rows), customdata=_cells(ranks), zmin=0, zmax=top,
            colorscale="Cividis", reversescale=True, texttemplate="%{text}", textfont={"size": 13},
            text=[["" if v != v else f"{v:,.0f}" for v in row] for row in ranks],
            colorbar={"title": {"text": "median rank"}, "tickvals": list(range(len(ticks))), "thickness": 14,
                      "ticktext": [f"{t:,.0f}" for t in ticks]},
            hovertemplate="questions in %{y}, answer in %{x}<br>median rank %{customdata:,.1f}<extra></extra>",
        )
    ]  # fmt: skip


def _first_answer(result: TaskResult) -> list | None:
    """Share of questions in X whose best-ranked answer is in language Y."""
    import plotly.graph_objects as go

    bias = _bias(result)
    if bias is None or not bias.get("first_answer_language"):
        return None
    share = bias["first_answer_language"]
    rows, cols = sorted(share), list(bias["pool_langs"])
    z = [[share[x].get(y, 0.0) for y in cols] for x in rows]
    return [
        go.Heatmap(
            z=z, x=labels(cols), y=labels(rows), zmin=0, zmax=1, colorscale="Viridis", texttemplate="%{z:.0%}", textfont={"size": 13},
            colorbar={"title": {"text": "share"}, "tickformat": ".0%", "thickness": 14},
            hovertemplate="questions in %{y}: first answer in %{x}<br>%{z:.1%} of questions<extra></extra>",
        )
    ]  # fmt: skip


_GRID = {"xaxis": {"type": "category", "title": {"text": "pool (candidate language)"}},
         "yaxis": {"type": "category", "autorange": "reversed", "title": {"text": "query language"}}}  # fmt: skip
_ANSWER = {**_GRID, "xaxis": {"type": "category", "title": {"text": "language of the answer"}}}
_BY_LANG = {"xaxis": {"type": "category", "title": {"text": "query language"}}}


@dataclass(frozen=True)
class Plot:
    key: str
    title: str
    caption: str
    traces: Callable[[TaskResult], list | None]
    layout: dict[str, Any]
    square: bool = False  # a language x language grid: height follows the number of rows
    log_y: bool = False  # a log y axis whose range is widened to whole powers of ten (every one labelled)


PLOTS: tuple[Plot, ...] = (
    Plot("map", "mAP, query language × pool", "mAP of every setting: mono on the diagonal, cross off it, the multilingual pool 'all' in the last column. Hover for 4 decimals.", _map_heatmap, _GRID, True),
    Plot("bars", "macro mAP per query language", "mono, cross and multi macro mAP of each query language.", _family_bars, {**_BY_LANG, "barmode": "group", "yaxis": {"range": [0, 1], "title": {"text": "macro mAP"}}}),
    Plot("rank_distance", "rank distance (multilingual pool)", "Rank distance (max − min pool rank of a question's parallel answers) + 1, log scale; box: quartiles, whiskers: 5th and 95th percentiles, dashed: mean.", _rank_distance, {**_BY_LANG, "showlegend": False, "yaxis": {"type": "log", "dtick": 1, "tickformat": ",d", "title": {"text": "rank distance + 1"}}}, log_y=True),
    Plot("rank_distance_norm", "normalised rank distance", "Rank distance divided by its expectation under random ranking, (N + 1)(R - 1)/(R + 1) (1: as far apart as chance puts them, (R - 1)/E: answers side by side); whiskers: 5th and 95th percentiles.", _rank_distance_norm, {**_BY_LANG, "showlegend": False, "yaxis": {"rangemode": "tozero", "title": {"text": "rank distance / chance"}}}),
    Plot("median_rank", "median rank of the answer per language", "The median multilingual-pool rank of the answer in each language (columns) for questions in each language (rows); the diagonal is the question's own language. Colour on a log scale.", _median_rank, _ANSWER, True),
    Plot("first_answer", "language of the first answer", "Share of questions (rows: their language) whose best-ranked answer is in each language (columns).", _first_answer, _ANSWER, True),
)  # fmt: skip


def figure(plot: Plot, results: list[tuple[str, TaskResult]], title: str):
    """``plot`` for each (record name, task result); a menu switches records when there are several. None: no data."""
    import plotly.graph_objects as go

    drawn = [(name, plot.traces(result)) for name, result in results]
    drawn = [(name, traces) for name, traces in drawn if traces]
    if not drawn:
        return None
    fig = go.Figure()
    owner = []
    for k, (_, traces) in enumerate(drawn):
        for trace in traces:
            trace.visible = k == 0
            fig.add_trace(trace)
            owner.append(k)
    rows = max(len(t.y) if t.y is not None else 0 for _, traces in drawn for t in traces) if plot.square else 0
    fig.update_layout(_layout(plot, title, rows, bool(len(drawn) > 1)))
    if plot.log_y:
        fig.update_yaxes(range=_decades([t for _, traces in drawn for t in traces]))
    if len(drawn) > 1:
        fig.update_layout(updatemenus=[_switcher([name for name, _ in drawn], owner)])
    return fig


def _decades(traces) -> list[float]:
    """log10 range from the power of ten below the lowest whisker to the one above the highest."""
    low = min(min(t.lowerfence) for t in traces)
    high = max(max(t.upperfence) for t in traces)
    return [float(np.floor(np.log10(max(low, 1e-9)))), float(np.ceil(np.log10(max(high, 1.0))))]


def _layout(plot: Plot, title: str, rows: int, menu: bool) -> dict[str, Any]:
    height = max(320, 140 + 34 * rows) if plot.square else 420
    return {
        **plot.layout,
        # the title at the top of the figure, the record menu (if any) between it and the plot
        "title": {"text": html.escape(f"{title}: {plot.title}"), "x": 0, "xanchor": "left", "xref": "paper",
                  "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 12}},
        "height": height + (40 if menu else 0),
        "margin": {"l": 70, "r": 30, "t": 110 if menu else 60, "b": 60},
        "font": FONT,
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    }


def _switcher(names: list[str], owner: list[int]) -> dict[str, Any]:
    buttons = [
        {"label": html.escape(name), "method": "update", "args": [{"visible": [o == k for o in owner]}]}
        for k, name in enumerate(names)
    ]
    return {"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
            "pad": {"b": 12}, "showactive": True, "bgcolor": "#f6f8fa", "bordercolor": "#d1d9e0"}  # fmt: skip
