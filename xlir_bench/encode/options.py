"""How the embedding cache is used, as one value object that travels from the CLI to every encoder wrapper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlir_bench.encode.cache import check_dtype, with_cache


@dataclass(frozen=True)
class CacheOptions:
    """Cache folder (None: the default), on/off, storage dtype and the name its folder is filed under."""

    dir: str | None = None
    enabled: bool = True
    dtype: str = "float32"
    name: str | None = None

    def __post_init__(self) -> None:
        check_dtype(self.dtype)

    def wrap(self, encoder: Any) -> Any:
        """``encoder`` behind the cache these options describe (itself when the cache is off)."""
        return with_cache(encoder, self.dir, use_cache=self.enabled, name=self.name, dtype=self.dtype)
