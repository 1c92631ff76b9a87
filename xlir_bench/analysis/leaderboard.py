"""Leaderboard: rank models from run records, per task and per version of the task's data.

Records are grouped by task *and* by the sha256s of the task's data files:
numbers computed on different data are never ranked against each other (a
warning names the split). Within a group, models are ranked by the multilingual
macro of ``metric`` (then cross, then mono, then name), so the output is
deterministic: the same records give byte-identical tables.

Seeds. Records whose model names differ only in a seed tag (``-s1``, ``-s2``:
:func:`xlir_bench.compare.configuration`) on the same data are one
configuration and make one row: its numbers are the means over seeds, its 95 %
intervals come from a two-stage bootstrap (seeds, then clusters) and its test
against the next row down has the training run as its unit
(:mod:`xlir_bench.stats.seed_level`). A single record's intervals resample clusters
(``--cluster``, default the article where the task knows its articles); a
record whose stored intervals used another unit is re-resampled.

Samples. A record of a sample of articles (``run --sample-articles``) is
ranked only beside records of the same sample, in a group of its own.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlir_bench.analysis.compare import family_matrix
from xlir_bench.analysis.leaderboard_html import digits
from xlir_bench.analysis.sides import configuration, record_clusters
from xlir_bench.core.errors import XlirError
from xlir_bench.core.text import md_cell, with_interval
from xlir_bench.data.tasks import registry
from xlir_bench.measures import REGISTRY, measure
from xlir_bench.records.schema import RunRecord, interval_unit, load_record
from xlir_bench.records.store import default_runs_folder
from xlir_bench.stats.seed_level import SeedOptions, compare_seeds, seed_interval
from xlir_bench.stats.significance import DEFAULT_PERMUTATIONS, DEFAULT_SEED, holm_bonferroni

# Multilingual-pool macros shown beside the ranking metric: every registered measure that names a column.
MEASURE_COLUMNS = {m.column: m.name for m in REGISTRY.values() if m.column}
COLUMNS = ["rank", "model", "multi", "cross", "mono", "p vs next", *MEASURE_COLUMNS, "date", "fingerprint", "zero-shot", "command"]
_TEXT = ("rank", "model", "p vs next", "date", "fingerprint", "zero-shot", "command")
_TEXT_COLUMNS = [COLUMNS.index(name) for name in _TEXT]  # kept as text
# measures counted in ranks: one decimal; the other measures four (as in the HTML page)
_FLOATFMT = tuple(f".{digits(MEASURE_COLUMNS[name])}f" if name in MEASURE_COLUMNS else ".4f" for name in COLUMNS)


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
    seen: dict[tuple, str] = {}
    for path in _expand(paths or [default_runs_folder()]):
        try:
            record = load_record(path)
            macros = {task: result.macro for task, result in record.results.items()}
            identity = (record.model_name, record.fingerprint, record.created, json.dumps([record.data, macros], sort_keys=True))
            if identity in seen:  # the same run (the same path twice, or a copy): ranked against itself otherwise
                collected.warnings.append(f"{path} is the same run record as {seen[identity]}; it is ranked once")
                continue
            seen[identity] = str(path)
            collected.records.append((str(path), record))
        except XlirError as exc:
            if not skip_invalid:
                raise XlirError(f"{exc} (or pass --skip-invalid)") from exc
            collected.warnings.append(f"skipped {exc}")
    if not collected.records:
        raise XlirError("no valid run record among the inputs; run `xlir-bench run` first")
    return collected


def _data_id(record: RunRecord, task: str) -> str:
    """The data version, and the article sample when the record is one: only equal ids are ranked together."""
    key = {"data": record.data.get(task, {}), "sample": record.extra.get("sample")} if record.extra.get("sample") else record.data.get(task, {})
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class RankOptions:
    """How rows are tested and their intervals drawn."""

    n_permutations: int = DEFAULT_PERMUTATIONS
    seed: int = DEFAULT_SEED
    alpha: float = 0.05
    cluster: str | None = None  # article, paragraph, question; None: article where the task knows its articles
    resamples: int = 1000

    def seed_options(self) -> SeedOptions:
        return SeedOptions(self.resamples, self.n_permutations, self.seed, self.alpha)


def seed_groups(records: list[tuple[str, RunRecord]], task: str | None) -> list[tuple[str, list[tuple[str, RunRecord]]]]:
    """(task, records) per configuration and data version: the seeds of one configuration share a row."""
    groups: dict[tuple[str, str, str], list[tuple[str, RunRecord]]] = {}
    for path, record in records:
        for name in sorted(record.results):
            if not task or name == task:
                groups.setdefault((name, _data_id(record, name), configuration(record.model_name)), []).append((path, record))
    return [(key[0], members) for key, members in groups.items()]


def leaderboard(
    runs: Iterable[str | Path] | None = None,
    task: str | None = None,
    metric: str = "map",
    skip_invalid: bool = False,
    options: RankOptions = RankOptions(),
):
    """A DataFrame with one row per (task, data version, configuration), ranked within each group."""
    import pandas as pd

    collected = collect(runs, skip_invalid)
    groups = seed_groups(collected.records, task)
    if not groups:
        if task is None:
            raise XlirError("no run record holds any task results; add records made by `xlir-bench run`")
        raise XlirError(f"--task {task}: no record holds this task; drop --task or add records")
    clusters = _clusters(groups, options)
    frame = pd.DataFrame([_row(members, name, metric, clusters[name], options) for name, members in groups])
    sign = measure(metric).sign() or 1.0
    for column in ("multi", "cross", "mono"):
        # better first; a missing value ranks last, whatever the direction
        frame[f"_{column}"] = (-sign * frame[column].astype(float)).fillna(float("inf"))
    frame = frame.sort_values(
        ["task", "data", "_multi", "_cross", "_mono", "model", "fingerprint", "record"], kind="stable"
    )
    frame = frame.drop(columns=["_multi", "_cross", "_mono"]).reset_index(drop=True)
    frame.insert(0, "position", frame.groupby(["task", "data"]).cumcount() + 1)
    records = dict(collected.records)
    frame = _tiers(frame, records, metric, clusters, options).drop(columns=["paths"])
    frame.attrs["warnings"] = collected.warnings + _split_warnings(frame)
    frame.attrs["metric"] = metric
    frame.attrs["unit"] = {name: unit for name, (unit, _) in clusters.items()}
    return frame


def _clusters(groups, options: RankOptions) -> dict[str, tuple[str, dict | None]]:
    """Each task's resampling unit and query clusters (from a record that kept them, else the task's data)."""
    out = {}
    for name in dict.fromkeys(name for name, _ in groups):
        records = [record for group_name, members in groups if group_name == name for _, record in members]
        unit, of, _ = record_clusters(records, name, options.cluster)
        out[name] = (unit, of)
    return out


def _row(members: list[tuple[str, RunRecord]], task: str, metric: str, clusters, options: RankOptions) -> dict[str, Any]:
    """One configuration: a record, or the mean over its seeds' records with seed-aware intervals."""
    path, record = members[0]
    records = [r for _, r in members]
    macro = lambda family, name: _mean([r.results[task].macro.get(family, {}).get(name) for r in records])  # noqa: E731
    several = len(records) > 1
    row = {
        "task": task,
        "data": _data_id(record, task),
        "model": f"{configuration(record.model_name)} ({len(records)} seeds)" if several else record.model_name,
        **{family: macro(family, metric) for family in ("multi", "cross", "mono")},
        **{f"{family} 95% CI": _interval(records, task, family, metric, clusters, options) for family in ("multi", "cross", "mono")},
        **{column: macro("multi", name) for column, name in MEASURE_COLUMNS.items()},
        "date": max(r.created for r in records)[:10],
        "fingerprint": ",".join(r.fingerprint[:8] for r in records),
        "langs": len(record.selection.get(task, {}).get("langs", [])) if isinstance(record.selection.get(task), dict) else 0,
        "languages": " ".join(_langs_of(record, task)),  # which languages the row covers (CSV; table headings)
        "record": ", ".join(Path(p).name for p, _ in members),
        "paths": tuple(p for p, _ in members),
        "sample": _sample_label(record),  # the records' full paths, for the tests (dropped after them)
        **provenance_columns(record, task),
    }
    return row


