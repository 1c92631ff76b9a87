"""Where run records live: the project's leaderboard folder (checkout or installed copy)."""

from __future__ import annotations

from pathlib import Path

from xlir_bench.core.files import package_folder


def default_runs_folder() -> Path:
    """The project's ``leaderboard/runs`` in a checkout, else the copy installed as ``xlir_bench.leaderboard_runs``."""
    return package_folder("xlir_bench.leaderboard_runs", Path(__file__).resolve().parents[2] / "leaderboard" / "runs")

