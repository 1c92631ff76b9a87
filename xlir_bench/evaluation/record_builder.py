"""The one record builder: a finished pipeline run as a typed :class:`~xlir_bench.records.schema.RunRecord`.

Every section is built here, once, as a typed field (None where the run did not make
it); nothing adds to the record afterwards, and the file on disk is its
:meth:`~xlir_bench.records.schema.RunRecord.to_json`.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Protocol

from xlir_bench.data.clusters import cluster_map
from xlir_bench.data.lareqa import resolve_source
from xlir_bench.data.sample import Sample, sample_section
from xlir_bench.data.tasks import Task
from xlir_bench.models.mteb_models import retriever_meta
from xlir_bench.models.retrievers import DenseRetriever
from xlir_bench.records.build import Bootstrap, package_versions, robustness_views, task_results
from xlir_bench.records.schema import RunRecord, TaskResult
from xlir_bench.records.sections import ArticleSample, BootstrapInfo, CacheStats, Clustering, IndexInfo, Perturbation
from xlir_bench.search.ann import ANN_SAMPLE


class RunState(Protocol):
    """What the builder reads of a finished run (evaluation.pipeline's ``RunState`` is one), declared
    here so that the builder does not import the pipeline that imports it."""

    started: float
    options: Any
    perturbations: list
    families: Any
    retriever: Any
    tasks: list[Task]
    units: dict[str, str]
    timer: Any
    calls: dict[str, dict[str, dict[str, int]]]
    texts: dict[str, dict[str, dict[str, int]]]
    truncated: dict[str, int]
    bias: dict[str, dict[str, Any]]

    @property
    def cached(self) -> Any: ...

CONFIDENCE = 0.95  # level of the family-macro intervals


def build_record(run: RunState, outcomes: dict[str, list], clean: dict[str, list], examples: dict) -> RunRecord:
    """The run's record: results (their scoring timed), then every section of the run."""
    with run.timer.stage("score_s"):
        results = {name: _task_result(run, name, task_outcomes) for name, task_outcomes in outcomes.items()}
    run.timer.seconds["total_s"] = time.perf_counter() - run.started
    clean_views, ratios = _robustness(results, clean)
    return RunRecord(
        run.options.name or run.retriever.name,
        run.retriever.fingerprint,
        {task.name: dict(task.checksums) for task in run.tasks},
        results,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=package_versions(),
        timings={key: round(value, 3) for key, value in run.timer.seconds.items()},
        encode_calls=run.calls,
        selection={task.name: {"langs": list(task.langs), "families": list(run.families)} for task in run.tasks},
        retriever=run.retriever.describe(),
        encoded_texts=run.texts,
        bootstrap=_bootstrap(run, outcomes),
        truncated_texts=run.truncated,
        provenance=run.options.provenance,
        model_meta=retriever_meta(run.retriever),  # what MTEB's registry says about the model (with the bench extra)
        sample=_sample(run),
        index=_index(run),
        perturbation=_perturbation(run, examples),
        clean=clean_views,
        robustness=ratios,
        cache=_cache(run),
        api=_api_usage(run),
    )


def _task_result(run: RunState, name: str, outcomes: list) -> TaskResult:
    task = next(task for task in run.tasks if task.name == name)
    uncertainty = Bootstrap(run.options.bootstrap, run.options.bootstrap_seed)
    return task_results(outcomes, run.bias[name], uncertainty, _clusters(run, task, outcomes))


def _clusters(run: RunState, task: Task, outcomes: list) -> Clustering:
    """The task's resampling unit and, unless it is ``question``, each query's cluster."""
    unit = run.units[task.name]
    qids = dict.fromkeys(q for outcome in outcomes for q in outcome.scores.query_ids)
    source = resolve_source(run.options.data_dir) if unit != "question" else None
    return Clustering(unit, cluster_map(task.spec, unit, qids, source))


def _bootstrap(run: RunState, outcomes: dict[str, list]) -> BootstrapInfo:
    units = {name: run.units[name] for name in outcomes}
    return BootstrapInfo(run.options.bootstrap, run.options.bootstrap_seed, CONFIDENCE, units)


def _robustness(results: dict[str, TaskResult], clean: dict[str, list]) -> tuple[dict | None, dict | None]:
    """Perturbed runs: the clean macros and perturbed / clean (None, None for a clean run)."""
    if not clean:
        return None, None
    return robustness_views(results, {name: task_results(task_outcomes) for name, task_outcomes in clean.items()})


def _sample(run: RunState) -> ArticleSample | None:
    options = run.options
    if not options.sample_articles:
        return None
    sample = Sample(options.sample_articles, options.sample_seed)
    indices = sample_section(sample, run.tasks, resolve_source(options.data_dir))["indices"]
    return ArticleSample(sample.articles, sample.seed, indices)


def _index(run: RunState) -> IndexInfo | None:
    if not isinstance(run.retriever, DenseRetriever) or run.retriever.index == "flat":
        return None
    return IndexInfo(run.options.index, run.options.ann_depth, ANN_SAMPLE)


def _perturbation(run: RunState, examples: dict) -> Perturbation | None:
    if not run.perturbations:
        return None
    return Perturbation([p.spec for p in run.perturbations], run.options.perturb_seed, examples)


def _cache(run: RunState) -> CacheStats | None:
    if run.cached is None:
        return None
    stats = run.cached.cache.stats
    return CacheStats(stats.hits, stats.encoded, stats.rebuilt_chunks)


def _api_usage(run: RunState) -> dict[str, Any] | None:
    """Embedding APIs: requests, retries and billed tokens."""
    encoder = getattr(run.cached or run.retriever, "encoder", None)
    api_usage = getattr(encoder, "api_usage", None)
    return api_usage() if api_usage is not None else None
