"""The packages of ``src/madoguchi`` are in layers, and no imports between them form a cycle.

``LAYERS`` lists every package, lowest first. A package may import the packages of lower
layers, and those of its own layer as long as no cycle forms; an import of a higher layer
fails, and so does any cycle, with the ``file:line`` of each import involved.

Every import of ``madoguchi.<package>`` counts, function-local ones too (a local import is
still a dependency; it only hides a cycle from Python), except those in the body of an
``if TYPE_CHECKING:``. The top-level wiring modules (``WIRING``: the command, the URL and
WebSocket routing, the settings, the ASGI/WSGI entry points) may import anything and are
imported by no package; the other top-level modules (``__init__``, ``dotenv``) are below
every package and import none. Dotted paths in strings (settings, ``import_string``) are
not imports: that is how ``core.worker`` runs the housekeeping steps of the apps above it.
See docs/design.md, note 49.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "madoguchi"

LAYERS: list[tuple[str, ...]] = [
    ("core",),  # the clock, ids, events, files, the task worker, middleware
    ("accounts", "hours", "bot"),  # users and roles; pure business hours and answer bot
    ("privacy",),  # the audit log
    ("mail", "sla"),  # the outbox, templates and the mail parser; service levels
    ("inquiries",),  # the inquiry: models, actions, access, the SLA monitor and recompute
    ("web",),  # shared web plumbing, /healthz, sign-in throttling, base templates
    # forms and API; inbound mail; the knowledge base; OIDC; staff sign-in (2FA, reset, lifetimes);
    # publishable statistics (counts through inquiries.access, suppressed; releases);
    # case studies (the redactor is pure; the workflow reads inquiries through access)
    ("intake", "inbound", "kb", "sso", "staffauth", "stats", "cases"),
    ("chat",),  # live chat (the bot answers from the knowledge base)
    ("calls",),  # online calls (operators on duty and addresses as for chat)
    ("console", "demo", "retention"),  # the staff console; demo data
]

WIRING = {"cli", "urls", "routing", "settings", "asgi", "wsgi", "__main__"}

Graph = dict[str, dict[str, list[str]]]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The nodes in the body of ``if TYPE_CHECKING:`` (not its ``else``)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
            (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        ):
            for statement in node.body:
                hidden.update(id(n) for n in ast.walk(statement))
    return hidden


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(REPO if path.is_relative_to(REPO) else root.parent))


def import_graph(root: Path = SRC) -> Graph:
    """Who imports whom, by package (or top-level module, by its name), with where
    (``file:line``): ``graph[importer][imported]``. Imports within a package are left out."""
    top = root.name
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in root.glob("*.py")}
    graph: Graph = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if "migrations" in parts:
            continue
        source = parts[0] if len(parts) > 1 else path.stem
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = [top, *parts[: -node.level]]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                if module == top:  # from madoguchi import chat
                    names.extend(f"{top}.{alias.name}" for alias in node.names)
                else:
                    names.append(module)
            elif isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            for name in names:
                bits = name.split(".")
                if bits[0] != top or len(bits) < 2 or bits[1] == source:
                    continue
                if bits[1] in packages or bits[1] in modules:
                    graph[source][bits[1]].append(f"{_shown(path, root)}:{node.lineno}")
    return graph


def cycles(graph: Graph) -> list[list[str]]:
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


def _layer_of(layers: list[tuple[str, ...]]) -> dict[str, int]:
    return {name: i for i, layer in enumerate(layers) for name in layer}


def _packages(graph: Graph, layers: list[tuple[str, ...]]) -> Graph:
    """The graph between the packages of ``layers`` only."""
    known = _layer_of(layers)
    return {
        a: {b: where for b, where in targets.items() if b in known}
        for a, targets in graph.items()
        if a in known
    }


def upward_imports(graph: Graph, layers: list[tuple[str, ...]]) -> list[str]:
    """One line per package importing a higher layer, with every ``file:line``."""
    layer = _layer_of(layers)
    problems = []
    for a, targets in sorted(_packages(graph, layers).items()):
        for b, where in sorted(targets.items()):
            if layer[b] > layer[a]:
                problems.append(
                    f"{a} (layer {layer[a]}) imports {b} (layer {layer[b]}): {', '.join(where)}"
                )
    return problems


def cycle_report(graph: Graph, layers: list[tuple[str, ...]]) -> list[str]:
    """One paragraph per cycle: its packages and every import between them."""
    packages = _packages(graph, layers)
    problems = []
    for component in cycles(packages):
        lines = [f"cycle among {', '.join(component)}:"]
        for a in component:
            for b, where in sorted(packages.get(a, {}).items()):
                if b in component:
                    lines.append(f"  {a} -> {b}: {', '.join(where)}")
        problems.append("\n".join(lines))
    return problems


# --- the desk's packages ------------------------------------------------------------------


def test_every_package_has_exactly_one_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    listed = [name for layer in LAYERS for name in layer]
    assert len(listed) == len(set(listed)), f"in two layers: {sorted(listed)}"
    assert not packages - set(listed), f"give these a layer in LAYERS: {packages - set(listed)}"
    assert not set(listed) - packages, f"no such packages: {set(listed) - packages}"


def test_no_package_imports_a_higher_layer() -> None:
    problems = upward_imports(import_graph(), LAYERS)
    assert not problems, "imports of a higher layer:\n" + "\n".join(problems)


def test_no_import_cycle_between_packages() -> None:
    problems = cycle_report(import_graph(), LAYERS)
    assert not problems, "import cycles between packages:\n" + "\n".join(problems)


def test_wiring_is_imported_by_no_package_and_the_other_top_modules_import_none() -> None:
    graph = import_graph()
    packages = {name for layer in LAYERS for name in layer}
    modules = {p.stem for p in SRC.glob("*.py")}
    assert WIRING <= modules, f"no such modules: {WIRING - modules}"
    problems = [
        f"{a} imports {b}: {', '.join(where)}"
        for a, targets in sorted(graph.items())
        for b, where in sorted(targets.items())
        if (b in WIRING and a not in WIRING) or (a in modules - WIRING and b in packages)
    ]
    assert not problems, "\n".join(problems)


def test_the_graph_sees_local_and_relative_imports() -> None:
    graph = import_graph()
    # chat imports inquiries at module level; relative imports stay in their package.
    assert "inquiries" in graph["chat"]
    assert "chat" not in graph["chat"]
    # nothing in inquiries imports chat, not even inside a function
    assert "chat" not in graph["inquiries"]
    # the wiring is seen too (and exempt)
    assert "chat" in graph["routing"]


# --- the checks themselves -----------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    top = root / "madoguchi"
    for name, text in {"__init__.py": "", **files}.items():
        path = top / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return top


def test_every_kind_of_import_is_seen_but_type_checking_ones(tmp_path: Path) -> None:
    top = _tree(
        tmp_path,
        {
            "low/a.py": "from madoguchi.high.x import y\n",
            "low/b.py": "def f():\n    import madoguchi.mid.z\n",
            "low/c.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from madoguchi.hidden import h\n"
                "else:\n    from ..shown import s\n"
            ),
            "low/d.py": "from .. import other\nfrom . import a\nfrom madoguchi import __version__\n",
            "low/migrations/0001.py": "from madoguchi.high import x\n",
            "hidden/__init__.py": "",
            "shown/__init__.py": "",
            "other/__init__.py": "",
            "mid/z.py": "",
            "high/x.py": "",
            "urls.py": "from madoguchi.high import x\n",
        },
    )
    graph = import_graph(top)
    assert {b: where for b, where in graph["low"].items()} == {
        "high": ["madoguchi/low/a.py:1"],
        "mid": ["madoguchi/low/b.py:2"],
        "shown": ["madoguchi/low/c.py:5"],
        "other": ["madoguchi/low/d.py:1"],
    }
    assert graph["urls"] == {"high": ["madoguchi/urls.py:1"]}


def test_an_upward_import_fails_naming_the_file_and_line() -> None:
    layers = [("low",), ("high", "mate")]
    graph: Graph = {
        "low": {"high": ["madoguchi/low/a.py:3", "madoguchi/low/b.py:7"]},
        "high": {"low": ["madoguchi/high/x.py:1"], "mate": ["madoguchi/high/x.py:2"]},
    }
    assert upward_imports(graph, layers) == [
        "low (layer 0) imports high (layer 1): madoguchi/low/a.py:3, madoguchi/low/b.py:7"
    ]
    # downward and (one way) within a layer are allowed
    del graph["low"]
    assert upward_imports(graph, layers) == []
    assert cycle_report(graph, layers) == []


def test_a_cycle_within_a_layer_fails_naming_every_import_in_it() -> None:
    layers = [("a", "b", "c")]
    graph: Graph = {
        "a": {"b": ["madoguchi/a/x.py:1"]},
        "b": {"c": ["madoguchi/b/x.py:2"]},
        "c": {"a": ["madoguchi/c/x.py:3"]},
    }
    assert upward_imports(graph, layers) == []
    assert cycle_report(graph, layers) == [
        "cycle among a, b, c:\n"
        "  a -> b: madoguchi/a/x.py:1\n"
        "  b -> c: madoguchi/b/x.py:2\n"
        "  c -> a: madoguchi/c/x.py:3"
    ]


def test_cycles_are_found_through_any_number_of_packages() -> None:
    graph: Graph = {"a": {"b": ["a.py:1"]}, "b": {"c": ["b.py:1"]}, "c": {"a": ["c.py:1"]}}
    assert cycles({**graph, "d": {}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b": ["x"]}, "b": {}}) == []
