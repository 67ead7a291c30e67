"""The rules of the cluster's own Kubernetes minor, against its real scheduler.

The e2e tier runs on the newest supported minor (`make test`) and on the oldest (`.ci/run`:
`make test-e2e K8S_VERSION=1.33.13`). Where the two schedulers decide differently (pod-level
resources: ignored by 1.33, counted from 1.34), each test reads the server's minor and expects
what that scheduler does, and kubectl-ds must agree with it, live and from a dump without events
(its own fit, no FailedScheduling message to lean on).
"""

from __future__ import annotations

import json

from tests.e2e.conftest import ds_manifest


def _server_minor(kube) -> int:
    info = kube._data(kube.api_client.call_api("/version", "GET", auth_settings=["BearerToken"],
                                               _preload_content=False, _return_http_data_only=True))
    return int(str(info["minor"]).rstrip("+"))


def _dump(kube, scenario, tmp_path, with_version: bool = True) -> str:
    """What `kubectl get nodes,daemonsets,pods,controllerrevisions -o json` holds for the test's
    namespace and nodes, without events; with the server's version stamp when asked."""
    ns = scenario.namespace
    nodes = [kube.node(n) for n in scenario.nodes]
    items = [dict(n, kind="Node", apiVersion="v1") for n in nodes]
    items += [dict(p, kind="Pod", apiVersion="v1") for p in kube.pods(ns)]
    items += [dict(kube.daemonset(ns, d["metadata"]["name"]), kind="DaemonSet", apiVersion="apps/v1")
              for d in kube._data(kube.apps.list_namespaced_daemon_set(ns, _preload_content=False))["items"]]
    items += [dict(r, kind="ControllerRevision", apiVersion="apps/v1") for r in kube.revisions(ns)]
    doc = {"apiVersion": "v1", "kind": "List", "items": items}
    if with_version:
        doc["serverVersion"] = kube._data(kube.api_client.call_api(
            "/version", "GET", auth_settings=["BearerToken"], _preload_content=False,
            _return_http_data_only=True))
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(doc))
    return str(path)


def _hold(kube, ns, node, name, cpu="0", host_port=None):
    """A pod bound straight to `node` (no scheduler): it uses `cpu` and, optionally, a host port."""
    container = {"name": "c", "image": "registry.example/hold:1", "resources": {"requests": {"cpu": cpu}}}
    if host_port:
        container["ports"] = [{"containerPort": host_port, "hostPort": host_port}]
    kube.create_pod(ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                         "spec": {"nodeName": node, "containers": [container]}})


def _scheduler_gave_up(kube, ns, app):
    """Until the scheduler has tried the daemon pod and left it Pending (PodScheduled=False)."""
    def check():
        pods = kube.pods(ns, f"app={app}")
        for p in pods:
            cond = next((c for c in p.get("status", {}).get("conditions", []) if c.get("type") == "PodScheduled"), {})
            if cond.get("status") == "False":
                return [p]
        return "not tried yet"
    return kube.wait_pods(ns, f"the scheduler to leave {app}'s pod Pending", lambda _: check())[0]


def test_every_judging_command_names_the_servers_version(scenario, kube, live):
    w = scenario.node("w1")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(scenario.namespace, "agent")
    minor = _server_minor(kube)
    for args in (("why", w), ("diff", "agent"), ("rollout", "agent", "--no-follow"), ("footprint",),
                 ("lint", "agent")):
        doc = live(*args, "-n", scenario.namespace, "-o", "json", expect=None).json()
        assert (doc["kubernetesVersion"], doc["kubernetesVersionSource"]) == (f"1.{minor}", "server"), args
    text = live("why", w, "-n", scenario.namespace).stdout
    assert text.splitlines()[0] == f"Node: {w}    (rules of Kubernetes v1.{minor}, from the apiserver)"
    # --kube-version overrides the server and says so
    doc = live("why", w, "-n", scenario.namespace, "-o", "json", "--kube-version", "1.35").json()
    assert (doc["kubernetesVersion"], doc["kubernetesVersionSource"]) == ("1.35", "flag")


