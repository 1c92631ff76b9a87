"""Reading a grid file into a :class:`~xlir_bench.train.sweep_spec.Grid`, choosing cells, describing it."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import read_text
from xlir_bench.train.sweep_checks import (
    _analysis,
    _cells,
    _check_base,
    _check_cells,
    _check_perturb,
    _check_positive,
    _check_zero_shot,
    _cluster,
    _dev,
    _evals,
    _hypotheses,
    _steps_by_epochs,
    _training_data,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from xlir_bench.train.sweep_spec import AXES, REFERENCE, TOP_KEYS, TRAIN_KEYS, Grid, _pair_counts, _Where


def load_grid(path: str | Path, check_base: bool = True) -> Grid:
    """Read and check a grid file; raises one-line :class:`XlirError` naming the file and key on any problem."""
    path = Path(path)
    where = _Where(path)
    try:  # read_text refuses a folder or a pipe by name, and never blocks on one
        raw = tomllib.loads(read_text(path, "grid", "give a TOML grid (see `experiments/study.toml`)"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise XlirError(f"{path}: not valid TOML ({exc}); fix the file") from exc
    where.unknown(raw, list(TOP_KEYS), "")
    for key, kind in TOP_KEYS.items():
        if key in raw:
            raw[key] = where.typed(key, raw[key], kind)
    if "base" not in raw:
        raise where.error("base", "missing; give a sentence-transformers model folder")
    base = _check_base(where, path.parent / raw["base"]) if check_base else path.parent / raw["base"]
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
        cluster=_cluster(raw, where),
        save_steps=options.get("save_steps"),
        logging_steps=options.get("logging_steps", 10),
        keep_checkpoints=options.get("keep_checkpoints", False),
        dev=_dev(where, raw.get("dev")),
        hypotheses=_hypotheses(where, raw.get("hypotheses", []), cells, evals),
        analysis=_analysis(where, raw.get("analysis", {})),
    )


def select_cells(grid: Grid, only: Sequence[str] | None) -> Grid:
    """The grid restricted to the named cells (``base``: the reference); an unknown name is refused."""
    if only is None:
        return grid
    names = [c.name for c in grid.cells] + ([REFERENCE] if grid.reference else [])
    unknown = [name for name in only if name not in names]
    if unknown:
        close = difflib.get_close_matches(unknown[0], names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"cells: {', '.join(names)}"
        raise XlirError(f"--only {unknown[0]}: not a cell of {grid.path}; {hint}")
    grid.cells = [c for c in grid.cells if c.name in only]
    grid.reference = grid.reference and REFERENCE in only
    return grid


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
