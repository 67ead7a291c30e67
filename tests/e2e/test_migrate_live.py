"""`kubectl ds migrate` against the real DaemonSet controller and garbage collector.

The goal throughout: no pod is lost. Every test records the daemon pods' uids before and checks
them after; the interruption tests kill the process after each step in turn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ds_manifest

ROOT = Path(__file__).resolve().parents[2]
STEPS_BEFORE_ROLLOUT = ("backup", "relabel-pods", "relabel-revisions", "orphan-delete", "wait-orphaned", "create",
                        "verify-adoption", "release-rollout")


def _run(kubeconfig, cwd, *args, env_extra=None, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", **(env_extra or {}))
    p = subprocess.run([sys.executable, "-m", "kubectl_ds", "migrate", *args, "--kubeconfig", kubeconfig],
                       capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def _agent(scenario, kube, nodes=4, template_labels=None, **spec):
    for i in range(nodes):
        scenario.node(f"n{i}")
    scenario.sync_nodes()
    body = ds_manifest("agent", **spec)
    body["spec"]["template"]["metadata"]["labels"].update(template_labels or {})
    scenario.daemonset(body)
    kube.wait_settled(scenario.namespace, "agent")
    return _pods(kube, scenario.namespace)


def _pods(kube, ns):
    """{uid: (name, node, controller uid)} of the live agent pods."""
    out = {}
    for p in kube.pods(ns, "app=agent"):
        if p["metadata"].get("deletionTimestamp"):
            continue
        ctl = [r["uid"] for r in p["metadata"].get("ownerReferences", []) if r.get("controller")]
        out[p["metadata"]["uid"]] = (p["metadata"]["name"], p["spec"].get("nodeName"), ctl[0] if ctl else None)
    return out


def _revisions(kube, ns):
    """{name: (controller uid, revision number, tier label)} of the namespace's ControllerRevisions."""
    out = {}
    for r in kube.revisions(ns):
        if r["metadata"].get("labels", {}).get("app") != "agent":
            continue   # a barrier DaemonSet's, until the garbage collector deletes it
        ctl = [o["uid"] for o in r["metadata"].get("ownerReferences", []) if o.get("controller")]
        out[r["metadata"]["name"]] = (ctl[0] if ctl else None, r["revision"], r["metadata"]["labels"].get("tier"))
    return out


def test_migration_keeps_every_pod(scenario, kube, kubeconfig, tmp_path):
    before = _agent(scenario, kube, nodes=12, template_labels={"tier": "node"})
    old_uid = kube.daemonset(scenario.namespace, "agent")["metadata"]["uid"]
    code, out, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                          "app=agent,tier=node", "--yes")
    assert code == 0, out + err
    ds = kube.daemonset(scenario.namespace, "agent")
    assert ds["spec"]["selector"] == {"matchLabels": {"app": "agent", "tier": "node"}}
    after = _pods(kube, scenario.namespace)
    assert set(after) == set(before), "pod uids changed during the handover"
    assert {v[2] for v in after.values()} == {ds["metadata"]["uid"]} != {old_uid}
    assert "all 12 pod(s) adopted by the new DaemonSet; pod uids unchanged" in out
    state = json.loads((tmp_path / "agent.migration.json").read_text())
    assert state["done"][-1] == "rollout" and state["newUid"] == ds["metadata"]["uid"]


