"""The sides of a comparison: run records (files, folders, leaderboard:NAME), grouped into configurations by seed."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from xlir_bench.core.constants import LEADERBOARD_ENV
from xlir_bench.core.errors import XlirError
from xlir_bench.records.schema import RunRecord, load_record

_SEED_SUFFIX = re.compile(r"[-_.](s|seed)\d+$")


def configuration(name: str) -> str:
    """A record's model name without a trailing seed tag (``-s1``, ``_seed2``): the configuration it trains."""
    return _SEED_SUFFIX.sub("", name)


def resolve_record(ref: str) -> tuple[str, RunRecord]:
    """A run record path, or ``leaderboard:NAME`` for the newest leaderboard record of model NAME."""
    if not ref.startswith("leaderboard:"):
        return ref, load_record(ref)
    name = ref.split(":", 1)[1]
    from xlir_bench.records.store import default_runs_folder

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


def resolve_side(ref: str, role: str) -> list[tuple[str, RunRecord]]:
    """The records of one side: a record, ``leaderboard:NAME``, comma-joined records, or a folder of records."""
    parts = [part.strip() for part in ref.split(",") if part.strip()]
    if len(parts) == 1 and Path(parts[0]).is_dir():
        folder = Path(parts[0])
        parts = [str(p) for p in sorted([*folder.glob("*.json"), *folder.glob("*.json.gz")])]
        if not parts:
            raise XlirError(f"{role} {ref}: the folder holds no run record (.json, .json.gz); give records or a folder of them")
    if not parts:
        raise XlirError(f"{role}: no run record given; give a record, comma-joined records or a folder")
    side = [resolve_record(part) for part in parts]
    check_side(side, role)
    return side


def check_side(side: list[tuple[str, RunRecord]], role: str) -> None:
    """Seeds of one configuration: the same tasks, data, selection, sample and model configuration."""
    first_name, first = side[0]
    for name, record in side[1:]:
        for what, mine, theirs in (
            ("tasks", sorted(record.results), sorted(first.results)),
            ("data files", record.data, first.data),
            ("selection", record.selection, first.selection),
            ("article sample", record.extra.get("sample"), first.extra.get("sample")),
            ("configuration", configuration(record.model_name), configuration(first.model_name)),
        ):
            if mine != theirs:
                raise XlirError(
                    f"{role} {name}: its {what} differ from {first_name}'s ({short(mine)} vs {short(theirs)}); "
                    "a side lists seeds of one configuration evaluated alike"
                )


def record_clusters(records: list[RunRecord], task: str, unit: str | None) -> tuple[str, dict[str, int] | None, str]:
    """(unit, query id -> cluster or None, note) for ``task``: from a record that kept its clusters, else the task's data."""
    from xlir_bench.data.clusters import check_unit, cluster_map
    from xlir_bench.data.tasks import get_spec

    for record in records:
        kept = record.results[task].extra.get("clusters")
        if isinstance(kept, dict) and kept.get("unit") == (unit or "article") and isinstance(kept.get("of"), dict):
            return kept["unit"], kept["of"], ""
    if unit == "question":
        return "question", None, ""
    try:
        spec = get_spec(task)
    except XlirError:
        if unit is not None:
            raise XlirError(f"--cluster {unit}: task {task} is not a known task, so its articles are unknown; use --cluster question") from None
        return "question", None, f"{task}: unknown task, questions resampled alone"
    unit_given = unit is not None
    unit = check_unit(spec, unit)
    if unit == "question":
        return unit, None, ""
    qids = {q for record in records for s in record.results[task].settings for q in s.query_ids}
    try:
        return unit, cluster_map(spec, unit, qids, _local_source()), ""
    except XlirError as exc:
        if unit_given:
            raise
        return "question", None, f"{task}: questions resampled alone, its articles are not readable here ({exc})"


def _local_source():
    """The data mirror or download cache, never downloading: comparing records must not reach the network."""
    from xlir_bench.data.lareqa import DataSource, resolve_source

    source = resolve_source()
    return DataSource(source.root, download=False, origin=source.origin)


def short(value: Any) -> str:
    """A value for a one-line message: its text, white space folded, cut at 60 characters."""
    return " ".join(str(value).split())[:60]
