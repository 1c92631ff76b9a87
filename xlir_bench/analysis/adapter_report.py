"""The adapter study's report: per arm, mean over seeds with a t interval; seed-level tests; generated verdicts.

The unit is the training run (seed): every number of a cell is one observation of
its arm. For each evaluation and measure the report gives, per arm, the mean over
seeds and its 95 % t interval. The declared comparisons (the grid's ``[analysis]``)
are tested with :mod:`xlir_bench.analysis.adapter_tests` (Welch over seeds through
:mod:`xlir_bench.stats.seed_level`, a seed-relabelling permutation p beside it, the
minimal detectable difference at 80 % power, Holm over the declared family;
non-inferiority of hybrid against the better of mono and cross against the margin).
Secondary tests, Holm-adjusted apart: the same comparisons on query languages seen
and unseen in training, and on the change under a perturbation (a perturbed
evaluation minus its clean one, per seed). Verdicts and conclusions are generated
from these tests only: "inconclusive" where a test does not reject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomllib
from scipy import stats

from xlir_bench.analysis.adapter_tests import adjust, conclusions, paper_claim, tests_of
from xlir_bench.core.files import write_atomic

SEEN = ("ar", "de", "en", "es", "hi", "vi", "zh")  # MLQA-R's languages: the training languages
UNSEEN = ("el", "ru", "th", "tr")  # XQuAD-R only
PRIMARY = ("multi_map", "rank_distance_norm")
SPLIT = ("multi_map_seen", "multi_map_unseen", "rank_distance_norm_seen", "rank_distance_norm_unseen")
MEASURES = (*PRIMARY, "mono_map", "cross_map", *SPLIT)


@dataclass(frozen=True)
class Analysis:
    """What the grid file declares: the arms compared, the margin of non-inferiority."""

    hybrid: str = "hybrid"
    mono: str = "a1.00"
    cross: str = "a0.00"
    mixed: str = "mixed"
    margin: float = 0.005


def read_analysis(grid_file: Path) -> Analysis:
    raw = tomllib.loads(grid_file.read_text(encoding="utf-8")).get("analysis", {})
    return Analysis(**raw)


def cell_measures(evals: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per evaluation label: the study's measures of one cell."""
    out = {}
    for label, summary in evals.items():
        macro, by_lang = summary["macro"], summary["by_query_lang"]
        row = {
            "multi_map": macro["multi"]["map"],
            "mono_map": macro["mono"]["map"],
            "cross_map": macro["cross"]["map"],
            "rank_distance_norm": summary["rank_distance_norm"]["multi"],
        }
        rank = summary["rank_distance_norm"].get("by_query_lang", {})
        if all(any(x in by_lang for x in langs) for langs in (SEEN, UNSEEN)):  # the split needs both groups
            for group, langs in (("seen", SEEN), ("unseen", UNSEEN)):
                row[f"multi_map_{group}"] = float(np.mean([by_lang[x]["multi"]["map"] for x in langs if x in by_lang]))
                if any(x in rank for x in langs):
                    row[f"rank_distance_norm_{group}"] = float(np.mean([rank[x] for x in langs if x in rank]))
        out[label] = row
    return out


def load_cells(folder: Path) -> list[dict[str, Any]]:
    """Every cell with at least one evaluation: name, arm, seed and measures per evaluation."""
    cells = []
    for cell_file in sorted((folder / "cells").glob("*/cell.json")):
        info = json.loads(cell_file.read_text())
        evals = {p.stem: json.loads(p.read_text()) for p in sorted((cell_file.parent / "evals").glob("*.json"))}
        if evals:
            cost = {label: e["eval_s"] for label, e in evals.items() if e.get("eval_s") is not None}
            train_s = info.get("training", {}).get("train_s")
            cells.append(
                {
                    "name": info["name"],
                    "arm": info["arm"],
                    "seed": info["seed"],
                    "measures": cell_measures(evals),
                    "eval_s": cost,
                    "train_s": train_s,
                }
            )
    return cells


def arm_values(cells: list[dict], label: str, measure: str) -> dict[str, np.ndarray]:
    """Per arm, the seeds' values (in seed order) of one measure on one evaluation."""
    values: dict[str, list[tuple[int, float]]] = {}
    for cell in cells:
        row = cell["measures"].get(label, {})
        if measure in row and cell["arm"] != "base":
            values.setdefault(cell["arm"], []).append((cell["seed"], row[measure]))
    return {arm: np.array([v for _, v in sorted(pairs)]) for arm, pairs in values.items()}


