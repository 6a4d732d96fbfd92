"""The engine's layout stays easy to see: no import cycles between its modules (lazy imports
inside functions included), and no long functions outside the compiled kernels."""

from __future__ import annotations

import ast
from pathlib import Path

import preimage

ENGINE = Path(preimage.__file__).resolve().parent / "engine"


def _imports(path: Path) -> set[str]:
    """The engine modules ``path`` imports (``from .x import``, ``from preimage.engine.x import``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 1 and mod:
                out.add(mod.split(".")[0])
            elif node.level == 1:
                out.update(a.name for a in node.names)
            elif mod.startswith("preimage.engine."):
                out.add(mod.split(".")[2])
    return out & {p.stem for p in ENGINE.glob("*.py")}


def test_no_import_cycles_in_the_engine():
    graph = {p.stem: _imports(p) for p in ENGINE.glob("*.py")}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join(path + [node, nxt])}"
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_no_long_functions_outside_compiled_kernels():
    long = []
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                compiled = any("njit" in ast.unparse(d) for d in node.decorator_list)
                if not compiled and node.end_lineno - node.lineno + 1 > 80:
                    long.append(f"{path.name}:{node.name}")
    assert not long, long
