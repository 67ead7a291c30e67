"""Table-driven tests of kubectl_ds.core.rollout, the pure core of `kubectl ds rollout`.

Expected values come from upstream behaviour, as written up in docs/semantics.md,
not from what the implementation returns:

* kubectl_status: kubectl v1.33 polymorphichelpers DaemonSetStatusViewer.Status (docs/semantics.md §4.9): OnDelete is
  refused with done=true; generation > observedGeneration, then updatedNumberScheduled < desired,
  then numberAvailable < desired, else success. The messages are kubectl's, verbatim (kubectl
  prints each with a trailing newline, which is not part of the message here).
* budgets: update.go updatedDesiredNodeCounts with util.UnavailableCount / util.SurgeCount (docs/semantics.md §4.2):
  intstr.GetScaledValueFromIntOrPercent(value, desired, roundUp=true), ints as given, 0 when the
  strategy is not RollingUpdate or rollingUpdate is nil, and maxUnavailable=1 when desired > 0
  and both resolve to 0.
* progress: per desired node, the pods' own account. The current revision is the owned
  ControllerRevision with the highest .revision (docs/semantics.md §4.3); a node is Updated when its pod of that
  revision is available and no older pod remains, Updating while a new pod exists but is not
  available or an old one is still kept next to it (surge, docs/semantics.md §4.6), Outdated with only an older pod,
  Missing with no live pod. Availability is podutil.IsPodAvailable as in v1.33 (docs/semantics.md §3, §4.8): Ready,
  and Ready's lastTransitionTime + minReadySeconds strictly before now.
* the pod-template-generation trap (docs/semantics.md §4.4, §5.4): util.IsPodUpdated also accepts a pod whose
  pod-template-generation label equals the DaemonSet's template generation, so the controller
  counts an old-hash pod carrying it as updated and never replaces it.
* stuck causes: a new pod's kubelet/scheduler problems; docs/semantics.md §4.5 unavailable nodes, NotReady ones and
  stuck terminating pods included, consume maxUnavailable; docs/semantics.md §4.6 + kubernetes#106417 maxSurge with
  a host port deadlocks.
* history: kubectl's DaemonSetHistoryViewer (docs/semantics.md §4.10): ControllerRevisions controlled by the
  DaemonSet's uid and matching its selector, sorted by .revision, change-cause from the CR.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from kubectl_ds.core import rollout as ro
from kubectl_ds.core.history import history, template_changes
from kubectl_ds.core.revisions import GENERATION_LABEL, HASH_LABEL
from kubectl_ds.core.strategy import budgets, scaled
from kubectl_ds.render.rollout import change_lines
from tests import builders as b

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)   # builders' T0 is 10:00:00Z
LATER = "2026-11-01T11:00:00Z"                                # new pods are created after the old ones
OLD, NEW = "5d9f8c7b6", "7c6b5d4f8"                           # hashes of revision 1 and revision 2
IMG1, IMG2 = "registry.example/agent:1.0", "registry.example/agent:2.0"
NODES = ("n0", "n1", "n2")


def _status(desired, updated=None, available=None, observed=2, **more):
    """A DaemonSet .status as the controller writes it (zero counters omitted, as the API does)."""
    st = {"currentNumberScheduled": desired, "desiredNumberScheduled": desired, "numberMisscheduled": 0,
          "numberReady": desired if available is None else available,
          "numberAvailable": desired if available is None else available,
          "updatedNumberScheduled": desired if updated is None else updated, "observedGeneration": observed}
    st.update(more)
    return {k: v for k, v in st.items() if v}


def _ds(status=None, generation=2, **kw):
    """DaemonSet `agent`: template at generation 2 (image 2.0); .status done on 3 nodes unless told."""
    kw.setdefault("containers", [b.container(image=IMG2)])
    return b.daemonset("agent", generation=generation, template_generation=2,
                       status=_status(3) if status is None else status, **kw)


def _revs(ds):
    return [b.revision(ds, OLD, 1, image=IMG1), b.revision(ds, NEW, 2)]


def _old(ds, node, **kw):
    """The node's pod of revision 1 (hash OLD, pod-template-generation 1, image 1.0)."""
    kw.setdefault("generation", 1)
    return b.daemon_pod(ds, node, hash=OLD, suffix=f"old-{node}", image=IMG1, **kw)


def _new(ds, node, **kw):
    """The node's pod of revision 2 (hash NEW, pod-template-generation 2), created after the old one."""
    kw.setdefault("created", LATER)
    kw.setdefault("ready_since", LATER)
    return b.daemon_pod(ds, node, hash=NEW, suffix=f"new-{node}", generation=2, **kw)


def _look(ds, pods, nodes=None, events=(), now=NOW, revisions=None):
    nodes = [b.node(n) for n in NODES] if nodes is None else nodes
    return ro.progress(ds, pods, nodes, _revs(ds) if revisions is None else revisions, list(events), now, ctx=b.V133)


def _row(status, node):
    return next(r for r in status.nodes if r.node == node)


def _culprits(status):
    return sorted((c.detail.get("node", "-"), c.type) for c in status.culprits)


def _with(obj, fn):
    obj = copy.deepcopy(obj)
    fn(obj)
    return obj


# ============================================================================================
# kubectl_status: kubectl rollout status, exactly (docs/semantics.md §4.9)
# ============================================================================================

