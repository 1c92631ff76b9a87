"""Side by side: every other record against the first, per task, family and measure, with paired statistics.

Nothing is re-derived here: the difference's interval is
:func:`~xlir_bench.bootstrap.paired_difference_interval` (both records resampled
with the same question draws), its p-value the paired randomization test of
:mod:`~xlir_bench.significance` on :func:`~xlir_bench.compare.family_differences`
(questions are the paired unit, as in ``compare``), Holm-corrected across every
row of the section. Tasks whose data files differ between the records are not
compared (their numbers measure different things).
"""

from __future__ import annotations

from dataclasses import dataclass

from .bootstrap import paired_difference_interval
from .compare import family_differences
from .constants import FAMILIES
from .measures import REGISTRY
from .report_html import Cell, esc, num, table, text
from .report_tables import HEADLINE, bootstrap_of, digits, label, task_title
from .runrecord import RunRecord, TaskResult
from .significance import DEFAULT_PERMUTATIONS, DEFAULT_SEED, holm_bonferroni, randomization_test

MEASURES = (*HEADLINE, "rank_distance")
ALPHA = 0.05


@dataclass
class Difference:
    model: str
    task: str
    family: str
    measure: str
    reference: float
    value: float
    delta: float
    low: float
    high: float
    p: float
    p_holm: float = 1.0


def _pairs(result: TaskResult, name: str, keys: list[str]) -> list[tuple[list[str], object]]:
    settings = result.by_key()
    return [(settings[k].query_ids, settings[k].values(name)) for k in keys]


def _difference(model: str, task: str, ref: TaskResult, other: TaskResult, family: str, name: str, boot) -> Difference | None:
    ref_s, other_s = ref.by_key(), other.by_key()
    keys = sorted(k for k in set(ref_s) & set(other_s) if ref_s[k].family == family and name in ref_s[k].per_query and name in other_s[k].per_query)
    if not keys or name not in ref.macro.get(family, {}) or name not in other.macro.get(family, {}):
        return None
    iv = paired_difference_interval(_pairs(other, name, keys), _pairs(ref, name, keys), *boot)
    p = randomization_test(family_differences(ref, other, family, name), DEFAULT_PERMUTATIONS, DEFAULT_SEED)
    return Difference(model, task, family, name, _macro(ref, keys, name), _macro(other, keys, name), iv.estimate, iv.low, iv.high, p)


def _macro(result: TaskResult, keys: list[str], name: str) -> float:
    settings = result.by_key()
    values = [settings[k].metrics.get(name) for k in keys]
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def differences(records: list[tuple[str, RunRecord]]) -> tuple[list[Difference], list[str]]:
    """Rows of every later record against the first; notes name the tasks that could not be compared."""
    (_, ref), rows, notes = records[0], [], []
    for name, record in records[1:]:
        for task in sorted(set(ref.results) & set(record.results)):
            if ref.data.get(task) != record.data.get(task):
                notes.append(f"{name}: {task} was evaluated on other data files (sha256 differ); not compared")
                continue
            for family in FAMILIES:
                for measure in MEASURES:
                    row = _difference(name, task, ref.results[task], record.results[task], family, measure, bootstrap_of(ref))
                    if row is not None:
                        rows.append(row)
    for row, p in zip(rows, holm_bonferroni([r.p for r in rows]), strict=True):
        row.p_holm = float(p)
    return rows, notes


def _mark(row: Difference) -> Cell:
    if row.p_holm >= ALPHA:
        return Cell("–", None, "text")
    better = REGISTRY[row.measure].sign() * row.delta > 0
    return Cell("▲ better" if better else "▼ worse", None, "text sig " + ("better" if better else "worse"))


def side_by_side(records: list[tuple[str, RunRecord]]) -> str:
    rows, notes = differences(records)
    reference = records[0][0]
    body = [
        [text(r.model), text(task_title(r.task)), text(r.family), text(label(r.measure)),
         num(r.reference, digits(r.measure)), num(r.value, digits(r.measure)), _signed(r.delta, digits(r.measure)),
         Cell(f"[{r.low:+.{digits(r.measure)}f}, {r.high:+.{digits(r.measure)}f}]", r.low), _p(r.p_holm), _mark(r)]
        for r in rows
    ]  # fmt: skip
    headers = ["model", "task", "family", "measure", esc_ref(reference), "model value", "Δ", "95 % interval of Δ", "p (Holm)", "significant"]
    intro = (
        f"<p class='note'>Each record against <b>{esc(reference)}</b> (the first given), on the settings both hold. "
        "Δ = model − reference macro; interval: paired bootstrap over questions (same draws for both records); "
        f"p: paired randomization test over questions ({DEFAULT_PERMUTATIONS} permutations), Holm-corrected across "
        f"the {len(rows)} rows; marked where p (Holm) &lt; {ALPHA}, ▲/▼ in the measure's own direction "
        "(lower rank distance is better).</p>"
    )
    extra = "".join(f"<p class='note'>{esc(n)}</p>" for n in notes)
    return intro + table(headers, body) + extra


def esc_ref(name: str) -> str:
    return f"reference ({name})"


def _signed(value: float, places: int) -> Cell:
    return Cell(f"{value:+.{places}f}", float(value))


def _p(p: float) -> Cell:
    return Cell(f"{p:.3g}", float(p))
