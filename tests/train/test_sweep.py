"""Training grids: checked before training, 2x2 tiny-model sweep end to end, resume after a kill, report = records."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from xlir_bench import XlirError
from xlir_bench.cli.app import cli
from xlir_bench.records.build import load_record as load_run
from xlir_bench.train.sweep import load_grid, run_sweep

pytest.importorskip("datasets")


def load_record(path):
    """The record as its JSON document (what these tests compare)."""
    return load_run(path).to_json()
pytest.importorskip("accelerate")

PAIR = (
    '{{"id": "{id}", "query_lang": "{q}", "query": "question {id}", "passage_lang": "{p}", "passage": "answer {id}"}}\n'
)
GRID = """
name = "tiny"
base = "tiny/st"
base_name = "tiny<b>|x"
baseline = "mono-s1"
perturb = ["dialect"]
permutations = 1000
device = "cpu"
eval_batch_size = 256

[train]
data = "pairs.jsonl"
strategy = ["mono", "hybrid"]
mono_ratio = 0.5
seed = [1, 2]
steps = 12
learning_rate = 5e-3
batch_size = 8
max_length = 32
warmup_ratio = 0.0
save_steps = 4
logging_steps = 4

[[eval]]
task = "xquad-slice.toml"
"""


# ---------------------------------------------------------------- grid checks (no training)


@pytest.fixture
def grid_dir(tmp_path, data_dir, monkeypatch):
    """A folder with a (never loaded) model folder, a de/es training file (4 mono + 4 cross pairs), a leaky task."""
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    leak = tmp_path / "leak"
    (leak / "qrels").mkdir(parents=True)
    (leak / "queries.jsonl").write_text("".join(f'{{"_id": "q{i}", "text": "question q{i}"}}\n' for i in range(4)))
    (leak / "corpus.jsonl").write_text("".join(f'{{"_id": "d{i}", "text": "answer q{i}"}}\n' for i in range(4)))
    (leak / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(4))
    )
    (tmp_path / "leak.toml").write_text(
        'name = "leak"\nformat = "beir"\npath = "leak"\nlanguage = "de"\nlanguages = ["de"]\nlicense = "test"\n'
    )
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "modules.json").write_text("[]")
    pairs = [PAIR.format(id=f"q{i}", q=q, p=p) for i in range(4) for q, p in (("de", "de"), ("de", "es"))]
    (tmp_path / "pairs.jsonl").write_text("".join(pairs))
    (tmp_path / "mono.jsonl").write_text("".join(PAIR.format(id=f"q{i}", q="en", p="en") for i in range(4)))
    (tmp_path / "not-a-model").mkdir()
    return tmp_path


def write_grid(folder: Path, body: str, evals: str = '[[eval]]\ntask = "xquad-r"\nlangs = ["en", "de"]\n') -> Path:
    path = folder / "grid.toml"
    path.write_text(body + "\n" + evals)
    return path


GOOD = 'base = "model"\n[train]\ndata = "pairs.jsonl"\nbatch_size = 2\nsteps = 3\n'


def test_cells_are_the_product_of_the_axes_with_derived_names(grid_dir):
    grid = load_grid(
        write_grid(
            grid_dir,
            'base = "model"\nbaseline = "hybrid-a0.50-lr1e-05-frozen-s1"\n[train]\ndata = "pairs.jsonl"\nbatch_size = 2\n'
            'strategy = ["mono", "cross", "hybrid"]\nmono_ratio = [0.25, 0.5]\nseed = [1, 2]\n'
            "learning_rate = [1e-5, 3e-5]\nfreeze_embeddings = true\n",
        )
    )
    names = [c.name for c in grid.cells]
    # mono and cross have no batch-type draw: the mono_ratio axis collapses for them (2 + 2 + 2x2) x 2 seeds.
    assert len(names) == 16 and len(set(names)) == 16
    assert names[:4] == [
        "mono-lr1e-05-frozen-s1",
        "mono-lr1e-05-frozen-s2",
        "mono-lr3e-05-frozen-s1",
        "mono-lr3e-05-frozen-s2",
    ]
    assert "hybrid-a0.25-lr3e-05-frozen-s2" in names
    cell = next(c for c in grid.cells if c.name == "hybrid-a0.25-lr3e-05-frozen-s2")
    assert cell.config == "hybrid-a0.25-lr3e-05-frozen"
    assert cell.options == {
        "strategy": "hybrid",
        "mono_ratio": 0.25,
        "seed": 2,
        "steps": 100,
        "learning_rate": 3e-5,
        "batch_size": 2,
        "max_length": 128,
        "freeze_embeddings": True,
        "warmup_ratio": 0.1,
        "loss_scale": None,  # the trainer's default (100 for E5-style models)
        "epochs": None,
        "cached_mini_batch": None,
    }


def test_grid_blocks_make_a_union(grid_dir):
    body = GOOD + '[[grid]]\nstrategy = ["mono", "hybrid"]\nmono_ratio = 0.5\nseed = [1, 2]\n'
    body += '[[grid]]\nstrategy = "hybrid"\nmono_ratio = [0.25, 0.5]\nseed = 1\n'
    grid = load_grid(write_grid(grid_dir, body))
    assert [c.name for c in grid.cells] == [
        "mono-s1",
        "mono-s2",
        "hybrid-a0.50-s1",
        "hybrid-a0.50-s2",
        "hybrid-a0.25-s1",
    ]
    assert grid.baseline == "base" and grid.train_langs == ["de", "es"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD + "seeds = [1, 2]\n", r"train\.seeds: unknown key; did you mean 'seed'\?"),
        (GOOD.replace("base =", "bsae ="), r"bsae: unknown key; did you mean 'base'\?"),
        (GOOD + "[[grid]]\nstrategies = 'mono'\n", r"grid\[1\]\.strategies: unknown key; did you mean 'strategy'\?"),
        (GOOD + "mono_ratio = 1.5\n", r"train\.mono_ratio: 1\.5 must be between 0 and 1"),
        (GOOD + "strategy = 'both'\n", r"train\.strategy: 'both' must be one of hybrid, mono, cross"),
        (GOOD.replace("steps = 3", "steps = '3'"), r"train\.steps: '3' is a str; expected an integer"),
        (GOOD.replace("steps = 3", "steps = true"), r"train\.steps: True is a bool; expected an integer"),
        (GOOD + "seed = []\n", r"train\.seed: an empty list"),
        (GOOD + "seed = [1, 1]\n", r"train\.seed: \[1, 1\] lists a value twice"),
        (GOOD.replace('"model"', '"not-a-model"'), r"base: .*not-a-model is not a sentence-transformers model folder"),
        (GOOD.replace('"model"', '"nowhere"'), r"base: .*nowhere is not a folder"),
        (GOOD.replace("pairs.jsonl", "missing.jsonl"), r"train\.data: .*missing\.jsonl: no such file"),
        (GOOD.replace('"pairs.jsonl"', '{from = "mlqa-z"}'), r"train\.data: unknown task 'mlqa-z'"),
        (
            GOOD.replace('"pairs.jsonl"', '"mono.jsonl"') + "strategy = 'cross'\n",
            r"cell cross-s42: cross batches need cross-lingual pairs .*all pairs are in one language \(en\)",
        ),
        (
            GOOD.replace('"pairs.jsonl"', '"mono.jsonl"') + "strategy = 'hybrid'\nmono_ratio = 0.5\n",
            r"cell hybrid-a0\.50-s42: hybrid batches need cross-lingual pairs",
        ),
        (GOOD.replace("batch_size = 2", "batch_size = 8"), r"cell hybrid-s42: no full batch of 8"),
        (
            GOOD + "[[grid]]\nstrategy = 'mono'\n" + "[[grid]]\nstrategy = 'mono'\nwarmup_ratio = 0.1\n",
            None,
        ),  # the same options twice are one cell, not an error
        (
            'baseline = "mono-s3"\n' + GOOD + "strategy = 'mono'\nseed = [1, 2]\n",
            r"baseline: 'mono-s3' is not a cell of the grid; did you mean 'mono-s[12]'\?",
        ),
        (GOOD + "perturb = ['dialect']\n", r"train\.perturb: unknown key"),
        ('perturb = ["typo:2"]\n' + GOOD, r"perturb: .*typo"),
        ("permutations = 10\n" + GOOD, r"permutations: 10 is too few"),
        ("base = [\n", r"not valid TOML"),
    ],
)
def test_bad_grids_are_refused_before_training(grid_dir, body, message):
    path = write_grid(grid_dir, body)
    if message is None:
        assert len(load_grid(path).cells) == 1
        return
    with pytest.raises(XlirError, match=message):
        load_grid(path)


@pytest.mark.parametrize(
    ("evals", "message"),
    [
        ("", r"eval: missing"),
        ('[[eval]]\ntask = "xquad-z"\n', r"eval\[1\]: unknown task 'xquad-z'"),
        ('[[eval]]\ntask = "xquad-r"\nlangs = ["xx"]\n', r"eval\[1\]: --langs: xx not in task xquad-r"),
        ('[[eval]]\ntask = "xquad-r"\nsettings = ["multy"]\n', r"eval\[1\]: --settings: multy is not a setting family"),
        ('[[eval]]\ntask = "xquad-r"\nseen = "yes"\n', r"eval\[1\]\.seen: 'yes' is a str; expected true or false"),
        ('[[eval]]\ntask = "xquad-r"\nlang = ["en"]\n', r"eval\[1\]\.lang: unknown key; did you mean 'langs'\?"),
        ('[[eval]]\ntask = "xquad-r"\n[[eval]]\ntask = "xquad-r"\n', r"eval\[2\]: task xquad-r is evaluated twice"),
        (
            '[[eval]]\ntask = "leak.toml"\n',
            r"eval\[1\]: 8 training questions and 8 training passages also occur in leak; .*set seen = true",
        ),
    ],
)
def test_bad_evaluations_are_refused(grid_dir, evals, message):
    with pytest.raises(XlirError, match=message):
        load_grid(write_grid(grid_dir, GOOD, evals))


def test_cli_bad_grid_is_one_error_line_and_exit_2(grid_dir):
    path = write_grid(grid_dir, GOOD + "seeds = [1]\n")
    result = CliRunner().invoke(cli, ["sweep", str(path), "--output", str(grid_dir / "out")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "did you mean 'seed'" in result.stderr
    assert not (grid_dir / "out").exists()  # nothing written
    listed = CliRunner().invoke(cli, ["sweep", str(write_grid(grid_dir, GOOD)), "--dry-run"])
    assert listed.exit_code == 0 and "hybrid-s42: strategy=hybrid" in listed.output


# ---------------------------------------------------------------- 2x2 tiny-model sweep on real data


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory, data_dir):
    """The uninterrupted sweep: mono and hybrid (α = 0.5) x seeds 1, 2 on real MLQA-R pairs, evaluated on XQuAD-R."""
    from tiny_data import mlqa_pairs, xquad_slice
    from tiny_models import build_tiny_sentence_transformer

    folder = tmp_path_factory.mktemp("sweep")
    build_tiny_sentence_transformer(folder / "tiny")
    mlqa_pairs(folder / "pairs.jsonl", data_dir)
    xquad_slice(folder, data_dir)
    (folder / "grid.toml").write_text(GRID)
    with count_training_calls():
        run_sweep(folder / "grid.toml", folder / "out", progress=False)
    return folder


@contextmanager
def count_training_calls():
    """Yields the list of cells that training.train is called for while active."""
    from xlir_bench.train import training

    cells, original = [], training.train

    def counted(base, data, output, **options):
        cells.append(Path(output).parent.name)
        return original(base, data, output, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "train", counted)
        yield cells


def test_sweep_trains_and_evaluates_every_cell(sweep_dir):
    out = sweep_dir / "out"
    manifest = json.loads((out / "sweep.json").read_text())
    cells = ["mono-s1", "mono-s2", "hybrid-a0.50-s1", "hybrid-a0.50-s2"]
    assert [c["name"] for c in manifest["plan"]["cells"]] == cells
    (session,) = manifest["sessions"]
    assert session["trained"] == cells and session["evaluated"] == ["base", *cells]
    assert session["overhead_s"] >= 0 and session["train_s"] > 0 and session["eval_s"] > 0
    for cell in cells:
        log = json.loads((out / "cells" / cell / "train" / "training_log.json").read_text())
        assert log["steps"] == 12 and log["pairs"] == {"mono": 48, "cross": 48}
        assert log["options"]["mono_ratio"] == (0.5 if cell.startswith("hybrid") else None)
        assert not list((out / "cells" / cell / "train").glob("checkpoint-*"))  # removed once final/ is saved
        state = json.loads((out / "cells" / cell / "cell.json").read_text())
        assert state["train_s"] > 0 and set(state["eval_s"]) == {"xquad-slice", "xquad-slice-perturbed"}
        record = load_record(out / "cells" / cell / "runs" / "xquad-slice.json.gz")
        assert record["model"]["name"] == f"tiny<b>|x+{cell}"
        # en, de, el: 3 mono + 6 cross + 3 multi settings of 40 questions each
        assert [s["n_queries"] for s in record["results"]["xquad-slice"]["settings"]] == [40] * 12
        perturbed = load_record(out / "cells" / cell / "runs" / "xquad-slice-perturbed.json.gz")
        assert perturbed["perturbation"]["spec"][0] == "dialect:0.03"
    base = load_record(out / "cells" / "base" / "runs" / "xquad-slice.json.gz")
    trained = load_record(out / "cells" / "mono-s1" / "runs" / "xquad-slice.json.gz")
    assert base["model"]["fingerprint"] != trained["model"]["fingerprint"]  # the cells' models did change


def test_a_rerun_skips_finished_cells(sweep_dir):
    with count_training_calls() as calls:
        done = run_sweep(sweep_dir / "grid.toml", sweep_dir / "out", progress=False, report=False)
    assert calls == [] and done["trained"] == [] and done["evaluated"] == []
    assert done["skipped"] == ["base", "mono-s1", "mono-s2", "hybrid-a0.50-s1", "hybrid-a0.50-s2"]


def test_changed_options_are_refused_on_rerun(sweep_dir, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        GRID.replace("steps = 12", "steps = 13")
        .replace('"tiny/st"', f'"{sweep_dir}/tiny/st"')
        .replace('"pairs.jsonl"', f'"{sweep_dir}/pairs.jsonl"')
        .replace('"xquad-slice.toml"', f'"{sweep_dir}/xquad-slice.toml"')
    )
    with pytest.raises(XlirError, match=r"cell mono-s1 there was made with other steps; use a new --output"):
        run_sweep(grid, sweep_dir / "out", progress=False)


def _comparable(record):
    """A record without what differs between two runs of the same model (time, versions)."""
    return {key: value for key, value in record.items() if key not in ("created", "timings", "cache", "versions")}


def test_a_killed_cell_resumes_from_its_checkpoint_and_trains_once(sweep_dir, tmp_path):
    from transformers import TrainerCallback

    class Killed(Exception):
        pass

    class KillCellTwo(TrainerCallback):
        """Raises right after the first checkpoint of the second training; counts optimizer steps."""

        def __init__(self):
            self.trainings, self.steps = 0, 0

        def on_train_begin(self, args, state, control, **kwargs):
            self.trainings += 1

        def on_step_end(self, args, state, control, **kwargs):
            self.steps += 1

        def on_save(self, args, state, control, **kwargs):
            if self.trainings == 2 and state.global_step == 4:
                raise Killed

    work = tmp_path / "work"
    shutil.copytree(sweep_dir, work, ignore=shutil.ignore_patterns("out"))
    hook = KillCellTwo()
    with count_training_calls() as first, pytest.raises(Killed):
        run_sweep(work / "grid.toml", work / "out", progress=False, callbacks=[hook])
    cell_two = work / "out" / "cells" / "mono-s2"
    assert first == ["mono-s1", "mono-s2"] and hook.steps == 12 + 4
    assert [p.name for p in (cell_two / "train").glob("checkpoint-*")] == ["checkpoint-4"]
    assert not (cell_two / "runs").exists() and not (cell_two / "train" / "final").exists()
    (interrupted,) = json.loads((work / "out" / "sweep.json").read_text())["sessions"]
    assert interrupted["interrupted"].startswith("Killed") and interrupted["trained"] == ["mono-s1"]

    counter = KillCellTwo()
    counter.trainings = 10  # never kills
    with count_training_calls() as second:
        done = run_sweep(work / "grid.toml", work / "out", progress=False, callbacks=[counter], report=False)
    assert second == ["mono-s2", "hybrid-a0.50-s1", "hybrid-a0.50-s2"]  # no cell twice
    assert counter.steps == (12 - 4) + 12 + 12  # cell 2 resumed at step 4: every step trained exactly once
    assert done["skipped"] == ["base", "mono-s1"]
    for cell in ("mono-s1", "mono-s2", "hybrid-a0.50-s1", "hybrid-a0.50-s2"):
        for run in ("xquad-slice", "xquad-slice-perturbed"):
            resumed = load_record(work / "out" / "cells" / cell / "runs" / f"{run}.json.gz")
            straight = load_record(sweep_dir / "out" / "cells" / cell / "runs" / f"{run}.json.gz")
            assert _comparable(resumed) == _comparable(straight), (cell, run)


# ---------------------------------------------------------------- report


def test_report_numbers_are_the_records(sweep_dir):
    out = sweep_dir / "out"
    summary = json.loads((out / "report.json").read_text())
    task = summary["tasks"]["xquad-slice"]
    records = {
        cell: load_record(out / "cells" / cell / "runs" / "xquad-slice.json.gz")
        for cell in ("base", "mono-s1", "mono-s2", "hybrid-a0.50-s1", "hybrid-a0.50-s2")
    }
    for cell, record in records.items():
        macro = record["results"]["xquad-slice"]["macro"]
        assert task["cells"][cell]["map"] == {f: macro[f]["map"] for f in ("mono", "cross", "multi")}
        assert task["cells"][cell]["rank_distance"] == macro["multi"]["rank_distance"]
    for config, seeds, alpha in (
        ("mono", ("mono-s1", "mono-s2"), 1.0),
        ("hybrid-a0.50", ("hybrid-a0.50-s1", "hybrid-a0.50-s2"), 0.5),
    ):
        entry = task["configs"][config]
        assert entry["cells"] == list(seeds) and entry["alpha"] == alpha
        for family in ("mono", "cross", "multi"):
            values = [records[s]["results"]["xquad-slice"]["macro"][family]["map"] for s in seeds]
            got = entry["map"][family]
            assert got["kind"] == "min-max" and got["low"] == min(values) and got["high"] == max(values)
            assert got["mean"] == pytest.approx(sum(values) / 2, abs=1e-15)
    # seen = de (in the de/es training pairs); unseen = en, el (XQuAD-R languages the training never saw)
    assert task["seen_langs"] == ["de"] and task["unseen_langs"] == ["el", "en"]
    by_lang = records["mono-s1"]["results"]["xquad-slice"]["by_query_lang"]
    assert task["cells"]["mono-s1"]["unseen"]["multi"] == pytest.approx(
        (by_lang["en"]["multi"]["map"] + by_lang["el"]["multi"]["map"]) / 2, abs=1e-15
    )
    assert task["cells"]["mono-s1"]["seen"]["cross"] == by_lang["de"]["cross"]["map"]
    perturbed = load_record(out / "cells" / "hybrid-a0.50-s1" / "runs" / "xquad-slice-perturbed.json.gz")
    assert (
        task["cells"]["hybrid-a0.50-s1"]["robustness"]["multi"]["ratio"]
        == (perturbed["robustness"]["xquad-slice"]["macro"]["multi"]["map"])
    )
    # significance compares configurations (all their seeds), not checkpoints: a Welch test over training runs
    sig = task["significance"]["hybrid-a0.50"]
    cross = {
        side: [records[c]["results"]["xquad-slice"]["macro"]["cross"]["map"] for c in (f"{side}-s1", f"{side}-s2")]
        for side in ("mono", "hybrid-a0.50")
    }
    row = sig["families"]["cross"]
    assert sig["seeds"] == [2, 2] and row["test"] == "welch"
    assert row["baseline"] == pytest.approx(np.mean(cross["mono"]), abs=1e-6)
    assert row["delta"] == pytest.approx(np.mean(cross["hybrid-a0.50"]) - np.mean(cross["mono"]), abs=1e-6)
    welch = stats.ttest_ind(cross["hybrid-a0.50"], cross["mono"], equal_var=False).pvalue
    assert row["p"] == pytest.approx(welch, rel=1e-3)
    assert "mono" not in task["significance"] and "mono-s1" not in task["significance"]

    markdown = (out / "report.md").read_text()
    mono = task["configs"]["mono"]["map"]["multi"]
    assert f"{mono['mean']:.4f} \\[{mono['low']:.4f}, {mono['high']:.4f}\\]" in markdown
    assert "tiny\\<b\\>\\|x" in markdown and "tiny<b>" not in markdown
    page = (out / "report.html").read_text()
    assert "tiny&lt;b&gt;|x" in page and "<b>" not in page
    assert page.count("data:image/png;base64,") == 2  # mAP and rank distance against α
    assert (out / "report" / "xquad-slice-map.png").stat().st_size > 1000


def test_sweep_report_command_rewrites_the_same_report(sweep_dir, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(sweep_dir / "out", copy)
    (copy / "report.json").unlink()
    result = CliRunner().invoke(cli, ["sweep-report", str(copy)])
    assert result.exit_code == 0, result.stderr
    assert json.loads((copy / "report.json").read_text()) == json.loads((sweep_dir / "out" / "report.json").read_text())
    missing = CliRunner().invoke(cli, ["sweep-report", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not a sweep output folder" in missing.stderr


def test_interval_kinds():
    from xlir_bench.train.sweep_report import interval

    assert interval([0.5]) == {"mean": 0.5, "low": None, "high": None, "n": 1, "kind": "single"}
    three = interval([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.302653 -> half width 4.302653 / sqrt(3) = 2.484138
    assert three["kind"] == "t95" and three["low"] == pytest.approx(2 - 2.484138, abs=1e-6)
    assert np.isclose(three["high"], 2 + 2.484138, atol=1e-6)


def test_frozen_embeddings_stay_and_the_models_prompts_are_trained_with(tmp_path, data_dir):
    from safetensors.torch import load_file
    from sentence_transformers import SentenceTransformer
    from tiny_data import mlqa_pairs
    from tiny_models import build_tiny_sentence_transformer

    from xlir_bench.train.training import train

    model = SentenceTransformer(str(build_tiny_sentence_transformer(tmp_path / "tiny")), device="cpu")
    model.prompts = {"query": "query: ", "passage": "passage: "}  # as an e5 folder declares them
    model.save(str(tmp_path / "prompted"))
    pairs = mlqa_pairs(tmp_path / "pairs.jsonl", data_dir)
    options = dict(strategy="mono", batch_size=8, learning_rate=5e-3, max_steps=3, max_length=32, device="cpu")
    log = train(str(tmp_path / "prompted"), str(pairs), str(tmp_path / "out"), freeze_embeddings=True, **options)
    assert log["options"]["prompts"] == {"anchor": "query: ", "positive": "passage: "}
    before = load_file(tmp_path / "prompted" / "model.safetensors")
    after = load_file(tmp_path / "out" / "final" / "model.safetensors")
    (embedding,) = [k for k in before if k.endswith("word_embeddings.weight")]
    assert (before[embedding] == after[embedding]).all()
    assert not (
        before["encoder.layer.0.attention.self.query.weight"] == after["encoder.layer.0.attention.self.query.weight"]
    ).all()


def test_a_seen_evaluation_may_share_the_training_texts(grid_dir):
    grid = load_grid(write_grid(grid_dir, GOOD, '[[eval]]\ntask = "leak.toml"\nseen = true\n'))
    assert [(e.task, e.seen) for e in grid.evals] == [("leak", True)]


def test_a_record_of_another_perturbation_or_selection_is_not_finished(sweep_dir):
    from xlir_bench.train.sweep import record_is_valid

    runs = sweep_dir / "out" / "cells" / "mono-s1" / "runs"
    spec = {"task": "xquad-slice", "langs": None, "settings": ["mono", "cross", "multi"]}
    planned = {"spec": ["dialect:0.03"], "seed": 0}
    assert record_is_valid(runs / "xquad-slice.json.gz", "tiny<b>|x+mono-s1", spec, None)
    assert record_is_valid(runs / "xquad-slice-perturbed.json.gz", "tiny<b>|x+mono-s1", spec, planned)
    assert not record_is_valid(
        runs / "xquad-slice-perturbed.json.gz", "tiny<b>|x+mono-s1", spec, {**planned, "seed": 1}
    )
    assert not record_is_valid(runs / "xquad-slice.json.gz", "tiny<b>|x+mono-s1", {**spec, "langs": ["en"]}, None)
    assert not record_is_valid(runs / "xquad-slice.json.gz", "tiny<b>|x+mono-s2", spec, None)
    assert not record_is_valid(runs / "missing.json.gz", "tiny<b>|x+mono-s1", spec, None)


def test_seen_split_is_a_table_only_when_both_sides_have_languages():
    from xlir_bench.train.sweep_render import _seen_blocks

    macro = {"mono": None, "cross": None, "multi": None}
    configs = {"mono": {"seen": macro, "unseen": macro}}
    both = _seen_blocks({"seen_langs": ["de"], "unseen_langs": ["el", "en"], "configs": configs})
    assert [block[0] for block in both] == ["h", "p", "table"]
    assert both[2][1][1:] == [f"{s} {f}" for s in ("seen", "unseen") for f in ("mono", "cross", "multi")]
    # MLQA-R after training on MLQA-R pairs: every query language was seen, the split would repeat the table
    all_seen = _seen_blocks({"seen_langs": ["de", "en"], "unseen_langs": [], "configs": configs})
    assert all_seen == [("p", "Query languages seen in the training pairs: de, en.")]
