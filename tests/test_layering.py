"""Imports run one way (DESIGN §6): no cycle among workflow/ modules, and pages and the API stop at the services.

Every import counts, those inside functions too: a function-level import that closes a
circle is still a circle, only one that fails later.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workflow"
# Pages and the API call services; these they never touch.
BEHIND_THE_SERVICES = {"workflow.db", "workflow.engine", "workflow.guards", "workflow.effects", "workflow.outbox"}
# The engine knows guards, effects and jobs by name only.
NOT_FOR_THE_ENGINE = {"workflow.guards", "workflow.effects", "workflow.jobs", "workflow.outbox",
                      "workflow.permissions", "workflow.services"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The workflow modules `name` imports anywhere in its body; `from . import x` names the module x."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in known else target)
    return (found & known) - {name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
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

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_among_workflow_modules():
    assert cycles(graph()) == []


def test_the_check_finds_a_cycle_through_a_function_level_import(tmp_path):
    """The check can fail: an import inside a function is read, and the circle it closes is found."""
    probe = tmp_path / "workflow" / "engine.py"
    probe.parent.mkdir()
    probe.write_text("def known_names():\n    from . import guards\n    return guards.REGISTRY\n")
    g = graph()
    g["workflow.engine"] = imports_of("workflow.engine", probe, set(g))
    assert g["workflow.engine"] == {"workflow.guards"}
    assert any({"workflow.engine", "workflow.guards"} <= set(c) for c in cycles(g))


@pytest.mark.parametrize("layer", ["workflow.api", "workflow.web"])
def test_pages_and_the_api_reach_no_further_than_the_services(layer):
    g = graph()
    reaching = {name: sorted(g[name] & BEHIND_THE_SERVICES) for name in g
                if (name == layer or name.startswith(layer + ".")) and g[name] & BEHIND_THE_SERVICES}
    assert reaching == {}


def test_the_engine_imports_no_registry_and_no_service():
    g = graph()
    assert {m for m in g["workflow.engine"] if any(m == n or m.startswith(n + ".") for n in NOT_FOR_THE_ENGINE)} \
        == set()


def test_actors_is_a_leaf():
    assert graph()["workflow.actors"] == set()
