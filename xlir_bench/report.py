"""Report: one self-contained HTML page per run record, plots inlined as PNG.

Per task: the query-language x pool mAP heatmap (mono on the diagonal, cross
off it, the multilingual pool in the last column), mono/cross/multi mAP per
query language, and the distribution of rank distance per query language;
then the record's metadata (model, fingerprint, data checksums, versions,
timings). Needs matplotlib (``pip install 'xlir-bench[report]'``).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from .constants import MULTI_POOL
from .errors import XlirError
from .measures import REGISTRY
from .runrecord import RunRecord, SettingResult, TaskResult
from .tasks import registry
from .text import with_interval

# Macro columns of the report's tables: the headline measures, then the bias measures.
REPORTED = ("map", "recall@10", "ndcg@10", "mrr@10", *(n for n, m in REGISTRY.items() if m.scope == "multi"))


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise XlirError(
            "report: matplotlib is not installed; pip install 'xlir-bench[report]' (in a checkout: pip install '.[report]')"
        ) from exc
    matplotlib.use("Agg")  # headless: no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def _plain(labels):
    """Names from a record as matplotlib text: a '$' would start a formula (and fail), so it is escaped."""
    if isinstance(labels, str):
        return labels.replace("$", r"\$")
    return [_plain(label) for label in labels]


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    fig.clf()
    return base64.b64encode(buffer.getvalue()).decode("ascii")


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


def _heatmap(plt, title: str, langs, pools, matrix) -> str:
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(pools), 0.9 + 0.5 * len(langs)))
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(pools)), _plain(pools))
    ax.set_yticks(range(len(langs)), _plain(langs))
    ax.set_xlabel("pool (candidate language)")
    ax.set_ylabel("query language")
    if "all" in pools:
        ax.axvline(len(pools) - 1.5, color="white", linewidth=2)
    for (row, col), value in np.ndenumerate(matrix):
        if not np.isnan(value):
            ax.text(
                col,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value < 0.55 else "black",
            )
    fig.colorbar(image, ax=ax, fraction=0.04, label="mAP")
    ax.set_title(title)
    return _png(fig)


def _family_bars(plt, title: str, by_lang: dict[str, Any]) -> str:
    langs = sorted(by_lang)
    families = [f for f in ("mono", "cross", "multi") if any(f in by_lang[lang] for lang in langs)]
    fig, ax = plt.subplots(figsize=(1.2 + 0.65 * len(langs), 3.2))
    width = 0.8 / max(len(families), 1)
    for i, family in enumerate(families):
        values = [by_lang[lang].get(family, {}).get("map") or 0.0 for lang in langs]
        ax.bar(np.arange(len(langs)) + (i - (len(families) - 1) / 2) * width, values, width, label=_plain(family))
    ax.set_xticks(range(len(langs)), _plain(langs))
    ax.set_ylabel("macro mAP")
    ax.set_ylim(0, 1)
    ax.legend(ncols=3, fontsize=8, loc="upper right")
    ax.set_title(title)
    return _png(fig)


def _rank_distance_boxes(plt, title: str, settings: list[SettingResult]) -> str | None:
    multi = sorted((s for s in settings if s.family == "multi"), key=lambda s: s.query_lang)
    if not multi:
        return None
    data = [[v for v in s.per_query.get("rank_distance", []) if v is not None] for s in multi]
    if not any(data):  # one language: no parallel answers, no distances to draw
        return None
    fig, ax = plt.subplots(figsize=(1.2 + 0.65 * len(multi), 3.2))
    ax.boxplot([np.asarray(d) + 1 for d in data], showfliers=False)
    ax.set_xticks(range(1, len(multi) + 1), _plain([s.query_lang for s in multi]))
    ax.set_yscale("log")
    ax.set_ylabel("rank distance + 1 (log)")
    ax.set_xlabel("query language (multilingual pool)")
    ax.set_title(title)
    return _png(fig)


def _rank_matrix_heatmap(plt, title: str, bias: dict[str, Any]) -> str:
    """Median pool rank of the answer in language Y (columns) for questions in X (rows); log colour scale."""
    from matplotlib.colors import LogNorm

    rows, cols = sorted(bias["rank_matrix"]), list(bias["pool_langs"])
    matrix = np.array(
        [[bias["rank_matrix"][x].get(y, {}).get("median") or np.nan for y in cols] for x in rows], dtype=float
    )
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(cols), 0.9 + 0.5 * len(rows)))
    image = ax.imshow(
        np.ma.masked_invalid(matrix), cmap="magma_r", norm=LogNorm(vmin=1, vmax=max(np.nanmax(matrix), 2))
    )
    ax.set_xticks(range(len(cols)), _plain(cols))
    ax.set_yticks(range(len(rows)), _plain(rows))
    ax.set_xlabel("language of the answer")
    ax.set_ylabel("query language")
    for (row, col), value in np.ndenumerate(matrix):
        if not np.isnan(value):
            ax.text(
                col, row, f"{value:.0f}", ha="center", va="center", fontsize=7, color="white" if value > 30 else "black"
            )
    fig.colorbar(image, ax=ax, fraction=0.04, label="median pool rank (log)")
    ax.set_title(title)
    return _png(fig)


def _first_answer_bars(plt, title: str, bias: dict[str, Any]) -> str:
    """Which language the best-ranked answer comes from, per query language (stacked shares)."""
    rows, cols = sorted(bias["first_answer_language"]), list(bias["pool_langs"])
    fig, ax = plt.subplots(figsize=(1.6 + 0.65 * len(rows), 3.4))
    bottom = np.zeros(len(rows))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(cols), 2)))
    for j, lang in enumerate(cols):
        shares = np.array([bias["first_answer_language"][x].get(lang, 0.0) for x in rows])
        ax.bar(
            range(len(rows)),
            shares,
            bottom=bottom,
            color=colours[j],
            label=_plain(lang),
            edgecolor="white",
            linewidth=0.3,
        )
        bottom += shares
    ax.set_xticks(range(len(rows)), _plain(rows))
    ax.set_xlabel("query language")
    ax.set_ylabel("share of questions")
    ax.set_ylim(0, 1)
    ax.legend(title="first answer in", fontsize=7, ncols=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_title(title)
    return _png(fig)


def _macro_error_bars(plt, title: str, result: TaskResult) -> str | None:
    """Family macro mAP with its 95 % bootstrap interval."""
    intervals = result.extra.get("intervals", {})
    families = [f for f in ("mono", "cross", "multi") if f in result.macro and result.macro[f].get("map") is not None]
    if not families:
        return None
    values = [result.macro[f]["map"] for f in families]
    ci = [intervals.get(f, {}).get("map") or [v, v] for f, v in zip(families, values, strict=True)]
    errors = np.array([[v - low, high - v] for v, (low, high) in zip(values, ci, strict=True)]).T
    fig, ax = plt.subplots(figsize=(3.2, 3.0))
    ax.bar(families, values, yerr=errors, capsize=6, color=["#4c72b0", "#dd8452", "#55a868"][: len(families)])
    ax.set_ylim(0, 1)
    ax.set_ylabel("macro mAP (95 % interval)")
    ax.set_title(title)
    return _png(fig)


def _img(png: str, alt: str) -> str:
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{png}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _meta_table(record: RunRecord) -> str:
    rows = [("model", record.model_name), ("fingerprint", record.fingerprint), ("created", record.created)]
    rows += [(f"data {path}", sha) for task in sorted(record.data) for path, sha in sorted(record.data[task].items())]
    rows += [(f"version {name}", version) for name, version in sorted(record.versions.items())]
    rows += [(f"timing {name}", f"{value:.2f} s") for name, value in record.timings.items() if value is not None]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(str(v))}</code></td></tr>" for k, v in rows)
    return f"<table class='meta'>{body}</table>"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
figure{display:inline-block;margin:0 1.5em 1.5em 0;vertical-align:top}figcaption{font-size:.85em;color:#555}
table.meta th{text-align:left;padding-right:1em;font-weight:500}table.meta td{font-size:.85em}
table.macro{border-collapse:collapse}table.macro td,table.macro th{border:1px solid #ccc;padding:.2em .6em;text-align:right}"""