def _langs_of(record: RunRecord, task: str) -> list[str]:
    """The languages a record's task covers: its selection, else the query languages of its settings."""
    chosen = record.selection.get(task)
    if isinstance(chosen, dict) and chosen.get("langs"):
        return sorted(map(str, chosen["langs"]))
    return sorted({s.query_lang for s in record.results[task].settings})


def provenance_columns(record: RunRecord, task: str) -> dict[str, str]:
    """Where a row comes from: whether the model trained on the task's source (MTEB's registry) and the
    command that re-makes it (`xlir-bench reproduce RECORD` runs it and compares)."""
    from xlir_bench.models.mteb_models import zero_shot_cell
    from xlir_bench.records.provenance import provenance_of

    return {"zero-shot": zero_shot_cell(record.extra.get("model_meta"), task), "command": provenance_of(record)["command"]}


def _sample_label(record: RunRecord) -> str:
    sample = record.extra.get("sample")
    return f"sample of {sample.get('articles')} articles, seed {sample.get('seed')}" if isinstance(sample, dict) else ""


def _mean(values: list) -> float | None:
    defined = [v for v in values if v is not None]
    return float(sum(defined) / len(defined)) if len(defined) == len(values) and defined else None


def _interval(records: list[RunRecord], task: str, family: str, metric: str, clusters, options: RankOptions):
    """[low, high]: stored when one record used the wanted unit, else resampled (seeds, then clusters)."""
    unit, of = clusters
    stored = records[0].results[task].extra.get("intervals", {}).get(family, {}).get(metric)
    if len(records) == 1 and (stored is None or interval_unit(records[0], task) == unit):
        return stored  # a record made without intervals (--bootstrap 0) gets none here either
    keys = [s.key for s in records[0].results[task].settings if s.family == family and metric in s.per_query]
    if not keys or options.resamples <= 0:
        return None
    from xlir_bench.stats.bootstrap import cluster_codes

    qids, values = family_matrix(records, task, keys, metric)
    _, low, high = seed_interval(values, cluster_codes(qids, of), options.seed_options())
    return [low, high] if low == low else None