KUBECTL_CASES = [
    pytest.param(_ds(strategy="OnDelete"),
                 "rollout status is only available for RollingUpdate strategy type", True, id="on-delete-refused"),
    pytest.param(_ds(generation=3, status=_status(3, observed=2)),
                 "Waiting for daemon set spec update to be observed...", False, id="generation-not-observed"),
    pytest.param(_ds(generation=1, status={}),
                 "Waiting for daemon set spec update to be observed...", False, id="no-status-yet"),
    pytest.param(_ds(generation=3, status=_status(3, updated=0, available=0, observed=2)),
                 "Waiting for daemon set spec update to be observed...", False,
                 id="generation-checked-before-counters"),
    pytest.param(_ds(status=_status(5, updated=2, available=4)),
                 'Waiting for daemon set "agent" rollout to finish: 2 out of 5 new pods have been updated...',
                 False, id="updated-below-desired"),
    pytest.param(_ds(status=_status(5, updated=0, available=5)),
                 'Waiting for daemon set "agent" rollout to finish: 0 out of 5 new pods have been updated...',
                 False, id="updated-omitted-counts-as-zero"),
    pytest.param(_ds(status=_status(5, updated=5, available=3)),
                 'Waiting for daemon set "agent" rollout to finish: 3 of 5 updated pods are available...',
                 False, id="available-below-desired"),
    pytest.param(_ds(status=_status(5, updated=5, available=0)),
                 'Waiting for daemon set "agent" rollout to finish: 0 of 5 updated pods are available...',
                 False, id="available-omitted-counts-as-zero"),
    pytest.param(_ds(status=_status(5)), 'daemon set "agent" successfully rolled out', True, id="done"),
    pytest.param(_ds(generation=2, status=_status(5, observed=3)),
                 'daemon set "agent" successfully rolled out', True, id="observed-ahead-of-generation-is-done"),
    pytest.param(_ds(status={"observedGeneration": 2}), 'daemon set "agent" successfully rolled out', True,
                 id="no-desired-nodes-is-done"),
    pytest.param(_ds(status=_status(5, numberMisscheduled=2)), 'daemon set "agent" successfully rolled out', True,
                 id="misscheduled-not-considered"),
]


@pytest.mark.parametrize("ds,message,done", KUBECTL_CASES)
def test_kubectl_status(ds, message, done):
    assert ro.kubectl_status(ds) == (message, done)


# ============================================================================================
# budgets: maxUnavailable / maxSurge as the controller resolves them (docs/semantics.md §4.2)
# ============================================================================================

def _strategy_ds(max_unavailable=1, max_surge=0, strategy="RollingUpdate"):
    return b.daemonset("agent", max_unavailable=max_unavailable, max_surge=max_surge, strategy=strategy)


def _no_rolling_update_block(ds):
    del ds["spec"]["updateStrategy"]["rollingUpdate"]


BUDGET_CASES = [
    pytest.param(_strategy_ds(1), 5, (1, 0), id="int-as-given"),
    pytest.param(_strategy_ds(10), 3, (10, 0), id="int-larger-than-desired-as-given"),
    pytest.param(_strategy_ds("10%"), 15, (2, 0), id="percent-rounds-up-10pct-of-15"),
    pytest.param(_strategy_ds("1%"), 3, (1, 0), id="percent-rounds-up-1pct-of-3"),
    pytest.param(_strategy_ds("50%"), 4, (2, 0), id="percent-exact-50pct-of-4"),
    pytest.param(_strategy_ds("100%"), 7, (7, 0), id="percent-100"),
    pytest.param(_strategy_ds("25%"), 0, (0, 0), id="percent-of-no-nodes"),
    pytest.param(_strategy_ds(0, 1), 5, (0, 1), id="surge-int"),
    pytest.param(_strategy_ds(0, "20%"), 6, (0, 2), id="surge-percent-rounds-up-20pct-of-6"),
    pytest.param(_strategy_ds(0, "1%"), 1, (0, 1), id="surge-percent-rounds-up-1pct-of-1"),
    pytest.param(_strategy_ds(0, 0), 5, (1, 0), id="both-zero-falls-back-to-max-unavailable-1"),
    pytest.param(_strategy_ds("0%", "0%"), 5, (1, 0), id="both-zero-percent-falls-back"),
    pytest.param(_strategy_ds("1%", 0), 0, (0, 0), id="no-fallback-without-desired-nodes"),
    pytest.param(_strategy_ds(0, 0), 0, (0, 0), id="both-zero-no-desired-nodes"),
    pytest.param(_strategy_ds(strategy="OnDelete"), 5, (0, 0), id="on-delete"),
    # UnavailableCount/SurgeCount return 0 without a rollingUpdate block; the fallback then applies
    pytest.param(_with(_strategy_ds(), _no_rolling_update_block), 5, (1, 0), id="nil-rolling-update-falls-back"),
    pytest.param(_with(_strategy_ds(), _no_rolling_update_block), 0, (0, 0), id="nil-rolling-update-no-nodes"),
]


@pytest.mark.parametrize("ds,desired,expected", BUDGET_CASES)
def test_budgets(ds, desired, expected):
    assert budgets(ds, desired) == expected


def test_scaled_rounds_like_intstr():
    # GetScaledValueFromIntOrPercent(roundUp=true): ceil(value * total / 100)
    assert [scaled("33%", n) for n in (0, 1, 3, 4, 10, 100)] == [0, 1, 1, 2, 4, 33]


# ============================================================================================
# progress: node states
# ============================================================================================

DS1 = _ds(status=_status(1, updated=0))
SURGE1 = _ds(status=_status(1, updated=0), max_unavailable=0, max_surge=1)

