"""Every row of the data-format table keeps the contract a task file relies on."""

from __future__ import annotations

import pytest

from xlir_bench.data.formats import FORMATS, PINNED_KEYS
from xlir_bench.data.tasks import _COMMON

ROWS = list(FORMATS.values())


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_row_declares_its_keys(row):
    assert FORMATS[row.name] is row and row.summary
    assert set(row.required) <= set(row.keys), "a required key must be a declared key"
    assert not set(row.keys) & set(_COMMON), "format keys may not shadow the common keys"
    assert all(isinstance(kind, type) or isinstance(kind, tuple) for kind in row.keys.values())
    assert callable(row.load) and callable(row.check)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_pinned_rows_are_the_ones_with_files_or_a_source_task(row):
    """Pinned formats read checksummed files from the data mirror: theirs, or their LAReQA source task's."""
    assert row.pinned == bool(set(row.keys) & set(PINNED_KEYS) - {"counts"} or row.source_task)


@pytest.mark.parametrize("row", [r for r in ROWS if r.example], ids=lambda row: row.name)
def test_example_keys_pass_the_rows_own_check(row, tmp_path):
    raw = {"name": "t", "license": "x", "languages": ["en"], "format": row.name, **row.example}
    assert row.check(raw, ("en",), "t.toml", tmp_path / "t.toml") == raw
