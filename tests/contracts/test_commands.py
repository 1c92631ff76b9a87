"""Every row of the command table keeps the contract: a named command, one-line help, documented options, --help works."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli
from xlir_bench.cli.commands import COMMANDS


def _leaves(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    here = (*path, command.name)
    if isinstance(command, click.Group):
        return [leaf for sub in command.commands.values() for leaf in _leaves(sub, here)]
    return [(here, command)]


LEAVES = [leaf for row in COMMANDS for leaf in _leaves(row)]


def test_the_group_holds_exactly_the_table():
    assert sorted(cli.commands) == sorted(row.name for row in COMMANDS)
    assert len({row.name for row in COMMANDS}) == len(COMMANDS)


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_command_is_documented_and_its_help_runs(path, command):
    assert command.help and command.get_short_help_str(limit=200).strip()
    undocumented = [p.name for p in command.params if isinstance(p, click.Option) and not p.hidden and not p.help]
    assert not undocumented
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "Usage: " in result.output


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_an_unknown_option_is_one_error_line(path, command):
    result = CliRunner().invoke(cli, [*path, "--no-such-option"], standalone_mode=True)
    assert result.exit_code == 2 and "Traceback" not in result.output
