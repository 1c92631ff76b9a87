"""The XTREME-R protocol on LAReQA (XQuAD-R): its candidate text, its pool and its mAP@20.

XTREME-R (google-research/xtreme, ``third_party/evaluate_retrieval.py``, task ``lareqa``) reads the
XQuAD-R files only (its ``dataset_to_dir`` has ``xquad`` alone: MLQA-R is not part of the protocol),
and differs from xlir-bench's ``xquad-r`` in three ways:

* a candidate is encoded as its sentence followed directly by its paragraph, newlines removed
  (``(candidate.sentence + candidate.context).replace("\\n", "")``); the question as it is;
* one multilingual pool: every question of every language against every candidate of every
  language (xlir-bench's ``X -> all`` settings, pooled: XQuAD-R has 1190 questions per language,
  so the mean over all questions equals the macro over query languages);
* mAP@20 with divisor min(#answers, 20) (:mod:`xlir_bench.measures.ap_at_k`).

Ranks here follow trec_eval's rule (score descending, equal scores larger id first); XTREME-R takes
numpy's ``argsort()[::-1]``, which orders exact ties differently — with float scores of distinct
texts, exact ties do not occur in practice (benchmarks/xtreme_r_check.py counts them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlir_bench.data.lareqa import LanguageData
from xlir_bench.measures._ranks import pad_ranks
from xlir_bench.measures.ap_at_k import average_precision_at_k

K = 20


def candidate_texts(data: LanguageData) -> list[str]:
    """XTREME-R's candidate text: sentence + its paragraph, newlines removed.

    The sentence is cut as XTREME-R's ``generate_examples`` cuts it, ``context[start:end]`` at the file's
    ``sentence_breaks``: in one XQuAD-R paragraph (tr, two sentences) those offsets are
    two characters off the file's ``sentences`` (a mis-encoded fraction slash), which the other tasks use.
    """
    return [
        (sentence + data.paragraphs[paragraph]).replace("\n", "")
        for sentence, paragraph in zip(xtreme_sentences(data), data.paragraph_of, strict=True)
    ]


def xtreme_sentences(data: LanguageData) -> list[str]:
    """Each candidate's sentence as XTREME-R cuts it from its paragraph; the file's sentences without offsets."""
    if not data.spans:
        return list(data.candidates)
    return [data.paragraphs[p][start:end] for p, (start, end) in zip(data.paragraph_of, data.spans, strict=True)]


@dataclass(frozen=True)
class Pool:
    """The protocol's one pool: questions and candidates of all languages, in language order."""

    question_ids: list[str]
    questions: list[str]
    candidates: list[str]
    relevant: list[np.ndarray]  # per question: pool positions of its answers in every language


def build_pool(data: dict[str, LanguageData]) -> Pool:
    question_ids, questions, candidates, answers = [], [], [], {}
    for lang in sorted(data):
        part = data[lang]
        offset = len(candidates)
        candidates += candidate_texts(part)
        for qid, judged in part.qrels.items():
            answers.setdefault(qid, []).extend(offset + i for i, grade in judged.items() if grade > 0)
        question_ids += [f"{qid}_{lang}" for qid in part.question_ids]
        questions += part.questions
    relevant = [np.array(sorted(answers[uid.rsplit("_", 1)[0]]), dtype=np.int64) for uid in question_ids]
    return Pool(question_ids, questions, candidates, relevant)


def ranks_of(scores: np.ndarray, relevant: list[np.ndarray]) -> np.ndarray:
    """1-based ranks of each row's relevant positions by trec_eval's rule (ties: larger position first)."""
    rows = []
    for row, positions in zip(scores, relevant, strict=True):
        better = (row[None, :] > row[positions, None]).sum(axis=1)
        tied_after = [(row[p + 1 :] == row[p]).sum() for p in positions]
        rows.append(better + np.asarray(tied_after) + 1)
    return pad_ranks(rows)


def map_at_k(scores: np.ndarray, relevant: list[np.ndarray], k: int = K) -> np.ndarray:
    """Per-question AP@k of a (questions x pool) score matrix."""
    return average_precision_at_k(ranks_of(scores, relevant), k)
