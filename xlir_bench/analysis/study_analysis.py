"""The declared analysis of a training study: its hypotheses tested at the seed level, conclusions generated.

A grid may declare ``[analysis]`` (alpha, margin, primary measures, family) and
``[[hypotheses]]`` (id, claim, kind, task, measure, arm, versus[, margin]) before it
runs; ``sweep-report`` then writes ``analysis.json`` and ``analysis.md`` beside the
report. An arm is a configuration (``hybrid``, ``mono``...), its seeds the replicates;
``base`` is the untrained model (one value, no seeds). Measures per cell and task:

* ``map``: macro mAP of the family's settings (the record's own macro);
* ``rank_distance_norm``: per query, rank distance / ((N + 1)(R - 1)/(R + 1)), the
  expectation of max - min of R uniformly random ranks among N candidates; 1 = chance,
  lower = less language bias (N: the multilingual pool, R: the question's relevant
  sentences in it); mean over a setting's queries with R >= 2, then over query languages.

Kinds: ``noninferior`` (arm >= every comparator - margin, higher is better; tested as an
intersection-union: the largest one-sided p), ``noninferior_lower`` (arm <= every
comparator + margin, lower is better), ``lower`` / ``higher`` (superiority, one-sided).
Verdicts: *supported* (the one-sided test rejects at alpha), *refuted* (the opposite
one-sided test rejects: e.g. the (1 - 2 alpha) interval lies wholly below -margin),
*inconclusive* otherwise. The numbers come from :mod:`xlir_bench.stats.seed_level` (issue
24's machinery) on the arms' seed scores: the training run is the unit, Welch's t over seeds
(against the untrained base, one record without seeds, a t-test with the arm's spread,
df = seeds - 1), the (1 - 2 alpha) t interval, the minimal detectable difference at 80 %
power and the seeds per arm that would detect the observed difference. The hypotheses
compare arms' seed scores, not questions, so article clustering does not enter the tests.
A one-sided p is half the two-sided one in the direction of H1 (1 - half otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.files import write_atomic
from xlir_bench.records.schema import load_record
from xlir_bench.stats.seed_level import SeedOptions, compare_seeds

KINDS = ("noninferior", "noninferior_lower", "lower", "higher")
LOWER_IS_BETTER = {"rank_distance_norm", "rank_distance"}
BASE = "base"


def expected_rank_distance(pool: int, relevant: int) -> float:
    """E[max - min] of ``relevant`` ranks drawn without replacement from 1..``pool``: (N+1)(R-1)/(R+1)."""
    return (pool + 1) * (relevant - 1) / (relevant + 1)


def _pool_sizes(task: Any, langs: Sequence[str]) -> tuple[int, dict[str, int]]:
    """Multilingual pool size and, per question id, its relevant candidates in that pool."""
    size = sum(len(task.data[lang].candidates) for lang in langs)
    relevant: dict[str, int] = {}
    for lang in langs:
        for qid, judged in task.data[lang].qrels.items():
            relevant[qid] = relevant.get(qid, 0) + sum(grade > 0 for grade in judged.values())
    return size, relevant


def rank_distance_norm(record: dict[str, Any], task_name: str, task: Any) -> float:
    """Macro (over query languages) of the mean normalised rank distance in the multi settings."""
    per_lang = []
    for setting in record["results"][task_name]["settings"]:
        if setting["family"] != "multi":
            continue
        size, relevant = _pool_sizes(task, setting["pool_langs"])
        ratios = [
            rd / expected_rank_distance(size, relevant[qid])
            for qid, rd in zip(setting["per_query"]["qid"], setting["per_query"]["rank_distance"], strict=True)
            if rd is not None and np.isfinite(rd) and relevant.get(qid, 0) >= 2
        ]
        if ratios:
            per_lang.append(float(np.mean(ratios)))
    return float(np.mean(per_lang)) if per_lang else float("nan")


def cell_measures(record: dict[str, Any], task_name: str, task: Any, family: str, seen: Sequence[str]) -> dict:
    """The measures the analysis uses, from one run record."""
    result = record["results"][task_name]
    by_lang = result["by_query_lang"]
    out = {
        "map": result["macro"][family]["map"],
        "rank_distance": result["macro"]["multi"].get("rank_distance"),
        "rank_distance_norm": rank_distance_norm(record, task_name, task),
    }
    for f in ("mono", "cross", "multi"):
        out[f"map_{f}"] = result["macro"][f]["map"] if f in result["macro"] else None
    for label, langs in (
        ("seen", [x for x in by_lang if x in seen]),
        ("unseen", [x for x in by_lang if x not in seen]),
    ):
        out[f"map_{label}"] = float(np.mean([by_lang[x][family]["map"] for x in langs])) if langs else None
    return out


def collect(folder: Path, plan: dict[str, Any], tasks: dict[str, Any]) -> dict[str, dict[str, dict[str, list]]]:
    """key (task or task-perturbed) -> arm -> measure -> [value per seed, in seed order]; also cell names."""
    cells = ([{"name": BASE, "config": BASE, "options": None}] if plan["reference"] else []) + plan["cells"]
    family = plan.get("analysis", {}).get("family", "multi")
    out: dict[str, dict[str, dict[str, list]]] = {}
    for cell in cells:
        for spec in plan["evals"]:
            for key in (spec["task"], f"{spec['task']}-perturbed"):
                path = folder / "cells" / cell["name"] / "runs" / f"{key}.json.gz"
                if not path.is_file():
                    continue
                record = load_record(path).to_json()
                numbers = cell_measures(record, spec["task"], tasks[spec["task"]], family, plan["train_langs"])
                arm = out.setdefault(key, {}).setdefault(cell["config"], {"cells": []})
                arm["cells"].append(cell["name"])
                for measure, value in numbers.items():
                    arm.setdefault(measure, []).append(value)
    return out


def test_hypothesis(hyp: dict[str, Any], arms: dict[str, dict[str, list]], alpha: float, margin: float) -> dict:
    """One declared hypothesis against the seeds at hand: estimate, interval, p, verdict."""
    measure, kind = hyp["measure"], hyp["kind"]
    margin = hyp.get("margin", margin)
    mine = arms.get(hyp["arm"], {}).get(measure, [])
    others = {name: arms.get(name, {}).get(measure, []) for name in hyp["versus"]}
    need = [name for name, values in {hyp["arm"]: mine, **others}.items() if len(values) < (1 if name == BASE else 2)]
    if need:
        return {**hyp, "verdict": "not run", "why": f"too few seeds of {', '.join(need)}"}
    lower_better = kind in ("noninferior_lower", "lower")
    pick = min if lower_better else max
    best = pick(others, key=lambda name: float(np.mean(others[name])))
    shift = {"noninferior": -margin, "noninferior_lower": margin}.get(kind, 0.0)
    tests = {name: one_sided(mine, values, shift, not lower_better, alpha) for name, values in others.items()}
    p = float(np.max([t["p"] for t in tests.values()]))  # NaN (zero spread) stays NaN: inconclusive
    main = tests[best]
    refuted = any((t["high"] < shift) if not lower_better else (t["low"] > shift) for t in tests.values())
    verdict = "supported" if p < alpha else "refuted" if refuted else "inconclusive"
    return {
        **hyp,
        "margin": margin if kind.startswith("noninferior") else 0.0,
        "comparator": best,
        "estimate": main["estimate"],
        "interval": [main["low"], main["high"]],
        "confidence": 1 - 2 * alpha,
        "p": p,
        "test": main["test"],
        "mdd": main["mdd"],
        "needed": main["needed"],
        "seeds": {hyp["arm"]: len(mine), **{name: len(v) for name, v in others.items()}},
        "verdict": verdict,
    }


def one_sided(mine: list, other: list, shift: float, greater: bool, alpha: float) -> dict[str, Any]:
    """H1: mean(mine) - mean(other) > shift (``greater``) or < shift, over seeds (seed_level.compare_seeds).

    ``estimate`` and the (1 - 2 alpha) interval are of mean(mine) - mean(other); p is one-sided.
    """
    options = SeedOptions(resamples=0, alpha=alpha, confidence=1 - 2 * alpha)
    got = compare_seeds(np.asarray(other, float)[:, None], np.asarray(mine, float)[:, None] - shift, None, options)
    toward = got.estimate > 0 if greater else got.estimate < 0
    p = got.p / 2 if toward else 1 - got.p / 2
    return {
        "estimate": got.estimate + shift,
        "low": got.low + shift,
        "high": got.high + shift,
        "p": float(p),
        "mdd": got.mdd,
        "needed": got.needed,
        "test": got.test,
    }


def analyse(folder: str | Path, tasks: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``analysis.json`` holds: per-arm seed intervals per task, the hypotheses' tests."""
    folder = Path(folder)
    plan = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))["plan"]
    tasks = tasks if tasks is not None else _load_tasks(plan)
    settings = plan.get("analysis", {})
    alpha, margin = settings.get("alpha", 0.05), settings.get("margin", 0.005)
    data = collect(folder, plan, tasks)
    arms = {
        key: {
            arm: {m: _interval(v) for m, v in values.items() if m != "cells"} | {"cells": values["cells"]}
            for arm, values in by_arm.items()
        }
        for key, by_arm in data.items()
    }
    tests = [test_hypothesis(h, data.get(h["task"], {}), alpha, margin) for h in plan.get("hypotheses", [])]
    return {"alpha": alpha, "margin": margin, "arms": arms, "hypotheses": tests, "train_langs": plan["train_langs"]}


