"""Embedding cache: zero work on a re-run, only new texts encoded, corruption detected, shards, concurrency."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tiny_models import CountingHashEncoder, _HashEncoder

import xlir_bench
from xlir_bench.cli.app import cli
from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import resolve_source
from xlir_bench.data.tasks import get_spec, load_task
from xlir_bench.encode.admin import cache_info
from xlir_bench.encode.cache import EmbeddingCache, text_key
from xlir_bench.encode.sharding import parse_shard, shard_items, task_texts


def run(encoder, data_dir, cache_dir, langs):
    return xlir_bench.evaluate(
        encoder, tasks=["xquad-r"], langs=langs, data_dir=str(data_dir), cache_dir=str(cache_dir), progress=False
    )


def distinct_texts(data_dir, langs):
    task = load_task(get_spec("xquad-r"), tuple(langs), resolve_source(data_dir))
    return sum(len(set(task.data[lang].questions)) + len(set(task.data[lang].candidates)) for lang in langs)


def test_second_run_encodes_nothing_and_new_language_only_itself(data_dir, tmp_path):
    first = CountingHashEncoder()
    cold = run(first, data_dir, tmp_path, ["en", "de"])
    assert len(first.seen) == distinct_texts(data_dir, ["en", "de"])

    second = CountingHashEncoder()
    warm = run(second, data_dir, tmp_path, ["en", "de"])
    assert second.seen == []
    assert warm.record["cache"]["encoded"] == 0 and warm.record["cache"]["hits"] == len(first.seen)
    assert warm.record["results"]["xquad-r"]["macro"] == cold.record["results"]["xquad-r"]["macro"]

    third = CountingHashEncoder()
    run(third, data_dir, tmp_path, ["en", "de", "vi"])
    assert len(third.seen) == distinct_texts(data_dir, ["vi"])


def test_no_cache_reads_and_writes_nothing(data_dir, tmp_path):
    encoder = CountingHashEncoder()
    xlir_bench.evaluate(
        encoder,
        tasks=["xquad-r"],
        langs=["es"],
        data_dir=str(data_dir),
        cache_dir=str(tmp_path),
        use_cache=False,
        progress=False,
    )
    assert not any(tmp_path.iterdir())


def test_corrupt_chunk_is_detected_and_rebuilt(data_dir, tmp_path):
    reference = run(_HashEncoder(), data_dir, tmp_path / "clean", ["en"])
    run(_HashEncoder(), data_dir, tmp_path / "c", ["en"])
    (folder,) = [p for p in (tmp_path / "c").iterdir() if p.is_dir()]
    chunks = sorted(folder.glob("passage-*.vectors.npy"))
    chunks[0].write_bytes(chunks[0].read_bytes()[:300])  # truncated
    vectors = np.load(chunks[1])  # readable but with NaN in it
    vectors[0, 0] = np.nan
    np.save(chunks[1], vectors)
    encoder = CountingHashEncoder()
    with pytest.warns(UserWarning, match="embedding cache: .* will be encoded again"):
        again = run(encoder, data_dir, tmp_path / "c", ["en"])
    assert 0 < len(encoder.seen) <= 2 * 512
    assert again.record["cache"]["rebuilt_chunks"] == 2
    assert again.record["results"] == reference.record["results"]


def test_wrong_dimension_chunk_is_not_used(tmp_path):
    cache = EmbeddingCache(tmp_path, "fp", "m")
    cache.put("query", ["a", "b"], np.ones((2, 4), np.float32))
    np.savez(  # a 0.2 chunk (one archive) of the wrong dimension
        tmp_path / "fp" / f"query-{'0' * 32}.npz",
        keys=np.array([text_key("query", "c")], dtype="S64"),
        vectors=np.ones((1, 3), np.float32),
        fingerprint=np.array("fp"),
    )
    reloaded = EmbeddingCache(tmp_path, "fp", "m")
    with pytest.warns(UserWarning, match="dimension 3 is not the model's 4"):
        assert reloaded.get("query", ["a", "b", "c"])[1] == [2]
    assert not (tmp_path / "fp" / f"query-{'0' * 32}.npz").exists()


def test_shards_cover_every_text_exactly_once(data_dir):
    items = task_texts(["xquad-r"], ["en", "th"], str(data_dir))
    shards = [shard_items(items, i, 3) for i in range(3)]
    assert sorted(item for shard in shards for item in shard) == sorted(items)
    assert len({item for shard in shards for item in shard}) == len(items)
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert task_texts(["xquad-r"], ["en", "th"], str(data_dir)) == items  # deterministic
    assert parse_shard("2/4") == (2, 4)
    with pytest.raises(xlir_bench.XlirError, match="--shard 4/4"):
        parse_shard("4/4")


def test_sharded_jobs_fill_the_cache_for_a_run(data_dir, tmp_path):
    for i in range(2):
        result = CliRunner().invoke(
            cli,
            [
                "encode",
                "--model",
                "py:tiny_models:_HashEncoder",
                "--task",
                "xquad-r",
                "--langs",
                "de",
                "--shard",
                f"{i}/2",
                "--data-dir",
                str(data_dir),
                "--cache-dir",
                str(tmp_path),
                "-q",
            ],
        )
        assert result.exit_code == 0, result.output
    encoder = CountingHashEncoder()
    run(encoder, data_dir, tmp_path, ["de"])
    assert encoder.seen == []
    info = CliRunner().invoke(cli, ["cache", "info", "--cache-dir", str(tmp_path)])
    assert info.exit_code == 0 and "hash" in info.output
    (entry,) = cache_info(tmp_path)
    assert entry["queries"] + entry["passages"] == distinct_texts(data_dir, ["de"])
    assert CliRunner().invoke(cli, ["cache", "clear", "--cache-dir", str(tmp_path), "--model", "hash", "--yes"]).exit_code == 0
    assert cache_info(tmp_path) == []


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from tiny_models import _HashEncoder
    from xlir_bench.encode.cache import EmbeddingCache
    from xlir_bench.encode.cached import CachedEncoder
    texts = [f"text {{i}}" for i in range(int(sys.argv[1]), int(sys.argv[2]))]
    encoder = CachedEncoder(_HashEncoder(), EmbeddingCache({root!r}, "fp-concurrent", "hash"), chunk_texts=7)
    for _ in range(3):
        encoder.encode_passages(texts)
""")


def test_concurrent_writers_leave_a_consistent_cache(tmp_path):
    script = WRITER.format(tests=str(Path(__file__).resolve().parents[1]), root=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", script, a, b]) for a, b in (("0", "300"), ("150", "450"))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    cache = EmbeddingCache(tmp_path, "fp-concurrent", "hash")
    texts = [f"text {i}" for i in range(450)]
    found, missing = cache.get("passage", texts)
    assert missing == [] and cache.stats.rebuilt_chunks == 0
    np.testing.assert_array_equal(np.stack(found), _HashEncoder().encode_passages(texts))
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_cache_being_tagged_by_another_process_is_not_other_files(tmp_path):
    """Two runs starting on one new --cache-dir: the first one's tag is still a temporary file when the second
    looks (the race the concurrent-writers test hit under load); that is not 'a folder of other files'."""
    (tmp_path / ".CACHEDIR.TAG.k2j_x9q1.tmp").write_text("")
    EmbeddingCache(tmp_path, "fp-race", "hash")  # no error
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(XlirError, match="not an xlir-bench embedding cache"):
        EmbeddingCache(tmp_path, "fp-race", "hash")
