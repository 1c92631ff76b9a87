"""Checks of a run record's JSON: types, shapes, finite numbers, measure ranges, per-query list lengths.

Each check raises :class:`~xlir_bench.records.sections.Invalid` naming the bad field;
:meth:`xlir_bench.records.schema.RunRecord.from_json` turns it into one error line.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from xlir_bench.records.sections import Invalid as _Invalid
from xlir_bench.records.sections import expect as _expect

REQUIRED_FIELDS = ("schema_version", "model", "data", "versions", "timings", "encode_calls", "results")
_SETTING_FIELDS = ("query_lang", "pool", "family", "metrics", "per_query")


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


def check_numbers(value: Any, where: str) -> None:
    """Every number anywhere in an optional section (bias summaries, intervals) must be finite."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_numbers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_numbers(item, f"{where}[{i}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and not _finite(value):
        raise _Invalid(f"{where} is {value!r:.40}, not a finite number")


def _check_metrics(metrics: Any, where: str) -> None:
    for name, value in _expect(metrics, dict, where).items():
        _number_or_null(value, f"{where}.{name}")
        _check_range(name, [value], f"{where}.{name}")


# Measures that are shares or means of shares lie in [0, 1]; ranks and rank ratios are at least 0.
# A measure not named here (a new one) is only checked for finiteness.
_UNIT = re.compile(r"(map|recall@\d+|ndcg@\d+|mrr@\d+|r_precision|ann_recall|same_lang_\w+|strong_alignment|translation_consistency)")
_NON_NEGATIVE = re.compile(r"rank_distance\w*")


def _check_range(name: str, values: list, where: str) -> None:
    """Values a measure cannot take (an AP of 7.5, a negative rank) mean the record was edited or broken."""
    if _UNIT.fullmatch(name):
        high, bounds = 1.0, "between 0 and 1"
    elif _NON_NEGATIVE.fullmatch(name):
        high, bounds = np.inf, "at least 0"
    else:
        return
    array = np.asarray(values, dtype=np.float64)  # null -> NaN, which no comparison below selects
    bad = array[(array < 0) | (array > high)]
    if bad.size:
        raise _Invalid(f"{where} holds {bad[0]:g}; {name} is {bounds}")


def check_setting(entry: Any, where: str) -> None:
    _expect(entry, dict, where)
    missing = [name for name in _SETTING_FIELDS if name not in entry]
    if missing:
        raise _Invalid(f"{where} lacks {', '.join(missing)}")
    for name in ("query_lang", "pool", "family"):
        _expect(entry[name], str, f"{where}.{name}")
    if entry["family"] not in ("mono", "cross", "multi"):
        raise _Invalid(f"{where}.family is {entry['family']!r}, not mono/cross/multi")
    if "n_queries" in entry and _expect(entry["n_queries"], int, f"{where}.n_queries") < 0:
        raise _Invalid(f"{where}.n_queries is {entry['n_queries']}, a negative count")
    if "pool_langs" in entry and not all(isinstance(x, str) for x in _expect(entry["pool_langs"], list, where)):
        raise _Invalid(f"{where}.pool_langs holds a non-string")
    _check_metrics(entry["metrics"], f"{where}.metrics")
    per_query = _expect(entry["per_query"], dict, f"{where}.per_query")
    qids = _expect(per_query.get("qid"), list, f"{where}.per_query.qid")
    if not all(isinstance(q, str) for q in qids):
        raise _Invalid(f"{where}.per_query.qid holds a non-string id")
    if len(set(qids)) != len(qids):
        raise _Invalid(f"{where}.per_query.qid lists a query id twice")
    ranking = per_query.get("map")
    if qids and isinstance(ranking, list) and ranking and all(v is None for v in ranking):
        raise _Invalid(f"{where}.per_query.map is null for all {len(qids)} queries; no query was scored")
    for name, values in per_query.items():
        if name == "qid":
            continue
        _expect(values, list, f"{where}.per_query.{name}")
        if len(values) != len(qids):
            raise _Invalid(f"{where}.per_query.{name} has {len(values)} values for {len(qids)} queries")
        if not _finite_or_null(values):
            raise _Invalid(f"{where}.per_query.{name} holds a value that is not a finite number or null")
        _check_range(name, values, f"{where}.per_query.{name}")
        if name not in entry["metrics"]:
            raise _Invalid(f"{where}.metrics lacks {name}, which per_query holds")


def check_task(raw: Any, where: str) -> None:
    _expect(raw, dict, where)
    if "settings" not in raw or "macro" not in raw:
        raise _Invalid(f"{where} lacks settings/macro")
    for family, metrics in _expect(raw["macro"], dict, f"{where}.macro").items():
        _check_metrics(metrics, f"{where}.macro.{family}")
    for lang, families in _expect(raw.get("by_query_lang", {}), dict, f"{where}.by_query_lang").items():
        for family, metrics in _expect(families, dict, f"{where}.by_query_lang.{lang}").items():
            _check_metrics(metrics, f"{where}.by_query_lang.{lang}.{family}")


def check_macro_names(macro: dict[str, Any], settings: list[Any], where: str) -> None:
    """Every measure a family's settings hold per query has a family macro."""
    for family in dict.fromkeys(s.family for s in settings):
        names = {n for s in settings if s.family == family for n in s.per_query if n != "qid"}
        missing = sorted(names - set(macro.get(family, {})))
        if missing:
            raise _Invalid(f"{where}.macro.{family} lacks {', '.join(missing)}")


def check_top(record: Any) -> None:
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
    if not _expect(record["results"], dict, "results"):
        raise _Invalid("results is empty: the record holds no evaluated task")