def test_migration_with_new_labels_rolls_under_max_unavailable(scenario, kube, kubeconfig, tmp_path):
    before = _agent(scenario, kube, nodes=6)
    old_revisions = _revisions(kube, scenario.namespace)
    assert len(old_revisions) == 1
    nodes = {v[1] for v in before.values()}
    gaps, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            live = _pods(kube, scenario.namespace)
            covered = {v[1] for v in live.values()}
            gaps.append(len(nodes - covered))
            time.sleep(0.2)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        code, out, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                              "app=agent,tier=node", "--yes", "--timeout", "120s")
    finally:
        stop.set()
        t.join()
    assert code == 0, out + err
    assert "the template differs" in out
    assert max(gaps) <= 1, f"more than maxUnavailable=1 node without the agent at once: {max(gaps)}"
    ds = kube.daemonset(scenario.namespace, "agent")
    hashes = {p["metadata"]["labels"]["controller-revision-hash"] for p in kube.pods(scenario.namespace, "app=agent")
              if not p["metadata"].get("deletionTimestamp")}
    assert len(hashes) == 1, f"adopted pods were never rolled (the pod-template-generation trap?): {hashes}"
    gen = int(ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"])
    assert gen >= 2, "the new DaemonSet must not share the old pods' pod-template-generation"
    assert ds["status"]["updatedNumberScheduled"] == 6
    # the history went with it: the old revision (labelled) is the new DaemonSet's revision 1,
    # its own template is revision 2, and nothing is left orphaned
    revisions = _revisions(kube, scenario.namespace)
    [old_name] = old_revisions
    assert revisions[old_name] == (ds["metadata"]["uid"], 1, "node")
    assert sorted(r[1] for r in revisions.values()) == [1, 2]
    assert {r[0] for r in revisions.values()} == {ds["metadata"]["uid"]}
    hist = subprocess.run([sys.executable, "-m", "kubectl_ds", "rollout", "history", "agent", "-n", scenario.namespace,
                           "--kubeconfig", kubeconfig, "-o", "json"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert hist.returncode == 0, hist.stderr
    assert [r["revision"] for r in json.loads(hist.stdout)["revisions"]] == [1, 2]


@pytest.mark.parametrize("step", STEPS_BEFORE_ROLLOUT)
def test_killed_after_each_step_then_resume(scenario, kube, kubeconfig, tmp_path, step):
    before = _agent(scenario, kube, template_labels={"tier": "node"})
    code, out, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                          "app=agent,tier=node", "--yes", env_extra={"KUBECTL_DS_MIGRATE_EXIT_AFTER": step})
    assert code == 3, out + err
    assert set(_pods(kube, scenario.namespace)) == set(before), f"a pod was lost after {step}"
    code, out, err = _run(kubeconfig, tmp_path, "--resume", "agent.migration.json")
    assert code == 0, out + err
    after = _pods(kube, scenario.namespace)
    ds = kube.daemonset(scenario.namespace, "agent")
    assert set(after) == set(before), f"pod uids changed (interrupted after {step})"
    assert {v[2] for v in after.values()} == {ds["metadata"]["uid"]}
    assert ds["spec"]["selector"]["matchLabels"] == {"app": "agent", "tier": "node"}
    # idempotent: resuming a finished migration changes nothing
    code, out, err = _run(kubeconfig, tmp_path, "--resume", "agent.migration.json")
    assert code == 0, out + err
    assert kube.daemonset(scenario.namespace, "agent")["metadata"]["uid"] == ds["metadata"]["uid"]


@pytest.mark.parametrize("step", STEPS_BEFORE_ROLLOUT)
def test_killed_after_each_step_then_rollback(scenario, kube, kubeconfig, tmp_path, step):
    before = _agent(scenario, kube)   # template lacks tier=node: the migration adds the label to pods
    old_revisions = _revisions(kube, scenario.namespace)
    code, out, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                          "app=agent,tier=node", "--yes", "--no-rollout",
                          env_extra={"KUBECTL_DS_MIGRATE_EXIT_AFTER": step})
    assert code == 3, out + err
    for attempt in range(2):   # idempotent
        code, out, err = _run(kubeconfig, tmp_path, "--rollback", "agent.migration.json")
        assert code == 0, f"rollback #{attempt + 1} after {step}: {out}{err}"
    ds = kube.daemonset(scenario.namespace, "agent")
    assert ds["spec"]["selector"] == {"matchLabels": {"app": "agent"}}
    want_nodes = {v[1] for v in before.values()}

    def restored():
        # after release-rollout the restored DaemonSet rolls the replaced pods back one node at a
        # time: wait for a bound, owned pod on every node, not just for the owners
        pods = _pods(kube, scenario.namespace)
        owners, nodes = {v[2] for v in pods.values()}, {v[1] for v in pods.values()}
        if owners != {ds["metadata"]["uid"]}:
            return f"owners {sorted(map(str, owners))}"
        return nodes == want_nodes or f"pods on {sorted(map(str, nodes))}"
    kube.wait(f"the restored DaemonSet to own a pod on every node (after {step})", restored,
              kube.core.list_namespaced_pod, 90, namespace=scenario.namespace)
    after = _pods(kube, scenario.namespace)
    if step == "release-rollout":
        # the new template had begun replacing pods (at maxUnavailable pace): identity cannot come
        # back, but every node still runs the agent, owned by the restored DaemonSet
        assert {v[1] for v in after.values()} == {v[1] for v in before.values()}
    else:
        assert set(after) == set(before), f"pod uids changed (rolled back after {step})"
    kept = [p for p in kube.pods(scenario.namespace, "app=agent") if p["metadata"]["uid"] in before]
    assert all("tier" not in p["metadata"]["labels"] for p in kept), "the labels the migration added stayed"
    # the original revision is back with the restored DaemonSet, without the added label (after
    # create, the new DaemonSet's own revision, tier=node, is adopted by the restored one as well)
    [old_name] = old_revisions
    kube.wait(f"the restored DaemonSet to own its history (after {step})",
              lambda: {r[0] for r in _revisions(kube, scenario.namespace).values()} == {ds["metadata"]["uid"]},
              kube.apps.list_namespaced_controller_revision, 60, namespace=scenario.namespace)
    assert _revisions(kube, scenario.namespace)[old_name][2] is None, "the label added to the old revision stayed"


def test_preflight_refusals(scenario, kube, kubeconfig, tmp_path):
    _agent(scenario, kube, nodes=2)
    ns = scenario.namespace
    # the new selector must match the new template
    bad = ds_manifest("agent")
    bad["metadata"]["namespace"] = ns
    bad["spec"]["selector"] = {"matchLabels": {"app": "agent", "tier": "x"}}
    (tmp_path / "bad.yaml").write_text(json.dumps(bad))
    code, _, err = _run(kubeconfig, tmp_path, "agent", "-n", ns, "-f", "bad.yaml", "--yes")
    assert code == 2 and "does not match the new template's labels" in err
    # another controller would select the pods too
    rival = ds_manifest("rival", tolerations=[{"operator": "Exists"}])
    rival["spec"]["selector"] = {"matchLabels": {"tier": "node"}}
    rival["spec"]["template"]["metadata"]["labels"] = {"tier": "node"}
    rival["spec"]["template"]["spec"]["nodeSelector"] = {"no-such-node": "x"}
    kube.create_daemonset(ns, rival)
    code, _, err = _run(kubeconfig, tmp_path, "agent", "-n", ns, "--selector", "app=agent,tier=node", "--yes")
    assert code == 2 and "DaemonSet rival selects the same pods" in err
    kube.apps.delete_namespaced_daemon_set("rival", ns)
    # the same selector: nothing to do
    code, _, err = _run(kubeconfig, tmp_path, "agent", "-n", ns, "--selector", "app=agent", "--yes")
    assert code == 2 and "equals the current one" in err
    # no confirmation possible without a terminal
    code, _, err = _run(kubeconfig, tmp_path, "agent", "-n", ns, "--selector", "app=agent,tier=node")
    assert code == 2 and "pass --yes" in err
    # a user without the rights
    code, _, err = _run(kubeconfig, tmp_path, "agent", "-n", ns, "--selector", "app=agent,tier=node", "--yes",
                        "--context", "nobody")
    assert code == 2 and "forbidden" in err.lower()
    assert not (tmp_path / "agent.migration.json").exists(), "a refused migration must not start"


def test_rollout_in_progress_needs_force(scenario, kube, kubeconfig, tmp_path):
    _agent(scenario, kube, nodes=3, template_labels={"tier": "node"})
    kube.patch_daemonset(scenario.namespace, "agent", {"spec": {"template": {"metadata": {
        "annotations": {"kubectl-ds.test/never-ready": "true"}}}}})
    kube.wait("a stuck rollout", lambda: kube.daemonset(scenario.namespace, "agent")["status"]
              .get("observedGeneration") == 2, kube.apps.list_namespaced_daemon_set, 30, namespace=scenario.namespace)

    def stuck(pods):
        # the controller deletes one old pod, then creates its never-ready replacement: wait for
        # that replacement, bound, so that `before` below is the set the migration must keep
        live_pods = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        new = [p for p in live_pods if (p["metadata"].get("annotations") or {}).get("kubectl-ds.test/never-ready")]
        return (len(live_pods) == 3 and all(p["spec"].get("nodeName") for p in live_pods) and len(new) == 1) or (
            f"{len(live_pods)} live pods, {len(new)} new")
    kube.wait_pods(scenario.namespace, "the never-ready replacement pod", stuck, 60, label_selector="app=agent")
    code, _, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                        "app=agent,tier=node", "--yes")
    assert code == 2 and "rollout is in progress" in err and "--force" in err
    before = _pods(kube, scenario.namespace)
    code, out, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                          "app=agent,tier=node", "--yes", "--force", "--no-rollout")
    assert code == 0, out + err
    assert set(_pods(kube, scenario.namespace)) == set(before)


