"""The report of a sweep: ``DIR/report.md``, ``DIR/report.html`` and ``DIR/report.json``.

Every number comes from the cells' run records (``DIR/cells/<cell>/runs/*.json.gz``)
and the plan in ``DIR/sweep.json``:

* per configuration (a cell without its seed): the mean over seeds of each
  family's macro mAP and of the multilingual rank distance, with an interval —
  [min, max] for two seeds, a 95 % Student-t interval for three or more, none for one;
* paired significance of every cell against the baseline cell, per task and
  family, from :func:`xlir_bench.compare.compare` (randomization and t-test over
  questions; settings better or worse at Holm-corrected p < 0.05);
* macro mAP over seen and unseen query languages (seen: a language of the
  training pairs);
* robustness (perturbed / clean mAP) when the grid perturbs the questions;
* plots of each family's mAP and of rank distance against the mono ratio α
  (mono batches at α = 1, cross batches at α = 0).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import XlirError
from .record import load_record, write_atomic

FAMILIES = ("mono", "cross", "multi")
ALPHA = 0.05
INTERVAL_NOTE = (
    "mean over seeds; interval: [min, max] for 2 seeds, 95 % Student-t interval for 3 or more, none for 1 seed"
)


def interval(values: list[float]) -> dict[str, Any]:
    """Mean of ``values`` with the interval named in :data:`INTERVAL_NOTE`."""
    n = len(values)
    mean = float(np.mean(values))
    if n == 1:
        return {"mean": mean, "low": None, "high": None, "n": 1, "kind": "single"}
    if n == 2:
        return {"mean": mean, "low": float(min(values)), "high": float(max(values)), "n": 2, "kind": "min-max"}
    from scipy import stats

    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n, "kind": "t95"}


def load_sweep(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "sweep.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["plan"]
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise XlirError(
            f"{path}: not a sweep output folder (no readable sweep.json); run `xlir-bench sweep` first"
        ) from exc


def _alpha(plan: dict[str, Any], options: dict[str, Any] | None) -> float | None:
    """The share of monolingual batches: 1 for mono, 0 for cross, the ratio (or pool share) for hybrid.

    None for the base and for mixed batches (each batch mixes both kinds, so no batch has a type).
    """
    if options is None or options["strategy"] == "mixed":
        return None
    if options["strategy"] != "hybrid":
        return 1.0 if options["strategy"] == "mono" else 0.0
    if options["mono_ratio"] is not None:
        return options["mono_ratio"]
    pairs = plan["pairs"]
    return pairs["mono"] / (pairs["mono"] + pairs["cross"])


def _cells(plan: dict[str, Any]) -> list[dict[str, Any]]:
    cells = [{"name": "base", "config": "base", "options": None}] if plan["reference"] else []
    return cells + plan["cells"]


def _records(folder: Path, plan: dict[str, Any]) -> dict[str, dict[str, tuple[Path, dict[str, Any]]]]:
    """cell -> key (task or task-perturbed) -> (path, record), for the records present."""
    out: dict[str, dict[str, tuple[Path, dict[str, Any]]]] = {}
    for cell in _cells(plan):
        for spec in plan["evals"]:
            for key in (spec["task"], f"{spec['task']}-perturbed"):
                path = folder / "cells" / cell["name"] / "runs" / f"{key}.json.gz"
                if path.is_file():
                    out.setdefault(cell["name"], {})[key] = (path, load_record(path).to_json())
    return out


def _cell_numbers(record: dict[str, Any], task: str, seen: list[str]) -> dict[str, Any]:
    """One cell's numbers on one task, straight from its record."""
    result = record["results"][task]
    macro, by_lang = result["macro"], result["by_query_lang"]
    numbers: dict[str, Any] = {"map": {f: macro[f]["map"] for f in FAMILIES if f in macro}}
    if "multi" in macro:
        numbers["rank_distance"] = macro["multi"].get("rank_distance")
    for label, chosen in (
        ("seen", [lang for lang in by_lang if lang in seen]),
        ("unseen", [lang for lang in by_lang if lang not in seen]),
    ):
        numbers[label] = {
            f: float(np.mean([by_lang[lang][f]["map"] for lang in chosen]))
            for f in FAMILIES
            if chosen and all(f in by_lang[lang] and by_lang[lang][f]["map"] is not None for lang in chosen)
        }
    return numbers


