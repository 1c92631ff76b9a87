"""The report and leaderboard pages: self-contained, every table cell and chart label in the page, escaped.

Values are checked against the hand-made records of test_leaderboard (each family's settings share
one mAP, so every expected cell is known without running the code under test); the heavy test
loads the pages in headless Chromium with the network off and reads the drawn DOM.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_leaderboard import make_record

from xlir_bench.analysis.leaderboard import leaderboard, render
from xlir_bench.cli.app import cli

pytest.importorskip("plotly")
REPO = Path(__file__).resolve().parents[2]
EXTERNAL = [
    r"<script[^>]*\bsrc\s*=",  # a script fetched from somewhere
    r"<link\b",  # style sheets, fonts, preloads
    r"<iframe\b",
    r"<img[^>]*\bsrc\s*=\s*['\"]?(?!data:)",
    r"@import",
    r"url\(\s*['\"]?(https?:)?//",  # a font or image from CSS
]


def write(folder: Path, name: str, fingerprint: str, values, **extra) -> Path:
    record = make_record(name, fingerprint, *values)
    for setting in record["results"]["xquad-r"]["settings"]:
        if setting["family"] == "multi" and "rank_distance_norm" in extra:
            setting["per_query"]["rank_distance_norm"] = extra["rank_distance_norm"]
            setting["metrics"]["rank_distance_norm"] = sum(extra["rank_distance_norm"]) / 2
    if "rank_distance_norm" in extra:
        record["results"]["xquad-r"]["macro"]["multi"]["rank_distance_norm"] = sum(extra["rank_distance_norm"]) / 2
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record))
    return path


def report(tmp_path: Path, *paths: Path) -> str:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", *map(str, paths), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def figures(page: str) -> dict[str, dict]:
    """Each chart's plotly spec, by its div id, as the page hands it to plotly.js."""
    found = re.findall(r"<div id='([^']+)' class='plot'></div>.*?var f=(\{.*?\});Plotly\.newPlot", page, re.S)
    return {div: json.loads(spec.replace("<\\/", "</")) for div, spec in found}


