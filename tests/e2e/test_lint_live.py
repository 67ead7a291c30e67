"""`lint` and `footprint` against the real control plane: the claims behind the checks, checked.

DS001's toleration, once applied, makes the real controller place the pod; DS007's deadlock
(maxSurge with a host port, kubernetes#106417) happens for real under the real scheduler;
DS016's "replicas beyond the usable nodes can never be scheduled" is what the real scheduler
does; footprint's node counts are the controller's desiredNumberScheduled.
"""

from __future__ import annotations

from tests.e2e.conftest import ds_manifest

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
PORT = {"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}


def _create_deployment(kube, ns: str, body: dict) -> dict:
    return kube._data(kube.apps.create_namespaced_deployment(ns, body, _preload_content=False))


def _one_per_node_deployment(name: str, replicas: int, isolation: dict) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "nodeSelector": isolation,
                         "containers": [{"name": "relay", "image": "registry.example/relay:1.0"}],
                         "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                             {"labelSelector": {"matchLabels": labels},
                              "topologyKey": "kubernetes.io/hostname"}]}}}}}}


def _findings(doc, name):
    return {f["code"]: f for f in doc["findings"] if f["name"] == name}


def test_lint_and_footprint_live(scenario, kube, live):
    ns = scenario.namespace
    cp = scenario.node("cp", labels={"node-role.kubernetes.io/control-plane": ""}, taints=[CP_TAINT])
    w1, w2 = scenario.node("w1"), scenario.node("w2")
    scenario.sync_nodes()
    # an agent with the classic mistakes: no toleration, no requests, surge with a host port
    container = {"name": "agent", "image": "registry.example/agent:1.0", "ports": [PORT],
                 "resources": {"requests": {"cpu": "100m", "memory": "50Mi"}}}
    scenario.daemonset(ds_manifest(
        "agent", containers=[dict(container)],
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}))
    isolation = {"kds-e2e/test": scenario.id}
    _create_deployment(kube, ns, _one_per_node_deployment("relay", 3, isolation))
    settled = kube.wait_settled(ns, "agent")

    doc = live("lint", "-n", ns, "-o", "json", expect=1).json()
    agent = _findings(doc, "agent")
    assert agent["DS001"]["detail"]["nodes"] == [cp]
    assert {"DS007", "DS008", "DS009", "DS005"} <= set(agent) and "DS002" not in agent
    relay = _findings(doc, "relay")["DS016"]
    assert (relay["severity"], relay["detail"]["eligibleNodes"], relay["detail"]["unschedulable"]) == \
        ("error", sorted([w1, w2]), 1)
    # ... and the real scheduler agrees: 2 relay pods placed, 1 never
    kube.wait_pods(ns, "two relay pods bound and one Pending", lambda pods: sorted(
        bool(p["spec"].get("nodeName")) for p in pods) == [False, True, True], label_selector="app=relay")

    # footprint: the nodes it counts are the controller's desiredNumberScheduled
    fp = live("footprint", "-n", ns, "-o", "json").json()
    [entry] = fp["daemonsets"]
    assert entry["nodes"] == settled["status"]["desiredNumberScheduled"] == 2
    assert entry["total"]["requests"] == {"cpu": "200m", "memory": "100Mi"}
    by_node = {n["node"]: n for n in live("footprint", "-n", ns, "--by-node", "-o", "json").json()["nodes"]}
    assert by_node[cp]["daemonsets"] == [] and by_node[w1]["daemonsets"] == [f"{ns}/agent"]

    # DS007 is real: an update surges a new pod per node that can never bind (its port is taken)
    # (a merge patch replaces the whole list: send the whole container)
    kube.patch_daemonset(ns, "agent", {"spec": {"template": {"spec": {"containers": [
        dict(container, image="registry.example/agent:2.0")]}}}})
    kube.wait("a surge pod that cannot be scheduled for its host port", lambda: any(
        e.get("reason") == "FailedScheduling" and "free ports" in (e.get("message") or "")
        for e in kube._data(kube.core.list_namespaced_event(ns, _preload_content=False))["items"]),
        kube.core.list_namespaced_event, 60, namespace=ns)
    old = [p for p in kube.pods(ns, "app=agent") if p["spec"].get("nodeName")
           and p["spec"]["containers"][0]["image"].endswith(":1.0")]
    assert len(old) == 2, "the old pods stay: the rollout is deadlocked"

    # DS001's fix, applied, makes the real controller place the pod on the control-plane node,
    # and DS007's fix (no surge) lets the rollout through
    fixes = {"tolerations": agent["DS001"]["fix"]["value"]["tolerations"]}
    kube.patch_daemonset(ns, "agent", {"spec": {
        "updateStrategy": {"rollingUpdate": agent["DS007"]["fix"]["value"]},
        "template": {"spec": fixes}}})
    kube.wait_pods(ns, "the agent on every node, all on the new image", lambda pods: sorted(
        p["spec"].get("nodeName") or "" for p in pods if not p["metadata"].get("deletionTimestamp")
        and p["spec"]["containers"][0]["image"].endswith(":2.0")) == sorted([cp, w1, w2])
        and not any(p["spec"]["containers"][0]["image"].endswith(":1.0") for p in pods),
        label_selector="app=agent", timeout=90)
    after = _findings(live("lint", "agent", "-n", ns, "-o", "json").json(), "agent")
    assert "DS001" not in after and "DS007" not in after
    assert live("footprint", "-n", ns, "-o", "json").json()["daemonsets"][0]["nodes"] == 3


def test_lint_manifest_against_the_live_nodes(scenario, live, tmp_path):
    """-f with --kubeconfig: the file's DaemonSet, judged against the cluster's real nodes."""
    import yaml
    cp = scenario.node("cp", labels={"node-role.kubernetes.io/control-plane": ""}, taints=[CP_TAINT])
    scenario.node("w1")
    scenario.sync_nodes()
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(scenario.isolate(ds_manifest("agent"))))
    doc = live("lint", "-f", str(path), "-n", scenario.namespace, "-o", "json").json()
    found = _findings(doc, "agent")
    assert "DS000" not in found and found["DS001"]["detail"]["nodes"] == [cp]
    assert doc["cluster"] is True and found["DS001"]["namespace"] == scenario.namespace


def test_lint_forbidden_user_gets_one_line(kubeconfig, run_cli):
    from kubectl_ds.env import Env
    res = run_cli("lint", "-A", "--kubeconfig", kubeconfig, "--context", "nobody", expect=2, env=Env(color=False))
    assert res.stderr.startswith("error: forbidden: cannot list daemonsets at the cluster scope")
    assert len(res.stderr.splitlines()) == 1
