"""What a run covers: tasks, languages, setting families and the data mirror, as one value object."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xlir_bench.core.constants import DEFAULT_TASKS


@dataclass(frozen=True)
class Selection:
    """The tasks, languages (None: all), setting families (None: all) and local data mirror of a run."""

    tasks: Sequence[str] | None = None
    langs: Sequence[str] | None = None
    settings: Sequence[str] | str | None = None
    data_dir: str | None = None

    @property
    def task_names(self) -> Sequence[str]:
        return self.tasks or DEFAULT_TASKS