def test_concurrent_edit_is_detected_not_overwritten(scenario, kube, kubeconfig, tmp_path):
    before = _agent(scenario, kube, nodes=3, template_labels={"tier": "node"})
    code, _, _ = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector", "app=agent,tier=node",
                      "--yes", env_extra={"KUBECTL_DS_MIGRATE_EXIT_AFTER": "relabel-pods"})
    assert code == 3
    kube.patch_daemonset(scenario.namespace, "agent", {"spec": {"minReadySeconds": 5}})  # someone else's edit
    code, out, err = _run(kubeconfig, tmp_path, "--resume", "agent.migration.json")
    assert code == 2 and "changed since the plan" in err and "nothing was deleted" in err
    ds = kube.daemonset(scenario.namespace, "agent")
    assert ds["spec"]["minReadySeconds"] == 5 and ds["spec"]["selector"] == {"matchLabels": {"app": "agent"}}
    code, out, err = _run(kubeconfig, tmp_path, "--rollback", "agent.migration.json")
    assert code == 0, out + err
    assert set(_pods(kube, scenario.namespace)) == set(before)


def test_apiserver_restart_mid_migration(scenario, kube, kubeconfig, tmp_path):
    """The apiserver goes away while the migration runs (after the new DaemonSet exists, during
    the rolling replacement): either the process rides it out, or it stops with its journal and
    --resume finishes. Every node keeps its agent; the new DaemonSet ends up owning all pods."""
    before = _agent(scenario, kube, nodes=5)
    kube.patch_daemonset(scenario.namespace, "agent", {"spec": {"minReadySeconds": 2}})
    kube.wait("the new spec observed and every pod available",
              lambda: (lambda st: st.get("numberAvailable") == 5 and st.get("observedGeneration") == 2)(
                  kube.daemonset(scenario.namespace, "agent")["status"]),
              kube.apps.list_namespaced_daemon_set, 60, namespace=scenario.namespace)
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "kubectl_ds", "migrate", "agent", "-n", scenario.namespace,
                             "--selector", "app=agent,tier=node", "--yes", "--timeout", "120s",
                             "--kubeconfig", kubeconfig], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = tmp_path / "agent.migration.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and "create" in json.loads(journal.read_text() or "{}").get("done", []):
            break
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the migration ended (exit {proc.returncode}) before the create step: {out}{err}")
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("the migration never reached the create step")
    restart = subprocess.run(["bash", str(ROOT / "hack" / "cluster.sh"), "restart", "kube-apiserver"],
                             env=dict(os.environ, KDS_RUN=str(Path(kubeconfig).parent)),
                             capture_output=True, text=True, timeout=120)
    assert restart.returncode == 0, restart.stderr
    out, err = proc.communicate(timeout=180)
    if proc.returncode != 0:
        assert "is kept: `kubectl ds migrate --resume" in err, out + err
        code, out2, err2 = _run(kubeconfig, tmp_path, "--resume", "agent.migration.json")
        assert code == 0, out2 + err2
    ds = kube.daemonset(scenario.namespace, "agent")
    assert ds["spec"]["selector"]["matchLabels"] == {"app": "agent", "tier": "node"}
    kube.wait_settled(scenario.namespace, "agent")
    after = _pods(kube, scenario.namespace)
    assert {v[1] for v in after.values()} == {v[1] for v in before.values()}
    assert {v[2] for v in after.values()} == {ds["metadata"]["uid"]}


