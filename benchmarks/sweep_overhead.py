"""What the sweep runner adds to its cells' training and evaluation time (target <= 5 %).

Runs a tiny grid (a 2-layer BERT built on the fly; mono and hybrid x 2 seeds on
real MLQA-R de/es pairs, evaluated on a slice of real XQuAD-R en/de/el) and prints
the runner's overhead — wall time of ``run_sweep`` minus the cells' training and
evaluation seconds, report excluded — against those seconds; then the report's
own time. A second run over the finished folder shows the cost of skipping.

    python benchmarks/sweep_overhead.py --data-dir ../shared/data/lareqa
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from tiny_data import mlqa_pairs, xquad_slice  # noqa: E402
from tiny_models import build_tiny_sentence_transformer  # noqa: E402

from xlir_bench.train.sweep import run_sweep  # noqa: E402

GRID = """
name = "overhead"
base = "tiny/st"
baseline = "mono-s1"
device = "cpu"
eval_batch_size = 256
[train]
data = "pairs.jsonl"
strategy = ["mono", "hybrid"]
mono_ratio = 0.5
seed = [1, 2]
steps = {steps}
learning_rate = 5e-3
batch_size = 8
max_length = 32
[[eval]]
task = "xquad-slice.toml"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--questions", type=int, default=200, help="XQuAD-R questions per language in the slice.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build_tiny_sentence_transformer(work / "tiny")
        mlqa_pairs(work / "pairs.jsonl", Path(args.data_dir))
        xquad_slice(work, Path(args.data_dir), questions=args.questions)
        (work / "grid.toml").write_text(GRID.format(steps=args.steps))
        first = run_sweep(work / "grid.toml", work / "out", progress=False)
        start = time.perf_counter()
        again = run_sweep(work / "grid.toml", work / "out", progress=False, report=False)
        skip_s = time.perf_counter() - start
    work_s = first["train_s"] + first["eval_s"]
    rows = [
        ["cells' training", first["train_s"], "4 cells"],
        ["cells' evaluation", first["eval_s"], "4 cells + base"],
        ["runner overhead", first["overhead_s"], "wall - training - evaluation - report"],
        ["overhead / (training + evaluation)", first["overhead_ratio"], "target <= 0.05"],
        ["report (significance, plots)", first["report_s"], f"{first['report_s'] / work_s:.3f} of the cells' time"],
        ["re-run over finished cells", skip_s, f"skipped {len(again['skipped'])}"],
    ]
    print(tabulate(rows, headers=["measure", "seconds / ratio", "note"], floatfmt=".4f", tablefmt="github"))


if __name__ == "__main__":
    main()
