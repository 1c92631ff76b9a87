"""The parallel-sentence format (one file per language, line n parallel), built by following adding-a-format.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import xlir_bench
from xlir_bench.cli.app import cli
from xlir_bench.core.errors import XlirError
from xlir_bench.data.tasks import get_spec, load_task

TASK = str(Path(__file__).resolve().parents[1] / "fixtures" / "parallel-mini.toml")
E = np.eye(3, dtype=np.float32)
# en and fr: line n -> e_n. de: line 0 leans to e_1 and line 1 to e_0, so en->de ranks the answer of lines 0 and 1 second.
VECTORS = {
    "one cat": E[0], "two dogs": E[1], "three birds": E[2],
    "un chat": E[0], "deux chiens": E[1], "trois oiseaux": E[2],
    "eine Katze": 0.2 * E[0] + E[1], "zwei Hunde": E[0] + 0.1 * E[1], "drei Vögel": E[2],
}  # fmt: skip


class Oracle:
    name = "oracle"
    fingerprint = "oracle-parallel-mini-v1"

    def encode_queries(self, texts):
        return np.stack([VECTORS[text] for text in texts])

    encode_passages = encode_queries


def test_lines_are_queries_and_candidates_and_line_n_is_relevant_in_every_language():
    task = load_task(get_spec(TASK), ("de", "en", "fr"))
    en = task.data["en"]
    assert en.questions == en.candidates == ["one cat", "two dogs", "three birds"]
    assert en.question_ids == ["0000000", "0000001", "0000002"] and en.qrels["0000001"] == {1: 1}
    assert set(task.checksums) == {"parallel-mini/de.txt", "parallel-mini/en.txt", "parallel-mini/fr.txt"}


def test_hand_computed_map():
    """en->de: answers of lines 0 and 1 at rank 2, line 2 at rank 1: mAP (1/2 + 1/2 + 1)/3; en->fr exact: 1."""
    result = xlir_bench.evaluate(Oracle(), tasks=[TASK], use_cache=False, progress=False, bootstrap=0)
    rows = result.record["results"]["parallel-mini"]["settings"]
    settings = {(s["query_lang"], s["pool"]): s["metrics"] for s in rows}
    assert settings["en", "de"]["map"] == pytest.approx(2 / 3)
    assert settings["en", "fr"]["map"] == pytest.approx(1.0)
    assert settings["en", "de"]["mrr@10"] == pytest.approx(2 / 3)


def _task(tmp_path: Path, files: dict[str, str], extra: str = "") -> str:
    folder = tmp_path / "data"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    toml = tmp_path / "t.toml"
    toml.write_text(f'name = "t"\nformat = "parallel"\nlanguages = ["de", "en"]\nlicense = "x"\npath = "data"\n{extra}')
    return str(toml)


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        ({"en.txt": "a\nb\n", "de.txt": "a\n"}, "", r"not parallel \(de.txt 1, en.txt 2 lines\)"),
        ({"en.txt": "a\n\nb\n", "de.txt": "a\nb\nc\n"}, "", r"en.txt: line 2 is empty"),
        ({"en.txt": "a\n"}, "", r"de.txt"),
        ({"en.txt": "a\n", "de.txt": "a\n"}, 'suffix = "txt"\n', r"suffix 'txt' must be a file suffix"),
        ({"en.txt": "a\n", "de.txt": "a\n"}, 'sufix = ".txt"\n', r"unknown key 'sufix'.*did you mean 'suffix'"),
    ],
)
def test_bad_parallel_files_are_one_error_naming_the_file(tmp_path, files, extra, message):
    path = _task(tmp_path, files, extra)
    with pytest.raises(XlirError, match=message):
        load_task(get_spec(path), ("de", "en"))
    result = CliRunner().invoke(cli, ["run", "--model", "bm25", "--task", path, "-q", "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and result.stderr.count("error: ") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "r.json").exists()
