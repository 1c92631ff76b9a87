"""Hybrid batch training: fine-tune a sentence-transformers model with mono, cross or hybrid batches.

Training data is a JSONL file, one question-answer pair per line::

    {"id": "5a8d7bf7...", "query_lang": "de", "query": "Wer ...?", "passage_lang": "en", "passage": "The ..."}

``id`` is the parallel question id: pairs that share it are translations of one
question, and the sampler keeps them out of each other's batches. ``build_pairs``
makes such a file from a LAReQA task (every question paired with its answer
sentence, or paragraph, in every language that has it).

The loss is MultipleNegativesRankingLoss (in-batch negatives); batches come from
:mod:`xlir_bench.sampling`. Needs the ``train`` extra (torch, sentence-transformers,
datasets, accelerate).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .errors import XlirError
from .files import iter_jsonl, write_atomic
from .sampling import STRATEGIES, PairInfo, plan_batches
from .tasks import Task

PAIR_FIELDS = ("id", "query_lang", "query", "passage_lang", "passage")
LANGUAGE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def build_pairs(task: Task, context: bool = False) -> list[dict[str, str]]:
    """Every (question in X, its answer in Y) pair of a task, for all X, Y holding the question."""
    pairs = []
    for query_lang in task.langs:
        source = task.data[query_lang]
        for qid, question in zip(source.question_ids, source.questions, strict=True):
            for passage_lang in task.langs:
                target = task.data[passage_lang]
                if qid not in target.answer_of:
                    continue
                answer = target.answer_of[qid]
                passage = target.paragraphs[target.paragraph_of[answer]] if context else target.candidates[answer]
                pairs.append(
                    {
                        "id": qid,
                        "query_lang": query_lang,
                        "query": question,
                        "passage_lang": passage_lang,
                        "passage": passage,
                    }
                )
    return pairs


def write_pairs(pairs: Iterable[dict[str, str]], path: str | Path) -> Path:
    return write_atomic(path, "".join(json.dumps(pair, ensure_ascii=False) + "\n" for pair in pairs))


def read_pairs(path: str | Path) -> list[dict[str, str]]:
    """Load and check a training JSONL; a bad line is named with its number."""
    path = Path(path)
    if not path.exists():
        raise XlirError(f"--train-data {path}: no such file; make one with `xlir-bench train-data`")
    pairs = []
    for number, pair in iter_jsonl(path, "training JSONL"):
        missing = [name for name in PAIR_FIELDS if not isinstance(pair.get(name), str) or not pair[name]]
        if missing:
            raise XlirError(
                f"{path}:{number}: missing or empty {', '.join(missing)}; each line needs {', '.join(PAIR_FIELDS)}"
            )
        bad = [k for k in ("query_lang", "passage_lang") if not LANGUAGE_CODE.fullmatch(pair[k])]
        if bad:
            raise XlirError(f"{path}:{number}: {bad[0]} {pair[bad[0]]!r} is not a language code (letters, digits, _ -)")
        pairs.append(pair)
    if len(pairs) < 2:
        raise XlirError(f"{path}: {len(pairs)} pairs; in-batch negatives need at least two")
    return pairs


def check_model_folder(base: str) -> None:
    """Refuse a ``--base`` that is not a model folder before any training starts."""
    path = Path(base)
    if not path.exists():
        raise XlirError(f"--base {base}: path does not exist; give a sentence-transformers folder")
    if not path.is_dir() or not any((path / name).is_file() for name in ("modules.json", "config.json")):
        raise XlirError(
            f"--base {base}: not a model folder (no modules.json or config.json); give a sentence-transformers folder"
        )


def overlap_warning(pairs: Sequence[dict[str, str]], task: Task) -> str | None:
    """A warning when training texts also occur in an evaluation task (a leak, unless intended)."""
    eval_texts = {text for data in task.data.values() for text in (*data.questions, *data.candidates)}
    queries = sum(pair["query"] in eval_texts for pair in pairs)
    passages = sum(pair["passage"] in eval_texts for pair in pairs)
    if queries or passages:
        return (
            f"{queries} training questions and {passages} training passages also occur in {task.name}; "
            "its results are not zero-shot"
        )
    return None


def train(
    base: str,
    train_data: str,
    output: str,
    strategy: str = "hybrid",
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    epochs: float = 1.0,
    max_steps: int = -1,
    warmup_ratio: float = 0.1,
    max_length: int = 128,
    mono_ratio: float | None = None,
    seed: int = 42,
    device: str | None = None,
    logging_steps: int = 10,
    freeze_embeddings: bool = False,
    save_steps: int | None = None,
    resume: bool = False,
    callbacks: Sequence[Any] | None = None,
    loss_scale: float | None = None,
    cached_mini_batch: int | None = None,
    dev: Any = None,
    dev_steps: int = 0,
) -> dict[str, Any]:
    """Fine-tune ``base`` on ``train_data``; saves checkpoints, ``final/`` and ``training_log.json`` in ``output``.

    ``freeze_embeddings`` keeps the token-embedding matrix fixed (only the encoder
    layers learn). ``save_steps`` checkpoints every that many steps (default: once
    at the end); ``resume`` continues from the newest checkpoint in ``output`` when
    there is one, so an interrupted run does not repeat finished steps. ``callbacks``
    are extra ``transformers.TrainerCallback`` objects.

    ``loss_scale`` is the inverse temperature of the in-batch softmax (default:
    :func:`default_loss_scale`); ``cached_mini_batch`` switches to
    ``CachedMultipleNegativesRankingLoss`` (GradCache: the same loss, big batches in
    small memory). ``dev`` (a :class:`~xlir_bench.dev_curve.DevSet`) is scored before
    training, every ``dev_steps`` steps and at the end: the log's ``dev_curve``.
    """
    skip = ("base", "train_data", "output", "callbacks", "resume", "dev")
    options = {k: v for k, v in locals().items() if k not in skip}
    modules = _training_modules()
    check_model_folder(base)
    pairs, info, kinds = _checked_pairs(train_data, strategy, batch_size, seed, mono_ratio)
    model = _load_base(base, device, max_length, freeze_embeddings)
    prompts = training_prompts(model)
    dataset = modules["Dataset"].from_dict(
        {"anchor": [p["query"] for p in pairs], "positive": [p["passage"] for p in pairs]}
    )
    args = _training_arguments(modules, output, options, info, prompts)
    scale = loss_scale if loss_scale is not None else default_loss_scale(prompts)
    curve: list[dict[str, float]] = []
    extra = list(callbacks or [])
    if dev is not None:
        from .dev_curve import dev_callback

        extra.append(dev_callback(model, dev, prompts, dev_steps, curve))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer = modules["SentenceTransformerTrainer"](
            model=model,
            args=args,
            train_dataset=dataset,
            loss=_loss(modules, model, scale, cached_mini_batch),
            callbacks=extra or None,
        )
        trainer.train(resume_from_checkpoint=last_checkpoint(output) if resume else None)
    final = Path(output) / "final"
    model.save(str(final))
    keep = ("batch_size", "learning_rate", "epochs", "max_steps", "warmup_ratio", "max_length", "mono_ratio", "seed")
    log = {
        "base": base,
        "train_data": str(train_data),
        "strategy": strategy,
        "pairs": kinds,
        "options": {
            **{k: options[k] for k in keep},
            "freeze_embeddings": freeze_embeddings,
            "prompts": prompts,
            "loss_scale": scale,
            "loss": "CachedMultipleNegativesRankingLoss" if cached_mini_batch else "MultipleNegativesRankingLoss",
            "cached_mini_batch": cached_mini_batch,
        },
        "steps": trainer.state.global_step,
        "history": trainer.state.log_history,
        "dev_curve": curve,
    }
    write_atomic(Path(output) / "training_log.json", json.dumps(log, indent=1))
    return {"model": str(final), **log}


E5_SCALE = 100.0  # E5 was trained at temperature 0.01 (Wang et al. 2022, "Text Embeddings by Weakly-Supervised ...")
ST_SCALE = 20.0  # sentence-transformers' MultipleNegativesRankingLoss default (temperature 0.05)


def default_loss_scale(prompts: dict[str, str]) -> float:
    """100 for E5-style models (they carry the ``query: ``/``passage: `` prompts), else sentence-transformers' 20."""
    return E5_SCALE if prompts.get("anchor") == "query: " else ST_SCALE


