"""Names every module agrees on: setting families, the multilingual pool, index kinds, default tasks."""

from __future__ import annotations

FAMILIES = ("mono", "cross", "multi")
MULTI_POOL = "all"  # the pool name of multilingual settings (X -> all)
INDEX_KINDS = ("flat", "hnsw", "ivf")
DEFAULT_TASKS = ("xquad-r", "mlqa-r")
LEADERBOARD_ENV = "XLIR_BENCH_LEADERBOARD"  # a folder of run records to use instead of leaderboard/runs