def test_pod_level_requests_count_from_1_34(scenario, kube, live, run_cli, tmp_path):
    """A daemon pod whose containers ask 100m but whose pod-level resources ask 600m, on a node
    with 300m free: the 1.37 scheduler leaves it Pending for cpu; the 1.33 one has no pod-level
    resources (the gate is off: the apiserver drops the field) and places it."""
    node = scenario.node("small", cpu="1")
    scenario.sync_nodes()
    _hold(kube, scenario.namespace, node, "hog", cpu="700m")
    scenario.daemonset(ds_manifest("agent", resources={"requests": {"cpu": "600m"}}, containers=[
        {"name": "agent", "image": "registry.example/agent:1.0", "resources": {"requests": {"cpu": "100m"}}}]))
    minor = _server_minor(kube)
    ns = scenario.namespace
    if minor >= 34:
        pod = _scheduler_gave_up(kube, ns, "agent")
        assert "Insufficient cpu" in next(c["message"] for c in pod["status"]["conditions"]
                                          if c["type"] == "PodScheduled")
    else:
        kube.wait_pods(ns, "the daemon pod bound to the node",
                       lambda pods: [p for p in pods if p["spec"].get("nodeName") == node], label_selector="app=agent")
        assert not kube.daemonset(ns, "agent")["spec"]["template"]["spec"].get("resources")

    live_entry = live("why", node, "-d", "agent", "-n", ns, "-o", "json").json()["daemonsets"][0]
    dump = _dump(kube, scenario, tmp_path)
    from_dump = run_cli("why", node, "-d", "agent", "-n", ns, "--snapshot", dump, "-o", "json").json()
    assert from_dump["kubernetesVersion"] == f"1.{minor}" and from_dump["kubernetesVersionSource"] == "dump"
    entry = from_dump["daemonsets"][0]
    problems = {p["type"]: p for p in entry["pod"]["problems"]}
    if minor >= 34:
        assert live_entry["state"] == entry["state"] == "Pending"
        # no events in the dump: the cause is kubectl-ds's own fit, with the pod-level 600m
        assert problems["InsufficientResource"]["requested"] == "600m"
        assert problems["InsufficientResource"]["free"] == "300m"
        # the same dump judged by 1.33's rules: pod-level resources ignored, 100m fits
        as_133 = run_cli("why", node, "-d", "agent", "-n", ns, "--snapshot", dump, "-o", "json",
                         "--kube-version", "1.33").json()["daemonsets"][0]
        types = [p["type"] for p in as_133["pod"]["problems"]]
        assert "InsufficientResource" not in types and "PodLevelResourcesIgnored" in types
    else:
        assert live_entry["state"] != "Pending" and entry["state"] != "Pending"
        assert "InsufficientResource" not in problems


def test_sidecar_host_port_is_claimed(scenario, kube, live, run_cli, tmp_path):
    """A sidecar (restartable init container) with host port 9100, on a node where another pod
    holds 9100: the scheduler of 1.33.6+ and 1.37 counts the sidecar's port and leaves the daemon
    pod Pending; kubectl-ds names the conflict, and knows 1.33.0-1.33.5 did not count it."""
    node = scenario.node("w1")
    scenario.sync_nodes()
    _hold(kube, scenario.namespace, node, "exporter", host_port=9100)
    scenario.daemonset(ds_manifest("agent", initContainers=[
        {"name": "metrics", "image": "registry.example/metrics:1", "restartPolicy": "Always",
         "ports": [{"containerPort": 9100, "hostPort": 9100}]}]))
    ns = scenario.namespace
    pod = _scheduler_gave_up(kube, ns, "agent")
    assert "ports" in next(c["message"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    dump = _dump(kube, scenario, tmp_path)
    entry = run_cli("why", node, "-d", "agent", "-n", ns, "--snapshot", dump, "-o", "json").json()["daemonsets"][0]
    conflict = next(p for p in entry["pod"]["problems"] if p["type"] == "HostPortConflict")
    assert conflict["port"] == 9100 and conflict["pod"] == f"{ns}/exporter"
    early = run_cli("why", node, "-d", "agent", "-n", ns, "--snapshot", dump, "-o", "json",
                    "--kube-version", "1.33.5").json()["daemonsets"][0]
    assert "HostPortConflict" not in [p["type"] for p in early["pod"]["problems"]]
    assert live("why", node, "-d", "agent", "-n", ns, "-o", "json").json()["daemonsets"][0]["state"] == "Pending"
