"""Round two of bad input (issue 23): each category ends in one `error:` line naming the culprit and the fix,
exit 2, no traceback and nothing written outside what the user chose, or in a documented `warning:`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlir_bench.cli import cli

HERE = Path(__file__).parent
MINI_TASK, MINI_DATA = HERE / "fixtures" / "lareqa-mini.toml", HERE / "fixtures" / "lareqa-mini"


def invoke(*args: object, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def assert_one_error(result, *culprits: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for culprit in culprits:
        assert culprit in errors[0], (culprit, errors[0])
    return errors[0]


def mini_run(*args: object, encoder: str = "_HashEncoder"):
    """The hash encoder of tiny_models on the two-language mini fixture (run from tests/, where py: finds it)."""
    return invoke("run", "--model", f"py:tiny_models:{encoder}", "--task", MINI_TASK, "--data-dir", MINI_DATA, "-q", *args)


@pytest.fixture
def in_tests(monkeypatch):
    monkeypatch.chdir(HERE)
    monkeypatch.syspath_prepend(str(HERE))


# --- 2. a cache folder is only ever a new, empty or xlir-bench folder --------------------------------


@pytest.mark.parametrize("command", ["run", "encode"])
def test_cache_dir_of_other_files_is_never_tagged(tmp_path, in_tests, command):
    home = tmp_path / "home"
    (home / "thesis").mkdir(parents=True)
    (home / "thesis" / "ch1.tex").write_text("x")
    if command == "run":
        result = mini_run("--cache-dir", home, "-o", tmp_path / "r.json")
    else:
        result = invoke("encode", "--model", "py:tiny_models:_HashEncoder", "--task", MINI_TASK, "--data-dir", MINI_DATA,
                        "-q", "--cache-dir", home)  # fmt: skip
    assert_one_error(result, str(home), "not an xlir-bench embedding cache", "new or empty folder")
    assert sorted(p.name for p in home.iterdir()) == ["thesis"]
    assert not (tmp_path / "r.json").exists()


def test_new_and_empty_cache_folders_are_tagged(tmp_path, in_tests):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "new"):
        assert mini_run("--cache-dir", folder, "-o", tmp_path / f"{folder.name}.json").exit_code == 0
        assert (folder / "CACHEDIR.TAG").is_file()


# --- 3. two language selections of the same files are the same data ----------------------------------


@pytest.fixture
def two_selections(tmp_path, in_tests):
    paths = {}
    for langs in ("de,en", "en"):
        paths[langs] = tmp_path / f"{langs.replace(',', '-')}.json"
        assert mini_run("--langs", langs, "--bootstrap", "0", "-o", paths[langs]).exit_code == 0
    return paths


def test_compare_other_language_selection_names_the_languages(two_selections):
    result = invoke("compare", two_selections["de,en"], two_selections["en"])
    error = assert_one_error(result, "languages de en vs en", "--allow-mismatch")
    assert "sha256" not in error


def test_compare_other_language_selection_with_allow_mismatch_compares_the_shared_settings(two_selections):
    result = invoke("compare", two_selections["de,en"], two_selections["en"], "--allow-mismatch")
    assert result.exit_code == 0, result.output
    # en->en is shared; en->multi pools {de, en} in one record and {en} in the other, so it is another setting
    assert "compared the 1 common settings only" in result.output
    assert "lareqa-mini:en->en" in result.output and "en->multi" not in result.output


def test_leaderboard_names_each_tables_languages(two_selections):
    result = invoke("leaderboard", two_selections["de,en"], two_selections["en"])
    assert result.exit_code == 0, result.output
    headings = [line for line in result.stdout.splitlines() if line.startswith("## ")]
    assert len(headings) == 2 and "languages de, en," in headings[0] + headings[1] and "languages en," in headings[0] + headings[1]
    assert "2 different language selections" in result.stderr
    assert "versions of the data" not in result.stderr


# --- 5. a task language without rows; 10. duplicate ids in a big file, empty query texts --------------


def beir_task(folder: Path, languages: list[str], queries: list[tuple[str, str, str]], docs=None) -> Path:
    """A BEIR folder with a ``lang`` field per row; ``queries`` as (id, text, lang); every query judges d-<lang>."""
    (folder / "data" / "qrels").mkdir(parents=True)
    docs = docs or [(f"d-{lang}", f"text {lang}", lang) for lang in sorted({q[2] for q in queries})]
    rows = [json.dumps({"_id": i, "text": t, "lang": lang}) for i, t, lang in docs]
    (folder / "data" / "corpus.jsonl").write_text("\n".join(rows) + "\n")
    rows = [json.dumps({"_id": i, "text": t, "lang": lang}) for i, t, lang in queries]
    (folder / "data" / "queries.jsonl").write_text("\n".join(rows) + "\n")
    qrels = "".join(f"{i}\td-{lang}\t1\n" for i, _, lang in queries)
    (folder / "data" / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels)
    toml = folder / "t.toml"
    toml.write_text(f'name = "t"\nlicense = "x"\nlanguages = {json.dumps(languages)}\nformat = "beir"\npath = "data"\n')
    return toml


@pytest.mark.parametrize("languages", [["en", "fr"], ["en", *(f"x{i}" for i in range(3001))]])
def test_a_listed_language_without_rows_is_named(tmp_path, languages):
    toml = beir_task(tmp_path, languages, [("q1", "cat", "en")])
    result = invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", tmp_path / "r.json")
    assert_one_error(result, "data", f"language {languages[1]} is listed in the task file", "0 queries and 0 documents")
    assert not (tmp_path / "r.json").exists()


def test_a_repeated_query_id_in_a_big_file_is_reported_fast(tmp_path):
    queries = [(f"q{i}", f"question {i}", "en") for i in range(60_000)] + [("q7", "again", "en")]
    toml = beir_task(tmp_path, ["en"], queries)
    start = time.monotonic()
    result = invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", tmp_path / "r.json")
    assert_one_error(result, "language en", "query ids q7 occur twice")
    assert time.monotonic() - start < 30  # counting with list.count took 80 s


def test_empty_query_texts_are_evaluated_with_a_warning(tmp_path):
    toml = beir_task(tmp_path, ["en"], [("q1", "cat", "en"), ("q2", "  ", "en"), ("q3", "", "en")])
    result = invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert "warning: language en: 2 queries have empty text (ids q2, q3)" in result.stderr
