"""The leaderboard as a page: one sortable table per task (and data version), filters by task, family and model.

Rendered from :func:`~xlir_bench.leaderboard.leaderboard`'s frame. Columns the
frame gains beyond the known ones (seed groups, training-data flags, ... added
by other tools) are shown as they come: a list as tags, a flag as "yes", other
values as text, so a new row field needs no change here.
"""

from __future__ import annotations

from typing import Any

from xlir_bench.analysis.report_html import Cell, esc, num, page, table, text

FAMILY_COLUMNS = ("multi", "cross", "mono")
# Frame columns rendered by name below, or internal to the ranking; every other column is an extra.
KNOWN = {"rank", "position", "task", "data", "model", "p vs next", "date", "fingerprint", "langs", "languages", "record",
         *FAMILY_COLUMNS, *(f"{f} 95% CI" for f in FAMILY_COLUMNS)}  # fmt: skip

# a wide page (a leaderboard row has ~14 columns) with compact cells; the task menu no wider than its longest title
PAGE_STYLE = "body{max-width:1600px}table.data{font-size:.84em}table.data th,table.data td{padding:.22em .45em}table.data thead th{white-space:normal;vertical-align:bottom;max-width:8em}.filters select{max-width:22em}"

FILTER_JS = """
(function(){
  var task = document.getElementById("f-task"), fam = document.getElementById("f-family"), q = document.getElementById("f-model");
  function apply(){
    document.querySelectorAll("section.group").forEach(function(s){ s.hidden = task.value !== "" && s.getAttribute("data-task") !== task.value; });
    ["multi", "cross", "mono"].forEach(function(f){
      document.querySelectorAll(".fam-" + f).forEach(function(c){ c.hidden = fam.value !== "" && fam.value !== f; });
    });
    var needle = q.value.toLowerCase();
    document.querySelectorAll("section.group tbody tr").forEach(function(r){
      r.hidden = needle !== "" && r.getAttribute("data-model").toLowerCase().indexOf(needle) < 0; });
  }
  [task, fam, q].forEach(function(e){ e.addEventListener("input", apply); e.addEventListener("change", apply); });
})();
"""


# measures counted in ranks (rank distance, its pairwise reading): one decimal; ratios and scores four
RANK_MEASURES = ("rank_distance", "rank_distance_pairs")


def digits(name: str) -> int:
    """Decimals of measure ``name`` in every leaderboard format."""
    return 1 if name in RANK_MEASURES else 4


def _extra(value: Any) -> Cell:
    """A row field another tool added: lists as tags, booleans as yes/blank, the rest as text."""
    if isinstance(value, (list, tuple, set)):
        return Cell(", ".join(map(str, value)), None, "text tags")
    if isinstance(value, bool):
        return text("yes" if value else "")
    if value is None or (isinstance(value, float) and value != value):
        return text("")
    if isinstance(value, (int, float)):
        return num(float(value), 0 if float(value).is_integer() else 4)
    return text(value)


def _row(row: dict[str, Any], metric: str, measures: dict[str, str], extras: list[str]) -> list[Cell]:
    cells = [Cell(str(row["rank"]), float(row["position"]), "text"), text(row["model"])]
    cells += [_family_cell(row, f, metric) for f in FAMILY_COLUMNS]
    cells.append(Cell(row["p vs next"], float(row["p vs next"]) if row["p vs next"] else None))
    cells += [_measure_cell(row.get(column), name) for column, name in measures.items()]
    cells += [_extra(row.get(c)) for c in extras]
    cells += [num(row.get("langs"), 0), text(f"{row['date']} · {row['fingerprint']}")]
    return cells


def _family_cell(row: dict[str, Any], family: str, metric: str) -> Cell:
    value = row.get(family)
    cell = num(None if value is None or value != value else float(value), digits(metric), row.get(f"{family} 95% CI"))
    return Cell(cell.text, cell.sort, f"fam-{family}")


def _measure_cell(value, name: str) -> Cell:
    cell = num(None if value is None or value != value else float(value), digits(name))
    return Cell(cell.text, cell.sort, "fam-multi")


def _group(title: str, task: str, group, metric: str, measures: dict[str, str], extras: list[str]) -> str:
    rows = group.astype(object).where(group.notna(), None).to_dict("records")
    headers = ["rank", "model", *FAMILY_COLUMNS, "p vs next", *measures, *extras, "langs", "date · fingerprint"]
    css = ["text", "text", *(f"fam-{f}" for f in FAMILY_COLUMNS), "", *(["fam-multi"] * len(measures))]
    css += [""] * (len(headers) - len(css))
    body = [_row(r, metric, measures, extras) for r in rows]
    attrs = [f"data-model='{esc(r['model'])}'" for r in rows]
    return f"<section class='group' data-task='{esc(task)}'><h2>{esc(title)}</h2>{table(headers, body, '', attrs, css)}</section>"


def _filters(tasks: list[tuple[str, str]]) -> str:
    options = "".join(f"<option value='{esc(t)}'>{esc(title)}</option>" for t, title in tasks)
    families = "".join(f"<option value='{f}'>{f}</option>" for f in FAMILY_COLUMNS)
    return (
        "<div class='filters'>"
        f"<span><label for='f-task'>task</label> <select id='f-task'><option value=''>all tasks</option>{options}</select></span>"
        f"<span><label for='f-family'>family</label> <select id='f-family'><option value=''>all families</option>{families}</select></span>"
        "<span><label for='f-model'>model</label> <input id='f-model' type='search' placeholder='name contains…'></span>"
        "</div>"
    )


def render_html(frame, groups, header: str, measures: dict[str, str]) -> str:
    """The page: intro, filters, then one section per (task, data version) from ``groups`` (title, group)."""
    metric = frame.attrs.get("metric", "map")
    extras = [c for c in frame.columns if c not in KNOWN and c not in measures and not str(c).startswith("_")]
    sections, tasks = [], {}
    for title, group in groups:
        task = str(group["task"].iloc[0])
        tasks.setdefault(task, title.split(" — ")[0])
        sections.append(_group(title, task, group, metric, measures, extras))
    records = frame["record"].nunique()
    intro = (
        f"<h1>xlir-bench leaderboard</h1><p>{esc(header)}</p>"
        f"<p class='note'>{records} run records. multi/cross/mono: value ± half the 95 % bootstrap interval; "
        "the measure columns are multilingual-pool macros (rank distance: lower is better). "
        "Click a column header to sort.</p>"
    )
    body = intro + _filters(list(tasks.items())) + "\n".join(sections)
    return page("xlir-bench leaderboard", body, False, FILTER_JS, PAGE_STYLE)
