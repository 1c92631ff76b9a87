"""Every row of the report's plot table keeps the contract: drawn for one record and for several (with a menu
that shows one record at a time), labelled, self-contained, and skipped with a note when a record lacks its data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xlir_bench.analysis.report import render_report
from xlir_bench.analysis.report_html import figure_div
from xlir_bench.analysis.report_plots import PLOTS, figure
from xlir_bench.records.schema import RunRecord, load_record

pytest.importorskip("plotly")
RUNS = Path(__file__).resolve().parents[2] / "leaderboard" / "runs"


@pytest.fixture(scope="module")
def records() -> list[tuple[str, RunRecord]]:
    """Two committed records of XQuAD-R (bias sections included); the first made as if before the normalised
    rank distance existed (the measure removed), the second holding one."""
    first, second = load_record(RUNS / "bm25.json.gz"), load_record(RUNS / "muse-xquad-r.json.gz")
    for setting in (s for result in first.results.values() for s in result.settings):
        setting.per_query.pop("rank_distance_norm", None)
    for setting in second.results["xquad-r"].settings:
        if "rank_distance" in setting.per_query and "rank_distance_norm" not in setting.per_query:
            # a record from before the measure: a stand-in with its range, for drawing only
            setting.per_query["rank_distance_norm"] = [None if v is None else v / 12000 for v in setting.per_query["rank_distance"]]
    return [("bm25", first), ("muse", second)]


@pytest.mark.parametrize("plot", PLOTS, ids=lambda plot: plot.key)
def test_each_plot_draws_for_one_and_for_several_records(plot, records):
    results = [(name, record.results["xquad-r"]) for name, record in records]
    one = figure(plot, results[-1:], "XQuAD-R")
    assert one is not None and one.layout.title.text and "updatemenus" not in one.to_plotly_json()["layout"]
    several = figure(plot, results, "XQuAD-R")
    drawn = [name for name, result in results if plot.traces(result)]
    if len(drawn) > 1:
        buttons = several.layout.updatemenus[0].buttons
        assert [b.label for b in buttons] == drawn
        assert all(sum(b.args[0]["visible"]) == len(several.data) // len(drawn) for b in buttons)
    axes = several.layout.xaxis.title.text, several.layout.yaxis.title.text
    assert all(axes), axes  # every axis says what it shows
    html = figure_div(several, plot.key, plot.caption)
    assert not re.search(r"<script[^>]*\bsrc=|<link\b", html) and plot.caption.split()[0] in html


def test_a_record_without_a_plots_data_gets_a_note_not_a_gap(records):
    page = render_report(records[:1])  # bm25 has no normalised rank distance
    assert "Not drawn, the record lacking what they need: normalised rank distance" in page
    specs = re.findall(r"<div id='([^']+)' class='plot'>", page)
    assert "rank_distance_norm-xquad-r" not in specs and "map-xquad-r" in specs
    assert len(specs) == (len(PLOTS) - 1) * len(records[0][1].results)
