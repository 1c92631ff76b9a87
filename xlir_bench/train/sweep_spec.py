"""A training grid's declared shape: its keys, defaults, cells and evaluations (see :mod:`xlir_bench.train.sweep`)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.train.sampling import STRATEGIES

REFERENCE = "base"
TOP_KEYS = {
    "name": str,
    "base": str,
    "base_name": str,
    "reference": bool,
    "baseline": str,
    "device": str,
    "data_dir": str,
    "eval_batch_size": int,
    "perturb": list,
    "perturb_seed": int,
    "permutations": int,
    "cluster": str,
    "train": dict,
    "grid": list,
    "eval": list,
    "dev": dict,
    "hypotheses": list,
    "analysis": dict,
}
# Cell options: a value or a list of values (an axis of the grid); the type and check of each value.
AXES: dict[str, tuple[type, Callable[[Any], bool], str]] = {
    "strategy": (str, lambda v: v in STRATEGIES, "one of " + ", ".join(STRATEGIES)),
    "mono_ratio": (float, lambda v: 0.0 <= v <= 1.0, "between 0 and 1"),
    "seed": (int, lambda v: v >= 0, "a non-negative integer"),
    "steps": (int, lambda v: v >= 1, "an integer >= 1"),
    "learning_rate": (float, lambda v: 0.0 < v < 1.0, "between 0 and 1 (exclusive)"),
    "batch_size": (int, lambda v: v >= 2, "an integer >= 2 (in-batch negatives)"),
    "max_length": (int, lambda v: v >= 8, "an integer >= 8"),
    "freeze_embeddings": (bool, lambda v: True, "true or false"),
    "warmup_ratio": (float, lambda v: 0.0 <= v < 1.0, "between 0 and 1"),
    "loss_scale": (float, lambda v: v > 0.0, "a positive number (the softmax's inverse temperature)"),
    "epochs": (float, lambda v: v > 0.0, "a positive number of passes over all training pairs"),
    "cached_mini_batch": (int, lambda v: v >= 1, "an integer >= 1 (GradCache mini-batch)"),
}
MAX_CELLS = 10_000  # a sweep trains one model per cell: more is a typo, not a plan
DEFAULTS = {  # also the order of the product: a configuration's seeds come one after another
    "strategy": "hybrid",
    "mono_ratio": None,
    "steps": 100,
    "learning_rate": 2e-5,
    "batch_size": 32,
    "max_length": 128,
    "freeze_embeddings": False,
    "warmup_ratio": 0.1,
    "loss_scale": None,  # the trainer's default: 100 for E5-style models, else 20
    "epochs": None,  # when set, steps = ceil(epochs * all pairs / batch_size), the same for every strategy
    "cached_mini_batch": None,
    "seed": 42,
}
# What cells made before an option existed ran with (a finished cell's cell.json lacks the key).
LEGACY = {"loss_scale": 20.0, "epochs": None, "cached_mini_batch": None}
TRAIN_KEYS = {"data": object, "save_steps": int, "logging_steps": int, "keep_checkpoints": bool}
DEV_KEYS = {"task": str, "articles": int, "seed": int, "every": int}
EVAL_KEYS = {"task": str, "langs": list, "settings": object, "seen": bool}
DATA_FROM_KEYS = {"from": str, "langs": list, "context": bool, "split": str}
_UNNAMED_WHEN_USUAL = ("loss_scale", "epochs")
# Name suffixes of the axes that vary in a grid (strategy, mono_ratio and seed are always named).
_SUFFIX = {
    "steps": lambda v: f"steps{v}",
    "learning_rate": lambda v: f"lr{v:g}",
    "batch_size": lambda v: f"bs{v}",
    "max_length": lambda v: f"len{v}",
    "warmup_ratio": lambda v: f"wu{v:g}",
    "loss_scale": lambda v: f"scale{v:g}" if v is not None else "",
    "epochs": lambda v: f"ep{v:g}" if v is not None else "",
}


@dataclass(frozen=True)
class Cell:
    """One trained model of the grid: its name, its configuration name (the name without the seed), its options."""

    name: str
    config: str
    options: dict[str, Any] = field(hash=False, compare=False)


@dataclass(frozen=True)
class EvalSpec:
    """One evaluation of every cell: ``task`` is its name in the records, ``ref`` what :func:`evaluate` is given."""

    task: str
    ref: str
    langs: tuple[str, ...] | None
    settings: tuple[str, ...]
    seen: bool = False


@dataclass
class Grid:
    """A checked grid file: everything the runner needs, nothing written yet."""

    path: Path
    name: str
    base: Path
    base_name: str
    reference: bool
    baseline: str
    cells: list[Cell]
    evals: list[EvalSpec]
    pairs: list[dict[str, str]]
    data_source: dict[str, Any]
    device: str | None = None
    data_dir: str | None = None
    eval_batch_size: int | None = None
    perturb: list[str] = field(default_factory=list)
    perturb_seed: int = 0
    permutations: int = 10_000
    cluster: str | None = None  # resampling unit of the records' intervals and the report's tests (None: the task's default)
    save_steps: int | None = None
    logging_steps: int = 10
    keep_checkpoints: bool = False
    dev: dict[str, Any] | None = None  # learning-curve set: {task, articles, seed, every}
    hypotheses: list[dict[str, Any]] = field(default_factory=list)  # declared before running
    analysis: dict[str, Any] = field(default_factory=dict)
    _dev_set: Any = field(default=None, repr=False)

    def dev_set(self) -> Any:
        """The :class:`~xlir_bench.dev_curve.DevSet` of ``dev`` (built once), or None."""
        if self.dev is None:
            return None
        if self._dev_set is None:
            from xlir_bench.data.tasks import load_selection
            from xlir_bench.train.dev_curve import build_dev_set

            (task,) = load_selection([self.dev["task"]], None, self.data_dir)
            self._dev_set = build_dev_set(task, self.dev.get("articles", 8), self.dev.get("seed", 0))
        return self._dev_set

    @property
    def train_langs(self) -> list[str]:
        return sorted({p["query_lang"] for p in self.pairs} | {p["passage_lang"] for p in self.pairs})

    def plan(self) -> dict[str, Any]:
        """The JSON form kept in ``sweep.json``: what the report and a re-run read."""
        return {
            "grid": str(self.path),
            "name": self.name,
            "base": str(self.base),
            "base_name": self.base_name,
            "reference": self.reference,
            "baseline": self.baseline,
            "cells": [{"name": c.name, "config": c.config, "options": c.options} for c in self.cells],
            "evals": [asdict(e) for e in self.evals],
            "train_data": self.data_source,
            "train_langs": self.train_langs,
            "pairs": _pair_counts(self.pairs),
            "perturb": self.perturb,
            "perturb_seed": self.perturb_seed,
            "permutations": self.permutations,
            "dev": self.dev,
            "hypotheses": self.hypotheses,
            "analysis": self.analysis,
        }


def _pair_counts(pairs: Sequence[dict[str, str]]) -> dict[str, int]:
    mono = sum(p["query_lang"] == p["passage_lang"] for p in pairs)
    return {"mono": mono, "cross": len(pairs) - mono}


class _Where:
    """Names the grid file and the key in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, problem: str) -> XlirError:
        return XlirError(f"{self.path}: {key}: {problem}")

    def unknown(self, table: dict[str, Any], allowed: Sequence[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(allowed))}"
                raise self.error(f"{prefix}{key}", f"unknown key; {hint}")

    def typed(self, key: str, value: Any, kind: type) -> Any:
        if kind is object:
            return value
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise self.error(key, f"{value!r} is a {type(value).__name__}; expected {_kind_name(kind)}")
        return value


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}.get(
        kind, "a table"
    )
