"""Preemption and transient taints on the real control plane (kube-scheduler's DefaultPreemption,
the DaemonSet controller, KWOK nodes).

Preemption: a node filled by a filler pod; a DaemonSet without a priority class stays Pending, one
with a high class preempts the filler. `why` predicts both before the outcome: the high one's pod
is held back by a scheduling gate while `why` looks at it, then released.

Transient taints: a node being removed by cluster-autoscaler (or Karpenter) keeps its daemon pod,
misscheduled for the controller; `diff` counts it apart (exit 0), `why` names the taint and
advises no toleration, `lint` reports nothing for it.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import ds_manifest

GATE = "kds-e2e/hold"


def _agent(name, cpu, **spec):
    return ds_manifest(name, containers=[{"name": "agent", "image": "registry.example/agent:1.0",
                                          "resources": {"requests": {"cpu": cpu}}}], **spec)


@pytest.fixture
def priority_class(kube, scenario):
    from kubernetes import client
    sched = client.SchedulingV1Api(kube.api_client)
    name = f"{scenario.id}-high"
    sched.create_priority_class({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                 "metadata": {"name": name}, "value": 1000000,
                                 "description": "kubectl-ds e2e: a daemon agent that may preempt"})
    yield name
    kube._ignore_404(sched.delete_priority_class, name)


def _pending_tried(kube, ns, app):
    """The DaemonSet's pod, once the scheduler has tried and left it Pending (or it is gated)."""
    def check():
        for p in kube.pods(ns, f"app={app}"):
            cond = next((c for c in p.get("status", {}).get("conditions", []) if c.get("type") == "PodScheduled"), {})
            if cond.get("status") == "False" and not p["spec"].get("nodeName"):
                return p
        return "not tried yet"
    return kube.wait(f"the {app} pod to be Pending", check, kube.core.list_namespaced_pod, 60, namespace=ns)


def test_preemption_predicted_then_done_by_the_scheduler(scenario, kube, live, priority_class):
    ns = scenario.namespace
    n1 = scenario.node("n1", cpu="1")
    scenario.sync_nodes()
    kube.create_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "filler"}, "spec": {
        "nodeSelector": {"kubernetes.io/hostname": n1},
        "containers": [{"name": "c", "image": "registry.example/filler:1",
                        "resources": {"requests": {"cpu": "600m"}}}]}})
    kube.wait_pods(ns, "the filler to be bound", lambda pods: any(
        p["metadata"]["name"] == "filler" and p["spec"].get("nodeName") == n1 for p in pods) or "not bound")
    scenario.daemonset(_agent("plain", "600m"))
    scenario.daemonset(_agent("critical", "600m", priorityClassName=priority_class,
                              schedulingGates=[{"name": GATE}]))
    _pending_tried(kube, ns, "plain")
    held = _pending_tried(kube, ns, "critical")
    assert held["spec"]["priority"] == 1000000      # admission resolved the class

    # the prediction, before anything happens
    doc = live("why", n1, "-n", ns, "-o", "json").json()
    entries = {e["name"]: e for e in doc["daemonsets"]}
    plain, critical = entries["plain"]["preemption"], entries["critical"]["preemption"]
    assert entries["plain"]["state"] == "Pending" and entries["critical"]["state"] == "Pending"
    assert (plain["possible"], plain["reason"], plain["priority"], plain["priorityClassName"]) == (
        False, "NoLowerPriorityPods", 0, None)
    assert [v["name"] for v in plain["withSystemNodeCritical"]["victims"]] == ["filler"]
    assert "system-node-critical" in plain["advice"]
    assert (critical["possible"], critical["priority"], critical["priorityClassName"]) == (
        True, 1000000, priority_class)
    assert [(v["namespace"], v["name"]) for v in critical["victims"]] == [(ns, "filler")]
    text = live("why", n1, "-n", ns).stdout
    assert f"the scheduler can preempt {ns}/filler (priority 0)" in text
    assert "the scheduler cannot preempt: the one pod on the node" in text

    # the outcome: release the gate, the scheduler preempts the filler and binds the pod
    kube.core.patch_namespaced_pod(held["metadata"]["name"], ns, [{"op": "remove", "path": "/spec/schedulingGates"}])

    def preempted(pods):
        names = {p["metadata"]["name"] for p in pods}
        bound = [p for p in pods
                 if p["metadata"].get("labels", {}).get("app") == "critical" and p["spec"].get("nodeName")]
        return ("filler" not in names and bound) or f"filler still there: {'filler' in names}, bound: {len(bound)}"
    kube.wait_pods(ns, "the filler to be preempted and the critical pod bound", preempted, 90)
    time.sleep(3)    # give the scheduler a round at the plain pod: it must stay Pending
    plain_pods = kube.pods(ns, "app=plain")
    assert plain_pods and not plain_pods[0]["spec"].get("nodeName")
    events = kube.core.list_namespaced_event(ns).items
    assert any(e.reason == "Preempted" and e.involved_object.name == "filler" for e in events), [
        (e.reason, e.involved_object.name, e.message) for e in events]
    after = {e["name"]: e for e in live("why", n1, "-n", ns, "-o", "json").json()["daemonsets"]}
    assert after["critical"]["state"] in ("Running", "Unhealthy") and after["critical"]["preemption"] is None
    # the node now holds the critical pod (priority 1000000): the plain one still cannot preempt
    # it; as system-node-critical (2000001000) it could, and that pod would be the victim
    assert after["plain"]["preemption"]["reason"] == "NoLowerPriorityPods"
    assert [v["name"] for v in after["plain"]["preemption"]["withSystemNodeCritical"]["victims"]] == [
        after["critical"]["pod"]["name"]]


