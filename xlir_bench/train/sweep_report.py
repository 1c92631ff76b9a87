"""The report of a sweep: ``DIR/report.md``, ``DIR/report.html`` and ``DIR/report.json``.

Every number comes from the cells' run records (``DIR/cells/<cell>/runs/*.json.gz``)
and the plan in ``DIR/sweep.json``:

* per configuration (a cell without its seed): the mean over seeds of each
  family's macro mAP and of the multilingual rank distance, with an interval —
  [min, max] for two seeds, a 95 % Student-t interval for three or more, none for one;
* significance of every *configuration* against the baseline cell's
  configuration, per task and family, from :func:`xlir_bench.analysis.compare.compare_sides`
  with the seeds of each side: the delta of the mean seed macros with the 95 %
  t interval of its test (the two-stage bootstrap interval, seeds then articles,
  in report.json as ``boot_low``/``boot_high``), a t-test whose unit is the
  training run (Welch when both sides have two or more seeds), Holm across the
  families, and the minimal detectable difference at 80 % power; settings better
  or worse at Holm-corrected p < 0.05;
* macro mAP over seen and unseen query languages (seen: a language of the
  training pairs);
* robustness (perturbed / clean mAP) when the grid perturbs the questions;
* plots of each family's mAP and of rank distance against the mono ratio α
  (mono batches at α = 1, cross batches at α = 0).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.records.build import write_atomic
from xlir_bench.records.schema import RunRecord, load_record
from xlir_bench.train.sweep_render import ALPHA, FAMILIES, INTERVAL_NOTE, _blocks, _plots, render_html, render_markdown


def interval(values: list[float]) -> dict[str, Any]:
    """Mean of ``values`` with the interval named in :data:`INTERVAL_NOTE`."""
    n = len(values)
    mean = float(np.mean(values))
    if n == 1:
        return {"mean": mean, "low": None, "high": None, "n": 1, "kind": "single"}
    if n == 2:
        return {"mean": mean, "low": float(min(values)), "high": float(max(values)), "n": 2, "kind": "min-max"}
    from scipy import stats

    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n, "kind": "t95"}


def load_sweep(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "sweep.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["plan"]
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise XlirError(
            f"{path}: not a sweep output folder (no readable sweep.json); run `xlir-bench sweep` first"
        ) from exc


def _alpha(plan: dict[str, Any], options: dict[str, Any] | None) -> float | None:
    """The share of monolingual batches: 1 for mono, 0 for cross, the ratio (or pool share) for hybrid.

    None for the base and for mixed batches (each batch mixes both kinds, so no batch has a type).
    """
    if options is None or options["strategy"] == "mixed":
        return None
    if options["strategy"] != "hybrid":
        return 1.0 if options["strategy"] == "mono" else 0.0
    if options["mono_ratio"] is not None:
        return options["mono_ratio"]
    pairs = plan["pairs"]
    return pairs["mono"] / (pairs["mono"] + pairs["cross"])


def _cells(plan: dict[str, Any]) -> list[dict[str, Any]]:
    cells = [{"name": "base", "config": "base", "options": None}] if plan["reference"] else []
    return cells + plan["cells"]


def _records(folder: Path, plan: dict[str, Any]) -> dict[str, dict[str, tuple[Path, RunRecord]]]:
    """cell -> key (task or task-perturbed) -> (path, typed record), for the records present."""
    out: dict[str, dict[str, tuple[Path, RunRecord]]] = {}
    for cell in _cells(plan):
        for spec in plan["evals"]:
            for key in (spec["task"], f"{spec['task']}-perturbed"):
                path = folder / "cells" / cell["name"] / "runs" / f"{key}.json.gz"
                if path.is_file():
                    out.setdefault(cell["name"], {})[key] = (path, load_record(path))
    return out


def _cell_numbers(record: RunRecord, task: str, seen: list[str]) -> dict[str, Any]:
    """One cell's numbers on one task, straight from its record."""
    result = record.results[task]
    macro, by_lang = result.macro, result.by_query_lang
    numbers: dict[str, Any] = {"map": {f: macro[f]["map"] for f in FAMILIES if f in macro}}
    if "multi" in macro:
        numbers["rank_distance"] = macro["multi"].get("rank_distance")
    for label, chosen in (
        ("seen", [lang for lang in by_lang if lang in seen]),
        ("unseen", [lang for lang in by_lang if lang not in seen]),
    ):
        numbers[label] = {
            f: float(np.mean([by_lang[lang][f]["map"] for lang in chosen]))
            for f in FAMILIES
            if chosen and all(f in by_lang[lang] and by_lang[lang][f]["map"] is not None for lang in chosen)
        }
    return numbers


def _robustness(record: RunRecord, task: str) -> dict[str, Any]:
    """Clean, perturbed and perturbed / clean macro mAP per family of a perturbed record."""
    macro, clean, ratio = record.results[task].macro, record.clean[task].macro, record.robustness[task].macro
    return {f: {"clean": clean[f]["map"], "perturbed": macro[f]["map"], "ratio": ratio[f]["map"]} for f in ratio}


