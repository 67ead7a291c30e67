"""The core stays pure: no CLI, client, rendering or YAML imports, no clock, no printing. And the
packages around it import one way: commands use everything; the engines that act over time (run/)
use core and source, never commands or rendering; render/ formats results without reading a
cluster or running anything; source/ reads a cluster without knowing who asks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kubectl_ds"
CORE = PACKAGE / "core"
FORBIDDEN_MODULES = {"click", "kubernetes", "tabulate", "yaml", "urllib3", "requests", "time", "os", "subprocess"}


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_is_pure(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        bad = FORBIDDEN_MODULES.intersection(names)
        assert not bad, f"{path.name} imports {bad}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("print", "open"), f"{path.name} calls {node.func.id}()"
        if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today"):
            raise AssertionError(f"{path.name} reads the clock ({node.attr})")


# package -> the kubectl_ds packages it must not import (at module level or inside a function)
LAYERS = {
    "run": ("kubectl_ds.commands", "kubectl_ds.render"),
    "render": ("kubectl_ds.source", "kubectl_ds.run"),
    "source": ("kubectl_ds.commands", "kubectl_ds.render", "kubectl_ds.run"),
}


def _imported(tree: ast.AST):
    """Every module an import statement names (`from kubectl_ds import run` names kubectl_ds.run)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


@pytest.mark.parametrize("path", sorted(p for layer in LAYERS for p in (PACKAGE / layer).glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_package_imports_only_its_layers(path):
    forbidden = LAYERS[path.parent.name]
    bad = sorted({m for m in _imported(ast.parse(path.read_text()))
                  if any(m == f or m.startswith(f + ".") for f in forbidden)})
    assert not bad, f"kubectl_ds/{path.parent.name}/{path.name} imports {bad}"


def test_every_layer_has_modules():
    assert all(len(list((PACKAGE / layer).glob("*.py"))) >= 2 for layer in LAYERS)


def test_help_does_not_import_the_client():
    import subprocess
    import sys
    code = ("import sys; from kubectl_ds.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'kubernetes' not in sys.modules, 'kubernetes imported for --help'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
