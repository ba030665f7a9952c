"""The layers, read from the source: pages -> components -> services -> sql files, and no knots.

Every import of a project module is read with ``ast`` (function-local ones
included: an import written inside a function is still a dependency), so a
cycle cannot hide behind a deferred import. A unit of ``services/`` is a
top-level module or package (``services.segments``, ``services.clock``);
its modules may import each other, units may not import each other in a
circle. See docs/architecture.md for the picture.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("services", "components", "pages")
#: function-local imports of project modules allowed in services/, components/ and pages/
MAX_LOCAL_IMPORTS = 15


@dataclass(frozen=True)
class Import:
    module: str       # the importing module, e.g. services.segments.library
    target: str       # the imported project module, e.g. services.audit_log
    line: int
    local: bool       # written inside a function
    commented: bool   # a comment on the line or the line above says why


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))} | \
        {"app": ROOT / "app.py"}


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an import names (``services.x.y`` of ``from services.x import y``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _imports(module: str, path: Path) -> list[Import]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    local_nodes = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        targets = {_resolve(n) for n in names} - {None, module}
        if isinstance(node, ast.ImportFrom) and len(targets) > 1:
            # ``from services import a, b`` names modules a and b, not the package itself
            targets.discard(_resolve(node.module))
        context = " ".join(lines[max(node.lineno - 2, 0):node.end_lineno])
        for target in sorted(targets):
            found.append(Import(module, target, node.lineno, id(node) in local_nodes, "#" in context))
    return found


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]
STREAMLIT_IMPORTERS = {
    module for module, path in MODULES.items()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    if isinstance(node, (ast.Import, ast.ImportFrom))
    and any(n.split(".")[0] == "streamlit"
            for n in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]))
}


def _layer(module: str) -> str:
    return module.split(".")[0]


def _unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "services" and len(parts) > 1 else module


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_source_was_read():
    assert {"services.segments.compiler", "components.warehouse", "pages.builder", "app"} <= MODULES.keys()
    assert any(i.module == "pages.builder" and _layer(i.target) == "components" for i in IMPORTS)


def test_services_import_neither_streamlit_nor_the_layers_above():
    assert not {m for m in STREAMLIT_IMPORTERS if _layer(m) == "services"}
    upward = [i for i in IMPORTS if _layer(i.module) == "services" and _layer(i.target) in ("components", "pages")]
    assert not upward, upward


def test_components_do_not_import_pages_and_pages_do_not_import_each_other():
    assert not [i for i in IMPORTS if _layer(i.module) == "components" and _layer(i.target) == "pages"]
    assert not [i for i in IMPORTS if _layer(i.module) == "pages" and _layer(i.target) == "pages"]
    assert not [i for i in IMPORTS if _layer(i.module) == "services" and i.target == "app"]


@pytest.mark.parametrize("layer", ["services", "components"])
def test_no_import_cycles(layer):
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if _layer(imp.module) == layer == _layer(imp.target):
            a, b = (_unit(imp.module), _unit(imp.target)) if layer == "services" else (imp.module, imp.target)
            if a != b:
                edges.setdefault(a, set()).add(b)
    assert _cycles(edges) == []


def test_few_function_local_imports_and_each_says_why():
    local = [i for i in IMPORTS if i.local and _layer(i.module) in LAYERS]
    assert len({(i.module, i.line) for i in local}) <= MAX_LOCAL_IMPORTS, local
    assert not [i for i in local if not i.commented], "a function-local import needs a comment saying why"


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
