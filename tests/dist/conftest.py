"""The distribution tier: the krew archive built as `make dist` builds it, the real krew and kubectl.

Tools come from `hack/cluster.sh build` ($KDS_CACHE/bin: kubectl, krew, validate-krew-manifest).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack"))
import dist  # noqa: E402 - hack/dist.py, the build under test

BIN = Path(os.environ.get("KDS_CACHE", Path.home() / ".cache" / "kubectl-ds")) / "bin"


def tool(name: str) -> str:
    # kubectl is built with each Kubernetes version (hack/cluster.sh bin: K8S_VERSION's directory)
    path = _k8s_bin() / name if name == "kubectl" else BIN / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run `hack/cluster.sh build` (or `make test`)", pytrace=False)
    return str(path)


def _k8s_bin() -> Path:
    out = subprocess.run(["bash", str(ROOT / "hack" / "cluster.sh"), "bin"], capture_output=True, text=True)
    return Path(out.stdout.strip())


def oldest_python() -> str:
    """The oldest Python the plugin supports (3.9): on PATH, or pyenv's."""
    candidates = [str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))]
    candidates += [p for p in [shutil.which("python3.9")] if p]
    found = next((c for c in candidates if subprocess.run([c, "-c", "pass"], capture_output=True).returncode == 0),
                 None)
    if not found:
        pytest.fail("no Python 3.9 found (python3.9 on PATH or ~/.pyenv/versions/3.9*): the plugin "
                    "promises 3.9, so the zipapp is tested with it", pytrace=False)
    return found


@pytest.fixture(scope="session")
def archive(tmp_path_factory) -> Path:
    """The krew archive, freshly built by hack/dist.py (what `make dist` writes to dist/)."""
    return dist.build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def unpacked(archive, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(archive) as tf:
        tf.extractall(out)
    return out


@pytest.fixture
def app_env(tmp_path):
    """Environment for running the zipapp with its unpack cache in a temporary directory."""
    return dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), NO_COLOR="1")


def run(cmd, env=None, cwd=ROOT, expect=0, timeout=120):
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    if expect is not None and proc.returncode != expect:
        raise AssertionError(f"{' '.join(map(str, cmd))}: exit {proc.returncode} (wanted {expect})\n"
                             f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc
