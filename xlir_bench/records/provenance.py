"""Provenance: the command that made a run record, and ``xlir-bench reproduce`` (run it again, compare).

A record made by ``xlir-bench run`` stores ``provenance`` {``command``, ``argv``}: the options the
user gave (defaults left out, ``--output`` left out), so ``xlir-bench run ARGV`` makes the same
numbers; package versions are in ``versions``. A record from before this field gets a command
derived from what it holds (model, tasks, languages, families, bootstrap), marked ``derived``.

Reproduction checks the data first: every file the record names must still have the record's
sha256 in the data mirror (else one error naming the file), then runs the command into a new
record and compares every setting's and family macro's metrics: agreement means
``|a - b| <= tolerance * max(1, |a|)`` (:data:`TOLERANCE`, stored in the record).
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from xlir_bench.core.errors import XlirError
from xlir_bench.records.schema import RunRecord

TOLERANCE = 1e-4  # per-query values are stored to 6 decimals; BLAS builds may swap near-tied candidates
NOT_REPEATED = ("output", "trec_dir", "quiet", "as_json")  # where and how to print, not what to compute


def given_options(ctx: click.Context) -> list[str]:
    """The command line of ``ctx``'s command as the user meant it: options not at their default, in order."""
    argv = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in NOT_REPEATED:
            continue
        source = ctx.get_parameter_source(param.name)
        if source is None or source.name == "DEFAULT":
            continue
        argv += _option_words(param, ctx.params[param.name])
    return argv


def _option_words(param: click.Option, value: Any) -> list[str]:
    flag = max(param.opts, key=len)  # the long form
    if param.is_flag:
        return [flag] if value else []
    values = value if param.multiple else [value]
    return [word for item in values if item is not None for word in (flag, str(item))]


def section(argv: list[str], derived: bool = False) -> dict[str, Any]:
    """The record's ``provenance`` section for ``xlir-bench run ARGV``."""
    return {"command": "xlir-bench run " + shlex.join(argv), "argv": list(argv), "derived": derived, "tolerance": TOLERANCE}


def derived_argv(record: RunRecord) -> list[str]:
    """For a record without provenance: the run options its content implies."""
    tasks = list(record.results)
    argv = ["--model", record.model_name, "--task", ",".join(tasks)]
    selection = [record.selection.get(task, {}) for task in tasks]
    langs = {tuple(s.get("langs", [])) for s in selection}
    if len(langs) == 1 and (chosen := next(iter(langs))):
        from xlir_bench.data.tasks import registry

        if any(list(chosen) != list(registry()[task].languages) for task in tasks if task in registry()):
            argv += ["--langs", ",".join(chosen)]
    families = {tuple(s.get("families", [])) for s in selection}
    if len(families) == 1 and next(iter(families)) not in ((), ("mono", "cross", "multi")):
        argv += ["--settings", ",".join(next(iter(families)))]
    resamples = record.bootstrap.resamples if record.bootstrap is not None else 0
    if resamples != 1000:
        argv += ["--bootstrap", str(resamples)]
    return argv


def provenance_of(record: RunRecord) -> dict[str, Any]:
    """The record's stored provenance, or one derived from its content."""
    stored = record.provenance
    return stored if isinstance(stored, dict) and "argv" in stored else section(derived_argv(record), derived=True)


def check_data(record: RunRecord, where: str, data_dir: str | None) -> None:
    """Every data file the record names still has its sha256 in the mirror; else one error naming the file."""
    from xlir_bench.core.files import confine, sha256_file
    from xlir_bench.data.lareqa import resolve_source

    root = resolve_source(data_dir).root
    for task, files in record.data.items():
        for rel_path, sha in files.items():
            path = confine(root, rel_path, f"{where}: data.{task}")
            actual = sha256_file(path) if path.is_file() else None
            if actual != sha:
                now = f"has sha256 {actual[:12]}" if actual else "is missing"
                raise XlirError(
                    f"{where}: data file {path} {now}, the record was made on sha256 {sha[:12]}; "
                    "the data changed since, so this record cannot be reproduced (restore the file or re-run)"
                )


@dataclass(frozen=True)
class Agreement:
    """How a reproduction compares with the original: metrics compared, the ones that differ, the worst gap."""

    compared: int
    differing: list[str]
    worst: float

    @property
    def agrees(self) -> bool:
        return self.compared > 0 and not self.differing


def compare_records(original: RunRecord, again: RunRecord, tolerance: float) -> Agreement:
    """Every setting metric and family macro of ``original`` against ``again`` within ``tolerance``."""
    compared, differing, worst = 0, [], 0.0
    for where, a, b in _paired_metrics(original, again):
        compared += 1
        if a is None or b is None:
            if a is not b:
                differing.append(f"{where}: {a} vs {b}")
            continue
        gap = abs(a - b) / max(1.0, abs(a))
        worst = max(worst, gap)
        if gap > tolerance or math.isnan(gap):
            differing.append(f"{where}: {a:.6g} vs {b:.6g}")
    return Agreement(compared, differing, worst)


def _paired_metrics(original: RunRecord, again: RunRecord):
    for task, result in original.results.items():
        other = again.results.get(task)
        if other is None:
            yield f"{task}", 0.0, None
            continue
        settings = other.by_key()
        for setting in result.settings:
            twin = settings.get(setting.key)
            for name, value in setting.metrics.items():
                yield f"{task} {setting.key} {name}", value, (twin.metrics.get(name) if twin else None)
        for family, metrics in result.macro.items():
            for name, value in metrics.items():
                yield f"{task} {family} macro {name}", value, other.macro.get(family, {}).get(name)


def default_output(where: str) -> Path:
    """``runs/<record stem>-reproduced.json`` beside nothing the user owns."""
    stem = Path(where).name.removesuffix(".gz").removesuffix(".json")
    return Path("runs") / f"{stem}-reproduced.json"


def stored_data_dir(argv: list[str]) -> str | None:
    """The ``--data-dir`` of a stored command, if it gave one."""
    return argv[argv.index("--data-dir") + 1] if "--data-dir" in argv[:-1] else None
