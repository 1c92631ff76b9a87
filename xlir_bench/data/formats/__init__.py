"""The data-format table: one row per ``format = "..."`` a task file may name.

Adding a format is one module beside these (a ``Format`` row with its loader and
checks) and one entry in :data:`FORMATS`; see docs/development/adding-a-format.md.
"""

from __future__ import annotations

from xlir_bench.data.formats import collections, lareqa, paragraph, parallel, split, xtreme
from xlir_bench.data.formats.base import Format, Loaded

FORMATS: dict[str, Format] = {
    row.name: row
    for row in (lareqa.FORMAT, paragraph.FORMAT, collections.BEIR, collections.IR_DATASETS, parallel.FORMAT, split.FORMAT, xtreme.FORMAT)
}
# Keys that describe pinned files rather than options of the loader (they stay on TaskSpec itself).
PINNED_KEYS = ("files", "counts", "url_template")

__all__ = ["FORMATS", "PINNED_KEYS", "Format", "Loaded"]
