"""The codebase's shape (issue 18): no import cycles, short functions, short modules, lazy TensorFlow.

The import graph counts every import, module-level or inside a function, resolved to the module
that defines the name (``from .scrambler import train`` is an edge to ``scrambler_core.scrambler.train``
when that submodule exists, else to the package ``scrambler_core.scrambler``).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "scrambler_core"
PAGES = ROOT / "pages"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 800
# the argparse table reads best as one function
LONG_FUNCTION_ALLOWED = {("scrambler_core/cli.py", "_parser")}


def _modules(root: Path) -> dict[str, Path]:
    mods = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _targets(mods, current, is_package, node) -> set[str]:
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = current.split(".")
            if not is_package:
                base = base[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names]
    else:
        names = [a.name for a in node.names]
    out = set()
    for name in names:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        if name and name != current:
            out.add(name)
    return out


def import_graph(root: Path = CORE) -> dict[str, set[str]]:
    """Module -> modules it imports (anywhere in its body), within ``root``'s package."""
    mods = _modules(root)
    graph = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _targets(mods, name, path.name == "__init__.py", node)
        graph[name] = edges
    return graph


def strongly_connected(graph) -> list[list[str]]:
    """Tarjan's algorithm; components of more than one module (import cycles)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _python_files():
    return sorted(list(CORE.rglob("*.py")) + list(PAGES.rglob("*.py")) + [ROOT / "app.py"])


def test_the_graph_finds_a_cycle_it_is_shown():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_scrambler_core_has_no_import_cycles():
    assert strongly_connected(import_graph()) == []


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and (rel, node.name) not in LONG_FUNCTION_ALLOWED:
                    long.append(f"{rel}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_no_module_is_longer_than_800_lines():
    long = [f"{p.relative_to(ROOT)} ({n} lines)" for p in _python_files()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert long == []


def test_the_core_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in CORE.rglob("*.py")
                 if any(isinstance(n, (ast.Import, ast.ImportFrom))
                        and any((getattr(n, "module", None) or a.name).split(".")[0] == "streamlit" for a in n.names)
                        for n in ast.walk(ast.parse(p.read_text())))]
    assert offenders == []


@pytest.mark.parametrize("code", [
    "import scrambler_core",
    "import scrambler_core as sc; sc.one_hot(['ACGT'], sc.DNA); sc.parse_text('>a\\nACGT')",
    "import sys; sys.argv = ['scrambler', '--help']\nfrom scrambler_core.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
])
def test_tensorflow_is_not_imported_until_a_model_is_needed(code):
    probe = code + "\nimport sys; print('TF=' + str('tensorflow' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "TF=False" in out.stdout, out.stdout[-500:]


def test_names_are_still_reachable_lazily():
    code = "import scrambler_core as sc; print(sc.Scrambler.__name__, sc.load_predictor.__name__, sc.METHODS[0])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[:2] == ["Scrambler", "load_predictor"]