def _loss(modules: dict[str, Any], model: Any, scale: float, cached_mini_batch: int | None) -> Any:
    if cached_mini_batch:
        return modules["CachedMultipleNegativesRankingLoss"](model, scale=scale, mini_batch_size=cached_mini_batch)
    return modules["MultipleNegativesRankingLoss"](model, scale=scale)


def _training_arguments(modules: dict[str, Any], output: str, options: dict[str, Any], info, prompts) -> Any:
    """The trainer's arguments: batches drawn by the strategy's sampler, checkpoints every ``save_steps``."""
    max_steps = options["max_steps"]
    return modules["SentenceTransformerTrainingArguments"](
        output_dir=str(output),
        per_device_train_batch_size=options["batch_size"],
        learning_rate=options["learning_rate"],
        num_train_epochs=options["epochs"],
        max_steps=max_steps,
        warmup_ratio=options["warmup_ratio"],
        seed=options["seed"],
        data_seed=options["seed"],
        logging_steps=options["logging_steps"],
        save_strategy="epoch" if max_steps < 0 else "steps",
        save_steps=options["save_steps"] or max(max_steps, 1),
        save_total_limit=1,
        report_to="none",
        batch_sampler=partial(
            modules["StrategyBatchSampler"], pairs=info, strategy=options["strategy"], mono_ratio=options["mono_ratio"]
        ),
        dataloader_drop_last=True,
        use_cpu=options["device"] == "cpu",
        prompts=prompts or None,
    )


