"""mAP and rank distance of a dense model on a LAReQA-format task, straight from its vectors.

The adapter grid evaluates 130+ models on full XQuAD-R (13,090 questions against a
13,400-sentence multilingual pool), twice (clean and dialect-perturbed). The full
pipeline (:func:`xlir_bench.evaluate`) computes ~20 measures, per-query records and
TREC runs; on the shared 2-core machine one XQuAD-R evaluation took 140 s. This
module computes only what the study reads (mAP per setting and family, rank distance
of the multilingual pool, its normalised form), with the same definitions, pools,
judgements and tie rule, in one pass over a block of score rows:

* a candidate beats a relevant candidate r when its score is higher, or equal with a
  larger pool position (the pipeline's and trec_eval's tie rule, see
  :class:`~xlir_bench.data.LanguageData`); r's rank in a pool is 1 + the candidates of
  that pool that beat it;
* a language pool is a block of columns of the multilingual pool (candidates of each
  language in order, languages sorted): the same comparisons give every setting;
* AP = mean over the R relevant candidates (ranks r_1 < ... < r_R) of k / r_k;
  rank distance = r_R - r_1 (R >= 2), normalised by (N + 1)(R - 1)/(R + 1).

tests/evaluation/test_fast_eval.py checks it against the pipeline on the hand fixture and
against full run records of the real grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 128  # query rows per block: (BLOCK x languages x pool) booleans at a time


@dataclass(frozen=True)
class TaskLayout:
    """A task's union pool (languages sorted) and, per query language, each question's relevant positions."""

    langs: tuple[str, ...]
    offsets: dict[str, int]
    sizes: dict[str, int]
    relevant: dict[str, np.ndarray]  # query lang -> (questions, languages) union positions, -1: none

    @property
    def total(self) -> int:
        return sum(self.sizes.values())


def layout(task) -> TaskLayout:
    """Pools and judgements of a loaded LAReQA task (grade >= the task's threshold is relevant)."""
    langs = tuple(sorted(task.langs))
    offsets, start = {}, 0
    for lang in langs:
        offsets[lang] = start
        start += len(task.data[lang].candidates)
    threshold = task.spec.relevance_threshold
    relevant = {}
    for qlang in langs:
        ids = task.data[qlang].question_ids
        table = np.full((len(ids), len(langs)), -1, dtype=np.int64)
        for j, plang in enumerate(langs):
            qrels = task.data[plang].qrels
            for i, qid in enumerate(ids):
                hits = [c for c, grade in qrels.get(qid, {}).items() if grade >= threshold]
                if len(hits) > 1:
                    raise ValueError(
                        f"{task.name}/{plang}: question {qid} has {len(hits)} relevant candidates; one expected"
                    )
                if hits:
                    table[i, j] = offsets[plang] + hits[0]
        relevant[qlang] = table
    sizes = {lang: len(task.data[lang].candidates) for lang in langs}
    return TaskLayout(langs, offsets, sizes, relevant)


def _ranks(scores: np.ndarray, positions: np.ndarray, lay: TaskLayout) -> tuple[np.ndarray, np.ndarray]:
    """Each relevant candidate's rank in the multilingual pool and in its own language's pool (0: none)."""
    rows = np.arange(len(scores))[:, None]
    present = positions >= 0
    rel = scores[rows, np.maximum(positions, 0)]
    own = np.zeros_like(positions)
    for j, lang in enumerate(lay.langs):
        start = lay.offsets[lang]
        columns = np.arange(start, start + lay.sizes[lang])
        own[:, j] = _beaten(scores[:, columns], columns, rel[:, j], positions[:, j]) + 1
    ordered = np.sort(scores, axis=1)  # per row: multilingual ranks by binary search
    multi = np.zeros_like(positions)
    everything = np.arange(scores.shape[1])
    for i in range(len(scores)):
        left = np.searchsorted(ordered[i], rel[i], "left")
        right = np.searchsorted(ordered[i], rel[i], "right")
        multi[i] = scores.shape[1] - right + 1
        for j in np.flatnonzero((right - left > 1) & present[i]):  # tied with another candidate: the tie rule
            multi[i, j] = _beaten(scores[i : i + 1], everything, rel[i, j : j + 1], positions[i, j : j + 1])[0] + 1
    return np.where(present, multi, 0), np.where(present, own, 0)


def _beaten(scores: np.ndarray, columns: np.ndarray, rel: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per row, the candidates (pool positions ``columns``) that outrank the relevant one: higher, or tied and later."""
    higher = (scores > rel[:, None]).sum(axis=1)
    tied_later = ((scores == rel[:, None]) & (columns[None, :] > positions[:, None])).sum(axis=1)
    return higher + tied_later


def _multi_measures(multi: np.ndarray, pool: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query: AP over its relevant ranks, rank distance and its normalised form (NaN when R < 2)."""
    ranks = np.sort(np.where(multi > 0, multi, np.iinfo(np.int64).max), axis=1).astype(np.float64)
    present = ranks < np.iinfo(np.int64).max
    count = present.sum(axis=1)
    k = np.cumsum(present, axis=1)
    ap = np.where(present, k / np.where(present, ranks, 1.0), 0.0).sum(axis=1) / np.maximum(count, 1)
    top = np.where(present, ranks, -np.inf).max(axis=1)
    low = np.where(present, ranks, np.inf).min(axis=1)
    distance = np.where(count >= 2, top - low, np.nan)
    expected = (pool + 1) * (count - 1) / (count + 1)
    return ap, distance, np.where(count >= 2, distance / np.where(expected > 0, expected, 1.0), np.nan)


def evaluate_vectors(lay: TaskLayout, queries: dict[str, np.ndarray], passages: dict[str, np.ndarray]) -> dict:
    """Per-setting mAP, family macros, per-query-language macros and multilingual rank distance."""
    union = np.vstack([np.asarray(passages[lang], dtype=np.float32) for lang in lay.langs])
    settings, rank_distance, rank_norm = {}, {}, {}
    for qlang in lay.langs:
        positions = lay.relevant[qlang]
        judged = (positions >= 0).any(axis=1)
        multi, own = [], []
        for start in range(0, len(positions), BLOCK):
            block = slice(start, start + BLOCK)
            scores = np.asarray(queries[qlang][block], dtype=np.float32) @ union.T
            m, o = _ranks(scores, positions[block], lay)
            multi.append(m)
            own.append(o)
        multi, own = np.vstack(multi), np.vstack(own)
        ap, distance, norm = _multi_measures(multi[judged], lay.total)
        settings[(qlang, "all")] = float(ap.mean())
        rank_distance[qlang] = float(np.nanmean(distance))
        rank_norm[qlang] = float(np.nanmean(norm))
        for j, plang in enumerate(lay.langs):
            has = own[:, j] > 0
            if has.any():
                settings[(qlang, plang)] = float((1.0 / own[has, j]).mean())
    return _summary(lay, settings, rank_distance, rank_norm)


def _summary(lay: TaskLayout, settings: dict, rank_distance: dict, rank_norm: dict) -> dict:
    def family(q: str, p: str) -> str:
        return "multi" if p == "all" else ("mono" if p == q else "cross")

    by_lang = {}
    for qlang in lay.langs:
        fams: dict[str, list[float]] = {}
        for (q, p), value in settings.items():
            if q == qlang:
                fams.setdefault(family(q, p), []).append(value)
        by_lang[qlang] = {fam: {"map": float(np.mean(values))} for fam, values in fams.items()}
    macro: dict[str, list[float]] = {}
    for (q, p), value in settings.items():
        macro.setdefault(family(q, p), []).append(value)
    out = {fam: {"map": float(np.mean(values))} for fam, values in macro.items()}
    out["multi"]["rank_distance"] = float(np.mean(list(rank_distance.values())))
    return {
        "macro": out,
        "by_query_lang": by_lang,
        "rank_distance_norm": {"multi": float(np.mean(list(rank_norm.values()))), "by_query_lang": rank_norm},
        "settings": {f"{q}->{p}": v for (q, p), v in settings.items()},
    }
