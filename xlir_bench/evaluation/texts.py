"""The texts of a run: one encoder call over distinct texts, the plan printed before encoding, perturbation examples."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from xlir_bench.core.constants import FAMILIES
from xlir_bench.core.errors import XlirError
from xlir_bench.data.tasks import Setting, Task
from xlir_bench.encode.cached import CachedEncoder


def represent_unique(represent: Callable[[list[str]], Any], texts: list[str]) -> Any:
    """One call over the distinct texts, expanded back to the original order."""
    unique: dict[str, int] = {}
    inverse = [unique.setdefault(text, len(unique)) for text in texts]
    try:
        reps = represent(list(unique))
    except XlirError:
        raise
    except MemoryError as exc:
        raise XlirError("the model ran out of memory while encoding; lower --batch-size") from exc
    except Exception as exc:  # noqa: BLE001 - the user's model may raise anything; --debug shows the traceback
        raise XlirError(f"the model failed while encoding ({type(exc).__name__}: {exc}); --debug shows where") from exc
    if isinstance(reps, (str, bytes)) or not hasattr(reps, "__len__"):
        raise XlirError(f"the model returned a {type(reps).__name__}, not one representation per text")
    if isinstance(reps, np.ndarray) and reps.ndim != 2:
        raise XlirError(f"the model returned an array of shape {reps.shape}; expected (texts, dimension)")
    if len(reps) != len(unique):
        raise XlirError(
            f"the model returned {len(reps)} representations for {len(unique)} texts; "
            "an encoder must return one row per text"
        )
    if isinstance(reps, np.ndarray):
        if len(unique) == len(texts):  # every text distinct: already in order, no copy
            return reps
        return reps[np.asarray(inverse, dtype=np.int64)]
    return [reps[i] for i in inverse]


def label_cache(cached: CachedEncoder | None, label: str) -> None:
    if cached is not None:
        cached.label = label


def print_plan(cached: CachedEncoder | None, tasks: list[Task], plan: dict[str, list[Setting]]) -> None:
    """What the run will do, before it does it: a first run should not be a silent hour."""
    lines = []
    for task in tasks:
        counts = {f: sum(s.family == f for s in plan[task.name]) for f in FAMILIES}
        families = " + ".join(f"{n} {f}" for f, n in counts.items() if n)
        lines.append(f"  {task.name}: {len(task.langs)} languages ({','.join(task.langs)}), {families} settings")
    if cached is not None:
        distinct = todo = 0
        for data in (data for task in tasks for data in task.data.values()):
            distinct += len(set(data.questions)) + len(set(data.candidates))
            todo += cached.missing("query", data.questions) + cached.missing("passage", data.candidates)
        lines.append(
            f"  {distinct} distinct texts to embed with {cached.name}: {distinct - todo} already cached in "
            f"{cached.cache.folder.parent}, {todo} to encode"
        )
    print("plan:\n" + "\n".join(lines), file=sys.stderr, flush=True)
    if cached is not None:  # after the plan: a bar started before it printed a stray "encode: 0%" line above it
        cached.start_progress(todo)


def perturbation_examples(task: Task, perturbed: dict[str, list[str]], per_lang: int = 3) -> dict[str, list[dict[str, str]]]:
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
