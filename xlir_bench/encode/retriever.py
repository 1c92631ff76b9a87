"""A model name or object -> a retriever; dense ones are wrapped in the embedding cache."""

from __future__ import annotations

from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.encode.fusion import is_fusion, load_fused
from xlir_bench.encode.options import CacheOptions
from xlir_bench.models.adapter import AdapterEncoder
from xlir_bench.models.encoders import Encoder
from xlir_bench.models.registry import load_model
from xlir_bench.models.retrievers import DenseRetriever, Retriever


def load_retriever(model: Any, options: Any) -> Retriever:
    """A retriever for ``model``: a name, an encoder object or a retriever; dense ones go through the cache.

    ``options`` is an :class:`~xlir_bench.evaluation.pipeline.EvalOptions` (index, cache, name, progress, model options).
    """
    if is_fusion(model):
        return load_fused(model, options, load_retriever)
    found = load_model(model, progress=options.progress, options=options.model_options) if isinstance(model, str) else model
    if isinstance(found, Retriever) and not isinstance(found, DenseRetriever):
        if options.index != "flat":
            raise XlirError(f"--index {options.index}: model {found.name} has its own index; use --index flat")
        return found
    encoder = found.encoder if isinstance(found, DenseRetriever) else found
    fingerprint = getattr(encoder, "fingerprint", None)
    if not isinstance(fingerprint, str) or not isinstance(getattr(encoder, "name", None), str):
        raise XlirError(
            f"--model: {type(encoder).__name__}'s name and fingerprint must be strings "
            f"(got {type(getattr(encoder, 'name', None)).__name__} and {type(fingerprint).__name__})"
        )
    if not isinstance(encoder, Encoder):
        raise XlirError(
            f"--model: {type(encoder).__name__} is neither an encoder (name, fingerprint, encode_queries, "
            "encode_passages) nor a retriever"
        )
    if isinstance(encoder, AdapterEncoder):  # the base model's vectors are cached, the adapted ones are not
        base = CacheOptions(options.cache.dir, options.cache.enabled, options.cache.dtype).wrap(encoder.base)
        return DenseRetriever(encoder.over(base), options.index, options.ann_depth)
    encoder = options.cache.wrap(encoder)
    return DenseRetriever(encoder, options.index, options.ann_depth)
