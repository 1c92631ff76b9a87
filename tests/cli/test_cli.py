"""CLI: a good run, and every bad input ends with one line, exit code 2 and no run record."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli


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
            ["shape", "one dimension"],
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


def _all_commands(group, prefix=()):
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_every_option_has_help_text():
    import click

    missing = [
        f"{' '.join(path)} {param.opts[0]}"
        for path, command in _all_commands(cli)
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert missing == []


def test_ctrl_c_exits_130_with_one_line_saying_what_was_kept(monkeypatch, tmp_path):
    import xlir_bench.cli.evaluate as cli_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "evaluate", interrupted)
    result = CliRunner().invoke(cli, ["run", "-q", "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 130
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "resumes" in lines[0] and "cache" in lines[0]
    assert not (tmp_path / "r.json").exists()


def test_the_plan_is_printed_before_encoding(data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    args = ["run", "--model", "py:tiny_models:CountingHashEncoder", "--task", "xquad-r", "--langs", "en,de",
            "--data-dir", str(data_dir), "--cache-dir", str(tmp_path / "c"), "-o", str(tmp_path / "r.json")]  # fmt: skip
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "xquad-r: 2 languages (de,en), 2 mono + 2 cross + 2 multi settings" in first.stderr
    distinct = 2 * 1190 + 1180 + 1276 - 0  # questions are distinct per language; candidates as the README counts
    line = next(line for line in first.stderr.splitlines() if "distinct texts" in line)
    total = int(line.split()[0])
    assert total <= distinct and "0 already cached" in line and f"{total} to encode" in line
    second = CliRunner().invoke(cli, [*args, "--overwrite"])  # the same -o again
    assert f"{total} already cached" in second.stderr and "0 to encode" in second.stderr


def test_leaderboard_works_from_an_installed_copy(monkeypatch, tmp_path):
    """After `pip install .` there is no checkout: the shipped runs come from package data."""
    import xlir_bench.records.store as lb

    monkeypatch.setattr(lb, "__file__", str(tmp_path / "site-packages" / "xlir_bench" / "records" / "store.py"))
    import importlib.resources

    packaged = tmp_path / "packaged"
    packaged.mkdir()
    (packaged / "x.json").write_text("{}")
    monkeypatch.setattr(importlib.resources, "files", lambda name: packaged if name.endswith("leaderboard_runs") else None)
    assert lb.default_runs_folder() == packaged