def _robustness(record: dict[str, Any], task: str) -> dict[str, Any]:
    macro = record["results"][task]["macro"]
    return {
        f: {
            "clean": record["clean"][task]["macro"][f]["map"],
            "perturbed": macro[f]["map"],
            "ratio": record["robustness"][task]["macro"][f]["map"],
        }
        for f in record["robustness"][task]["macro"]
    }


def _significance(base_path: Path, cell_path: Path, permutations: int) -> dict[str, Any]:
    from .compare import compare

    comparison = compare(str(base_path), str(cell_path), n_permutations=permutations)
    significant = [r for r in comparison.settings if r.p_holm is not None and r.p_holm < ALPHA]
    return {
        "families": {
            r.family: {
                "baseline": r.baseline,
                "cell": r.candidate,
                "delta": r.delta,
                "p_randomization": r.p_randomization,
                "p_ttest": r.p_ttest,
                "n_questions": r.n,
            }
            for r in comparison.families
        },
        "settings": len(comparison.settings),
        "settings_better": sum(r.delta > 0 for r in significant),
        "settings_worse": sum(r.delta < 0 for r in significant),
    }


def summarize(folder: str | Path) -> dict[str, Any]:
    """The report's numbers (``report.json``): per cell, per configuration over seeds, significance, robustness."""
    folder = Path(folder)
    plan = load_sweep(folder)
    records = _records(folder, plan)
    seen_langs = plan["train_langs"]
    summary: dict[str, Any] = {
        "name": plan["name"],
        "baseline": plan["baseline"],
        "interval": INTERVAL_NOTE,
        "train_langs": seen_langs,
        "tasks": {},
        "missing": [],
    }
    cells = _cells(plan)
    summary["missing"] = [c["name"] for c in cells if set(records.get(c["name"], {})) < _keys(plan)]
    for spec in plan["evals"]:
        task = spec["task"]
        done = [c for c in cells if task in records.get(c["name"], {})]
        perturbation = list(plan["perturb"])
        per_cell = {c["name"]: _cell_numbers(records[c["name"]][task][1], task, seen_langs) for c in done}
        for c in done:
            if f"{task}-perturbed" in records[c["name"]]:
                perturbed = records[c["name"]][f"{task}-perturbed"][1]
                per_cell[c["name"]]["robustness"] = _robustness(perturbed, task)
                # a study perturbed after it was run has the spec in its records, not in its plan
                perturbation = perturbed["perturbation"]["spec"]
        langs = sorted(records[done[0]["name"]][task][1]["results"][task]["by_query_lang"]) if done else []
        summary["tasks"][task] = {
            "seen_data": spec["seen"],
            "seen_langs": [lang for lang in langs if lang in seen_langs],
            "unseen_langs": [lang for lang in langs if lang not in seen_langs],
            "cells": per_cell,
            "configs": _configs(plan, done, per_cell),
            "significance": _all_significance(plan, records, task, done),
        }
        if perturbation:
            summary["tasks"][task]["perturbation"] = perturbation
    return summary


def _keys(plan: dict[str, Any]) -> set[str]:
    keys = {spec["task"] for spec in plan["evals"]}
    return keys | ({f"{k}-perturbed" for k in keys} if plan["perturb"] else set())


