"""The package's layers: every import in src/ (module-level, in functions, under TYPE_CHECKING)
goes to the same layer or an earlier one, and the module graph has no cycle.

core → kb → lang → checks, engine → authoring, render, the public API → plugins, serve, cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "neutropenia_kb"
ROOT = "neutropenia_kb"

# The first folder (or module) under the package → its layer. The package's own __init__ is the
# public API, layer 4; build.py drives the MkDocs plugin, so it sits with the plugins.
LAYERS = {
    "core": 0,
    "kb": 1,
    "lang": 2,
    "checks": 3, "engine": 3,
    "authoring": 4, "render": 4, "__init__": 4,
    "plugins": 5, "build": 5, "serve": 5, "fhir": 5, "commands": 5, "cli": 5, "__main__": 5,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def resolve(name: str) -> str:
    """The module an imported name lives in: `neutropenia_kb.kb.model` for the module itself or
    for `from neutropenia_kb.kb import model`; a package's __init__ otherwise."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> set[str]:
    """Every package module that `module` imports, wherever the import statement sits."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {resolve(n) for n in names if n == ROOT or n.startswith(ROOT + ".")}
    found.discard(module)
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer(module)  # a KeyError names a folder missing from LAYERS


def test_no_import_goes_to_a_later_layer() -> None:
    upward = sorted(f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
                    for m, targets in GRAPH.items() for t in targets if layer(t) > layer(m))
    assert upward == []


def test_no_verb_imports_another_verb() -> None:
    """A verb parses arguments, makes one library call and prints: what two verbs share lives
    in the library (or in commands/__init__.py, the arguments every verb takes alike)."""
    verbs = {m for m in MODULES if m.startswith(f"{ROOT}.commands.")}
    shared = sorted(f"{m} imports {t}" for m in verbs for t in GRAPH[m] if t in verbs)
    assert shared == []


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None; iterative depth-first search (white/grey/black)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_the_module_graph_has_no_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, " → ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None




@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_about_400_lines(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= 420, f"{module} has {lines} lines"
