"""Benchmark: peak memory and time of index + search + scoring on a large synthetic multilingual collection.

Writes a deterministic BEIR-format collection to a temp folder (default 1 M
passages over 4 languages, 10 k queries, qrels), loads it through xlir-bench's
own BEIR source and evaluates it through the normal pipeline (``evaluate``:
embedding cache, indexes, exact or approximate search, every measure) with a
fast hashing encoder, so the pipeline is measured and not a model:

* **Collection.** Each of ``passages / 4`` facts is one passage per language
  (ids ``<lang>-<fact>``): 3 entity tokens shared by all languages and 12 content
  words written per language. A query (languages round robin, distinct facts)
  takes 2 of its fact's entities, 4 of its words in the query's language and 2
  random words; it is relevant to its fact's passage in every language, as in
  LAReQA, so mono, cross and multi settings all have judgements.
* **Encoder.** Feature hashing as a sparse random projection (Achlioptas 2003):
  each token adds +-1 on 8 of 384 dimensions chosen by its blake2b digest; rows
  are L2-normalised. Real and deterministic, about a million texts a minute.

Each configuration runs in a fresh child process (``ru_maxrss`` is a process's
lifetime peak, so one child per measurement): a cold run that encodes into an
empty embedding cache, then warm runs that read the cache back (lookups through
the key index, vectors through memory maps), with exact flat search and with
HNSW (``ApproximateIndex``, depth-truncated metrics, ANN recall on 100 sampled
queries). Reported per configuration: peak RSS, index + search + scoring
seconds (the evaluation's wall time less reading the cached vectors; it includes
loading the collection and building the indexes) and the same per million
passages, the stages' seconds summed over the scoring threads (the run record's
``search_s + score_s``), encode (cache read) seconds, mAP per family.

Target (2 cores): exact flat, 1 M passages x 384 dims, 10 k queries, exact mAP:
peak RSS <= 2.5 GB.

    python benchmarks/scale.py                                   # 1 M passages, 10 k queries (long)
    python benchmarks/scale.py --passages 40000 --queries 2000   # a quick look
    python benchmarks/scale.py --indexes flat --dtypes float16
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LANGS = ("de", "en", "es", "zh")
DIM = 384
ENTITIES_PER_FACT, WORDS_PER_FACT = 3, 12
TARGET_GB = 2.5


# --------------------------------------------------------------------------- collection


def write_collection(folder: Path, passages: int, queries: int, seed: int = 0) -> Path:
    """A BEIR folder and its task file under ``folder``; returns the task file. Same arguments, same bytes."""
    rng = np.random.default_rng(seed)
    facts = passages // len(LANGS)
    if facts < 1 or not 0 < queries <= facts:
        raise SystemExit(f"--passages {passages} --queries {queries}: need 1 <= queries <= passages / {len(LANGS)}")
    entity_vocab, word_vocab = max(1000, facts // 5), max(2000, facts // 10)
    entities = rng.integers(0, entity_vocab, size=(facts, ENTITIES_PER_FACT))
    words = rng.integers(0, word_vocab, size=(facts, WORDS_PER_FACT))
    data = folder / "scale"
    (data / "qrels").mkdir(parents=True, exist_ok=True)
    with open(data / "corpus.jsonl", "w", encoding="utf-8") as out:
        for lang in LANGS:
            for fact in range(facts):
                text = " ".join([*(f"E{e}" for e in entities[fact]), *(f"{lang}{w}" for w in words[fact])])
                out.write(json.dumps({"_id": f"{lang}-{fact:07d}", "title": "", "text": text, "lang": lang}) + "\n")
    asked = rng.choice(facts, size=queries, replace=False)
    noise = rng.integers(0, word_vocab, size=(queries, 2))
    with open(data / "queries.jsonl", "w", encoding="utf-8") as out, open(data / "qrels" / "test.tsv", "w") as qrels:
        qrels.write("query-id\tcorpus-id\tscore\n")
        for q, fact in enumerate(asked):
            lang = LANGS[q % len(LANGS)]
            picked_entities = rng.choice(entities[fact], size=2, replace=False)
            picked_words = rng.choice(words[fact], size=4, replace=False)
            tokens = [*(f"E{e}" for e in picked_entities), *(f"{lang}{w}" for w in [*picked_words, *noise[q]])]
            out.write(json.dumps({"_id": f"q{q:06d}", "text": " ".join(tokens), "lang": lang}) + "\n")
            for doc_lang in LANGS:
                qrels.write(f"q{q:06d}\t{doc_lang}-{fact:07d}\t1\n")
    task = folder / "scale.toml"
    task.write_text(
        'name = "scale"\ntitle = "Synthetic scale collection"\nformat = "beir"\npath = "scale"\nsplit = "test"\n'
        f'language_field = "lang"\nlanguages = {json.dumps(list(LANGS))}\nlicense = "CC0 (generated)"\n'
    )
    return task


# --------------------------------------------------------------------------- encoder


class HashingEncoder:
    """Sparse random projection of hashed tokens to 384 dimensions, L2-normalised (no model, deterministic)."""

    name = "hash384"
    fingerprint = "scale-hash384-v1"
    max_tokens = 512
    hashes = 8
    batch = 4096

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._dims = np.zeros((1024, self.hashes), dtype=np.int64)
        self._signs = np.zeros((1024, self.hashes), dtype=np.float64)

    def _token(self, token: str) -> int:
        index = len(self._ids)
        if index == len(self._dims):
            self._dims = np.concatenate([self._dims, np.zeros_like(self._dims)])
            self._signs = np.concatenate([self._signs, np.zeros_like(self._signs)])
        digest = np.frombuffer(hashlib.blake2b(token.encode(), digest_size=2 * self.hashes).digest(), dtype=np.uint16)
        self._dims[index] = digest % DIM
        self._signs[index] = np.where(digest & 0x8000, 1.0, -1.0)
        self._ids[token] = index
        return index

    def _encode(self, texts) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), self.batch):
            part = texts[start : start + self.batch]
            tokens = [text.split() for text in part]
            ids = np.array([self._ids.get(t) if t in self._ids else self._token(t) for ts in tokens for t in ts], dtype=np.int64)
            rows = np.repeat(np.arange(len(part)), [len(ts) for ts in tokens])
            flat = (rows[:, None] * DIM + self._dims[ids]).ravel()
            block = np.bincount(flat, self._signs[ids].ravel(), minlength=len(part) * DIM).reshape(len(part), DIM)
            norms = np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
            out[start : start + len(part)] = block / norms
        return out

    def encode_queries(self, texts) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts) -> np.ndarray:
        return self._encode(texts)


# --------------------------------------------------------------------------- one measurement (child process)


def fill(task: str, cache: str, dtype: str) -> dict:
    """Encode every text into an empty cache, chunk by chunk as it goes (``xlir-bench encode``'s path)."""
    from xlir_bench.data.selection import Selection
    from xlir_bench.encode.options import CacheOptions
    from xlir_bench.encode.sharding import encode_shard

    start = time.perf_counter()
    done = encode_shard(HashingEncoder(), "0/1", Selection([task]), CacheOptions(cache, True, dtype), {}, progress=False)
    return {
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "search_s": 0.0, "score_s": 0.0, "encode_s": time.perf_counter() - start, "map": {}, "ann_recall": None,
        "encoded": done["encoded"], "hits": done["cached_before"],
    }  # fmt: skip


def measure(task: str, cache: str, index: str, dtype: str, settings: str) -> dict:
    """One evaluation in this process; returns what the table shows (peak RSS is this process's so far)."""
    import xlir_bench

    if index == "fill":
        return fill(task, cache, dtype)
    start = time.perf_counter()
    result = xlir_bench.evaluate(
        HashingEncoder(), tasks=[task], settings=settings, cache_dir=cache, cache_dtype=dtype, index=index,
        progress=False, bootstrap=0,
    )  # fmt: skip
    wall = time.perf_counter() - start
    record = result.record
    timings = record["timings"]
    settings_out = record["results"]["scale"]["settings"]
    families = {}
    for family in ("mono", "cross", "multi"):
        values = [s["metrics"]["map"] for s in settings_out if s["family"] == family]
        if values:
            families[family] = float(np.mean(values))
    recall = [s["metrics"]["ann_recall"] for s in settings_out if s["metrics"].get("ann_recall") is not None]
    return {
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "search_s": timings["search_s"],
        "score_s": timings["score_s"],
        "encode_s": timings["encode_s"],
        "wall_s": wall,
        "settings_scored": len(settings_out),
        "map": families,
        "ann_recall": float(np.mean(recall)) if recall else None,
        "encoded": record.get("cache", {}).get("encoded"),
        "hits": record.get("cache", {}).get("hits"),
    }


def child(args: argparse.Namespace) -> dict:
    """Run :func:`measure` in a fresh process: its peak RSS is that of this measurement alone."""
    command = [sys.executable, __file__, "--child", args.task, args.cache, args.index, args.dtype, args.settings]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measurement {args.index}/{args.dtype} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- driver


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, task, cache, index, dtype, settings = sys.argv
        print(json.dumps(measure(task, cache, index, dtype, settings)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--indexes", default="flat,hnsw", help="Comma list: flat, hnsw.")
    parser.add_argument("--dtypes", default="float32,float16", help="Comma list of cache storage dtypes.")
    parser.add_argument("--settings", default="mono,cross,multi", help="Setting families of the flat runs.")
    parser.add_argument("--hnsw-settings", default="multi", help="Setting families of the HNSW runs (each pool is one HNSW build).")
    parser.add_argument("--workdir", default=None, help="Where to write the collection and caches [default: a temp dir].")
    parser.add_argument("--json", default=None, help="Also write the rows as JSON here.")
    parser.add_argument(
        "--cache-root", default=None,
        help="Keep the embedding caches here (cache-float32/, cache-float16/) and reuse them: the passages do not "
        "depend on --queries, so a second run at another query count encodes only its queries.",
    )  # fmt: skip
    args = parser.parse_args()
    from tabulate import tabulate

    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="xlir-scale-") as tmp:
        started = time.perf_counter()
        task = write_collection(Path(tmp), args.passages, args.queries)
        print(f"collection: {args.passages} passages, {args.queries} queries in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        rows = []
        per_million = 1e6 / args.passages
        for dtype in args.dtypes.split(","):
            cache = str(Path(args.cache_root or tmp) / f"cache-{dtype}")
            runs = [("fill", "cold", "")]  # encode into the cache; the runs below read it back
            runs += [(kind, "warm", args.settings if kind == "flat" else args.hnsw_settings) for kind in args.indexes.split(",")]
            for index, cache_state, settings in runs:
                one = argparse.Namespace(task=str(task), cache=cache, index=index, dtype=dtype, settings=settings)
                got = child(one)
                print(f"{index} {dtype} {cache_state}: {json.dumps(got)}", file=sys.stderr, flush=True)
                # wall of the evaluation less reading the cached vectors: loading the collection, indexes,
                # search and scoring (the stages' own seconds add up over the scoring threads, so exceed it)
                searched = got.get("wall_s", got["encode_s"]) - got["encode_s"]
                rows.append(
                    {
                        "index": index,
                        "dtype": dtype,
                        "cache": cache_state,
                        "settings": settings,
                        "peak_rss_gb": round(got["peak_rss_gb"], 2),
                        "index+search+score_s": round(searched, 1),
                        "stage_s_over_threads": round(got["search_s"] + got["score_s"], 1),
                        "per_M_passages_s": round(searched * per_million, 1),
                        "encode_s": round(got["encode_s"], 1),
                        **{f"map_{k}": round(v, 4) for k, v in got["map"].items()},
                        "ann_recall": None if got["ann_recall"] is None else round(got["ann_recall"], 4),
                    }
                )
    print(f"\n{args.passages} passages x {DIM} dims ({len(LANGS)} languages), {args.queries} queries; target: exact flat peak RSS <= {TARGET_GB} GB")
    print(tabulate(rows, headers="keys", tablefmt="github"))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    flat = [row for row in rows if row["index"] == "flat"]
    if flat and args.passages >= 1_000_000:
        worst = max(row["peak_rss_gb"] for row in flat)
        print(f"exact flat peak RSS {worst:.2f} GB: {'meets' if worst <= TARGET_GB else 'misses'} the {TARGET_GB} GB target")


if __name__ == "__main__":
    main()