def _configs(plan, done, per_cell) -> dict[str, Any]:
    """Per configuration: the seeds' cells and the mean and interval of every number."""
    configs: dict[str, Any] = {}
    for cell in done:
        entry = configs.setdefault(
            cell["config"],
            {
                "cells": [],
                "alpha": _alpha(plan, cell["options"]),
                "strategy": (cell["options"] or {}).get("strategy", "base"),
            },
        )
        entry["cells"].append(cell["name"])
    for entry in configs.values():
        numbers = [per_cell[name] for name in entry["cells"]]
        entry["map"] = _over_seeds([n["map"] for n in numbers])
        if all(n.get("rank_distance") is not None for n in numbers) and "rank_distance" in numbers[0]:
            entry["rank_distance"] = interval([n["rank_distance"] for n in numbers])
        entry["seen"] = _over_seeds([n["seen"] for n in numbers])
        entry["unseen"] = _over_seeds([n["unseen"] for n in numbers])
        if all("robustness" in n for n in numbers):
            entry["robustness"] = {
                f: {k: interval([n["robustness"][f][k] for n in numbers]) for k in ("clean", "perturbed", "ratio")}
                for f in numbers[0]["robustness"]
            }
    return configs


def _over_seeds(dicts: list[dict[str, float]]) -> dict[str, Any]:
    keys = [k for k in dicts[0] if all(d.get(k) is not None for d in dicts)]
    return {k: interval([d[k] for d in dicts]) for k in keys}


def _all_significance(plan, records, task, done) -> dict[str, Any]:
    baseline = plan["baseline"]
    if task not in records.get(baseline, {}):
        return {}
    base_path = records[baseline][task][0]
    return {
        c["name"]: _significance(base_path, records[c["name"]][task][0], plan["permutations"])
        for c in done
        if c["name"] != baseline
    }


# ---------------------------------------------------------------- rendering


def md_escape(text: Any) -> str:
    """Text safe in a Markdown table cell or paragraph: Markdown and HTML specials escaped, one line."""
    out = str(text).replace("\\", "\\\\")
    for char in "|*_`[]<>#!{}~":
        out = out.replace(char, "\\" + char)
    return " ".join(out.replace("&", "&amp;").split())


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # an interval
        text = f"{value['mean']:.{digits}f}"
        if value["low"] is not None:
            text += f" [{value['low']:.{digits}f}, {value['high']:.{digits}f}]"
        return text
    return f"{value:.{digits}f}"


def _blocks(summary: dict[str, Any], plan: dict[str, Any], figures: dict[str, list[tuple[str, str]]]) -> list[tuple]:
    """The report as a list of blocks, rendered to Markdown and HTML alike."""
    pairs = plan["pairs"]
    blocks: list[tuple] = [
        ("h", 1, f"Sweep report: {summary['name']}"),
        (
            "p",
            f"Base model {plan['base_name']}; training data {pairs['mono'] + pairs['cross']} pairs "
            f"({pairs['mono']} monolingual, {pairs['cross']} cross-lingual) in {', '.join(plan['train_langs'])}; "
            f"baseline cell {summary['baseline']}. Numbers: {summary['interval']}.",
        ),
    ]
    if summary["missing"]:
        blocks.append(
            ("p", f"Not finished (left out where their records are missing): {', '.join(summary['missing'])}.")
        )
    for task, data in summary["tasks"].items():
        kind = "seen in training, not zero-shot" if data["seen_data"] else "zero-shot"
        blocks.append(("h", 2, f"{task} ({kind})"))
        blocks += _task_blocks(task, data, plan)
        for path, alt in figures.get(task, []):
            blocks.append(("img", path, alt))
    blocks += _cell_table(summary, plan)
    return blocks


