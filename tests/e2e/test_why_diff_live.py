"""`why` and `diff` against the real DaemonSet controller, scheduler and garbage collector."""

from __future__ import annotations

import time

from tests.e2e.conftest import ISOLATION_LABEL, ds_manifest

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def _nodes_with_pods(kube, ns, name):
    """The nodes of the live pods; a pod the scheduler has not bound yet counts as ""."""
    return sorted(p["spec"].get("nodeName") or "" for p in kube.pods(ns, f"app={name}")
                  if not p["metadata"].get("deletionTimestamp"))


def test_control_plane_node_is_skipped_and_why_names_the_toleration(scenario, kube, live):
    cp = scenario.node("cp", labels={"node-role.kubernetes.io/control-plane": ""}, taints=[CP_TAINT])
    w = scenario.node("w1")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(scenario.namespace, "agent")
    assert _nodes_with_pods(kube, scenario.namespace, "agent") == [w]

    doc = live("why", cp, "-d", "agent", "-n", scenario.namespace, "-o", "json").json()
    entry = doc["daemonsets"][0]
    assert (entry["shouldRun"], entry["shouldContinueRunning"], entry["state"]) == (False, True, "NotEligible")
    assert entry["reasons"][0]["toleration"] == {"key": "node-role.kubernetes.io/control-plane",
                                                 "operator": "Exists", "effect": "NoSchedule"}
    text = live("why", cp, "-d", "agent", "-n", scenario.namespace).stdout
    assert "key: node-role.kubernetes.io/control-plane" in text

    # the suggested toleration, applied, makes the real controller place the pod
    kube.patch_daemonset(scenario.namespace, "agent", {"spec": {"template": {"spec": {
        "tolerations": [entry["reasons"][0]["toleration"]]}}}})
    kube.wait_pods(scenario.namespace, "a pod on the control-plane node",
                   lambda pods: any(p["spec"].get("nodeName") == cp for p in pods), label_selector="app=agent")
    kube.wait_settled(scenario.namespace, "agent")
    assert live("diff", "agent", "-n", scenario.namespace, "-o", "json").json()["desired"] == sorted([cp, w])


def test_node_selector_and_affinity(scenario, kube, live):
    ssd = scenario.node("ssd", labels={"disktype": "ssd", "zone": "a"})
    hdd = scenario.node("hdd", labels={"disktype": "hdd", "zone": "b"})
    bare = scenario.node("bare")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("by-selector", nodeSelector={"disktype": "ssd"}))
    scenario.daemonset(ds_manifest("by-affinity", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b", "c"]}]},
            {"matchExpressions": [{"key": "disktype", "operator": "DoesNotExist"}]}]}}}))
    kube.wait_settled(scenario.namespace, "by-selector")
    kube.wait_settled(scenario.namespace, "by-affinity")
    assert _nodes_with_pods(kube, scenario.namespace, "by-selector") == [ssd]
    assert _nodes_with_pods(kube, scenario.namespace, "by-affinity") == sorted([hdd, bare])

    sel = live("diff", "by-selector", "-n", scenario.namespace, "-o", "json").json()
    aff = live("diff", "by-affinity", "-n", scenario.namespace, "-o", "json").json()
    assert sel["desired"] == sel["actual"] == [ssd] and sel["inSync"]
    assert aff["desired"] == aff["actual"] == sorted([hdd, bare])
    assert not sel["status"]["stale"] and not aff["status"]["stale"]

    why = live("why", bare, "-n", scenario.namespace, "-o", "json").json()
    by_name = {e["name"]: e for e in why["daemonsets"]}
    assert by_name["by-selector"]["reasons"][0]["type"] == "NodeSelector"
    assert by_name["by-selector"]["reasons"][0]["nodeValue"] is None
    assert by_name["by-affinity"]["state"] == "Running"
    why_ssd = live("why", ssd, "-d", "by-affinity", "-n", scenario.namespace, "-o", "json").json()
    assert why_ssd["daemonsets"][0]["reasons"][0]["type"] == "NodeAffinity"


def test_node_added_then_label_removed(scenario, kube, live):
    n1 = scenario.node("n1", labels={"role": "agent"})
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent", nodeSelector={"role": "agent"}))
    kube.wait_settled(scenario.namespace, "agent")

    n2 = scenario.node("n2", labels={"role": "agent"})
    scenario.sync_nodes()
    kube.wait_pods(scenario.namespace, "a pod on the new node",
                   lambda pods: any(p["spec"].get("nodeName") == n2 for p in pods), label_selector="app=agent")
    kube.wait_settled(scenario.namespace, "agent")
    doc = live("diff", "agent", "-n", scenario.namespace, "-o", "json").json()
    assert doc["desired"] == doc["actual"] == sorted([n1, n2]) and doc["inSync"]

    kube.patch_node(n2, {"metadata": {"labels": {"role": None}}})
    # before the controller acts, diff sees a pod that must go (evicting), then it is gone
    kube.wait_pods(scenario.namespace, "the pod on the unlabelled node to be deleted",
                   lambda pods: not any(p["spec"].get("nodeName") == n2 and not p["metadata"].get("deletionTimestamp")
                                        for p in pods), label_selector="app=agent")
    kube.wait_settled(scenario.namespace, "agent")
    doc = live("diff", "agent", "-n", scenario.namespace, "-o", "json").json()
    assert doc["desired"] == [n1] and doc["inSync"]
    why = live("why", n2, "-d", "agent", "-n", scenario.namespace, "-o", "json").json()["daemonsets"][0]
    assert (why["shouldRun"], why["shouldContinueRunning"]) == (False, False)


