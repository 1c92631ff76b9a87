"""`leaderboard`, `report` and `compare`: reading run records."""

from __future__ import annotations

import click

from xlir_bench.cli.echo import echo
from xlir_bench.cli.options import COMPARE_METRICS, RANKING_METRICS, _Number
from xlir_bench.core.files import check_writable_file, refuse_overwriting_input, write_atomic


@click.command("leaderboard")
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
    from xlir_bench.analysis.leaderboard import leaderboard, render

    if output:
        check_writable_file(output, "--output")
        refuse_overwriting_input(output, list(runs), "--output")
    frame = leaderboard(list(runs) or None, task=task, metric=metric, skip_invalid=skip_invalid)
    for warning in frame.attrs["warnings"]:
        echo(f"warning: {warning}", err=True)
    text = render(frame, fmt)
    if output:
        write_atomic(output, text)
        echo(f"leaderboard: {output}", err=True)
    else:
        echo(text, nl=False)


@click.command("report")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default="report.html", show_default=True, help="HTML file to write."
)
def report_command(runs, output) -> None:
    """Write one self-contained interactive HTML page for RUN [RUN...]: sortable tables, charts, side by side.

    With several records, every chart has a menu to switch records and the last section tests each
    record against the first (paired bootstrap intervals and randomization tests over questions).
    """
    from xlir_bench.analysis.report import names_of, render_report
    from xlir_bench.records.build import load_record

    check_writable_file(output, "--output")
    refuse_overwriting_input(output, list(runs), "--output")
    records = [load_record(run) for run in runs]
    write_atomic(output, render_report(list(zip(names_of(list(runs), records), records, strict=True))))
    echo(f"report: {output}", err=True)


@click.command("compare")
@click.argument("baseline")
@click.argument("candidate")
@click.option(
    "--metric", type=click.Choice(COMPARE_METRICS), default="map", show_default=True, help="Per-query metric to compare."
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
    "--permutations", default=10_000, show_default=True, type=click.IntRange(1000, 10_000_000),
    help="Randomization test size (at most 10 million).",
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
    from xlir_bench.analysis.compare import compare, render

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
    echo(render(comparison, fmt), nl=False)
    ctx.exit(comparison.exit_code)
