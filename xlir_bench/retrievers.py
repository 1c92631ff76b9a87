"""Retrievers: what the pipeline asks of a system, apart from how it represents text.

An :class:`~xlir_bench.encoders.Encoder` turns texts into vectors; a
:class:`Retriever` turns a language's texts into *representations* (once per
run) and a pool's passage representations into a :class:`~xlir_bench.index.PoolIndex`
that scores queries. Dense retrieval is an encoder plus a FAISS index
(:class:`DenseRetriever`); BM25 is a tokenizer plus an inverted index
(:class:`xlir_bench.lexical.BM25Retriever`). An API encoder, a Ray-backed
encoder or a cached encoder plug in as the encoder of a ``DenseRetriever``;
a system with its own index (a learned sparse model, a server) implements
``Retriever`` itself. The pipeline never probes attributes to tell them apart.
(MTEB keeps EncoderProtocol and SearchProtocol apart for the same reason; BEIR
has BaseSearch.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .constants import INDEX_KINDS
from .encoders import Wraps, as_matrix
from .errors import XlirError
from .index import ApproximateIndex, DenseIndex, PoolIndex, join_rows


@runtime_checkable
class Retriever(Protocol):
    """Represent texts once per language, index pools, score queries against a pool."""

    name: str

    @property
    def fingerprint(self) -> str: ...

    def represent_queries(self, texts: Sequence[str]) -> Any: ...

    def represent_passages(self, texts: Sequence[str]) -> Any: ...

    def check(self, where: str, queries: Any, passages: Any) -> None:
        """Refuse representations the scorer cannot use (one line naming ``where``)."""

    def build_index(self, parts: Sequence[Any]) -> PoolIndex:
        """One pool's index from the passage representations of its languages, in order."""

    def describe(self) -> dict[str, Any]:
        """What the run record says about this retriever beyond its name and fingerprint."""


class DenseRetriever(Wraps):
    """An encoder (any object with the encoder protocol) and a FAISS index: exact flat, or HNSW/IVF."""

    def __init__(self, encoder: Any, index: str = "flat", ann_depth: int = 1000) -> None:
        if index not in INDEX_KINDS:
            raise XlirError(f"--index {index}: choose one of {', '.join(INDEX_KINDS)}")
        self.encoder = encoder
        self.index = index
        self.ann_depth = ann_depth

    @property
    def max_tokens(self) -> int:
        return int(
            getattr(self.encoder, "max_tokens", None)
            or getattr(getattr(self.encoder, "encoder", None), "max_tokens", None)
            or 512
        )

    def represent_queries(self, texts: Sequence[str]) -> np.ndarray:
        return as_matrix(self.encoder.encode_queries(texts), len(texts), "encode_queries")

    def represent_passages(self, texts: Sequence[str]) -> np.ndarray:
        return as_matrix(self.encoder.encode_passages(texts), len(texts), "encode_passages")

    def check(self, where: str, queries: np.ndarray, passages: np.ndarray) -> None:
        if queries.shape[1] == 0 or passages.shape[1] == 0:
            raise XlirError(f"{where}: the embeddings have dimension 0; the encoder must return vectors with values")
        if queries.shape[1] != passages.shape[1]:
            raise XlirError(
                f"{where}: query embeddings have shape {queries.shape} but passage embeddings {passages.shape}; "
                "query and passage encoders must share one dimension"
            )
        for role, matrix in (("query", queries), ("passage", passages)):
            if not np.isfinite(matrix).all():
                raise XlirError(
                    f"{where}: {role} embeddings contain NaN or inf; check the checkpoint (fp16 overflow?) or run on float32"
                )

    def build_index(self, parts: Sequence[np.ndarray]) -> PoolIndex:
        embeddings = join_rows(parts)  # the union of views of one matrix: no copy
        return DenseIndex(embeddings) if self.index == "flat" else ApproximateIndex(embeddings, self.index)

    def describe(self) -> dict[str, Any]:
        return {"kind": "dense", "index": self.index, **({"depth": self.ann_depth} if self.index != "flat" else {})}
