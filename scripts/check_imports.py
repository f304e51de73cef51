"""Check the package's import rules (issue 18): no imports inside functions, no import
cycles between modules, and ``admin_app.core`` imports no domain package.

``python scripts/check_imports.py`` prints every breach and exits 1 if there is one.
Imports under ``if TYPE_CHECKING:`` are for annotations only and are not followed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "admin_app"
SHARED = {"admin_app", "admin_app.config", "admin_app.extensions"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(tree: ast.Module) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(module-level imports, imports inside functions) as (line, module) pairs."""
    top: list[tuple[int, str]] = []
    nested: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                names = ([alias.name for alias in child.names] if isinstance(child, ast.Import)
                         else [child.module or ""] + [f"{child.module}.{alias.name}" for alias in child.names])
                if in_function:
                    nested.append((child.lineno, names[0]))
                else:
                    top.extend((child.lineno, name) for name in names)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(tree, False)
    return top, nested


def main() -> int:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    problems: list[str] = []
    for name, path in sorted(modules.items()):
        top, nested = imports_of(ast.parse(path.read_text()))
        problems += [f"{path.relative_to(ROOT)}:{line}: import inside a function: {target}"
                     for line, target in nested]
        graph[name] = {target for _line, target in top if target in modules and target != name}
        if name.startswith("admin_app.core"):
            problems += [f"{path.relative_to(ROOT)}:{line}: core imports a domain: {target}"
                         for line, target in top if target.startswith("admin_app.")
                         and target in modules and not target.startswith("admin_app.core") and target not in SHARED]
    problems += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    print("\n".join(problems) or "no imports inside functions, no cycles, core imports no domain")
    return 1 if problems else 0


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            connect(node)
    return found


if __name__ == "__main__":
    sys.exit(main())
