"""The package is a layered house: each subpackage imports only from the layers below it.

Every import counts, function-local ones too (they are how import circles hide).
The order is the design's (docs/development/architecture.md); `measures` and
`stats` share a floor and may not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "xlir_bench"
LAYERS = ["cli", "train", "analysis", "evaluation", "records", "encode", "models", "search", "data", "measures|stats",
          "core"]
RANK = {name: len(LAYERS) - i for i, floor in enumerate(LAYERS) for name in floor.split("|")}
MAX_LINES = 450


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "xlir_bench" and parts[1] in RANK else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative ones resolved."""
    package = ".".join(("xlir_bench", *path.relative_to(PACKAGE).with_suffix("").parts[:-1]))
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found += [(node.lineno, f"{module}.{a.name}" if node.module is None else module) for a in node.names]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down(path: Path) -> None:
    own = path.relative_to(PACKAGE).parts[0]
    if own not in RANK:
        pytest.skip(f"{own} is data, not a layer")
    upward = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for line, module in _imports(path)
        if (layer := _layer(module)) and layer != own and RANK[layer] >= RANK[own]
    ]
    assert not upward


def test_every_subpackage_is_a_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(RANK)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_limit(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a function-local upward import is found and resolved (relative form too)."""
    fake = PACKAGE / "core" / "_layers_probe.py"
    fake.write_text("def f():\n    from ..analysis import compare\n    import xlir_bench.cli\n")
    try:
        found = [m for _, m in _imports(fake)]
    finally:
        fake.unlink()
    assert found == ["xlir_bench.analysis", "xlir_bench.cli"]


def test_setup_cfg_ships_every_package():
    """A non-editable install holds only the packages setup.cfg lists: a forgotten subpackage breaks `pip install .`."""
    import configparser

    config = configparser.ConfigParser()
    config.read(PACKAGE.parent / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    on_disk = {".".join(p.relative_to(PACKAGE.parent).parts[:-1]) for p in PACKAGE.rglob("__init__.py")}
    assert on_disk <= listed, sorted(on_disk - listed)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (every import, function-local and TYPE_CHECKING ones too;
    ``from pkg import sub`` counts both the package and the submodule)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` (depth-first search), or [] when there is none."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    return next((found for node in sorted(graph) if node not in state and (found := visit(node))), [])


def test_no_import_circle_inside_a_layer() -> None:
    """Layers order the floors; inside a floor modules must not import each other in a circle either."""
    assert _circle(_import_graph()) == []


def test_circle_finder_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circle(graph) == ["a", "b", "c", "a"] and _circle({"a": {"b"}, "b": set()}) == []