def _interval(values: list) -> dict[str, Any]:
    """Mean over seeds with its 95 % Student t interval (the arm's own spread)."""
    from scipy import stats

    clean = np.asarray([v for v in values if v is not None], dtype=float)
    if len(clean) < 2:
        return {"mean": float(clean[0]) if len(clean) else None, "n": len(clean), "values": values}
    sd = float(clean.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(clean) - 1) * sd / np.sqrt(len(clean)))
    mean = float(clean.mean())
    return {"mean": mean, "low": mean - half, "high": mean + half, "sd": sd, "n": len(clean), "values": values}


def _load_tasks(plan: dict[str, Any]) -> dict[str, Any]:
    from xlir_bench.data.tasks import load_selection

    grid_dir = Path(plan["grid"]).parent
    out = {}
    for spec in plan["evals"]:
        ref = spec["ref"]
        if ref.endswith(".toml") and not Path(ref).is_file():  # a task file beside the grid, moved with it
            ref = str(grid_dir / Path(ref).name)
        (task,) = load_selection([ref], spec["langs"])
        out[spec["task"]] = task
    return out


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _cell(entry: dict[str, Any] | None, digits: int = 3) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    if "low" not in entry:
        return _fmt(entry["mean"], digits)
    return f"{_fmt(entry['mean'], digits)} [{_fmt(entry['low'], digits)}, {_fmt(entry['high'], digits)}]"