def test_plan_warns_of_misscheduled_pods_the_rolling_update_deletes(scenario, kube, kubeconfig, tmp_path):
    """A NoSchedule taint added after placement leaves the pod running (misscheduled). When the
    migration changes the template, the real controller's rolling update deletes that outdated pod
    and creates none on the node: the plan must say so, and it must be what happens."""
    before = _agent(scenario, kube, nodes=3)
    tainted = sorted(v[1] for v in before.values())[-1]
    kube.patch_node(tainted, {"spec": {"taints": [{"key": "team", "value": "a", "effect": "NoSchedule"}]}})
    code, out, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                          "app=agent,tier=node", "--dry-run", "-o", "json")
    assert code == 0, out + err
    assert json.loads(out)["nodesStranded"] == [tainted]
    code, out, err = _run(kubeconfig, tmp_path, "agent", "-n", scenario.namespace, "--selector",
                          "app=agent,tier=node", "--yes", "--timeout", "120s")
    assert code == 0, out + err
    assert f"the rolling update deletes it and creates none there, so they lose the agent: {tainted}" in out
    kube.wait_settled(scenario.namespace, "agent")
    after = _pods(kube, scenario.namespace)
    assert tainted not in {v[1] for v in after.values()}
    assert {v[1] for v in after.values()} == {v[1] for v in before.values()} - {tainted}
