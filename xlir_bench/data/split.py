"""Article splits of a LAReQA task: training pairs from some articles, an in-domain evaluation on the rest.

A question's article is the SQuAD-format article (``data[i]``) that holds it in the
*English* file; every MLQA-R/XQuAD-R question has an English version, and every
article of another language holds questions of exactly one English article, so a
sentence's article is the English article of the questions of its own article.

:func:`make_split` draws a share of the English articles for training with a seeded
permutation; the split is written as JSON (seed, share, source checksums, the
articles of each side by index and title). A task file with ``format =
"lareqa-split"`` (``source_task``, ``split``, ``part``) evaluates one side: every
language keeps only the questions *and the pool sentences* of that side's articles,
so no training sentence is ever a candidate of the held-out task.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import read_text, sha256_file, write_atomic
from xlir_bench.data.lareqa import LanguageData

PARTS = ("train", "heldout")
PIVOT = "en"


@dataclass(frozen=True)
class ArticleSplit:
    """The English article indices of each side, how they were drawn, and the files they index."""

    task: str
    seed: int
    train_share: float
    files: dict[str, str]  # file path -> sha256 of the source task's files
    titles: list[str]  # title of every English article, by index
    train: list[int]
    heldout: list[int]

    def side(self, part: str) -> set[int]:
        if part not in PARTS:
            raise XlirError(f"part {part!r}: choose train or heldout")
        return set(self.train if part == "train" else self.heldout)


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path, "JSON", "give the published file"))
    except json.JSONDecodeError as exc:
        raise XlirError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); replace it") from exc


def english_articles(raw: dict) -> tuple[list[str], dict[str, int]]:
    """Titles of the English file's articles, and question id -> article index."""
    article_of = {}
    for index, article in enumerate(raw["data"]):
        for paragraph in article["paragraphs"]:
            article_of.update({qa["id"]: index for qa in paragraph["qas"]})
    return [article.get("title", "") for article in raw["data"]], article_of


def candidate_articles(raw: dict, article_of: dict[str, int], where: str) -> list[int]:
    """The English article of every candidate sentence of one language's file, in candidate order."""
    out = []
    for article in raw["data"]:
        pivots = {article_of.get(qa["id"], -1) for p in article["paragraphs"] for qa in p["qas"]}
        if len(pivots) != 1 or -1 in pivots:
            raise XlirError(f"{where}: article {article.get('title', '')!r} maps to English articles {sorted(pivots)}")
        (pivot,) = pivots
        out += [pivot for p in article["paragraphs"] for _ in p["sentences"]]
    return out


def make_split(task: str, files: dict[str, str], en_raw: dict, train_share: float, seed: int) -> ArticleSplit:
    """Draw ``round(share * articles)`` English articles for training with ``default_rng(seed)``."""
    if not 0.0 < train_share < 1.0:
        raise XlirError(f"--split-share {train_share}: must be between 0 and 1 (exclusive)")
    titles, _ = english_articles(en_raw)
    order = np.random.default_rng(seed).permutation(len(titles))
    cut = int(round(train_share * len(titles)))
    train, heldout = sorted(int(i) for i in order[:cut]), sorted(int(i) for i in order[cut:])
    return ArticleSplit(task, seed, train_share, files, titles, train, heldout)


def write_split(split: ArticleSplit, path: str | Path) -> Path:
    body = asdict(split)
    body["train_titles"] = [split.titles[i] for i in split.train]
    body["heldout_titles"] = [split.titles[i] for i in split.heldout]
    return write_atomic(path, json.dumps(body, ensure_ascii=False, indent=1) + "\n")


