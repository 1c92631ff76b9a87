"""Declarative task definitions (TOML), shipped as package data of ``xlir_bench.tasks``."""
