"""Merge what the device run sent back into the study folder, in the sweep's own layout.

    python merge.py GRID DEST records-full-0.tar.xz [records-full-1.tar.xz ...]

Each archive holds worker folders ``wK/`` (a ``sweep --only`` output: ``sweep.json``,
``cells/<cell>/cell.json``, ``cells/<cell>/train/training_log.json``,
``cells/<cell>/runs/<key>.json`` decompressed for transport) and ``wK.log``. Cells land in
``DEST/cells/<cell>/`` with their records gzipped again (``runs/<key>.json.gz``, the same
JSON), worker logs in ``DEST/logs/``, and ``DEST/sweep.json`` gets the whole grid's plan
(read here from GRID) with every worker's session accounting, so that
``xlir-bench sweep-report DEST`` regenerates the report. A cell already in DEST is refused
unless it is byte-identical, so nothing committed is overwritten silently.
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
import tempfile
from pathlib import Path

from xlir_bench.core.files import write_atomic
from xlir_bench.train.sweep import load_grid

PROGRESS = re.compile(r"(Loading weights|Batches|it/s\]|s/it\])")


def merge(grid_path: Path, dest: Path, archives: list[Path]) -> list[str]:
    plan = load_grid(grid_path).plan()
    sessions, cells = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for archive in archives:
            with tarfile.open(archive, "r:xz") as tar:
                tar.extractall(tmp, filter="data")
        for worker in sorted(p for p in Path(tmp).iterdir() if p.is_dir()):
            manifest = worker / "sweep.json"
            if manifest.is_file():
                sessions += json.loads(manifest.read_text(encoding="utf-8")).get("sessions", [])
            for cell in sorted((worker / "cells").glob("*")):
                cells.append(cell.name)
                _copy_cell(cell, dest / "cells" / cell.name)
            log = worker.with_suffix(".log")
            if log.is_file():
                kept = [line for line in log.read_text(encoding="utf-8").splitlines() if not PROGRESS.search(line)]
                write_atomic(dest / "logs" / log.name, "\n".join(kept) + "\n")
    old = json.loads((dest / "sweep.json").read_text()) if (dest / "sweep.json").is_file() else {}
    write_atomic(
        dest / "sweep.json", json.dumps({"plan": plan, "sessions": old.get("sessions", []) + sessions}, indent=1)
    )
    return cells


def _copy_cell(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(src)
        data = path.read_bytes()
        target = dst / rel
        if rel.parts[0] == "runs" and path.suffix == ".json":
            target = target.with_name(path.name + ".gz")
        if target.exists():
            same = _read(target) == data
            if not same:
                raise SystemExit(f"error: {target} exists with other content; remove it first")
            continue
        write_atomic(target, data)


def _read(path: Path) -> bytes:
    if path.suffix == ".gz":
        import gzip

        return gzip.decompress(path.read_bytes())
    return path.read_bytes()


if __name__ == "__main__":
    grid, dest, *archives = sys.argv[1:]
    done = merge(Path(grid), Path(dest), [Path(a) for a in archives])
    print(f"{len(done)} cells merged into {dest}: {', '.join(done)}")
