"""Report: one self-contained, interactive HTML page for one or several run records.

At the top, what the records cover (tasks, languages, families, settings) and
the models; then per task: the family macros and every setting with 95 %
intervals (sortable tables), and the charts of :data:`~xlir_bench.report_plots.PLOTS`
(query language x pool heatmap, per-language bars, rank-distance distributions,
the language-bias views), each with a menu to switch records when there are
several; then, for several records, each against the first with paired
intervals and tests (:mod:`~xlir_bench.report_side`). plotly.js is inlined, so
the page opens with no network. Needs plotly (``pip install 'xlir-bench[report]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlir_bench.analysis.report_html import esc, figure_div, num, page, table, text
from xlir_bench.analysis.report_plots import PLOTS, figure, map_matrix
from xlir_bench.analysis.report_side import side_by_side
from xlir_bench.analysis.report_tables import (
    HEADLINE,
    bias_measures,
    bootstrap_of,
    family_table,
    model_table,
    provenance,
    selection_table,
    setting_table,
    task_order,
    task_title,
)
from xlir_bench.core.errors import XlirError
from xlir_bench.records.schema import RunRecord

__all__ = ["map_matrix", "names_of", "render_report"]

BIAS_NOTE = (
    "<p class='note'>rank distance: max − min pool rank of a question's parallel answers (lower: answers in all "
    "languages ranked together); same-lang: shares of the top 10 and of first answers in the question's own language "
    "(lower: less preference for it).</p>"
)
SCRIPT_NOTE = "Click a column header to sort; hover a chart for values; the menu above a chart switches records."


def names_of(paths: list[str], records: list[RunRecord]) -> list[str]:
    """Model names, with the record's file name added where two records share a model name."""
    counts = {}
    for record in records:
        counts[record.model_name] = counts.get(record.model_name, 0) + 1
    return [
        r.model_name if counts[r.model_name] == 1 else f"{r.model_name} ({Path(p).name.split('.')[0]})"
        for p, r in zip(paths, records, strict=True)
    ]


def render_report(records: RunRecord | list[tuple[str, RunRecord]]) -> str:
    """The self-contained HTML report of one record, or of several (name, record) pairs side by side."""
    named = [(records.model_name, records)] if isinstance(records, RunRecord) else list(records)
    title = "xlir-bench report: " + ", ".join(name for name, _ in named)
    tasks = sorted({task for _, r in named for task in r.results}, key=task_order)
    nav = " · ".join(f"<a href='#task-{esc(t)}'>{esc(task_title(t))}</a>" for t in tasks)
    side = "<a href='#side-by-side'>side by side</a>" if len(named) > 1 else ""
    body = [
        f"<h1>{esc(title)}</h1><p class='note'>{esc(SCRIPT_NOTE)}</p><p>{nav}{' · ' + side if side else ''}</p>",
        "<h2>What the records cover</h2>",
        selection_table(named),
        model_table(named),
        provenance(named),
    ]
    body += [_task_section(task, [(n, r) for n, r in named if task in r.results]) for task in tasks]
    if len(named) > 1:
        body.append("<h2 id='side-by-side'>Side by side</h2>" + side_by_side(named))
    return page(title, "\n".join(body), charts=True)


def _task_section(task: str, named: list[tuple[str, RunRecord]]) -> str:
    title = task_title(task)
    results = [(name, record.results[task]) for name, record in named]
    parts = [
        f"<h2 id='task-{esc(task)}'>{esc(title)}</h2>",
        "<h3>Family macros</h3>",
        family_table(results, list(HEADLINE)),
        "<p class='note'>value ± half the 95 % bootstrap interval (questions resampled) where the record has intervals.</p>",
    ]
    bias = bias_measures([r for _, r in results])
    if bias:
        parts += ["<h3>Language bias (multilingual pool)</h3>", family_table(results, bias, ("multi",)), BIAS_NOTE]
    parts += [_robustness(name, record, task) for name, record in named if task in (record.extra.get("robustness") or {})]
    settings = [(name, record.results[task], bootstrap_of(record)) for name, record in named]
    count = sum(len(r.settings) for _, r, _ in settings)
    parts.append(f"<details open><summary>Every setting ({count} rows; 95 % bootstrap intervals over questions)</summary>"
                 f"<div class='tall'>{setting_table(settings)}</div></details>")  # fmt: skip
    parts.append(f"<h3 id='plots-{esc(task)}'>Charts</h3>")
    skipped = []
    for plot in PLOTS:
        fig = figure(plot, results, title)
        if fig is None:
            skipped.append(plot.title)
        else:
            parts.append(figure_div(fig, f"{plot.key}-{task}", plot.caption))
    if skipped:  # an older or smaller record: say what is missing rather than leave a silent gap
        parts.append(f"<p class='note'>Not drawn, the record{'s' if len(named) > 1 else ''} lacking what they need: {esc('; '.join(skipped))}.</p>")
    return "\n".join(parts)


def _robustness(name: str, record: RunRecord, task: str) -> str:
    """Perturbed / clean mAP per family (rows: query languages, then the macro) and a few example questions."""
    try:
        return _robustness_html(name, record.extra["robustness"][task], record.extra["perturbation"], task)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise XlirError(f"record: its robustness section is malformed ({type(exc).__name__}); re-run with --perturb") from exc


def _robustness_html(name: str, robustness: dict[str, Any], perturbation: dict[str, Any], task: str) -> str:
    families = list(robustness["macro"])
    rows = [
        [text(label)] + [num(values.get(f, {}).get("map"), 3) for f in families]
        for label, values in [*sorted(robustness["by_query_lang"].items()), ("macro", robustness["macro"])]
    ]
    spec = " + ".join(map(str, perturbation["spec"]))
    examples = [e for lang in sorted(perturbation["examples"].get(task, {})) for e in perturbation["examples"][task][lang][:1]]
    items = "".join(f"<li>{esc(e['clean'])} &rarr; {esc(e['perturbed'])}</li>" for e in examples)
    return (
        f"<h3>{esc(name)}: robustness to {esc(spec)} (perturbed / clean mAP)</h3>"
        + table(["query language", *families], rows)
        + f"<p class='note'>Examples:</p><ul>{items}</ul>"
    )
