"""``format = "lareqa-xtreme"``: XTREME-R's LAReQA protocol over a LAReQA task's pinned files (Ruder et al. 2021).

The questions, ids and judgements are the source task's (``source_task``, e.g. ``xquad-r``); only
the candidate *text* changes: XTREME-R encodes a candidate as its sentence followed directly by
its paragraph, newlines removed (:func:`xlir_bench.data.xtreme.candidate_texts`). The measures
the task file lists in ``measures`` (``map@20``: XTREME-R's mAP@20, divisor min(R, 20)) are
added to its multilingual settings; XTREME-R's one pool is xlir-bench's ``X -> all`` settings.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.data.formats.base import Format, Loaded
from xlir_bench.data.formats.lareqa import check_count_entry
from xlir_bench.data.formats.lareqa import load as load_lareqa_files
from xlir_bench.data.lareqa import DataSource
from xlir_bench.data.spec_names import TASK_NAME
from xlir_bench.data.xtreme import candidate_texts

OPT_IN = ("map@20",)  # the opt-in measures a task file of this format may ask for


def check(raw: dict[str, Any], langs: tuple[str, ...], where: str, path: Path) -> dict[str, Any]:
    if not TASK_NAME.fullmatch(raw["source_task"]):
        raise XlirError(f"{where}: source_task {raw['source_task']!r} must be a task name beside this file")
    unknown = [name for name in raw.get("measures", []) if name not in OPT_IN]
    if unknown:
        raise XlirError(f"{where}: measures {unknown!r} not known; this format offers {', '.join(OPT_IN)}")
    for lang, entry in raw.get("counts", {}).items():
        check_count_entry(entry, lang, where)
    return raw


def load(spec: Any, langs: tuple[str, ...], source: DataSource | None) -> Loaded:
    """The source task's verified data, each candidate's text made XTREME-R's sentence + paragraph."""
    data, checksums = load_lareqa_files(spec, langs, source)
    return {lang: replace(part, candidates=candidate_texts(part)) for lang, part in data.items()}, checksums


FORMAT = Format(
    name="lareqa-xtreme",
    summary="XTREME-R's LAReQA protocol over a LAReQA task's pinned files: sentence + paragraph candidates, mAP@20",
    keys={"source_task": str, "counts": dict, "measures": list},
    required=("source_task",),
    load=load,
    unit="sentence + paragraph",
    pinned=True,
    check=check,
    source_task=True,
)
