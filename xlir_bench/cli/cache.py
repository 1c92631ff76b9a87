"""`cache info` and `cache clear`: the embedding cache's folders, read and removed only when they are ours."""

from __future__ import annotations

import sys

import click

from xlir_bench.cli.echo import echo
from xlir_bench.cli.options import cache_dir_option
from xlir_bench.core.errors import XlirError


@click.group("cache")
def cache_group() -> None:
    """Inspect or clear the embedding cache."""


def _foreign(entry: dict) -> str:
    if entry.get("strangers"):
        return (
            f"{entry['fingerprint']} holds files xlir-bench did not write ({', '.join(entry['strangers'])}); "
            "info and clear leave the folder alone until you move them out"
        )
    return f"{entry['fingerprint']} is not a cache folder; xlir-bench leaves it alone"




@cache_group.command("info")
@cache_dir_option()
def cache_info_command(cache_dir) -> None:
    """Cached models, vectors per role, damaged chunks and size on disk."""
    from tabulate import tabulate

    from xlir_bench.encode.admin import cache_info
    from xlir_bench.encode.cache import default_cache_dir

    entries = cache_info(cache_dir)
    echo(f"cache: {cache_dir or default_cache_dir()}")
    rows = [
        [e["model"], e["fingerprint"], e["dim"], e["queries"], e["passages"], e["damaged_chunks"], f"{e['bytes'] / 2**20:.1f}"]
        for e in entries
        if not e["foreign"]
    ]
    headers = ["model", "fingerprint", "dim", "queries", "passages", "damaged", "MiB"]
    echo(tabulate(rows, headers=headers) if rows else "(empty)")
    for e in entries:
        if e["foreign"]:
            echo(f"warning: {_foreign(e)}", err=True)
        elif e["damaged_chunks"] or not e["metadata_ok"]:
            echo(
                f"warning: {e['fingerprint']}: {e['damaged_chunks']} damaged chunk(s)"
                + ("" if e["metadata_ok"] else ", damaged model.json")
                + "; the next run re-encodes those texts, or `xlir-bench cache clear --model` removes them",
                err=True,
            )


@cache_group.command("clear")
@cache_dir_option()
@click.option("--model", default=None, help="Only this model's vectors (its name or fingerprint in `cache info`).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def cache_clear_command(cache_dir, model, yes) -> None:
    """Delete cached vectors (all, or one model's); only folders the cache wrote are touched."""
    from xlir_bench.encode.admin import cache_clear, cache_info
    from xlir_bench.encode.cache import default_cache_dir

    folder = cache_dir or default_cache_dir()
    entries = cache_info(cache_dir)
    for e in entries:
        if e["foreign"]:
            echo(f"warning: {_foreign(e)}", err=True)
    targets = [e for e in entries if not e["foreign"] and model in (None, e["model"], e["fingerprint"])]
    if not targets:
        echo(f"nothing to clear in {folder}" + (f" for model {model!r}" if model else ""))
        return
    names = ", ".join(sorted({e["model"] for e in targets}))
    if not yes and not sys.stdin.isatty():
        raise XlirError(f"cache clear: would delete {len(targets)} model folder(s) ({names}) in {folder}; pass --yes to confirm")
    if not yes:
        click.confirm(f"delete the cached vectors of {len(targets)} model folder(s) ({names}) in {folder}?", abort=True)
    cleared = cache_clear(cache_dir, model)
    echo(f"removed {len(cleared.removed)} cached model(s) from {folder}")
    for name in sorted(set(cleared.untouched) - {e["fingerprint"] for e in entries if e["foreign"]}):
        echo(f"warning: left {name} untouched: something appeared in it while clearing", err=True)