def read_split(path: str | Path) -> ArticleSplit:
    """A split file; one line naming the file when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise XlirError(f"--split {path}: no such file; write one with `xlir-bench train-data --split {path}`")
    raw = read_json(path)
    fields = ("task", "seed", "train_share", "files", "titles", "train", "heldout")
    missing = [key for key in fields if not isinstance(raw, dict) or key not in raw]
    if missing:
        raise XlirError(
            f"{path}: not an article split (missing {', '.join(missing)}); write one with train-data --split"
        )
    split = ArticleSplit(**{key: raw[key] for key in fields})
    if set(split.train) & set(split.heldout) or sorted(split.train + split.heldout) != list(range(len(split.titles))):
        raise XlirError(f"{path}: train and heldout must partition the {len(split.titles)} articles; rewrite the file")
    return split


def check_files(split: ArticleSplit, checksums: dict[str, str], where: str) -> None:
    """Refuse a split drawn over other data files than the task loads."""
    for file, sha in checksums.items():
        if split.files.get(file, sha) != sha:
            raise XlirError(f"{where}: the split was drawn over another {file} (sha256 {split.files[file][:12]}...)")


def restrict(data: LanguageData, keep: list[bool], question_keep: set[str]) -> LanguageData:
    """``data`` with only the candidates where ``keep`` and the questions in ``question_keep`` (ids kept)."""
    new_index = {old: new for new, old in enumerate(i for i, flag in enumerate(keep) if flag)}
    questions = [(qid, q) for qid, q in zip(data.question_ids, data.questions, strict=True) if qid in question_keep]
    qrels = {
        qid: {new_index[c]: grade for c, grade in judged.items() if c in new_index}
        for qid, judged in data.qrels.items()
        if qid in question_keep
    }
    used = sorted({data.paragraph_of[old] for old in new_index})
    paragraph_index = {old: new for new, old in enumerate(used)}
    olds = sorted(new_index)
    return LanguageData(
        data.lang,
        [qid for qid, _ in questions],
        [q for _, q in questions],
        [data.candidate_ids[i] for i in olds],
        [data.candidates[i] for i in olds],
        {qid: judged for qid, judged in qrels.items() if judged},
        [paragraph_index[data.paragraph_of[i]] for i in olds],
        [data.paragraphs[i] for i in used],
        spans=[data.spans[i] for i in olds] if data.spans else [],
    )


def split_side(
    data: dict[str, LanguageData], raws: dict[str, dict], en_raw: dict, articles: set[int], where: str
) -> dict[str, LanguageData]:
    """Every language restricted to the questions and sentences of ``articles`` (English article indices)."""
    _, article_of = english_articles(en_raw)
    questions = {qid for qid, index in article_of.items() if index in articles}
    out = {}
    for lang, lang_data in data.items():
        pivots = candidate_articles(raws[lang], article_of, f"{where} ({lang})")
        if len(pivots) != len(lang_data.candidates):
            raise XlirError(
                f"{where} ({lang}): {len(pivots)} sentences in the file but {len(lang_data.candidates)} loaded"
            )
        out[lang] = restrict(lang_data, [p in articles for p in pivots], questions)
    return out


def split_of_task_file(spec: Any) -> tuple[Path, str]:
    """The split file (relative to the task file) and the part a ``lareqa-split`` task names."""
    part = spec.options.get("part", "heldout")
    if part not in PARTS:
        raise XlirError(f"{spec.source_file}: part {part!r} must be train or heldout")
    return Path(spec.source_file).parent / spec.options["split"], part


def file_checksum(path: Path) -> str:
    return sha256_file(path)


def load_split_task(spec: Any, langs: tuple[str, ...], source: Any) -> tuple[dict[str, LanguageData], dict[str, str]]:
    """One side of an article split: (per-language data, {file: sha256} incl. the split file).

    The task file pins the source task's files itself (``files``, ``url_template``), the English
    one included: the split's articles are English articles.
    """
    from xlir_bench.data.lareqa import load_lareqa, pinned_files

    split_path, part = split_of_task_file(spec)
    split = read_split(split_path)
    if PIVOT not in spec.files:
        raise XlirError(
            f"{spec.source_file}: files must pin the English file ({PIVOT}); the split's articles are English"
        )
    paths, checksums = pinned_files(spec, tuple(dict.fromkeys((*langs, PIVOT))), source)
    check_files(split, checksums, str(split_path))
    raws = {lang: read_json(path) for lang, path in paths.items()}
    data = {lang: load_lareqa(paths[lang], lang) for lang in langs}
    side = split_side(data, raws, raws[PIVOT], split.side(part), str(spec.source_file))
    return side, {**checksums, str(split_path.name): file_checksum(split_path)}


def pairs_of_side(pairs: list[dict[str, str]], split: ArticleSplit, en_raw: dict, part: str) -> list[dict[str, str]]:
    """The training pairs whose question belongs to an article of ``part``."""
    _, article_of = english_articles(en_raw)
    side = split.side(part)
    return [pair for pair in pairs if article_of[pair["id"]] in side]
