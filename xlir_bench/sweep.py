"""Declarative training grids: ``xlir-bench sweep GRID.toml --output DIR``.

A grid file names a base sentence-transformers model, training data, training
options and evaluation tasks. Option values may be lists: the cells of the sweep
are the cartesian product of those lists (per ``[[grid]]`` block, when there are
blocks; their union). Every cell trains with :func:`xlir_bench.training.train`
and is evaluated with :func:`xlir_bench.evaluate` on each evaluation task::

    base = "models/e5-small-st"          # relative to this file
    baseline = "mono-s1"                 # cell the others are tested against ("base": the untrained model)
    perturb = ["dialect"]                # optional robustness evaluation

    [train]
    data = {from = "mlqa-r"}             # or "pairs.jsonl" from `xlir-bench train-data`
    strategy = ["mono", "cross", "hybrid"]
    mono_ratio = 0.5                     # hybrid only: P(monolingual batch)
    seed = [1, 2]
    steps = 300

    [[eval]]
    task = "xquad-r"

The whole file is checked before anything is trained or written. Output layout:
``DIR/sweep.json`` (the plan and the time accounting), ``DIR/cells/<cell>/``
(``train/`` with checkpoints, ``final/`` and ``training_log.json``;
``runs/<task>.json.gz`` run records; ``cell.json`` with the options and seconds).
A re-run skips finished cells and resumes an interrupted one from its newest
checkpoint; a cell is never trained twice.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import training
from .errors import XlirError
from .record import load_record, write_atomic
from .sampling import STRATEGIES, PairInfo, plan_batches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

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
    save_steps: int | None = None
    logging_steps: int = 10
    keep_checkpoints: bool = False
    dev: dict[str, Any] | None = None  # learning-curve set: {task, articles, seed, every}
    _dev_set: Any = field(default=None, repr=False)

    def dev_set(self) -> Any:
        """The :class:`~xlir_bench.dev_curve.DevSet` of ``dev`` (built once), or None."""
        if self.dev is None:
            return None
        if self._dev_set is None:
            from .dev_curve import build_dev_set
            from .tasks import load_selection

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


def load_grid(path: str | Path) -> Grid:
    """Read and check a grid file; raises one-line :class:`XlirError` naming the file and key on any problem."""
    path = Path(path)
    where = _Where(path)
    if not path.is_file():
        raise XlirError(f"{path}: no such grid file; give a TOML grid (see `experiments/study.toml`)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise XlirError(f"{path}: not valid TOML ({exc}); fix the file") from exc
    where.unknown(raw, list(TOP_KEYS), "")
    for key, kind in TOP_KEYS.items():
        if key in raw:
            raw[key] = where.typed(key, raw[key], kind)
    if "base" not in raw:
        raise where.error("base", "missing; give a sentence-transformers model folder")
    base = _check_base(where, path.parent / raw["base"])
    train = raw.get("train", {})
    where.unknown(train, [*TRAIN_KEYS, *AXES], "train.")
    data_dir = str(path.parent / raw["data_dir"]) if "data_dir" in raw else None
    pairs, source = _training_data(where, path.parent, train.get("data"), data_dir)
    cells = _cells(where, train, raw.get("grid", []))
    _steps_by_epochs(cells, len(pairs))
    _check_cells(where, cells, pairs)
    evals = _evals(where, raw.get("eval"))
    reference = raw.get("reference", True)
    names = [c.name for c in cells] + ([REFERENCE] if reference else [])
    baseline = raw.get("baseline", REFERENCE if reference else cells[0].name)
    if baseline not in names:
        close = difflib.get_close_matches(baseline, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"cells: {', '.join(names)}"
        raise where.error("baseline", f"{baseline!r} is not a cell of the grid; {hint}")
    perturb = [where.typed("perturb", spec, str) for spec in raw.get("perturb", [])]
    _check_perturb(where, perturb)
    options = {key: where.typed(f"train.{key}", train[key], TRAIN_KEYS[key]) for key in TRAIN_KEYS if key in train}
    _check_positive(where, options, raw)
    _check_zero_shot(where, evals, pairs, data_dir)  # last: it reads the evaluation data
    return Grid(
        path=path,
        name=raw.get("name", path.stem),
        base=base,
        base_name=raw.get("base_name", base.name),
        reference=reference,
        baseline=baseline,
        cells=cells,
        evals=evals,
        pairs=pairs,
        data_source=source,
        device=raw.get("device"),
        data_dir=data_dir,
        eval_batch_size=raw.get("eval_batch_size"),
        perturb=perturb,
        perturb_seed=raw.get("perturb_seed", 0),
        permutations=raw.get("permutations", 10_000),
        save_steps=options.get("save_steps"),
        logging_steps=options.get("logging_steps", 10),
        keep_checkpoints=options.get("keep_checkpoints", False),
        dev=_dev(where, raw.get("dev")),
    )


def _dev(where: _Where, dev: dict[str, Any] | None) -> dict[str, Any] | None:
    """The learning-curve dev set: a task (file beside the grid, or name), how many articles, seed, every N steps."""
    if dev is None:
        return None
    where.unknown(dev, list(DEV_KEYS), "dev.")
    for key, kind in DEV_KEYS.items():
        if key in dev:
            where.typed(f"dev.{key}", dev[key], kind)
    if "task" not in dev:
        raise where.error("dev", 'missing task = "TASK.toml" (a lareqa-split task, e.g. the held-out side)')
    for key in ("articles", "every"):
        if dev.get(key, 1) < 1:
            raise where.error(f"dev.{key}", "must be an integer >= 1")
    ref = dev["task"]
    if ref.endswith(".toml") and (where.path.parent / ref).is_file():
        ref = str(where.path.parent / ref)
    return {**dev, "task": ref}


def _steps_by_epochs(cells: list[Cell], n_pairs: int) -> None:
    """A cell trained by ``epochs`` takes ceil(epochs * n_pairs / batch_size) steps, whatever its strategy."""
    for cell in cells:
        if cell.options["epochs"] is not None:
            cell.options["steps"] = max(math.ceil(cell.options["epochs"] * n_pairs / cell.options["batch_size"]), 1)


def _check_positive(where: _Where, options: dict[str, Any], raw: dict[str, Any]) -> None:
    for key in ("save_steps", "logging_steps"):
        if key in options and options[key] < 1:
            raise where.error(f"train.{key}", f"{options[key]} must be an integer >= 1")
    if raw.get("permutations", 10_000) < 1000:
        raise where.error("permutations", f"{raw['permutations']} is too few; use at least 1000")
    if raw.get("eval_batch_size", 1) < 1:
        raise where.error("eval_batch_size", "must be an integer >= 1")


def _check_base(where: _Where, base: Path) -> Path:
    if not base.is_dir():
        raise where.error("base", f"{base} is not a folder; give a sentence-transformers model folder")
    if not (base / "modules.json").is_file():
        raise where.error(
            "base",
            f"{base} is not a sentence-transformers model folder (no modules.json); "
            "save one with SentenceTransformer.save or `xlir-bench convert-e5`",
        )
    return base


def _training_data(
    where: _Where, root: Path, data: Any, data_dir: str | None
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The training pairs (read from a JSONL, or built from a task) and how they were obtained."""
    if data is None:
        raise where.error("train.data", 'missing; give a JSONL of pairs or {from = "mlqa-r"}')
    if isinstance(data, str):
        file = root / data
        if not file.is_file():
            raise where.error("train.data", f"{file}: no such file; make one with `xlir-bench train-data`")
        return training.read_pairs(file), {"file": str(file), "sha256": _sha256(file)}
    if not isinstance(data, dict):
        raise where.error("train.data", f"{data!r}: give a JSONL path or a table {{from = TASK}}")
    where.unknown(data, list(DATA_FROM_KEYS), "train.data.")
    for key, kind in DATA_FROM_KEYS.items():
        if key in data:
            where.typed(f"train.data.{key}", data[key], kind)
    if "from" not in data:
        raise where.error("train.data", 'a table needs from = TASK, e.g. {from = "mlqa-r"}')
    from .data import resolve_source
    from .tasks import get_spec, load_task, select_langs

    try:
        spec = get_spec(data["from"])
        task = load_task(spec, select_langs(spec, data.get("langs")), resolve_source(data_dir))
    except XlirError as exc:
        raise where.error("train.data", str(exc)) from exc
    pairs = training.build_pairs(task, context=data.get("context", False))
    source = {"from": spec.name, "langs": list(task.langs), "context": data.get("context", False)}
    if "split" in data:  # only the pairs of the split's training articles
        pairs, source["split"] = _split_pairs(where, root / data["split"], spec.name, pairs, data_dir)
    return pairs, source


