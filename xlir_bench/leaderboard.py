"""Leaderboard: rank models from run records, per task and per version of the task's data.

Records are grouped by task *and* by the sha256s of the task's data files:
numbers computed on different data are never ranked against each other (a
warning names the split). Within a group, models are ranked by the multilingual
macro of ``metric`` (then cross, then mono, then name), so the output is
deterministic: the same records give byte-identical tables.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compare import family_differences
from .errors import XlirError
from .measures import REGISTRY, measure
from .runrecord import RunRecord, load_record
from .significance import DEFAULT_PERMUTATIONS, DEFAULT_SEED, holm_bonferroni, randomization_test
from .tasks import registry
from .text import md_cell, with_interval

# Multilingual-pool macros shown beside the ranking metric: every registered measure that names a column.
MEASURE_COLUMNS = {m.column: m.name for m in REGISTRY.values() if m.column}
COLUMNS = ["rank", "model", "multi", "cross", "mono", "p vs next", *MEASURE_COLUMNS, "date", "fingerprint"]
_TEXT_COLUMNS = [COLUMNS.index(name) for name in ("rank", "model", "p vs next", "date", "fingerprint")]  # kept as text


def default_runs_folder() -> Path:
    """The project's ``leaderboard/runs`` in a checkout, else the copy installed as ``xlir_bench.leaderboard_runs``."""
    checkout = Path(__file__).resolve().parent.parent / "leaderboard" / "runs"
    if checkout.is_dir():
        return checkout
    from importlib import resources

    return Path(str(resources.files("xlir_bench.leaderboard_runs")))


