"""The README's own install (`pip install .`, not editable) must give a working default leaderboard.

Issue 23, item 1: installed, the leaderboard's run records are package data, and ``str()`` of an
importlib.resources root is not a path for a data folder without ``__init__.py`` (a
``MultiplexedPath``). The test that covered the default folder ran from a checkout; this one builds
a wheel, installs it into a fresh venv and runs the console script from outside the checkout.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH (a checkout on it looks like an installed xlir-bench to pip) and no XLIR_BENCH_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLIR_BENCH", "PYTHON"))}
    return {**env, "HOME": str(home)}


def _installed(tmp_path: Path) -> Path:
    """Build a wheel from a copy of the checkout (building writes build/ and *.egg-info) and pip install it."""
    source, wheels, env_dir = tmp_path / "source", tmp_path / "wheels", tmp_path / "venv"
    skip = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "runs")
    shutil.copytree(ROOT, source, ignore=skip)
    shutil.copytree(ROOT / "leaderboard" / "runs", source / "leaderboard" / "runs", dirs_exist_ok=True)
    env = _clean_env(tmp_path)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)]
    subprocess.run(build, check=True, capture_output=True, timeout=300, env=env)
    venv.create(env_dir, with_pip=True)
    (wheel,) = wheels.glob("xlir_bench-*.whl")
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, timeout=900, env=env)
    return env_dir / "bin" / "xlir-bench"


def _model_names() -> set[str]:
    """The model names of the checkout's leaderboard records, read without xlir-bench."""
    return {json.loads(gzip.decompress(p.read_bytes()))["model"]["name"] for p in (ROOT / "leaderboard" / "runs").glob("*.json.gz")}


@pytest.fixture
def own_tmp():
    """A temporary folder of this test's own: pytest's basetemp keeps only the last 3 sessions, and a venv
    build takes minutes, long enough for other pytest sessions on a shared machine to rotate it away."""
    with tempfile.TemporaryDirectory(prefix="xlir-bench-venv-") as folder:
        yield Path(folder)


@pytest.mark.heavy
def test_non_editable_install_ranks_and_compares_the_packaged_leaderboard(own_tmp):
    tmp_path = own_tmp
    script = _installed(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = _clean_env(outside)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *args], cwd=outside, env=env, capture_output=True, text=True, timeout=600)

    board = run("leaderboard")
    assert board.returncode == 0, board.stderr
    assert "MultiplexedPath" not in board.stderr
    shown = {line.split("|")[2].strip() for line in board.stdout.splitlines() if line.startswith("| ") and "rank" not in line}
    assert shown == _model_names()
    compared = run("compare", "leaderboard:bm25", "leaderboard:bm25")
    assert compared.returncode == 0, compared.stderr
    assert "bm25.json.gz" in compared.stdout
    assert not list(outside.iterdir())  # nothing written where it ran
