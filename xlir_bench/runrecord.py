"""The run record as typed values: read, validated and migrated in one place, read the same by every tool.

:meth:`RunRecord.from_json` checks every field that compare, leaderboard and
report read (types, shapes, per-query list lengths) and raises one
:class:`~xlir_bench.errors.XlirError` naming the file, the field and the fix;
version-1 records (the first release) are migrated to version 2 on read.
:meth:`RunRecord.to_json` gives the JSON document back.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import XlirError
from .files import read_bytes_capped

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
REQUIRED_FIELDS = ("schema_version", "model", "data", "versions", "timings", "encode_calls", "results")
_SETTING_FIELDS = ("query_lang", "pool", "family", "metrics", "per_query")
Metrics = dict[str, float | None]


class _Invalid(Exception):
    """A record problem, as the path of the bad field and what is wrong with it."""


@dataclass
class SettingResult:
    """One setting's means and per-query values (``per_query["qid"]`` is the query order)."""

    query_lang: str
    pool: str
    family: str
    metrics: Metrics
    per_query: dict[str, list]
    pool_langs: list[str] = field(default_factory=list)
    n_queries: int = 0

    @property
    def key(self) -> str:
        return f"{self.query_lang}->{self.pool}"

    @property
    def query_ids(self) -> list[str]:
        return self.per_query["qid"]

    def values(self, measure: str) -> np.ndarray:
        """Per-query values of ``measure`` as floats (NaN where undefined)."""
        return np.array([np.nan if v is None else v for v in self.per_query[measure]], dtype=np.float64)

    @classmethod
    def from_json(cls, raw: Any, where: str) -> SettingResult:
        _check_setting(raw, where)
        extra = {k: raw[k] for k in ("pool_langs", "n_queries") if k in raw}
        return cls(raw["query_lang"], raw["pool"], raw["family"], raw["metrics"], raw["per_query"], **extra)

    def to_json(self) -> dict[str, Any]:
        return {
            "query_lang": self.query_lang,
            "pool": self.pool,
            "family": self.family,
            "pool_langs": self.pool_langs,
            "n_queries": self.n_queries,
            "metrics": self.metrics,
            "per_query": self.per_query,
        }


@dataclass
class TaskResult:
    """A task's family macros, per-query-language macros, and settings."""

    macro: dict[str, Metrics]
    settings: list[SettingResult]
    by_query_lang: dict[str, dict[str, Metrics]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. bootstrap intervals

    def by_key(self) -> dict[str, SettingResult]:
        return {s.key: s for s in self.settings}

    @classmethod
    def from_json(cls, raw: Any, where: str) -> TaskResult:
        _expect(raw, dict, where)
        if "settings" not in raw or "macro" not in raw:
            raise _Invalid(f"{where} lacks settings/macro")
        for family, metrics in _expect(raw["macro"], dict, f"{where}.macro").items():
            _check_metrics(metrics, f"{where}.macro.{family}")
        settings = [
            SettingResult.from_json(entry, f"{where}.settings[{i}]")
            for i, entry in enumerate(_expect(raw["settings"], list, f"{where}.settings"))
        ]
        for family in dict.fromkeys(s.family for s in settings):
            names = {n for s in settings if s.family == family for n in s.per_query if n != "qid"}
            missing = sorted(names - set(raw["macro"].get(family, {})))
            if missing:
                raise _Invalid(f"{where}.macro.{family} lacks {', '.join(missing)}")
        by_lang = raw.get("by_query_lang", {})
        for lang, families in _expect(by_lang, dict, f"{where}.by_query_lang").items():
            for family, metrics in _expect(families, dict, f"{where}.by_query_lang.{lang}").items():
                _check_metrics(metrics, f"{where}.by_query_lang.{lang}.{family}")
        extra = {k: v for k, v in raw.items() if k not in ("macro", "settings", "by_query_lang")}
        _check_numbers(extra, where)
        return cls(raw["macro"], settings, by_lang, extra)

    def to_json(self) -> dict[str, Any]:
        return {
            "macro": self.macro,
            "by_query_lang": self.by_query_lang,
            "settings": [s.to_json() for s in self.settings],
            **self.extra,
        }


@dataclass
class RunRecord:
    """One evaluation run: the model, the data it saw, and every task's results."""

    model_name: str
    fingerprint: str
    data: dict[str, dict[str, str]]
    results: dict[str, TaskResult]
    created: str = ""
    versions: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float | None] = field(default_factory=dict)
    encode_calls: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # optional sections: cache, index, perturbation, ...

    @classmethod
    def from_json(cls, raw: Any, where: str) -> RunRecord:
        """Validate (and migrate a version-1 record); one XlirError naming ``where`` and the field."""
        if isinstance(raw, dict) and raw.get("schema_version") not in READABLE_VERSIONS:
            raise XlirError(
                f"{where}: schema_version {raw.get('schema_version')!r}, this xlir-bench reads "
                f"{', '.join(map(str, READABLE_VERSIONS))}; re-run `xlir-bench run` with this version"
            )
        try:
            return cls._parse(migrate(raw))
        except _Invalid as exc:
            raise XlirError(f"{where}: not a valid run record ({exc}); re-run `xlir-bench run`") from None

    @classmethod
    def _parse(cls, raw: dict[str, Any]) -> RunRecord:
        _check_top(raw)
        results = {task: TaskResult.from_json(r, f"results.{task}") for task, r in raw["results"].items()}
        known = {"schema_version", "created", "model", "data", "versions", "timings", "encode_calls", "selection"}
        return cls(
            raw["model"]["name"],
            raw["model"]["fingerprint"],
            raw["data"],
            results,
            raw.get("created", ""),
            raw["versions"],
            raw["timings"],
            raw["encode_calls"],
            raw.get("selection", {}),
            {k: v for k, v in raw.items() if k not in known and k != "results"},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "model": {"name": self.model_name, "fingerprint": self.fingerprint},
            "data": self.data,
            "selection": self.selection,
            "versions": self.versions,
            "timings": self.timings,
            "encode_calls": self.encode_calls,
            **self.extra,
            "results": {task: result.to_json() for task, result in self.results.items()},
        }


