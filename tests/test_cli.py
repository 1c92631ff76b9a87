"""CLI: a good run, and every bad input ends with one line, exit code 2 and no run record."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from xlir_bench.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def assert_refused(result, *culprits, out_dir=None):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for culprit in culprits:
        assert culprit in lines[0]
    if out_dir is not None:
        assert not any(out_dir.rglob("*.json")), "a run record was written despite the error"


def test_tasks_lists_setting_counts_and_sizes():
    result = invoke("tasks")
    assert result.exit_code == 0
    assert "11 mono + 110 cross + 11 multi" in result.output
    assert "7 mono + 42 cross + 7 multi" in result.output
    assert "852" in result.output and "6264" in result.output


def test_run_writes_a_record_and_prints_a_table(data_dir, tmp_path):
    out = tmp_path / "out" / "bm25.json"
    result = invoke(
        "run",
        "--model",
        "bm25",
        "--task",
        "xquad-r",
        "--langs",
        "en,de",
        "--data-dir",
        data_dir,
        "--output",
        out,
        "--trec-dir",
        tmp_path / "trec",
        "--depth",
        "5",
    )
    assert result.exit_code == 0, result.output
    assert "mono" in result.output and "rank dist" in result.output
    record = json.loads(out.read_text())
    assert record["model"]["name"] == "bm25"
    assert len((tmp_path / "trec" / "xquad-r.en-all.run").read_text().splitlines()) == 1190 * 5


def test_json_flag_prints_the_record(data_dir, tmp_path):
    result = invoke(
        "run",
        "-m",
        "bm25",
        "--task",
        "mlqa-r",
        "--langs",
        "es,vi",
        "--settings",
        "cross",
        "--data-dir",
        data_dir,
        "-o",
        tmp_path / "r.json",
        "--json",
    )
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert [s["pool"] for s in record["results"]["mlqa-r"]["settings"]] == ["vi", "es"]


def test_default_output_path(data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "run", "-m", "bm25", "--task", "xquad-r", "--langs", "tr", "--settings", "mono", "--data-dir", data_dir, "-q"
    )
    assert result.exit_code == 0
    (record,) = (tmp_path / "runs").glob("bm25-*.json")
    assert json.loads(record.read_text())["results"]["xquad-r"]["macro"]["mono"]["map"] > 0.5


@pytest.mark.parametrize(
    ("args", "culprits"),
    [
        (["--task", "squad"], ["unknown task 'squad'"]),
        (["--task", "xquad-r", "--langs", "en,xx"], ["--langs", "xx"]),
        (["--task", "xquad-r", "--settings", "mono,bilingual"], ["--settings", "bilingual"]),
        (["--task", "xquad-r", "--langs", "en", "--settings", "cross"], ["empty selection"]),
        (
            ["--task", "xquad-r", "--langs", "en", "--model", "./no/such/model"],
            ["--model ./no/such/model", "does not exist"],
        ),
        (
            ["--task", "xquad-r", "--langs", "en", "--model", "py:tiny_models:MismatchedEncoder"],
            ["dimensional", "nothing was cached"],
        ),
        (["--task", "xquad-r", "--langs", "en", "--model", "py:tiny_models:NaNEncoder"], ["NaN", "xquad-r/en"]),
        (["--task", "xquad-r", "--langs", "en", "--model", "py:tiny_models:Missing"], ["cannot import Missing"]),
    ],
)
def test_bad_input_is_refused(data_dir, tmp_path, args, culprits):
    result = invoke("run", "--model", "bm25", *args, "--data-dir", data_dir, "-o", tmp_path / "out" / "r.json", "-q")
    assert_refused(result, *culprits, out_dir=tmp_path / "out")


def run_on_mirror(mirror, tmp_path, langs):
    """``run`` with BM25 on a damaged copy of the mirror; the record would go to tmp_path/out."""
    args = ["run", "-m", "bm25", "--task", "xquad-r", "--langs", langs, "--data-dir", mirror]
    return invoke(*args, "-o", tmp_path / "out" / "r.json")


def test_missing_language_file(mirror_copy, tmp_path):
    (mirror_copy / "xquad-r" / "el.json").unlink()
    assert_refused(run_on_mirror(mirror_copy, tmp_path, "el,en"), "el.json", "missing", out_dir=tmp_path / "out")


def test_corrupt_json(mirror_copy, tmp_path):
    path = mirror_copy / "xquad-r" / "en.json"
    path.write_bytes(path.read_bytes()[:5000])
    result = run_on_mirror(mirror_copy, tmp_path, "en")
    assert_refused(result, "en.json", "not valid JSON", "truncated or corrupt", out_dir=tmp_path / "out")


def test_checksum_mismatch(mirror_copy, tmp_path):
    path = mirror_copy / "xquad-r" / "de.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["version"] = "tampered"
    path.write_text(json.dumps(raw), encoding="utf-8")
    result = run_on_mirror(mirror_copy, tmp_path, "de")
    assert_refused(result, "de.json", "sha256", "not the published version", out_dir=tmp_path / "out")


def test_data_dir_that_does_not_exist(tmp_path):
    result = invoke(
        "run", "-m", "bm25", "--task", "xquad-r", "--data-dir", tmp_path / "nowhere", "-o", tmp_path / "out" / "r.json"
    )
    assert_refused(result, "--data-dir", "nowhere", out_dir=tmp_path / "out")