def _macro_table(result: TaskResult) -> str:
    names = [name for name in REPORTED if any(name in metrics for metrics in result.macro.values())]
    head = "".join(f"<th>{html.escape(REGISTRY[n].label)}</th>" for n in names)
    head = "<th>family</th>" + head
    rows = []
    intervals = result.extra.get("intervals", {})
    for family, metrics in result.macro.items():
        cells = "".join(
            f"<td>{html.escape(with_interval(metrics.get(n), intervals.get(family, {}).get(n), 1 if n == 'rank_distance' else 4))}</td>"
            for n in names
        )
        rows.append(f"<tr><th>{html.escape(family)}</th>{cells}</tr>")
    return f"<table class='macro'><tr>{head}</tr>{''.join(rows)}</table>"


def _robustness_table(record: RunRecord, task: str) -> str:
    """Perturbed / clean mAP per family (rows: query languages, then the macro) and a few example questions."""
    try:
        return _robustness_html(record.extra["robustness"][task], record.extra["perturbation"], task)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise XlirError(
            f"record: its robustness section is malformed ({type(exc).__name__}); re-run with --perturb"
        ) from exc


def _robustness_html(robustness: dict[str, Any], perturbation: dict[str, Any], task: str) -> str:
    families = list(robustness["macro"])
    head = "".join(f"<th>{html.escape(f)}</th>" for f in ["query language", *families])

    def row(label, values):
        cells = "".join(
            f"<td>{values[f]['map']:.3f}</td>" if values.get(f, {}).get("map") is not None else "<td></td>"
            for f in families
        )
        return f"<tr><th>{html.escape(label)}</th>{cells}</tr>"

    rows = [row(lang, values) for lang, values in sorted(robustness["by_query_lang"].items())] + [
        row("macro", robustness["macro"])
    ]
    spec = html.escape(" + ".join(map(str, perturbation["spec"])))
    examples = [
        e for lang in sorted(perturbation["examples"].get(task, {})) for e in perturbation["examples"][task][lang][:1]
    ]
    items = "".join(
        f"<li>{html.escape(str(e['clean']))} &rarr; {html.escape(str(e['perturbed']))}</li>" for e in examples
    )
    return (
        f"<h3>Robustness to {spec}: perturbed / clean mAP</h3><table class='macro'><tr>{head}</tr>{''.join(rows)}</table>"
        f"<p>Examples:</p><ul>{items}</ul>"
    )


