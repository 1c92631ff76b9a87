"""Bring-your-own collections: ``format = "beir"`` (a BEIR folder) and ``format = "ir_datasets"``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.data.formats.base import Format, Loaded
from xlir_bench.data.lareqa import DataSource
from xlir_bench.data.sources import load_beir, load_ir_datasets


def _load_beir(spec: Any, langs: tuple[str, ...], source: DataSource | None) -> Loaded:
    root = Path(spec.source_file).parent if spec.source_file else Path.cwd()
    return load_beir(spec.options, langs, root, spec.languages)


def _check_ir_datasets(raw: dict[str, Any], langs: tuple[str, ...], where: str, path: Path) -> dict[str, Any]:
    for key, value in raw["ir_datasets"].items():
        if not isinstance(value, str) or not value:
            raise XlirError(f"{where}: ir_datasets.{key} must be a dataset id string")
    return raw


BEIR = Format(
    name="beir",
    summary="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), languages from a field or folders",
    keys={"path": str, "split": str, "language": str, "language_field": str, "per_language_folders": bool},
    required=("path",),
    load=_load_beir,
)
IR_DATASETS = Format(
    name="ir_datasets",
    summary="ir_datasets collections, one dataset id per language (read from ir_datasets' own cache)",
    keys={"ir_datasets": dict},
    required=("ir_datasets",),
    load=lambda spec, langs, source: load_ir_datasets(spec.options, langs),
    check=_check_ir_datasets,
)
