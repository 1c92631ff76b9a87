"""Compare xlir-bench's paragraph tasks with MTEB's published XQuADRetrieval / MLQARetrieval nDCG@10.

Each ``--pair`` is ``RECORD=MTEB_DIR``: an xlir-bench run record of ``xquad-paragraph`` and/or
``mlqa-paragraph``, and a folder holding MTEB's result files of the same model
(``XQuADRetrieval.json``, ``MLQARetrieval.json`` as in the ``embeddings-benchmark/results``
repository, ``results/<org>__<model>/<revision>/``). Prints one markdown table per task:
setting, then per model xlir-bench, MTEB and their difference; a subset MTEB did not publish
shows "n/a". MTEB names MLQA subsets corpus first (``ara-deu``: German questions, Arabic
paragraphs = xlir-bench setting ``de->ar``).

    python benchmarks/mteb_compare.py --pair runs/minilm.json.gz=mteb/all-MiniLM-L6-v2 ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from xlir_bench.records.build import load_record

ISO3 = {"ar": "ara", "de": "deu", "en": "eng", "es": "spa", "hi": "hin", "vi": "vie", "zh": "zho"}
TASKS = {"xquad-paragraph": "XQuADRetrieval", "mlqa-paragraph": "MLQARetrieval"}


def mteb_subset(task: str, query_lang: str, pool: str) -> str:
    return pool if task == "xquad-paragraph" else f"{ISO3[pool]}-{ISO3[query_lang]}"


def published(folder: Path, task: str, split: str = "validation") -> dict[str, float]:
    """MTEB subset -> nDCG@10 of one task's result file; empty when the file is absent."""
    path = folder / f"{TASKS[task]}.json"
    if not path.is_file():
        return {}
    scores = json.loads(path.read_text(encoding="utf-8"))["scores"].get(split, [])
    return {entry["hf_subset"]: entry["ndcg_at_10"] for entry in scores}


def ours(record: dict, task: str) -> dict[tuple[str, str], float]:
    """(query language, pool) -> nDCG@10 of the record's settings of ``task`` that MTEB also has.

    MTEB's XQuADRetrieval is monolingual; MLQARetrieval has every mono and cross pair.
    """
    families = ("mono",) if task == "xquad-paragraph" else ("mono", "cross")
    settings = record["results"].get(task, {}).get("settings", [])
    return {(s["query_lang"], s["pool"]): s["metrics"]["ndcg@10"] for s in settings if s["family"] in families}


def table(task: str, pairs: list[tuple[str, dict, Path]]) -> str:
    keys = sorted({key for _, record, _ in pairs for key in ours(record, task)}, key=lambda k: (k[0] != k[1], k))
    header = "| setting | " + " | ".join(f"{name} xlir-bench | {name} MTEB | diff" for name, _, _ in pairs) + " |"
    lines = [header, "|---" * (1 + 3 * len(pairs)) + "|"]
    for query_lang, pool in keys:
        cells = [
            f"{query_lang}->{pool}" + ("" if task == "xquad-paragraph" else f" ({mteb_subset(task, query_lang, pool)})")
        ]
        for _, record, folder in pairs:
            mine = ours(record, task).get((query_lang, pool))
            theirs = published(folder, task).get(mteb_subset(task, query_lang, pool))
            cells += [
                _fmt(mine),
                _fmt(theirs),
                _fmt(None if mine is None or theirs is None else mine - theirs, sign=True),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name, record, folder in pairs:
        mine, theirs = ours(record, task), published(folder, task)
        diffs = [abs(v - theirs[mteb_subset(task, *k)]) for k, v in mine.items() if mteb_subset(task, *k) in theirs]
        if diffs:
            close = sum(d < 5e-6 for d in diffs)
            lines.append(
                f"{name}: {len(diffs)} settings published by MTEB, {close} equal to its 5 decimals, "
                f"max |difference| {max(diffs):.5f}, mean {sum(diffs) / len(diffs):.5f}"
            )
    return "\n".join(lines)


def _fmt(value: float | None, sign: bool = False) -> str:
    return "n/a" if value is None else (f"{value:+.5f}" if sign else f"{value:.5f}")  # MTEB publishes 5 decimals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", action="append", required=True, help="RECORD=MTEB_RESULTS_FOLDER (repeatable)")
    args = parser.parse_args()
    pairs = []
    for spec in args.pair:
        record_path, _, folder = spec.partition("=")
        record = load_record(record_path).to_json()  # the typed record as its plain JSON form
        pairs.append((record["model"]["name"], record, Path(folder)))
    for task in TASKS:
        if any(task in record["results"] for _, record, _ in pairs):
            print(f"### {task} (MTEB {TASKS[task]}, nDCG@10)\n\n{table(task, pairs)}\n")


if __name__ == "__main__":
    main()
