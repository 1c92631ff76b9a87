"""The table ``run`` prints: family macros with intervals, in blocks that fit the terminal.

Every block repeats task, family and settings, then as many measures as fit
in ``width`` columns (the terminal's width, at most 100: the table never wraps
in an 80- or 100-column terminal); the measures that do not fit go to the next
block, which lists only the rows that hold them. ``--wide`` prints one block
whatever its width.
"""

from __future__ import annotations

import shutil

from xlir_bench.core.text import with_interval
from xlir_bench.measures import REGISTRY
from xlir_bench.records.schema import RunRecord

SUMMARY = ("map", "recall@10", "ndcg@10", "mrr@10", "rank_distance", "same_lang_first", "translation_consistency")
WIDTH = 100
_GAP = 2  # tabulate's "simple" format puts two spaces between columns


def _cells(run: RunRecord, name: str) -> list[str]:
    digits = 1 if name == "rank_distance" else 4
    return [
        with_interval(metrics.get(name), res.extra.get("intervals", {}).get(family, {}).get(name), digits)
        for res in run.results.values()
        for family, metrics in res.macro.items()
    ]


def _width(header: str, cells: list[str]) -> int:
    """A column's width as tabulate draws it: its widest cell, or its header plus tabulate's 2 of padding."""
    return max([len(header) + 2, *map(len, cells)])


def blocks(widths: list[int], lead: int, width: int | None) -> list[list[int]]:
    """Indices of the measure columns in each block: greedy, in order, each block within ``width``."""
    out: list[list[int]] = [[]]
    used = lead
    for i, w in enumerate(widths):
        if width is not None and out[-1] and used + _GAP + w > width:
            out.append([])
            used = lead
        out[-1].append(i)
        used += _GAP + w
    return out


def terminal_width() -> int:
    """The terminal's width, at most :data:`WIDTH`; :data:`WIDTH` when the output is not a terminal."""
    return min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns)


def summary_table(run: RunRecord, width: int | None = WIDTH) -> str:
    """The run's family macros as one or more plain-text tables (``width`` None: one table)."""
    from tabulate import tabulate

    lead_rows = [[task, family, sum(s.family == family for s in res.settings)] for task, res in run.results.items() for family in res.macro]
    lead_headers = ["task", "family", "settings"]
    names = [n for n in SUMMARY if any(n in m for res in run.results.values() for m in res.macro.values())]
    columns = [_cells(run, n) for n in names]
    headers = [REGISTRY[n].label for n in names]
    lead = sum(_width(h, [str(r[i]) for r in lead_rows]) + _GAP for i, h in enumerate(lead_headers)) - _GAP
    parts = []
    for block in blocks([_width(headers[i], columns[i]) for i in range(len(names))], lead, width):
        rows = [[*lead_rows[r], *(columns[i][r] for i in block)] for r in range(len(lead_rows))]
        rows = [row for row in rows if any(row[len(lead_headers) :])]  # e.g. rank distance: multi rows only
        parts.append(tabulate(rows, headers=[*lead_headers, *(headers[i] for i in block)], disable_numparse=True))
    table = "\n\n".join(parts)
    if run.extra.get("bootstrap", {}).get("resamples"):
        units = "/".join(sorted(set(run.extra["bootstrap"].get("unit", {}).values()) or {"question"}))
        table += f"\n(± half the 95 % bootstrap interval, {run.extra['bootstrap']['resamples']} resamples of {units}s)"
    return table + _robustness(run)


def _robustness(run: RunRecord) -> str:
    from tabulate import tabulate

    if "robustness" not in run.extra:
        return ""
    spec = " + ".join(run.extra["perturbation"]["spec"])
    rows = [
        [task, family, run.extra["clean"][task]["macro"][family]["map"], res.macro[family]["map"], ratio["map"]]
        for task, res in run.results.items()
        for family, ratio in run.extra["robustness"][task]["macro"].items()
    ]
    return f"\n\nRobustness to {spec} (perturbed / clean mAP):\n" + tabulate(
        rows, headers=["task", "family", "clean mAP", "perturbed mAP", "robustness"], floatfmt=".4f"
    )
