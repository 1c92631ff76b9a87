"""The run record's optional sections as typed values: what the pipeline builds and every reader gets.

Each section knows its JSON form (:meth:`to_json`, keys in the order records have always
had) and reads it back (:meth:`from_json`, which raises :class:`Invalid` naming the field).
Sections whose content is open-ended (the retriever's description, the MTEB metadata, API
usage, provenance, bias summaries, intervals) stay JSON objects, held by typed fields of
:class:`~xlir_bench.records.schema.RunRecord` and
:class:`~xlir_bench.records.schema.TaskResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

Metrics = dict[str, float | None]


class Invalid(Exception):
    """A record problem, as the path of the bad field and what is wrong with it."""


def expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    """``value`` if it is of ``kind`` (a bool is not an int here), else :class:`Invalid`."""
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise Invalid(f"{where} is {type(value).__name__}, expected {names}")
    return value


class _Section:
    """A dataclass whose JSON object holds its fields, in declaration order."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, raw: Any, where: str):
        expect(raw, dict, where)
        missing = [f.name for f in fields(cls) if f.name not in raw]
        if missing:
            raise Invalid(f"{where} lacks {', '.join(missing)}")
        return cls(**{f.name: raw[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Clustering(_Section):
    """A task's resampling unit and each query's cluster (``of`` None: every query is its own cluster)."""

    unit: str = "question"
    of: dict[str, int] | None = None


@dataclass
class BootstrapInfo(_Section):
    """How the family-macro intervals were drawn: resamples, seed, level and each task's resampling unit."""

    resamples: int
    seed: int
    confidence: float
    unit: dict[str, str]


@dataclass
class CacheStats(_Section):
    """The embedding cache during the run: texts found, texts encoded, chunks rebuilt."""

    hits: int
    encoded: int
    rebuilt_chunks: int


@dataclass
class IndexInfo(_Section):
    """An approximate index: its kind, search depth and the queries its recall was measured on."""

    kind: str
    depth: int
    recall_sample: int


@dataclass
class ArticleSample(_Section):
    """An article sample: how many, the seed, and each task's chosen article indices."""

    articles: int
    seed: int
    indices: dict[str, list[int]]


@dataclass
class Perturbation(_Section):
    """Perturbed questions: the specs, the seed and a few examples per task and language."""

    spec: list[str]
    seed: int
    examples: dict[str, Any] = field(default_factory=dict)


@dataclass
class MacroView(_Section):
    """A task's family macros and per-query-language macros (the ``clean`` and ``robustness`` sections)."""

    macro: dict[str, Metrics]
    by_query_lang: dict[str, dict[str, Metrics]]


def optional(kind: type[_Section], raw: dict[str, Any], key: str, where: str = ""):
    """``raw[key]`` as a ``kind``, or None when the record has no such section."""
    return kind.from_json(raw[key], f"{where}{key}") if key in raw else None


def per_task(raw: dict[str, Any], key: str) -> dict[str, MacroView] | None:
    """``raw[key]`` as {task: :class:`MacroView`}, or None when absent."""
    if key not in raw:
        return None
    return {task: MacroView.from_json(view, f"{key}.{task}") for task, view in expect(raw[key], dict, key).items()}


def present(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The JSON object of the sections that are there (None: absent), sections as their JSON."""
    return {key: _json(value) for key, value in pairs if value is not None}


def _json(value: Any) -> Any:
    if isinstance(value, _Section):
        return value.to_json()
    if isinstance(value, dict) and value and all(isinstance(v, _Section) for v in value.values()):
        return {key: v.to_json() for key, v in value.items()}
    return value
