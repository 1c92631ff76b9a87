"""Embedding cache storage: key index, memory-mapped reads of only the needed chunks, 0.2 chunks, float16."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import _HashEncoder

from xlir_bench.core.errors import XlirError
from xlir_bench.encode.admin import cache_info
from xlir_bench.encode.cache import EmbeddingCache, text_key
from xlir_bench.encode.cached import CachedEncoder


def vectors_for(texts, dim=8):
    """Distinct, exactly known vectors per text (not float16-representable, so rounding shows)."""
    return np.array([[len(t) + i / 3 + 0.1 for i in range(dim)] for t in texts], dtype=np.float32)


def fill(cache, texts, per_chunk):
    for start in range(0, len(texts), per_chunk):
        cache.put("passage", texts[start : start + per_chunk], vectors_for(texts[start : start + per_chunk]))


def test_a_lookup_opens_only_the_chunks_it_needs_through_a_memory_map(tmp_path, monkeypatch):
    texts = [f"text {i:03d}" for i in range(30)]
    fill(EmbeddingCache(tmp_path, "fp", "m"), texts, 10)
    cache = EmbeddingCache(tmp_path, "fp", "m")
    # the third chunk is damaged: a run that does not need it must neither notice nor pay for it
    third = [p for p in (tmp_path / "fp").glob("*.keys") if text_key("passage", texts[25]) in np.load(p)["keys"]]
    third[0].with_suffix(".vectors.npy").write_bytes(b"\x93NUMPY broken")
    opened = []
    real_load = np.load

    def spy(path, *args, **kwargs):
        opened.append((str(path), kwargs.get("mmap_mode")))
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    wanted = [texts[3], texts[1], texts[12], "never cached"]
    out, missing = cache.read("passage", wanted)
    assert missing == [3] and cache.stats.rebuilt_chunks == 0
    np.testing.assert_array_equal(out[:3], vectors_for(wanted[:3]))
    assert len(opened) == 2 and all(path.endswith(".vectors.npy") and mode == "r" for path, mode in opened)


def test_chunks_of_version_0_2_are_still_read(tmp_path):
    texts = ["alpha", "beta"]
    folder = tmp_path / "fp"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({"name": "m", "fingerprint": "fp", "dim": 8}))
    np.savez(
        folder / f"passage-{'a' * 32}.npz",
        keys=np.array([text_key("passage", t) for t in texts], dtype="S64"),
        vectors=vectors_for(texts),
        fingerprint=np.array("fp"),
    )
    cache = EmbeddingCache(tmp_path, "fp", "m")
    out, missing = cache.read("passage", ["beta", "gamma", "alpha"])
    assert missing == [1]
    np.testing.assert_array_equal(out[[0, 2]], vectors_for(["beta", "alpha"]))
    cache.put("passage", ["gamma"], vectors_for(["gamma"]))  # new chunks beside old ones
    out, missing = EmbeddingCache(tmp_path, "fp", "m").read("passage", ["gamma", "alpha"])
    assert missing == [] and np.array_equal(out, vectors_for(["gamma", "alpha"]))


def test_float16_storage_is_rounded_once_and_read_back_as_float32(tmp_path):
    texts = [f"passage {i}" for i in range(20)]
    cold = CachedEncoder(_HashEncoder(), EmbeddingCache(tmp_path, "hash-v1", "hash", "float16"), chunk_texts=6)
    first = cold.encode_passages(texts)
    expected = _HashEncoder().encode_passages(texts).astype(np.float16).astype(np.float32)
    assert first.dtype == np.float32 and np.array_equal(first, expected)
    warm = CachedEncoder(_HashEncoder(), EmbeddingCache(tmp_path, "hash-v1", "hash", "float16"))
    assert np.array_equal(warm.encode_passages(texts), first) and warm.cache.stats.encoded == 0
    stored = [np.load(p) for p in (tmp_path / "hash-v1").glob("*.vectors.npy")]
    assert len(stored) == 4 and all(v.dtype == np.float16 for v in stored)
    assert json.loads((tmp_path / "hash-v1" / "model.json").read_text())["dtype"] == "float16"
    assert cache_info(tmp_path)[0]["dtype"] == "float16"
    # what float16 does to values that are not representable: within its 11-bit precision
    values = vectors_for(["x"])
    rounded = EmbeddingCache(tmp_path / "other", "fp", "m", "float16").put("query", ["x"], values)
    assert not np.array_equal(rounded, values) and np.allclose(rounded, values, rtol=2**-11)


def test_float16_and_float32_vectors_never_mix(tmp_path):
    EmbeddingCache(tmp_path, "fp", "m").put("query", ["a"], vectors_for(["a"]))
    with pytest.raises(XlirError, match=r"--cache-dtype float16: .* holds float32 vectors .*--cache-dtype float32"):
        EmbeddingCache(tmp_path, "fp", "m", "float16")
    with pytest.raises(XlirError, match="float16 range"):
        EmbeddingCache(tmp_path / "f16", "fp", "m", "float16").put("query", ["a"], np.full((1, 4), 1e6, np.float32))
    assert not list((tmp_path / "f16").rglob("*.keys"))
    with pytest.raises(XlirError, match="--cache-dtype int8"):
        EmbeddingCache(tmp_path, "fp", "m", "int8")


def test_vectors_without_keys_are_no_chunk_and_are_removed_by_the_next_writer(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", "m")
    cache.put("query", ["a"], vectors_for(["a"]))
    orphan = tmp_path / "fp" / f"query-{'b' * 32}.vectors.npy"  # a writer killed between its two renames
    np.save(orphan, vectors_for(["b"]))
    (entry,) = cache_info(tmp_path)
    assert entry["queries"] == 1 and entry["damaged_chunks"] == 0 and not entry["foreign"]
    assert EmbeddingCache(tmp_path, "fp", "m").read("query", ["a", "b"])[1] == [1]
    cache.put("query", ["c"], vectors_for(["c"]))
    assert not orphan.exists()


def test_a_missing_vectors_file_makes_its_texts_encode_again(tmp_path):
    texts = [f"t{i}" for i in range(8)]
    fill(EmbeddingCache(tmp_path, "fp", "m"), texts, 4)
    (victim,) = [p for p in (tmp_path / "fp").glob("*.keys") if text_key("passage", "t0") in np.load(p)["keys"]]
    victim.with_suffix(".vectors.npy").unlink()
    (entry,) = cache_info(tmp_path)
    assert entry["damaged_chunks"] == 1 and entry["passages"] == 4
    cache = EmbeddingCache(tmp_path, "fp", "m")
    with pytest.warns(UserWarning, match="will be encoded again"):
        _, missing = cache.read("passage", texts)
    assert missing == [0, 1, 2, 3] and not victim.exists()
    assert cache.read("passage", texts[4:])[1] == []


def test_cli_cache_dtype_float16_runs_refuses_mixing_and_scores_the_fixture_by_hand(tmp_path):
    from click.testing import CliRunner
    from test_fixture_pipeline import MIRROR, TASK

    from xlir_bench.cli.app import cli

    common = ["--task", TASK, "--data-dir", MIRROR, "--cache-dir", str(tmp_path / "c"), "--bootstrap", "0", "-q"]
    model = ["--model", "py:test_fixture_pipeline:factory"]
    runner = CliRunner()
    half = runner.invoke(cli, ["run", *model, *common, "--cache-dtype", "float16", "-o", str(tmp_path / "a.json")])
    assert half.exit_code == 0, half.output
    record = json.loads((tmp_path / "a.json").read_text())
    # the fixture's hand-computed macros (test_fixture_pipeline): its rankings survive float16 rounding
    assert record["results"]["lareqa-mini"]["macro"]["multi"]["map"] == 0.8125
    assert record["results"]["lareqa-mini"]["macro"]["mono"]["map"] == 0.875
    mixed = runner.invoke(cli, ["run", *model, *common, "-o", str(tmp_path / "b.json")])
    assert mixed.exit_code == 2 and "never mixed" in mixed.output and not (tmp_path / "b.json").exists()
