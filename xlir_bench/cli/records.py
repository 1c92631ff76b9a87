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
@click.option(
    "--cluster",
    type=click.Choice(["article", "paragraph", "question"]),
    default=None,
    help="Resampling unit of intervals and tests [default: article where the task knows its articles, else question].",
)
def leaderboard_command(runs, task, metric, fmt, output, skip_invalid, cluster) -> None:
    """Rank models from run records (files or folders; default: the project's leaderboard/runs).

    Records whose model names differ only in a seed tag (-s1, -s2) share one row: seeds of one configuration.
    """
    from xlir_bench.analysis.leaderboard import RankOptions, leaderboard, render

    if output:
        check_writable_file(output, "--output")
        refuse_overwriting_input(output, list(runs), "--output")
    frame = leaderboard(list(runs) or None, task=task, metric=metric, skip_invalid=skip_invalid, options=RankOptions(cluster=cluster))
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
    default=0.02,
    show_default=True,
    type=_Number(0, 1),
    help="Margin: a family macro fails when it drops by more than this AND its test rejects after Holm "
    "(default: above the study's largest seed-to-seed change, 0.0156; see docs/guide/statistics.md).",
)
@click.option(
    "--max-setting-drop",
    default=0.05,
    show_default=True,
    type=_Number(0, 1),
    help="Largest allowed significant drop of one setting (default: above the study's largest seed-to-seed change, 0.043).",
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
    "--cluster",
    type=click.Choice(["article", "paragraph", "question"]),
    default=None,
    help="Resampling unit of tests and intervals [default: article where the task knows its articles, else question].",
)
@click.option(
    "--permutations", default=10_000, show_default=True, type=click.IntRange(1000, 10_000_000),
    help="Randomization test size (at most 10 million)."
)
@click.option(
    "--resamples", default=1000, show_default=True, type=click.IntRange(100, 100_000), help="Bootstrap resamples of the intervals."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the randomization test and bootstrap.")
@click.option("--allow-mismatch", is_flag=True, help="Compare only the settings both records share on identical data.")
@click.option("--verbose", "-v", is_flag=True, help="Every family macro, regressions and the worst settings in detail.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "json"]),
    default="text",
    show_default=True,
    help="text, md (a pull-request comment) or json.",
)
@click.pass_context
def compare_command(ctx, baseline, candidate, metric, allow_mismatch, verbose, fmt, **thresholds) -> None:
    """Gate CANDIDATE against BASELINE; exit 1 on a regression.

    Each side is a run record, leaderboard:NAME, or the records of one configuration's
    seeds (comma-joined paths or a folder): with several, the training run is the unit.
    """
    from xlir_bench.analysis.compare import Gate, compare
    from xlir_bench.analysis.compare_render import render

    gate = Gate(
        thresholds["max_drop"],
        thresholds["max_setting_drop"],
        thresholds["alpha"],
        thresholds["max_relative_change"],
        thresholds["permutations"],
        thresholds["seed"],
        thresholds["resamples"],
        thresholds["cluster"],
    )
    comparison = compare(baseline, candidate, metric, gate, allow_mismatch)
    echo(render(comparison, fmt, verbose=verbose), nl=False)
    ctx.exit(comparison.exit_code)
