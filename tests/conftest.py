"""Shared fixtures: the real LAReQA mirror beside the checkout (``../shared/data/lareqa``).

``XLIR_BENCH_DATA`` overrides the location. When it is set and wrong, tests fail;
when it is unset and there is no mirror beside the checkout, data tests skip.
Tests never touch the network.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

# Tests mirror the package (tests/<layer>/test_*.py, every basename unique). Some share helpers
# (test_fixture_pipeline's hand vectors, test_bad_input's assert_one_error, `py:` encoders named by
# module): every test folder is importable whichever file pytest is asked to run.
for _folder in sorted(p for p in TESTS.iterdir() if p.is_dir() and any(p.glob("test_*.py"))):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))


def _mirror() -> Path | None:
    if os.environ.get("XLIR_BENCH_DATA"):
        path = Path(os.environ["XLIR_BENCH_DATA"])
        assert path.is_dir(), f"XLIR_BENCH_DATA={path} is not a directory"
        return path
    path = REPO.parent / "shared" / "data" / "lareqa"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _mirror()
    if path is None:
        pytest.skip("no LAReQA mirror: set XLIR_BENCH_DATA or put shared/ beside the checkout")
    return path


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No test may download: point the cache at an empty temp dir."""
    monkeypatch.setenv("XLIR_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def mirror_copy(data_dir, tmp_path) -> Path:
    """A writable copy of the XQuAD-R part of the mirror, for tests that damage files."""
    target = tmp_path / "mirror"
    shutil.copytree(data_dir / "xquad-r", target / "xquad-r")
    for path in target.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return target


def pytest_collection_modifyitems(config, items):
    """Tests that read the real LAReQA mirror are marked ``realdata``: `pytest -m "not realdata"` is the quick loop."""
    for item in items:
        if {"data_dir", "mirror_copy"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.realdata)