def _tiers(frame, records: dict[str, RunRecord], metric: str, clusters, options: RankOptions):
    """Test each row against the next one down (clustered, or seed-level for configurations with several
    seeds; Holm across the table).

    The family is the first of multi, cross, mono that both rows hold. Rows
    whose difference is not significant share a tier; ``rank`` shows the tier's
    rank range (``1-2``), so adjacent ranks that the data cannot separate say so.
    """
    from xlir_bench.stats.bootstrap import cluster_codes

    pvalues = {}
    for _, group in frame.groupby(["task", "data"], sort=False):
        rows = list(group.itertuples())
        for upper, lower in zip(rows, rows[1:], strict=False):
            family = next((f for f in ("multi", "cross", "mono") if _has(upper, f) and _has(lower, f)), None)
            if family is None:
                continue
            sides = [[records[path] for path in row.paths] for row in (lower, upper)]
            keys = sorted(
                set.intersection(*({s.key for s in r.results[upper.task].settings if s.family == family and metric in s.per_query} for side in sides for r in side))
            )
            qids, values = family_matrix(sides[0] + sides[1], upper.task, keys, metric)
            codes = cluster_codes(qids, clusters[upper.task][1])
            result = compare_seeds(values[: len(sides[0])], values[len(sides[0]) :], codes, options.seed_options())
            pvalues[upper.Index] = result.p if result.p == result.p else 1.0
    holm = dict(zip(pvalues, holm_bonferroni(list(pvalues.values())), strict=True)) if pvalues else {}
    frame["p vs next"] = [f"{holm[i]:.3g}" if i in holm else "" for i in frame.index]
    frame.insert(0, "rank", _rank_ranges(frame, holm, options.alpha))
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
    """Tasks whose records fall in several tables: other language selections, or other versions of a file."""
    warnings = []
    for task, group in frame.groupby("task"):
        selections, versions = group["languages"].unique(), group["data"].unique()
        if len(selections) > 1:
            warnings.append(
                f"{task}: records cover {len(selections)} different language selections "
                f"({'; '.join(sorted(selections))}); each is ranked in its own table, never against the others"
            )
        if len(versions) > len(selections):
            warnings.append(
                f"{task}: records were computed on {len(versions)} different versions of the data "
                f"({', '.join(sorted(versions))}); they are ranked in separate groups"
            )
    return warnings


