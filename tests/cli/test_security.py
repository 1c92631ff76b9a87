"""Nothing a task file, a record or a cache path can do may read, write or delete outside what the user chose."""

from __future__ import annotations

import gzip
import io
import json
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

import xlir_bench
from xlir_bench.cli.app import cli
from xlir_bench.cli.evaluate import _default_output
from xlir_bench.data.lareqa import DataSource, fetch_file
from xlir_bench.data.tasks import get_spec, load_spec, load_task
from xlir_bench.encode.admin import cache_clear, cache_info
from xlir_bench.encode.cache import TAG_NAME, EmbeddingCache
from xlir_bench.records.build import EvaluationResult
from xlir_bench.records.schema import RunRecord

SHA_OF_NOTHING = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the embedding cache -------------------------------------------------------------------------


@pytest.fixture
def personal_folder(tmp_path) -> Path:
    home = tmp_path / "home"
    (home / "projects" / "thesis").mkdir(parents=True)
    (home / "projects" / "thesis" / "chapter1.tex").write_text("\\chapter{One}")
    (home / "photos").mkdir()
    (home / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return home


def test_cache_clear_on_a_folder_that_is_not_a_cache_deletes_nothing(personal_folder):
    before = snapshot(personal_folder)
    result = invoke("cache", "clear", "--cache-dir", personal_folder, "--yes")
    assert result.exit_code == 2 and "not an xlir-bench embedding cache" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(personal_folder) == before
    assert invoke("cache", "info", "--cache-dir", personal_folder).exit_code == 2
    assert snapshot(personal_folder) == before


def test_cache_clear_leaves_foreign_folders_inside_a_real_cache(tmp_path):
    root = tmp_path / "cache"
    EmbeddingCache(root, "fp-a", "model-a").put("query", ["x"], np.ones((1, 4), np.float32))
    EmbeddingCache(root, "fp-b", "model-b").put("query", ["x"], np.ones((1, 4), np.float32))
    (root / "notes").mkdir()
    (root / "notes" / "todo.txt").write_text("keep me")
    (root / "fp-b" / "mine.txt").write_text("a user's file inside a model folder")
    assert (root / TAG_NAME).is_file()
    cleared = cache_clear(root)
    assert cleared.removed == ["fp-a"]
    assert sorted(cleared.untouched) == ["fp-b", "notes"]
    assert not (root / "fp-a").exists()
    assert (root / "notes" / "todo.txt").read_text() == "keep me"
    assert (root / "fp-b" / "mine.txt").exists() and any((root / "fp-b").glob("query-*.keys"))


def test_cache_info_and_clear_survive_corrupt_chunks_and_metadata(tmp_path):
    root = tmp_path / "cache"
    cache = EmbeddingCache(root, "fp-c", "model-c")
    cache.put("passage", ["a", "b"], np.ones((2, 4), np.float32))
    cache.put("passage", ["c"], np.ones((1, 4), np.float32))
    chunks = sorted((root / "fp-c").glob("passage-*.keys"), key=lambda p: len(np.load(p)["keys"]))
    chunks[1].write_bytes(b"truncated")  # the two-text chunk
    (root / "fp-c" / "model.json").write_text("{not json")
    (entry,) = cache_info(root)
    assert entry["damaged_chunks"] == 1 and entry["passages"] == 1 and not entry["metadata_ok"]
    result = invoke("cache", "info", "--cache-dir", root)
    assert result.exit_code == 0 and "damaged" in result.stderr
    assert invoke("cache", "clear", "--cache-dir", root, "--yes").exit_code == 0
    assert [p.name for p in root.iterdir()] == [TAG_NAME]


def test_cache_files_are_group_readable_and_fingerprints_cannot_escape(tmp_path):
    root = tmp_path / "cache"
    cache = EmbeddingCache(root, "../../escaped", "evil")
    cache.put("query", ["x"], np.ones((1, 4), np.float32))
    assert cache.folder.parent == root and not (tmp_path.parent / "escaped").exists()
    (chunk,) = cache.folder.glob("query-*.keys")
    assert chunk.stat().st_mode & 0o040
    assert not list(cache.folder.glob(".*.tmp"))


# --- task files: reads and writes stay inside their root -----------------------------------------


def _lareqa_task(folder: Path, path: str, url: str = "https://example.invalid/{lang}.json", sha: str = "0" * 64):
    folder.mkdir(parents=True, exist_ok=True)
    toml = folder / "evil.toml"
    toml.write_text(
        'name = "evil"\nlicense = "none"\nlanguages = ["en"]\n'
        f'url_template = "{url}"\n[files]\nen = {{ path = "{path}", sha256 = "{sha}" }}\n'
    )
    return load_spec(toml)


@pytest.mark.parametrize("path", ["../outside.json", "/etc/passwd", "xquad-r/../../outside.json", "~/x.json"])
def test_task_file_paths_cannot_leave_the_data_root(tmp_path, path):
    root = tmp_path / "mirror"
    root.mkdir()
    (tmp_path / "outside.json").write_text("{}")
    spec = _lareqa_task(tmp_path / "tasks", path)
    with pytest.raises(xlir_bench.XlirError, match="absolute path|leads outside"):
        load_task(spec, ("en",), DataSource(root, download=False, origin="--data-dir"))


def test_symlink_out_of_the_data_root_is_refused(tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    (tmp_path / "secret.json").write_text("{}")
    (root / "link.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(xlir_bench.XlirError, match="leads outside"):
        fetch_file(DataSource(root, download=False, origin="--data-dir"), "link.json", "https://x/y", "0" * 64)


def test_only_https_downloads_and_nothing_is_fetched_otherwise(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: asked.append(url))
    with pytest.raises(xlir_bench.XlirError, match="https"):  # refused when the task file is read
        _lareqa_task(tmp_path / "tasks", "en.json", url="file:///etc/{lang}")
    root = tmp_path / "download"
    with pytest.raises(xlir_bench.XlirError, match="only https"):  # and by the downloader itself
        fetch_file(DataSource(root, download=True, origin="cache"), "en.json", "file:///etc/passwd", "0" * 64)
    assert asked == [] and not root.exists()


def test_a_download_with_the_wrong_checksum_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: io.BytesIO(b'{"data": []}'))
    spec = _lareqa_task(tmp_path / "tasks", "sub/dir/en.json", sha=SHA_OF_NOTHING)
    root = tmp_path / "download"
    root.mkdir()
    with pytest.raises(xlir_bench.XlirError, match="nothing was kept"):
        load_task(spec, ("en",), DataSource(root, download=True, origin="cache"))
    assert list(root.rglob("*")) == []  # no file, no .part, no empty folders


def test_beir_path_cannot_leave_the_task_file_folder(tmp_path):
    (tmp_path / "tasks").mkdir()
    toml = tmp_path / "tasks" / "b.toml"
    toml.write_text('name = "b"\nlicense = "x"\nlanguages = ["en"]\nformat = "beir"\npath = "../elsewhere"\n')
    with pytest.raises(xlir_bench.XlirError, match="leads outside"):
        load_task(load_spec(toml), ("en",))


def test_a_task_file_cannot_shadow_a_builtin_task(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "x.toml").write_text(
        'name = "xquad-r"\nlicense = "x"\nlanguages = ["en"]\nformat = "beir"\npath = "data"\n'
    )
    monkeypatch.setenv("XLIR_BENCH_TASKS", str(folder))
    with pytest.raises(xlir_bench.XlirError, match="already defined"):
        get_spec("xquad-r")
    with pytest.raises(xlir_bench.XlirError, match="already defined"):
        get_spec(str(folder / "x.toml"))
    monkeypatch.setenv("XLIR_BENCH_OVERRIDE_TASKS", "1")
    assert get_spec("xquad-r").format == "beir"


# --- names that become file names ----------------------------------------------------------------


def test_trec_file_names_cannot_escape_the_trec_folder(tmp_path):
    setting = SimpleNamespace(query_lang="../../..", pool="/etc/evil")
    outcome = SimpleNamespace(
        setting=setting,
        scores=SimpleNamespace(query_ids=["q1"]),
        top=np.array([["d1"]]),
        top_scores=np.array([[1.0]]),
        qrels={"q1": {"d1": 1}},
    )
    result = EvaluationResult(RunRecord("m", "", {}, {}), outcomes={"../../task": [outcome]})
    folder = tmp_path / "trec"
    written = result.write_trec(folder)
    assert len(written) == 2
    assert all(path.resolve().parent == folder.resolve() for path in written)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written)


def test_default_output_name_stays_in_runs():
    for model in ("../../etc/passwd", "/abs/model", "a/b/../c", "..", "name with spaces|pipes"):
        path = _default_output(model)
        assert path.parent == Path("runs") and ".." not in path.parts and "/" not in path.name


# --- HTML and Markdown injection -----------------------------------------------------------------


@pytest.fixture
def hostile_record(tmp_path) -> Path:
    settings = [
        {
            "query_lang": "<img src=x onerror=alert(1)>",
            "pool": "en",
            "family": "mono",
            "n_queries": 1,
            "metrics": {"map": 0.5},
            "per_query": {"qid": ["q"], "map": [0.5]},
        }
    ]
    record = {
        "schema_version": 1,
        "created": "<b>2026</b>",
        "model": {"name": "<script>alert(1)</script>|x\n# heading", "fingerprint": "<i>fp</i>"},
        "data": {"<task>": {"<file>": "<sha>"}},
        "versions": {"<pkg>": "<v>"},
        "timings": {"total_s": 1.0},
        "encode_calls": {},
        "results": {"<task>": {"macro": {"mono": {"map": 0.5}, "<family>": {"map": 0.5}}, "by_query_lang": {}, "settings": settings}},
    }
    path = tmp_path / "hostile.json.gz"
    path.write_bytes(gzip.compress(json.dumps(record).encode()))
    return path


def test_report_escapes_every_string_from_the_record(hostile_record, tmp_path):
    out = tmp_path / "report.html"
    result = invoke("report", hostile_record, "-o", out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    for raw in ("<script>", "<img src=x", "<b>2026", "<task>", "<family>", "<i>fp", "<pkg>", "<file>"):
        assert raw not in page, raw
    assert "&lt;script&gt;" in page


def test_leaderboard_escapes_markdown_and_html(hostile_record, tmp_path):
    md = invoke("leaderboard", hostile_record)
    assert md.exit_code == 0, md.output
    lines = md.output.splitlines()
    row = next(line for line in lines if "alert" in line)
    assert "\\|x" in row and "<script>" not in md.output
    assert not any(line.startswith("# heading") for line in lines)
    assert all(
        line.count("|") - line.count("\\|") == row.count("|") - row.count("\\|")
        for line in lines
        if line.startswith("|")
    )
    page = invoke("leaderboard", hostile_record, "--format", "html").output
    assert "<script>" not in page and "&lt;script&gt;" in page