def interval(values: np.ndarray) -> dict[str, float]:
    n = len(values)
    sd = float(np.std(values, ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
    return {"n": n, "mean": float(np.mean(values)), "sd": sd, "half_width": half}


def perturbed_pairs(labels) -> list[tuple[str, str]]:
    """(perturbed, clean) evaluation labels: a grid labels a perturbed evaluation ``<clean>-<perturbation>``."""
    return [(label, clean) for label in labels for clean in labels if label.startswith(clean + "-")]


def with_drops(cells: list[dict]) -> list[dict]:
    """Each cell's measures plus, per perturbed evaluation, perturbed minus clean (label ``<perturbed> − clean``)."""
    for cell in cells:
        measures = cell["measures"]
        for perturbed, clean in perturbed_pairs(list(measures)):
            common = set(measures[perturbed]) & set(measures[clean])
            measures[f"{perturbed} − clean"] = {m: measures[perturbed][m] - measures[clean][m] for m in common}
    return cells


def build_report(folder: Path, grid_file: Path) -> dict[str, Any]:
    """Every number of the report, from the cells' evaluation summaries."""
    analysis = read_analysis(grid_file)
    cells = with_drops(load_cells(folder))
    labels = sorted({label for cell in cells for label in cell["measures"]})
    base = next((c for c in cells if c["arm"] == "base"), None)
    report: dict[str, Any] = {
        "analysis": analysis.__dict__,
        "evals": {},
        "tests": [],
        "secondary": [],
        "cost": _cost(cells),
    }
    for label in labels:
        entry = {"base": (base or {}).get("measures", {}).get(label), "arms": {}}
        for measure in MEASURES:
            for arm, vals in arm_values(cells, label, measure).items():
                entry["arms"].setdefault(arm, {})[measure] = interval(vals)
        report["evals"][label] = entry
        drop = label.endswith(" − clean")
        for measure in PRIMARY:
            where = {"eval": label, "measure": measure}
            family = "secondary" if drop else "tests"
            report[family] += tests_of(arm_values(cells, label, measure), where, analysis, with_ni=not drop)
        for measure in SPLIT if not drop else ():
            where = {"eval": label, "measure": measure}
            report["secondary"] += tests_of(arm_values(cells, label, measure), where, analysis)
    adjust(report["tests"])
    adjust(report["secondary"])
    report["conclusions"] = conclusions(report["tests"], analysis) + paper_claim(report["tests"], analysis)
    report["conclusions_secondary"] = conclusions(report["secondary"], analysis)
    return report


def _cost(cells: list[dict]) -> dict[str, Any]:
    """Median seconds per cell: training (share of the side-by-side run) and each evaluation."""
    trained = [c["train_s"] for c in cells if c.get("train_s")]
    labels = sorted({label for c in cells for label in c["eval_s"]})
    evals = {label: float(np.median([c["eval_s"][label] for c in cells if label in c["eval_s"]])) for label in labels}
    return {"train_s": float(np.median(trained)) if trained else None, "eval_s": evals, "cells": len(cells)}


def _arm_order(arms) -> list[str]:
    alphas = sorted(arm for arm in arms if arm.startswith("a"))
    return alphas + sorted(arm for arm in arms if not arm.startswith("a"))


def _cell(stat: dict | None, digits: int = 4) -> str:
    if not stat:
        return ""
    return f"{stat['mean']:.{digits}f} ± {stat['half_width']:.{digits}f}"


TEST_HEAD = [
    "| evaluation | measure | comparison | delta [CI] | p Welch | p perm. | p Holm | MDD (80 %) | seeds for MDD = delta | verdict |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def _test_row(t: dict[str, Any]) -> str:
    """One test: superiority (95 % interval, two-sided p) or non-inferiority (90 % interval, one-sided p)."""
    ci = f"{t['delta']:+.4f} [{t['low']:+.4f}, {t['high']:+.4f}]"
    if t["kind"] == "non-inferiority":
        return (
            f"| {t['eval']} | {t['measure']} | {t['a']} vs {t['b']} (NI) | {ci} (90 %) | {t['p']:.3g} (one-sided) | "
            f"| {t['p_holm']:.3g} | {t['mdd']:.4f} | | {t['verdict']} |"
        )
    needed = f"{max(2, int(np.ceil(t['needed'])))}" if np.isfinite(t["needed"]) else "–"  # 2: the fewest a t-test takes
    return (
        f"| {t['eval']} | {t['measure']} | {t['a']} − {t['b']} | {ci} | {t['p']:.3g} | {t['p_perm']:.3g} | "
        f"{t['p_holm']:.3g} | {t['mdd']:.4f} | {needed} | {t['verdict']} |"
    )


def _arm_table(label: str, entry: dict[str, Any]) -> list[str]:
    lines = [f"## {label}", "", "| arm | seeds | mono mAP | cross mAP | multi mAP | rank distance (norm.) |"]
    lines.append("|---|---|---|---|---|---|")
    base = entry.get("base")
    if base:
        lines.append(
            f"| base (untrained) | – | {base['mono_map']:.4f} | {base['cross_map']:.4f} | {base['multi_map']:.4f} | {base['rank_distance_norm']:.4f} |"
        )
    for arm in _arm_order(entry["arms"]):
        s = entry["arms"][arm]
        lines.append(
            f"| {arm} | {s['multi_map']['n']} | {_cell(s.get('mono_map'))} | {_cell(s.get('cross_map'))} | {_cell(s['multi_map'])} | {_cell(s['rank_distance_norm'])} |"
        )
    if any("multi_map_unseen" in s for s in entry["arms"].values()):
        lines += [
            "",
            "By query language group (seen in training: ar de en es hi vi zh; unseen: el ru th tr):",
            "",
            "| arm | multi mAP seen | multi mAP unseen | rank dist. seen | rank dist. unseen |",
            "|---|---|---|---|---|",
        ]
        for arm in _arm_order(entry["arms"]):
            s = entry["arms"][arm]
            lines.append(
                f"| {arm} | {_cell(s.get('multi_map_seen'))} | {_cell(s.get('multi_map_unseen'))} "
                f"| {_cell(s.get('rank_distance_norm_seen'))} | {_cell(s.get('rank_distance_norm_unseen'))} |"
            )
    return lines


def render(report: dict[str, Any]) -> str:
    """The report as Markdown: arm tables per evaluation, seen/unseen split, tests with verdicts, conclusions."""
    lines = [
        "# Adapter study (stage 1): batch composition on a frozen encoder",
        "",
        "A linear adapter on frozen multilingual-e5-small vectors: what batch composition does to the",
        "geometry of a fixed space. Not full fine-tuning. Unit: the training run (seed). Cells: mean over",
        "seeds ± 95 % t half-width; tests: Welch over seeds (xlir_bench.stats.seed_level; permutation p",
        "beside it), Holm over the declared family; secondary tests (seen/unseen languages, change under",
        "perturbation) Holm-adjusted apart. A `… − clean` evaluation is, per seed, perturbed minus clean.",
        "",
    ]
    for label, entry in report["evals"].items():
        lines += _arm_table(label, entry)
        lines += ["", f"![{label}]({label}.png)", ""] if not label.endswith(" − clean") else [""]
    cost = report.get("cost") or {}
    if cost.get("eval_s"):
        train = cost.get("train_s")
        lines += ["## Cost per cell (median seconds on the shared 2-core machine)", ""]
        lines.append(
            f"- training: {train:.1f} s (a 130-arm side-by-side run divided by its arms)" if train else "- training: –"
        )
        lines += [f"- evaluation {label}: {seconds:.1f} s" for label, seconds in cost["eval_s"].items()] + [""]
    lines += ["## Tests of the declared analysis (seed level)", "", *TEST_HEAD]
    lines += [_test_row(t) for t in report["tests"]]
    lines += ["", "## Secondary tests (seen / unseen query languages; change under perturbation)", "", *TEST_HEAD]
    lines += [_test_row(t) for t in report["secondary"]]
    lines += ["", "## Conclusions (generated from the declared tests)", ""]
    lines += [f"- {sentence}" for sentence in report["conclusions"]]
    lines += ["", "Secondary:", ""] + [f"- {sentence}" for sentence in report["conclusions_secondary"]]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], label: str, path: Path) -> None:
    """Multi mAP and normalised rank distance against alpha, mean ± interval; other arms as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = report["evals"][label]["arms"]
    alphas = [arm for arm in _arm_order(arms) if arm.startswith("a")]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for axis, measure, title in zip(
        axes,
        ("multi_map", "cross_map", "rank_distance_norm"),
        ("multi mAP", "cross mAP", "rank distance / chance"),
        strict=True,
    ):
        x = [float(arm[1:]) for arm in alphas]
        y = [arms[arm][measure]["mean"] for arm in alphas]
        e = [arms[arm][measure]["half_width"] for arm in alphas]
        axis.errorbar(x, y, yerr=e, marker="o", capsize=3, label="hybrid, P(mono) = α")
        for arm, color in (("hybrid", "C1"), ("mixed", "C2")):
            if arm in arms:
                s = arms[arm][measure]
                axis.axhspan(s["mean"] - s["half_width"], s["mean"] + s["half_width"], color=color, alpha=0.2)
                axis.axhline(s["mean"], color=color, label=arm + (" (α by size)" if arm == "hybrid" else ""))
        base = report["evals"][label].get("base")
        if base:
            axis.axhline(base[measure], color="grey", linestyle=":", label="untrained")
        axis.set_xlabel("α (0 = cross-lingual batches only, 1 = monolingual only)")
        axis.set_title(f"{label}: {title}")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_report(folder: str | Path, grid_file: str | Path) -> dict[str, Path]:
    folder, grid_file = Path(folder), Path(grid_file)
    report = build_report(folder, grid_file)
    write_atomic(folder / "report.json", json.dumps(report, indent=1, sort_keys=True))
    write_atomic(folder / "report.md", render(report))
    for label in report["evals"]:
        if not label.endswith(" − clean"):
            plot(report, label, folder / f"{label}.png")
    return {"json": folder / "report.json", "md": folder / "report.md"}