def _groups(frame):
    specs = registry()
    several = frame.groupby("task")["data"].nunique().to_dict()
    selections = frame.groupby("task")["languages"].nunique().to_dict()
    for (task, data), group in frame.groupby(["task", "data"], sort=True):
        title = specs[task].title if task in specs else task
        langs = f"languages {', '.join(group['languages'].iloc[0].split())}, " if selections[task] > 1 else ""
        suffix = f" — {langs}data {data}" if several[task] > 1 else ""
        label = group["sample"].iloc[0] if "sample" in group else ""
        suffix += f" — {label}, not comparable with full runs" if label else ""
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


def _group_table(title: str, group) -> str:
    """One task's table under its heading, as GitHub markdown (every text cell escaped)."""
    from tabulate import tabulate

    table = group[COLUMNS].astype(object).where(group[COLUMNS].notna(), None).values.tolist()
    table = [[md_cell(cell) if isinstance(cell, str) else cell for cell in row] for row in table]
    return f"## {md_cell(title)}\n\n" + tabulate(
        table, headers=COLUMNS, tablefmt="github", floatfmt=_FLOATFMT, missingval="", disable_numparse=_TEXT_COLUMNS
    )


def render(frame, fmt: str = "md") -> str:
    """The leaderboard as ``md`` (tabulate), ``html`` or ``csv``; deterministic for the same records."""
    if fmt == "csv":
        buffer = io.StringIO()
        safe = frame.map(_csv_cell)
        safe.to_csv(buffer, index=False, float_format="%.6f", lineterminator="\n")
        return buffer.getvalue()

    metric = frame.attrs.get("metric", "map")
    units = "/".join(f"{u}s" for u in sorted(set(frame.attrs.get("unit", {}).values()))) or "questions"
    header = (
        f"Ranked by the multilingual macro {metric}; multi/cross/mono are macro {metric} over each family's settings. "
        f"'p vs next' tests each model against the next one down (paired randomization over {units}, or a t-test over "
        "training runs for rows that merge several seeds; Holm-corrected across the table); models the test cannot "
        f"separate share a rank range. ± is half the 95 % interval ({units} resampled; seeds, then {units}, for merged rows). "
        "'zero-shot' is 'no (DATASETS)' when MTEB's model registry lists training data from the task's source "
        "(XQuAD*/SQuAD* for the XQuAD tasks, MLQA* for the MLQA tasks), as MTEB marks models that are not zero-shot; "
        "'command' re-makes the row (`xlir-bench reproduce RECORD` runs it and compares)."
    )
    if fmt == "html":
        from xlir_bench.analysis.leaderboard_html import render_html

        return render_html(frame, _groups(frame), header, MEASURE_COLUMNS)
    parts = [_group_table(title, _with_intervals(group)) for title, group in _groups(frame)]
    records = frame["record"].nunique()
    intro = f"# xlir-bench leaderboard\n\nGenerated by `xlir-bench leaderboard` from {records} run records; do not edit by hand."
    return intro + "\n\n" + header + "\n\n" + "\n\n".join(parts) + "\n"
