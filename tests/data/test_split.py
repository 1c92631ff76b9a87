"""Article splits: training pairs from some articles, the held-out task on the others, nothing shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import LanguageData
from xlir_bench.data.split import make_split, read_split, restrict
from xlir_bench.data.tasks import get_spec, load_selection
from xlir_bench.train.sweep import load_grid

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "experiments" / "hybrid-v2"
HELDOUT = STUDY / "mlqa-r-heldout.toml"


def test_restrict_keeps_the_chosen_candidates_and_reindexes_judgements_by_hand():
    # 5 candidates in 3 paragraphs; keep candidates 1, 3, 4 (paragraphs 0, 2) and question b only.
    data = LanguageData(
        "de",
        ["a", "b"],
        ["qa?", "qb?"],
        ["c0", "c1", "c2", "c3", "c4"],
        ["s0", "s1", "s2", "s3", "s4"],
        {"a": {0: 1}, "b": {3: 1}},
        [0, 0, 1, 2, 2],
        ["P0", "P1", "P2"],
    )
    out = restrict(data, [False, True, False, True, True], {"b"})
    assert out.candidate_ids == ["c1", "c3", "c4"]
    assert out.questions == ["qb?"] and out.qrels == {"b": {1: 1}}  # old index 3 -> new 1
    assert out.paragraph_of == [0, 1, 1] and out.paragraphs == ["P0", "P2"]


def test_make_split_is_pinned_by_its_seed_and_partitions_the_articles():
    raw = {"data": [{"title": f"t{i}", "paragraphs": []} for i in range(10)]}
    one, two = make_split("x", {}, raw, 0.6, 7), make_split("x", {}, raw, 0.6, 7)
    assert one == two and len(one.train) == 6 and len(one.heldout) == 4
    assert sorted(one.train + one.heldout) == list(range(10))
    assert make_split("x", {}, raw, 0.6, 8).train != one.train


def test_a_split_file_that_does_not_partition_is_refused(tmp_path):
    bad = {
        "task": "mlqa-r",
        "seed": 0,
        "train_share": 0.6,
        "files": {},
        "titles": ["a", "b"],
        "train": [0],
        "heldout": [0],
    }
    (tmp_path / "s.json").write_text(json.dumps(bad))
    with pytest.raises(XlirError, match="partition"):
        read_split(tmp_path / "s.json")


def _article_of_question(data_dir: Path) -> dict[str, int]:
    """A second reading of the English file: question id -> index of its article."""
    raw = json.loads((data_dir / "mlqa-r" / "en.json").read_text(encoding="utf-8"))
    return {qa["id"]: i for i, a in enumerate(raw["data"]) for p in a["paragraphs"] for qa in p["qas"]}


def _training_candidate_ids(data_dir: Path, lang: str, train: set[int], article_of: dict[str, int]) -> set[str]:
    """Candidate ids (``lang-pNNNNN-sNNN``) of every sentence whose article asks a training article's question."""
    raw = json.loads((data_dir / "mlqa-r" / f"{lang}.json").read_text(encoding="utf-8"))
    ids, p_index = set(), 0
    for article in raw["data"]:
        in_train = any(article_of[qa["id"]] in train for p in article["paragraphs"] for qa in p["qas"])
        for paragraph in article["paragraphs"]:
            if in_train:
                ids |= {f"{lang}-p{p_index:05d}-s{s:03d}" for s in range(len(paragraph["sentences"]))}
            p_index += 1
    return ids


@pytest.mark.realdata
def test_heldout_pools_hold_no_sentence_of_a_training_article(data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    split = read_split(STUDY / "split.json")
    (task,) = load_selection([str(HELDOUT)])
    article_of = _article_of_question(data_dir)
    pairs = load_grid(STUDY / "study.toml", check_base=False).pairs  # the training pairs the study's grid builds from the split
    assert {article_of[p["id"]] for p in pairs} <= set(split.train)
    passages, queries = {p["passage"] for p in pairs}, {p["query"] for p in pairs}
    for lang, data in task.data.items():
        assert not set(data.candidate_ids) & _training_candidate_ids(data_dir, lang, set(split.train), article_of)
        assert not set(data.candidates) & passages and not set(data.questions) & queries
        assert {article_of[qid] for qid in data.question_ids} <= set(split.heldout)


@pytest.mark.realdata
def test_the_adapter_grids_training_pairs_never_touch_the_heldout_pools(data_dir, monkeypatch):
    """Stage 1 (experiments/adapter-stage1.toml) builds its pairs itself: none from a held-out article or pool."""
    from xlir_bench.train.adapter_grid import load_grid as load_adapter_grid
    from xlir_bench.train.adapter_grid import training_pairs

    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    grid = load_adapter_grid(REPO / "experiments" / "adapter-stage1.toml")
    assert grid.train_split == (STUDY / "split.json").resolve()
    split, article_of = read_split(STUDY / "split.json"), _article_of_question(data_dir)
    pairs = training_pairs(grid)
    assert {article_of[p["id"]] for p in pairs} <= set(split.train) and len(pairs) == 9762
    (task,) = load_selection([str(HELDOUT)])
    passages, queries = {p["passage"] for p in pairs}, {p["query"] for p in pairs}
    for data in task.data.values():
        assert not set(data.candidates) & passages and not set(data.questions) & queries


@pytest.mark.realdata
def test_train_and_heldout_sides_add_up_to_lareqa_published_counts(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("XLIR_BENCH_DATA", str(data_dir))
    train_file = tmp_path / "train.toml"
    train_file.write_text(
        HELDOUT.read_text()
        .replace('part = "heldout"', 'part = "train"')
        .replace('split = "split.json"', f'split = "{STUDY / "split.json"}"')
    )
    (held,), (train,) = load_selection([str(HELDOUT)]), load_selection([str(train_file)])
    published = get_spec("mlqa-r").counts  # LAReQA's README: questions and candidates per language
    for lang, counts in published.items():
        assert len(held.data[lang].questions) + len(train.data[lang].questions) == counts["questions"]
        assert len(held.data[lang].candidates) + len(train.data[lang].candidates) == counts["candidates"]
    assert 0.55 < len(read_split(STUDY / "split.json").train) / 520 < 0.65


def test_split_task_names_its_missing_split_file(tmp_path):
    task = tmp_path / "t.toml"
    task.write_text(HELDOUT.read_text().replace('split = "split.json"', 'split = "nope.json"'))
    with pytest.raises(XlirError, match="nope.json: no such file"):
        load_selection([str(task)], data_dir=tmp_path)
