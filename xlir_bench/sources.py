"""Bring-your-own data: BEIR-format folders and ir_datasets collections as xlir-bench tasks.

Both give, per language, queries, candidates (documents) and graded judgements;
the registry then derives the settings their languages allow.

BEIR folder (``format = "beir"``, ``path``, ``split``): ``corpus.jsonl``
(``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``) and
``qrels/<split>.tsv`` (header, then ``query-id corpus-id score``). A language per
query and per document comes from a field (``language_field``), one folder per
language (``per_language_folders = true``: ``<path>/<lang>/...``), or one
``language`` for everything. A document's text is its title and text joined, as
BEIR does.

ir_datasets (``format = "ir_datasets"``, table ``[ir_datasets]`` of
``lang = "dataset-id"``): each dataset's queries and documents; their languages
come from the dataset (``queries_lang()``/``docs_lang()``), else the table key.

Within a language, candidates are sorted by id, so trec_eval's tie rule (equal
scores: larger docno first) is the scorer's; across languages of the multilingual
pool, ties go by language, then id.
"""

from __future__ import annotations

import hashlib
import re
import sys
import warnings
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .data import LanguageData
from .errors import XlirError
from .files import confine, iter_jsonl, read_text, sha256_file

_INTEGER = re.compile(r"^[+-]?\d+$")
re_split = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """BEIR corpus or queries rows, one at a time (a million-row corpus is never a list of dicts);
    each must have a string ``_id`` and, as BEIR reads them, a ``text``."""
    if not path.exists():
        raise XlirError(f"{path}: missing; a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    for number, row in iter_jsonl(path, "BEIR JSONL"):
        if not isinstance(row.get("_id"), (str, int)) or isinstance(row.get("_id"), bool) or row["_id"] == "":
            raise XlirError(f'{path}:{number}: no "_id" (string); every BEIR row needs one')
        for key in ("title", "text"):
            if key in row and not isinstance(row[key], str):
                raise XlirError(f'{path}:{number}: "{key}" is {type(row[key]).__name__}, not a string')
        yield row


def _qrels_tsv(path: Path) -> dict[str, dict[str, int]]:
    """``query-id corpus-id score`` rows (a header line allowed); grades must be integers."""
    if not path.exists():
        raise XlirError(f"{path}: missing qrels file; set split in the task file to one of the files in qrels/")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    text = read_text(path, "qrels TSV", "give query-id, corpus-id and score per line, tab-separated")
    for number, line in enumerate(text.splitlines(), 1):
        row = line.rstrip("\r").split("\t")
        if not line.strip() or (number == 1 and row[0] in ("query-id", "qid")):
            continue
        if len(row) != 3:
            raise XlirError(
                f"{path}:{number}: {len(row)} tab-separated columns, expected 3 (query-id, corpus-id, score)"
            )
        if not _INTEGER.fullmatch(row[2].strip()):
            raise XlirError(f"{path}:{number}: score {row[2]!r} is not an integer grade (0, 1, 2, ...)")
        qrels[row[0]][row[1]] = int(row[2])
    return qrels


def _language_of(row: dict[str, Any], raw: dict[str, Any], where: Path) -> str:
    if raw.get("language"):
        return raw["language"]
    field = raw.get("language_field", "lang")
    if not isinstance(row.get(field), str):
        raise XlirError(
            f"{where}: record {row.get('_id')!r} has no {field!r} string field; "
            "set language_field or language in the task file"
        )
    return sys.intern(row[field])  # one string per language, not one per row


def _assemble(queries, docs, qrels, langs) -> dict[str, LanguageData]:
    """Per-language LanguageData from (lang, id, text) queries and docs and id-keyed qrels."""
    _report_unknown(queries, docs, qrels)
    _refuse_duplicates(docs)
    out = {}
    for lang in langs:
        lang_docs = sorted((doc_id, text) for doc_lang, doc_id, text in docs if doc_lang == lang)
        position = {doc_id: i for i, (doc_id, _) in enumerate(lang_docs)}
        lang_qrels = {}
        for qid, judged in qrels.items():
            local = {position[doc_id]: grade for doc_id, grade in judged.items() if doc_id in position}
            if local:
                lang_qrels[qid] = local
        lang_queries = [(qid, text) for query_lang, qid, text in queries if query_lang == lang]
        seen = [qid for qid, _ in lang_queries]
        if len(set(seen)) != len(seen):
            repeated = sorted({qid for qid in seen if seen.count(qid) > 1})[:3]
            raise XlirError(
                f"language {lang}: query ids {', '.join(repeated)} occur twice; give each language's queries unique ids"
            )
        out[lang] = LanguageData(
            lang,
            [q for q, _ in lang_queries],
            [t for _, t in lang_queries],
            [d for d, _ in lang_docs],
            [t for _, t in lang_docs],
            lang_qrels,
        )
    return out


def _report_unknown(queries, docs, qrels) -> None:
    """Judgements that name a document or query the collection lacks: counted and reported, not silently kept."""
    doc_ids = {doc_id for _, doc_id, _ in docs}
    query_ids = {qid for _, qid, _ in queries}
    unknown_docs = sum(doc_id not in doc_ids for judged in qrels.values() for doc_id in judged)
    unknown_queries = sum(qid not in query_ids for qid in qrels)
    if unknown_docs or unknown_queries:
        warnings.warn(
            f"qrels: {unknown_docs} judgements name documents and {unknown_queries} name queries that the "
            "collection does not hold; they are ignored",
            stacklevel=2,
        )


def _refuse_duplicates(docs) -> None:
    seen: set[tuple[str, str]] = set()
    for lang, doc_id, _ in docs:
        if (lang, doc_id) in seen:
            raise XlirError(
                f'corpus: document id {doc_id!r} ({lang}) occurs twice (ids 1 and "1" are the same); give each document one id'
            )
        seen.add((lang, doc_id))


def _report_other_languages(queries, docs, langs) -> None:
    """Rows in a language the task does not list are left out; say how many rather than drop them silently."""
    other_docs = sum(lang not in langs for lang, _, _ in docs)
    other_queries = sum(lang not in langs for lang, _, _ in queries)
    if other_docs or other_queries:
        known = sorted({lang for lang, _, _ in (*docs, *queries)} - set(langs))[:5]
        warnings.warn(
            f"{other_docs} documents and {other_queries} queries are in languages the task file does not list "
            f"({', '.join(known)}); they are left out",
            stacklevel=2,
        )


def load_beir(
    raw: dict[str, Any], langs: tuple[str, ...], root: Path, declared: tuple[str, ...] = ()
) -> tuple[dict[str, LanguageData], dict[str, str]]:
    """A BEIR-format task: (per-language data, {file: sha256}); ``declared`` are all the task's languages."""
    root = root.resolve()
    base = confine(root, raw["path"], f"{root} task file: path")
    split = raw.get("split", "test")
    if not re_split.fullmatch(split):
        raise XlirError(f"task file: split {split!r} must be a plain file name (letters, digits, . _ -)")
    folders = (
        [(lang, confine(base, lang, "language folder")) for lang in langs]
        if raw.get("per_language_folders")
        else [(None, base)]
    )
    queries, docs, qrels, checksums = [], [], {}, {}
    for folder_lang, folder in folders:
        files = {  # each resolved and kept inside the task file's folder: no symlink may lead out
            "corpus": confine(root, str((folder / "corpus.jsonl").relative_to(root)), "corpus.jsonl"),
            "queries": confine(root, str((folder / "queries.jsonl").relative_to(root)), "queries.jsonl"),
            "qrels": confine(root, str((folder / "qrels" / f"{split}.tsv").relative_to(root)), f"qrels/{split}.tsv"),
        }
        fixed = {**raw, "language": folder_lang} if folder_lang else raw
        for row in _jsonl(files["corpus"]):
            text = " ".join(part for part in (row.get("title", ""), row.get("text", "")) if part)
            docs.append((_language_of(row, fixed, files["corpus"]), str(row["_id"]), text))
        for row in _jsonl(files["queries"]):
            if not isinstance(row.get("text"), str):
                raise XlirError(f'{files["queries"]}: query {row["_id"]!r} has no "text" string')
            queries.append((_language_of(row, fixed, files["queries"]), str(row["_id"]), row["text"]))
        for qid, judged in _qrels_tsv(files["qrels"]).items():
            qrels.setdefault(qid, {}).update(judged)
        checksums.update({str(path.relative_to(base.parent)): sha256_file(path) for path in files.values()})
    _report_other_languages(queries, docs, declared or langs)
    return _assemble(queries, docs, qrels, langs), checksums


def load_ir_datasets(raw: dict[str, Any], langs: tuple[str, ...]) -> tuple[dict[str, LanguageData], dict[str, str]]:
    """An ir_datasets task: (per-language data, {dataset id: digest of its queries and qrels})."""
    import ir_datasets

    queries, docs, qrels, checksums = [], [], {}, {}
    for key, dataset_id in sorted(raw["ir_datasets"].items()):
        try:
            dataset = ir_datasets.load(dataset_id)
        except KeyError as exc:
            raise XlirError(
                f"ir_datasets id {dataset_id!r} is not registered; check the id (ir_datasets list)"
            ) from exc
        query_lang = (dataset.queries_lang() if dataset.has_queries() else None) or key
        doc_lang = (dataset.docs_lang() if dataset.has_docs() else None) or key
        digest = hashlib.sha256()
        for query in dataset.queries_iter():
            queries.append((query_lang, query.query_id, query.text))
            digest.update(f"q\0{query.query_id}\0{query.text}\n".encode())
        for doc in dataset.docs_iter():
            title = getattr(doc, "title", "")
            docs.append((doc_lang, doc.doc_id, f"{title} {doc.text}".strip() if title else doc.text))
        for qrel in dataset.qrels_iter():
            qrels.setdefault(qrel.query_id, {})[qrel.doc_id] = int(qrel.relevance)
            digest.update(f"r\0{qrel.query_id}\0{qrel.doc_id}\0{qrel.relevance}\n".encode())
        checksums[f"ir_datasets:{dataset_id}"] = digest.hexdigest()
    return _assemble(queries, docs, qrels, langs), checksums
