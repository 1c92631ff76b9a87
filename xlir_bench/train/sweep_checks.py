"""Every check of a grid file before anything trains: one `error:` line naming the key and the fix."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.train import training
from xlir_bench.train.sampling import PairInfo, plan_batches
from xlir_bench.train.sweep_spec import (
    _SUFFIX,
    _UNNAMED_WHEN_USUAL,
    AXES,
    DATA_FROM_KEYS,
    DEFAULTS,
    DEV_KEYS,
    EVAL_KEYS,
    MAX_CELLS,
    REFERENCE,
    Cell,
    EvalSpec,
    _pair_counts,
    _Where,
)

HYPOTHESIS_KEYS = {"id": str, "claim": str, "kind": str, "task": str, "measure": str, "arm": str, "versus": list}
ANALYSIS_KEYS = {"unit": str, "alpha": float, "margin": float, "primary": list, "family": str}
MEASURES = (
    "map",
    "rank_distance",
    "rank_distance_norm",
    "map_mono",
    "map_cross",
    "map_multi",
    "map_seen",
    "map_unseen",
)


def _hypotheses(where: _Where, entries: list[Any], cells: list[Cell], evals: list[EvalSpec]) -> list[dict[str, Any]]:
    """Declared hypotheses: every key present and typed, arms that are configurations of the grid."""
    from xlir_bench.analysis.study_analysis import KINDS

    configs = {c.config for c in cells} | {REFERENCE}
    tasks = {e.task for e in evals} | {f"{e.task}-perturbed" for e in evals}
    out = []
    for number, entry in enumerate(entries, 1):
        prefix = f"hypotheses[{number}]"
        if not isinstance(entry, dict):
            raise where.error(prefix, "must be a table ([[hypotheses]])")
        where.unknown(entry, [*HYPOTHESIS_KEYS, "margin"], f"{prefix}.")
        for key, kind in HYPOTHESIS_KEYS.items():
            if key not in entry:
                raise where.error(prefix, f"missing {key}")
            where.typed(f"{prefix}.{key}", entry[key], kind)
        checks = [
            ("kind", entry["kind"] in KINDS, "one of " + ", ".join(KINDS)),
            ("task", entry["task"] in tasks, "an evaluated task: " + ", ".join(sorted(tasks))),
            ("measure", entry["measure"] in MEASURES, "one of " + ", ".join(MEASURES)),
            ("arm", entry["arm"] in configs, "a configuration: " + ", ".join(sorted(configs))),
            (
                "versus",
                entry["versus"] and set(entry["versus"]) <= configs,
                "configurations: " + ", ".join(sorted(configs)),
            ),
        ]
        for key, ok, expected in checks:
            if not ok:
                raise where.error(f"{prefix}.{key}", f"{entry[key]!r} must be {expected}")
        if "margin" in entry:
            entry["margin"] = where.typed(f"{prefix}.margin", entry["margin"], float)
        out.append(entry)
    return out


def _analysis(where: _Where, table: dict[str, Any]) -> dict[str, Any]:
    where.unknown(table, list(ANALYSIS_KEYS), "analysis.")
    out = {key: where.typed(f"analysis.{key}", table[key], kind) for key, kind in ANALYSIS_KEYS.items() if key in table}
    if not 0.0 < out.get("alpha", 0.05) < 0.5:
        raise where.error("analysis.alpha", "must be between 0 and 0.5")
    return out


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
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.tasks import get_spec, load_task, select_langs

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
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.split import check_files, pairs_of_side, read_split
    from xlir_bench.data.task_split import pivot_file

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
    from xlir_bench.data.lareqa import sha256_file

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
    seen: set[str] = set()  # a set, not `in combos`: checking a list is quadratic in the cells
    total = 0
    for number, block in enumerate(blocks or [{}], 1):
        if not isinstance(block, dict):
            raise where.error(f"grid[{number}]", "must be a table ([[grid]])")
        where.unknown(block, list(AXES), f"grid[{number}].")
        axes = {**defaults, **{key: _values(where, key, v, f"grid[{number}].") for key, v in block.items()}}
        total += math.prod(len(values) for values in axes.values())
        if total > MAX_CELLS:
            raise where.error(
                f"grid[{number}]", f"the grid has {total:,}+ cells, more than {MAX_CELLS:,}; each cell trains a "
                "model, so give fewer values per axis or split the grid into several files"
            )
        for values in itertools.product(*axes.values()):
            options = dict(zip(axes, values, strict=True))
            if options["strategy"] != "hybrid":
                options["mono_ratio"] = None  # a single-type strategy has no batch-type draw
            key = repr(sorted(options.items()))
            if key not in seen:
                seen.add(key)
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
    from xlir_bench.data.tasks import get_spec, parse_families, select_langs

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
    from xlir_bench.data.formats import FORMATS
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.tasks import get_spec, load_task

    for number, spec in enumerate(evals, 1):
        if spec.seen:
            continue
        task_spec = get_spec(spec.ref)
        source = resolve_source(data_dir) if FORMATS[task_spec.format].pinned else None
        task = load_task(task_spec, spec.langs or task_spec.languages, source)
        warning = training.overlap_warning(pairs, task)
        if warning:
            raise where.error(f"eval[{number}]", f"{warning}; set seen = true or train on other data")


def _check_perturb(where: _Where, specs: list[str]) -> None:
    from xlir_bench.data.perturb import parse_perturbation

    for spec in specs:
        try:
            parse_perturbation(spec)
        except XlirError as exc:
            raise where.error("perturb", str(exc)) from exc


# ---------------------------------------------------------------- the runner


def _cluster(raw: dict[str, Any], where) -> str | None:
    from xlir_bench.data.clusters import UNITS

    if "cluster" in raw and raw["cluster"] not in UNITS:
        raise where.error("cluster", f"{raw['cluster']!r} is not a unit; use one of {', '.join(UNITS)}")
    return raw.get("cluster")
