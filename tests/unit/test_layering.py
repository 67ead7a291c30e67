"""The core stays pure: no CLI, client, rendering or YAML imports, no clock, no printing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "kubectl_ds" / "core"
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


def test_help_does_not_import_the_client():
    import subprocess
    import sys
    code = ("import sys; from kubectl_ds.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'kubernetes' not in sys.modules, 'kubernetes imported for --help'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