def _split_pairs(where: _Where, path: Path, task: str, pairs: list[dict[str, str]], data_dir: str | None):
    """The pairs of a split file's training articles, and {file, sha256} of the split for the plan."""
    from .data import resolve_source
    from .split import check_files, pairs_of_side, pivot_file, read_split

    try:
        split = read_split(path)
        en_raw, checksums = pivot_file(task, resolve_source(data_dir))
        check_files(split, checksums, str(path))
    except XlirError as exc:
        raise where.error("train.data.split", str(exc)) from exc
    if split.task != task:
        raise where.error("train.data.split", f"{path} splits {split.task}, not {task}; give a split of {task}")
    return pairs_of_side(pairs, split, en_raw, "train"), {"file": path.name, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    from .data import sha256_file

    return sha256_file(path)


def _values(where: _Where, key: str, value: Any, prefix: str) -> list[Any]:
    """An axis: one value or a non-empty list of values, each of the option's type and range."""
    kind, check, expected = AXES[key]
    key = prefix + key
    items = value if isinstance(value, list) else [value]
    if not items:
        raise where.error(key, "an empty list; give at least one value")
    out = []
    for item in items:
        item = where.typed(key, item, kind)
        if not check(item):
            raise where.error(key, f"{item!r} must be {expected}")
        out.append(item)
    if len(set(out)) != len(out):
        raise where.error(key, f"{value!r} lists a value twice")
    return out


def _cells(where: _Where, train: dict[str, Any], blocks: list[Any]) -> list[Cell]:
    """The union of the cartesian products of the ``[[grid]]`` blocks (or of ``[train]`` alone)."""
    defaults = {key: [value] for key, value in DEFAULTS.items()}
    defaults.update({key: _values(where, key, train[key], "train.") for key in AXES if key in train})
    combos: list[dict[str, Any]] = []
    for number, block in enumerate(blocks or [{}], 1):
        if not isinstance(block, dict):
            raise where.error(f"grid[{number}]", "must be a table ([[grid]])")
        where.unknown(block, list(AXES), f"grid[{number}].")
        axes = {**defaults, **{key: _values(where, key, v, f"grid[{number}].") for key, v in block.items()}}
        for values in itertools.product(*axes.values()):
            options = dict(zip(axes, values, strict=True))
            if options["strategy"] != "hybrid":
                options["mono_ratio"] = None  # a single-type strategy has no batch-type draw
            if options not in combos:
                combos.append(options)
    varying = [key for key in _SUFFIX if len({repr(c[key]) for c in combos}) > 1]
    usual = {key: _modal([c[key] for c in combos]) for key in _UNNAMED_WHEN_USUAL}
    cells = [Cell(_name(c, varying, True, usual), _name(c, varying, False, usual), c) for c in combos]
    return cells


def _modal(values: list[Any]) -> Any:
    """The value most cells have (the first of equals): a control cell is named, the main arms are not."""
    return max(values, key=lambda v: (values.count(v), -values.index(v)))


def _name(options: dict[str, Any], varying: list[str], seed: bool, usual: dict[str, Any]) -> str:
    """``hybrid-a0.50-s1``: strategy, mono ratio, the axes that vary in the grid, frozen embeddings, seed.

    ``loss_scale`` and ``epochs`` are named only where a cell differs from the value most cells use.
    """
    parts = [options["strategy"]]
    if options["mono_ratio"] is not None:
        parts.append(f"a{options['mono_ratio']:.2f}")
    named = [key for key in varying if key not in usual or options[key] != usual[key]]
    parts += [part for part in (_SUFFIX[key](options[key]) for key in named) if part]
    if options["freeze_embeddings"]:
        parts.append("frozen")
    if seed:
        parts.append(f"s{options['seed']}")
    return "-".join(parts)


def _check_cells(where: _Where, cells: list[Cell], pairs: list[dict[str, str]]) -> None:
    """Refuse a cell its training data cannot feed (no pairs of its batch type, or not one full batch)."""
    names = [cell.name for cell in cells]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise where.error("grid", f"cells {', '.join(twice)} are named twice; a cell's options must differ")
    info = [PairInfo(p["id"], p["query_lang"], p["passage_lang"]) for p in pairs]
    counts = _pair_counts(pairs)
    langs = sorted({p.query_lang for p in info} | {p.passage_lang for p in info})
    checked: set[tuple[Any, ...]] = set()
    for cell in cells:
        opts = cell.options
        needed = {"mono": ["mono"], "cross": ["cross"], "hybrid": ["mono", "cross"], "mixed": []}[opts["strategy"]]
        for kind in needed:
            if counts[kind] == 0:
                why = f"all pairs are in one language ({', '.join(langs)})" if kind == "cross" else "no pair X->X"
                raise where.error(
                    f"cell {cell.name}",
                    f"{opts['strategy']} batches need {kind}-lingual pairs but the training data has none ({why}); "
                    "drop the cell or use other data",
                )
        key = (opts["strategy"], opts["batch_size"], opts["mono_ratio"])
        if key in checked:
            continue
        checked.add(key)
        try:
            plan = plan_batches(info, opts["batch_size"], opts["strategy"], opts["seed"], 0, opts["mono_ratio"])
        except ValueError as exc:
            plan, reason = [], str(exc)
        else:
            reason = "too few pairs without a repeated question"
        if not plan:
            raise where.error(
                f"cell {cell.name}", f"no full batch of {opts['batch_size']} ({reason}); lower batch_size"
            )


def _evals(where: _Where, entries: Any) -> list[EvalSpec]:
    from .tasks import get_spec, parse_families, select_langs

    if not entries:
        raise where.error("eval", 'missing; add at least one [[eval]] table with task = "xquad-r"')
    evals = []
    for number, entry in enumerate(entries, 1):
        prefix = f"eval[{number}]"
        if not isinstance(entry, dict):
            raise where.error(prefix, "must be a table ([[eval]])")
        where.unknown(entry, list(EVAL_KEYS), f"{prefix}.")
        for key, kind in EVAL_KEYS.items():
            if key in entry:
                where.typed(f"{prefix}.{key}", entry[key], kind)
        if "task" not in entry:
            raise where.error(prefix, 'missing task = "xquad-r" (or another task)')
        ref = entry["task"]
        if ref.endswith(".toml") and (where.path.parent / ref).is_file():  # a task file beside the grid
            ref = str(where.path.parent / ref)
        try:
            spec = get_spec(ref)
            langs = select_langs(spec, entry.get("langs")) if entry.get("langs") else None
            families = parse_families(entry.get("settings"))
        except XlirError as exc:
            raise where.error(prefix, str(exc)) from exc
        if any(e.task == spec.name for e in evals):
            raise where.error(prefix, f"task {spec.name} is evaluated twice; give each task once")
        evals.append(EvalSpec(spec.name, ref, langs, families, entry.get("seen", False)))
    return evals


def _check_zero_shot(where: _Where, evals: list[EvalSpec], pairs: list[dict[str, str]], data_dir: str | None) -> None:
    """An evaluation not flagged ``seen`` must share no text with the training pairs (else it is not zero-shot)."""
    from .data import resolve_source
    from .tasks import PINNED_FORMATS, get_spec, load_task

    for number, spec in enumerate(evals, 1):
        if spec.seen:
            continue
        task_spec = get_spec(spec.ref)
        source = resolve_source(data_dir) if task_spec.format in PINNED_FORMATS else None
        task = load_task(task_spec, spec.langs or task_spec.languages, source)
        warning = training.overlap_warning(pairs, task)
        if warning:
            raise where.error(f"eval[{number}]", f"{warning}; set seen = true or train on other data")


def _check_perturb(where: _Where, specs: list[str]) -> None:
    from .perturb import parse_perturbation

    for spec in specs:
        try:
            parse_perturbation(spec)
        except XlirError as exc:
            raise where.error("perturb", str(exc)) from exc


# ---------------------------------------------------------------- the runner


@dataclass
class Session:
    """Seconds of one ``sweep`` invocation: the cells' training and evaluation, and the runner's own."""

    started: float = field(default_factory=time.perf_counter)
    train_s: float = 0.0
    eval_s: float = 0.0
    trained: list[str] = field(default_factory=list)
    evaluated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self, report_s: float = 0.0) -> dict[str, Any]:
        wall = time.perf_counter() - self.started
        work = self.train_s + self.eval_s
        overhead = wall - work - report_s
        return {
            "wall_s": round(wall, 3),
            "train_s": round(self.train_s, 3),
            "eval_s": round(self.eval_s, 3),
            "report_s": round(report_s, 3),
            "overhead_s": round(overhead, 3),
            "overhead_ratio": round(overhead / work, 5) if work else None,
            "trained": self.trained,
            "evaluated": self.evaluated,
            "skipped": self.skipped,
        }


