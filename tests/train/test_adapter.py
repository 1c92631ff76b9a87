"""The linear adapter as a model (``--model adapter:FOLDER``) and its training, on hand-checkable fixtures.

The evaluation fixture is tests/evaluation/test_fixture_pipeline.py's two-language LAReQA task and
hand encoder (its vectors are listed there; its numbers computed by hand there): the
identity adapter must give exactly its numbers, and a map that drops the two language
dimensions gives the numbers computed below.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_fixture_pipeline import EXPECTED_MAP, EXPECTED_RANK_DISTANCE, MIRROR, TASK

import xlir_bench
from xlir_bench.cli.app import cli
from xlir_bench.models.adapter import AdapterMeta, adapt, load_adapter, save_adapter

BASE = "py:test_fixture_pipeline:factory"


def _save(folder: Path, weight, normalize: bool = False) -> str:
    save_adapter(folder, np.asarray(weight, np.float32), AdapterMeta(base=BASE, dim=len(weight), normalize=normalize))
    return f"adapter:{folder}"


def _evaluate(model: str):
    result = xlir_bench.evaluate(model, tasks=[TASK], data_dir=MIRROR, use_cache=False, progress=False, bootstrap=0)
    return {f"{s.query_lang}->{s.pool}": s.metrics for s in result.run.results["lareqa-mini"].settings}


def test_identity_adapter_gives_the_base_numbers_exactly(tmp_path):
    adapted = _evaluate(_save(tmp_path / "identity", np.eye(6)))
    base = _evaluate(BASE)
    assert adapted == base
    for key, value in EXPECTED_MAP.items():
        assert adapted[key]["map"] == pytest.approx(value, abs=1e-6), key
    assert adapted["en->all"]["rank_distance"] == EXPECTED_RANK_DISTANCE["en->all"]


# W = diag(1, 1, 1, 1, 0, 0) drops the language dimensions (english, german): raw inner products
# en q1 [.5, 0, 1, 0] -> all: en2 1, de2 .6, en0 .5, de0 .3   answers en0, de0 at 3 and 4: AP (1/3 + 2/4)/2, distance 1
# en q2 [0, 0, .5, 1] -> all: en3 1, de3 .6, en2 .5           answers at 1 and 2: AP 1, distance 1
# de q1 [1, 0, .2, 0] -> all: en0 1, de0 .6                    answers at 1 and 2: AP 1, distance 1
# de q2 = en q2's vector: AP 1, distance 1
# en q1 -> en: en2 1, en0 .5: AP 1/2; en q2 -> en: en3 first: AP 1
DROP_LANGUAGE = {"en->all": ((1 / 3 + 2 / 4) / 2 + 1) / 2, "de->all": 1.0, "en->en": 0.75, "de->de": 1.0}


def test_a_known_map_gives_the_hand_computed_numbers(tmp_path):
    adapted = _evaluate(_save(tmp_path / "drop", np.diag([1, 1, 1, 1, 0, 0])))
    for key, value in DROP_LANGUAGE.items():
        assert adapted[key]["map"] == pytest.approx(value, abs=1e-12), key
    assert adapted["en->all"]["rank_distance"] == 1.0
    assert adapted["de->all"]["rank_distance"] == 1.0


def test_adapt_maps_and_keeps_the_base_length():
    vectors = np.array([[3.0, 4.0], [1.0, 0.0]], np.float32)
    weight = np.array([[2.0, 0.0], [0.0, 1.0]], np.float32)
    assert adapt(vectors, weight, normalize=False).tolist() == [[6.0, 4.0], [2.0, 0.0]]
    kept = adapt(vectors, weight, normalize=True)
    np.testing.assert_allclose(kept[0], np.array([6.0, 4.0]) * 5 / np.sqrt(52), rtol=1e-6)
    np.testing.assert_allclose(kept[1], [1.0, 0.0], rtol=1e-7)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert np.array_equal(adapt(unit, np.eye(2), normalize=True), unit)  # identity: bit for bit


def test_saved_adapter_round_trips_and_refuses_tampering(tmp_path):
    folder = tmp_path / "a"
    _save(folder, np.eye(6) * 2)
    weight, meta = load_adapter(folder)
    assert meta.base == BASE and meta.dim == 6 and np.array_equal(weight, np.eye(6, dtype=np.float32) * 2)
    np.save(folder / "weight.npy", np.eye(6, dtype=np.float32))
    result = CliRunner().invoke(
        cli, ["run", "--model", f"adapter:{folder}", "--task", TASK, "--data-dir", MIRROR, "-q"]
    )
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "does not match the digest" in result.output


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--scale", "0"], "--scale 0.0: must be > 0"),
        (["--strategy", "mono", "--mono-ratio", "0.5"], "--mono-ratio: only for --strategy hybrid"),
        (["--mono-ratio", "1.5"], "--mono-ratio 1.5: must be between 0 and 1"),
        (["--epochs", "0"], "--epochs 0: must be at least 1"),
        (["--base", "adapter:x"], "an adapter cannot be the base"),
        (["--train-data", "missing.jsonl"], "no such file"),
    ],
)
def test_train_adapter_option_errors_are_one_line(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    Path("pairs.jsonl").write_text(_pairs_jsonl())
    base = ["train-adapter", "--base", BASE, "--train-data", "pairs.jsonl", "--output", "out", "-q"]
    result = CliRunner().invoke(cli, base + args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert not Path("out").exists()


def test_model_adapter_errors_are_one_line(tmp_path):
    for spec, expected in (
        (f"adapter:{tmp_path / 'none'}", "no adapter.json"),
        ("adapter:", "write it as adapter:FOLDER"),
    ):
        result = CliRunner().invoke(cli, ["run", "--model", spec, "--task", TASK, "--data-dir", MIRROR, "-q"])
        assert result.exit_code == 2 and result.output.strip().count("\n") == 0 and expected in result.output


def _pairs_jsonl() -> str:
    from xlir_bench.data.tasks import load_selection
    from xlir_bench.train.training import build_pairs

    (task,) = load_selection([TASK], None, MIRROR)
    return "".join(json.dumps(p) + "\n" for p in build_pairs(task))


def _loss(vectors_q, vectors_p, scale):
    """In-batch negatives cross-entropy, numpy: the second implementation of the training loss."""
    q = vectors_q / np.linalg.norm(vectors_q, axis=1, keepdims=True)
    p = vectors_p / np.linalg.norm(vectors_p, axis=1, keepdims=True)
    logits = scale * q @ p.T
    logits -= logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - np.diag(logits)))


@pytest.mark.heavy
def test_train_adapter_saves_a_loadable_adapter_with_the_first_loss_by_hand(tmp_path, monkeypatch):
    from test_fixture_pipeline import VECTORS

    from xlir_bench.train.adapter_training import PairVectors, epoch_plans
    from xlir_bench.train.sampling import PairInfo

    monkeypatch.chdir(tmp_path)
    Path("pairs.jsonl").write_text(_pairs_jsonl())
    args = ["train-adapter", "--base", BASE, "--train-data", "pairs.jsonl", "--output", "out", "--batch-size", "2"]
    args += ["--strategy", "mono", "--seed", "3", "--lr", "1e-9", "--epochs", "2", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    meta = json.loads(Path("out/adapter.json").read_text())
    assert meta["base"] == BASE and meta["normalize"] is False and meta["training"]["options"]["seed"] == 3
    assert meta["training"]["options"]["scale"] == 100.0 and meta["training"]["batches"] == {
        "mono": 4,
        "cross": 0,
        "mixed": 0,
    }
    # the first step's loss at W = I, recomputed with numpy from the hand vectors and the sampler's plan
    pairs = [json.loads(line) for line in Path("pairs.jsonl").read_text().splitlines()]
    info = [PairInfo(p["id"], p["query_lang"], p["passage_lang"]) for p in pairs]
    plan = epoch_plans(PairVectors(None, None, None, None, info), _options(meta))[0]
    first = plan[0]
    q = np.array([VECTORS[pairs[i]["query"]] for i in first], np.float32)
    p = np.array([VECTORS[pairs[i]["passage"]] for i in first], np.float32)
    training = meta["training"]
    assert training["steps"] == 4 and training["history"][0]["step"] == 4
    losses = [
        _loss(
            np.array([VECTORS[pairs[i]["query"]] for i in b], np.float32),
            np.array([VECTORS[pairs[i]["passage"]] for i in b], np.float32),
            100.0,
        )
        for e in epoch_plans(PairVectors(None, None, None, None, info), _options(meta))
        for b in e
    ]
    assert training["history"][0]["loss"] == pytest.approx(np.mean(losses), rel=1e-4)
    assert _loss(q, p, 100.0) == pytest.approx(losses[0])
    adapted = _evaluate("adapter:out")
    assert adapted["en->all"]["map"] == pytest.approx(_evaluate(BASE)["en->all"]["map"], abs=1e-6)


def _options(meta):
    from xlir_bench.train.adapter_training import AdapterTrainOptions

    return AdapterTrainOptions(**meta["training"]["options"])


def _random_pairs(n_ids: int = 24, langs=("en", "de", "el"), seed: int = 0):
    from xlir_bench.train.adapter_training import PairVectors
    from xlir_bench.train.sampling import PairInfo

    rng = np.random.default_rng(seed)
    info = [PairInfo(f"q{i}", x, y) for i in range(n_ids) for x in langs for y in langs]
    queries = rng.standard_normal((len(info), 8)).astype(np.float32)
    passages = (queries + 0.5 * rng.standard_normal(queries.shape)).astype(np.float32)
    rows = np.arange(len(info))
    return PairVectors(queries, passages, rows, rows, info)


@pytest.mark.heavy
def test_side_by_side_training_equals_torch_adam_alone():
    """train_many (K arms in one tensor, Adam written out) against one torch.optim.Adam loop per arm."""
    import torch
    import torch.nn.functional as F

    from xlir_bench.train.adapter_training import AdapterTrainOptions, epoch_plans, learning_rate_at, train_many

    vectors = _random_pairs()
    arms = [
        AdapterTrainOptions(strategy="hybrid", mono_ratio=0.0, batch_size=4, learning_rate=1e-2, seed=1, epochs=2),
        AdapterTrainOptions(strategy="mono", batch_size=4, learning_rate=3e-3, seed=2, scale=20.0),
        AdapterTrainOptions(strategy="mixed", batch_size=4, learning_rate=1e-2, seed=3),
    ]
    trained = train_many(vectors, arms)
    for options, (weight, _) in zip(arms, trained, strict=True):
        plan = [b for p in epoch_plans(vectors, options) for b in p]
        w = torch.nn.Parameter(torch.eye(8))
        adam = torch.optim.Adam([w], lr=options.learning_rate)
        for step, batch in enumerate(plan):
            adam.param_groups[0]["lr"] = learning_rate_at(step, len(plan), options)
            q = F.normalize(torch.from_numpy(vectors.queries[batch]) @ w.T, dim=1)
            p = F.normalize(torch.from_numpy(vectors.passages[batch]) @ w.T, dim=1)
            loss = F.cross_entropy(options.scale * q @ p.T, torch.arange(len(batch)))
            adam.zero_grad()
            loss.backward()
            adam.step()
        np.testing.assert_allclose(weight, w.detach().numpy(), atol=2e-5)
        assert not np.allclose(weight, np.eye(8), atol=1e-3)  # it did train


def test_adapter_grid_option_errors_are_one_line(tmp_path):
    grid = Path(__file__).resolve().parents[2] / "experiments" / "adapter-stage1.toml"
    for args, expected in ((["--evals", "nope"], "--evals nope"), (["--seeds", "x"], "--seeds x")):
        result = CliRunner().invoke(
            cli, ["adapter-grid", str(grid), "-o", str(tmp_path / "o"), "--adapters", str(tmp_path / "a"), *args]
        )
        assert result.exit_code == 2 and result.output.strip().count("\n") == 0 and expected in result.output
        assert not (tmp_path / "o").exists()
