"""A sweep report as Markdown and HTML: its blocks, tables, plots and escaping."""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path
from typing import Any

FAMILIES = ("mono", "cross", "multi")
ALPHA = 0.05
INTERVAL_NOTE = (
    "mean over seeds; interval: [min, max] for 2 seeds, 95 % Student-t interval for 3 or more, none for 1 seed"
)


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
            config,
            f"{sig['seeds'][1]} vs {sig['seeds'][0]}",
            f,
            _fmt(r["baseline"]),
            _fmt(r["cell"]),
            f"{r['delta']:+.4f} [{_signed(r['low'])}, {_signed(r['high'])}]",
            _p(r["p"]),
            _p(r["p_holm"]),
            _fmt(r["mdd"]),
            _verdict(r),
        ]
        for config, sig in data["significance"].items()
        for f, r in sig["families"].items()
    ]
    return [
        ("h", 3, f"Configurations against {plan['baseline']}'s configuration (mAP)"),
        (
            "p",
            "Delta of the mean seed macros (configuration - baseline) with the 95 % interval of its test "
            "(t interval over training runs; with one record per side, a bootstrap over articles); p from a t-test whose unit is the training run (one side with one record: "
            "the other side's seed spread; one record each: a randomization test over articles), Holm across the "
            "families of each configuration; MDD: the smallest delta this many seeds detect with 80 % power. "
            "Inconclusive: the test does not reject.",
        ),
        ("table", ["configuration", "seeds", "family", "baseline", "mAP", "delta [95 %]", "p", "p (Holm)", "MDD", "reading"], rows),
    ]


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.4f}"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _verdict(row: dict[str, Any]) -> str:
    if row["p_holm"] is None:
        return "untestable"
    if row["p_holm"] >= ALPHA:
        return "inconclusive"
    return "better" if row["delta"] > 0 else "worse"


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
