"""The report's tables: what the records cover (top of the page), family macros and settings with intervals.

Family intervals are the record's own (bootstrap over questions, written by
``run``); a setting's interval is worked out here the same way (questions
resampled, the record's resample count and seed) with :func:`family_intervals`
over that one setting.
"""

from __future__ import annotations

from xlir_bench.analysis.report_html import Cell, esc, num, table, text
from xlir_bench.core.constants import DEFAULT_TASKS, FAMILIES
from xlir_bench.data.tasks import registry
from xlir_bench.measures import REGISTRY
from xlir_bench.records.schema import RunRecord, TaskResult
from xlir_bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, family_intervals

HEADLINE = ("map", "recall@10", "ndcg@10", "mrr@10")
SETTING_MEASURES = (*HEADLINE, "rank_distance", "rank_distance_norm")
Named = list[tuple[str, RunRecord]]


def digits(name: str) -> int:
    return 1 if name == "rank_distance" else 4


def task_order(task: str) -> tuple[int, str]:
    """The default tasks first, in their order, then the others by name."""
    order = {name: i for i, name in enumerate(DEFAULT_TASKS)}
    return order.get(task, len(order)), task


def task_title(task: str) -> str:
    specs = registry()
    return f"{specs[task].title} ({task})" if task in specs and specs[task].title != task else task


def bias_measures(results: list[TaskResult]) -> list[str]:
    """Every registered multilingual-pool (language bias) measure some record holds, rank distance first."""
    held = {n for r in results for n in r.macro.get("multi", {})}
    names = ["rank_distance", *(n for n, m in REGISTRY.items() if m.scope == "multi" and not m.opt_in and n != "rank_distance")]
    return [n for n in names if n in held]


def label(name: str) -> str:
    return REGISTRY[name].label if name in REGISTRY else name


def family_table(records: list[tuple[str, TaskResult]], names: list[str], families: tuple[str, ...] = FAMILIES) -> str:
    """Per (record,) family: settings count and each measure as value ± half the 95 % interval."""
    several = len(records) > 1
    rows = []
    for model, result in records:
        intervals = result.extra.get("intervals", {})
        for family in (f for f in families if f in result.macro):
            count = sum(s.family == family for s in result.settings)
            lead = ([text(model)] if several else []) + [text(family), num(count, 0)]
            metrics = result.macro[family]
            rows.append(lead + [num(metrics.get(n), digits(n), intervals.get(family, {}).get(n)) for n in names])
    headers = (["model"] if several else []) + ["family", "settings"] + [label(n) for n in names]
    return table(headers, rows)


def setting_table(records: list[tuple[str, TaskResult, dict]]) -> str:
    """Every setting: questions and the headline measures (and rank distance) with a bootstrap interval."""
    several = len(records) > 1
    rows = []
    names = [n for n in SETTING_MEASURES if any(n in s.per_query for _, r, _ in records for s in r.settings)]
    for model, result, boot in records:
        for s in sorted(result.settings, key=lambda s: (FAMILIES.index(s.family), s.query_lang, s.pool)):
            held = [n for n in names if n in s.per_query]
            iv = family_intervals({n: [(s.query_ids, s.values(n))] for n in held}, *boot) if held else {}
            lead = ([text(model)] if several else []) + [text(f"{s.query_lang} → {s.pool}"), text(s.family)]
            cells = [_interval_cell(s.metrics.get(n), iv.get(n), digits(n)) for n in names]
            rows.append([*lead, num(s.n_queries or len(s.query_ids), 0), *cells])
    headers = (["model"] if several else []) + ["setting", "family", "questions"] + [label(n) for n in names]
    return table(headers, rows)


def _interval_cell(value, interval, places: int) -> Cell:
    return num(value, places, None if interval is None else [interval.low, interval.high])


def bootstrap_of(record: RunRecord) -> tuple[int, int]:
    boot = record.extra.get("bootstrap") or {}
    return int(boot.get("resamples") or DEFAULT_RESAMPLES), int(boot.get("seed", DEFAULT_SEED))


def selection_table(records: Named) -> str:
    """Which tasks, languages and families each record covers, with setting and question counts."""
    rows = []
    for name, record in records:
        for task, result in sorted(record.results.items(), key=lambda item: task_order(item[0])):
            chosen = record.selection.get(task) if isinstance(record.selection.get(task), dict) else {}
            langs = chosen.get("langs") or sorted({s.query_lang for s in result.settings})
            families = chosen.get("families") or [f for f in FAMILIES if f in result.macro]
            questions = sum(s.n_queries or len(s.query_ids) for s in result.settings if s.family == "mono")
            rows.append([text(name), text(task_title(task)), num(len(langs), 0), text(", ".join(map(str, langs))),
                         text(", ".join(map(str, families))), num(len(result.settings), 0), num(questions, 0)])  # fmt: skip
    headers = ["model", "task", "languages", "language codes", "families", "settings", "questions (all languages)"]
    return table(headers, rows)


def model_table(records: Named) -> str:
    """One column per record: model, fingerprint, date, retriever, intervals, run time."""
    fields = [
        ("fingerprint", lambda r: r.fingerprint),
        ("created", lambda r: r.created),
        ("retriever", lambda r: ", ".join(f"{k} {v}" for k, v in (r.extra.get("retriever") or {}).items())),
        ("intervals", lambda r: _bootstrap_text(r)),
        ("perturbation", lambda r: " + ".join(map(str, (r.extra.get("perturbation") or {}).get("spec", [])))),
        ("run time", lambda r: f"{r.timings['total_s']:.0f} s" if r.timings.get("total_s") is not None else ""),
    ]
    head = "<tr><th></th>" + "".join(f"<th>{esc(name)}</th>" for name, _ in records) + "</tr>"
    body = "".join(
        f"<tr><th>{esc(field)}</th>" + "".join(f"<td>{esc(get(r))}</td>" for _, r in records) + "</tr>"
        for field, get in fields
        if any(get(r) for _, r in records)
    )
    return f"<div class='scroll'><table class='meta'>{head}{body}</table></div>"


def _bootstrap_text(record: RunRecord) -> str:
    boot = record.extra.get("bootstrap") or {}
    if not boot.get("resamples"):
        return ""
    return f"{boot.get('confidence', 0.95):.0%} bootstrap, {boot['resamples']} question resamples, seed {boot.get('seed', 0)}"


def provenance(records: Named) -> str:
    """Data checksums, package versions and timings, folded away (they are for audits, not for reading)."""
    parts = []
    for name, record in records:
        files = [(f"{task}: {path}", sha) for task in sorted(record.data) for path, sha in sorted(record.data[task].items())]
        rows = files + [(f"version {k}", v) for k, v in sorted(record.versions.items())]
        rows += [(f"timing {k}", f"{v:.2f} s") for k, v in record.timings.items() if v is not None]
        body = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in rows)
        summary = f"{name}: {len(files)} data files (sha256), {len(record.versions)} package versions, timings"
        parts.append(f"<details><summary>{esc(summary)}</summary><div class='scroll'><table class='meta'>{body}</table></div></details>")
    return "\n".join(parts)
