"""The HTML shell shared by the report and the leaderboard page: style, sortable tables, inlined charts.

Every page is one self-contained file: the style, the table script and (for a
page with charts) plotly.js are inlined, so it opens with no network. Text from
records is escaped here (``cell``/``esc``); nothing else in a page is markup.
Tables sort on a click on their header (numbers by the ``data-sort`` value, so
``0.6554 ± 0.0192`` sorts by 0.6554), and cells never wrap.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

STYLE = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--head:#f6f8fa;--accent:#0969da}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1280px;padding:0 1.5em;color:var(--ink);line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{margin-top:1.4em;font-size:1.1em}p.note,figcaption,.muted{color:var(--muted);font-size:.88em}
.scroll{overflow-x:auto;max-width:100%;margin:.4em 0 1em}
table.data{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.9em}
table.data th,table.data td{border:1px solid var(--line);padding:.25em .6em;white-space:nowrap}
table.data td{text-align:right}table.data td.text,table.data th.text{text-align:left}
table.data thead th{background:var(--head);position:sticky;top:0;cursor:pointer;user-select:none}
table.data thead th:after{content:"\\00a0\\2195";color:#8c959f;font-size:.8em}
table.data thead th[aria-sort=ascending]:after{content:"\\00a0\\2191";color:var(--ink)}
table.data thead th[aria-sort=descending]:after{content:"\\00a0\\2193";color:var(--ink)}
table.data tbody tr:nth-child(even){background:#fbfcfd}table.data tbody tr:hover{background:#eef4fb}
table.meta{border-collapse:collapse;font-size:.9em}table.meta th{text-align:left;padding:.15em 1.2em .15em 0;font-weight:600;white-space:nowrap;vertical-align:top}
table.meta td{padding:.15em 1.2em .15em 0}code{font-size:.92em}
details{margin:.3em 0}summary{cursor:pointer;color:var(--accent)}
.tall .scroll{max-height:520px;overflow:auto}
.plot{width:100%;max-width:1180px}figure{margin:0 0 1.2em}
.filters{display:flex;gap:1.2em;flex-wrap:wrap;align-items:center;margin:.6em 0;padding:.5em .8em;background:var(--head);border:1px solid var(--line);border-radius:6px}
.filters label{font-weight:600}.flag{display:inline-block;padding:0 .45em;border-radius:1em;background:#ddf4ff;color:#0550ae;font-size:.85em;margin-right:.2em}
.sig{font-weight:700}.worse{color:#a0111f}.better{color:#0a5c2e}
"""

# Sorting: numbers by data-sort when every non-empty cell has one, else text; empty cells last either way.
SORT_JS = """
document.querySelectorAll("table.data").forEach(function(table){
  table.querySelectorAll("thead th").forEach(function(th, col){
    th.addEventListener("click", function(){
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function(h){ h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      function key(row){ var c = row.cells[col]; if (!c) return null;
        var s = c.getAttribute("data-sort"); if (s !== null && s !== "") return parseFloat(s);
        var t = c.textContent.trim(); return t === "" ? null : t; }
      rows.sort(function(a, b){ var x = key(a), y = key(b);
        if (x === null) return y === null ? 0 : 1; if (y === null) return -1;
        var r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
        return asc ? r : -r; });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
"""


def esc(value: object) -> str:
    """Text from a record as HTML text or attribute value."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, the number it sorts by (None: sorts as text), and extra classes."""

    text: str
    sort: float | None = None
    css: str = ""


def num(value: float | None, digits: int = 4, interval: list | None = None) -> Cell:
    """A number as ``0.6554 ± 0.0192`` (half the interval's width) sorting by the value; empty when missing."""
    if value is None or value != value:
        return Cell("")
    text = f"{value:.{digits}f}"
    if interval and None not in interval and all(v == v for v in interval):
        text += f" ± {(interval[1] - interval[0]) / 2:.{digits}f}"
    return Cell(text, float(value))


def text(value: object, css: str = "") -> Cell:
    return Cell(str(value), None, f"text {css}".strip())


def table(
    headers: list[str], rows: list[list[Cell]], attrs: str = "", row_attrs: list[str] | None = None,
    header_css: list[str] | None = None,
) -> str:
    """A sortable table; ``row_attrs`` adds attributes (already escaped) to each body row, ``header_css`` classes
    to each header cell (for filters)."""
    css = header_css or [""] * len(headers)
    head = "".join(f"<th class='{esc(c)}' scope='col'>{esc(h)}</th>" for h, c in zip(headers, css, strict=True))
    body = []
    for i, row in enumerate(rows):
        extra = f" {row_attrs[i]}" if row_attrs else ""
        body.append(f"<tr{extra}>" + "".join(_td(c) for c in row) + "</tr>")
    return f"<div class='scroll'><table class='data' {attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _td(cell: Cell) -> str:
    sort = "" if cell.sort is None else f" data-sort='{cell.sort!r}'"
    css = f" class='{esc(cell.css)}'" if cell.css else ""
    return f"<td{css}{sort}>{esc(cell.text)}</td>"


def plotly_js() -> str:
    """plotly.js itself, to inline once per page."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        from xlir_bench.core.errors import XlirError

        raise XlirError("report: plotly is not installed; pip install 'xlir-bench[report]'") from exc
    return get_plotlyjs()


def figure_div(fig, div_id: str, caption: str) -> str:
    """One chart: its data as JSON (no '</' can close the script) drawn by the inlined plotly.js."""
    import plotly.io as pio

    spec = json.loads(pio.to_json(fig, validate=False))
    payload = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    config = json.dumps({"displaylogo": False, "responsive": True, "toImageButtonOptions": {"scale": 2}})
    return (
        f"<figure><div id='{esc(div_id)}' class='plot'></div><figcaption>{esc(caption)}</figcaption></figure>\n"
        f"<script type='text/javascript'>(function(){{var f={payload};"
        f"Plotly.newPlot('{esc(div_id)}',f.data,f.layout,{config});}})();</script>"
    )


def page(title: str, body: str, charts: bool, script: str = "", style: str = "") -> str:
    """A whole page: style, plotly.js when it has charts, the body, then the table scripts."""
    lib = f"<script type='text/javascript'>{plotly_js()}</script>\n" if charts else ""
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{STYLE}{style}</style>\n{lib}</head>\n<body>\n{body}\n"
        f"<script type='text/javascript'>{SORT_JS}{script}</script>\n</body></html>\n"
    )
