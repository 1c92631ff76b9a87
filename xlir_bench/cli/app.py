"""The `xlir-bench` group: one-line errors, Ctrl-C, and the table of commands (cli.commands).

Every user-fixable problem ends with one line on stderr (``error: ...``) and
exit code 2; a run record is written only when the whole evaluation succeeded.
"""

from __future__ import annotations

import os
import sys
import warnings

import click

from xlir_bench.cli.commands import COMMANDS
from xlir_bench.core.errors import XlirError
from xlir_bench.core.progress import clear_bars

DEBUG_ENV = "XLIR_BENCH_DEBUG"
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)


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
            cleared = clear_bars()  # the bar's line is erased, so no newline is needed to get past it
            click.echo(
                ("" if cleared else "\n") + "interrupted: no run record was written; embeddings encoded so far are kept in the cache, "
                "so running the same command again resumes where this one stopped",
                err=True,
            )
            raise click.exceptions.Exit(INTERRUPTED) from None
        except XlirError as exc:
            if debug:
                raise
            clear_bars()
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except OSError as exc:
            if debug:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            clear_bars()
            click.echo(f"error: {where}{exc.strerror or exc}; check the path, its permissions and free space", err=True)
            raise click.exceptions.Exit(2) from None
        except Exception as exc:  # noqa: BLE001 - the last net: one line, never a traceback, unless --debug
            if debug:
                raise
            message = " ".join(str(exc).split())[:300]
            clear_bars()
            click.echo(
                f"error: unexpected {type(exc).__name__}: {message}; re-run with --debug for the traceback and report it",
                err=True,
            )
            raise click.exceptions.Exit(2) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="xlir-bench")
@click.option("--debug", is_flag=True, help="Show Python tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Exact monolingual, cross-lingual and multilingual retrieval evaluation (XQuAD-R, MLQA-R)."""


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Console entry point."""
    cli(prog_name="xlir-bench")