def _bias_figures(plt, title: str, result: TaskResult) -> list[str]:
    figures = []
    bars = _macro_error_bars(plt, f"{title}: family macro mAP", result)
    if bars:
        figures.append(
            _img(bars, f"{title}: mono, cross and multi macro mAP with 95 % bootstrap intervals (questions resampled)")
        )
    bias = result.extra.get("bias")
    if not isinstance(bias, dict) or not bias.get("rank_matrix"):
        return figures
    try:
        figures.append(
            _img(
                _rank_matrix_heatmap(plt, f"{title}: where the answers rank", bias),
                f"{title}: median multilingual-pool rank of the answer in each language; the diagonal is the query's own",
            )
        )
        figures.append(
            _img(
                _first_answer_bars(plt, f"{title}: language of the first answer", bias),
                f"{title}: share of questions whose best-ranked answer is in each language",
            )
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise XlirError(f"record: its bias section of {title} is malformed ({type(exc).__name__}); re-run") from exc
    return figures


def render_report(record: RunRecord) -> str:
    """The self-contained HTML report of one run record."""
    plt = _pyplot()
    specs = registry()
    name = html.escape(record.model_name)
    sections = []
    for task, result in sorted(record.results.items()):
        title = _plain(specs[task].title if task in specs else task)
        figures = [
            _img(
                _heatmap(plt, f"{title}: mAP, query language x pool", *map_matrix(result)),
                f"{title}: mAP per query language (rows) and pool (columns); 'all' is the multilingual pool",
            )
        ]
        figures.append(
            _img(
                _family_bars(plt, f"{title}: macro mAP per query language", result.by_query_lang),
                f"{title}: mono, cross and multi macro mAP per query language",
            )
        )
        boxes = _rank_distance_boxes(plt, f"{title}: rank distance per query language", result.settings)
        if boxes:
            figures.append(
                _img(boxes, f"{title}: distribution of rank distance (max - min rank of the parallel answers)")
            )
        figures += _bias_figures(plt, title, result)
        robustness = _robustness_table(record, task) if task in (record.extra.get("robustness") or {}) else ""
        sections.append(
            f"<h2>{html.escape(title.replace(chr(92) + '$', '$'))}</h2>\n{_macro_table(result)}\n{robustness}\n"
            + "\n".join(figures)
        )
    plt.close("all")
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>xlir-bench report: {name}</title>"
        f"<style>{STYLE}</style></head>\n<body>\n<h1>xlir-bench report: {name}</h1>\n"
        + "\n".join(sections)
        + f"\n<h2>Run record</h2>\n{_meta_table(record)}\n</body></html>\n"
    )
