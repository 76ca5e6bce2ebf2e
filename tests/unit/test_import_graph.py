"""The collection's Python imports form no cycle, and every private file says it is private.

The graph is read from the source (``ast``), so an import inside a function counts as much as one at
the top of a file: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
import pathlib
from typing import Dict, List, Set

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFIX = "ansible_collections.vaware.hyperv."
BANNER = "This is a private module for vaware.hyperv's internal use only"


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return PREFIX + ".".join(parts)


def _modules() -> Dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted((ROOT / "plugins").rglob("*.py"))}


def _imports(path: pathlib.Path, known: Set[str]) -> Set[str]:
    """Collection modules that ``path`` imports, wherever the import statement is."""
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: List[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from pkg import mod`` imports pkg.mod when that is a module, else a name of pkg
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in known:
                found.add(name)
    return found


def _graph() -> Dict[str, Set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        edges = _imports(path, known)
        # importing pkg.mod imports pkg/__init__ first: an edge to the package, not a cycle by itself
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Every cycle found by a depth-first search, each as the list of modules around it."""
    cycles: List[List[str]] = []
    state: Dict[str, int] = {}  # 1: on the stack, 2: done
    stack: List[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path):
    # the check itself must be able to fail: two modules importing each other, one of them in a function
    a = tmp_path / "a.py"
    b = tmp_path / "b.py"
    a.write_text("from pkg.b import g\n")
    b.write_text("def g():\n    from pkg.a import f\n    return f\n")
    known = {"pkg.a", "pkg.b"}
    graph = {"pkg.a": _imports(a, known), "pkg.b": _imports(b, known)}
    assert find_cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_the_graph_sees_the_collection():
    graph = _graph()
    plan = PREFIX + "plugins.plugin_utils._vss.plan"
    assert PREFIX + "plugins.plugin_utils._vss.scripts" in graph[plan]
    assert PREFIX + "plugins.plugin_utils._winpath" in graph[plan]


def test_no_import_cycles():
    cycles = find_cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(m[len(PREFIX) :] for m in cycle) for cycle in cycles)


PRIVATE = sorted(
    p
    for p in (ROOT / "plugins").rglob("*.py")
    if any(part.startswith("_") and part != "__init__.py" for part in p.relative_to(ROOT / "plugins").parts)
)


@pytest.mark.parametrize("path", PRIVATE, ids=lambda p: str(p.relative_to(ROOT)))
def test_private_files_carry_the_internal_use_banner(path):
    head = path.read_text(encoding="utf-8").split('"""', 1)[0]
    assert BANNER in head, f"{path.relative_to(ROOT)}: add the internal-use banner before the docstring"


def test_plugin_utils_has_no_public_modules():
    # plugin_utils is the collection's own code: every file is in a private package or has a private name
    public = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "plugins" / "plugin_utils").rglob("*.py")
        if not any(part.startswith("_") for part in p.relative_to(ROOT / "plugins" / "plugin_utils").parts)
    ]
    assert public == []


def test_tests_share_helpers_through_tests_support_only():
    # functional tests, support code and benchmarks must not reach into the unit tests for helpers
    offenders = []
    for folder in ("tests/functional", "tests/support", "benchmarks", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                module = node.module if isinstance(node, ast.ImportFrom) else None
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [module or ""]
                if any(n.startswith(PREFIX + "tests.unit") for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
