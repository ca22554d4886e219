"""Build a package's import graph from its source with ``ast`` and find import cycles.

Reusable for any package directory (the simulator's test uses it for ``fleetupgrade/sim``;
the same call works for the whole of ``fleetupgrade``). Nothing is imported or executed:
the graph comes from the ``import`` statements in the files, so a cycle is caught even
where Python would tolerate it at run time (a deferred import, a partly initialised
package), which is exactly when a cycle is most confusing to untangle later.

Edges and how they are resolved:

* ``import a.b.c`` → the longest prefix that is a module of the package (``a.b.c``);
* ``from a.b import name`` → ``a.b`` (the statement reads the namespace of ``a.b``, so
  for a package it goes *through* ``a/b/__init__.py``), and also ``a.b.name`` when that
  is a module of the package. So ``from pkg import sibling`` inside ``pkg`` is an edge
  to ``pkg/__init__.py``: siblings are imported directly (``from pkg.sibling import x``);
  pass ``through_init=False`` to count only the submodule, as grimp and import-linter do;
* relative imports are resolved against the importing module first;
* imports under ``if TYPE_CHECKING:`` are skipped (they never run);
* imports inside functions count: a deferred import hides a cycle, it does not remove it.

The implicit import of a parent package that Python performs before any submodule is not
an edge; otherwise every package whose ``__init__`` re-exports its modules would be
"cyclic" by definition. Imports of modules outside the package are ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

Graph = dict[str, frozenset[str]]


def package_name(package_dir: Path) -> str:
    """The dotted name of a package directory, found by walking up through ``__init__.py`` s."""
    directory = package_dir.resolve()
    if not (directory / "__init__.py").is_file():
        raise ValueError(f"{package_dir} is not a package (no __init__.py)")
    parts = [directory.name]
    parent = directory.parent
    while (parent / "__init__.py").is_file():
        parts.append(parent.name)
        parent = parent.parent
    return ".".join(reversed(parts))


def _modules(package_dir: Path, package: str) -> dict[str, Path]:
    """Every module of the package (``pkg`` for ``pkg/__init__.py``) → its file."""
    out: dict[str, Path] = {}
    root = package_dir.resolve()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        parts = list(relative.parts)
        if any(
            not (root.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(len(parts))
        ):
            continue  # a directory without __init__.py is not part of the package
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, skipping the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _longest_known_prefix(dotted: str, known: Mapping[str, Path]) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _base_of(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from … import`` statement reads from."""
    if not node.level:
        return node.module or ""
    anchor = module.split(".") if is_package else module.split(".")[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
    return ".".join([*anchor, node.module] if node.module else anchor)


def import_graph(package_dir: Path, *, through_init: bool = True) -> Graph:
    """Module → the modules of the same package it imports (see the module docstring)."""
    package = package_name(package_dir)
    modules = _modules(package_dir, package)
    graph: Graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                found = (_longest_known_prefix(alias.name, modules) for alias in node.names)
                targets.update(t for t in found if t is not None)
                continue
            base = _base_of(node, module, is_package)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    targets.add(submodule)
                    if not through_init:
                        continue
                target = _longest_known_prefix(base, modules)
                if target is not None:
                    targets.add(target)
        targets.discard(module)
        graph[module] = frozenset(targets)
    return graph


def import_cycles(graph: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        # Tarjan's algorithm, iterative (deep packages must not hit the recursion limit).
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
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
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def describe_cycles(cycles: list[list[str]]) -> str:
    """A readable list of cycles for an assertion message."""
    return "\n".join(" <-> ".join(component) for component in cycles) or "no cycle"