def render(analysis: dict[str, Any]) -> str:
    """analysis.md: per-arm tables, the hypothesis table and the generated conclusions."""
    lines = ["# Declared analysis (seed level)", ""]
    lines += [
        f"Unit: the training run (seed). Intervals: 95 % Student t over seeds. Tests (xlir_bench.stats.seed_level): "
        f"one-sided Welch t over seeds at alpha {analysis['alpha']} (against the untrained base: a t-test with the "
        f"arm's spread), non-inferiority margin {analysis['margin']} unless a hypothesis declares its own; "
        "interval of a hypothesis at 1 - 2 alpha; seeds needed: per arm, for 80 % power at the observed difference.",
        "",
    ]
    for key, arms in analysis["arms"].items():
        lines += [f"## {key}", ""]
        lines += ["| arm | seeds | multi mAP | norm. rank dist. | mono mAP | cross mAP | multi seen | multi unseen |"]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for arm, entry in arms.items():
            lines.append(
                f"| {arm} | {len(entry['cells'])} | {_cell(entry.get('map'))} | {_cell(entry.get('rank_distance_norm'))} "
                f"| {_cell(entry.get('map_mono'))} | {_cell(entry.get('map_cross'))} | {_cell(entry.get('map_seen'))} "
                f"| {_cell(entry.get('map_unseen'))} |"
            )
        lines.append("")
    lines += ["## Hypotheses", "", "| id | claim | estimate | interval | p | test | MDD | seeds needed | verdict |"]
    lines += ["|---|---|---|---|---|---|---|---|---|"]
    for h in analysis["hypotheses"]:
        if h["verdict"] == "not run":
            lines.append(f"| {h['id']} | {h['claim']} | – | – | – | – | – | – | not run ({h['why']}) |")
            continue
        interval = f"[{_fmt(h['interval'][0], 4)}, {_fmt(h['interval'][1], 4)}]"
        lines.append(
            f"| {h['id']} | {h['claim']} | {_fmt(h['estimate'], 4)} (vs {h['comparator']}) | {interval} "
            f"| {_p(h['p'])} | {h['test']} | {_fmt(h['mdd'], 4)} | {_needed(h['needed'])} | **{h['verdict']}** |"
        )
    lines += ["", "## Conclusions (generated from the tests above)", ""]
    lines += [f"- {sentence}" for sentence in conclusions(analysis)]
    return "\n".join(lines) + "\n"


def _needed(n: float) -> str:
    return f"{max(2, int(np.ceil(n)))}" if np.isfinite(n) else "–"


def _p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


def conclusions(analysis: dict[str, Any]) -> list[str]:
    """One sentence per hypothesis, worded from its verdict and numbers only."""
    out = []
    for h in analysis["hypotheses"]:
        if h["verdict"] == "not run":
            out.append(f"{h['id']} was not tested: {h['why']}.")
            continue
        bound = f"{int(round(h['confidence'] * 100))} % interval [{h['interval'][0]:+.4f}, {h['interval'][1]:+.4f}]"
        p = _p(h["p"])
        p = p if p.startswith("<") else f"= {p}"
        what = f"{h['arm']} - {h['comparator']} on {h['task']} {h['measure']} = {h['estimate']:+.4f} ({bound}, p {p})"
        if h["verdict"] == "supported":
            out.append(f"{h['id']} supported: {h['claim']}; {what}.")
        elif h["verdict"] == "refuted":
            out.append(f'{h["id"]} refuted: the data show the opposite of "{h["claim"]}"; {what}.')
        else:
            out.append(
                f"{h['id']} inconclusive: {what}; with these seeds a difference of {h['mdd']:.4f} "
                "would be needed to be detected with 80 % power."
            )
    return out


def write_analysis(folder: str | Path, tasks: dict[str, Any] | None = None) -> dict[str, Path] | None:
    """analysis.json and analysis.md in ``folder`` when its grid declared hypotheses; else nothing."""
    folder = Path(folder)
    plan = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))["plan"]
    if not plan.get("hypotheses"):
        return None
    analysis = analyse(folder, tasks)
    return {
        "json": write_atomic(folder / "analysis.json", json.dumps(analysis, indent=1, default=_nan_safe)),
        "md": write_atomic(folder / "analysis.md", render(analysis)),
    }


def _nan_safe(value: Any) -> Any:
    return None if isinstance(value, float) and not np.isfinite(value) else value