NODE_STATE_CASES = [
    pytest.param(DS1, [_new(DS1, "n0")], ro.UPDATED, True, "agent-new-n0", (), id="new-available-is-updated"),
    pytest.param(DS1, [_new(DS1, "n0", ready=False)], ro.UPDATING, False, "agent-new-n0", ("NotReady",),
                 id="new-not-ready-is-updating"),
    pytest.param(DS1, [_new(DS1, "n0", phase="Pending", bound=False, ready=False)], ro.UPDATING, False,
                 "agent-new-n0", ("FailedScheduling",), id="new-unbound-pending-aimed-at-node-is-updating"),
    pytest.param(DS1, [_old(DS1, "n0")], ro.OUTDATED, True, "agent-old-n0", (), id="old-only-is-outdated"),
    pytest.param(DS1, [_old(DS1, "n0", ready=False)], ro.OUTDATED, False, "agent-old-n0", (),
                 id="old-unready-is-outdated-and-unavailable"),
    pytest.param(DS1, [], ro.MISSING, False, "", (), id="no-pod-is-missing"),
    pytest.param(DS1, [_old(DS1, "n0", deleting=True)], ro.MISSING, False, "agent-old-n0", ("Terminating",),
                 id="only-terminating-pod-is-missing"),
    pytest.param(DS1, [_old(DS1, "n0", deleting=True), _new(DS1, "n0")], ro.UPDATED, True, "agent-new-n0", (),
                 id="terminating-old-pod-ignored-once-new-is-up"),
    pytest.param(SURGE1, [_old(SURGE1, "n0"), _new(SURGE1, "n0")], ro.UPDATING, True, "agent-new-n0", (),
                 id="surge-pair-both-available-is-updating-old-goes-next"),
    pytest.param(SURGE1, [_old(SURGE1, "n0"), _new(SURGE1, "n0", ready=False)], ro.UPDATING, True,
                 "agent-new-n0", ("NotReady",), id="surge-pair-old-still-serves"),
    pytest.param(SURGE1, [_old(SURGE1, "n0", ready=False), _new(SURGE1, "n0", ready=False)], ro.UPDATING, False,
                 "agent-new-n0", ("NotReady",), id="surge-pair-neither-available"),
    pytest.param(DS1, [_old(DS1, "n0", owned=False)], ro.OUTDATED, True, "agent-old-n0", (),
                 id="adoptable-orphan-counts"),
]


@pytest.mark.parametrize("ds,pods,state,available,pod,problems", NODE_STATE_CASES)
def test_progress_node_state(ds, pods, state, available, pod, problems):
    row = _row(_look(ds, pods, nodes=[b.node("n0")]), "n0")
    assert (row.state, row.available, row.pod) == (state, available, pod)
    assert tuple(p.type for p in row.problems) == problems


def test_progress_counts_and_rows_cover_desired_nodes_only():
    ds = _ds(status=_status(3, updated=1), node_selector={"role": "agent"})
    nodes = [b.node("n0", labels={"role": "agent"}), b.node("n1", labels={"role": "agent"}),
             b.node("n2", labels={"role": "agent"}), b.node("other")]
    pods = [_new(ds, "n0"), _new(ds, "n1", ready=False), _old(ds, "n2")]
    s = _look(ds, pods, nodes=nodes)
    assert [(r.node, r.state) for r in s.nodes] == [("n0", ro.UPDATED), ("n1", ro.UPDATING), ("n2", ro.OUTDATED)]
    assert (s.desired, s.updated, s.available, s.unavailable) == (3, 1, 2, 1)
    assert (s.current_hash, s.current_revision, s.max_unavailable, s.max_surge) == (NEW, 2, 1, 0)
    assert ro.node_counts(s.nodes) == {ro.UPDATED: 1, ro.UPDATING: 1, ro.OUTDATED: 1}


def test_progress_without_revisions_judges_availability_only():
    # before the controller's first sync there is no ControllerRevision: nothing is "outdated"
    ds = _ds(status=_status(2))
    s = _look(ds, [_old(ds, "n0"), _old(ds, "n1", ready=False)], nodes=[b.node("n0"), b.node("n1")], revisions=[])
    assert [(r.state, r.available) for r in s.nodes] == [(ro.UPDATED, True), (ro.UPDATING, False)]
    assert (s.current_hash, s.current_revision) == ("", 0)


def test_progress_surge_counts_nodes_with_two_live_pods():
    ds = _ds(status=_status(3, updated=1), max_unavailable=0, max_surge=2)
    pods = [_old(ds, "n0"), _new(ds, "n0", ready=False), _old(ds, "n1"), _new(ds, "n1"), _new(ds, "n2")]
    s = _look(ds, pods)
    assert (s.surging, s.max_surge, s.max_unavailable) == (2, 2, 0)
    assert [r.state for r in s.nodes] == [ro.UPDATING, ro.UPDATING, ro.UPDATED]


# --- availability with minReadySeconds, against `now` ----------------------------------------

MRS_CASES = [
    pytest.param(30, "2026-11-01T11:59:50Z", ro.UPDATING, False, id="ready-10s-of-30-not-available"),
    pytest.param(30, "2026-11-01T11:59:30Z", ro.UPDATING, False, id="ready-exactly-30s-not-available-v1.33"),
    pytest.param(30, "2026-11-01T11:59:29Z", ro.UPDATED, True, id="ready-31s-of-30-available"),
    pytest.param(0, "2026-11-01T12:00:00Z", ro.UPDATED, True, id="no-min-ready-seconds-available-at-once"),
    pytest.param(30, "", ro.UPDATING, False, id="no-transition-time-not-available"),
]


@pytest.mark.parametrize("mrs,ready_since,state,available", MRS_CASES)
def test_progress_min_ready_seconds_against_now(mrs, ready_since, state, available):
    ds = _ds(status=_status(1, updated=1, available=0), min_ready_seconds=mrs)
    pod = _new(ds, "n0", ready_since=ready_since)
    if not ready_since:
        for c in pod["status"]["conditions"]:
            c.pop("lastTransitionTime", None)
    row = _row(_look(ds, [pod], nodes=[b.node("n0")]), "n0")
    assert (row.state, row.available) == (state, available)


def test_progress_min_ready_seconds_moves_with_now():
    ds = _ds(status=_status(1, updated=1, available=0), min_ready_seconds=60)
    pod = _new(ds, "n0", ready_since="2026-11-01T11:59:30Z")
    before = _look(ds, [pod], nodes=[b.node("n0")], now=NOW)
    after = _look(ds, [pod], nodes=[b.node("n0")], now=datetime(2026, 11, 1, 12, 0, 31, tzinfo=timezone.utc))
    assert (before.nodes[0].state, after.nodes[0].state) == (ro.UPDATING, ro.UPDATED)
    assert (before.available, after.available) == (0, 1)


def test_progress_old_pod_within_min_ready_seconds_uses_budget():
    ds = _ds(status=_status(2, updated=0, available=1), min_ready_seconds=60)
    pods = [_old(ds, "n0"), _old(ds, "n1", ready_since="2026-11-01T11:59:30Z")]
    s = _look(ds, pods, nodes=[b.node("n0"), b.node("n1")])
    assert [(r.state, r.available) for r in s.nodes] == [(ro.OUTDATED, True), (ro.OUTDATED, False)]
    assert s.unavailable == 1