def run_sweep(
    grid_path: str | Path,
    output: str | Path,
    progress: bool = True,
    report: bool = True,
    callbacks: Sequence[Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train and evaluate every cell of the grid into ``output``; returns this session's time accounting.

    ``callbacks`` are passed to every training (``transformers.TrainerCallback``);
    ``log`` receives one line per cell step.
    """
    session = Session()
    say = log or (lambda line: None)
    grid = load_grid(grid_path)
    out = Path(output)
    _check_output(grid, out)
    data_path = _write_train_data(grid, out)
    plan = grid.plan()
    _write_manifest(out, plan, None)
    try:
        for cell in ([None] if grid.reference else []) + grid.cells:
            _run_cell(grid, out, cell, data_path, session, progress, callbacks, say)
    except BaseException as exc:  # keep the accounting of an interrupted session too
        _write_manifest(out, plan, {**session.summary(), "interrupted": f"{type(exc).__name__}: {exc}"})
        raise
    report_s = 0.0
    if report:
        from .sweep_report import write_report

        start = time.perf_counter()
        write_report(out)
        report_s = time.perf_counter() - start
    accounting = session.summary(report_s)
    _write_manifest(out, plan, accounting)
    return accounting


def _check_output(grid: Grid, out: Path) -> None:
    """Refuse an output folder whose cells were made with other options (their results would mix)."""
    if out.exists() and not out.is_dir():
        raise XlirError(f"--output {out}: is a file; give a folder")
    for cell in grid.cells:
        state = _read_json(out / "cells" / cell.name / "cell.json")
        if state is not None and state.get("options") is not None:
            state["options"] = {**{k: v for k, v in LEGACY.items() if k in cell.options}, **state["options"]}
        if state is not None and state.get("options") != cell.options:
            changed = sorted(k for k in cell.options if state.get("options", {}).get(k) != cell.options[k])
            raise XlirError(
                f"--output {out}: cell {cell.name} there was made with other {', '.join(changed) or 'options'}; "
                "use a new --output folder or delete that cell's folder"
            )
    manifest = _read_json(out / "sweep.json")
    if manifest is not None and manifest.get("plan", {}).get("train_data") != grid.data_source:
        raise XlirError(f"--output {out}: its cells were trained on other training data; use a new --output folder")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _write_train_data(grid: Grid, out: Path) -> Path:
    if "file" in grid.data_source:
        return Path(grid.data_source["file"])
    path = out / "train-data.jsonl"
    if not path.is_file():
        training.write_pairs(grid.pairs, path)
    return path


def _write_manifest(out: Path, plan: dict[str, Any], accounting: dict[str, Any] | None) -> None:
    manifest = _read_json(out / "sweep.json") or {}
    sessions = manifest.get("sessions", [])
    if accounting is not None:
        sessions.append(accounting)
    write_atomic(out / "sweep.json", json.dumps({"plan": plan, "sessions": sessions}, indent=1))


def record_paths(grid_evals: Sequence[dict[str, Any]], perturb: Sequence[str], cell_dir: Path) -> dict[str, Path]:
    """Run record of each evaluation of a cell: ``<task>`` (clean) and ``<task>-perturbed`` when perturbing."""
    paths = {}
    for spec in grid_evals:
        paths[spec["task"]] = cell_dir / "runs" / f"{spec['task']}.json.gz"
        if perturb:
            paths[f"{spec['task']}-perturbed"] = cell_dir / "runs" / f"{spec['task']}-perturbed.json.gz"
    return paths


def record_is_valid(path: Path, model_name: str, spec: dict[str, Any], perturbation: dict[str, Any] | None) -> bool:
    """A finished record: readable, of this cell's model, of the planned selection and perturbation (or none)."""
    if not path.is_file():
        return False
    try:
        record = load_record(path).to_json()
    except XlirError:
        return False
    selection = record.get("selection", {}).get(spec["task"], {})
    return (
        record["model"]["name"] == model_name
        and list(selection.get("families", [])) == list(spec["settings"])
        and (spec["langs"] is None or list(selection.get("langs", [])) == list(spec["langs"]))
        and _perturbation_of(record) == perturbation
    )


def _perturbation_of(record: dict[str, Any]) -> dict[str, Any] | None:
    if "perturbation" not in record:
        return None
    return {"spec": record["perturbation"]["spec"], "seed": record["perturbation"]["seed"]}


def _planned_perturbation(grid: Grid) -> dict[str, Any]:
    from .perturb import parse_perturbation

    return {"spec": [parse_perturbation(spec).spec for spec in grid.perturb], "seed": grid.perturb_seed}


def _training_done(train_dir: Path, steps: int) -> bool:
    log = _read_json(train_dir / "training_log.json")
    return log is not None and log.get("steps") == steps and (train_dir / "final" / "modules.json").is_file()


def _run_cell(grid, out, cell, data_path, session, progress, callbacks, say) -> None:
    """Train (or resume) one cell, then evaluate whatever of its records is missing."""
    name = cell.name if cell else REFERENCE
    cell_dir = out / "cells" / name
    model_name = f"{grid.base_name}+{name}" if cell else grid.base_name
    evals = [asdict(e) for e in grid.evals]
    paths = record_paths(evals, grid.perturb, cell_dir)
    state = _read_json(cell_dir / "cell.json") or {"name": name, "train_s": 0.0, "eval_s": {}}
    state["options"] = cell.options if cell else None
    trained = cell is None or _training_done(cell_dir / "train", cell.options["steps"])
    perturbation = _planned_perturbation(grid)
    missing = [
        key
        for key, path in paths.items()
        if not record_is_valid(
            path, model_name, _spec_of(evals, key), perturbation if key.endswith("-perturbed") else None
        )
    ]
    if trained and not missing:
        session.skipped.append(name)
        say(f"{name}: finished, skipped")
        return
    if not trained:
        _train_cell(grid, cell, cell_dir, data_path, state, session, callbacks, say)
    model = str(cell_dir / "train" / "final") if cell else str(grid.base)
    _evaluate_cell(grid, cell_dir, model, model_name, evals, paths, missing, state, session, progress, say)


def _spec_of(evals: list[dict[str, Any]], key: str) -> dict[str, Any]:
    task = key.removesuffix("-perturbed")
    return next(spec for spec in evals if spec["task"] == task)


def _save_state(cell_dir: Path, state: dict[str, Any]) -> None:
    write_atomic(cell_dir / "cell.json", json.dumps(state, indent=1))


def _train_cell(grid, cell, cell_dir, data_path, state, session, callbacks, say) -> None:
    train_dir = cell_dir / "train"
    _save_state(cell_dir, state)
    resumed = training.last_checkpoint(train_dir)
    say(f"{cell.name}: training" + (f" (resuming from {Path(resumed).name})" if resumed else ""))
    opts = cell.options
    start = time.perf_counter()
    try:
        training.train(
            str(grid.base),
            str(data_path),
            str(train_dir),
            strategy=opts["strategy"],
            batch_size=opts["batch_size"],
            learning_rate=opts["learning_rate"],
            max_steps=opts["steps"],
            warmup_ratio=opts["warmup_ratio"],
            max_length=opts["max_length"],
            mono_ratio=opts["mono_ratio"],
            seed=opts["seed"],
            device=grid.device,
            logging_steps=grid.logging_steps,
            freeze_embeddings=opts["freeze_embeddings"],
            save_steps=grid.save_steps or max(opts["steps"] // 4, 1),
            resume=True,
            callbacks=callbacks,
            loss_scale=opts["loss_scale"],
            cached_mini_batch=opts["cached_mini_batch"],
            dev=grid.dev_set(),
            dev_steps=grid.dev.get("every", 0) if grid.dev else 0,
        )
    finally:  # an interrupted session's seconds count too
        elapsed = time.perf_counter() - start
        session.train_s += elapsed
        state["train_s"] = round(state.get("train_s", 0.0) + elapsed, 3)
        _save_state(cell_dir, state)
    session.trained.append(cell.name)
    if not grid.keep_checkpoints:  # final/ holds the model; optimizer states are twice its size
        for checkpoint in train_dir.glob("checkpoint-*"):
            shutil.rmtree(checkpoint)


def _evaluate_cell(grid, cell_dir, model, model_name, evals, paths, missing, state, session, progress, say) -> None:
    from .evaluate import evaluate
    from .models import load_model

    # With a perturbation, clean and perturbed runs share the passages' embeddings through a cell-local cache.
    cache = cell_dir / ".embeddings"
    start = time.perf_counter()
    encoder = load_model(model, progress=progress, device=grid.device, batch_size=grid.eval_batch_size)
    state["load_s"] = round(time.perf_counter() - start, 3)
    session.eval_s += state["load_s"]
    for key in missing:
        spec = _spec_of(evals, key)
        perturbed = key.endswith("-perturbed")
        say(f"{cell_dir.name}: evaluating {key}")
        start = time.perf_counter()
        result = evaluate(
            encoder,
            tasks=[spec["ref"]],
            data_dir=grid.data_dir,
            settings=spec["settings"],
            langs=spec["langs"],
            progress=progress,
            name=model_name,
            cache_dir=str(cache),
            use_cache=bool(grid.perturb),
            perturb=grid.perturb if perturbed else None,
            perturb_seed=grid.perturb_seed,
        )
        result.save(paths[key])
        elapsed = time.perf_counter() - start
        session.eval_s += elapsed
        state["eval_s"][key] = round(elapsed, 3)
        _save_state(cell_dir, state)
    shutil.rmtree(cache, ignore_errors=True)
    session.evaluated.append(cell_dir.name)


def describe(grid: Grid) -> str:
    """The cells a grid makes, one per line (for ``--dry-run``)."""
    lines = [f"{grid.name}: {len(grid.cells)} cells (+ {REFERENCE} reference)" if grid.reference else grid.name]
    for cell in grid.cells:
        opts = ", ".join(f"{k}={v}" for k, v in cell.options.items() if v is not None)
        lines.append(f"  {cell.name}: {opts}")
    counts = _pair_counts(grid.pairs)
    lines.append(
        f"training data: {len(grid.pairs)} pairs ({counts['mono']} mono, {counts['cross']} cross) "
        f"in {', '.join(grid.train_langs)}; baseline {grid.baseline}"
    )
    lines.append("evaluation: " + ", ".join(e.task + (" (seen)" if e.seen else "") for e in grid.evals))
    return "\n".join(lines)
