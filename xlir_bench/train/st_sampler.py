"""The sentence-transformers face of :mod:`xlir_bench.train.sampling` (imports torch; loaded only by training).

A module-level class, so the trainer can pickle its arguments into checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence

from sentence_transformers.base.sampler import DefaultBatchSampler

from xlir_bench.train.sampling import PairInfo, plan_batches


class StrategyBatchSampler(DefaultBatchSampler):
    """Yields the batches of :func:`plan_batches` for the trainer's current epoch."""

    def __init__(
        self,
        dataset,
        batch_size,
        drop_last,
        valid_label_columns=None,
        generator=None,
        seed=0,
        *,
        pairs: Sequence[PairInfo],
        strategy: str,
        mono_ratio: float | None = None,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, valid_label_columns, generator, seed)
        self.pairs, self.strategy, self.mono_ratio = list(pairs), strategy, mono_ratio

    def _plan(self, epoch: int) -> list[list[int]]:
        return plan_batches(
            self.pairs, self.batch_size, self.strategy, self.seed, epoch, self.mono_ratio, self.drop_last
        )

    def __iter__(self):
        yield from self._plan(getattr(self, "epoch", 0))

    def __len__(self) -> int:
        return len(self._plan(0))
