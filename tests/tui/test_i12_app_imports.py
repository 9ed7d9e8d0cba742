"""No import cycle in vmuser_tui (issue 12): the import graph, read with ast, has no loop.

Every ``import``/``from ... import`` of a vmuser_tui module counts, at module level or
inside a function (a lazy import is still a dependency: ``keymap_check.scopes()`` imported
the app inside a function, and the app imported keymap_check); imports under
``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import vmuser_tui

ROOT = Path(vmuser_tui.__file__).resolve().parent

#: Cycles allowed, each as its sorted modules: none.
KNOWN: set[tuple[str, ...]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = ["vmuser_tui", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The vmuser_tui modules that ``name`` imports (a ``from pkg import mod`` names ``pkg.mod``)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                out.update(alias.name for alias in child.names if alias.name in modules)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package[: len(package) - (child.level - 1)]
                    base = ".".join([*up, base] if base else up)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    if full in modules:
                        out.add(full)
                    elif base in modules:
                        out.add(base)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def _loop(graph: dict[str, set[str]], component: list[str]) -> str:
    """One loop through ``component``, for the message: ``a -> b -> a``."""
    members = set(component)
    path = [component[0]]
    while True:
        nxt = sorted(graph[path[-1]] & members)
        step = next((m for m in nxt if m not in path), None)
        if step is None:
            back = next(m for m in nxt if m in path)
            return " -> ".join([*path[path.index(back):], back])
        path.append(step)


def test_the_graph_sees_lazy_imports():
    graph = import_graph()
    assert "vmuser_tui.tui.keymap_check" in graph["vmuser_tui.tui.app"]
    assert "vmuser_tui.tui.screens.help" in graph["vmuser_tui.tui.app"]  # imported inside action_help


def test_no_import_cycle_in_vmuser_tui():
    graph = import_graph()
    found = [c for c in cycles(graph) if tuple(c) not in KNOWN]
    assert not found, "import cycles: " + "; ".join(_loop(graph, c) for c in found)


def test_the_registry_of_binding_scopes_never_imports_the_app():
    graph = import_graph()
    reach, todo = set(), ["vmuser_tui.tui.scopes"]
    while todo:
        for nxt in graph[todo.pop()] - reach:
            reach.add(nxt)
            todo.append(nxt)
    assert "vmuser_tui.tui.app" not in reach
    assert "vmuser_tui.tui.screens.project" in reach
