"""Compare re-run leaderboard records with the versions committed at a git ref.

A record re-made with today's code on the same model and data must give the same numbers on
every measure the old record had; what may differ is BLAS rounding (dense scores ~1e-7, so
map/ndcg ~1e-6) and, where two candidates' scores tie to within rounding, their order (a
rank-based bias mean then moves by 1/n_queries). Intervals are not compared: their resampling
unit changed from questions to articles by design (issue 24). For each record this prints the
numbers both versions hold, the largest |difference| of the score measures (0..1: map, recall,
ndcg, shares, consistency) in the family macros, per query language and per setting, of the
measures in rank units (rank distance, the bias rank matrix's means and medians), how many
per-query values differ at all, and the measures only the new version has (newly filled
leaderboard columns).

    python benchmarks/rerun_diff.py --ref main leaderboard/runs/*.json.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SECTIONS = ("macro", "by_query_lang", "settings", "rank units")
RANK_UNITS = ("rank_distance", "mean", "median")  # leaf names measured in ranks, not on 0..1
NOT_COMPARED = ("intervals", "clusters")  # resampling unit changed by design; cluster maps are new


def numbers(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, float]]:
    """Every numeric leaf of ``node`` with its path; settings are keyed by query_lang->pool."""
    if isinstance(node, bool):
        return
    if isinstance(node, (int, float)):
        yield path, float(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from numbers(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            key = f"{value['query_lang']}->{value['pool']}" if isinstance(value, dict) and "pool" in value else index
            yield from numbers(value, (*path, key))


def flat(record: dict) -> dict[tuple, float]:
    """The record's results as {(task, section, ...): value}, intervals and cluster maps left out."""
    return {
        (task, *path): value
        for task, result in record["results"].items()
        for path, value in numbers({k: v for k, v in result.items() if k not in NOT_COMPARED})
    }


def section_of(path: tuple) -> str:
    """``per_query``, ``rank units``, or the section (``macro``, ``by_query_lang``, ``settings``) of a score."""
    if "per_query" in path:
        return "per_query"
    return "rank units" if path[-1] in RANK_UNITS or path[1] == "bias" else path[1]


def compare(old: dict, new: dict) -> dict[str, Any]:
    """Shared count, max |diff| per section, differing per-query values, the leaf names only ``new`` has."""
    a, b = flat(old), flat(new)
    shared = a.keys() & b.keys()
    worst = {name: 0.0 for name in (*SECTIONS, "per_query")}
    differing = 0
    for path in shared:
        name, gap = section_of(path), abs(a[path] - b[path])
        worst[name] = max(worst[name], gap)
        differing += name == "per_query" and gap > 0
    added = sorted({_leaf_name(path) for path in b.keys() - a.keys()})
    missing = sorted({_leaf_name(path) for path in a.keys() - b.keys()})
    return {"shared": len(shared), "worst": worst, "differing": differing, "added": added, "missing": missing}


def _leaf_name(path: tuple) -> str:
    """A measure's name without its task, language and setting: the leaf key, or the key above an index."""
    words = [str(p) for p in path if not isinstance(p, int) and "->" not in str(p)]
    return words[-1] if words else "?"


def load(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())


def committed(ref: str, path: Path) -> dict | None:
    """The record as committed at ``ref``, or None if it did not exist there."""
    shown = subprocess.run(["git", "show", f"{ref}:{path.as_posix()}"], capture_output=True)
    if shown.returncode != 0:
        return None
    return json.loads(gzip.decompress(shown.stdout) if path.suffix == ".gz" else shown.stdout)


def row(path: Path, ref: str) -> str:
    old = committed(ref, path)
    if old is None:
        return f"| {path.name} | new record |" + " |" * (len(SECTIONS) + 2)
    result = compare(old, load(path))
    worst = " | ".join(f"{result['worst'][name]:.2g}" for name in SECTIONS)
    gone = f" (missing: {', '.join(result['missing'])})" if result["missing"] else ""
    added = ", ".join(result["added"]) or "-"
    return f"| {path.name} | {result['shared']} | {worst} | {result['differing']} | {added}{gone} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path)
    parser.add_argument("--ref", default="main", help="git ref holding the old records [default: main]")
    args = parser.parse_args()
    head = " | ".join(f"max abs diff {name}" for name in SECTIONS)
    print(f"| record | shared numbers | {head} | per-query values differing | only in the new record |")
    print("|---|---|" + "---|" * len(SECTIONS) + "---|---|")
    for path in args.records:
        print(row(path, args.ref))


if __name__ == "__main__":
    main()
