"""The adapter study's report: per arm, mean over seeds with a t interval; seed-level tests; generated verdicts.

The unit is the training run (seed): every number of a cell is one observation of
its arm. For each evaluation and measure the report gives, per arm, the mean over
seeds and its 95 % t interval; the declared comparisons (the grid's ``[analysis]``)
are tested with Welch's t test and a permutation test over seeds (both two-sided),
Holm-adjusted over all comparisons of the report; the non-inferiority of hybrid
against the better of mono and cross is a one-sided Welch test against the margin.
The minimal detectable difference is the |delta| a two-sided Welch test at 5 % finds
with 80 % power given the arms' seed SDs and seed counts. Verdicts come from these
tests only: "inconclusive" where the test does not reject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomllib
from scipy import stats

from xlir_bench.core.files import write_atomic
from xlir_bench.stats.significance import holm_bonferroni

SEEN = ("ar", "de", "en", "es", "hi", "vi", "zh")  # MLQA-R's languages: the training languages
UNSEEN = ("el", "ru", "th", "tr")  # XQuAD-R only
MEASURES = ("multi_map", "rank_distance_norm", "mono_map", "cross_map", "multi_map_seen", "multi_map_unseen")
PRIMARY = ("multi_map", "rank_distance_norm")
PERMUTATIONS = 20_000
ALPHA = 0.05
POWER = 0.8


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
        unseen = [by_lang[lang]["multi"]["map"] for lang in UNSEEN if lang in by_lang]
        if unseen:
            row["multi_map_seen"] = float(np.mean([by_lang[lang]["multi"]["map"] for lang in SEEN if lang in by_lang]))
            row["multi_map_unseen"] = float(np.mean(unseen))
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


def welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Welch's t statistic and degrees of freedom of mean(a) - mean(b)."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    return float((a.mean() - b.mean()) / np.sqrt(va + vb)), float(
        (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    )


def permutation_p(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    """Two-sided permutation test of the difference of means, seeds relabelled between the two arms."""
    pooled = np.concatenate([a, b])
    observed = abs(a.mean() - b.mean())
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(len(pooled)) for _ in range(PERMUTATIONS)])
    diffs = np.abs(pooled[perms[:, : len(a)]].mean(axis=1) - pooled[perms[:, len(a) :]].mean(axis=1))
    return float((1 + np.sum(diffs >= observed - 1e-15)) / (PERMUTATIONS + 1))


def minimal_detectable(a: np.ndarray, b: np.ndarray) -> float:
    """|delta| found with 80 % power by a two-sided 5 % Welch test at these seed SDs and counts."""
    _, df = welch(a, b)
    se = np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    return float((stats.t.ppf(1 - ALPHA / 2, df) + stats.t.ppf(POWER, df)) * se)


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Difference of seed means, its Welch 95 % interval, Welch and permutation p, minimal detectable difference."""
    t, df = welch(a, b)
    se = np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    delta = float(a.mean() - b.mean())
    half = float(stats.t.ppf(0.975, df) * se)
    return {
        "delta": delta,
        "low": delta - half,
        "high": delta + half,
        "p_welch": float(2 * stats.t.sf(abs(t), df)),
        "p_perm": permutation_p(a, b),
        "mdd": minimal_detectable(a, b),
        "n": [len(a), len(b)],
    }


def non_inferiority(a: np.ndarray, b: np.ndarray, margin: float, higher_better: bool) -> dict[str, float]:
    """One-sided Welch test of H0: a is worse than b by at least ``margin`` (in the measure's good direction)."""
    sign = 1.0 if higher_better else -1.0
    t, df = welch(sign * a + margin, sign * b)
    return {"p": float(stats.t.sf(t, df)), "margin": margin}


def comparisons(analysis: Analysis) -> list[tuple[str, str]]:
    """The declared superiority comparisons: hybrid against mono, cross and mixed; mixed against mono and cross."""
    a = analysis
    return [(a.hybrid, a.mono), (a.hybrid, a.cross), (a.hybrid, a.mixed), (a.mixed, a.mono), (a.mixed, a.cross)]


def build_report(folder: Path, grid_file: Path) -> dict[str, Any]:
    """Every number of the report, from the cells' evaluation summaries."""
    analysis = read_analysis(grid_file)
    cells = load_cells(folder)
    labels = sorted({label for cell in cells for label in cell["measures"]})
    base = next((c for c in cells if c["arm"] == "base"), None)
    report: dict[str, Any] = {"analysis": analysis.__dict__, "evals": {}, "tests": [], "cost": _cost(cells)}
    for label in labels:
        entry = {"base": (base or {}).get("measures", {}).get(label), "arms": {}}
        for measure in MEASURES:
            values = arm_values(cells, label, measure)
            for arm, vals in values.items():
                entry["arms"].setdefault(arm, {})[measure] = interval(vals)
        report["evals"][label] = entry
        report["tests"] += _tests(cells, label, analysis)
    adjusted = holm_bonferroni([t["p_welch"] for t in report["tests"] if "p_welch" in t])
    for test, p in zip([t for t in report["tests"] if "p_welch" in t], adjusted, strict=True):
        test["p_holm"] = float(p)
        test["verdict"] = _verdict(test)
    return report


def _cost(cells: list[dict]) -> dict[str, Any]:
    """Median seconds per cell: training (share of the side-by-side run) and each evaluation."""
    trained = [c["train_s"] for c in cells if c.get("train_s")]
    labels = sorted({label for c in cells for label in c["eval_s"]})
    evals = {label: float(np.median([c["eval_s"][label] for c in cells if label in c["eval_s"]])) for label in labels}
    return {"train_s": float(np.median(trained)) if trained else None, "eval_s": evals, "cells": len(cells)}


