"""The article split of a registered task: drawing or reading its split file (``train-data --split``) and the
article of every candidate of a loaded task. Apart from data/split.py (the split itself and the
``lareqa-split`` format's loading) because it looks tasks up in the registry, which loads that format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import pinned_files, resolve_source
from xlir_bench.data.split import (
    PIVOT,
    ArticleSplit,
    candidate_articles,
    check_files,
    english_articles,
    make_split,
    read_json,
    read_split,
    write_split,
)
from xlir_bench.data.tasks import get_spec


@dataclass(frozen=True)
class SplitOptions:
    """``train-data --split FILE``: the split file, and the seed and share that draw it when it does not exist yet."""

    path: Path
    seed: int = 0
    train_share: float = 0.6
    part: str = "train"


def pivot_file(task_name: str, source: Any) -> tuple[dict, dict[str, str]]:
    """The parsed English file of a lareqa task and {file: sha256} of all its pinned files."""
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


def candidate_articles_of_task(task: Any) -> dict[str, list[int]]:
    """The English article of every candidate of a loaded task, per language (candidate ids name the paragraph)."""
    base = task.spec if task.spec.format == "lareqa-split" else get_spec(task.name)
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
