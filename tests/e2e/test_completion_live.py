"""Completion against the real control plane, through the real kubectl (`kubectl __complete ds ...`,
kubectl 1.26+'s plugin completion), with the krew archive's zipapp and its vendored client."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import time

import pytest

from tests.dist.conftest import dist, tool
from tests.e2e.conftest import ds_manifest


@pytest.fixture(scope="module")
def path_dir(tmp_path_factory):
    """A PATH with only kubectl, the archive's kubectl-ds and kubectl_complete-ds, and the system."""
    out = tmp_path_factory.mktemp("krew-bin")
    with tarfile.open(dist.build(tmp_path_factory.mktemp("dist"))) as tf:
        tf.extractall(out)
    os.symlink(tool("kubectl"), out / "kubectl")
    return out


def kubectl(path_dir, kubeconfig, *args, expect=0):
    env = {"PATH": f"{path_dir}:/usr/bin:/bin", "HOME": str(path_dir), "KUBECONFIG": kubeconfig,
           "XDG_CACHE_HOME": str(path_dir / "cache"), "NO_COLOR": "1"}
    proc = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == expect, f"kubectl {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}"
    return proc


def candidates(proc):
    lines = proc.stdout.splitlines()
    return [line.split("\t")[0] for line in lines[:-1]], lines[-1]


def test_kubectl_completes_live_nodes_daemonsets_and_namespaces(scenario, kubeconfig, path_dir):
    nodes = sorted([scenario.node("a"), scenario.node("b")])
    scenario.daemonset(ds_manifest("log-agent"))
    scenario.daemonset(ds_manifest("net-agent"))
    ns = scenario.namespace
    assert candidates(kubectl(path_dir, kubeconfig, "__complete", "ds", "why", scenario.id)) == (nodes, ":4")
    assert candidates(kubectl(path_dir, kubeconfig, "__complete", "ds", "diff", "-n", ns, "")) == \
        (["log-agent", "net-agent"], ":4")
    assert candidates(kubectl(path_dir, kubeconfig, "__complete", "ds", "why", nodes[0], f"--namespace={ns}",
                              "-d", "n")) == (["net-agent"], ":4")
    assert candidates(kubectl(path_dir, kubeconfig, "__complete", "ds", "diff", "-n", scenario.id[:8])) == \
        ([ns], ":4")
    # --kubeconfig and --context typed on the line win over $KUBECONFIG
    out = kubectl(path_dir, "/nonexistent", "__complete", "ds", "diff", "--kubeconfig", kubeconfig,
                  "--context", "local", "-n", ns, "l")
    assert candidates(out) == (["log-agent"], ":4")
    # and the plugin itself, through kubectl, with the same vendored client
    why = kubectl(path_dir, kubeconfig, "ds", "why", nodes[0], "-n", ns).stdout
    assert "log-agent" in why and "net-agent" in why


def test_forbidden_or_unreachable_gives_no_names_quickly(scenario, kubeconfig, path_dir, tmp_path):
    scenario.node("a")
    out = kubectl(path_dir, kubeconfig, "__complete", "ds", "why", "--context", "nobody", scenario.id)
    assert candidates(out) == ([], ":4")
    dead = tmp_path / "dead.kubeconfig"
    dead.write_text(re.sub(r"https://127\.0\.0\.1:\d+", "https://127.0.0.1:9", open(kubeconfig).read()))
    t0 = time.monotonic()
    assert candidates(kubectl(path_dir, str(dead), "__complete", "ds", "why", "")) == ([], ":4")
    assert time.monotonic() - t0 < 10