def _task_blocks(task: str, data: dict[str, Any], plan: dict[str, Any]) -> list[tuple]:
    headers = ["configuration", "α", "seeds", "mono mAP", "cross mAP", "multi mAP", "rank distance (multi)"]
    rows = [
        [config, _fmt(entry["alpha"], 2), str(len(entry["cells"]))]
        + [_fmt(entry["map"].get(f)) for f in FAMILIES]
        + [_fmt(entry.get("rank_distance"), 1)]
        for config, entry in data["configs"].items()
    ]
    blocks: list[tuple] = [("h", 3, "mAP and rank distance per configuration"), ("table", headers, rows)]
    return blocks + _significance_blocks(data, plan) + _seen_blocks(data) + _robustness_blocks(data)


def _significance_blocks(data: dict[str, Any], plan: dict[str, Any]) -> list[tuple]:
    if not data["significance"]:
        return []
    rows = [
        [
            cell,
            f,
            _fmt(r["baseline"]),
            _fmt(r["cell"]),
            f"{r['delta']:+.4f}",
            f"{r['p_randomization']:.4g}",
            f"{r['p_ttest']:.4g}",
            f"{sig['settings_better']}/{sig['settings_worse']} of {sig['settings']}",
        ]
        for cell, sig in data["significance"].items()
        for f, r in sig["families"].items()
    ]
    return [
        ("h", 3, f"Paired significance against {plan['baseline']} (mAP)"),
        (
            "p",
            "Family macro delta (cell - baseline) with the paired randomization and t-test p over questions "
            "(xlir-bench compare); settings: significantly better / worse of all at Holm-corrected p < 0.05.",
        ),
        ("table", ["cell", "family", "baseline", "cell mAP", "delta", "p (rand.)", "p (t)", "settings +/-"], rows),
    ]


def _seen_blocks(data: dict[str, Any]) -> list[tuple]:
    seen, unseen = data["seen_langs"], data["unseen_langs"]
    if not seen or not unseen:  # one side empty: the split would only repeat the configuration table
        return [("p", f"Query languages seen in the training pairs: {', '.join(seen) or 'none'}.")]
    rows = [
        [config] + [_fmt(entry[s].get(f)) for s in ("seen", "unseen") for f in FAMILIES]
        for config, entry in data["configs"].items()
    ]
    return [
        ("h", 3, "Seen and unseen query languages (macro mAP)"),
        ("p", f"Seen (in the training pairs): {', '.join(seen) or 'none'}; unseen: {', '.join(unseen) or 'none'}."),
        ("table", ["configuration"] + [f"{s} {f}" for s in ("seen", "unseen") for f in FAMILIES], rows),
    ]


def _robustness_blocks(data: dict[str, Any]) -> list[tuple]:
    robust = {c: e["robustness"] for c, e in data["configs"].items() if "robustness" in e}
    if not robust:
        return []
    rows = [
        [c, f, _fmt(r["clean"]), _fmt(r["perturbed"]), _fmt(r["ratio"])]
        for c, e in robust.items()
        for f, r in e.items()
    ]
    return [
        ("h", 3, f"Robustness to {' + '.join(data['perturbation'])} (perturbed / clean mAP)"),
        ("table", ["configuration", "family", "clean mAP", "perturbed mAP", "perturbed / clean"], rows),
    ]


def _cell_table(summary: dict[str, Any], plan: dict[str, Any]) -> list[tuple]:
    rows = []
    for task, data in summary["tasks"].items():
        for cell, numbers in data["cells"].items():
            rows.append(
                [cell, task] + [_fmt(numbers["map"].get(f)) for f in FAMILIES] + [_fmt(numbers.get("rank_distance"), 1)]
            )
    headers = ["cell", "task", "mono mAP", "cross mAP", "multi mAP", "rank distance"]
    return [("h", 2, "Every cell (one seed each)"), ("table", headers, rows)]


def render_markdown(blocks: list[tuple]) -> str:
    out = []
    for block in blocks:
        if block[0] == "h":
            out.append("#" * block[1] + " " + md_escape(block[2]))
        elif block[0] == "p":
            out.append(md_escape(block[1]))
        elif block[0] == "img":
            out.append(f"![{md_escape(block[2])}]({block[1]})")
        else:
            _, headers, rows = block
            lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:0 1.5em 1.5em 0}
