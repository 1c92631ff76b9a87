"""The adapter study's declared tests at the seed level (:mod:`xlir_bench.stats.seed_level`), verdicts and conclusions.

The unit is the training run (seed). A cell's summary holds, per evaluation and
measure, one number: the mean over that evaluation's questions. Each arm is
therefore a vector of seed scores and :func:`~xlir_bench.stats.seed_level.compare_seeds`
runs on seeds x 1 matrices: Welch's t over seeds, its t interval, the minimal
detectable difference at 80 % power and the seeds per arm that would detect the
observed difference. No per-question comparison is made (every arm is scored on the
same questions; the question is what batch composition does seed to seed on this
evaluation set), so article clustering does not enter; it would widen every arm's
interval alike. A seed-relabelling permutation p is shown beside Welch's.

Two families, each Holm-adjusted (Holm 1979) on its own:

* **declared** (the grid's ``[analysis]``): on every evaluation and primary measure,
  hybrid against mono, cross and mixed, mixed against mono and cross (two-sided), and
  non-inferiority of hybrid against the better of mono and cross (one-sided Welch
  against the margin; interval at 1 - 2 alpha);
* **secondary**: the same comparisons on query languages seen / unseen in training,
  and on the change under dialect perturbation (perturbed minus clean, per seed).

Verdicts come from the adjusted p only: "better" / "worse" when it is below alpha,
else "inconclusive"; non-inferiority is "non-inferior", "inferior" when the
(1 - 2 alpha) interval lies wholly beyond the margin, else "inconclusive".

    @article{holm1979simple, title={A simple sequentially rejective multiple test
      procedure}, author={Holm, Sture}, journal={Scandinavian Journal of
      Statistics}, volume={6}, pages={65--70}, year={1979}}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xlir_bench.stats.seed_level import SeedOptions, compare_seeds
from xlir_bench.stats.significance import holm_bonferroni

ALPHA = 0.05
PERMUTATIONS = 20_000
LOWER_IS_BETTER = ("rank_distance_norm",)


def higher_better(measure: str) -> bool:
    return not any(measure.startswith(name) for name in LOWER_IS_BETTER)


def seed_compare(cand: np.ndarray, base: np.ndarray, confidence: float = 0.95):
    """cand - base over seeds (seed_level.compare_seeds on seed scores; no resampling: one value per seed)."""
    options = SeedOptions(resamples=0, alpha=ALPHA, confidence=confidence)
    return compare_seeds(np.asarray(base, float)[:, None], np.asarray(cand, float)[:, None], None, options)


def permutation_p(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    """Two-sided permutation test of the difference of means, seeds relabelled between the two arms."""
    pooled = np.concatenate([a, b])
    observed = abs(a.mean() - b.mean())
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(len(pooled)) for _ in range(PERMUTATIONS)])
    diffs = np.abs(pooled[perms[:, : len(a)]].mean(axis=1) - pooled[perms[:, len(a) :]].mean(axis=1))
    return float((1 + np.sum(diffs >= observed - 1e-15)) / (PERMUTATIONS + 1))


def superiority(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """a - b: estimate, 95 % t interval, two-sided Welch p, permutation p, MDD and seeds needed."""
    got = seed_compare(a, b)
    return {
        "delta": got.estimate,
        "low": got.low,
        "high": got.high,
        "p": got.p,
        "p_perm": permutation_p(a, b),
        "mdd": got.mdd,
        "needed": got.needed,
        "n": [len(a), len(b)],
        "test": got.test,
    }


def non_inferiority(a: np.ndarray, b: np.ndarray, margin: float, up: bool) -> dict[str, Any]:
    """H0: a is worse than b by at least ``margin`` (in the measure's good direction); one-sided Welch p."""
    sign = 1.0 if up else -1.0
    shifted = seed_compare(sign * a + margin, sign * b)  # estimate sign * (a - b) + margin; H1: > 0
    p = shifted.p / 2 if shifted.estimate > 0 else 1 - shifted.p / 2
    got = seed_compare(a, b, 1 - 2 * ALPHA)
    return {
        "delta": got.estimate,
        "low": got.low,
        "high": got.high,
        "p": float(p),
        "margin": margin,
        "mdd": got.mdd,
        "n": [len(a), len(b)],
        "test": got.test,
    }


def declared_pairs(analysis) -> list[tuple[str, str]]:
    """hybrid against mono, cross and mixed; mixed against mono and cross."""
    a = analysis
    return [(a.hybrid, a.mono), (a.hybrid, a.cross), (a.hybrid, a.mixed), (a.mixed, a.mono), (a.mixed, a.cross)]


def tests_of(values: dict[str, np.ndarray], where: dict[str, str], analysis, with_ni: bool = True) -> list[dict]:
    """The declared comparisons on one (evaluation, measure): ``values`` per arm over seeds (seed order)."""
    up = higher_better(where["measure"])
    out = []
    for a, b in declared_pairs(analysis):
        if len(values.get(a, ())) > 1 and len(values.get(b, ())) > 1:
            out.append(
                {
                    **where,
                    "kind": "superiority",
                    "a": a,
                    "b": b,
                    "higher_better": up,
                    **superiority(values[a], values[b]),
                }
            )
    arms = (analysis.hybrid, analysis.mono, analysis.cross)
    if with_ni and all(len(values.get(arm, ())) > 1 for arm in arms):
        sign = 1 if up else -1
        better = max((analysis.mono, analysis.cross), key=lambda arm: sign * values[arm].mean())
        ni = non_inferiority(values[analysis.hybrid], values[better], analysis.margin, up)
        out.append({**where, "kind": "non-inferiority", "a": analysis.hybrid, "b": better, "higher_better": up, **ni})
    return out


def adjust(tests: list[dict]) -> None:
    """Holm over the family, then each test's verdict from its adjusted p."""
    for test, p in zip(tests, holm_bonferroni([t["p"] for t in tests]), strict=True):
        test["p_holm"] = float(p)
        test["verdict"] = verdict(test)


def verdict(test: dict[str, Any]) -> str:
    sign = 1 if test["higher_better"] else -1
    if test["kind"] == "non-inferiority":
        if test["p_holm"] < ALPHA:
            return f"non-inferior (margin {test['margin']})"
        beyond = max(sign * test["low"], sign * test["high"]) < -test["margin"]  # good-direction upper bound
        return f"inferior (beyond margin {test['margin']})" if beyond else f"inconclusive (margin {test['margin']})"
    if test["p_holm"] >= ALPHA:
        return f"inconclusive (MDD {test['mdd']:.4f} with {test['n'][0]} vs {test['n'][1]} seeds)"
    return f"{test['a']} {'better' if sign * test['delta'] > 0 else 'worse'} than {test['b']}"


def _short(test: dict[str, Any]) -> str:
    return f"{test['eval']} {test['delta']:+.4f}"


def conclusions(tests: list[dict[str, Any]], analysis) -> list[str]:
    """Sentences worded from the declared family's verdicts only, one per comparison and measure."""
    out = []
    keys = dict.fromkeys((t["measure"], t["kind"], t["a"], t["b"]) for t in tests)
    for measure, kind, a, b in keys:
        group = [t for t in tests if (t["measure"], t["kind"], t["a"], t["b"]) == (measure, kind, a, b)]
        by_verdict: dict[str, list[str]] = {}
        for t in group:
            by_verdict.setdefault(t["verdict"].split(" (")[0], []).append(_short(t))
        what = f"{a} vs {b} (non-inferiority, margin {analysis.margin})" if kind == "non-inferiority" else f"{a} − {b}"
        parts = [f"{v} on {', '.join(items)}" for v, items in by_verdict.items()]
        out.append(f"{measure}, {what}: " + "; ".join(parts) + ".")
    return out


def paper_claim(tests: list[dict[str, Any]], analysis) -> list[str]:
    """The paper's "hybrid >= both mono and cross" on multi mAP, per evaluation: as superiority, as non-inferiority."""
    out = []
    for label in dict.fromkeys(t["eval"] for t in tests if t["measure"] == "multi_map"):
        mine = [t for t in tests if t["eval"] == label and t["measure"] == "multi_map" and t["a"] == analysis.hybrid]
        sup = [t for t in mine if t["kind"] == "superiority" and t["b"] in (analysis.mono, analysis.cross)]
        ni = [t for t in mine if t["kind"] == "non-inferiority"]
        both = all(t["verdict"].endswith("better than " + t["b"]) for t in sup) and len(sup) == 2
        ni_text = ni[0]["verdict"] if ni else "not tested"
        out.append(
            f"{label}: hybrid better than both mono and cross on multi mAP: {'yes' if both else 'no'} "
            f"({'; '.join(t['verdict'] for t in sup)}); against the better of them: {ni_text}."
        )
    return out
