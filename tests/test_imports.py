"""The import graph shows the flow: no cycle, no upward import, no reaching into privates.

Read statically (every ``import`` in every module, including those inside functions, which
are how the CLI stays fast), so the test sees what a newcomer reading the files would see.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "toolkit"

#: Each package's layer; a module may import its own package and lower layers only.
LAYERS = {
    "toolkit": 0,  # toolkit/__init__.py: the version
    "errors": 0,
    "timefmt": 0,  # toolkit/timefmt.py: the one timestamp format of JSON output
    "engine": 1,
    "otlp": 1,
    "workload": 2,
    "telemetry": 2,
    "store": 2,
    "detect": 3,
    "evaluate": 4,
    "alert": 4,
    "report": 4,
    "app": 5,
    "cli": 6,
}
#: OpenTelemetry's logs signal lives in these modules (its documented, still-experimental
#: home); they are the public way to emit and export log records, not private internals.
LOGS_SIGNAL = ("opentelemetry._logs", "opentelemetry.sdk._logs")
#: What the lowest layers must never load, heavy or beside the point.
FORBIDDEN = {
    "engine": ("opentelemetry", "duckdb", "pandas", "pyarrow", "numpy"),
    "otlp": ("opentelemetry.sdk", "pandas"),
    "store": ("opentelemetry",),
    "workload": ("opentelemetry", "duckdb", "pandas"),
}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module imported, names taken from it, line)`` for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, [a.name for a in node.names], node.lineno))
    return found


MODULES = {_module(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "toolkit"


def _where(problems: list[str]) -> str:
    return "\n".join(problems)


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for target, names, _ in _imports(path):
            if not target.startswith("toolkit"):
                continue
            for name in names or [""]:
                candidate = f"{target}.{name}" if name else target
                graph[module].add(candidate if candidate in MODULES else target)
    return graph


def test_no_import_cycle_between_modules():
    """No module reaches itself through imports (the old store/sinks <-> store_writer)."""
    graph = _edges()
    # A package's __init__ re-exporting its modules is not a cycle of behaviour.
    graph = {m: {t for t in ts if not (t == m.rpartition(".")[0] and m != t)}
             for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []
    limit = sys.getrecursionlimit()  # restored: other tests in this worker rely on it
    sys.setrecursionlimit(max(10_000, limit))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    assert not cycles, cycles


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import_and_no_private_names(module):
    """A package imports only its own and lower layers, and never a ``_name`` from another
    package or from a dependency."""
    layer = _layer(module)
    if layer not in LAYERS:
        pytest.fail(f"{module}: package {layer!r} has no layer in tests/test_imports.py")
    problems = []
    for target, names, line in _imports(MODULES[module]):
        where = f"{MODULES[module].relative_to(ROOT.parent)}:{line}"
        if target.startswith("toolkit"):
            other = _layer(target)
            if other != layer and other != "toolkit" and LAYERS[other] >= LAYERS[layer]:
                problems.append(f"{where}: {layer} imports {target} (layer {other})")
            private_module = any(p.startswith("_") and p != "__init__"
                                 for p in target.split(".")[2:])
            private_name = any(n.startswith("_") and not n.startswith("__") for n in names)
            if other != layer and (private_module or private_name):
                problems.append(f"{where}: private {target} {names}")
        elif not any(target == m or target.startswith(m + ".") for m in LOGS_SIGNAL):
            if any(p.startswith("_") and not p.startswith("__") for p in target.split(".")):
                problems.append(f"{where}: private module {target}")
            if any(n.startswith("_") and not n.startswith("__") for n in names):
                problems.append(f"{where}: private name from {target}: {names}")
        for banned in FORBIDDEN.get(layer, ()):
            if target == banned or target.startswith(banned + "."):
                problems.append(f"{where}: {layer} must not import {target}")
    assert not problems, _where(problems)
