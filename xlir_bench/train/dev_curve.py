"""A small development set for learning curves: multilingual mAP on a few held-out articles during training.

The dev set is the questions and sentences of ``articles`` articles drawn (seeded) from
one side of an article split: every question in every language against the union of
those articles' sentences in every language (the ``multi`` setting in miniature). It
is cheap (hundreds of texts), so the trainer can score it every few steps; it is for
watching the curve, not for choosing checkpoints (the cells keep their last step).

Average precision here is the standard one (Buckley and Voorhees 2000): the mean, over
the relevant candidates, of the precision at each one's rank; ties are broken by pool
order (the harness's full evaluation does that with trec_eval's rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DevSet:
    """Query texts with the indices of their relevant candidates in ``candidates``."""

    queries: list[str]
    candidates: list[str]
    relevant: list[list[int]]


def average_precision(scores: np.ndarray, relevant: Sequence[int]) -> float:
    """AP of one query: mean over relevant candidates of (relevant at or above it) / (its rank)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.sort(np.flatnonzero(np.isin(order, list(relevant))) + 1)
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks)) if len(ranks) else 0.0


def mean_average_precision(queries: np.ndarray, candidates: np.ndarray, relevant: Sequence[Sequence[int]]) -> float:
    scores = queries @ candidates.T
    return float(np.mean([average_precision(row, rel) for row, rel in zip(scores, relevant, strict=True)]))


def build_dev_set(task, articles: int, seed: int) -> DevSet:
    """``articles`` articles of a loaded split task (seeded), all languages, multi pool."""
    from xlir_bench.data.task_split import candidate_articles_of_task

    pivots = candidate_articles_of_task(task)
    chosen = set(np.random.default_rng(seed).permutation(sorted({a for v in pivots.values() for a in v}))[:articles])
    candidates, where = [], {}
    for lang, data in task.data.items():
        for index, text in enumerate(data.candidates):
            if pivots[lang][index] in chosen:
                where[(lang, index)] = len(candidates)
                candidates.append(text)
    queries, relevant = [], []
    for data in task.data.values():
        for qid, question in zip(data.question_ids, data.questions, strict=True):
            rel = [
                where[(lang, c)] for lang, d in task.data.items() for c in d.qrels.get(qid, {}) if (lang, c) in where
            ]
            if rel:
                queries.append(question)
                relevant.append(rel)
    return DevSet(queries, candidates, relevant)


def dev_map(model, dev: DevSet, prompts: dict[str, str], batch_size: int = 128) -> float:
    """The model's multilingual mAP on the dev set (normalised embeddings, dot product)."""
    encode = {"normalize_embeddings": True, "batch_size": batch_size, "convert_to_numpy": True}
    q = model.encode([prompts.get("anchor", "") + t for t in dev.queries], **encode)
    c = model.encode([prompts.get("positive", "") + t for t in dev.candidates], **encode)
    return mean_average_precision(np.asarray(q, dtype=np.float64), np.asarray(c, dtype=np.float64), dev.relevant)


def dev_callback(model, dev: DevSet, prompts: dict[str, str], every: int, curve: list[dict[str, float]]):
    """A ``TrainerCallback`` that appends {step, dev_map} to ``curve`` before training, every ``every`` steps, at the end."""
    from transformers import TrainerCallback

    def score(step: int) -> None:
        was_training = model.training
        model.eval()
        curve.append({"step": step, "dev_map": round(dev_map(model, dev, prompts), 6)})
        model.train(was_training)

    class DevCurve(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if not curve:
                score(state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if every and state.global_step % every == 0:
                score(state.global_step)

        def on_train_end(self, args, state, control, **kwargs):
            if not curve or curve[-1]["step"] != state.global_step:
                score(state.global_step)

    return DevCurve()
