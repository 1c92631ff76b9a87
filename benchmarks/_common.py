"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

from xlir_bench.data.tasks import Task, load_selection
from xlir_bench.models.registry import load_model


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB


def load_tasks(tasks: Sequence[str], langs: Sequence[str] | None, data_dir: str | None) -> list[Task]:
    return load_selection(tasks, langs, data_dir)


@dataclass
class LowerBound:
    """Encoding every distinct question and candidate of a selection once, and nothing else."""

    query_s: float
    passage_s: float
    queries: int
    passages: int

    @property
    def seconds(self) -> float:
        return self.query_s + self.passage_s

    @property
    def texts(self) -> int:
        return self.queries + self.passages


def lower_bound(model_name: str, tasks: Sequence[str], langs: Sequence[str] | None, data_dir: str | None) -> LowerBound:
    encoder = load_model(model_name, progress=False)
    bound = LowerBound(0.0, 0.0, 0, 0)
    for task in load_tasks(tasks, langs, data_dir):
        for data in task.data.values():
            questions, candidates = list(dict.fromkeys(data.questions)), list(dict.fromkeys(data.candidates))
            start = time.perf_counter()
            encoder.encode_queries(questions)
            middle = time.perf_counter()
            encoder.encode_passages(candidates)
            bound.query_s += middle - start
            bound.passage_s += time.perf_counter() - middle
            bound.queries += len(questions)
            bound.passages += len(candidates)
    return bound
