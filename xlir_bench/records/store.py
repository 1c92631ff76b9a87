"""Where run records live: the project's leaderboard folder (checkout or installed copy)."""

from __future__ import annotations

from pathlib import Path


def default_runs_folder() -> Path:
    """The project's ``leaderboard/runs`` in a checkout, else the copy installed as ``xlir_bench.leaderboard_runs``."""
    checkout = Path(__file__).resolve().parents[2] / "leaderboard" / "runs"
    if checkout.is_dir():
        return checkout
    from importlib import resources

    return Path(str(resources.files("xlir_bench.leaderboard_runs")))

