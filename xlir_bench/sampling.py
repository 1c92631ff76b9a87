"""Batch plans for hybrid batch training (Elmahdy, Lin and Ahmad 2024), free of torch.

A training pair has a question language X, a passage language Y and a parallel
question id. Pairs are grouped by (X, Y); a batch is cut from one group, so it is
homogeneous:

* ``mono``   every batch is one language X, question and passage both in X;
* ``cross``  every batch is one language pair X -> Y with X != Y;
* ``hybrid`` each batch is monolingual or cross-lingual, the type drawn with
  probability proportional to the number of monolingual and cross-lingual pairs
  (or ``mono_ratio``), as the paper samples by dataset size;
* ``mixed``  standard multilingual fine-tuning: all pairs shuffled together, so a
  batch mixes languages and language pairs (heterogeneous).

No batch holds two pairs of the same question id: with in-batch negatives they
would be each other's false negatives. Plans are a pure function of the pairs,
the options, the seed and the epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

STRATEGIES = ("hybrid", "mono", "cross", "mixed")


@dataclass(frozen=True)
class PairInfo:
    id: str
    query_lang: str
    passage_lang: str

    @property
    def is_mono(self) -> bool:
        return self.query_lang == self.passage_lang


def _cut(indices: list[int], pairs: Sequence[PairInfo], batch_size: int, drop_last: bool) -> list[list[int]]:
    """Greedy cut into batches without a repeated id (a pair whose id is taken waits for the next batch)."""
    batches: list[list[int]] = []
    open_batches: list[tuple[list[int], set[str]]] = []
    for index in indices:
        pair_id = pairs[index].id
        for batch, ids in open_batches:
            if pair_id not in ids:
                batch.append(index)
                ids.add(pair_id)
                break
        else:
            open_batches.append(([index], {pair_id}))
        full = [entry for entry in open_batches if len(entry[0]) == batch_size]
        batches += [batch for batch, _ in full]
        open_batches = [entry for entry in open_batches if len(entry[0]) < batch_size]
    batches += [batch for batch, _ in open_batches if not drop_last and len(batch) > 1]
    return batches


def _type_batches(pairs, groups, rng, batch_size, drop_last) -> list[list[int]]:
    batches = []
    for key in sorted(groups):
        order = list(rng.permutation(groups[key]))
        batches += _cut([int(i) for i in order], pairs, batch_size, drop_last)
    return [batches[i] for i in rng.permutation(len(batches))]


def plan_batches(
    pairs: Sequence[PairInfo],
    batch_size: int,
    strategy: str = "hybrid",
    seed: int = 0,
    epoch: int = 0,
    mono_ratio: float | None = None,
    drop_last: bool = True,
) -> list[list[int]]:
    """One epoch of batches (lists of pair indices) for ``strategy``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    rng = np.random.default_rng([seed, epoch])
    groups: dict[bool, dict[tuple[str, str], list[int]]] = {True: {}, False: {}}
    for index, pair in enumerate(pairs):
        groups[pair.is_mono].setdefault((pair.query_lang, pair.passage_lang), []).append(index)
    if strategy == "mixed":
        return _cut([int(i) for i in rng.permutation(len(pairs))], pairs, batch_size, drop_last)
    if strategy != "hybrid":
        return _type_batches(pairs, groups[strategy == "mono"], rng, batch_size, drop_last)
    n_mono = sum(map(len, groups[True].values()))
    n_cross = sum(map(len, groups[False].values()))
    p_mono = mono_ratio if mono_ratio is not None else n_mono / max(n_mono + n_cross, 1)
    streams = {kind: [] for kind in (True, False)}
    plan = []
    n_batches = max((n_mono + n_cross) // batch_size, 1)
    for _ in range(n_batches):
        kind = bool(rng.random() < p_mono) if n_mono and n_cross else bool(n_mono)
        if not streams[kind]:  # a pool ran dry: start a fresh pass over it
            streams[kind] = _type_batches(pairs, groups[kind], rng, batch_size, drop_last)
        if not streams[kind]:
            raise ValueError(
                f"too few {'monolingual' if kind else 'cross-lingual'} pairs for one batch of {batch_size}"
            )
        plan.append(streams[kind].pop())
    return plan
