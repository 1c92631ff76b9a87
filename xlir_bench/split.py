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

from .data import LanguageData
from .errors import XlirError
from .files import read_text, sha256_file, write_atomic

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
    """One side of an article split of ``source_task``: (per-language data, {file: sha256} incl. the split file)."""
    from .tasks import _check_counts, get_spec, load_lareqa, pinned_files  # tasks imports this module lazily

    split_path, part = split_of_task_file(spec)
    split = read_split(split_path)
    base = get_spec(spec.options["source_task"])
    if base.format != "lareqa" or PIVOT not in base.languages:
        raise XlirError(f"{spec.source_file}: source_task {base.name!r} must be a lareqa task with English")
    unknown = [lang for lang in langs if lang not in base.languages]
    if unknown:
        raise XlirError(f"{spec.source_file}: languages {', '.join(unknown)} are not in {base.name}")
    paths, checksums = pinned_files(base, tuple(dict.fromkeys((*langs, PIVOT))), source)
    check_files(split, checksums, str(split_path))
    raws = {lang: read_json(path) for lang, path in paths.items()}
    data = {}
    for lang in langs:
        data[lang] = load_lareqa(paths[lang], lang)
        _check_counts(base, data[lang], paths[lang])
    side = split_side(data, raws, raws[PIVOT], split.side(part), str(spec.source_file))
    return side, {**checksums, str(split_path.name): file_checksum(split_path)}


@dataclass(frozen=True)
class SplitOptions:
    """``train-data --split FILE``: the split file, and the seed and share that draw it when it does not exist yet."""

    path: Path
    seed: int = 0
    train_share: float = 0.6
    part: str = "train"


def pivot_file(task_name: str, source: Any) -> tuple[dict, dict[str, str]]:
    """The parsed English file of a lareqa task and {file: sha256} of all its pinned files."""
    from .tasks import get_spec, pinned_files

    base = get_spec(task_name)
    if base.format != "lareqa" or PIVOT not in base.languages:
        raise XlirError(f"--split: task {base.name} must be a lareqa task with English (mlqa-r, xquad-r)")
    paths, checksums = pinned_files(base, base.languages, source)
    return read_json(paths[PIVOT]), checksums


def ensure_split(options: SplitOptions, task_name: str, source: Any) -> ArticleSplit:
    """Read the split file, or draw and write it; an existing file drawn with another seed/share is refused."""
    en_raw, checksums = pivot_file(task_name, source)
    if options.path.exists():
        split = read_split(options.path)
        if (split.task, split.seed, split.train_share) != (task_name, options.seed, options.train_share):
            raise XlirError(
                f"--split {options.path}: drawn for {split.task} with seed {split.seed}, share {split.train_share}; "
                "give the same --split-seed/--split-share or a new file"
            )
        check_files(split, checksums, str(options.path))
        return split
    split = make_split(task_name, checksums, en_raw, options.train_share, options.seed)
    write_split(split, options.path)
    return split


def pairs_of_side(pairs: list[dict[str, str]], split: ArticleSplit, en_raw: dict, part: str) -> list[dict[str, str]]:
    """The training pairs whose question belongs to an article of ``part``."""
    _, article_of = english_articles(en_raw)
    side = split.side(part)
    return [pair for pair in pairs if article_of[pair["id"]] in side]


def candidate_articles_of_task(task: Any) -> dict[str, list[int]]:
    """The English article of every candidate of a loaded task, per language (candidate ids name the paragraph)."""
    from .data import resolve_source
    from .tasks import get_spec, pinned_files

    base = get_spec(task.spec.options.get("source_task", task.name))
    langs = tuple(dict.fromkeys((*task.langs, PIVOT)))
    paths, _ = pinned_files(base, langs, resolve_source())
    raws = {lang: read_json(path) for lang, path in paths.items()}
    _, article_of = english_articles(raws[PIVOT])
    out = {}
    for lang, data in task.data.items():
        pivots = candidate_articles(raws[lang], article_of, lang)
        full_ids = _full_candidate_ids(raws[lang], lang)
        by_id = dict(zip(full_ids, pivots, strict=True))
        out[lang] = [by_id[cid] for cid in data.candidate_ids]
    return out


def _full_candidate_ids(raw: dict, lang: str) -> list[str]:
    paragraphs = [p for article in raw["data"] for p in article["paragraphs"]]
    return [f"{lang}-p{i:05d}-s{s:03d}" for i, p in enumerate(paragraphs) for s in range(len(p["sentences"]))]
