"""`kubectl ds rollout` against the real controller: done, surge, stuck, reset watches, OnDelete, history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.e2e.conftest import ds_manifest
from tests.e2e.proxy import CuttableProxy

ROOT = Path(__file__).resolve().parents[2]


def _five_nodes(scenario, n=5):
    names = [scenario.node(f"n{i}") for i in range(n)]
    scenario.sync_nodes()
    return names


def _follow(kubeconfig, *args, timeout=90):
    """Run the real command in its own process (stdout is a pipe: plain lines)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "kubectl_ds", "rollout", *args, "--kubeconfig", kubeconfig],
                          capture_output=True, text=True, env=env, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def _wait_available(kube, ns, name):
    kube.wait_settled(ns, name)
    kube.wait("every pod available", lambda: (lambda st: st.get("numberAvailable") == st.get("desiredNumberScheduled")
                                              or f"status {st}")(kube.daemonset(ns, name)["status"]),
              kube.apps.list_namespaced_daemon_set, 60, namespace=ns)


def _set_image(kube, ns, name, image):
    kube.patch_daemonset(ns, name,
                         {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}})


def test_rollout_completes_under_max_unavailable(scenario, kube, kubeconfig):
    _five_nodes(scenario)
    # minReadySeconds paces the controller (one node every ~3 s), so the follower sees it move
    body = ds_manifest("agent", updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
    body["spec"]["minReadySeconds"] = 3
    scenario.daemonset(body)
    _wait_available(kube, scenario.namespace, "agent")
    _set_image(kube, scenario.namespace, "agent", "registry.example/agent:2.0")
    code, out, err = _follow(kubeconfig, "agent", "-n", scenario.namespace, "--timeout", "60s")
    assert code == 0, out + err
    lines = out.splitlines()
    # started right after the patch: either the controller had observed it already, or the header
    # says it has not and a line names revision 2 when it does (never the old revision 1)
    assert lines[0].startswith(f"daemon set {scenario.namespace}/agent: revision 2") or (
        lines[0].startswith(f"daemon set {scenario.namespace}/agent: generation 2 not observed") and any(
            ln.startswith("controller observed generation 2: revision 2 (") for ln in lines)), out
    assert lines[-1] == 'daemon set "agent" successfully rolled out (5/5 nodes on revision 2)'
    updated = [ln for ln in lines if ": updated (" in ln]
    assert len(updated) >= 2 and len(updated) == len(set(updated)), out
    # never more unavailable than the budget allows
    for ln in lines:
        if ", unavailable " in ln:
            used = int(ln.split(", unavailable ")[1].split(" ")[0])
            assert used <= 1, ln
    doc = kube.daemonset(scenario.namespace, "agent")["status"]
    assert doc["updatedNumberScheduled"] == doc["desiredNumberScheduled"] == 5


def test_rollout_completes_under_max_surge(scenario, kube, kubeconfig):
    _five_nodes(scenario)
    scenario.daemonset(ds_manifest("agent", updateStrategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": 0, "maxSurge": 2}}))
    kube.wait_settled(scenario.namespace, "agent")
    _set_image(kube, scenario.namespace, "agent", "registry.example/agent:2.0")
    code, out, err = _follow(kubeconfig, "agent", "-n", scenario.namespace, "--timeout", "60s")
    assert code == 0, out + err
    assert "surging" in out and out.splitlines()[-1].endswith("(5/5 nodes on revision 2)")


def test_rollout_stuck_on_never_ready_pod_names_the_node(scenario, kube, kubeconfig):
    _five_nodes(scenario)
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(scenario.namespace, "agent")
    # the new template's pods start but never become Ready (KWOK stage keyed on this annotation)
    kube.patch_daemonset(scenario.namespace, "agent", {"spec": {"template": {"metadata": {
        "annotations": {"kubectl-ds.test/never-ready": "true"}}}}})
    start = time.monotonic()
    code, out, err = _follow(kubeconfig, "agent", "-n", scenario.namespace, "--progress-deadline", "6s",
                             "--timeout", "60s")
    elapsed = time.monotonic() - start
    assert code == 1, out + err
    assert "rollout stuck: no progress for" in out
    new = [p for p in kube.pods(scenario.namespace, "app=agent")
           if (p["metadata"].get("annotations") or {}).get("kubectl-ds.test/never-ready")]
    assert len(new) == 1, "maxUnavailable=1: exactly one node gets the unready pod"
    culprit_node = new[0]["spec"]["nodeName"]
    culprit_rows = [ln for ln in out.splitlines() if ln.startswith(culprit_node)]
    assert culprit_rows and "NotReady" in culprit_rows[0], out
    assert elapsed < 40, f"took {elapsed:.0f}s for a 6s progress deadline"
    # the one-look JSON agrees
    code, out, _ = _follow(kubeconfig, "agent", "-n", scenario.namespace, "--no-follow", "-o", "json")
    doc = json.loads(out)
    assert code == 1 and doc["state"] == "Progressing" and doc["updated"] == 0
    assert [c["node"] for c in doc["culprits"]] == [culprit_node]


def test_rollout_survives_connection_resets(scenario, kube, kubeconfig, tmp_path):
    _five_nodes(scenario, 6)
    body = ds_manifest("agent")
    body["spec"]["minReadySeconds"] = 3
    scenario.daemonset(body)
    _wait_available(kube, scenario.namespace, "agent")
    cfg = yaml.safe_load(open(kubeconfig))
    server = cfg["clusters"][0]["cluster"]["server"]
    host, port = server.split("://")[1].split(":")
    proxy = CuttableProxy(host, int(port))
    cfg["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    via_proxy = tmp_path / "kubeconfig"
    via_proxy.write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    _set_image(kube, scenario.namespace, "agent", "registry.example/agent:2.0")
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_ds", "rollout", "agent", "-n", scenario.namespace,
                             "--timeout", "90s", "--kubeconfig", str(via_proxy)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        cut_total = 0
        for _ in range(3):   # reset every connection three times while the rollout runs
            time.sleep(2.5)
            # the follower's list and watches take a while to open on a slow machine
            deadline = time.monotonic() + 20
            while len(proxy.conns) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
            cut_total += proxy.cut()
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
        proxy.close()
    assert cut_total >= 3
    assert proc.returncode == 0, out + err
    lines = out.splitlines()
    assert lines[-1] == 'daemon set "agent" successfully rolled out (6/6 nodes on revision 2)'
    assert any("interrupted" in ln for ln in lines), out
    updated = [ln for ln in lines if ": updated (" in ln]
    assert len(updated) == len(set(updated)), "a node reported updated twice after a reconnect"


def test_on_delete_lists_nodes_and_follows_manual_rolls(scenario, kube, kubeconfig, live):
    nodes = _five_nodes(scenario, 3)
    scenario.daemonset(ds_manifest("agent", updateStrategy={"type": "OnDelete"}))
    kube.wait_settled(scenario.namespace, "agent")
    _set_image(kube, scenario.namespace, "agent", "registry.example/agent:2.0")
    kube.wait("observedGeneration 2", lambda: kube.daemonset(scenario.namespace, "agent")["status"]
              .get("observedGeneration") == 2, kube.apps.list_namespaced_daemon_set, 30, namespace=scenario.namespace)
    res = live("rollout", "agent", "-n", scenario.namespace, "--no-follow", expect=1)
    assert "OnDelete: the controller does not replace pods by itself" in res.stdout
    assert res.stdout.count("kubectl delete pod -n") == 3
    assert "rollout status is only available for RollingUpdate strategy type" in res.stdout  # kubectl's view
    for pod in kube.pods(scenario.namespace, "app=agent"):
        kube.core.delete_namespaced_pod(pod["metadata"]["name"], scenario.namespace)
    code, out, err = _follow(kubeconfig, "agent", "-n", scenario.namespace, "--timeout", "60s")
    assert code == 0, out + err
    assert out.splitlines()[-1] == \
        f'daemon set "agent" successfully rolled out ({len(nodes)}/{len(nodes)} nodes on revision 2)'


def test_history_after_three_template_changes(scenario, kube, live):
    _five_nodes(scenario, 2)
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(scenario.namespace, "agent")
    for image in ["registry.example/agent:2.0", "registry.example/agent:3.0"]:
        _set_image(kube, scenario.namespace, "agent", image)
        kube.wait_settled(scenario.namespace, "agent")
    kube.patch_daemonset(scenario.namespace, "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "env": [{"name": "LOG_LEVEL", "value": "debug"}]}]}}}})
    kube.wait_settled(scenario.namespace, "agent")
    doc = live("rollout", "history", "agent", "-n", scenario.namespace, "-o", "json").json()
    revs = doc["revisions"]
    assert [r["revision"] for r in revs] == [1, 2, 3, 4]
    assert revs[1]["changes"] == ["image agent: registry.example/agent:1.0 -> registry.example/agent:2.0"]
    assert revs[3]["changes"] == ["env of agent changed (LOG_LEVEL)"] and revs[3]["current"]
    text = live("rollout", "history", "agent", "-n", scenario.namespace, "--revision", "3").stdout
    assert "diff from revision 2:" in text
    assert "-  - image: registry.example/agent:2.0" in text and "+  - image: registry.example/agent:3.0" in text
    assert live("rollout", "history", "agent", "-n", scenario.namespace, "--revision", "9", expect=2).stderr == \
        "error: unable to find the specified revision 9\n"


def test_rollout_names_a_quota_that_stops_pods_being_created(scenario, kube, live):
    """No pod, so no pod event: the controller's FailedCreate on the DaemonSet is the only trace."""
    _five_nodes(scenario, 3)
    kube.core.create_namespaced_resource_quota(scenario.namespace, {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "pods"}, "spec": {"hard": {"pods": "1"}}})
    # until the quota controller has written status.hard, admission refuses every pod with
    # "status unknown for quota" instead of admitting one
    kube.wait("the quota's status", lambda: bool(kube._data(kube.core.read_namespaced_resource_quota(
        "pods", scenario.namespace, _preload_content=False)).get("status", {}).get("hard")),
        kube.core.list_namespaced_resource_quota, 30, namespace=scenario.namespace)
    scenario.daemonset(ds_manifest("agent"))
    kube.wait("a FailedCreate event for the exceeded quota", lambda: any(
        e.reason == "FailedCreate" and "exceeded quota" in (e.message or "")
        for e in kube.core.list_namespaced_event(scenario.namespace).items),
        kube.core.list_namespaced_event, 60, namespace=scenario.namespace)
    kube.wait_pods(scenario.namespace, "the one pod the quota admits", lambda pods: len(pods) == 1,
                   label_selector="app=agent")
    doc = live("rollout", "agent", "-n", scenario.namespace, "--no-follow", "-o", "json", expect=1).json()
    [fc] = [c for c in doc["culprits"] if c["type"] == "FailedCreate"]
    assert "exceeded quota" in fc["message"] and len(fc["nodes"]) == 2, fc
    # diff and why say it too
    diff = live("diff", "agent", "-n", scenario.namespace, "-o", "json", expect=1).json()
    assert len(diff["missing"]) == 2 and "exceeded quota" in diff["failedCreate"]
    entry = live("why", fc["nodes"][0], "-d", "agent", "-n", scenario.namespace, "-o", "json").json()["daemonsets"][0]
    assert entry["state"] == "Missing" and any("exceeded quota" in n["message"] for n in entry["notes"])


def test_rollout_judges_a_pending_pod_against_the_other_pods_on_its_node(scenario, kube, live):
    """The DaemonSet's pods are not the node's only pods: a hog in another namespace leaves too
    little cpu, and the rollout must say so (it used to compute the node as empty)."""
    small = scenario.node("small", cpu="2")
    scenario.sync_nodes()
    other_ns = scenario.namespace + "-hog"
    kube.create_namespace(other_ns)
    try:
        kube.create_pod(other_ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hog"}, "spec": {
            "nodeName": small, "containers": [{"name": "hog", "image": "registry.example/hog:1",
                                               "resources": {"requests": {"cpu": "1500m"}}}]}})
        scenario.daemonset(ds_manifest("agent", containers=[{
            "name": "agent", "image": "registry.example/agent:1.0", "resources": {"requests": {"cpu": "1"}}}]))
        kube.wait("the daemon pod to be unschedulable for its cpu", lambda: any(
            e.reason == "FailedScheduling" and "Insufficient cpu" in (e.message or "")
            for e in kube.core.list_namespaced_event(scenario.namespace).items),
            kube.core.list_namespaced_event, 60, namespace=scenario.namespace)
        doc = live("rollout", "agent", "-n", scenario.namespace, "--no-follow", "-o", "json", expect=1).json()
        problems = [p for n in doc["nodes"] for p in n["problems"] if p["type"] == "InsufficientResource"]
        assert problems and "1 other pod" in problems[0]["message"] and "500m free" in problems[0]["message"], doc
        # the scheduler's own message, read with a server-side reason=FailedScheduling filter
        assert any(p["type"] == "FailedScheduling" and "Insufficient cpu" in p["message"]
                   for n in doc["nodes"] for p in n["problems"]), doc
    finally:
        kube.delete_namespace(other_ns)
