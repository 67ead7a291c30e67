"""The end-to-end tier: one real control plane per session (hack/cluster.sh), a namespace and
fresh KWOK nodes per test.

Set KDS_E2E_KUBECONFIG to run against a control plane you started yourself
(`hack/cluster.sh up`); otherwise the session starts one and stops it at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.kube import Kube

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "hack" / "cluster.sh"
ISOLATION_LABEL = "kds-e2e/test"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kubeconfig(tmp_path_factory):
    given = os.environ.get("KDS_E2E_KUBECONFIG")
    if given:
        yield given
        return
    run_dir = tmp_path_factory.mktemp("cluster")
    env = dict(os.environ, KDS_RUN=str(run_dir))
    up = subprocess.run(["bash", str(CLUSTER), "up"], env=env, capture_output=True, text=True)
    if up.returncode != 0:
        pytest.fail(f"could not start the control plane (hack/cluster.sh up, exit {up.returncode}):\n"
                    f"{up.stderr[-3000:]}\nBuild it first with: hack/cluster.sh build", pytrace=False)
    try:
        yield str(run_dir / "kubeconfig")
    finally:
        subprocess.run(["bash", str(CLUSTER), "down"], env=env, capture_output=True, text=True)


@pytest.fixture(scope="session")
def kube(kubeconfig):
    return Kube(kubeconfig)


class Scenario:
    """A test's own namespace and nodes; DaemonSets made here only select this test's nodes."""

    def __init__(self, kube: Kube, test_name: str):
        self.kube = kube
        slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:30].strip("-")
        self.id = f"{slug}-{uuid.uuid4().hex[:5]}"
        self.namespace = self.id
        self.nodes = []
        self.barriers = 0
        kube.create_namespace(self.namespace)

    def node(self, suffix: str, labels=None, **kwargs) -> str:
        name = f"{self.id}-{suffix}"
        self.kube.create_node(name, labels={ISOLATION_LABEL: self.id, **(labels or {})}, **kwargs)
        self.nodes.append(name)
        return name

    def sync_nodes(self, timeout: float = 60) -> None:
        """Barrier: every node Ready and untainted by the lifecycle controller, and the DaemonSet
        controller's informer holding that version of every node.

        New nodes carry node.kubernetes.io/not-ready:NoSchedule (TaintNodesByCondition) until
        the node lifecycle controller sees them Ready; a DaemonSet synced in that window skips
        them. So: wait for the API to show the taint gone, then create a probe DaemonSet that
        tolerates exactly the nodes' other taints, and wait until it counts every node.
        """
        lifecycle = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")

        def nodes_ready():
            bad = []
            for name in self.nodes:
                node = self.kube.node(name)
                conds = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions", [])}
                keys = [t["key"] for t in node["spec"].get("taints") or ()]
                if conds.get("Ready") != "True" or any(k in lifecycle for k in keys):
                    bad.append(f"{name}: Ready={conds.get('Ready')} taints={keys}")
            return True if not bad else "; ".join(bad)
        self.kube.wait("nodes Ready without lifecycle taints", nodes_ready, self.kube.core.list_node, timeout)
        keys = sorted({t["key"] for n in self.nodes for t in self.kube.node(n)["spec"].get("taints") or ()})
        self.barriers += 1
        probe_name = f"kds-barrier-{self.barriers}"
        probe = ds_manifest(probe_name, tolerations=[{"key": k, "operator": "Exists"} for k in keys])
        self.kube.create_daemonset(self.namespace, self.isolate(probe))
        want = len(self.nodes)
        self.kube.wait(f"the DaemonSet controller to see {want} ready nodes", lambda: (
            lambda st: st.get("desiredNumberScheduled") == want or f"status {st}")(
                self.kube.daemonset(self.namespace, probe_name).get("status") or {}),
            self.kube.apps.list_namespaced_daemon_set, timeout, namespace=self.namespace)
        # its pods would go with the garbage collector, later; until then they are "other pods"
        # on the nodes (resources, host ports) for whatever the test does next: delete them now
        self.kube.apps.delete_namespaced_daemon_set(probe_name, self.namespace)   # its revision: the GC's
        self.kube.core.delete_collection_namespaced_pod(self.namespace, label_selector=f"app={probe_name}",
                                                        grace_period_seconds=0)
        self.kube.wait_pods(self.namespace, f"the {probe_name} pods to be gone", lambda pods: not pods or (
            f"{len(pods)} left"), timeout, label_selector=f"app={probe_name}")

    def isolate(self, ds: dict) -> dict:
        spec = ds["spec"]["template"]["spec"]
        spec.setdefault("nodeSelector", {})[ISOLATION_LABEL] = self.id
        return ds

    def daemonset(self, ds: dict) -> dict:
        return self.kube.create_daemonset(self.namespace, self.isolate(ds))

    def cleanup(self):
        self.kube.delete_namespace(self.namespace)
        for n in self.nodes:
            self.kube.delete_node(n)


@pytest.fixture
def scenario(kube, request):
    s = Scenario(kube, request.node.name)
    yield s
    s.cleanup()


@pytest.fixture
def live(kubeconfig, run_cli):
    """Run kubectl-ds against the live cluster (real clock, real LiveSource)."""
    from kubectl_ds.env import Env

    def run(*args, expect=0):
        return run_cli(*args, "--kubeconfig", kubeconfig, expect=expect, env=Env(color=False))
    return run


def ds_manifest(name: str, **spec_extra) -> dict:
    """A minimal valid apps/v1 DaemonSet."""
    containers = spec_extra.pop("containers", None) or [{"name": "agent", "image": "registry.example/agent:1.0"}]
    strategy = spec_extra.pop("updateStrategy", None)
    pod_spec = {"containers": containers, **spec_extra}
    body = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}}}
    if strategy:
        body["spec"]["updateStrategy"] = strategy
    return body
