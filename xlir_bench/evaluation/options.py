"""What to evaluate and how, as one value object; unknown option names are refused with a did-you-mean."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.core.options import suggestion
from xlir_bench.data.selection import Selection
from xlir_bench.encode.options import CacheOptions
from xlir_bench.models.registry import find_adapter
from xlir_bench.search.blocks import BlockSizes


@dataclass
class EvalOptions:
    """What to evaluate and how; ``model_options`` go to the model's adapter (batch size, device, prompts ...)."""

    tasks: Sequence[str] | None = None
    settings: Sequence[str] | str | None = None
    langs: Sequence[str] | None = None
    data_dir: str | None = None
    depth: int = 0  # > 0: keep each setting's top-depth ranking for TREC run files
    progress: bool = True
    name: str | None = None
    cache_dir: str | None = None
    use_cache: bool = True
    cache_dtype: str = "float32"  # storage of cached vectors: float32 or float16 (half the memory, rounded)
    perturb: Sequence[str] | None = None
    perturb_seed: int = 0
    index: str = "flat"
    ann_depth: int = 1000
    bootstrap: int = 1000  # resamples of the family-macro intervals; 0 turns them off
    bootstrap_seed: int = 0
    sample_articles: int = 0  # > 0: only the questions and candidate pools of this many sampled articles
    sample_seed: int = 0
    cluster: str | None = None  # resampling unit of the intervals: article, paragraph, question (None: the task's default)
    provenance: dict[str, Any] | None = None  # the command that made the run (records.provenance), stored in the record
    blocks: BlockSizes = field(default_factory=BlockSizes)  # exact scoring's block sizes (tests pass small ones)
    model_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> EvalOptions:
        """Known option names become fields; the rest are the model's options (checked when the model is built)."""
        known = {f.name for f in fields(cls)} - {"model_options"}
        options = cls(**{k: v for k, v in kwargs.items() if k in known})
        options.model_options = {k: v for k, v in kwargs.items() if k not in known}
        return options

    @property
    def selection(self) -> Selection:
        return Selection(self.tasks, self.langs, self.settings, self.data_dir)

    @property
    def cache(self) -> CacheOptions:
        return CacheOptions(self.cache_dir, self.use_cache, self.cache_dtype, self.name)


def check_model_options(model: Any, options: EvalOptions) -> None:
    """An option that is neither evaluate()'s nor the model adapter's is an error with a did-you-mean."""
    given = {key: value for key, value in options.model_options.items() if value is not None}
    if not given:
        return
    known = {f.name for f in fields(EvalOptions)} - {"model_options"}
    adapter = find_adapter(model).options if isinstance(model, str) else ()
    api_elsewhere = isinstance(model, str)  # api_* options on another model: load_model names the fix
    unknown = next((k for k in given if k not in adapter and not (api_elsewhere and k.startswith("api_"))), None)
    if unknown is not None:
        where = f"model {model}" if isinstance(model, str) else f"a {type(model).__name__} object"
        raise XlirError(
            f"evaluate(): unknown option {unknown!r}{suggestion(unknown, known | set(adapter))} "
            f"(options of evaluate(): {', '.join(sorted(known))}; of {where}: {', '.join(adapter) or 'none'})"
        )
