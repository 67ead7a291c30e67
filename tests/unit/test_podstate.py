"""Tests of kubectl_ds.core.podstate and of node_report.explain_node's per-DaemonSet `state`.

Expected values come from the upstream behaviour the plugin explains, not from the implementation:

* display_status: kubectl's STATUS column (k/k pkg/printers/internalversion/printers.go printPod:
  status.reason overrides the phase; the first init container that is not terminated with exit 0
  and is not a started restartable (sidecar) init container gives Init:<terminated reason>,
  Init:<waiting reason> (not PodInitializing) or Init:i/N; otherwise a container's waiting or
  terminated reason; Terminating when deletionTimestamp is set on a non-terminal pod).
* pod_requests: component-helpers resource.PodRequests / AggregateContainerRequests (v0.33):
  sum of app containers + restartable init containers, max'ed with each regular init container's
  request plus the sidecars started before it, plus spec.overhead; API defaulting copies a limit
  into a missing request.
* resource_shortfalls: scheduler NodeResourcesFit fitsRequest: `len(pods)+1 > allowed pods`, and
  for each requested resource `request > allocatable - requested-by-node-pods` (an exact fit
  fits; zero requests are not checked; extended resources absent from allocatable count as 0).
  The scheduler's pod informer excludes Succeeded/Failed pods; terminating pods still count.
* host_port_conflicts: NodePorts + HostPortInfo.CheckConflict (empty hostIP = 0.0.0.0, empty
  protocol = TCP; 0.0.0.0 conflicts with every IP; hostNetwork pods get hostPort=containerPort by
  API defaulting).
* explain_node states: the controller's (shouldRun, shouldContinueRunning) for the node (see
  docs/semantics.md §1.1) combined with the DaemonSet's own pod there (§5.1 ClaimPods) and §4.4 IsPodUpdated.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from kubectl_ds.core import fit, podstate
from kubectl_ds.core.events import failed_scheduling_messages
from kubectl_ds.core.node_report import explain_node
from tests import builders as b

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)
OLD, NEW = "5d9f8c7b6", "7c6b5d4f8"
Mi, Gi = 2 ** 20, 2 ** 30


def _with(obj, fn):
    obj = copy.deepcopy(obj)
    fn(obj)
    return obj


# ============================================================================================
# display_status
# ============================================================================================

def _status_pod(phase="Running", containers=(), init=(), reason="", deleting=False, init_spec=None):
    """A pod whose status is given inline (containers/init: lists of containerStatus dicts)."""
    spec = {"nodeName": "n1", "containers": [{"name": c["name"], "image": "img"} for c in containers]
            or [{"name": "agent", "image": "img"}]}
    if init_spec is not None:
        spec["initContainers"] = init_spec
    elif init:
        spec["initContainers"] = [{"name": c["name"], "image": "img"} for c in init]
    status = {"phase": phase}
    if containers:
        status["containerStatuses"] = list(containers)
    if init:
        status["initContainerStatuses"] = list(init)
    if reason:
        status["reason"] = reason
    meta = {"name": "agent-x", "namespace": "default", "uid": "u-agent-x"}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-01T11:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def _cs(name="agent", running=False, waiting="", terminated=None, ready=False, started=None, restarts=0):
    state = {}
    if running:
        state["running"] = {"startedAt": b.T0}
    if waiting:
        state["waiting"] = {"reason": waiting}
    if terminated is not None:
        state["terminated"] = terminated
    cs = {"name": name, "image": "img", "ready": ready, "restartCount": restarts, "state": state}
    if started is not None:
        cs["started"] = started
    return cs


DONE = {"exitCode": 0, "reason": "Completed"}


@pytest.mark.parametrize("pod, want", [
    pytest.param(_status_pod("Running", [_cs(running=True, ready=True, started=True)]), "Running",
                 id="running"),
    pytest.param(_status_pod("Pending"), "Pending", id="pending-no-statuses"),
    pytest.param(_status_pod("Pending", [_cs(waiting="ContainerCreating")]), "ContainerCreating",
                 id="container-creating"),
    pytest.param(_status_pod("Running", [_cs(waiting="CrashLoopBackOff", restarts=4)]), "CrashLoopBackOff",
                 id="crash-loop"),
    pytest.param(_status_pod("Pending", [_cs(waiting="ImagePullBackOff")]), "ImagePullBackOff",
                 id="image-pull-backoff"),
    pytest.param(_status_pod("Pending", [_cs(waiting="ErrImagePull")]), "ErrImagePull", id="err-image-pull"),
    pytest.param(_status_pod("Running", [_cs(terminated={"exitCode": 137, "reason": "OOMKilled"})]),
                 "OOMKilled", id="terminated-reason"),
    pytest.param(_status_pod("Running", [_cs(running=True, ready=True),
                                         _cs("sidecar", waiting="CrashLoopBackOff")]),
                 "CrashLoopBackOff", id="second-container-waiting"),
    pytest.param(_status_pod("Failed", reason="Evicted"), "Evicted", id="status-reason-evicted"),
    pytest.param(_status_pod("Failed", reason="OutOfcpu"), "OutOfcpu", id="status-reason-kubelet-rejected"),
    pytest.param(_status_pod("Running", [_cs(running=True, ready=True)], deleting=True), "Terminating",
                 id="running-being-deleted"),
    pytest.param(_status_pod("Pending", [_cs(waiting="PodInitializing")],
                             init=[_cs("init", waiting="CrashLoopBackOff", restarts=3)]),
                 "Init:CrashLoopBackOff", id="init-waiting-crash-loop"),
    pytest.param(_status_pod("Pending", [_cs(waiting="PodInitializing")],
                             init=[_cs("init", terminated={"exitCode": 1, "reason": "Error"})]),
                 "Init:Error", id="init-terminated-error"),
    pytest.param(_status_pod("Pending", [_cs(waiting="PodInitializing")],
                             init=[_cs("init-a", terminated=DONE), _cs("init-b", waiting="PodInitializing")]),
                 "Init:1/2", id="second-init-container-pending"),
    pytest.param(_status_pod("Pending", [_cs(waiting="PodInitializing")],
                             init=[_cs("init", running=True, started=True)]),
                 "Init:0/1", id="regular-init-container-running"),
    pytest.param(_status_pod("Running", [_cs(running=True, ready=True, started=True)],
                             init=[_cs("proxy", running=True, ready=True, started=True)],
                             init_spec=[{"name": "proxy", "image": "img", "restartPolicy": "Always"}]),
                 "Running", id="running-sidecar-init-container-is-not-initializing"),
    pytest.param(_status_pod("Running", [_cs(running=True, ready=True, started=True)],
                             init=[_cs("init", terminated=DONE)]),
                 "Running", id="init-completed-app-running"),
])
def test_display_status(pod, want):
    assert podstate.display_status(pod) == want


# ============================================================================================
# pod_requests
# ============================================================================================

def _pod_with(containers=(), init=(), overhead=None, name="p"):
    pod = b.plain_pod(name, "n1")
    pod["spec"]["containers"] = list(containers) or [b.container("main")]
    if init:
        pod["spec"]["initContainers"] = list(init)
    if overhead:
        pod["spec"]["overhead"] = overhead
    return pod


def _sidecar(name, **kw):
    c = b.container(name, **kw)
    c["restartPolicy"] = "Always"
    return c


@pytest.mark.parametrize("pod, cpu, memory", [
    pytest.param(_pod_with([b.container("a", requests={"cpu": "100m", "memory": "64Mi"}),
                            b.container("b", requests={"cpu": "200m", "memory": "128Mi"})]),
                 "0.3", 192 * Mi, id="app-containers-are-summed"),
    pytest.param(_pod_with([b.container("a", requests={"cpu": "300m", "memory": "192Mi"})],
                           init=[b.container("i", requests={"cpu": "500m", "memory": "32Mi"})]),
                 "0.5", 192 * Mi, id="init-container-max-per-resource"),
    pytest.param(_pod_with([b.container("a", requests={"cpu": "100m"})],
                           init=[b.container("i1", requests={"cpu": "400m"}),
                                 b.container("i2", requests={"cpu": "600m"})]),
                 "0.6", 0, id="init-containers-maxed-not-summed"),
    pytest.param(_pod_with([b.container("a", requests={"cpu": "200m", "memory": "100Mi"})],
                           init=[_sidecar("proxy", requests={"cpu": "100m", "memory": "50Mi"})]),
                 "0.3", 150 * Mi, id="sidecar-added-to-app-containers"),
    pytest.param(_pod_with([b.container("a", requests={"cpu": "200m"})],
                           init=[_sidecar("proxy", requests={"cpu": "100m"}),
                                 b.container("i", requests={"cpu": "250m"})]),
                 "0.35", 0, id="init-after-sidecar-runs-alongside-it"),
    pytest.param(_pod_with([b.container("a", requests={"cpu": "200m"})],
                           init=[b.container("i", requests={"cpu": "250m"}),
                                 _sidecar("proxy", requests={"cpu": "100m"})]),
                 "0.3", 0, id="init-before-sidecar-runs-alone"),
    pytest.param(_pod_with([b.container("a", limits={"cpu": "1", "memory": "1Gi"})]),
                 "1", Gi, id="limit-defaults-missing-request"),
    pytest.param(_pod_with([b.container("a", requests={"cpu": "100m"}, limits={"cpu": "500m", "memory": "256Mi"})]),
                 "0.1", 256 * Mi, id="explicit-request-wins-over-limit"),
    pytest.param(_pod_with([b.container("a", requests={"cpu": "100m", "memory": "100Mi"})],
                           overhead={"cpu": "250m", "memory": "120Mi"}),
                 "0.35", 220 * Mi, id="overhead-is-added"),
    pytest.param(_pod_with([b.container("a")]), "0", 0, id="no-requests-is-zero"),
])
def test_pod_requests(pod, cpu, memory):
    got = fit.pod_requests(pod, b.V133.rules)
    assert (got.get("cpu", Decimal(0)), got.get("memory", Decimal(0))) == (Decimal(cpu), Decimal(memory))


# ============================================================================================
# resource_shortfalls
# ============================================================================================

def _req(name, cpu=None, memory=None, phase="Running", deleting=False, extra=None):
    requests = {}
    if cpu:
        requests["cpu"] = cpu
    if memory:
        requests["memory"] = memory
    requests.update(extra or {})
    pod = b.plain_pod(name, "n1", requests=requests or None, phase=phase)
    if deleting:
        pod["metadata"]["deletionTimestamp"] = "2026-11-01T11:00:00Z"
    return pod


NODE_2CPU = b.node("n1", cpu="2", memory="4Gi", pods="110")
ME_1CPU = _req("me", cpu="1")


def _big_init_pod():
    pod = _req("batch", cpu="100m")
    pod["spec"]["initContainers"] = [b.container("warmup", requests={"cpu": "1500m"})]
    return pod


@pytest.mark.parametrize("pod, node, others, short", [
    pytest.param(_req("me", cpu="500m"), NODE_2CPU, [_req("o1", cpu="1")], set(), id="fits"),
    pytest.param(ME_1CPU, NODE_2CPU, [_req("o1", cpu="1")], set(), id="exact-fit-fits"),
    pytest.param(_req("me", cpu="1500m"), NODE_2CPU, [_req("o1", cpu="1")], {"cpu"}, id="insufficient-cpu"),
    pytest.param(_req("me", memory="3Gi"), NODE_2CPU, [_req("o1", memory="2Gi")], {"memory"},
                 id="insufficient-memory"),
    pytest.param(_req("me", cpu="1500m", memory="3Gi"), NODE_2CPU, [_req("o1", cpu="1", memory="2Gi")],
                 {"cpu", "memory"}, id="insufficient-cpu-and-memory"),
    pytest.param(_req("me", cpu="3"), NODE_2CPU, [], {"cpu"}, id="larger-than-allocatable"),
    pytest.param(ME_1CPU, NODE_2CPU, [_req("o1", cpu="1500m", phase="Succeeded"),
                                      _req("o2", cpu="1500m", phase="Failed")], set(),
                 id="terminal-pods-do-not-count"),
    pytest.param(ME_1CPU, NODE_2CPU, [_req("o1", cpu="1500m", deleting=True)], {"cpu"},
                 id="terminating-pod-still-counts"),
    pytest.param(ME_1CPU, NODE_2CPU, [ME_1CPU, _req("o1", cpu="1")], set(), id="pod-itself-not-counted"),
    pytest.param(ME_1CPU, NODE_2CPU, [_big_init_pod()], {"cpu"}, id="other-pods-init-request-counts"),
    pytest.param(_req("me"), NODE_2CPU, [_req("o1", cpu="2", memory="4Gi")], set(),
                 id="zero-request-pod-only-checks-pod-count"),
    pytest.param(_req("me", cpu="100m"), b.node("n1", pods="2"), [_req("o1"), _req("o2")], {"pods"},
                 id="too-many-pods"),
    pytest.param(_req("me", cpu="100m"), b.node("n1", pods="2"), [_req("o1"), _req("o2", phase="Failed")],
                 set(), id="pod-count-ignores-terminal-pods"),
    pytest.param(_req("me", extra={"example.com/gpu": "1"}), NODE_2CPU, [], {"example.com/gpu"},
                 id="extended-resource-missing-from-allocatable"),
])
def test_resource_shortfalls(pod, node, others, short):
    out = fit.resource_shortfalls(pod, node, others, b.V133)
    assert {r.detail["resource"] for r in out} == short
    assert all(r.type == "InsufficientResource" for r in out)


def test_resource_shortfall_message_uses_schedulers_words():
    out = fit.resource_shortfalls(_req("me", cpu="1500m"), NODE_2CPU, [_req("o1", cpu="1")], b.V133)
    assert len(out) == 1 and "Insufficient cpu" in out[0].message


# ============================================================================================
# host_port_conflicts
# ============================================================================================

def _port(port, host_port=None, protocol=None, host_ip=None):
    p = {"containerPort": port}
    if host_port is not None:
        p["hostPort"] = host_port
    if protocol:
        p["protocol"] = protocol
    if host_ip:
        p["hostIP"] = host_ip
    return p


def _ported(name, *ports, host_network=False, phase="Running"):
    pod = b.plain_pod(name, "n1", ports=list(ports), phase=phase)
    if host_network:
        pod["spec"]["hostNetwork"] = True
    return pod


MINE = _ported("me", _port(9100, 9100, "TCP"))


@pytest.mark.parametrize("pod, others, conflicts", [
    pytest.param(MINE, [_ported("o", _port(9100, 9100, "TCP"))], [(9100, "TCP")], id="same-port-and-protocol"),
    pytest.param(_ported("me", _port(9100, 9100)), [_ported("o", _port(9100, 9100, "TCP"))], [(9100, "TCP")],
                 id="protocol-defaults-to-tcp"),
    pytest.param(_ported("me", _port(53, 53, "UDP")), [_ported("o", _port(53, 53, "TCP"))], [],
                 id="different-protocol"),
    pytest.param(MINE, [_ported("o", _port(9101, 9101, "TCP"))], [], id="different-port"),
    pytest.param(_ported("me", _port(9100, 9100, "TCP", "10.0.0.1")),
                 [_ported("o", _port(9100, 9100, "TCP", "10.0.0.2"))], [], id="different-specific-host-ips"),
    pytest.param(_ported("me", _port(9100, 9100, "TCP", "10.0.0.1")),
                 [_ported("o", _port(9100, 9100, "TCP", "10.0.0.1"))], [(9100, "TCP")], id="same-specific-host-ip"),
    pytest.param(_ported("me", _port(9100, 9100, "TCP", "10.0.0.1")),
                 [_ported("o", _port(9100, 9100, "TCP"))], [(9100, "TCP")], id="other-binds-all-ips"),
    pytest.param(MINE, [_ported("o", _port(9100, 9100, "TCP", "10.0.0.2"))], [(9100, "TCP")],
                 id="mine-binds-all-ips"),
    pytest.param(MINE, [_ported("o", _port(9100, protocol="TCP"), host_network=True)], [(9100, "TCP")],
                 id="hostnetwork-pod-claims-container-port"),
    pytest.param(_ported("me", _port(9100, protocol="TCP"), host_network=True),
                 [_ported("o", _port(9100, 9100, "TCP"))], [(9100, "TCP")],
                 id="my-hostnetwork-container-port-is-a-host-port"),
    pytest.param(MINE, [_ported("o", _port(9100, protocol="TCP"))], [], id="container-port-without-host-port"),
    pytest.param(MINE, [_ported("o", _port(9100, 9100, "TCP"), phase="Succeeded")], [], id="terminal-pod-ignored"),
    pytest.param(MINE, [MINE], [], id="pod-itself-ignored"),
])
def test_host_port_conflicts(pod, others, conflicts):
    out = fit.host_port_conflicts(pod, others, b.V133.rules)
    assert sorted((r.detail["port"], r.detail["protocol"]) for r in out) == sorted(conflicts)
    assert all(r.type == "HostPortConflict" for r in out)


# ============================================================================================
# failed_scheduling_messages
# ============================================================================================

def test_failed_scheduling_messages_only_this_pods_oldest_first():
    ds = b.daemonset("agent")
    pod = b.daemon_pod(ds, "n1", bound=False, phase="Pending", ready=False)
    other = b.daemon_pod(ds, "n2", bound=False, phase="Pending", ready=False)
    previous = _with(pod, lambda p: p["metadata"].__setitem__("uid", "00000000-0000-0000-0000-000000000001"))
    events_k8s_io = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                     "metadata": {"name": "agent.x", "namespace": "default"},
                     "regarding": {"kind": "Pod", "name": pod["metadata"]["name"], "namespace": "default",
                                   "uid": pod["metadata"]["uid"]},
                     "reason": "FailedScheduling", "note": "third", "type": "Warning",
                     "eventTime": "2026-11-01T10:09:00.000000Z"}
    events = [
        b.event(pod, "FailedScheduling", "second", when="2026-11-01T10:05:00Z"),
        b.event(other, "FailedScheduling", "about another pod", when="2026-11-01T10:02:00Z"),
        b.event(pod, "Scheduled", "not a failure", type_="Normal", when="2026-11-01T10:03:00Z"),
        b.event(previous, "FailedScheduling", "about an earlier pod with the same name",
                when="2026-11-01T09:00:00Z"),
        events_k8s_io,
        b.event(pod, "FailedScheduling", "first", when="2026-11-01T10:01:00Z"),
    ]
    assert failed_scheduling_messages(pod, events) == ["first", "second", "third"]


def test_failed_scheduling_messages_none():
    ds = b.daemonset("agent")
    pod = b.daemon_pod(ds, "n1", bound=False, phase="Pending", ready=False)
    assert failed_scheduling_messages(pod, []) == []


# ============================================================================================
# container_problems
# ============================================================================================

def test_crash_loop_reports_restarts_and_last_exit_code():
    cs = _cs(waiting="CrashLoopBackOff", restarts=7)
    cs["lastState"] = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    out = podstate.container_problems(_status_pod("Running", [cs]))
    assert [r.type for r in out] == ["CrashLoopBackOff"]
    assert out[0].detail["container"] == "agent" and out[0].detail["restarts"] == 7
    assert "7" in out[0].message and "137" in out[0].message


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull"])
def test_image_pull_problem(reason):
    cs = _cs(waiting=reason)
    cs["image"] = "registry.example/agent:9.9"
    out = podstate.container_problems(_status_pod("Pending", [cs]))
    assert [r.type for r in out] == ["ImagePull"]
    assert out[0].detail == {"container": "agent", "image": "registry.example/agent:9.9", "reason": reason}


def test_init_container_crash_loop_is_reported():
    pod = _status_pod("Pending", [_cs(waiting="PodInitializing")],
                      init=[_cs("setup", waiting="CrashLoopBackOff", restarts=2)])
    out = podstate.container_problems(pod)
    assert [(r.type, r.detail["container"]) for r in out] == [("CrashLoopBackOff", "setup")]


def test_running_but_not_ready_names_the_unready_containers():
    pod = _status_pod("Running", [_cs("agent", running=True, ready=False, started=True),
                                  _cs("exporter", running=True, ready=True, started=True)])
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    out = podstate.container_problems(pod)
    assert [r.type for r in out] == ["NotReady"]
    assert out[0].detail["containers"] == ["agent"]


def test_healthy_running_pod_has_no_problems():
    ds = b.daemonset("agent")
    assert podstate.container_problems(b.daemon_pod(ds, "n1")) == []


def test_pending_container_creating_is_not_a_problem():
    ds = b.daemonset("agent")
    pod = b.daemon_pod(ds, "n1", phase="Pending", ready=False, waiting="ContainerCreating")
    assert podstate.container_problems(pod) == []


# ============================================================================================
# not_ready_summary (diff's Unready detail): what the pod is really doing
# ============================================================================================

UNSCHEDULABLE_MSG = ("0/8 nodes are available: 1 Insufficient cpu, 7 node(s) didn't match Pod's node "
                     "affinity/selector. preemption: 0/8 nodes are available: 1 No preemption victims found "
                     "for incoming pod, 7 Preemption is not helpful for scheduling.")


def _unscheduled(ds, node_name, **cond):
    pod = b.daemon_pod(ds, node_name, phase="Pending", ready=False, bound=False)
    pod["status"]["conditions"][0].update(cond)
    return pod


def test_not_ready_summary_pending_unscheduled_quotes_the_scheduler():
    ds = b.daemonset("fat", containers=[b.container(requests={"cpu": "8"})])
    pod = _unscheduled(ds, "n1", reason="Unschedulable", message=UNSCHEDULABLE_MSG)
    assert podstate.not_ready_summary(pod) == \
        f"pod {pod['metadata']['name']} is Pending, not scheduled: {UNSCHEDULABLE_MSG}"


def test_not_ready_summary_pending_unscheduled_without_message_gives_the_reason_or_yet():
    ds = b.daemonset("fat")
    pod = _unscheduled(ds, "n1", reason="SchedulingGated")
    del pod["status"]["conditions"][0]["message"]
    assert podstate.not_ready_summary(pod).endswith("is Pending, not scheduled: SchedulingGated")
    fresh = b.daemon_pod(ds, "n1", phase="Pending", ready=False, bound=False)
    fresh["status"]["conditions"] = []
    assert podstate.not_ready_summary(fresh).endswith("is Pending, not scheduled yet")


def test_not_ready_summary_running_but_not_ready_gives_the_ready_condition_reason():
    pod = _status_pod("Running", [_cs("agent", running=True, ready=False, started=True),
                                  _cs("exporter", running=True, ready=True, started=True)])
    pod["metadata"] = {"name": "agent-x2k", "namespace": "default"}
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]
    assert podstate.not_ready_summary(pod) == \
        "pod agent-x2k is Running but not Ready (ContainersNotReady: containers not ready: agent)"


def test_not_ready_summary_crash_loop():
    cs = _cs(waiting="CrashLoopBackOff", restarts=7)
    cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    pod = _status_pod("Running", [cs])
    pod["metadata"] = {"name": "agent-x2k", "namespace": "default"}
    assert podstate.not_ready_summary(pod) == ("pod agent-x2k is CrashLoopBackOff: container agent keeps "
                                               "crashing (7 restarts, last exit code 1, Error)")


def test_not_ready_summary_image_pull_and_container_creating():
    ds = b.daemonset("agent")
    pull = b.daemon_pod(ds, "n1", phase="Pending", ready=False, waiting="ImagePullBackOff", suffix="p")
    assert podstate.not_ready_summary(pull).startswith("pod agent-p is ImagePullBackOff: container agent "
                                                       "cannot pull image")
    creating = b.daemon_pod(ds, "n1", phase="Pending", ready=False, waiting="ContainerCreating", suffix="c")
    assert podstate.not_ready_summary(creating) == \
        "pod agent-c is Pending on the node (ContainerCreating): its containers have not started"


def test_not_ready_summary_failed_and_terminating():
    ds = b.daemonset("agent")
    failed = b.daemon_pod(ds, "n1", phase="Failed", ready=False, suffix="f")
    failed["status"].update(reason="Evicted", message="The node was low on resource: memory.")
    assert podstate.not_ready_summary(failed) == \
        "pod agent-f is Failed: Evicted: The node was low on resource: memory."
    gone = b.daemon_pod(ds, "n1", ready=False, deleting=True, suffix="t")
    assert podstate.not_ready_summary(gone) == "pod agent-t is Terminating"


# ============================================================================================
# node_state
# ============================================================================================

NOT_READY_TAINTS = [b.taint("node.kubernetes.io/not-ready"),
                    b.taint("node.kubernetes.io/not-ready", effect="NoExecute")]
UNREACHABLE_TAINTS = [b.taint("node.kubernetes.io/unreachable"),
                      b.taint("node.kubernetes.io/unreachable", effect="NoExecute")]


def test_node_state_healthy_node_has_nothing_to_say():
    assert podstate.node_state(b.node("n1")) == []


def test_node_state_notready_with_lifecycle_taints():
    out = podstate.node_state(b.node("n1", ready="False", taints=NOT_READY_TAINTS))
    assert [r.type for r in out] == ["NodeNotReady"]
    assert out[0].detail["readyStatus"] == "False"
    assert "node.kubernetes.io/not-ready:NoSchedule" in out[0].message


def test_node_state_notready_not_yet_tainted():
    out = podstate.node_state(b.node("n1", ready="False"))
    assert [r.type for r in out] == ["NodeNotReady"]
    assert out[0].detail["readyStatus"] == "False"
    assert "not-ready:NoSchedule" not in out[0].message


def test_node_state_unreachable_uses_the_unreachable_taint():
    out = podstate.node_state(b.node("n1", ready="Unknown", taints=UNREACHABLE_TAINTS))
    assert [r.type for r in out] == ["NodeNotReady"]
    assert out[0].detail["readyStatus"] == "Unknown"
    assert "node.kubernetes.io/unreachable:NoSchedule" in out[0].message


def test_node_state_cordoned():
    node = b.node("n1", unschedulable=True, taints=[b.taint("node.kubernetes.io/unschedulable")])
    assert [r.type for r in podstate.node_state(node)] == ["NodeCordoned"]


def test_node_state_deleting():
    assert [r.type for r in podstate.node_state(b.node("n1", deleting=True))] == ["NodeDeleting"]


def test_node_state_notready_cordoned_and_deleting_all_reported():
    node = b.node("n1", ready="False", taints=NOT_READY_TAINTS + [b.taint("node.kubernetes.io/unschedulable")],
                  unschedulable=True, deleting=True)
    assert {r.type for r in podstate.node_state(node)} == {"NodeNotReady", "NodeCordoned", "NodeDeleting"}


# ============================================================================================
# explain_node: state per DaemonSet
# ============================================================================================

def _ds(name="agent", **kw):
    kw.setdefault("generation", 2)
    kw.setdefault("template_generation", 2)
    return b.daemonset(name, **kw)


DS = _ds()
SEL = _ds(node_selector={"role": "agent"})
OTHER = _ds("agent-old", labels={"app": "agent"})


def _revs(ds):
    return [b.revision(ds, OLD, 1, image="registry.example/agent:0.9"), b.revision(ds, NEW, 2)]


def _pod(ds, node, **kw):
    kw.setdefault("hash", NEW)
    kw.setdefault("generation", 2)
    return b.daemon_pod(ds, node, **kw)


UNBOUND = _pod(DS, "n1", bound=False, phase="Pending", ready=False)


@pytest.mark.parametrize("node, ds, pods, events, state", [
    pytest.param(b.node("n1"), DS, [_pod(DS, "n1")], [], "Running", id="running"),
    pytest.param(b.node("n1"), DS, [], [], "Missing", id="missing"),
    pytest.param(b.node("n1"), DS, [b.daemon_pod(OTHER, "n1", hash=NEW, generation=2)], [], "Missing",
                 id="other-daemonsets-pod-does-not-count"),
    pytest.param(b.node("n1"), SEL, [], [], "NotEligible", id="not-eligible-selector"),
    pytest.param(b.node("n1", taints=[b.taint("dedicated", "infra")]), DS, [], [], "NotEligible",
                 id="not-eligible-untolerated-taint"),
    pytest.param(b.node("n1"), DS, [UNBOUND],
                 [b.event(UNBOUND, "FailedScheduling", "0/3 nodes are available: 1 Insufficient cpu.")],
                 "Pending", id="pending-failed-scheduling"),
    pytest.param(b.node("n1"), DS, [_pod(DS, "n1", bound=False, phase="Pending", ready=False)], [], "Pending",
                 id="pending-not-yet-scheduled"),
    pytest.param(b.node("n1"), DS, [_pod(DS, "n1", ready=False, waiting="CrashLoopBackOff")], [], "Unhealthy",
                 id="unhealthy-crash-loop"),
    pytest.param(b.node("n1"), DS, [_pod(DS, "n1", ready=False)], [], "Unhealthy",
                 id="unhealthy-running-not-ready"),
    pytest.param(b.node("n1"), DS, [_pod(DS, "n1", hash=OLD, generation=1)], [], "Outdated", id="outdated"),
    pytest.param(b.node("n1"), DS, [_pod(DS, "n1", hash="foreign77", generation=2)], [], "Running",
                 id="matching-template-generation-is-not-outdated"),
    pytest.param(b.node("n1", taints=[b.taint("dedicated", "infra")]), DS, [_pod(DS, "n1")], [],
                 "Misscheduled", id="misscheduled-untolerated-noschedule"),
    pytest.param(b.node("n1", ready="False", taints=NOT_READY_TAINTS), DS, [_pod(DS, "n1", ready=False)], [],
                 "Misscheduled", id="misscheduled-notready-node"),
    pytest.param(b.node("n1", taints=[b.taint("dedicated", "infra", effect="NoExecute")]), DS,
                 [_pod(DS, "n1")], [], "Evicting", id="evicting-untolerated-noexecute"),
    pytest.param(b.node("n1"), SEL, [_pod(SEL, "n1")], [], "Evicting", id="evicting-node-lost-selector-label"),
    pytest.param(b.node("n1", unschedulable=True, taints=[b.taint("node.kubernetes.io/unschedulable")]), DS,
                 [_pod(DS, "n1")], [], "Running", id="running-on-cordoned-node"),
])
def test_explain_node_state(node, ds, pods, events, state):
    report = explain_node(node, [ds], pods, events, _revs(ds), NOW, b.V133)
    assert [(e.name, e.state) for e in report.entries] == [(ds["metadata"]["name"], state)]


def test_explain_node_one_entry_per_daemonset_sorted():
    zeta, alpha = _ds("zeta"), _ds("alpha")
    node = b.node("n1")
    report = explain_node(node, [zeta, alpha], [_pod(alpha, "n1")], [], _revs(alpha) + _revs(zeta), NOW, b.V133)
    assert report.node == "n1"
    assert [(e.name, e.state) for e in report.entries] == [("alpha", "Running"), ("zeta", "Missing")]
