"""``format = "lareqa-split"``: one side (train or held-out articles) of an article split of a LAReQA task.

The task file pins the LAReQA files like a ``lareqa`` task (``files``, ``url_template``; the
English file too, since the split's articles are English articles), names the split file
(``split``, relative to the task file) and the side (``part``: ``heldout`` or ``train``); see
:mod:`xlir_bench.data.split`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlir_bench.data.formats.lareqa as lareqa
from xlir_bench.core.errors import XlirError
from xlir_bench.data.formats.base import Format, Loaded
from xlir_bench.data.lareqa import DataSource


def check(raw: dict[str, Any], langs: tuple[str, ...], where: str, path: Path) -> dict[str, Any]:
    lareqa.check(raw, tuple(dict.fromkeys((*langs, "en"))), where, path)
    if raw.get("part", "heldout") not in ("train", "heldout"):
        raise XlirError(f"{where}: part {raw['part']!r} must be train or heldout")
    return raw


def load(spec: Any, langs: tuple[str, ...], source: DataSource | None) -> Loaded:
    from xlir_bench.data.split import load_split_task

    return load_split_task(spec, langs, source)


FORMAT = Format(
    name="lareqa-split",
    summary="one side (training or held-out articles) of an article split of a LAReQA task: questions and pools",
    keys={"files": dict, "url_template": str, "split": str, "part": str},
    required=("files", "url_template", "split"),
    load=load,
    unit="sentence",
    pinned=True,
    check=check,
)
