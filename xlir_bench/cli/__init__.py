"""The command line: `xlir-bench`, one click group; each command group in its own module."""

from xlir_bench.cli.app import main

__all__ = ["main"]
