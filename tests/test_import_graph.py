"""The package's imports point one way: no circle among modules, no import against the layers.

Every ``import`` is parsed (module level, inside functions and under ``TYPE_CHECKING``), so an
import hidden in a function to dodge a circle is still a circle. The layers, lowest first, are
fixed here; a module may import from its own layer or any lower one, never a higher one.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "rollout"

#: Top-level packages and modules of ``rollout`` by layer, lowest first.
LAYERS: list[set[str]] = [
    {"", "errors", "io", "common", "console"},
    {"data"},
    {"estimation"},
    {"policy"},
    {"analysis"},
    {"scoring"},
    {"planning"},
    {"evaluation"},
    {"simulation"},
    {"report"},
    {"demo"},
    {"cli"},
]
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``rollout`` modules that ``name`` imports anywhere in its text."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "rollout"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "rollout":
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & known
            found |= subs if subs and len(subs) == len(node.names) else subs | {target}
    return {m for m in found if m in known and m != name}


@functools.cache
def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports as a list of modules, or None (iterative DFS, deterministic order)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child):], child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_cycle_finder_finds_a_planted_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_top_level_part_has_a_layer():
    tops = {_top(m) for m in _modules()}
    assert tops - set(LAYER_OF) == set(), "give every new top-level package a layer here"


def test_no_import_circle():
    cycle = find_cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_follow_the_layers(module):
    graph = _graph()
    against = sorted(
        target for target in graph[module] if LAYER_OF[_top(target)] > LAYER_OF[_top(module)]
    )
    assert against == [], f"{module} imports from a higher layer: {against}"
