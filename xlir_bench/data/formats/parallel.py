"""``format = "parallel"``: parallel sentences, one plain-text file per language, line n of every file parallel.

The layout of Tatoeba and FLORES-200 (``<lang>.txt`` or ``<lang>.devtest``) and what
XM3600 captions or MTOP utterances convert to: each line is a query in its language
and a candidate in every pool; line n in X is relevant to line n in Y (grade 1), so
X -> Y is bitext retrieval (Artetxe and Schwenk 2019; XTREME's Tatoeba task, Hu et
al. 2020) and X -> all is the multilingual pool. A query's id is its line number;
the mono setting is trivial (a sentence finds itself) and is kept only for symmetry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import confine, read_text, sha256_file
from xlir_bench.data.formats.base import Format, Loaded
from xlir_bench.data.lareqa import DataSource, LanguageData


def read_lines(path: Path) -> list[str]:
    """The file's sentences, one per line; an empty line is refused (it would be a query with no text)."""
    lines = read_text(path, "parallel-sentence file", "give UTF-8 text, one sentence per line").splitlines()
    empty = next((number for number, line in enumerate(lines, 1) if not line.strip()), None)
    if empty is not None:
        raise XlirError(f"{path}: line {empty} is empty; every line must hold a sentence (remove the empty line)")
    return lines


def language_data(lang: str, lines: list[str]) -> LanguageData:
    ids = [f"{n:07d}" for n in range(len(lines))]
    return LanguageData(
        lang=lang,
        question_ids=ids,
        questions=lines,
        candidate_ids=[f"{lang}-{qid}" for qid in ids],
        candidates=lines,
        qrels={qid: {n: 1} for n, qid in enumerate(ids)},
    )


def load(spec: Any, langs: tuple[str, ...], source: DataSource | None) -> Loaded:
    root = Path(spec.source_file).resolve().parent if spec.source_file else Path.cwd()
    folder = confine(root, spec.options["path"], f"{spec.source_file}: path")
    suffix = spec.options.get("suffix", ".txt")
    paths = {lang: confine(folder, f"{lang}{suffix}", f"{lang}{suffix}") for lang in langs}
    lines = {lang: read_lines(path) for lang, path in paths.items()}
    counts = {len(found) for found in lines.values()}
    if len(counts) > 1:
        sizes = ", ".join(f"{paths[lang].name} {len(found)}" for lang, found in lines.items())
        raise XlirError(f"{folder}: the files are not parallel ({sizes} lines); every file needs the same line count")
    checksums = {f"{folder.name}/{path.name}": sha256_file(path) for path in paths.values()}
    return {lang: language_data(lang, found) for lang, found in lines.items()}, checksums


def check(raw: dict[str, Any], langs: tuple[str, ...], where: str, path: Path) -> dict[str, Any]:
    suffix = raw.get("suffix", ".txt")
    if not suffix.startswith(".") or "/" in suffix or "\\" in suffix:
        raise XlirError(f"{where}: suffix {suffix!r} must be a file suffix such as \".txt\" or \".devtest\"")
    return raw


FORMAT = Format(
    name="parallel",
    summary="parallel sentences: <lang><suffix> per language, line n parallel (Tatoeba, FLORES, converted XM3600/MTOP)",
    keys={"path": str, "suffix": str},
    required=("path",),
    load=load,
    unit="sentence",
    check=check,
    example={"path": "parallel-mini", "suffix": ".txt"},
)