@pytest.mark.parametrize("taint", [
    {"key": "ToBeDeletedByClusterAutoscaler", "value": "1764633600", "effect": "NoSchedule"},
    {"key": "karpenter.sh/disrupted", "effect": "NoSchedule"},
], ids=["cluster-autoscaler", "karpenter"])
def test_node_being_removed_is_not_drift_and_gets_no_toleration(scenario, kube, live, taint):
    ns = scenario.namespace
    n1, n2 = scenario.node("n1"), scenario.node("n2")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(ns, "agent")
    kube.patch_node(n2, {"spec": {"taints": [taint]}})

    def recounted():
        # the controller counts the kept pod as misscheduled once it resyncs; touch it until then
        if kube.daemonset(ns, "agent")["status"].get("numberMisscheduled") == 1:
            return True
        time.sleep(0.5)
        kube.patch_daemonset(ns, "agent", {"metadata": {"labels": {"touched": str(time.monotonic_ns())}}})
        return "numberMisscheduled still 0"
    kube.wait("numberMisscheduled=1", recounted, kube.apps.list_namespaced_daemon_set, 60, namespace=ns)
    assert sorted(p["spec"]["nodeName"] for p in kube.pods(ns, "app=agent")) == sorted([n1, n2])  # kept

    doc = live("diff", "agent", "-n", ns, "-o", "json").json()           # exit 0: not drift
    assert doc["inSync"] is True and doc["misscheduled"] == [] and doc["desired"] == [n1]
    assert [(t["node"], t["problem"], t["kinds"]) for t in doc["transient"]] == [(n2, "Misscheduled", ["NodeRemoval"])]
    assert doc["status"]["reported"]["numberMisscheduled"] == 1 and not doc["status"]["stale"]
    table = live("diff", "-n", ns).stdout.splitlines()
    row = dict(zip(table[-2].split(), table[-1].split()))
    assert (row["TRANSIENT"], row["MISSCHEDULED"], row["SYNC"]) == ("1", "0", "InSync")

    why = live("why", n2, "-n", ns, "-o", "json").json()
    entry = why["daemonsets"][0]
    assert (entry["state"], entry["shouldRun"], entry["shouldContinueRunning"]) == ("Misscheduled", False, True)
    assert [(r["transient"], r["toleration"]) for r in entry["reasons"]] == [("NodeRemoval", None)]
    assert any(c["type"] == "NodeRemoval" for c in why["nodeConditions"])
    text = live("why", n2, "-n", ns, "-o", "wide").stdout
    assert "TransientTaint" in text and "tolerations:" not in text

    lint = live("lint", "agent", "-n", ns, "-o", "json").json()
    assert not [f for f in lint["findings"] if taint["key"] in str(f)]
