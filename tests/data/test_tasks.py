"""Registry: setting enumeration, filters and task metadata."""

from __future__ import annotations

import pytest

from xlir_bench.core.errors import XlirError
from xlir_bench.data.tasks import enumerate_settings, get_spec, parse_families, registry, select_langs


@pytest.mark.parametrize(("task", "counts"), [("xquad-r", (11, 110, 11)), ("mlqa-r", (7, 42, 7))])
def test_setting_counts(task, counts):
    spec = get_spec(task)
    settings = enumerate_settings(task, spec.languages, ("mono", "cross", "multi"))
    got = tuple(sum(s.family == family for s in settings) for family in ("mono", "cross", "multi"))
    assert got == counts
    assert len({s.key for s in settings}) == sum(counts)
    assert all(s.query_lang == s.pool for s in settings if s.family == "mono")
    assert all(s.query_lang != s.pool for s in settings if s.family == "cross")
    assert all(s.pool_langs == spec.languages for s in settings if s.family == "multi")


def test_language_filter_restricts_queries_and_pools():
    spec = get_spec("xquad-r")
    langs = select_langs(spec, ["zh", "en", "ar", "de"])
    assert langs == ("ar", "de", "en", "zh")
    settings = enumerate_settings("xquad-r", langs, ("mono", "cross", "multi"))
    assert [sum(s.family == f for s in settings) for f in ("mono", "cross", "multi")] == [4, 12, 4]


def test_metadata_is_declared():
    for spec in registry().values():
        assert spec.license.startswith("CC BY")
        assert "roy2020lareqa" in spec.citation
        assert set(spec.files) == set(spec.languages) == set(spec.counts)
        assert all(len(entry["sha256"]) == 64 for entry in spec.files.values())
    assert "354d67d1cd066854cdfbf5ad0e6105528976141d" in get_spec("mlqa-r").url("en")
    assert "/master/xquad-r/en.json" in get_spec("xquad-r").url("en")


@pytest.mark.parametrize("bad", ["mono,bogus", "", "cross;multi"])
def test_bad_setting_family(bad):
    with pytest.raises(XlirError, match="--settings"):
        parse_families(bad)


def test_unknown_language_and_task():
    with pytest.raises(XlirError, match="--langs: el not in task mlqa-r"):
        select_langs(get_spec("mlqa-r"), ["en", "el"])
    with pytest.raises(XlirError, match="unknown task 'squad'"):
        get_spec("squad")
