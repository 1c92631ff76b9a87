"""Which questions move together: the resampling unit of intervals and tests (``--cluster``).

XQuAD-R's 1,190 questions sit in 240 paragraphs of 48 Wikipedia articles and
MLQA-R's 1,148 in 978 paragraphs of 520 articles; questions about one article
tend to succeed or fail together, so they are not independent draws. A
question's cluster is

* ``article``: the SQuAD-format ``data[i]`` entry of the task's *English* file
  that holds the question (every question of XQuAD-R and MLQA-R has an English
  version, under the same id), its index ``i``;
* ``paragraph``: the paragraph of that file that holds it, by its index in file order;
* ``question``: the question alone (no clustering).

The unit applies to every language of the question (pairing across languages
and settings is by question id, as before). A paragraph-task query that joins
several ids with ``+`` takes the cluster of its first id. Tasks without
articles (BEIR, ir_datasets), or whose files include no English one, only
know ``question``, their default (:func:`default_unit`).

    @inproceedings{field2007bootstrapping, title={Bootstrapping clustered data},
      author={Field, Christopher A. and Welsh, Alan H.}, journal={JRSS B},
      volume={69}, number={3}, pages={369--390}, year={2007}}
"""

from __future__ import annotations

import json
from pathlib import Path

from xlir_bench.core.errors import XlirError

UNITS = ("article", "paragraph", "question")
CLUSTERED_FORMATS = ("lareqa", "lareqa-paragraph")
ANCHOR_LANG = "en"


def default_unit(spec) -> str:
    """``article`` for tasks whose data knows its articles (an English SQuAD-format file), else ``question``."""
    return "article" if spec.format in CLUSTERED_FORMATS and ANCHOR_LANG in spec.files else "question"


def check_unit(spec, unit: str | None) -> str:
    """The unit to use for ``spec`` (its default when None); one XlirError when the task cannot give it."""
    if unit is None:
        return default_unit(spec)
    if unit not in UNITS:
        raise XlirError(f"--cluster {unit}: unknown unit; use {', '.join(UNITS)}")
    if unit != "question" and spec.format not in CLUSTERED_FORMATS:
        raise XlirError(
            f"--cluster {unit}: task {spec.name} (format {spec.format}) has no articles or paragraphs; use --cluster question"
        )
    if unit != "question" and ANCHOR_LANG not in spec.files:
        raise XlirError(f"--cluster {unit}: task {spec.name} pins no English file to read its articles from; use --cluster question")
    return unit


def english_units(path: Path) -> dict[str, dict[str, int]]:
    """{"article": {id: i}, "paragraph": {id: j}} for every question of a SQuAD-format file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        article, paragraph, j = {}, {}, 0
        for i, entry in enumerate(raw["data"]):
            for par in entry["paragraphs"]:
                for qa in par["qas"]:
                    article[qa["id"]], paragraph[qa["id"]] = i, j
                j += 1
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise XlirError(f"{path}: cannot read its articles ({type(exc).__name__}); replace it with the published file") from exc
    return {"article": article, "paragraph": paragraph}


def spec_units(spec, source=None) -> dict[str, dict[str, int]]:
    """:func:`english_units` of the task's pinned English file (verified against its sha256)."""
    from xlir_bench.data.lareqa import pinned_files, resolve_source

    paths, _ = pinned_files(spec, (ANCHOR_LANG,), source or resolve_source())
    return english_units(paths[ANCHOR_LANG])


def cluster_map(spec, unit: str, query_ids, source=None) -> dict[str, int] | None:
    """Query id -> cluster index for ``query_ids`` under ``unit``; None for ``question`` (every query alone)."""
    unit = check_unit(spec, unit)
    if unit == "question":
        return None
    of = spec_units(spec, source)[unit]
    out = {}
    for qid in query_ids:
        first = qid.split("+", 1)[0]
        if first in of:
            out[qid] = of[first]
    return out