def _tests(cells: list[dict], label: str, analysis: Analysis) -> list[dict[str, Any]]:
    out = []
    for measure in PRIMARY:
        values = arm_values(cells, label, measure)
        higher_better = measure != "rank_distance_norm"
        for a, b in comparisons(analysis):
            if len(values.get(a, ())) > 1 and len(values.get(b, ())) > 1:
                out.append(
                    {
                        "eval": label,
                        "measure": measure,
                        "a": a,
                        "b": b,
                        "higher_better": higher_better,
                        **compare(values[a], values[b]),
                    }
                )
        arms = (analysis.hybrid, analysis.mono, analysis.cross)
        if all(len(values.get(arm, ())) > 1 for arm in arms):
            better = max(
                (analysis.mono, analysis.cross), key=lambda arm: (1 if higher_better else -1) * values[arm].mean()
            )
            ni = non_inferiority(values[analysis.hybrid], values[better], analysis.margin, higher_better)
            out.append(
                {
                    "eval": label,
                    "measure": measure,
                    "a": analysis.hybrid,
                    "b": better,
                    "non_inferiority": ni,
                    "verdict": (
                        f"non-inferior (margin {analysis.margin})"
                        if ni["p"] < ALPHA
                        else f"non-inferiority not shown (margin {analysis.margin})"
                    ),
                }
            )
    return out


def _verdict(test: dict[str, Any]) -> str:
    if test["p_holm"] >= ALPHA:
        return (
            f"inconclusive (|delta| below what {test['n'][0]} vs {test['n'][1]} seeds resolve: MDD {test['mdd']:.4f})"
        )
    good = (test["delta"] > 0) == test["higher_better"]
    return f"{test['a']} {'better' if good else 'worse'} than {test['b']}"


def _arm_order(arms) -> list[str]:
    alphas = sorted(arm for arm in arms if arm.startswith("a"))
    return alphas + sorted(arm for arm in arms if not arm.startswith("a"))


def _cell(stat: dict | None, digits: int = 4) -> str:
    if not stat:
        return ""
    return f"{stat['mean']:.{digits}f} ± {stat['half_width']:.{digits}f}"


def render(report: dict[str, Any]) -> str:
    """The report as Markdown: arm tables per evaluation, seen/unseen split, tests with verdicts."""
    lines = [
        "# Adapter study (stage 1): batch composition on a frozen encoder",
        "",
        "A linear adapter on frozen multilingual-e5-small vectors: what batch composition does to the",
        "geometry of a fixed space. Not full fine-tuning. Unit: the training run (seed). Cells: mean over",
        "seeds ± 95 % t half-width; tests: Welch over seeds (permutation p beside it), Holm over all tests.",
        "",
    ]
    for label, entry in report["evals"].items():
        lines += [
            f"## {label}",
            "",
            "| arm | seeds | mono mAP | cross mAP | multi mAP | rank distance (norm.) |",
            "|---|---|---|---|---|---|",
        ]
        base = entry.get("base")
        if base:
            lines.append(
                f"| base (untrained) | – | {base['mono_map']:.4f} | {base['cross_map']:.4f} | {base['multi_map']:.4f} | {base['rank_distance_norm']:.4f} |"
            )
        for arm in _arm_order(entry["arms"]):
            s = entry["arms"][arm]
            lines.append(
                f"| {arm} | {s['multi_map']['n']} | {_cell(s['mono_map'])} | {_cell(s['cross_map'])} | {_cell(s['multi_map'])} | {_cell(s['rank_distance_norm'])} |"
            )
        if any("multi_map_unseen" in s for s in entry["arms"].values()):
            lines += [
                "",
                "Multi mAP by query language group (seen in training: ar de en es hi vi zh; unseen: el ru th tr):",
                "",
                "| arm | seen | unseen |",
                "|---|---|---|",
            ]
            for arm in _arm_order(entry["arms"]):
                s = entry["arms"][arm]
                lines.append(f"| {arm} | {_cell(s.get('multi_map_seen'))} | {_cell(s.get('multi_map_unseen'))} |")
        lines += ["", f"![{label}]({label}.png)", ""]
    cost = report.get("cost") or {}
    if cost.get("eval_s"):
        train = cost.get("train_s")
        lines += ["## Cost per cell (median seconds on the shared 2-core machine)", ""]
        lines.append(
            f"- training: {train:.1f} s (a 130-arm side-by-side run divided by its arms)" if train else "- training: –"
        )
        lines += [f"- evaluation {label}: {seconds:.1f} s" for label, seconds in cost["eval_s"].items()] + [""]
    lines += [
        "## Tests (seed level)",
        "",
        "| evaluation | measure | comparison | delta [95 % CI] | p Welch | p perm. | p Holm | MDD (80 %) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in report["tests"]:
        if "p_welch" in t:
            lines.append(
                f"| {t['eval']} | {t['measure']} | {t['a']} − {t['b']} | {t['delta']:+.4f} [{t['low']:+.4f}, {t['high']:+.4f}] | "
                f"{t['p_welch']:.3g} | {t['p_perm']:.3g} | {t['p_holm']:.3g} | {t['mdd']:.4f} | {t['verdict']} |"
            )
        else:
            lines.append(
                f"| {t['eval']} | {t['measure']} | {t['a']} vs {t['b']} (NI) | | {t['non_inferiority']['p']:.3g} (one-sided) | | | | {t['verdict']} |"
            )
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
        plot(report, label, folder / f"{label}.png")
    return {"json": folder / "report.json", "md": folder / "report.md"}
