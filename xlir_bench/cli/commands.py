"""The table of commands: one row per `xlir-bench` command (or group), added to the group in cli.app.

Adding a command is a function in the module of its group of commands and one row
here; see docs/development/adding-a-command.md. tests/contracts/test_commands.py
runs over every row.
"""

from __future__ import annotations

import click

import xlir_bench.cli.adapter as adapter
import xlir_bench.cli.cache as cache
import xlir_bench.cli.evaluate as evaluate
import xlir_bench.cli.exchange as exchange
import xlir_bench.cli.records as records
import xlir_bench.cli.train as train

COMMANDS: list[click.Command] = [
    evaluate.tasks_command,
    evaluate.run_command,
    evaluate.encode_command,
    cache.cache_group,
    train.train_data_command,
    train.train_command,
    train.convert_e5_command,
    train.sweep_command,
    train.sweep_report_command,
    adapter.train_adapter_command,
    adapter.adapter_grid_command,
    adapter.adapter_report_command,
    records.leaderboard_command,
    records.report_command,
    records.compare_command,
    exchange.export_command,
    exchange.reproduce_command,
]