# --- the pod-template-generation trap (docs/semantics.md §4.4, §5.4) -------------------------

def _trap_pods(ds, generation_of_old=2):
    return [_new(ds, "n0"), _new(ds, "n1"), _old(ds, "n2", generation=generation_of_old)]


def test_progress_template_generation_trap_is_flagged():
    # the controller counts the old-hash pod on n2 as updated (its pod-template-generation is the
    # DaemonSet's), so .status and kubectl say the rollout is done; the pods say otherwise
    ds = _ds(status=_status(3))
    s = _look(ds, _trap_pods(ds))
    assert ro.kubectl_status(ds) == ('daemon set "agent" successfully rolled out', True)
    assert (s.kubectl_done, s.state, s.done) == (True, ro.PROGRESSING, False)
    row = _row(s, "n2")
    assert (row.state, row.available, row.pod) == (ro.OUTDATED, True, "agent-old-n2")
    assert [(p.type, dict(p.detail)) for p in row.problems] == [
        ("TemplateGenerationTrap", {"node": "n2", "pod": "agent-old-n2"})]
    assert _culprits(s) == [("n2", "TemplateGenerationTrap")]
    assert len(s.warnings) == 1 and "pod-template-generation" in s.warnings[0]
    assert "never replace" in s.warnings[0]
    assert ro.judge(s, 600, 300).state == ro.STUCK


@pytest.mark.parametrize("ds,generation_of_old", [
    pytest.param(_ds(status=_status(3, updated=2)), 1, id="old-generation-label"),
    pytest.param(_ds(status=_status(3, updated=2)), None, id="no-generation-label"),
    pytest.param(b.daemonset("agent", generation=2, template_generation=None, containers=[b.container(image=IMG2)],
                             status=_status(3, updated=2)), 2, id="ds-without-template-generation"),
])
def test_progress_no_trap(ds, generation_of_old):
    s = _look(ds, _trap_pods(ds, generation_of_old))
    assert _row(s, "n2").state == ro.OUTDATED and _row(s, "n2").problems == ()
    assert s.culprits == () and s.warnings == ()


def test_trap_pod_labels_are_what_the_controller_reads():
    pod = _old(_ds(), "n2", generation=2)
    assert (pod["metadata"]["labels"][HASH_LABEL], pod["metadata"]["labels"][GENERATION_LABEL]) == (OLD, "2")


# ============================================================================================
# progress: culprits (why a rollout does not move)
# ============================================================================================

def _ds_cpu():
    return _ds(status=_status(3, updated=1, available=2),
               containers=[b.container(image=IMG2, requests={"cpu": "200m", "memory": "64Mi"})])


def _pending_for_cpu():
    ds = _ds_cpu()
    pending = _new(ds, "n0", phase="Pending", bound=False, ready=False)
    hog = b.plain_pod("batch-job", "n0", requests={"cpu": "3900m"})
    pods = [pending, hog, _old(ds, "n1"), _old(ds, "n2")]
    events = [b.event(pending, "FailedScheduling", "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) "
                      "didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
                      "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for "
                      "scheduling.", when=LATER)]
    return ds, pods, None, events


def _pending_event_only():
    ds = _ds(status=_status(3, updated=1, available=2))
    pending = _new(ds, "n0", phase="Pending", bound=False, ready=False)
    events = [b.event(pending, "FailedScheduling", "0/3 nodes are available: 1 node(s) had volume node "
                      "affinity conflict.", when=LATER)]
    return ds, [pending, _old(ds, "n1"), _old(ds, "n2")], None, events


def _waiting(reason):
    def build():
        ds = _ds(status=_status(3, updated=1, available=2))
        return ds, [_new(ds, "n0", ready=False, waiting=reason), _old(ds, "n1"), _old(ds, "n2")], None, ()
    return build


def _readiness_failing():
    ds = _ds(status=_status(3, updated=1, available=2))
    return ds, [_new(ds, "n0", ready=False), _old(ds, "n1"), _old(ds, "n2")], None, ()


def _not_ready_node(max_unavailable=1, tainted=False, terminating=False):
    """n2 stopped reporting: Ready=Unknown and, once the node lifecycle controller has tainted it,
    unreachable NoSchedule+NoExecute (the NoSchedule one takes it out of `desired`); its old pod is
    marked not ready, or already deleted by the controller and stuck terminating (docs/semantics.md §4.5, #117204)."""
    def build():
        ds = _ds(status=_status(3 if not tainted else 2, updated=0, available=2), max_unavailable=max_unavailable)
        taints = [b.taint("node.kubernetes.io/unreachable", time_added=LATER),
                  b.taint("node.kubernetes.io/unreachable", effect="NoExecute", time_added=LATER)] if tainted else None
        nodes = [b.node("n0"), b.node("n1"), b.node("n2", ready="Unknown", taints=taints)]
        pods = [_old(ds, "n0"), _old(ds, "n1"), _old(ds, "n2", ready=False, deleting=terminating)]
        return ds, pods, nodes, ()
    return build


def _terminating_pod():
    ds = _ds(status=_status(3, updated=0, available=2))
    return ds, [_old(ds, "n0", deleting=True), _old(ds, "n1"), _old(ds, "n2")], None, ()


