"""Data: locate, download, verify and parse LAReQA-format files.

A LAReQA file is SQuAD v1.1 JSON with two extra fields per paragraph,
``sentences`` and ``sentence_breaks`` (``[start, end]`` character offsets).
Candidates are *every* sentence of *every* paragraph, in file order, duplicates
included (that is how the LAReQA README counts them). A question's answer
sentence is the sentence whose span holds the question's ``answer_start``.

Where files come from, in order: ``--data-dir``, the ``XLIR_BENCH_DATA``
environment variable (a local mirror laid out as ``<root>/<task>/<lang>.json``),
else a download cache (``XLIR_BENCH_CACHE``, default ``~/.cache/xlir-bench``)
filled on first use from the pinned URL. Every file is checked against its
pinned sha256 before it is parsed.
"""

from __future__ import annotations

import bisect
import json
import os
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import confine, read_text, sha256_file

__all__ = ["DataSource", "LanguageData", "fetch_file", "load_lareqa", "resolve_source", "sha256_file"]

DATA_ENV = "XLIR_BENCH_DATA"
CACHE_ENV = "XLIR_BENCH_CACHE"


@dataclass(frozen=True)
class LanguageData:
    """One language of a task: its questions, its candidate pool and the judgements of that pool.

    ``qrels`` maps a query id (of a question in *any* language: one id is one
    information need, asked in every language that has it) to the graded
    relevance of this language's candidates, by candidate index. In LAReQA data
    each question has exactly one relevant candidate per language (grade 1).

    Candidates are scored in pool order; for trec_eval's tie rule (equal scores:
    larger docno first) the scorer ranks ties by the larger position first, which
    equals trec_eval when ``candidate_ids`` sort like their positions (LAReQA ids do).
    """

    lang: str
    question_ids: list[str]
    questions: list[str]
    candidate_ids: list[str]
    candidates: list[str]
    qrels: dict[str, dict[int, int]]
    paragraph_of: list[int] = field(default_factory=list)  # candidate index -> index in ``paragraphs``
    paragraphs: list[str] = field(default_factory=list)
    # Query language -> the candidate indices that make up this language's pool for its queries
    # (MTEB-style pair corpora, see :mod:`xlir_bench.data.paragraphs`); absent: every candidate.
    pool_for: dict[str, list[int]] = field(default_factory=dict)
    # Candidate index -> its [start, end) in its paragraph, the file's ``sentence_breaks`` (LAReQA files; else
    # empty). Where a file's offsets and its ``sentences`` disagree, code that cuts the paragraph (XTREME-R) differs.
    spans: list[tuple[int, int]] = field(default_factory=list)

    @cached_property
    def answer_of(self) -> dict[str, int]:
        """Query id -> its (first) relevant candidate: the answer sentence, for LAReQA data."""
        return {
            qid: min(i for i, grade in judged.items() if grade > 0)
            for qid, judged in self.qrels.items()
            if any(grade > 0 for grade in judged.values())
        }


@dataclass(frozen=True)
class DataSource:
    """Where a task's files are read from and whether missing files may be downloaded."""

    root: Path
    download: bool
    origin: str  # "--data-dir", "XLIR_BENCH_DATA" or "cache"


def resolve_source(data_dir: str | os.PathLike | None = None) -> DataSource:
    """Pick the data root: explicit directory, then ``XLIR_BENCH_DATA``, then the download cache."""
    if data_dir is not None:
        return _mirror(Path(data_dir), "--data-dir")
    if os.environ.get(DATA_ENV):
        return _mirror(Path(os.environ[DATA_ENV]), DATA_ENV)
    return DataSource(cache_root() / "data", download=True, origin="cache")


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "xlir-bench")


def _mirror(root: Path, origin: str) -> DataSource:
    if not root.is_dir():
        raise XlirError(
            f"{origin}: {root} is not a directory; point it at a local mirror laid out as <task>/<lang>.json"
        )
    return DataSource(root.resolve(), download=False, origin=origin)


