"""The package's layout keeps its promises: no import circle (function-level imports included), and the
knowledge-graph pipeline never imports Flask (it runs in the CLI, the build and child processes)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

SERVER = ROOT / "server"


def _imports() -> dict[str, set[str]]:
    modules = {".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): f
               for f in SERVER.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                parts = package.split(".")
                target = ".".join(parts[:len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
                for candidate in [target] * bool(node.module) + [f"{target}.{a.name}" for a in node.names]:
                    if candidate in modules and candidate != name:
                        edges[name].add(candidate)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for alias in ([] if module else node.names):
                    edges[name].add("external:" + alias.name.split(".")[0])
                if module:
                    edges[name].add("external:" + module.split(".")[0])
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_the_package():
    assert _cycles(_imports()) == []


def test_the_cycle_check_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_graph_pipeline_never_imports_flask():
    for name, targets in _imports().items():
        if name.startswith("server.graph"):
            assert "external:flask" not in targets and "external:werkzeug" not in targets, name
