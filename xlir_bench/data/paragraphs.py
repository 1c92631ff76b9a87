"""MTEB-style paragraph retrieval over the pinned LAReQA files (``format = "lareqa-paragraph"``).

MTEB's XQuADRetrieval and MLQARetrieval ask for the *paragraph* (the SQuAD
``context``) that answers a question, where XQuAD-R/MLQA-R ask for the answer
sentence. The LAReQA files hold the same questions, ids and contexts as
XQuAD (validation) and MLQA dev, so both tasks are rebuilt here from the files
that ``source_task`` pins, following MTEB's loaders
(``mteb/tasks/Retrieval/multilingual/{XQuAD,MLQA}Retrieval.py``):

* A row is one question with its id and its paragraph's context, in file order.
  ``strip = true`` strips both texts, as the Hugging Face ``xquad`` builder
  that XQuADRetrieval reads does; the ``mlqa`` builder keeps them as they are.
* Queries of a language are its *distinct* question texts; a text asked by
  several ids becomes one query whose relevant paragraphs are those of all of
  them (MTEB names it by the last id; here its id is the ids joined by ``+``,
  so that a pool language judges it by exactly those ids).
* The corpus of context language C for questions of language Q holds the
  distinct contexts of C of the ids that both languages have (MLQA's
  ``dev-context-C-question-Q`` file holds exactly those rows); a question counts
  when its id exists in C. For Q = C, and for XQuAD (every id in every
  language), that is all of C's distinct contexts; for MLQA's cross pairs it is a
  subset, stored as :attr:`LanguageData.pool_for`.

The multilingual pool (xlir-bench's ``multi`` family) is every selected
language's distinct contexts; a question's relevant paragraphs are then those of
its id in every language. ``[counts.C] Q = {queries, documents, characters}`` in
the task file holds MTEB's published sizes of the C-corpus/Q-question setting
(characters: query plus document characters); loading refuses any difference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import DataSource, LanguageData, pinned_files

Row = tuple[str, str, str]  # (question id, question, context)


def load_paragraph_task(
    spec: Any, langs: tuple[str, ...], source: DataSource
) -> tuple[dict[str, LanguageData], dict[str, str]]:
    """Verify and read the source task's files of ``langs``; (per-language data, {file: sha256})."""
    strip = bool(spec.options.get("strip", False))
    paths, checksums = pinned_files(spec, langs, source)
    rows = {lang: read_rows(path, strip) for lang, path in paths.items()}
    queries = {lang: question_groups(rows[lang]) for lang in langs}
    data = {lang: _language(lang, rows[lang], queries) for lang in langs}
    check_counts(spec, data)
    return data, checksums


def read_rows(path: Path, strip: bool = False) -> list[Row]:
    """(id, question, context) of every question of a SQuAD-format file, in file order."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
        rows = [
            (qa["id"], qa["question"], paragraph["context"])
            for article in raw["data"]
            for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise XlirError(
            f"{path}: not a SQuAD-format file ({type(exc).__name__}: {exc}); replace it with the published file"
        ) from exc
    return [(qid, question.strip(), context.strip()) for qid, question, context in rows] if strip else rows


def question_groups(rows: list[Row]) -> dict[str, str]:
    """Query id -> question text, one query per distinct text, in order of first appearance.

    The query id is the id of the question, or the ids joined by ``+`` when
    several questions share the text.
    """
    ids: dict[str, list[str]] = {}
    for qid, question, _ in rows:
        ids.setdefault(question, []).append(qid)
    return {"+".join(group): question for question, group in ids.items()}


def _language(lang: str, rows: list[Row], queries: dict[str, dict[str, str]]) -> LanguageData:
    """Queries, distinct paragraphs, judgements and pair corpora of one language.

    ``queries`` holds every selected language's queries (id -> text): this
    language's paragraphs are judged for each of them, through the ids in the query id.
    """
    contexts = list(dict.fromkeys(context for _, _, context in rows))
    position = {context: i for i, context in enumerate(contexts)}
    paragraph_of_id = {qid: position[context] for qid, _, context in rows}
    qrels: dict[str, dict[int, int]] = {}
    pool_for: dict[str, list[int]] = {}
    for query_lang, lang_queries in queries.items():
        pool = set()
        for key in lang_queries:
            relevant = {paragraph_of_id[qid]: 1 for qid in key.split("+") if qid in paragraph_of_id}
            if relevant:
                qrels[key] = relevant
                pool.update(relevant)
        if len(pool) < len(contexts):  # the pair corpus: contexts of the ids both languages have
            pool_for[query_lang] = sorted(pool)
    return LanguageData(
        lang,
        question_ids=list(queries[lang]),
        questions=list(queries[lang].values()),
        candidate_ids=[f"{lang}-p{i:05d}" for i in range(len(contexts))],
        candidates=contexts,
        qrels=qrels,
        paragraph_of=list(range(len(contexts))),
        paragraphs=contexts,
        pool_for=pool_for,
    )


def setting_sizes(data: dict[str, LanguageData], context_lang: str, query_lang: str) -> dict[str, int]:
    """Queries, documents and characters (queries + documents) of one context-language/question-language setting."""
    pool = data[context_lang]
    positions = pool.pool_for.get(query_lang, range(len(pool.candidates)))
    queries = [
        text
        for qid, text in zip(data[query_lang].question_ids, data[query_lang].questions, strict=True)
        if pool.qrels.get(qid)
    ]
    documents = [pool.candidates[i] for i in positions]
    return {
        "queries": len(queries),
        "documents": len(documents),
        "characters": sum(map(len, queries)) + sum(map(len, documents)),
    }


def check_counts(spec: Any, data: dict[str, LanguageData]) -> None:
    """Refuse data whose setting sizes differ from the published ones in the task file."""
    for context_lang, by_query_lang in spec.counts.items():
        for query_lang, expected in by_query_lang.items():
            if context_lang not in data or query_lang not in data:
                continue
            got = setting_sizes(data, context_lang, query_lang)
            if got != {key: expected[key] for key in got}:
                raise XlirError(
                    f"{spec.source_file}: task {spec.name}, questions {query_lang} -> paragraphs {context_lang}: "
                    f"built {got} but the task file publishes {expected}; the pinned files or [counts] are wrong"
                )
