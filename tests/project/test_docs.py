"""The documentation stays true to the checkout: links resolve, named modules exist, the
README's test command is the one CI runs, and the architecture page lists the real tree."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from test_layers import LAYERS, PACKAGE

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
ARCHITECTURE = REPO / "docs" / "development" / "architecture.md"
DOCS = sorted(
    [README, REPO / "benchmarks" / "README.md", *REPO.glob("experiments/*/README.md"), *(REPO / "docs").rglob("*.md")]
)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
MODULE_PATH = re.compile(r"`(xlir_bench/[\w/.]*)`")
DOTTED = re.compile(r"`(xlir_bench(?:\.\w+)+)")
FLOORS = [floor.split("|") for floor in LAYERS]


def _prose(path: Path) -> str:
    """A Markdown file without its fenced code blocks (links and paths there are examples)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    kept = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in _prose(path).splitlines() if line.startswith("#")}


def _relative_links(path: Path) -> list[str]:
    return [target for target in LINK.findall(_prose(path)) if not re.match(r"[a-z]+:", target)]


def _doc_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_readme_is_the_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"
    assert "### Run the tests" in lines


def test_readme_test_command_is_what_ci_runs():
    """`.ci/run` promises to run 'the README's test command'; both must be the same line."""
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("### Run the tests") :]
    block = section[section.index("```bash") + len("```bash") : section.index("```", section.index("```bash") + 7)]
    commands = [line for line in block.strip().splitlines() if not line.startswith("#")]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    after = ci[ci.index("# The README's test command (section \"Run the tests\"):") + 1 :]
    ci_command = next(line for line in after if line.startswith("pip install"))
    assert commands == [ci_command]


@pytest.mark.parametrize("path", DOCS, ids=_doc_id)
def test_relative_links_point_to_existing_files(path: Path):
    broken = []
    for target in _relative_links(path):
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken


@pytest.mark.parametrize("path", DOCS, ids=_doc_id)
def test_named_modules_exist(path: Path):
    """Docs name modules by their path in the layered package; a move must update the doc."""
    missing = [name for name in MODULE_PATH.findall(_prose(path)) if not (REPO / name).exists()]
    missing += [name for name in DOTTED.findall(_prose(path)) if not _dotted_exists(name)]
    assert not missing


def _dotted_exists(name: str) -> bool:
    """``xlir_bench.records.schema.load_record``: a module path, then at most one attribute it defines."""
    parts = name.split(".")
    for cut in (len(parts), len(parts) - 1):
        module = REPO.joinpath(*parts[:cut])
        source = module.with_suffix(".py") if module.with_suffix(".py").is_file() else module / "__init__.py"
        if source.is_file():
            rest = parts[cut:]
            defined = rf"^(def|class) {rest[0]}\b|^{rest[0]} =|^from .* import .*\b{rest[0]}\b" if rest else ""
            return not rest or re.search(defined, source.read_text(), re.M) is not None
    return False


@pytest.mark.parametrize("path", DOCS, ids=_doc_id)
def test_no_known_drift(path: Path):
    """Statements found false in the review of the flat package (issue 22) stay out."""
    text = _prose(path).lower()
    for phrase in ("data flows one way", "thin cli", "planned `xlir-bench train`", "(issue 12)"):
        assert phrase not in text, phrase


def _architecture_rows() -> list[tuple[str, list[str]]]:
    rows = []
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `xlir_bench/(\w+)/` \|.*\| ([^|]+) \|$", line)
        if match:
            may = match.group(2).strip()
            rows.append((match.group(1), [] if may == "nothing of xlir_bench" else may.split(", ")))
    return rows


def test_architecture_lists_exactly_the_subpackages_on_disk():
    on_disk = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    listed = [name for name, _ in _architecture_rows()]
    assert len(listed) == len(set(listed))
    assert set(listed) == on_disk


def test_architecture_order_is_the_enforced_one():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    order = re.search(r"\*\*(cli > .*)\*\*", text).group(1)
    floors = [part.strip("{} ").replace(", ", "|") for part in order.split(" > ")]
    assert floors == LAYERS
    flat = [name for floor in FLOORS for name in floor]
    assert [name for name, _ in _architecture_rows()] == flat
    for name, may in _architecture_rows():
        floor = next(i for i, f in enumerate(FLOORS) if name in f)
        assert may == [n for f in FLOORS[floor + 1 :] for n in f], name


def test_slug_matches_github():
    """The anchor rule itself, on headings whose GitHub anchors are known."""
    assert _slug("Against MTEB's own code") == "against-mtebs-own-code"
    assert _slug("Embedding APIs (OpenAI-compatible)") == "embedding-apis-openai-compatible"
    assert _slug("Hybrid batch training: `xlir-bench train`") == "hybrid-batch-training-xlir-bench-train"