def cells(page: str) -> list[str]:
    return [html_unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", page)]


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def assert_self_contained(page: str) -> None:
    for pattern in EXTERNAL:
        assert not re.search(pattern, page, re.I), pattern


def test_one_record_page_is_self_contained_and_holds_every_value(tmp_path):
    page = report(tmp_path, write(tmp_path, "alpha", "11111111aaaa", (0.9, 0.5, 0.4)))
    assert_self_contained(page)
    assert "Plotly.newPlot" in page and page.count("<script type='text/javascript'>") >= 2  # plotly.js is inlined
    td = cells(page)
    # family macros (no intervals in these records): mono 0.9, cross 0.5, multi 0.4 over 2 settings each
    for value in ("0.9000", "0.5000", "0.4000", "5.0"):
        assert value in td, value
    # every setting, with its question count
    for setting in ("de → de", "de → en", "de → all", "en → en", "en → de", "en → all"):
        assert setting in td, setting
    assert td.count("2") >= 6  # two questions in each of the six settings
    # what the record covers, at the top; checksums folded away
    top = page[: page.index("XQuAD-R (xquad-r)</h2>")]
    assert "de, en" in top and "mono, cross, multi" in top and "<details><summary>alpha: 2 data files (sha256)" in top


def test_heatmap_and_charts_carry_their_labels_and_values(tmp_path):
    page = report(tmp_path, write(tmp_path, "alpha", "11111111aaaa", (0.9, 0.5, 0.4)))
    specs = figures(page)
    heat = specs["map-xquad-r"]["data"][0]
    assert heat["x"] == ["de", "en", "all"] and heat["y"] == ["de", "en"]
    assert heat["z"] == [[0.9, 0.5, 0.4], [0.5, 0.9, 0.4]]
    assert heat["colorscale"] and "%{z:.4f}" in heat["hovertemplate"]
    bars = {trace["name"]: trace["y"] for trace in specs["bars-xquad-r"]["data"]}
    assert bars == {"mono": [0.9, 0.9], "cross": [0.5, 0.5], "multi": [0.4, 0.4]}
    boxes = specs["rank_distance-xquad-r"]["data"][0]
    assert boxes["x"] == ["de", "en"] and boxes["median"] == [8.0, 4.0]  # rank distance 7 and 3, plus one
    assert "rank_distance_norm-xquad-r" not in specs  # the record has no normalised rank distance


def test_normalised_rank_distance_is_drawn_when_the_record_has_it(tmp_path):
    page = report(tmp_path, write(tmp_path, "alpha", "11111111aaaa", (0.9, 0.5, 0.4), rank_distance_norm=[0.2, 0.6]))
    boxes = figures(page)["rank_distance_norm-xquad-r"]["data"][0]
    assert boxes["median"] == [pytest.approx(0.4)] * 2 and boxes["q1"] == [pytest.approx(0.3)] * 2


def test_several_records_get_a_switcher_and_a_side_by_side_section(tmp_path):
    a = write(tmp_path, "alpha", "11111111aaaa", (0.9, 0.5, 0.4))
    b = write(tmp_path, "beta", "22222222bbbb", (0.7, 0.6, 0.6))
    page = report(tmp_path, a, b)
    menu = figures(page)["map-xquad-r"]["layout"]["updatemenus"][0]["buttons"]
    assert [button["label"] for button in menu] == ["alpha", "beta"]
    assert [button["args"][0]["visible"] for button in menu] == [[True, False], [False, True]]
    side = page[page.index("id='side-by-side'") :]
    td = cells(side)
    # beta - alpha: mono 0.7 - 0.9, cross 0.6 - 0.5, multi 0.6 - 0.4 (every question moves by the same amount)
    for delta in ("-0.2000", "+0.1000", "+0.2000"):
        assert delta in td, delta
    assert "[-0.2000, -0.2000]" in td  # a constant shift: the bootstrap interval has no width
    assert "–" in td  # two questions cannot make anything significant


def test_report_refuses_a_missing_record_with_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "nope.json"), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and not (tmp_path / "r.html").exists()


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    for name, fp, values in [("alpha", "11111111aaaa", (0.9, 0.5, 0.4)), ("beta", "22222222bbbb", (0.7, 0.6, 0.6))]:
        write(folder, name, fp, values)
    return folder


def test_leaderboard_page_is_sortable_filterable_and_self_contained(runs):
    page = render(leaderboard([runs]), "html")
    assert_self_contained(page)
    assert "<select id='f-task'>" in page and "<option value='xquad-r'>" in page and "<select id='f-family'>" in page
    td = cells(page)
    assert "beta" in td and "alpha" in td and "0.6000" in td and "0.4000" in td
    assert "5.0" in td and "5.0000" not in td  # rank distance at one decimal
    assert "Plotly" not in page  # a page of tables needs no chart library
    assert page.count("<section class='group' data-task='xquad-r'>") == 1


def test_leaderboard_page_shows_row_fields_other_tools_add(runs):
    frame = leaderboard([runs])
    frame["seed group"] = ["s0-s2", "s1"]
    frame["training data"] = [["xquad-r", "mlqa-r"], []]
    frame["in training"] = [True, False]
    page = render(frame, "html")
    head = re.findall(r"<th[^>]*>(.*?)</th>", page)
    assert {"seed group", "training data", "in training"} <= set(head)
    td = cells(page)
    assert "s0-s2" in td and "xquad-r, mlqa-r" in td and "yes" in td


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.heavy
@pytest.mark.skipif(_chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_pages_draw_in_chromium_with_the_network_off(runs, tmp_path):
    """Chromium with every host unresolvable, a dead proxy and a net log: the page draws, and asks for nothing."""
    page = tmp_path / "r.html"
    page.write_text(report(tmp_path, runs / "alpha.json", runs / "beta.json"), encoding="utf-8")
    log = tmp_path / "net.json"
    args = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={log}", "--virtual-time-budget=10000",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--dump-dom", page.as_uri()]  # fmt: skip
    dom = subprocess.run(args, capture_output=True, text=True, timeout=240, check=True).stdout
    assert dom.count("class=\"main-svg\"") >= 5  # plotly drew the charts (only the inlined library can)
    svg_text = re.findall(r"<text[^>]*>([^<]*)</text>", dom)
    for label in ("0.900", "0.500", "0.400", "de", "en", "all"):  # heatmap cell texts and tick labels
        assert label in svg_text, label
    urls = set(re.findall(r'"url":"([^"]+)"', log.read_text(errors="replace")))
    asked = {u for u in urls if not u.startswith(("file:", "data:", "about:", "chrome:")) and not _browser_own(u)}
    assert asked == set(), asked


