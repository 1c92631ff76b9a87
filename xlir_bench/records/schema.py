"""The run record as typed values: read, validated and migrated in one place, read the same by every tool.

:meth:`RunRecord.from_json` checks every field that compare, leaderboard and
report read (types, shapes, per-query list lengths) and raises one
:class:`~xlir_bench.core.errors.XlirError` naming the file, the field and the fix;
older records are migrated on read: version 1 (the first release) gains
version 2's ``retriever`` and ``truncated_texts``; version 2 gains version 3's
resampling unit, ``question`` (the only one it knew).
:meth:`RunRecord.to_json` gives the JSON document back.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import read_bytes_capped
from xlir_bench.records.checks import (
    check_macro_names,
    check_numbers,
    check_setting,
    check_task,
    check_top,
)
from xlir_bench.records.sections import (
    ArticleSample,
    BootstrapInfo,
    CacheStats,
    Clustering,
    IndexInfo,
    MacroView,
    Metrics,
    Perturbation,
    optional,
    per_task,
    present,
)
from xlir_bench.records.sections import Invalid as _Invalid
from xlir_bench.records.sections import expect as _expect

SCHEMA_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


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
        check_setting(raw, where)
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
    """A task's family macros, per-query-language macros, settings and optional sections."""

    macro: dict[str, Metrics]
    settings: list[SettingResult]
    by_query_lang: dict[str, dict[str, Metrics]] = field(default_factory=dict)
    bias: dict[str, Any] | None = None  # language-bias summaries (measures.bias)
    clusters: Clustering | None = None  # each query's cluster, when intervals resample clusters
    intervals: dict[str, dict[str, list[float | None]]] | None = None  # family -> measure -> [low, high]
    unknown: dict[str, Any] = field(default_factory=dict)  # sections of a newer version, kept as read

    def by_key(self) -> dict[str, SettingResult]:
        return {s.key: s for s in self.settings}

    @property
    def extra(self) -> dict[str, Any]:
        """The optional sections as JSON (``bias``, ``clusters``, ``intervals``, unknown ones)."""
        return {**present(self._optional()), **self.unknown}

    def _optional(self) -> list[tuple[str, Any]]:
        return [("bias", self.bias), ("clusters", self.clusters), ("intervals", self.intervals)]

    @classmethod
    def from_json(cls, raw: Any, where: str) -> TaskResult:
        check_task(raw, where)
        settings = [
            SettingResult.from_json(entry, f"{where}.settings[{i}]")
            for i, entry in enumerate(_expect(raw["settings"], list, f"{where}.settings"))
        ]
        check_macro_names(raw["macro"], settings, where)
        extra = {k: v for k, v in raw.items() if k not in ("macro", "settings", "by_query_lang")}
        check_numbers(extra, where)
        known = ("bias", "clusters", "intervals")
        return cls(
            raw["macro"],
            settings,
            raw.get("by_query_lang", {}),
            bias=raw.get("bias"),
            clusters=optional(Clustering, raw, "clusters", f"{where}."),
            intervals=raw.get("intervals"),
            unknown={k: v for k, v in extra.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "macro": self.macro,
            "by_query_lang": self.by_query_lang,
            "settings": [s.to_json() for s in self.settings],
            **self.extra,
        }


@dataclass
class RunRecord:
    """One evaluation run: the model, the data it saw, every task's results and the optional sections.

    The pipeline builds this object and writes :meth:`to_json`; readers get it from
    :func:`load_record`. An optional section is None when the run did not make it.
    """

    model_name: str
    fingerprint: str
    data: dict[str, dict[str, str]]
    results: dict[str, TaskResult]
    created: str = ""
    versions: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float | None] = field(default_factory=dict)
    encode_calls: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    retriever: dict[str, Any] | None = None  # the retriever's description: kind, index, fusion members ...
    encoded_texts: dict[str, Any] | None = None  # task -> lang -> distinct texts sent
    bootstrap: BootstrapInfo | None = None
    truncated_texts: dict[str, int] | None = None
    provenance: dict[str, Any] | None = None  # the command that made the run (records.provenance)
    model_meta: dict[str, Any] | None = None  # what MTEB's registry says about the model
    sample: ArticleSample | None = None
    index: IndexInfo | None = None
    perturbation: Perturbation | None = None
    clean: dict[str, MacroView] | None = None  # perturbed runs: the clean macros
    robustness: dict[str, MacroView] | None = None  # perturbed runs: perturbed / clean
    cache: CacheStats | None = None
    api: dict[str, Any] | None = None  # embedding APIs: requests, retries, billed tokens
    unknown: dict[str, Any] = field(default_factory=dict)  # sections of a newer version, kept as read

    @property
    def extra(self) -> dict[str, Any]:
        """Every section beyond the required ones, as JSON (a read-only view for readers of dicts)."""
        return {**present(self._head() + self._tail()), **self.unknown}

    def _head(self) -> list[tuple[str, Any]]:
        return [("retriever", self.retriever), ("encoded_texts", self.encoded_texts)]

    def _tail(self) -> list[tuple[str, Any]]:
        names = ("bootstrap", "truncated_texts", "provenance", "model_meta", "sample", "index")
        more = ("perturbation", "clean", "robustness", "cache", "api")
        return [(name, getattr(self, name)) for name in names + more]

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
        check_top(raw)
        results = {task: TaskResult.from_json(r, f"results.{task}") for task, r in raw["results"].items()}
        sections = {name: raw.get(name) for name in _OPEN_SECTIONS}
        typed = {name: optional(kind, raw, name) for name, kind in _TYPED_SECTIONS.items()}
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
            **sections,
            **typed,
            clean=per_task(raw, "clean"),
            robustness=per_task(raw, "robustness"),
            unknown={k: v for k, v in raw.items() if k not in _KNOWN},
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON document, keys in the order the pipeline has always written them."""
        head = present(self._head())
        return {
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "model": {"name": self.model_name, "fingerprint": self.fingerprint},
            **({"retriever": head["retriever"]} if "retriever" in head else {}),
            "data": self.data,
            "selection": self.selection,
            "versions": self.versions,
            "timings": self.timings,
            "encode_calls": self.encode_calls,
            **({"encoded_texts": head["encoded_texts"]} if "encoded_texts" in head else {}),
            "results": {task: result.to_json() for task, result in self.results.items()},
            **present(self._tail()),
            **self.unknown,
        }


_OPEN_SECTIONS = ("retriever", "encoded_texts", "truncated_texts", "provenance", "model_meta", "api")
_TYPED_SECTIONS = {
    "bootstrap": BootstrapInfo, "sample": ArticleSample, "index": IndexInfo, "perturbation": Perturbation, "cache": CacheStats,
}
_KNOWN = {
    "schema_version", "created", "model", "data", "versions", "timings", "encode_calls", "selection", "results",
    "clean", "robustness", *_OPEN_SECTIONS, *_TYPED_SECTIONS,
}


def migrate(raw: Any) -> Any:
    """An older record as the current version.

    Version 1 -> 2: it gains ``retriever`` and ``truncated_texts``. Version 2 -> 3: its
    ``bootstrap`` section gains ``unit`` {task: "question"} (version 2 resampled questions alone).
    """
    if not isinstance(raw, dict) or raw.get("schema_version") not in (1, 2):
        return raw
    migrated = {**raw}
    if raw["schema_version"] == 1:
        migrated.setdefault("retriever", {"kind": "lexical" if raw.get("model", {}).get("name") == "bm25" else "dense"})
        migrated.setdefault("truncated_texts", {})
    if isinstance(raw.get("bootstrap"), dict) and isinstance(raw.get("results"), dict):
        migrated["bootstrap"] = {**raw["bootstrap"], "unit": {task: "question" for task in raw["results"]}}
    migrated["schema_version"] = SCHEMA_VERSION
    return migrated


def interval_unit(record: RunRecord, task: str) -> str:
    """The resampling unit of a record's intervals on ``task`` (``question`` for records before version 3)."""
    units = record.bootstrap.unit if record.bootstrap is not None else {}
    return units.get(task, "question") if isinstance(units, dict) else "question"


def load_record(path: str | os.PathLike) -> RunRecord:
    """Read and validate one run record (size-capped, gzip-checked, version-1 migrated)."""
    path = Path(path)
    if path.is_dir():
        raise XlirError(f"{path}: is a folder; give a run record file (.json or .json.gz)")
    try:
        text = read_bytes_capped(path).decode("utf-8-sig")  # an editor's BOM is not part of the JSON
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise XlirError(f"{path}: cannot read run record ({reason}); check the path or re-run `xlir-bench run`") from exc
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = f"{exc.msg}, line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise XlirError(f"{path}: not valid JSON ({reason}; truncated?); re-run `xlir-bench run`") from exc
    return RunRecord.from_json(raw, str(path))
