"""Which texts a run encodes: the one plan shared by the pipeline, ``encode`` and the Ray engine.

The selection's tasks and settings, the per-model length cap and the perturbed
questions, so that a prefilled cache holds exactly what an evaluation asks for.
"""

from __future__ import annotations

from typing import Any

from xlir_bench.core.constants import DEFAULT_TASKS
from xlir_bench.core.errors import XlirError
from xlir_bench.data.perturb import parse_perturbation, perturb_task_questions
from xlir_bench.data.tasks import Setting, Task, enumerate_settings, has_judged_queries, load_selection, parse_families
from xlir_bench.encode.cache import CachedEncoder
from xlir_bench.models.retrievers import DenseRetriever

CHARS_PER_TOKEN_CAP = 16


def plan_settings(options: Any, families: tuple[str, ...]) -> tuple[list[Task], dict[str, list[Setting]]]:
    """Load the selected tasks and plan their settings; refuses an empty selection before any encoding."""
    tasks = load_selection(options.tasks or DEFAULT_TASKS, options.langs, options.data_dir)
    if getattr(options, "sample_articles", 0):  # run --sample-articles: questions and pools of K articles
        from xlir_bench.data.lareqa import resolve_source
        from xlir_bench.data.sample import Sample, sampled_tasks

        sample = Sample(options.sample_articles, options.sample_seed)
        tasks = sampled_tasks(tasks, sample, resolve_source(options.data_dir))
    plan = {task.name: enumerate_settings(task.name, task.langs, families) for task in tasks}
    if not any(plan.values()):
        raise XlirError(
            f"empty selection: --settings {','.join(families)} over --langs {','.join(options.langs or [])} "
            "gives no setting; cross needs two languages, or add mono/multi"
        )
    for task in tasks:  # bring-your-own data may not judge every language pair
        plan[task.name] = [setting for setting in plan[task.name] if has_judged_queries(task, setting)]
    tasks = [task for task in tasks if plan[task.name]]
    if not tasks:
        raise XlirError("empty selection: no selected setting has a query with a relevant candidate in its pool")
    return tasks, plan


def max_text_chars(retriever: Any) -> int | None:
    """Character cap for a dense retriever's texts; None for lexical ones (no length limit)."""
    if not isinstance(retriever, DenseRetriever):
        return None
    return CHARS_PER_TOKEN_CAP * retriever.max_tokens


def truncate_texts(texts: list[str], limit: int | None) -> tuple[list[str], int]:
    """The texts cut to ``limit`` characters, and how many were cut."""
    if limit is None or all(len(text) <= limit for text in texts):
        return texts, 0
    return [text[:limit] for text in texts], sum(len(text) > limit for text in texts)


def run_texts(cached: CachedEncoder, options: Any) -> list[tuple[str, str]]:
    """Every (role, text) an evaluation with ``options`` (an EvalOptions) will ask the encoder for.

    The same selection, the same length cap and the same perturbed questions as
    the pipeline, so that after :func:`prefill` the evaluation encodes nothing.
    """

    tasks, _ = plan_settings(options, parse_families(options.settings))
    limit = max_text_chars(DenseRetriever(cached, options.index, options.ann_depth))
    perturbations = [parse_perturbation(spec) for spec in options.perturb or []]
    items: list[tuple[str, str]] = []
    for task in tasks:
        for data in task.data.values():
            items.extend(("query", text) for text in truncate_texts(data.questions, limit)[0])
            items.extend(("passage", text) for text in truncate_texts(data.candidates, limit)[0])
        if perturbations:
            perturbed = perturb_task_questions(task, perturbations, options.perturb_seed)
            items.extend(("query", text) for texts in perturbed.values() for text in texts)
    return items
