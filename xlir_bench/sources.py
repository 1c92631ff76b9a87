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

import csv
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .data import LanguageData, sha256_file
from .errors import XlirError


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise XlirError(f"{path}: missing; a BEIR folder has corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise XlirError(f"{path}:{number}: not valid JSON ({exc.msg}); one JSON object per line") from exc
    return rows


def _qrels_tsv(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise XlirError(f"{path}: missing qrels file; set split in the task file to one of the files in qrels/")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if not row or row[0] in ("query-id", "qid"):
                continue
            qrels[row[0]][row[1]] = int(float(row[2]))
    return qrels


def _language_of(row: dict[str, Any], raw: dict[str, Any], where: Path) -> str:
    if raw.get("language"):
        return raw["language"]
    field = raw.get("language_field", "lang")
    if field not in row:
        raise XlirError(
            f"{where}: record {row.get('_id')!r} has no {field!r} field; set language_field or language in the task file"
        )
    return row[field]


def _assemble(queries, docs, qrels, langs) -> dict[str, LanguageData]:
    """Per-language LanguageData from (lang, id, text) queries and docs and id-keyed qrels."""
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


def load_beir(
    raw: dict[str, Any], langs: tuple[str, ...], root: Path
) -> tuple[dict[str, LanguageData], dict[str, str]]:
    """A BEIR-format task: (per-language data, {file: sha256})."""
    base = Path(raw["path"])
    base = base if base.is_absolute() else root / base
    split = raw.get("split", "test")
    folders = [(lang, base / lang) for lang in langs] if raw.get("per_language_folders") else [(None, base)]
    queries, docs, qrels, checksums = [], [], {}, {}
    for folder_lang, folder in folders:
        files = {
            "corpus": folder / "corpus.jsonl",
            "queries": folder / "queries.jsonl",
            "qrels": folder / "qrels" / f"{split}.tsv",
        }
        fixed = {**raw, "language": folder_lang} if folder_lang else raw
        for row in _jsonl(files["corpus"]):
            text = " ".join(part for part in (row.get("title", ""), row.get("text", "")) if part)
            docs.append((_language_of(row, fixed, files["corpus"]), str(row["_id"]), text))
        queries += [
            (_language_of(row, fixed, files["queries"]), str(row["_id"]), row["text"])
            for row in _jsonl(files["queries"])
        ]
        for qid, judged in _qrels_tsv(files["qrels"]).items():
            qrels.setdefault(qid, {}).update(judged)
        checksums.update({str(path.relative_to(base.parent)): sha256_file(path) for path in files.values()})
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
