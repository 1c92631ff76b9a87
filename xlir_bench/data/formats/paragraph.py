"""``format = "lareqa-paragraph"``: MTEB's XQuAD/MLQA paragraph retrieval rebuilt from a LAReQA task's pinned files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.data.formats.base import Format, Loaded
from xlir_bench.data.lareqa import DataSource
from xlir_bench.data.paragraphs import load_paragraph_task
from xlir_bench.data.spec_names import TASK_NAME


def check(raw: dict[str, Any], langs: tuple[str, ...], where: str, path: Path) -> dict[str, Any]:
    if not TASK_NAME.fullmatch(raw["source_task"]):
        raise XlirError(f"{where}: source_task {raw['source_task']!r} must be a task name beside this file")
    return raw


def load(spec: Any, langs: tuple[str, ...], source: DataSource | None) -> Loaded:
    return load_paragraph_task(spec, langs, source)


FORMAT = Format(
    name="lareqa-paragraph",
    summary="MTEB-style paragraph retrieval over the pinned files of a LAReQA task (XQuADRetrieval, MLQARetrieval)",
    keys={"source_task": str, "strip": bool, "counts": dict},
    required=("source_task",),
    load=load,
    unit="paragraph",
    pinned=True,
    check=check,
    source_task=True,
)