@dataclass
class Collected:
    records: list[tuple[str, RunRecord]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted([*path.glob("*.json"), *path.glob("*.json.gz")])
            if not found:
                raise XlirError(
                    f"{path}: no run records (*.json, *.json.gz) in this folder; give record files or another folder"
                )
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise XlirError(f"{path}: no such file or folder; give run records or folders of them")
    return files


def collect(paths: Iterable[str | Path] | None = None, skip_invalid: bool = False) -> Collected:
    """Load and validate records; invalid ones raise, or are named in ``warnings`` with ``skip_invalid``."""
    collected = Collected()
    for path in _expand(paths or [default_runs_folder()]):
        try:
            collected.records.append((str(path), load_record(path)))
        except XlirError as exc:
            if not skip_invalid:
                raise XlirError(f"{exc} (or pass --skip-invalid)") from exc
            collected.warnings.append(f"skipped {exc}")
    if not collected.records:
        raise XlirError("no valid run record among the inputs; run `xlir-bench run` first")
    return collected


def _data_id(record: RunRecord, task: str) -> str:
    return hashlib.sha256(json.dumps(record.data.get(task, {}), sort_keys=True).encode()).hexdigest()[:8]


def leaderboard(
    runs: Iterable[str | Path] | None = None,
    task: str | None = None,
    metric: str = "map",
    skip_invalid: bool = False,
    n_permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
):
    """A DataFrame with one row per (task, data version, record), ranked within each group."""
    import pandas as pd

    collected = collect(runs, skip_invalid)
    rows = [
        _row(path, record, task_name, metric)
        for path, record in collected.records
        for task_name in sorted(record.results)
        if not task or task_name == task
    ]
    if not rows:
        raise XlirError(f"--task {task}: no record holds this task; drop --task or add records")
    frame = pd.DataFrame(rows)
    sign = measure(metric).sign() or 1.0
    for column in ("multi", "cross", "mono"):
        # better first; a missing value ranks last, whatever the direction
        frame[f"_{column}"] = (-sign * frame[column].astype(float)).fillna(float("inf"))
    frame = frame.sort_values(
        ["task", "data", "_multi", "_cross", "_mono", "model", "fingerprint", "record"], kind="stable"
    )
    frame = frame.drop(columns=["_multi", "_cross", "_mono"]).reset_index(drop=True)
    frame.insert(0, "position", frame.groupby(["task", "data"]).cumcount() + 1)
    records = dict((Path(path).name, record) for path, record in collected.records)
    frame = _tiers(frame, records, metric, n_permutations, seed, alpha)
    frame.attrs["warnings"] = collected.warnings + _split_warnings(frame)
    frame.attrs["metric"] = metric
    return frame


def _row(path: str, record: RunRecord, task: str, metric: str) -> dict[str, Any]:
    macro = record.results[task].macro
    intervals = record.results[task].extra.get("intervals", {})
    row = {
        "task": task,
        "data": _data_id(record, task),
        "model": record.model_name,
        **{family: macro.get(family, {}).get(metric) for family in ("multi", "cross", "mono")},
        **{f"{family} 95% CI": intervals.get(family, {}).get(metric) for family in ("multi", "cross", "mono")},
        **{column: macro.get("multi", {}).get(name) for column, name in MEASURE_COLUMNS.items()},
        "date": record.created[:10],
        "fingerprint": record.fingerprint[:8],
        "langs": len(record.selection.get(task, {}).get("langs", []))
        if isinstance(record.selection.get(task), dict)
        else 0,
        "record": Path(path).name,
    }
    return row


def _tiers(frame, records: dict[str, RunRecord], metric: str, n_permutations: int, seed: int, alpha: float):
    """Test each model against the next one down (paired randomization over questions, Holm across the table).

    The family is the first of multi, cross, mono that both records hold. Models
    whose difference is not significant share a tier; ``rank`` shows the tier's
    rank range (``1-2``), so adjacent ranks that the data cannot separate say so.
    """
    pvalues = {}
    for _, group in frame.groupby(["task", "data"], sort=False):
        rows = list(group.itertuples())
        for upper, lower in zip(rows, rows[1:], strict=False):
            family = next((f for f in ("multi", "cross", "mono") if _has(upper, f) and _has(lower, f)), None)
            if family is None:
                continue
            d = family_differences(
                records[lower.record].results[lower.task], records[upper.record].results[upper.task], family, metric
            )
            pvalues[upper.Index] = randomization_test(d, n_permutations, seed) if d.size else 1.0
    holm = dict(zip(pvalues, holm_bonferroni(list(pvalues.values())), strict=True)) if pvalues else {}
    frame["p vs next"] = [f"{holm[i]:.3g}" if i in holm else "" for i in frame.index]
    frame.insert(0, "rank", _rank_ranges(frame, holm, alpha))
    frame.attrs["pvalues"] = holm
    return frame


def _has(row, family: str) -> bool:
    value = getattr(row, family)
    return value is not None and value == value


def _rank_ranges(frame, holm: dict[int, float], alpha: float) -> list[str]:
    """A tier ends where a model is significantly better than the next one down."""
    labels = [""] * len(frame)
    for _, group in frame.groupby(["task", "data"], sort=False):
        tier: list[int] = []
        for position, index in enumerate(group.index):
            tier.append(index)
            last = position == len(group) - 1
            if last or holm.get(index, 1.0) < alpha:
                first, final = frame.at[tier[0], "position"], frame.at[tier[-1], "position"]
                for member in tier:
                    labels[frame.index.get_loc(member)] = str(first) if first == final else f"{first}-{final}"
                tier = []
    return labels


def _split_warnings(frame) -> list[str]:
    warnings = []
    for task, versions in frame.groupby("task")["data"].unique().items():
        if len(versions) > 1:
            warnings.append(
                f"{task}: records were computed on {len(versions)} different versions of the data "
                f"({', '.join(sorted(versions))}); they are ranked in separate groups"
            )
    return warnings


def _groups(frame):
    specs = registry()
    several = frame.groupby("task")["data"].nunique().to_dict()
    for (task, data), group in frame.groupby(["task", "data"], sort=True):
        title = specs[task].title if task in specs else task
        suffix = f" — data {data}" if several[task] > 1 else ""
        yield f"{title} ({task}){suffix}", group


def _with_intervals(group):
    """multi/cross/mono as ``value ± half-width`` where the record has a bootstrap interval."""
    group = group.copy()
    for family in ("multi", "cross", "mono"):
        cis = group.get(f"{family} 95% CI")
        if cis is None or not any(isinstance(ci, list) for ci in cis):
            continue
        group[family] = [
            with_interval(v, ci) if v == v and v is not None else None for v, ci in zip(group[family], cis, strict=True)
        ]
    return group


def _csv_cell(value):
    """A spreadsheet runs a cell starting with = + - @ as a formula; a leading quote keeps it text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _group_table(title: str, group, fmt: str) -> str:
    """One task's table under its heading, as HTML or GitHub markdown (every text cell escaped)."""
    from tabulate import tabulate

    table = group[COLUMNS].astype(object).where(group[COLUMNS].notna(), None).values.tolist()
    if fmt == "html":
        heading, tablefmt = f"<h2>{html.escape(title)}</h2>\n", "html"  # tabulate escapes html cells
    else:
        table = [[md_cell(cell) if isinstance(cell, str) else cell for cell in row] for row in table]
        heading, tablefmt = f"## {md_cell(title)}\n\n", "github"
    return heading + tabulate(
        table, headers=COLUMNS, tablefmt=tablefmt, floatfmt=".4f", missingval="", disable_numparse=_TEXT_COLUMNS
    )


def render(frame, fmt: str = "md") -> str:
    """The leaderboard as ``md`` (tabulate), ``html`` or ``csv``; deterministic for the same records."""
    if fmt == "csv":
        buffer = io.StringIO()
        safe = frame.map(_csv_cell)
        safe.to_csv(buffer, index=False, float_format="%.6f", lineterminator="\n")
        return buffer.getvalue()

    metric = frame.attrs.get("metric", "map")
    header = (
        f"Ranked by the multilingual macro {metric}; multi/cross/mono are macro {metric} over each family's settings. "
        "'p vs next' tests each model against the next one down (paired randomization over questions, "
        "Holm-corrected across the table); models the test cannot separate share a rank range."
    )
    parts = [_group_table(title, _with_intervals(group), fmt) for title, group in _groups(frame)]
    if fmt == "html":
        return (
            f"<!doctype html>\n<html><head><meta charset='utf-8'><title>xlir-bench leaderboard</title></head>\n<body>\n<p>{html.escape(header)}</p>\n"
            + "\n".join(parts)
            + "\n</body></html>\n"
        )
    records = frame["record"].nunique()
    intro = f"# xlir-bench leaderboard\n\nGenerated by `xlir-bench leaderboard` from {records} run records; do not edit by hand."
    return intro + "\n\n" + header + "\n\n" + "\n\n".join(parts) + "\n"