def _training_modules() -> dict[str, Any]:
    """The train extra's classes, or one line saying how to install them."""
    try:
        from datasets import Dataset
        from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
        from sentence_transformers.losses import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss

        from .st_sampler import StrategyBatchSampler
    except ImportError as exc:
        raise XlirError(
            "train: needs the train extra; pip install torch==2.13.0 'xlir-bench[train]' "
            "(in a checkout: pip install torch==2.13.0 '.[train]')"
        ) from exc
    return {
        "Dataset": Dataset,
        "SentenceTransformerTrainer": SentenceTransformerTrainer,
        "SentenceTransformerTrainingArguments": SentenceTransformerTrainingArguments,
        "MultipleNegativesRankingLoss": MultipleNegativesRankingLoss,
        "CachedMultipleNegativesRankingLoss": CachedMultipleNegativesRankingLoss,
        "StrategyBatchSampler": StrategyBatchSampler,
    }


def _checked_pairs(train_data: str, strategy: str, batch_size: int, seed: int, mono_ratio: float | None):
    """The pairs, their (id, languages) and kind counts; refuses data the strategy cannot batch, before any model loads."""
    if strategy not in STRATEGIES:
        raise XlirError(f"--strategy {strategy}: choose hybrid, mono, cross or mixed")
    if mono_ratio is not None and not 0.0 <= mono_ratio <= 1.0:
        raise XlirError(f"--mono-ratio {mono_ratio}: must be between 0 and 1")
    pairs = read_pairs(train_data)
    info = [PairInfo(p["id"], p["query_lang"], p["passage_lang"]) for p in pairs]
    kinds = {"mono": sum(i.is_mono for i in info), "cross": sum(not i.is_mono for i in info)}
    if strategy in ("mono", "cross") and kinds[strategy] < 2:
        raise XlirError(f"--strategy {strategy}: {train_data} has {kinds[strategy]} {strategy}-lingual pairs")
    try:
        plan_batches(info, batch_size, strategy, seed=seed, mono_ratio=mono_ratio)
    except ValueError as exc:
        raise XlirError(f"--train-data {train_data}: {exc}; lower --batch-size or add pairs") from exc
    return pairs, info, kinds


def _load_base(base: str, device: str | None, max_length: int, freeze_embeddings: bool) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(base, device=device, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - loaders raise many types; the user needs one line
        raise XlirError(
            f"--base {base}: not a loadable sentence-transformers model ({type(exc).__name__}: {exc})"
        ) from exc
    model.max_seq_length = max_length
    if freeze_embeddings:
        _freeze_token_embeddings(model)
    return model


def train_and_evaluate(
    base: str,
    train_data: str,
    output: str,
    eval_task: str,
    eval_langs: Sequence[str] | None = None,
    data_dir: str | None = None,
    name: str | None = None,
    progress: bool = False,
    cache_dir: str | None = None,
    **train_options: Any,
) -> tuple[dict[str, Any], Any]:
    """Fine-tune ``base`` (see :func:`train`), evaluate the result on ``eval_task``, save ``run-<task>.json``.

    Returns the training summary and the :class:`~xlir_bench.record.EvaluationResult`.
    """
    from .evaluate import evaluate

    summary = train(base, train_data, output, **train_options)
    label = name or f"{Path(base).name}+{train_options.get('strategy', 'hybrid')}"
    result = evaluate(
        summary["model"],
        tasks=[eval_task],
        langs=eval_langs,
        data_dir=data_dir,
        progress=progress,
        name=label,
        cache_dir=cache_dir,
        device=train_options.get("device"),
    )
    result.save(Path(output) / f"run-{eval_task}.json")
    return summary, result


def training_prompts(model: Any) -> dict[str, str]:
    """The model's own query/passage prompts (e5's ``query: ``/``passage: ``) for the question and passage columns.

    Evaluation prepends these prompts (:class:`~xlir_bench.encoders.SentenceTransformerEncoder`),
    so training must see the texts the same way.
    """
    prompts = getattr(model, "prompts", None) or {}
    chosen = {"anchor": prompts.get("query", ""), "positive": prompts.get("passage", prompts.get("document", ""))}
    return {column: prompt for column, prompt in chosen.items() if prompt}


def last_checkpoint(output: str | Path) -> str | None:
    """The newest ``checkpoint-N`` folder the trainer left in ``output``, or None."""
    folder = Path(output)
    if not folder.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder))


def _freeze_token_embeddings(model: Any) -> None:
    """Stop gradients to the first module's token-embedding matrix (position/type embeddings still learn)."""
    auto_model = getattr(model[0], "auto_model", None)
    if auto_model is None or not hasattr(auto_model, "get_input_embeddings"):
        raise XlirError("freeze_embeddings: the model's first module has no token-embedding matrix to freeze")
    auto_model.get_input_embeddings().weight.requires_grad_(False)
