"""Declarative training grids: ``xlir-bench sweep GRID.toml --output DIR``.

A grid file names a base sentence-transformers model, training data, training
options and evaluation tasks. Option values may be lists: the cells of the sweep
are the cartesian product of those lists (per ``[[grid]]`` block, when there are
blocks; their union). Every cell trains with :func:`xlir_bench.train.training.train`
and is evaluated with :func:`xlir_bench.evaluation.pipeline` on each evaluation task::

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

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.records.build import write_atomic
from xlir_bench.records.schema import RunRecord, load_record
from xlir_bench.train import training
from xlir_bench.train.sweep_grid import load_grid, select_cells
from xlir_bench.train.sweep_spec import LEGACY, REFERENCE, Grid


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
    cluster: str | None = None,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train and evaluate every cell of the grid into ``output``; returns this session's time accounting.

    ``callbacks`` are passed to every training (``transformers.TrainerCallback``);
    ``log`` receives one line per cell step; ``cluster`` overrides the grid's resampling unit; ``only``
    restricts the session to these cells (``base`` for the reference), e.g. to spread a grid over parallel
    processes.
    """
    session = Session()
    say = log or (lambda line: None)
    grid = select_cells(load_grid(grid_path), only)
    if cluster is not None:
        grid.cluster = cluster
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
        from xlir_bench.train.sweep_report import write_report

        start = time.perf_counter()
        write_report(out, grid.cluster)
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
        record = load_record(path)
    except XlirError:
        return False
    selection = record.selection.get(spec["task"], {})
    return (
        record.model_name == model_name
        and list(selection.get("families", [])) == list(spec["settings"])
        and (spec["langs"] is None or list(selection.get("langs", [])) == list(spec["langs"]))
        and _perturbation_of(record) == perturbation
    )


def _perturbation_of(record: RunRecord) -> dict[str, Any] | None:
    if record.perturbation is None:
        return None
    return {"spec": record.perturbation.spec, "seed": record.perturbation.seed}


def _planned_perturbation(grid: Grid) -> dict[str, Any]:
    from xlir_bench.data.perturb import parse_perturbation

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
    from xlir_bench.evaluation.pipeline import evaluate
    from xlir_bench.models.registry import load_model

    # With a perturbation, clean and perturbed runs share the passages' embeddings through a cell-local cache.
    cache = cell_dir / ".embeddings"
    start = time.perf_counter()
    encoder = load_model(model, progress=progress, options={"device": grid.device, "batch_size": grid.eval_batch_size})
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
            cluster=grid.cluster,
        )
        result.save(paths[key])
        elapsed = time.perf_counter() - start
        session.eval_s += elapsed
        state["eval_s"][key] = round(elapsed, 3)
        _save_state(cell_dir, state)
    shutil.rmtree(cache, ignore_errors=True)
    session.evaluated.append(cell_dir.name)
