"""New hostile inputs of round two (kinds issue 23 did not list), one category per test; each failed before its fix.

The full table of what was tried is docs/reference/hostile-inputs-round2.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_bad_input import assert_one_error  # one definition of 'one error line, exit 2'

from xlir_bench.cli.app import cli

HERE = Path(__file__).resolve().parents[1]
MINI = ["--task", HERE / "fixtures" / "lareqa-mini.toml", "--data-dir", HERE / "fixtures" / "lareqa-mini", "-q"]


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def record(tmp_path) -> Path:
    path = tmp_path / "good.json"
    assert invoke("run", "--model", "bm25", *MINI, "--bootstrap", "0", "-o", path).exit_code == 0
    return path


# --- timing options that overflow a timer, and URLs that are no URLs -----------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [("--api-rpm", "1e-300"), ("--api-timeout", "1e300"), ("--api-timeout", "inf"), ("--api-max-wait", "1e12")],
)
def test_api_timing_options_beyond_a_timer_are_refused(tmp_path, option, value):
    result = invoke("run", "--model", "openai:m", "--api-base", "http://127.0.0.1:9/v1", option, value, *MINI,
                    "--no-cache", "-o", tmp_path / "r.json")  # fmt: skip
    assert_one_error(result, option, "not in the range")


def test_api_options_beyond_a_timer_are_refused_in_python_too():
    from xlir_bench.core.errors import XlirError
    from xlir_bench.models.api_encoder import OpenAIEncoder

    for options in ({"api_rpm": 1e-300}, {"api_timeout": float("inf")}, {"api_max_wait": 1e12}):
        with pytest.raises(XlirError, match="must be"):
            OpenAIEncoder("m", api_base="http://127.0.0.1:9/v1", **options)


def test_an_api_base_with_a_space_is_refused_without_retries(tmp_path):
    result = invoke("run", "--model", "openai:m", "--api-base", "http://127.0.0.1 :9/v1", *MINI, "--no-cache",
                    "-o", tmp_path / "r.json")  # fmt: skip
    message = assert_one_error(result, "--api-base", "no spaces")
    assert "failed" not in message


def test_a_billion_permutations_are_refused(record):
    assert_one_error(invoke("compare", record, record, "--permutations", "1000000000"), "--permutations", "1000000000")


# --- outputs that would destroy an input -----------------------------------------------------------------


@pytest.mark.parametrize("command", ["leaderboard", "report"])
def test_an_output_over_an_input_record_is_refused(record, command):
    before = record.read_bytes()
    result = invoke(command, record, "-o", record)
    assert_one_error(result, "--output", "is the input", "destroy")
    assert record.read_bytes() == before


def test_leaderboard_output_over_a_record_in_an_input_folder_is_refused(record):
    before = record.read_bytes()
    assert_one_error(invoke("leaderboard", record.parent, "-o", record), "is the input")
    assert record.read_bytes() == before


def test_an_output_ending_in_a_slash_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_one_error(invoke("run", "--model", "bm25", *MINI, "-o", "runs/"), "--output runs/", "file name")
    assert not (tmp_path / "runs").exists()


# --- records as editors and copies leave them ------------------------------------------------------------


def test_a_record_saved_with_a_bom_is_read(record, tmp_path):
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + record.read_bytes())
    result = invoke("leaderboard", bom)
    assert result.exit_code == 0, result.output


def test_a_record_without_results_is_refused(record, tmp_path):
    raw = json.loads(record.read_text())
    raw["results"] = {}
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(raw))
    for args in (["leaderboard", empty], ["report", empty, "-o", tmp_path / "r.html"]):
        assert_one_error(invoke(*args), "empty.json", "results is empty")
    assert not (tmp_path / "r.html").exists()


# --- text that reaches stderr --------------------------------------------------------------------------


def test_a_newline_in_an_output_path_is_shown_not_printed(tmp_path):
    out = tmp_path / "a\nb.json"
    result = invoke("run", "--model", "bm25", *MINI, "--bootstrap", "0", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.exists()
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("run record:")]
    assert line.endswith("a\\x0ab.json")


def test_two_thousand_unknown_languages_make_one_short_line(tmp_path):
    langs = ",".join(f"x{i}" for i in range(2000))
    message = assert_one_error(invoke("run", "--model", "bm25", *MINI, "--langs", langs, "-o", tmp_path / "r.json"))
    assert "(and 1990 more)" in message and len(message) < 300


def test_a_task_named_twice_is_evaluated_once(tmp_path, monkeypatch):
    monkeypatch.chdir(HERE)
    monkeypatch.syspath_prepend(str(HERE))
    task = str(HERE / "fixtures" / "lareqa-mini.toml")
    result = invoke("run", "--model", "py:tiny_models:_HashEncoder", "--task", f"{task},{task}", *MINI[2:],
                    "--cache-dir", tmp_path / "cache", "-o", tmp_path / "r.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["cache"]["hits"] == 0  # a second pass would read back


def test_two_runs_in_one_second_without_o_keep_both_records(tmp_path, monkeypatch):
    import datetime as real

    import xlir_bench.cli.evaluate

    class Frozen(real.datetime):  # both runs start in the same second
        @classmethod
        def now(cls, tz=None):
            return real.datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz)

    monkeypatch.setattr(xlir_bench.cli.evaluate, "datetime", Frozen)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert invoke("run", "--model", "bm25", *MINI, "--bootstrap", "0").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["bm25-20260102T030405Z-2.json", "bm25-20260102T030405Z.json"]
