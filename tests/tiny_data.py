"""Tiny slices of the real data: a few XQuAD-R questions as a BEIR task, MLQA-R training pairs."""

from __future__ import annotations

import json
from pathlib import Path

from xlir_bench.data.lareqa import resolve_source
from xlir_bench.data.tasks import get_spec, load_task
from xlir_bench.train.training import build_pairs


def xquad_slice(folder: Path, data_dir: Path, langs=("en", "de", "el"), questions: int = 40) -> Path:
    """The first ``questions`` parallel XQuAD-R questions of ``langs`` and the candidates up to their answers.

    Written as a BEIR-format task (``folder/xquad-slice.toml``): the pool of a
    language is its first sentences, through the last answer of those questions.
    """
    task = load_task(get_spec("xquad-r"), tuple(langs), resolve_source(str(data_dir)))
    queries, corpus, qrels = [], [], []
    for lang in langs:
        data = task.data[lang]
        qids = data.question_ids[:questions]
        last = max(data.answer_of[qid] for qid in qids)
        queries += [{"_id": qid, "text": text, "lang": lang} for qid, text in zip(qids, data.questions, strict=False)]
        corpus += [{"_id": f"{lang}-{i:05d}", "text": data.candidates[i], "lang": lang} for i in range(last + 1)]
        qrels += [f"{qid}\t{lang}-{data.answer_of[qid]:05d}\t1\n" for qid in qids]
    root = folder / "xquad-slice"
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries))
    (root / "corpus.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in corpus))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(qrels))
    spec = folder / "xquad-slice.toml"
    spec.write_text(
        'name = "xquad-slice"\nformat = "beir"\npath = "xquad-slice"\nsplit = "test"\nlanguage_field = "lang"\n'
        f'languages = {json.dumps(list(langs))}\nlicense = "CC BY-SA 4.0 (XQuAD-R)"\n'
    )
    return spec


def mlqa_pairs(path: Path, data_dir: Path, langs=("de", "es"), questions: int = 24) -> Path:
    """Training pairs of the first ``questions`` MLQA-R questions parallel in ``langs`` (all four pair types)."""
    task = load_task(get_spec("mlqa-r"), tuple(langs), resolve_source(str(data_dir)))
    pairs = build_pairs(task)
    shared = list(dict.fromkeys(p["id"] for p in pairs if p["query_lang"] != p["passage_lang"]))[:questions]
    keep = set(shared)
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs if p["id"] in keep))
    return path
