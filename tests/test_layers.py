"""The import graph of attx_core is acyclic and layered: no module imports one of a higher layer, function-local
imports included (read from the source with ast, nothing imported)."""
from __future__ import annotations

import ast
from pathlib import Path

import attx_core

ROOT = Path(attx_core.__file__).parent
# Lowest first. A module may import its own layer or any lower one; the package itself (attx_core/__init__.py) is the top.
LAYERS = [
    ["attx_core._version", "attx_core._tv_shim", "attx_core.validate", "attx_core.seeding", "attx_core.stats", "attx_core.args"],
    ["attx_core.execution"],
    ["attx_core.store"],
    ["attx_core.data", "attx_core.models", "attx_core.transforms", "attx_core.engine", "attx_core.attacks", "attx_core.methods",
     "attx_core.metrics", "attx_core.viz", "attx_core.cards"],
    ["attx_core.robust", "attx_core.distributed"],
    ["attx_core.experiments"],
    ["attx_core.chapters"],
    ["attx_core.compute"],
    ["attx_core.book"],
    ["attx_core.bench", "attx_core.cli"],
    ["attx_core"],
]


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in ROOT.rglob("*.py")}


def _layer(module: str) -> int:
    best = max((prefix for layer in LAYERS for prefix in layer if module == prefix or module.startswith(prefix + ".")), key=len)
    return next(i for i, layer in enumerate(LAYERS) if best in layer)


def _imports(module: str) -> set[str]:
    """The attx_core modules ``module`` imports, anywhere in its source (``from pkg import sub`` counts as ``pkg.sub``)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("attx_core")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if not base.startswith("attx_core"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES and m != module}


def test_no_module_imports_a_higher_layer() -> None:
    upward = [f"{m} (layer {_layer(m)}) imports {d} (layer {_layer(d)})" for m in sorted(MODULES) for d in sorted(_imports(m))
              if _layer(d) > _layer(m)]
    assert not upward, "\n".join(upward)


def test_the_import_graph_is_acyclic() -> None:
    graph = {m: _imports(m) for m in MODULES}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(" -> ".join(path[path.index(d):] + [d]) if d in path else f"{m} -> {d}")
            elif d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)
