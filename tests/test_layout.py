"""The package's import structure: no module imports itself back, layers point one way.

Read from the source (``ast``), so an import made at module level anywhere fails here at
once, not at the import order some user's program happens to hit. Imports inside functions
and under ``TYPE_CHECKING`` are deliberate late bindings and are not counted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import brokle_trace

ROOT = Path(brokle_trace.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _module_level_imports(tree: ast.Module) -> Iterator[tuple[str, list[str]]]:
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield node.module, [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names in _module_level_imports(ast.parse(path.read_text("utf-8"))):
            if not module.startswith("brokle_trace"):
                continue
            # ``from pkg import sub`` depends on the submodule, not on all of pkg's __init__.
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            if not targets and module in MODULES:
                targets = [module]
            graph[name].update(t for t in targets if t != name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    # Tarjan's strongly connected components, iteratively (no recursion limit to hit).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start, first in graph.items():
        if start in index:
            continue
        work = [(start, iter(sorted(first)))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_module_imports_itself_back() -> None:
    assert _cycles(_graph()) == []


#: Packages that must not import others at module level: the lower layers of the pipeline
#: never reach up (capture knows nothing of spans or export; exporters nothing of the
#: pipeline that feeds them; the span tree nothing of the decorators above it).
FORBIDDEN = {
    "brokle_trace.capture": (
        "brokle_trace._trace",
        "brokle_trace._export",
        "brokle_trace._decorate",
        "brokle_trace.exporters",
        "brokle_trace.llm",
    ),
    "brokle_trace.exporters": (
        "brokle_trace._trace",
        "brokle_trace._export",
        "brokle_trace._decorate",
        "brokle_trace.capture",
        "brokle_trace.llm",
    ),
    "brokle_trace._trace": ("brokle_trace._decorate", "brokle_trace.llm"),
    "brokle_trace._export": ("brokle_trace._decorate",),
}


def test_lower_layers_do_not_import_upper_ones() -> None:
    graph = _graph()
    wrong = [
        (name, target)
        for name, targets in graph.items()
        for layer, banned in FORBIDDEN.items()
        if name == layer or name.startswith(layer + ".")
        for target in targets
        if any(target == b or target.startswith(b + ".") for b in banned)
    ]
    assert wrong == []