def _significance(base_side, cand_side, permutations: int, cluster: str | None = None) -> dict[str, Any]:
    """One configuration (its seeds' records) against the baseline configuration, with seeds as the unit."""
    from xlir_bench.analysis.compare import Gate, compare_sides

    comparison = compare_sides(base_side, cand_side, "map", Gate(n_permutations=permutations, cluster=cluster))
    significant = [r for r in comparison.settings if r.p_holm is not None and r.p_holm < ALPHA]
    return {
        "seeds": list(comparison.seeds),
        "unit": comparison.unit,
        "families": {
            r.family: {
                "baseline": r.baseline,
                "cell": r.candidate,
                "delta": r.delta,
                "low": _finite(r.low),
                "high": _finite(r.high),
                "boot_low": _finite(r.boot_low),
                "boot_high": _finite(r.boot_high),
                "p": _finite(r.p),
                "p_holm": _finite(r.p_holm),
                "mdd": _finite(r.mdd),
                "needed": _finite(r.needed),
                "test": r.test,
                "n_questions": r.n,
            }
            for r in comparison.families
        },
        "settings": len(comparison.settings),
        "settings_better": sum(r.delta > 0 for r in significant),
        "settings_worse": sum(r.delta < 0 for r in significant),
    }


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def summarize(folder: str | Path, cluster: str | None = None) -> dict[str, Any]:
    """The report's numbers (``report.json``): per cell, per configuration over seeds, significance, robustness."""
    folder = Path(folder)
    plan = load_sweep(folder)
    records = _records(folder, plan)
    seen_langs = plan["train_langs"]
    summary: dict[str, Any] = {
        "name": plan["name"],
        "baseline": plan["baseline"],
        "interval": INTERVAL_NOTE,
        "train_langs": seen_langs,
        "tasks": {},
        "missing": [],
    }
    cells = _cells(plan)
    summary["missing"] = [c["name"] for c in cells if set(records.get(c["name"], {})) < _keys(plan)]
    for spec in plan["evals"]:
        task = spec["task"]
        done = [c for c in cells if task in records.get(c["name"], {})]
        perturbation = list(plan["perturb"])
        per_cell = {c["name"]: _cell_numbers(records[c["name"]][task][1], task, seen_langs) for c in done}
        for c in done:
            if f"{task}-perturbed" in records[c["name"]]:
                perturbed = records[c["name"]][f"{task}-perturbed"][1]
                per_cell[c["name"]]["robustness"] = _robustness(perturbed, task)
                # a study perturbed after it was run has the spec in its records, not in its plan
                perturbation = perturbed.perturbation.spec
        langs = sorted(records[done[0]["name"]][task][1].results[task].by_query_lang) if done else []
        summary["tasks"][task] = {
            "seen_data": spec["seen"],
            "seen_langs": [lang for lang in langs if lang in seen_langs],
            "unseen_langs": [lang for lang in langs if lang not in seen_langs],
            "cells": per_cell,
            "configs": _configs(plan, done, per_cell),
            "significance": _all_significance(plan, records, task, done, cluster),
        }
        if perturbation:
            summary["tasks"][task]["perturbation"] = perturbation
    return summary


def _keys(plan: dict[str, Any]) -> set[str]:
    keys = {spec["task"] for spec in plan["evals"]}
    return keys | ({f"{k}-perturbed" for k in keys} if plan["perturb"] else set())


def _configs(plan, done, per_cell) -> dict[str, Any]:
    """Per configuration: the seeds' cells and the mean and interval of every number."""
    configs: dict[str, Any] = {}
    for cell in done:
        entry = configs.setdefault(
            cell["config"],
            {
                "cells": [],
                "alpha": _alpha(plan, cell["options"]),
                "strategy": (cell["options"] or {}).get("strategy", "base"),
            },
        )
        entry["cells"].append(cell["name"])
    for entry in configs.values():
        numbers = [per_cell[name] for name in entry["cells"]]
        entry["map"] = _over_seeds([n["map"] for n in numbers])
        if all(n.get("rank_distance") is not None for n in numbers) and "rank_distance" in numbers[0]:
            entry["rank_distance"] = interval([n["rank_distance"] for n in numbers])
        entry["seen"] = _over_seeds([n["seen"] for n in numbers])
        entry["unseen"] = _over_seeds([n["unseen"] for n in numbers])
        if all("robustness" in n for n in numbers):
            entry["robustness"] = {
                f: {k: interval([n["robustness"][f][k] for n in numbers]) for k in ("clean", "perturbed", "ratio")}
                for f in numbers[0]["robustness"]
            }
    return configs


def _over_seeds(dicts: list[dict[str, float]]) -> dict[str, Any]:
    keys = [k for k in dicts[0] if all(d.get(k) is not None for d in dicts)]
    return {k: interval([d[k] for d in dicts]) for k in keys}


def _all_significance(plan, records, task, done, cluster: str | None = None) -> dict[str, Any]:
    """Every configuration against the baseline cell's configuration, each side with all its seeds."""
    baseline = plan["baseline"]
    if task not in records.get(baseline, {}):
        return {}
    configs: dict[str, list[str]] = {}
    for cell in done:
        configs.setdefault(cell["config"], []).append(cell["name"])
    base_config = next(c["config"] for c in done if c["name"] == baseline)
    side = lambda config: [(str(records[n][task][0]), records[n][task][1]) for n in configs[config]]  # noqa: E731
    return {
        config: _significance(side(base_config), side(config), plan["permutations"], cluster)
        for config in configs
        if config != base_config
    }


# ---------------------------------------------------------------- rendering


def write_report(folder: str | Path, cluster: str | None = None) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` (and plots under ``report/``) in ``folder``."""
    folder = Path(folder)
    plan = load_sweep(folder)
    summary = summarize(folder, cluster)
    blocks = _blocks(summary, plan, _plots(folder, summary))
    from xlir_bench.analysis.study_analysis import write_analysis

    write_analysis(folder)  # the grid's declared hypotheses, when it has some
    return {
        "json": write_atomic(folder / "report.json", json.dumps(summary, indent=1, allow_nan=False)),
        "md": write_atomic(folder / "report.md", render_markdown(blocks)),
        "html": write_atomic(folder / "report.html", render_html(blocks, folder)),
    }
