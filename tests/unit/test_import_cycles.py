"""No import cycles between the packages of ``src/madoguchi``.

Every import of ``madoguchi.<package>`` counts, function-local ones too (a local import is
still a dependency; it only hides the cycle from Python), except those under
``if TYPE_CHECKING:``. Top-level modules (``cli``, ``urls``, ``routing``, ``settings``,
``asgi``) are wiring and exempt. ``KNOWN`` lists the cycles that were there when this
test was written and are being removed: the test fails on any other cycle, and on a
listed one that is gone (so the list only shrinks).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "madoguchi"

KNOWN: set[frozenset[str]] = {frozenset(pair) for pair in []}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(n) for n in ast.walk(node))
    return hidden


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> where (``file:line``)."""
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).parts
        if len(parts) < 2 or "migrations" in parts:
            continue
        source = parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ["madoguchi", *parts[: -node.level]]
                    names.append(".".join(base + ([node.module] if node.module else [])))
                elif node.module:
                    names.append(node.module)
            elif isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            for name in names:
                bits = name.split(".")
                if bits[0] == "madoguchi" and len(bits) > 1 and bits[1] in packages:
                    if bits[1] != source:
                        where = f"{path.relative_to(SRC)}:{node.lineno}"
                        graph[source][bits[1]].append(where)
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _edges_within(
    graph: dict[str, dict[str, list[str]]], component: list[str]
) -> set[frozenset[str]]:
    return {
        frozenset((a, b))
        for a in component
        for b in graph.get(a, {})
        if b in component and a in graph.get(b, {})
    }


def test_no_new_import_cycle_between_packages() -> None:
    graph = package_graph()
    problems = []
    for component in cycles(graph):
        mutual = _edges_within(graph, component)
        new = mutual - KNOWN
        # A cycle through three or more packages without a known mutual pair is new too.
        if new or not mutual & KNOWN:
            lines = [f"cycle: {' -> '.join(component)}"]
            for a in component:
                for b, where in sorted(graph[a].items()):
                    if b in component:
                        lines.append(f"  {a} -> {b}: {', '.join(where[:3])}")
            problems.append("\n".join(lines))
    assert not problems, "import cycles between packages:\n" + "\n".join(problems)


def test_known_cycles_only_shrink() -> None:
    graph = package_graph()
    mutual = {frozenset((a, b)) for a in graph for b in graph[a] if a in graph.get(b, {})}
    gone = KNOWN - mutual
    assert not gone, f"remove from KNOWN, these cycles are gone: {sorted(map(sorted, gone))}"


def test_the_graph_sees_local_and_relative_imports() -> None:
    graph = package_graph()
    # chat imports inquiries at module level, relative imports stay in their package.
    assert "inquiries" in graph["chat"]
    assert "chat" not in graph["chat"]
    # nothing in inquiries imports chat, not even inside a function
    assert "chat" not in graph["inquiries"]


def test_cycles_are_found_through_any_number_of_packages() -> None:
    graph = {"a": {"b": ["a.py:1"]}, "b": {"c": ["b.py:1"]}, "c": {"a": ["c.py:1"]}, "d": {}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": ["x"]}, "b": {}}) == []
