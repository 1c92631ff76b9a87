"""benchmarks/rerun_diff.py on two hand-made records whose differences are known."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "rerun_diff.py"
spec = importlib.util.spec_from_file_location("rerun_diff", SCRIPT)
diff = importlib.util.module_from_spec(spec)
sys.modules["rerun_diff"] = diff
spec.loader.exec_module(diff)


def record(map_de: float, rank: float, per_query: list[float], extra: dict | None = None) -> dict:
    metrics = {"map": map_de, "rank_distance": rank, **(extra or {})}
    setting = {"query_lang": "de", "pool": "all", "family": "multi", "metrics": metrics, "per_query": {"map": per_query}}
    return {
        "results": {
            "xquad-r": {
                "macro": {"multi": dict(metrics)},
                "settings": [setting],
                "bias": {"rank_matrix": {"de": {"en": {"mean": rank, "median": 2.0}}}},
                "intervals": {"multi": {"map": [0.0, 1.0]}},  # never compared
            }
        }
    }


def test_differences_by_section_and_new_measures():
    old = record(0.5, 10.0, [0.5, 0.5])
    new = record(0.5000015, 10.25, [0.5, 0.500003], {"rank_distance_norm": 0.1})
    new["results"]["xquad-r"]["intervals"]["multi"]["map"] = [0.2, 0.8]
    result = diff.compare(old, new)
    # macro: map, rank_distance; settings: map, rank_distance; per_query: 2; bias: mean, median
    assert result["shared"] == 8
    assert result["worst"]["macro"] == pytest.approx(1.5e-6) and result["worst"]["settings"] == pytest.approx(1.5e-6)
    assert result["worst"]["rank units"] == pytest.approx(0.25)  # rank_distance and the bias mean
    assert result["worst"]["per_query"] == pytest.approx(3e-6) and result["differing"] == 1
    assert result["added"] == ["rank_distance_norm"] and result["missing"] == []


def test_identical_records_differ_nowhere():
    result = diff.compare(record(0.5, 10.0, [0.5]), record(0.5, 10.0, [0.5]))
    assert set(result["worst"].values()) == {0.0} and result["differing"] == 0 and result["added"] == []
