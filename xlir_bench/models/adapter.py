"""A linear adapter over a frozen encoder, usable as a model: ``--model adapter:FOLDER``.

The adapter is a d x d matrix W (trained by :mod:`xlir_bench.adapter_training`,
initialised to the identity). A text's vector is the base model's vector v mapped
to W v; when the base model L2-normalises its vectors, the result is rescaled to
the base vector's own length,

    adapted(v) = W v * |v| / |W v|   (float32 arithmetic),

so inner products stay cosines (as for the base), and the identity adapter returns
the base's float32 vectors bit for bit (|v| / |v| is exactly 1). The base model's
vectors come from the embedding cache like any dense model's; the adapted vectors
are not cached (they cost one small matrix product).

A saved adapter is a folder with two files:

* ``weight.npy``   the float32 matrix W (rows: output dimensions);
* ``adapter.json`` ``{"kind": "linear", "base": MODEL, "dim": d, "normalize": bool,
  "weight_sha256": ..., "training": {...}}``: the base model as named on the command
  line, whether it normalises, the weights' digest (checked on load) and how the
  adapter was trained (options, seed, pairs, loss history).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import sha256_file, write_atomic
from xlir_bench.models.encoders import _digest

PREFIX = "adapter:"
KINDS = ("linear",)
META_FILE = "adapter.json"
WEIGHT_FILE = "weight.npy"


@dataclass(frozen=True)
class AdapterMeta:
    """What ``adapter.json`` says: kind, base model, dimension, normalisation, weight digest, training summary."""

    base: str
    dim: int
    normalize: bool
    kind: str = "linear"
    weight_sha256: str = ""
    training: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({**self.__dict__}, indent=1, sort_keys=True)


def adapt(vectors: np.ndarray, weight: np.ndarray, normalize: bool) -> np.ndarray:
    """W v for each row v (float32), rescaled to |v| when ``normalize``.

    For W = I the product is v exactly (every other term is an exact zero) and the
    rescaling factor |v| / |v| is exactly 1, so the identity adapter is the base bit for bit.
    """
    base = np.asarray(vectors, dtype=np.float32)
    mapped = base @ np.asarray(weight, dtype=np.float32).T
    if normalize:
        lengths = np.linalg.norm(mapped, axis=1, keepdims=True)
        mapped *= np.linalg.norm(base, axis=1, keepdims=True) / np.where(lengths > 0, lengths, 1.0)
    return mapped.astype(np.float32, copy=False)


def save_adapter(folder: str | os.PathLike, weight: np.ndarray, meta: AdapterMeta) -> Path:
    """Write ``weight.npy`` then ``adapter.json`` (atomic each; the JSON last, so a folder with it is whole)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weight = np.ascontiguousarray(weight, dtype=np.float32)
    buffer = _npy_bytes(weight)
    write_atomic(folder / WEIGHT_FILE, buffer)
    meta = replace(meta, dim=int(weight.shape[0]), weight_sha256=sha256_file(folder / WEIGHT_FILE))
    write_atomic(folder / META_FILE, meta.to_json())
    return folder


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def load_adapter(path: str | os.PathLike) -> tuple[np.ndarray, AdapterMeta]:
    """The weight matrix and metadata of a saved adapter folder; one ``error:`` line for anything amiss."""
    folder = Path(path).expanduser()
    where = f"--model {PREFIX}{path}"
    if not (folder / META_FILE).is_file():
        raise XlirError(f"{where}: no {META_FILE} in {folder}; give a folder written by `xlir-bench train-adapter`")
    meta = _read_meta(folder / META_FILE, where)
    try:
        weight = np.load(folder / WEIGHT_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise XlirError(f"{where}: cannot read {WEIGHT_FILE} ({exc}); train the adapter again") from exc
    if weight.shape != (meta.dim, meta.dim) or weight.dtype != np.float32 or not np.isfinite(weight).all():
        raise XlirError(
            f"{where}: {WEIGHT_FILE} is {weight.dtype} {weight.shape}, expected finite float32 ({meta.dim}, {meta.dim})"
        )
    if sha256_file(folder / WEIGHT_FILE) != meta.weight_sha256:
        raise XlirError(f"{where}: {WEIGHT_FILE} does not match the digest in {META_FILE}; train the adapter again")
    return weight, meta


def _read_meta(path: Path, where: str) -> AdapterMeta:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        meta = AdapterMeta(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise XlirError(f"{where}: {path.name} is not an adapter description ({exc}); train the adapter again") from exc
    if meta.kind not in KINDS or not isinstance(meta.base, str) or not meta.base or not isinstance(meta.dim, int):
        raise XlirError(
            f"{where}: {path.name} names kind {meta.kind!r}, base {meta.base!r}; expected kind linear and a base model"
        )
    if meta.base.startswith(PREFIX):
        raise XlirError(f"{where}: its base {meta.base} is itself an adapter; stack adapters by training over the base")
    return meta


@dataclass
class AdapterEncoder:
    """The base encoder's vectors through the adapter (see :func:`adapt`); ``base`` may be a cached encoder."""

    base: Any
    weight: np.ndarray
    meta: AdapterMeta
    path: str
    progress: bool = False

    @property
    def name(self) -> str:
        return f"{PREFIX}{Path(self.path).name}"

    @property
    def fingerprint(self) -> str:
        return _digest("adapter", self.meta.kind, self.base.fingerprint, self.meta.weight_sha256, self.meta.normalize)

    def over(self, base: Any) -> AdapterEncoder:
        """The same adapter over another encoder of the same model (e.g. the base wrapped in the cache)."""
        return replace(self, base=base)

    def encode_queries(self, texts) -> np.ndarray:
        return self._adapt(self.base.encode_queries(texts))

    def encode_passages(self, texts) -> np.ndarray:
        return self._adapt(self.base.encode_passages(texts))

    def _adapt(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.meta.dim:
            raise XlirError(
                f"--model {self.name}: base {self.meta.base} gives vectors of shape {vectors.shape}, "
                f"the adapter maps dimension {self.meta.dim}; train it over this base"
            )
        return adapt(vectors, self.weight, self.meta.normalize)


def load_adapter_encoder(spec: str, load_base, progress: bool = True) -> AdapterEncoder:
    """``adapter:FOLDER`` -> an :class:`AdapterEncoder` over ``load_base(meta.base)``."""
    path = spec[len(PREFIX) :]
    if not path:
        raise XlirError(f"--model {spec}: write it as {PREFIX}FOLDER (a folder written by `xlir-bench train-adapter`)")
    weight, meta = load_adapter(path)
    base = load_base(meta.base)
    return AdapterEncoder(base, weight, meta, path, progress)
