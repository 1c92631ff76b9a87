"""Printing text that may hold names from files or servers (a model name, an API's error message).

Control and invisible characters are shown as ``\\x1b`` (see :func:`xlir_bench.core.text.visible`),
so an ANSI/OSC escape in a record cannot recolour the terminal or change its title. Lines on
stderr (errors, warnings, ``run record: PATH``) are one line each: a newline inside them (a
file name can hold one) is shown as ``\\x0a`` too; tables on stdout keep their newlines.
"""

from __future__ import annotations

import click

from xlir_bench.core.text import visible


def echo(message: object = "", **kwargs) -> None:
    """click.echo with control characters made visible."""
    click.echo(visible(message, keep="" if kwargs.get("err") else "\n"), **kwargs)