def migrate(raw: Any) -> Any:
    """A version-1 record as version 2: it gains ``retriever`` and ``truncated_texts``, nothing else changes."""
    if not isinstance(raw, dict) or raw.get("schema_version") != 1:
        return raw
    migrated = {**raw, "schema_version": 2}
    migrated.setdefault("retriever", {"kind": "lexical" if raw.get("model", {}).get("name") == "bm25" else "dense"})
    migrated.setdefault("truncated_texts", {})
    return migrated


def load_record(path: str | os.PathLike) -> RunRecord:
    """Read and validate one run record (size-capped, gzip-checked, version-1 migrated)."""
    path = Path(path)
    if path.is_dir():
        raise XlirError(f"{path}: is a folder; give a run record file (.json or .json.gz)")
    try:
        text = read_bytes_capped(path).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise XlirError(
            f"{path}: cannot read run record ({reason}); check the path or re-run `xlir-bench run`"
        ) from exc
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = f"{exc.msg}, line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise XlirError(f"{path}: not valid JSON ({reason}; truncated?); re-run `xlir-bench run`") from exc
    return RunRecord.from_json(raw, str(path))


# --- validation --------------------------------------------------------------------------------


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise _Invalid(f"{where} is {type(value).__name__}, expected {names}")
    return value


def _finite(value: Any) -> bool:
    """A JSON number that is a finite float (no NaN/Infinity literals, no 10**400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _finite_or_null(values: list) -> bool:
    """Every value a finite JSON number or null: :func:`_finite` over a whole per-query list at C speed.

    Records hold millions of per-query values; a Python-level check per value made
    loading a record take seconds.
    """
    if not set(map(type, values)) <= {float, int, type(None)}:  # no bools, strings, lists
        return False
    try:
        array = np.asarray(values, dtype=np.float64)  # null -> NaN; an int beyond float overflows
    except OverflowError:
        return False
    # a NaN that is not a null came from a NaN literal; an Infinity literal is inf
    return not np.isinf(array).any() and int(np.isnan(array).sum()) == values.count(None)


def _number_or_null(value: Any, where: str) -> None:
    if value is not None and not _finite(value):
        raise _Invalid(f"{where} is {value!r:.40}, not a finite number or null")


def _check_numbers(value: Any, where: str) -> None:
    """Every number anywhere in an optional section (bias summaries, intervals) must be finite."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_numbers(item, f"{where}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and not _finite(value):
        raise _Invalid(f"{where} is {value!r:.40}, not a finite number")


def _check_metrics(metrics: Any, where: str) -> None:
    for name, value in _expect(metrics, dict, where).items():
        _number_or_null(value, f"{where}.{name}")


def _check_setting(entry: Any, where: str) -> None:
    _expect(entry, dict, where)
    missing = [name for name in _SETTING_FIELDS if name not in entry]
    if missing:
        raise _Invalid(f"{where} lacks {', '.join(missing)}")
    for name in ("query_lang", "pool", "family"):
        _expect(entry[name], str, f"{where}.{name}")
    if entry["family"] not in ("mono", "cross", "multi"):
        raise _Invalid(f"{where}.family is {entry['family']!r}, not mono/cross/multi")
    if "n_queries" in entry:
        _expect(entry["n_queries"], int, f"{where}.n_queries")
    if "pool_langs" in entry and not all(isinstance(x, str) for x in _expect(entry["pool_langs"], list, where)):
        raise _Invalid(f"{where}.pool_langs holds a non-string")
    _check_metrics(entry["metrics"], f"{where}.metrics")
    per_query = _expect(entry["per_query"], dict, f"{where}.per_query")
    qids = _expect(per_query.get("qid"), list, f"{where}.per_query.qid")
    if not all(isinstance(q, str) for q in qids):
        raise _Invalid(f"{where}.per_query.qid holds a non-string id")
    if len(set(qids)) != len(qids):
        raise _Invalid(f"{where}.per_query.qid lists a query id twice")
    for name, values in per_query.items():
        if name == "qid":
            continue
        _expect(values, list, f"{where}.per_query.{name}")
        if len(values) != len(qids):
            raise _Invalid(f"{where}.per_query.{name} has {len(values)} values for {len(qids)} queries")
        if not _finite_or_null(values):
            raise _Invalid(f"{where}.per_query.{name} holds a value that is not a finite number or null")
        if name not in entry["metrics"]:
            raise _Invalid(f"{where}.metrics lacks {name}, which per_query holds")


def _check_top(record: Any) -> None:
    _expect(record, dict, "top level")
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise _Invalid(f"lacks {', '.join(missing)}")
    model = _expect(record["model"], dict, "model")
    if not isinstance(model.get("name"), str) or not model["name"].strip():
        raise _Invalid("model.name is missing or empty")
    _expect(model.get("fingerprint"), str, "model.fingerprint")
    for task, files in _expect(record["data"], dict, "data").items():
        for path, sha in _expect(files, dict, f"data.{task}").items():
            _expect(sha, str, f"data.{task}.{path}")
    for name in ("versions", "timings", "encode_calls"):
        _expect(record[name], dict, name)
    for name, value in record["timings"].items():
        _number_or_null(value, f"timings.{name}")
    if "created" in record:
        _expect(record["created"], str, "created")
    if "selection" in record:
        _expect(record["selection"], dict, "selection")
    _expect(record["results"], dict, "results")
