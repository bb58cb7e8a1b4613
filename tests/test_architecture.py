"""The package's shape (issue 41): no import cycle, imports go down the layers, short functions, one validator.

Every module under ``grids/`` is parsed with ``ast``; its ``grids.*`` imports, module-level and inside functions
alike (an import inside a function hides a cycle, it does not remove it), make the graph. See docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "grids"
PLUGIN_SOURCES = sorted(ROOT.glob("plugins/*/src"))
MAX_FUNCTION_LINES = 60

# Lower layers never import higher ones; packages of one layer do not import each other.
LAYERS = {
    "grids.errors": 0,
    "grids.core": 1,
    "grids.diagnostics": 2,
    "grids.adapters": 2,
    "grids.efficiency": 2,
    "grids.sim": 2,
    "grids": 3,  # the public facade: grids/__init__.py
    "grids.bench": 3,
    "grids.cli": 4,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> set[str]:
    """The ``grids`` modules ``name`` imports anywhere in its file (``from grids.x import y``: ``grids.x.y`` if
    that is a module, else ``grids.x``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # grids.core.sampler.X -> grids.core.sampler
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components with more than one module: each is an import cycle."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.add(other)
                if other == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_the_graph_sees_every_module_and_imports_inside_functions():
    assert {"grids", "grids.core.sampler", "grids.bench.policy", "grids.cli.main"} <= set(GRAPH)
    assert "grids.core.reducers" in GRAPH["grids.bench.policy"] or "grids.core" in GRAPH["grids.bench.policy"]
    assert "grids.bench.evaluate" in GRAPH["grids.cli.bench"]  # imported inside a function only


def test_no_import_cycle():
    cycles = [sorted(cycle) for cycle in strongly_connected(GRAPH)]
    assert not cycles, f"import cycles: {cycles}"


def layer(name: str) -> tuple[str, int]:
    top = ".".join(name.split(".")[:2])
    return (top, LAYERS[top]) if top in LAYERS else ("grids", LAYERS["grids"])


def test_imports_go_down_the_layers():
    wrong = []
    for name, targets in GRAPH.items():
        package, rank = layer(name)
        for target in targets:
            other, other_rank = layer(target)
            if other != package and other_rank >= rank:
                wrong.append(f"{name} (layer {rank}) imports {target} (layer {other_rank})")
    assert not wrong, "\n".join(wrong)


def test_nothing_in_grids_imports_the_plugin():
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith("lerobot_policy_grids") for n in names), path


def long_functions(roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_over_60_lines():
    found = long_functions([PACKAGE, *PLUGIN_SOURCES])
    assert not found, "\n".join(found)


def test_one_placement_validator():
    """Where to reduce (``resample_at_layer``, the plugin's ``grids_placement``) is checked by one function."""
    pattern = re.compile(r"^(check|validate|parse)_\w*(placement|layer)\w*$")
    validators = []
    for root in [PACKAGE, *PLUGIN_SOURCES]:
        for path in sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.FunctionDef) and pattern.match(node.name):
                    validators.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert validators == ["grids/core/in_encoder.py:check_resample_at_layer"]
