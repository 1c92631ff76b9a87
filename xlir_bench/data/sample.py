"""A pinned sample of articles: a fast regression gate (``run --sample-articles K --sample-seed S``).

A full cold run costs 14-25 min on 2 cores. A sample keeps the questions of K
articles and *shrinks the candidate pools to those articles' paragraphs*, so
encoding and search shrink with it (the numbers are therefore easier than the
full task's: fewer distractors). The articles are the ``data[i]`` entries of the
task's English file (:mod:`xlir_bench.clusters`), K of them drawn without
replacement by ``numpy.random.default_rng(S)``; a question of any language
belongs to the article of its English version, and a candidate sentence to the
article of the questions its paragraph holds.

The record names the sample (``sample``: K, S and the article indices per
task); every number is then a sample's: the leaderboard ranks it only beside
records of the same sample, and ``compare`` refuses records of different
samples. ``compare`` reports the minimal detectable difference at that size,
so K can be chosen for the regression one needs to catch (benchmarks/sample_gate.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.data.clusters import spec_units
from xlir_bench.data.lareqa import LanguageData


@dataclass(frozen=True)
class Sample:
    """K articles drawn with seed S (K = 0: no sample)."""

    articles: int = 0
    seed: int = 0


def sample_articles(n_articles: int, sample: Sample) -> list[int]:
    """The sorted article indices of the sample: K of ``n_articles`` without replacement, seeded."""
    if not 0 < sample.articles <= n_articles:
        raise XlirError(f"--sample-articles {sample.articles}: the task has {n_articles} articles; choose 1 to {n_articles}")
    rng = np.random.default_rng(sample.seed)
    return sorted(int(i) for i in rng.choice(n_articles, size=sample.articles, replace=False))


def sample_task(task, sample: Sample, source) -> tuple[object, list[int]]:
    """The task restricted to the sampled articles' questions and candidates, and the article indices."""
    if task.spec.format not in ("lareqa", "lareqa-xtreme"):  # the XTREME-R task keeps xquad-r's articles
        raise XlirError(
            f"--sample-articles: task {task.name} (format {task.spec.format}) has no article-aligned pools; "
            "sample LAReQA tasks (xquad-r, mlqa-r) only"
        )
    article_of = spec_units(task.spec, source)["article"]
    chosen = set(sample_articles(max(article_of.values()) + 1, sample))
    keep = {qid for qid, article in article_of.items() if article in chosen}
    data = {lang: restrict(lang_data, keep) for lang, lang_data in task.data.items()}
    return replace(task, data=data), sorted(chosen)


def restrict(data: LanguageData, keep: set[str]) -> LanguageData:
    """One language with only the questions in ``keep`` and the candidates of the paragraphs that answer them."""
    answers = data.answer_of
    paragraphs = sorted({data.paragraph_of[answers[q]] for q in data.question_ids if q in keep and q in answers})
    wanted = set(paragraphs)
    old = [i for i, p in enumerate(data.paragraph_of) if p in wanted]
    new_index = {o: n for n, o in enumerate(old)}
    new_paragraph = {p: n for n, p in enumerate(paragraphs)}
    questions = [(q, text) for q, text in zip(data.question_ids, data.questions, strict=True) if q in keep]
    qrels = {
        qid: {new_index[i]: grade for i, grade in judged.items() if i in new_index}
        for qid, judged in data.qrels.items()
        if qid in keep
    }
    return LanguageData(
        data.lang,
        [q for q, _ in questions],
        [text for _, text in questions],
        [data.candidate_ids[i] for i in old],
        [data.candidates[i] for i in old],
        {qid: judged for qid, judged in qrels.items() if judged},
        [new_paragraph[data.paragraph_of[i]] for i in old],
        [data.paragraphs[p] for p in paragraphs],
        spans=[data.spans[i] for i in old] if data.spans else [],
    )


def sample_section(sample: Sample, tasks, source) -> dict:
    """The record's ``sample``: K, S and each task's article indices (the same draw as the run's)."""
    indices = {t.name: sample_articles(max(spec_units(t.spec, source)["article"].values()) + 1, sample) for t in tasks}
    return {"articles": sample.articles, "seed": sample.seed, "indices": indices}


def sampled_tasks(tasks: list, sample: Sample, source) -> list:
    """Every task restricted to its sampled articles (no sample: the tasks as they are)."""
    return [sample_task(task, sample, source)[0] for task in tasks] if sample.articles else tasks
