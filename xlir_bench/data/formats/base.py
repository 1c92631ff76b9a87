"""The row type of the data-format table: what a task file of one format may hold and how its data loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlir_bench.data.lareqa import DataSource, LanguageData

Loaded = tuple[dict[str, LanguageData], dict[str, str]]  # per-language data, {file or dataset: checksum}


def no_check(raw: dict[str, Any], langs: tuple[str, ...], where: str, path: Path) -> dict[str, Any]:
    return raw


@dataclass(frozen=True)
class Format:
    """One data format: its task-file keys (beyond the common ones), loader and checks.

    ``load(spec, langs, source)`` returns :data:`Loaded`; ``source`` is the data
    mirror for ``pinned`` formats (checksummed files under ``--data-dir``) and None
    for the others, which read paths relative to their task file. ``check`` validates
    the format's own keys (one ``XlirError`` line naming the key) and may add derived
    ones; ``source_task``: the format reuses the pinned files of a LAReQA task file
    beside it (named by the ``source_task`` key).
    """

    name: str
    summary: str
    keys: dict[str, type | tuple[type, ...]]
    required: tuple[str, ...]
    load: Callable[[Any, tuple[str, ...], DataSource | None], Loaded]
    unit: str = "document"
    pinned: bool = False
    check: Callable[[dict[str, Any], tuple[str, ...], str, Path], dict[str, Any]] = no_check
    source_task: bool = False
    example: dict[str, Any] = field(default_factory=dict)  # format keys of a minimal task file, for docs and tests
