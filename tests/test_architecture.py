"""The shape of the code: what the plugin ABI may import, and no import cycles anywhere."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [ROOT / "agentgpt_core", *sorted(p for p in (ROOT / "plugins").glob("*/agentgpt_*") if p.is_dir())]


def module_files() -> dict[str, Path]:
    """Every module of the core and the first-party plugins, by dotted name."""
    modules = {}
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            parts = path.relative_to(package.parent).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports anywhere in its source (lazy imports in functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` names module a.b.c, or the closest package
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "agentgpt_core.kinds.client" in graph["agentgpt_core.kinds.gateway"]  # relative
    assert "agentgpt_core.plugins" in graph["agentgpt_core.remote.connect"]  # inside a function
    assert "agentgpt_core.kinds" in graph["agentgpt_transport_ws.gateway"]  # across distributions
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles_in_the_core_and_the_plugins():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_plugin_abi_and_the_protocol_import_nothing_else_of_the_core():
    """kinds/ and protocol/ load in a fresh interpreter without torch and without any other core subpackage."""
    names = sorted(n for n in module_files() if n.startswith(("agentgpt_core.kinds", "agentgpt_core.protocol")))
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)
    assert "torch" not in loaded
    core = {n for n in loaded if n.startswith("agentgpt_core.")} - {"agentgpt_core._version"}  # the root's version string
    assert core == {n for n in core if n.startswith(("agentgpt_core.kinds", "agentgpt_core.protocol"))}, sorted(core)
    assert set(names) <= set(loaded)