# Chromium's own calls home (updates, clock, sign-in), made whatever page is open: not the page's requests.
BROWSER_HOSTS = ("//clients2.google.com/", "//update.googleapis.com/", "//accounts.google.com/", "//redirector.gvt1.com/")


def _browser_own(url: str) -> bool:
    return any(host in url for host in BROWSER_HOSTS)


def _dom_after(page: Path, script: str) -> str:
    """The DOM of ``page`` after its own scripts and then ``script`` ran, in Chromium with the network off."""
    copy = page.with_name(page.stem + "-clicked.html")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", f"<script>{script}</script></body>"), encoding="utf-8")
    args = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000", "--dump-dom", copy.as_uri()]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=240, check=True).stdout


@pytest.mark.heavy
@pytest.mark.skipif(_chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_a_click_sorts_a_table_and_the_filters_hide_rows_and_columns(runs, tmp_path):
    (runs / "gamma.json").write_text(json.dumps(make_record("gamma", "33333333cccc", 0.8, 0.2, 0.1)))
    page = tmp_path / "lb.html"
    page.write_text(render(leaderboard([runs]), "html"), encoding="utf-8")
    ranked = re.findall(r'<tr data-model="(\w+)"', _dom_after(page, ""))
    assert ranked == ["beta", "alpha", "gamma"]  # by multi mAP: 0.6, 0.4, 0.1
    # a click on "mono" sorts ascending by mono mAP (0.7 beta, 0.8 gamma, 0.9 alpha); a second click descending
    click = "var th=[].find.call(document.querySelectorAll('thead th'),function(h){return h.textContent.trim().indexOf('mono')===0;});th.click();"
    assert re.findall(r'<tr data-model="(\w+)"', _dom_after(page, click)) == ["beta", "gamma", "alpha"]
    assert re.findall(r'<tr data-model="(\w+)"', _dom_after(page, click + "th.click();")) == ["alpha", "gamma", "beta"]
    # the family filter hides the other families' columns; the model filter hides rows
    chosen = "var f=document.getElementById('f-family');f.value='mono';f.dispatchEvent(new Event('change'));" \
             "var m=document.getElementById('f-model');m.value='gam';m.dispatchEvent(new Event('input'));"  # fmt: skip
    dom = _dom_after(page, chosen)
    assert re.search(r'<th class="fam-multi"[^>]*hidden', dom) and not re.search(r'<th class="fam-mono"[^>]*hidden', dom)
    assert re.findall(r'<tr data-model="(\w+)"(?! hidden)', dom) == ["gamma"]


def test_side_by_side_leaves_out_a_task_evaluated_on_other_data(tmp_path):
    a = write(tmp_path, "alpha", "11111111aaaa", (0.9, 0.5, 0.4))
    other = make_record("beta", "22222222bbbb", 0.7, 0.6, 0.6, sha="b" * 64)
    (tmp_path / "beta.json").write_text(json.dumps(other))
    page = report(tmp_path, a, tmp_path / "beta.json")
    side = page[page.index("id='side-by-side'") :]
    assert "beta: xquad-r was evaluated on other data files (sha256 differ); not compared" in side
    assert "-0.2000" not in cells(side)  # no difference was computed across data versions
