"""`export` and `reproduce`: records to other tools' formats, and a record re-made from its own command."""

from __future__ import annotations

from pathlib import Path

import click

from xlir_bench.cli.evaluate import run_command
from xlir_bench.cli.options import _Number
from xlir_bench.core.files import check_writable_file, check_writable_folder


@click.command("export")
@click.argument("record", type=click.Path())
@click.option(
    "--format", "fmt", type=click.Choice(["mteb", "trec", "ranx"]), default="mteb", show_default=True,
    help="mteb: MTEB TaskResult files (paragraph tasks); trec/ranx: ranked lists (need a run made with --trec-dir).",
)  # fmt: skip
@click.option("--output", "-o", type=click.Path(file_okay=False), required=True, help="Folder to write into.")
def export_command(record, fmt, output) -> None:
    """Export RECORD for other tools: MTEB's results layout (DIR/results/<model>/<revision>/<Task>.json)."""
    from xlir_bench.analysis.mteb_export import ExportOptions, export
    from xlir_bench.records.schema import load_record

    check_writable_folder(output, "--output")
    for path in export(load_record(record), record, ExportOptions(Path(output), fmt)):
        click.echo(f"wrote {path}", err=True)


@click.command("reproduce")
@click.argument("record", type=click.Path())
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default=None,
    help="The new run record [default: runs/<record>-reproduced.json].",
)  # fmt: skip
@click.option("--data-dir", type=click.Path(), default=None, help="Local data mirror (else $XLIR_BENCH_DATA).")
@click.option("--tolerance", type=_Number(0), default=None, help="Largest relative difference [default: the record's].")
@click.pass_context
def reproduce_command(ctx, record, output, data_dir, tolerance) -> None:
    """Re-run the command that made RECORD into a new record and compare them; exit 0 when they agree."""
    from xlir_bench.records.provenance import (
        check_data,
        compare_records,
        default_output,
        provenance_of,
        stored_data_dir,
    )
    from xlir_bench.records.schema import load_record

    original = load_record(record)
    stored = provenance_of(original)
    check_data(original, record, data_dir or stored_data_dir(stored["argv"]))
    output = Path(output) if output else default_output(record)
    check_writable_file(output, "--output")
    argv = [*stored["argv"], "--output", str(output), "--quiet"]
    if data_dir and "--data-dir" not in argv:
        argv += ["--data-dir", data_dir]
    click.echo(f"reproducing: {stored['command']}" + (" (derived from the record)" if stored.get("derived") else ""))
    run_command.main(args=argv, prog_name="xlir-bench run", standalone_mode=False)
    tolerance = stored.get("tolerance", 1e-4) if tolerance is None else tolerance
    agreement = compare_records(original, load_record(output), tolerance)
    for line in agreement.differing[:20]:
        click.echo(f"differs: {line}")
    verdict = "agree" if agreement.agrees else f"differ in {len(agreement.differing)}"
    click.echo(
        f"{verdict} of {agreement.compared} metrics (largest relative difference {agreement.worst:.2g}, "
        f"tolerance {tolerance:g}); new record: {output}"
    )
    ctx.exit(0 if agreement.agrees else 1)