HOST_PORT = [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP", "name": "metrics"}]


def _surge_host_port():
    ds = _ds(status=_status(3, updated=0), max_unavailable=0, max_surge=1,
             containers=[b.container(image=IMG2, ports=HOST_PORT)])
    pending = _new(ds, "n0", phase="Pending", bound=False, ready=False)
    events = [b.event(pending, "FailedScheduling", "0/3 nodes are available: 1 node(s) didn't have free ports "
                      "for the requested pod ports, 2 node(s) didn't match Pod's node affinity/selector.",
                      when=LATER)]
    return ds, [_old(ds, "n0"), pending, _old(ds, "n1"), _old(ds, "n2")], None, events


def _surge_pending_for_cpu():
    ds = _ds(status=_status(3, updated=0), max_unavailable=0, max_surge=1,
             containers=[b.container(image=IMG2, requests={"cpu": "200m"})])
    pending = _new(ds, "n0", phase="Pending", bound=False, ready=False)
    hog = b.plain_pod("batch-job", "n0", requests={"cpu": "3900m"})
    return ds, [_old(ds, "n0"), pending, hog, _old(ds, "n1"), _old(ds, "n2")], None, ()


def _healthy_in_progress():
    ds = _ds(status=_status(3, updated=1, available=3))
    return ds, [_new(ds, "n0"), _old(ds, "n1"), _old(ds, "n2")], None, ()


CULPRIT_CASES = [
    pytest.param(_waiting("CrashLoopBackOff"), [("n0", "CrashLoopBackOff")], id="crash-loop"),
    pytest.param(_waiting("ImagePullBackOff"), [("n0", "ImagePull")], id="image-pull-backoff"),
    pytest.param(_waiting("ErrImagePull"), [("n0", "ImagePull")], id="err-image-pull"),
    pytest.param(_waiting("CreateContainerConfigError"), [("n0", "ContainerConfig")], id="container-config"),
    pytest.param(_pending_for_cpu, [("n0", "FailedScheduling"), ("n0", "InsufficientResource")],
                 id="pending-insufficient-cpu-with-event"),
    pytest.param(_pending_event_only, [("n0", "FailedScheduling")], id="pending-scheduler-message-only"),
    pytest.param(_readiness_failing, [("n0", "NotReady")], id="readiness-failing"),
    pytest.param(_not_ready_node(), [("n2", "NodeNotReady")], id="not-ready-node-uses-max-unavailable"),
    pytest.param(_not_ready_node(tainted=True), [("n2", "NodeNotReady")],
                 id="tainted-not-ready-node-uses-max-unavailable"),
    pytest.param(_not_ready_node(tainted=True, terminating=True), [("n2", "NodeNotReady")],
                 id="stuck-terminating-pod-on-unreachable-node-uses-max-unavailable"),
    pytest.param(_not_ready_node(max_unavailable=2), [], id="not-ready-node-leaves-budget"),
    pytest.param(_terminating_pod, [("n0", "Terminating")], id="terminating-pod"),
    pytest.param(_surge_host_port, [("n0", "FailedScheduling"), ("n0", "HostPortConflict"),
                                    ("n0", "SurgeHostPortDeadlock")], id="surge-host-port-deadlock"),
    pytest.param(_surge_pending_for_cpu, [("n0", "FailedScheduling"), ("n0", "InsufficientResource")],
                 id="surge-pending-for-cpu-is-no-deadlock"),
    pytest.param(_healthy_in_progress, [], id="healthy-rollout-has-none"),
]


@pytest.mark.parametrize("build,expected", CULPRIT_CASES)
def test_progress_culprits(build, expected):
    ds, pods, nodes, events = build()
    s = _look(ds, pods, nodes=nodes, events=events)
    assert _culprits(s) == sorted(expected)
    assert s.state == ro.PROGRESSING


def test_culprit_names_the_new_pod_and_node():
    ds, pods, nodes, events = _waiting("CrashLoopBackOff")()
    pods[0]["status"]["containerStatuses"][0].update(
        restartCount=7, lastState={"terminated": {"exitCode": 1, "reason": "Error"}})
    (c,) = _look(ds, pods).culprits
    assert c.detail["node"] == "n0" and c.detail["pod"] == "agent-new-n0" and c.detail["restarts"] == 7
    assert c.message.startswith("n0: new pod agent-new-n0: container agent keeps crashing (7 restarts")


def test_insufficient_resource_culprit_says_how_much():
    ds, pods, nodes, events = _pending_for_cpu()
    s = _look(ds, pods, events=events)
    res = next(c for c in s.culprits if c.type == "InsufficientResource")
    assert (res.detail["resource"], res.detail["requested"], res.detail["free"]) == ("cpu", "200m", "100m")
    sched = next(c for c in s.culprits if c.type == "FailedScheduling")
    assert "1 Insufficient cpu" in sched.message


def test_not_ready_node_budget_is_counted():
    ds, pods, nodes, events = _not_ready_node(tainted=True, terminating=True)()
    s = _look(ds, pods, nodes=nodes)
    assert (s.desired, s.max_unavailable, s.unavailable) == (2, 1, 1)
    assert [r.node for r in s.nodes] == ["n0", "n1"]


def test_culprits_are_deduplicated():
    ds, pods, nodes, events = _pending_event_only()
    s = _look(ds, pods, events=events + events)
    assert _culprits(s) == [("n0", "FailedScheduling")]


# ============================================================================================
# progress: state, and judge()
# ============================================================================================

def _all_new(ds, nodes=NODES, **kw):
    return [_new(ds, n, **kw) for n in nodes]


STATE_CASES = [
    pytest.param(_ds(status=_status(3)), lambda ds: _all_new(ds), ro.DONE, True, id="done"),
    pytest.param(_ds(status=_status(3, updated=2)), lambda ds: _all_new(ds), ro.PROGRESSING, False,
                 id="pods-done-status-lags-kubectl-not-done"),
    pytest.param(_ds(status=_status(3, updated=2)), lambda ds: _all_new(ds)[:2] + [_old(ds, "n2")],
                 ro.PROGRESSING, False, id="one-node-outdated"),
    pytest.param(_ds(status=_status(3, available=2)), lambda ds: _all_new(ds)[:2] + [_new(ds, "n2", ready=False)],
                 ro.PROGRESSING, False, id="one-node-unavailable"),
    pytest.param(_ds(generation=3, status=_status(3, observed=2)), lambda ds: _all_new(ds), ro.WAITING, False,
                 id="generation-not-observed-waits"),
    pytest.param(_ds(strategy="OnDelete", status=_status(3, updated=0)), lambda ds: [_old(ds, n) for n in NODES],
                 ro.PROGRESSING, False, id="on-delete-outdated"),
    pytest.param(_ds(strategy="OnDelete", status=_status(3)), lambda ds: _all_new(ds), ro.DONE, True,
                 id="on-delete-all-rolled-by-hand"),
    pytest.param(_ds(status={"observedGeneration": 2}), lambda ds: [], ro.DONE, True, id="no-desired-nodes"),
]


@pytest.mark.parametrize("ds,pods,state,done", STATE_CASES)
def test_progress_state(ds, pods, state, done):
    nodes = [] if not ds["status"].get("desiredNumberScheduled") else None
    s = _look(ds, pods(ds), nodes=nodes)
    assert (s.state, s.done) == (state, done)


def test_progress_on_delete_keeps_kubectl_refusal_and_no_budget():
    ds = _ds(strategy="OnDelete", status=_status(3, updated=0))
    s = _look(ds, [_old(ds, n) for n in NODES])
    assert (s.kubectl_message, s.kubectl_done) == ("rollout status is only available for RollingUpdate strategy type",
                                                   True)
    assert (s.strategy, s.max_unavailable, s.max_surge, s.culprits) == ("OnDelete", 0, 0, ())
    assert [r.state for r in s.nodes] == [ro.OUTDATED] * 3


def test_progress_waiting_keeps_kubectl_message():
    ds = _ds(generation=3, status=_status(3, observed=2))
    s = _look(ds, _all_new(ds))
    assert (s.generation, s.observed_generation) == (3, 2)
    assert s.kubectl_message == "Waiting for daemon set spec update to be observed..."


def test_progress_stale_status_warns():
    # every pod is on the new revision, but .status (observed) still says 1 updated
    ds = _ds(status=_status(3, updated=1))
    assert _look(ds, _all_new(ds)).warnings == ("the DaemonSet's status disagrees with its pods (stale status)",)


def _progressing():
    ds = _ds(status=_status(3, updated=1))
    return _look(ds, _all_new(ds)[:1] + [_old(ds, "n1"), _old(ds, "n2")])


def _done():
    ds = _ds(status=_status(3))
    return _look(ds, _all_new(ds))


def _waiting_status():
    ds = _ds(generation=3, status=_status(3, observed=2))
    return _look(ds, _all_new(ds))


JUDGE_CASES = [
    pytest.param(_progressing, 30.0, 20.0, ro.STUCK, id="past-deadline-stuck"),
    pytest.param(_progressing, 20.0, 20.0, ro.STUCK, id="at-deadline-stuck"),
    pytest.param(_progressing, 19.9, 20.0, ro.PROGRESSING, id="before-deadline-progressing"),
    pytest.param(_progressing, 1e6, 0.0, ro.PROGRESSING, id="zero-deadline-never-stuck"),
    pytest.param(_waiting_status, 30.0, 20.0, ro.STUCK, id="waiting-past-deadline-stuck"),
    pytest.param(_waiting_status, 5.0, 20.0, ro.WAITING, id="waiting-before-deadline"),
    pytest.param(_done, 1e6, 20.0, ro.DONE, id="done-is-never-stuck"),
]


@pytest.mark.parametrize("look,since,deadline,state", JUDGE_CASES)
def test_judge(look, since, deadline, state):
    s = look()
    judged = ro.judge(s, since, deadline)
    assert judged.state == state and judged.since_progress == since
    assert replace(judged, state=s.state, since_progress=None) == s   # nothing else changes


def test_key_changes_with_progress_not_with_time():
    s = _progressing()
    assert ro.judge(s, 1, 600).key() == ro.judge(s, 500, 600).key()
    assert ro.judge(s, 601, 600).key() != s.key()
    assert _done().key() != s.key()


# ============================================================================================
# history() and template_changes()
# ============================================================================================

HIST_DS = _ds()


def _cr(number, hash_, edit=None, cause=None, ds=HIST_DS):
    cr = b.revision(ds, hash_, number)
    tmpl = cr["data"]["spec"]["template"]
    if edit:
        edit(tmpl)
    if cause:
        cr["metadata"]["annotations"]["kubernetes.io/change-cause"] = cause
    return cr


def _image(img):
    def edit(t):
        t["spec"]["containers"][0]["image"] = img
    return edit


def _edits(*fns):
    def edit(t):
        for fn in fns:
            fn(t)
    return edit


def _env(**env):
    def edit(t):
        t["spec"]["containers"][0]["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return edit


def test_history_numbering_and_changes():
    other_ds = b.daemonset("other", labels={"app": "agent"})   # same labels, another uid
    foreign = _cr(7, "f00", ds=other_ds)
    unselected = _cr(2, "b4d")   # controlled by the DaemonSet, but its labels no longer match
    unselected["metadata"]["labels"]["app"] = "something-else"
    crs = [_cr(3, "ccc", _edits(_image(IMG2), _env(LOG_LEVEL="debug"))),
           _cr(1, "aaa", _image(IMG1), cause="kubectl apply --filename=agent.yaml"),
           foreign, unselected,
           _cr(2, "bbb", _image(IMG2), cause="kubectl set image ds/agent agent=registry.example/agent:2.0")]
    revs = history(HIST_DS, crs)
    assert [(r.number, r.hash, r.name, r.current) for r in revs] == [
        (1, "aaa", "agent-aaa", False), (2, "bbb", "agent-bbb", False), (3, "ccc", "agent-ccc", True)]
    assert [r.change_cause for r in revs] == [
        "kubectl apply --filename=agent.yaml", "kubectl set image ds/agent agent=registry.example/agent:2.0", ""]
    assert [r.changes for r in revs] == [
        ("initial revision",),
        (f"image agent: {IMG1} -> {IMG2}",),
        ("env of agent changed (LOG_LEVEL)",)]
    assert "$patch" not in revs[0].template and revs[0].template["spec"]["containers"][0]["image"] == IMG1


def test_history_after_undo_renumbers_and_compares_consecutive():
    # kubectl rollout undo re-uses revision 1's CR: the controller renumbers it to 3 (docs/semantics.md §4.10)
    crs = [_cr(3, "aaa", _image(IMG1)), _cr(2, "bbb", _image(IMG2))]
    revs = history(HIST_DS, crs)
    assert [(r.number, r.current) for r in revs] == [(2, False), (3, True)]
    assert revs[1].changes == (f"image agent: {IMG2} -> {IMG1}",)
    # revision 1 is gone (reused): what 2 changed is unknown, not "initial"
    assert revs[0].changes == ("earliest revision kept",) and revs[0].compared_to is None
    assert revs[1].compared_to == 2


def test_history_across_a_renumbered_gap_says_what_it_compares():
    """1 (1.0), 2 (1.1), 3 (1.2), 4 (annotation) then undo to 3: 3 becomes 5. Revision 4 is then
    listed after 2, and its changes are against 2, which the table must say."""
    from kubectl_ds.render.rollout import history_document, history_text
    crs = [_cr(1, "aaa", _image(IMG1)), _cr(2, "bbb", _image("registry.example/agent:1.1")),
           _cr(4, "ddd", _edits(_image(IMG2), _env(X="1"))), _cr(5, "ccc", _image(IMG2))]
    revs = history(HIST_DS, crs)
    assert [(r.number, r.compared_to) for r in revs] == [(1, None), (2, 1), (4, 2), (5, 4)]
    text = history_text(revs, False, False)
    row4 = next(line for line in text.splitlines() if line.startswith("4 "))
    assert "(vs 2) image agent: registry.example/agent:1.1 -> " in row4
    assert "(vs" not in next(line for line in text.splitlines() if line.startswith("5"))
    assert [r["comparedTo"] for r in history_document(revs)["revisions"]] == [None, 1, 2, 4]


def test_history_empty():
    assert history(HIST_DS, []) == ()


BASE = copy.deepcopy(HIST_DS["spec"]["template"])


def _t(fn):
    return _with(BASE, fn)


def _set_spec(key, value):
    def edit(t):
        t["spec"][key] = value
    return edit


def _set_container(key, value):
    def edit(t):
        t["spec"]["containers"][0][key] = value
    return edit


def _annotate(**ann):
    def edit(t):
        t["metadata"]["annotations"] = dict(ann)
    return edit


def _add_container(t):
    t["spec"]["containers"].append(b.container("sidecar", image="registry.example/sidecar:1"))


VOLUME = [{"name": "varlog", "hostPath": {"path": "/var/log", "type": ""}}]
MOUNT = [{"name": "varlog", "mountPath": "/var/log", "readOnly": True}]

CHANGE_CASES = [
    pytest.param(BASE, _t(_image("registry.example/agent:3.0")),
                 [f"image agent: {IMG2} -> registry.example/agent:3.0"], id="image"),
    pytest.param(_t(_env(A="1", B="2")), _t(_env(A="1", B="3", C="4")), ["env of agent changed (B, C)"],
                 id="env-names-changed-variables"),
    pytest.param(BASE, _t(_set_container("resources", {"requests": {"cpu": "100m"}})),
                 ["resources of agent changed"], id="resources"),
    pytest.param(BASE, _t(_set_spec("tolerations", [b.toleration(operator="Exists")])), ["tolerations changed"],
                 id="tolerations"),
    pytest.param(BASE, _t(_set_spec("nodeSelector", {"kubernetes.io/os": "linux"})), ["nodeSelector changed"],
                 id="node-selector"),
    pytest.param(BASE, _t(_set_spec("volumes", VOLUME)), ["volumes changed"], id="volumes"),
    pytest.param(BASE, _t(_edits(_set_spec("volumes", VOLUME), _set_container("volumeMounts", MOUNT))),
                 ["volume mounts of agent changed", "volumes changed"], id="volumes-and-mounts"),
    pytest.param(BASE, _t(_annotate(**{"kubectl.kubernetes.io/restartedAt": "2026-11-01T12:00:00Z"})),
                 ["template annotations changed: kubectl.kubernetes.io/restartedAt"], id="rollout-restart"),
    pytest.param(_t(_annotate(a="1", b="2")), _t(_annotate(a="1", c="3")),
                 ["template annotations changed: b, c"], id="template-annotations-named"),
    pytest.param(BASE, _t(_add_container), ["container sidecar added (registry.example/sidecar:1)"],
                 id="container-added"),
    pytest.param(_t(_add_container), BASE, ["container sidecar removed"], id="container-removed"),
    pytest.param(BASE, _t(_set_spec("dnsPolicy", "Default")), ["other pod spec fields changed: dnsPolicy"],
                 id="other-spec-field"),
    pytest.param(BASE, _t(lambda t: t["metadata"]["labels"].update(tier="node")), ["template labels changed"],
                 id="template-labels"),
    pytest.param(BASE, _t(_edits(_image(IMG1), _set_spec("tolerations", [b.toleration(operator="Exists")]))),
                 [f"image agent: {IMG2} -> {IMG1}", "tolerations changed"], id="several-at-once"),
    pytest.param(BASE, copy.deepcopy(BASE),
                 ["no template change (a rollback to an identical template re-uses the revision)"],
                 id="identical-templates"),
]


@pytest.mark.parametrize("old,new,expected", CHANGE_CASES)
def test_template_changes(old, new, expected):
    assert template_changes(old, new) == expected


# ============================================================================================
# render: the live lines printed when a node's state changes (commands/rollout.py follows with them)
# ============================================================================================

def test_change_lines_name_the_node_once():
    ds, pods, nodes, events = _readiness_failing()
    before = _look(ds, [_old(ds, n) for n in NODES])
    after = _look(ds, pods)
    assert change_lines(after, before) == [
        "node n0: new pod agent-new-n0: containers not ready: agent (readiness probe failing or still starting)"]


def test_change_lines_report_updated_nodes_and_replacements():
    ds = _ds(status=_status(3, updated=1))
    before = _look(ds, [_new(ds, "n0", ready=False), _old(ds, "n1"), _old(ds, "n2")])
    after = _look(ds, [_new(ds, "n0"), _old(ds, "n1", deleting=True), _old(ds, "n2")])
    assert change_lines(after, before) == ["node n0: updated (agent-new-n0)", "node n1: replacing pod agent-old-n1"]
    assert change_lines(after, after) == []


# --- what only other pods and the DaemonSet's events can explain ----------------------------------

def test_pending_pod_is_judged_against_every_pod_on_its_node():
    """The follower lists the DaemonSet's pods only: the node's other pods come as node_pods."""
    ds = _ds_cpu()
    pending = _new(ds, "n0", phase="Pending", bound=False, ready=False)
    hog = b.plain_pod("batch-job", "n0", namespace="batch", requests={"cpu": "3900m"})
    porter = b.plain_pod("port-hog", "n0", ports=[{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}])
    pods = [pending, _old(ds, "n1"), _old(ds, "n2")]
    assert ro.pending_targets(ds, pods) == ["n0"]
    fresh = copy.deepcopy(pending)       # not looked at by the scheduler yet: no PodScheduled condition
    fresh["status"]["conditions"] = []
    assert ro.pending_targets(ds, [fresh, _old(ds, "n1")]) == []
    without = ro.progress(ds, pods, [b.node(n) for n in NODES], _revs(ds), [], NOW, ctx=b.V133)
    assert "InsufficientResource" not in {p.type for p in _row(without, "n0").problems}
    st = ro.progress(ds, pods, [b.node(n) for n in NODES], _revs(ds), [], NOW, {"n0": [hog]}, ctx=b.V133)
    [cpu] = [p for p in _row(st, "n0").problems if p.type == "InsufficientResource"]
    assert "1 other pod" in cpu.message and "100m free" in cpu.message, cpu.message

    ds_port = _ds(status=_status(3, updated=1, available=2), containers=[
        b.container(image=IMG2, ports=[{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}])])
    pending = _new(ds_port, "n0", phase="Pending", bound=False, ready=False)
    pods = [pending, _old(ds_port, "n1"), _old(ds_port, "n2")]
    st = ro.progress(ds_port, pods, [b.node(n) for n in NODES], _revs(ds_port), [], NOW, {"n0": [porter]}, ctx=b.V133)
    [port] = [p for p in _row(st, "n0").problems if p.type == "HostPortConflict"]
    assert "port-hog" in port.message


def _quota_case(event_at):
    ds = _ds(status=_status(3, updated=1, available=1))
    pods = [_new(ds, "n0")]              # n1 and n2 have no pod: the controller could not create them
    ev = b.event(ds, "FailedCreate", 'Error creating: pods "agent-x1" is forbidden: exceeded quota: pods, '
                 "requested: pods=1, used: pods=2, limited: pods=2", when=event_at)
    return ds, pods, [ev]


def test_failed_create_explains_nodes_without_a_pod():
    ds, pods, events = _quota_case("2026-11-01T11:30:00Z")
    st = _look(ds, pods, events=events)
    [fc] = [c for c in st.culprits if c.type == "FailedCreate"]
    assert fc.detail["nodes"] == ["n1", "n2"] and "exceeded quota" in fc.message
    assert "2 node(s) have no pod (n1, n2)" in fc.message


def test_an_old_failed_create_or_one_for_another_daemonset_explains_nothing():
    ds, pods, events = _quota_case("2026-11-01T09:00:00Z")     # three hours before NOW
    assert not [c for c in _look(ds, pods, events=events).culprits if c.type == "FailedCreate"]
    ds, pods, events = _quota_case("2026-11-01T11:30:00Z")
    events[0]["involvedObject"].update(name="other", uid="uid-other")
    assert not [c for c in _look(ds, pods, events=events).culprits if c.type == "FailedCreate"]


def test_outdated_pod_on_a_node_that_no_longer_qualifies_is_flagged():
    """A NoSchedule taint added after placement: the pod is kept (misscheduled) until the rolling
    update reaches it, which deletes it and never creates a replacement there."""
    ds = _ds(status=_status(2, updated=1, available=2, numberMisscheduled=1))
    nodes = [b.node("n0"), b.node("n1"), b.node("n2", taints=[b.taint("team", "a")])]
    pods = [_new(ds, "n0"), _old(ds, "n1"), _old(ds, "n2")]
    st = _look(ds, pods, nodes=nodes)
    assert [r.node for r in st.nodes] == ["n0", "n1"]
    [w] = [w for w in st.warnings if "no longer qualifies" in w]
    assert w.endswith("deletes it and does not replace it, so these nodes lose the agent: n2")
    # already on the current revision: the rolling update leaves it alone, nothing to say
    st = _look(ds, [_new(ds, "n0"), _old(ds, "n1"), _new(ds, "n2")], nodes=nodes)
    assert not [w for w in st.warnings if "no longer qualifies" in w]


def test_surge_row_names_the_old_pod_still_serving():
    ds = _strategy_ds(max_unavailable=0, max_surge=1)
    pods = [_old(ds, "n0"), _new(ds, "n0", ready=False), _new(ds, "n1"), _new(ds, "n2")]
    row = _row(_look(ds, pods), "n0")
    assert (row.state, row.available, row.pod, row.old_pod) == (ro.UPDATING, True, "agent-new-n0", "agent-old-n0")


def test_header_names_no_revision_until_the_controller_observes_the_change():
    """Right after an apply the newest revision is the old template's: the header must not call it
    the rollout's revision; the change line names the new one once the controller observes it."""
    from kubectl_ds.render.rollout import header
    ds = _ds(generation=2, status=_status(3, updated=0, observed=1))
    before = _look(ds, [_old(ds, n) for n in NODES], revisions=_revs(ds)[:1])
    assert header(before) == "daemon set default/agent: generation 2 not observed by the controller yet, " \
                             "3 nodes, RollingUpdate"
    observed = _ds(generation=2, status=_status(3, updated=0, observed=2))
    after = _look(observed, [_old(observed, n) for n in NODES])
    assert header(after) == f"daemon set default/agent: revision 2 ({NEW}), 3 nodes, RollingUpdate"
    assert f"controller observed generation 2: revision 2 ({NEW})" in change_lines(after, before)