def test_noschedule_taint_after_placement_is_misscheduled_but_kept(scenario, kube, live):
    """Found here: v1.33's node-update queue (syncNodeUpdate) does not resync the DaemonSet when a
    NoSchedule taint lands on a node that runs its pod while numberMisscheduled is 0, so the
    status keeps saying 0 misscheduled until something else touches the DaemonSet. `diff` reads
    the pods and says the truth (and flags the status as stale); after any resync they agree."""
    n1, n2 = scenario.node("n1"), scenario.node("n2")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(scenario.namespace, "agent")
    kube.patch_node(n2, {"spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}})
    doc = live("diff", "agent", "-n", scenario.namespace, "-o", "json", expect=1).json()
    assert doc["misscheduled"] == [n2] and doc["evicting"] == [] and doc["desired"] == [n1]

    # any DaemonSet event makes the controller recount (touch it until its informer has the
    # tainted node); the pod must still be there afterwards
    touches = iter(range(1000))

    def recounted():
        if kube.daemonset(scenario.namespace, "agent")["status"].get("numberMisscheduled") == 1:
            return True
        time.sleep(0.5)   # each touch wakes the wait at once: pace them
        kube.patch_daemonset(scenario.namespace, "agent", {"metadata": {"labels": {"touched": str(next(touches))}}})
        return "numberMisscheduled still 0"
    kube.wait("numberMisscheduled=1", recounted, kube.apps.list_namespaced_daemon_set, 60,
              namespace=scenario.namespace)
    doc = live("diff", "agent", "-n", scenario.namespace, "-o", "json", expect=1).json()
    assert doc["misscheduled"] == [n2] and not doc["status"]["stale"]
    assert _nodes_with_pods(kube, scenario.namespace, "agent") == sorted([n1, n2])  # still running
    table = live("diff", "agent", "-n", scenario.namespace, expect=1).stdout
    assert "pod kept running" in table
    why = live("why", n2, "-d", "agent", "-n", scenario.namespace, "-o", "json").json()["daemonsets"][0]
    assert why["state"] == "Misscheduled" and why["reasons"][0]["evicts"] is False


def test_noexecute_taint_evicts(scenario, kube, live):
    n1, n2 = scenario.node("n1"), scenario.node("n2")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(scenario.namespace, "agent")
    kube.patch_node(n2, {"spec": {"taints": [{"key": "maintenance", "effect": "NoExecute"}]}})
    kube.wait_pods(scenario.namespace, "the pod on the NoExecute node to go",
                   lambda pods: [p["spec"].get("nodeName") for p in pods
                                 if not p["metadata"].get("deletionTimestamp")] == [n1], label_selector="app=agent")
    why = live("why", n2, "-d", "agent", "-n", scenario.namespace, "-o", "json").json()["daemonsets"][0]
    assert (why["shouldRun"], why["shouldContinueRunning"]) == (False, False)
    assert why["reasons"][0]["evicts"] is True
    kube.wait_settled(scenario.namespace, "agent")
    assert live("diff", "agent", "-n", scenario.namespace, "-o", "json").json()["desired"] == [n1]


def test_cordoned_node_still_runs_it(scenario, kube, live):
    n1 = scenario.node("n1", unschedulable=True)
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(scenario.namespace, "agent")
    assert _nodes_with_pods(kube, scenario.namespace, "agent") == [n1]
    doc = live("why", n1, "-d", "agent", "-n", scenario.namespace, "-o", "json").json()
    assert [c["type"] for c in doc["nodeConditions"]] == ["NodeCordoned"]
    assert doc["daemonsets"][0]["state"] == "Running"
    assert live("diff", "agent", "-n", scenario.namespace, "-o", "json").json()["inSync"]


def test_pending_for_insufficient_cpu(scenario, kube, live):
    small = scenario.node("small", cpu="1")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("hungry", containers=[{
        "name": "agent", "image": "registry.example/agent:1.0", "resources": {"requests": {"cpu": "1500m"}}}]))
    kube.wait("a FailedScheduling event for the pending pod", lambda: any(
        e.get("reason") == "FailedScheduling" and "Insufficient cpu" in (e.get("message") or "")
        for e in kube._data(kube.core.list_namespaced_event(scenario.namespace, _preload_content=False))["items"]),
        kube.core.list_namespaced_event, 60, namespace=scenario.namespace)
    doc = live("why", small, "-d", "hungry", "-n", scenario.namespace, "-o", "json").json()
    entry = doc["daemonsets"][0]
    assert entry["state"] == "Pending" and entry["shouldRun"]
    types = [p["type"] for p in entry["pod"]["problems"]]
    assert types[0] == "FailedScheduling" and "Insufficient cpu" in entry["pod"]["problems"][0]["message"]
    assert "InsufficientResource" in types
    diff = live("diff", "hungry", "-n", scenario.namespace, "-o", "json").json()
    assert diff["unready"] == [small] and diff["inSync"]  # desired and current, just not running


def test_forbidden_user_gets_one_line(kubeconfig, run_cli):
    from kubectl_ds.env import Env
    res = run_cli("diff", "-A", "--kubeconfig", kubeconfig, "--context", "nobody", expect=2, env=Env(color=False))
    assert res.stderr.startswith("error: forbidden: cannot list daemonsets at the cluster scope")
    assert len(res.stderr.splitlines()) == 1


def test_unknown_node_and_daemonset_live(scenario, live):
    assert live("why", "no-such-node", expect=2).stderr == 'error: node "no-such-node" not found\n'
    res = live("diff", "nope", "-n", scenario.namespace, expect=2)
    assert res.stderr == f"error: daemonset \"nope\" not found in namespace '{scenario.namespace}'\n"


def test_unreachable_node_keeps_its_daemon_pod(scenario, kube, live):
    """A node stops reporting: after the node-monitor grace period the lifecycle controller marks
    it Unknown and taints it unreachable, NoSchedule and NoExecute. The controller's own daemon
    tolerations cover unreachable:NoExecute only: shouldRun false, shouldContinueRunning true, so
    the pod stays, counted as misscheduled. The node here is not KWOK's: the test writes its one
    Ready heartbeat itself, then stops."""
    from datetime import datetime, timezone
    n1 = scenario.node("n1")
    n2 = f"{scenario.id}-n2"
    kube.core.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n2, "labels": {
        "kubernetes.io/hostname": n2, "kubernetes.io/os": "linux", ISOLATION_LABEL: scenario.id}},
        "spec": {}}, _preload_content=False)
    scenario.nodes.append(n2)
    last_beat = [0.0]

    def heartbeat():
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        kube.core.patch_node_status(n2, {"status": {
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "test heartbeat", "lastHeartbeatTime": now,
                            "lastTransitionTime": now}]}}, _preload_content=False)
        last_beat[0] = time.monotonic()
    heartbeat()
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))

    def bound():
        # keep the node alive until both pods are bound: on a slow machine the grace period
        # could otherwise run out before the scheduler binds the pod to n2
        if time.monotonic() - last_beat[0] > 10:
            heartbeat()
        got = _nodes_with_pods(kube, scenario.namespace, "agent")
        return got == sorted([n1, n2]) or f"pods on {got}"
    kube.wait("a daemon pod bound to each node", bound, kube.core.list_namespaced_pod, 60,
              namespace=scenario.namespace)
    heartbeat()   # the last one: the grace period starts now

    def unreachable():
        node = kube.node(n2)
        keys = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or ()}
        want = {("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")}
        return want <= keys or f"taints {sorted(keys)}"
    kube.wait("the lifecycle controller to taint the node unreachable", unreachable, kube.core.list_node, 150)
    time.sleep(3)   # a NoExecute eviction, were it coming, would be immediate
    assert _nodes_with_pods(kube, scenario.namespace, "agent") == sorted([n1, n2])
    why = live("why", n2, "-d", "agent", "-n", scenario.namespace, "-o", "json").json()
    entry = why["daemonsets"][0]
    assert (entry["shouldRun"], entry["shouldContinueRunning"], entry["state"]) == (False, True, "Misscheduled")
    assert {r["taint"]["key"] for r in entry["reasons"]} == {"node.kubernetes.io/unreachable"}
    assert any(c["type"] == "NodeNotReady" for c in why["nodeConditions"])
    assert all(r["toleration"] is None and r["transient"] == "NodeLifecycle" for r in entry["reasons"])
    # the controller counts the kept pod as misscheduled; diff counts it apart, as transient
    doc = live("diff", "agent", "-n", scenario.namespace, "-o", "json").json()
    assert doc["misscheduled"] == [] and doc["evicting"] == [] and doc["desired"] == [n1]
    assert [(t["node"], t["problem"]) for t in doc["transient"]] == [(n2, "Misscheduled")]
    assert doc["inSync"] is True and doc["status"]["computed"]["numberMisscheduled"] == 1