figcaption{font-size:.85em;color:#555}"""


def render_html(blocks: list[tuple], folder: Path) -> str:
    esc = html.escape
    out = []
    for block in blocks:
        if block[0] == "h":
            out.append(f"<h{block[1]}>{esc(block[2])}</h{block[1]}>")
        elif block[0] == "p":
            out.append(f"<p>{esc(block[1])}</p>")
        elif block[0] == "img":
            png = base64.b64encode((folder / block[1]).read_bytes()).decode("ascii")
            out.append(
                f'<figure><img alt="{esc(block[2])}" src="data:image/png;base64,{png}">'
                f"<figcaption>{esc(block[2])}</figcaption></figure>"
            )
        else:
            _, headers, rows = block
            head = "".join(f"<th>{esc(h)}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table><tr>{head}</tr>{body}</table>")
    title = esc(blocks[0][2])
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style>"
        "</head>\n<body>\n" + "\n".join(out) + "\n</body></html>\n"
    )


# ---------------------------------------------------------------- plots


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _plots(folder: Path, summary: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Per task: each family's mAP and the rank distance against α; empty without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return {}
    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    figures: dict[str, list[tuple[str, str]]] = {}
    for task, data in summary["tasks"].items():
        points = [(e["alpha"], e) for e in data["configs"].values() if e["alpha"] is not None]
        points.sort(key=lambda item: item[0])
        if not points:
            continue
        for metric, families, label in (("map", FAMILIES, "mAP"), ("rank_distance", ("multi",), "rank distance")):
            fig, ax = plt.subplots(figsize=(5.2, 3.4))
            drawn = False
            for family in families:
                series = [(a, e[metric] if metric == "rank_distance" else e["map"].get(family)) for a, e in points]
                series = [(a, v) for a, v in series if v]
                if not series:
                    continue
                drawn = True
                xs = [a for a, _ in series]
                means = [v["mean"] for _, v in series]
                errors = [
                    [v["mean"] - (v["low"] if v["low"] is not None else v["mean"]) for _, v in series],
                    [(v["high"] if v["high"] is not None else v["mean"]) - v["mean"] for _, v in series],
                ]
                drawn_line = ax.errorbar(xs, means, yerr=errors, marker="o", capsize=3, label=family)
                base = data["configs"].get("base")
                reference = (
                    (base or {}).get(metric) if metric == "rank_distance" else (base or {}).get("map", {}).get(family)
                )
                if reference:  # the untrained model, for scale
                    ax.axhline(reference["mean"], linestyle="--", linewidth=0.8, color=drawn_line.lines[0].get_color())
            if not drawn:
                plt.close(fig)
                continue
            ax.set_xlabel("α = P(monolingual batch)  (cross = 0, mono = 1)")
            ax.set_ylabel(label)
            ax.set_title(f"{task}: {label} against α")
            if metric == "map":
                ax.legend(fontsize=8)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
            plt.close(fig)
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in task)  # a user's task name
            name = f"report/{safe}-{metric.replace('_', '-')}.png"
            _write_bytes(folder / name, buffer.getvalue())
            alt = f"{task}: {label} against the mono ratio α, mean over seeds with the interval; dashed: untrained base"
            figures.setdefault(task, []).append((name, alt))
    return figures


def write_report(folder: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` (and plots under ``report/``) in ``folder``."""
    folder = Path(folder)
    plan = load_sweep(folder)
    summary = summarize(folder)
    blocks = _blocks(summary, plan, _plots(folder, summary))
    return {
        "json": write_atomic(folder / "report.json", json.dumps(summary, indent=1, allow_nan=False)),
        "md": write_atomic(folder / "report.md", render_markdown(blocks)),
        "html": write_atomic(folder / "report.html", render_html(blocks, folder)),
    }