def fetch_file(source: DataSource, rel_path: str, url: str, sha256: str, what: str = "task file") -> Path:
    """Return the verified local path of one file, downloading it into the cache if allowed.

    ``rel_path`` comes from a task file: it must stay inside the data root, so a
    task file can neither read nor write anywhere else.
    """
    path = confine(source.root, rel_path, what)
    if path.is_dir():
        raise XlirError(f"{path}: is a folder, expected a data file; fix {what} or the mirror")
    if not path.exists():
        if not source.download:
            raise XlirError(
                f"{path}: file missing from the data mirror ({source.origin}); "
                f"copy it from {url} or unset {source.origin} to download into the cache"
            )
        _download(url, path, sha256)
    actual = sha256_file(path)
    if actual != sha256:
        fix = "delete it to download it again" if source.download else "replace it with the published file"
        raise XlirError(
            f"{path}: sha256 {actual[:12]}... does not match the pinned {sha256[:12]}...{_why(path)}; {fix}"
        )
    return path


def _why(path: Path) -> str:
    """A hint for a checksum mismatch: is the file at least valid JSON?"""
    try:
        json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f" (and it is not valid JSON: {getattr(exc, 'msg', exc)}, so it is truncated or corrupt)"
    return " (valid JSON, but not the published version)"


def _download(url: str, path: Path, sha256: str) -> None:
    """Download over https into a temporary file; only a file with the pinned sha256 is renamed into place."""
    if urllib.parse.urlsplit(url).scheme != "https":
        raise XlirError(f"{url}: only https downloads are allowed; fix url_template in the task file")
    made = [parent for parent in reversed(path.parents) if not parent.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        actual = sha256_file(tmp)
        if actual != sha256:
            raise XlirError(
                f"{url}: downloaded file has sha256 {actual[:12]}..., not the pinned {sha256[:12]}...; "
                "nothing was kept; check the task file's url_template and sha256"
            )
        os.replace(tmp, path)
    except OSError as exc:
        raise XlirError(
            f"{url}: download failed ({exc}); set {DATA_ENV} or --data-dir to a local mirror of the files"
        ) from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        for folder in reversed(made):  # a failed download leaves no empty folders either
            if not path.exists():
                try:
                    folder.rmdir()
                except OSError:
                    break


def load_lareqa(path: Path, lang: str) -> LanguageData:
    """Parse one LAReQA JSON file into questions, candidate sentences and answer links."""
    text = read_text(path, "LAReQA JSON", "replace it with the published file")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise XlirError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); replace it with the published file"
        ) from exc
    try:
        return _parse(raw, lang)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise XlirError(
            f"{path}: not in LAReQA format ({type(exc).__name__}: {exc}); replace it with the published file"
        ) from exc


def _parse(raw: dict, lang: str) -> LanguageData:
    question_ids, questions, candidate_ids, candidates, paragraph_of, spans = [], [], [], [], [], []
    answer_of: dict[str, int] = {}
    paragraphs = [p for article in raw["data"] for p in article["paragraphs"]]
    for p_index, paragraph in enumerate(paragraphs):
        sentences, breaks = paragraph["sentences"], paragraph["sentence_breaks"]
        if len(sentences) != len(breaks):
            raise ValueError(f"paragraph {p_index} has {len(sentences)} sentences but {len(breaks)} sentence_breaks")
        first = len(candidates)
        spans.extend((start, end) for start, end in breaks)
        for s_index, sentence in enumerate(sentences):
            candidate_ids.append(f"{lang}-p{p_index:05d}-s{s_index:03d}")
            candidates.append(sentence)
            paragraph_of.append(p_index)
        starts = [start for start, _ in breaks]
        for qa in paragraph["qas"]:
            answer_start = qa["answers"][0]["answer_start"]
            sentence = bisect.bisect_right(starts, answer_start) - 1
            if sentence < 0:
                raise ValueError(f"question {qa['id']}: answer_start {answer_start} precedes the first sentence")
            if qa["id"] in answer_of:
                raise ValueError(f"question id {qa['id']} occurs twice")
            question_ids.append(qa["id"])
            questions.append(qa["question"])
            answer_of[qa["id"]] = first + sentence
    contexts = [paragraph["context"] for paragraph in paragraphs]
    qrels = {qid: {index: 1} for qid, index in answer_of.items()}
    return LanguageData(
        lang, question_ids, questions, candidate_ids, candidates, qrels, paragraph_of, contexts, spans=spans
    )


def pinned_files(spec: Any, langs: tuple[str, ...], source: DataSource) -> tuple[dict[str, Path], dict[str, str]]:
    """The verified local file of each language (downloaded if allowed) and {file: sha256} for the record."""
    paths, checksums = {}, {}
    for lang in langs:
        entry = spec.files[lang]
        paths[lang] = fetch_file(source, entry["path"], spec.url(lang), entry["sha256"])
        checksums[entry["path"]] = entry["sha256"]
    return paths, checksums
