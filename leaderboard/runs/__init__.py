"""Run records of the project leaderboard, shipped as package data of ``xlir_bench.leaderboard_runs``."""
