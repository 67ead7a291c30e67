"""Table-driven tests of kubectl_ds.core.coverage.compare.

Every expected value is derived from the DaemonSet controller's rules (Kubernetes v1.33,
pkg/controller/daemon) as written up in docs/semantics.md, not from what the
implementation returns:

* docs/semantics.md §1.1 NodeShouldRunDaemonPod -> (shouldRun, shouldContinueRunning): untolerated NoSchedule keeps an
  existing pod (misscheduled), untolerated NoExecute or a node that stopped matching the
  nodeSelector / required node affinity removes it (evicting); PreferNoSchedule and
  tolerationSeconds are ignored; docs/semantics.md §1.4 the injected not-ready/unreachable NoExecute and
  unschedulable NoSchedule tolerations.
* docs/semantics.md §2.1 getNodesToDaemonPods: ClaimPods (§5.1: owned = controllerRef uid == DS uid and selector
  matches; other uids ignored; orphans matching the selector are adopted unless being deleted or
  the DS is being deleted), pods that are terminal AND being deleted are dropped, pods are
  grouped by spec.nodeName or the injected matchFields metadata.name, pods with neither skipped.
* docs/semantics.md §2.3 podsShouldBeOnNode: more than one live (not being deleted) pod is pruned; with surge the
  oldest new-hash and the oldest old-hash pod are both kept.
* docs/semantics.md §3 updateDaemonSetStatus: counters over existing nodes; ready/available/updated judged on the
  oldest pod (podByCreationTimestampAndPhase: scheduled first, then creationTimestamp, then name).
* docs/semantics.md §4.3 the current revision is the owned ControllerRevision with the highest .revision;
  docs/semantics.md §4.4 util.IsPodUpdated (hash label, or pod-template-generation == the DS annotation).
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest

from kubectl_ds.core.coverage import compare
from tests import builders as b

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)   # builders' T0 is 10:00:00Z
LATER = "2026-11-01T10:05:00Z"
LATEST = "2026-11-01T10:10:00Z"
OLD, NEW = "5d9f8c7b6", "7c6b5d4f8"        # hashes of revision 1 and revision 2


def _ds(name="agent", **kw):
    """A DaemonSet whose template is at generation 2 (so generation-1 pods are not 'updated')."""
    kw.setdefault("generation", 2)
    kw.setdefault("template_generation", 2)
    return b.daemonset(name, **kw)


def _revs(ds):
    return [b.revision(ds, OLD, 1, image="registry.example/agent:0.9"), b.revision(ds, NEW, 2)]


def _pod(ds, node, **kw):
    """A daemon pod of the current revision (hash NEW, pod-template-generation 2) unless told."""
    kw.setdefault("hash", NEW)
    kw.setdefault("generation", 2)
    return b.daemon_pod(ds, node, **kw)


def _counts(desired, current, misscheduled, ready, available, updated):
    return {"desiredNumberScheduled": desired, "currentNumberScheduled": current,
            "numberMisscheduled": misscheduled, "numberReady": ready, "numberAvailable": available,
            "updatedNumberScheduled": updated, "numberUnavailable": desired - available}


def _with(obj, fn):
    """Deep-copy `obj` and apply the in-place edit `fn` to the copy."""
    obj = copy.deepcopy(obj)
    fn(obj)
    return obj


def _set(path, value):
    def edit(obj):
        cur = obj
        for k in path[:-1]:
            cur = cur.setdefault(k, {})
        cur[path[-1]] = value
    return edit


def _del_affinity(pod):
    del pod["spec"]["affinity"]


def _in_namespace(ns):
    return _set(("metadata", "namespace"), ns)


DS = _ds()
OTHER = _ds("agent-old", labels={"app": "agent"})           # same labels/selector, different uid
SEL = _ds(node_selector={"role": "agent"})
AFF = _ds(affinity=b.affinity_terms(b.term(b.expr("topology.kubernetes.io/zone", "In", "a"))))
SURGE = _ds(max_unavailable=0, max_surge=1)
SURGE_PCT = _ds(max_unavailable=0, max_surge="25%")
ON_DELETE = _ds(strategy="OnDelete")
MRS = _ds(min_ready_seconds=60)
TOLERATES_FOR_A_WHILE = _ds(tolerations=[b.toleration("dedicated", "Exists", effect="NoExecute", seconds=300)])
DELETING_DS = _with(DS, _set(("metadata", "deletionTimestamp"), "2026-11-01T11:00:00Z"))
NO_TGEN = _ds(template_generation=None)
BAD_TGEN = _with(DS, _set(("metadata", "annotations", "deprecated.daemonset.template.generation"), "two"))

LIFECYCLE_NOT_READY = [b.taint("node.kubernetes.io/not-ready"),
                       b.taint("node.kubernetes.io/not-ready", effect="NoExecute")]
LIFECYCLE_UNREACHABLE = [b.taint("node.kubernetes.io/unreachable"),
                         b.taint("node.kubernetes.io/unreachable", effect="NoExecute")]


def case(id_, ds, nodes, pods, revisions=None, **expect):
    return pytest.param(ds, nodes, pods, _revs(ds) if revisions is None else revisions, expect, id=id_)


CASES = [
    # --- desired / actual / missing / misscheduled / evicting (docs/semantics.md §1.1, §3) ----
    case("all-eligible-nodes-covered", DS, [b.node("n1"), b.node("n2")],
         [_pod(DS, "n1"), _pod(DS, "n2")],
         desired=("n1", "n2"), actual=("n1", "n2"), missing=(), misscheduled=(), evicting=(),
         duplicates=(), outdated=(), unready=(), orphans=(), unknown_nodes=(), current_hash=NEW,
         computed=_counts(2, 2, 0, 2, 2, 2), in_sync=True),
    case("eligible-node-without-pod-is-missing", DS, [b.node("n1"), b.node("n2")], [_pod(DS, "n1")],
         desired=("n1", "n2"), actual=("n1",), missing=("n2",), misscheduled=(),
         computed=_counts(2, 1, 0, 1, 1, 1), in_sync=False),
    case("no-pods-at-all", DS, [b.node("n1"), b.node("n2")], [],
         desired=("n1", "n2"), actual=(), missing=("n1", "n2"),
         computed=_counts(2, 0, 0, 0, 0, 0), in_sync=False),
    case("no-nodes-at-all", DS, [], [],
         desired=(), actual=(), missing=(), computed=_counts(0, 0, 0, 0, 0, 0), in_sync=True),
    case("node-selector-excludes-node-without-pod", SEL,
         [b.node("n1", labels={"role": "agent"}), b.node("n2")], [_pod(SEL, "n1")],
         desired=("n1",), actual=("n1",), missing=(), misscheduled=(), evicting=(),
         computed=_counts(1, 1, 0, 1, 1, 1), in_sync=True),
    case("untolerated-noschedule-taint-keeps-pod-as-misscheduled", DS,
         [b.node("n1"), b.node("n2", taints=[b.taint("dedicated", "infra")])],
         [_pod(DS, "n1"), _pod(DS, "n2")],
         desired=("n1",), actual=("n1", "n2"), missing=(), misscheduled=("n2",), evicting=(),
         computed=_counts(1, 1, 1, 1, 1, 1), in_sync=False),
    case("untolerated-noexecute-taint-evicts", DS,
         [b.node("n1"), b.node("n2", taints=[b.taint("dedicated", "infra", effect="NoExecute")])],
         [_pod(DS, "n1"), _pod(DS, "n2")],
         desired=("n1",), actual=("n1", "n2"), misscheduled=("n2",), evicting=("n2",),
         computed=_counts(1, 1, 1, 1, 1, 1), in_sync=False),
    case("untolerated-noexecute-taint-without-pod-not-missing", DS,
         [b.node("n1"), b.node("n2", taints=[b.taint("dedicated", "infra", effect="NoExecute")])],
         [_pod(DS, "n1")],
         desired=("n1",), missing=(), misscheduled=(), evicting=(),
         computed=_counts(1, 1, 0, 1, 1, 1), in_sync=True),
    case("node-lost-nodeselector-label-evicts", SEL,
         [b.node("n1", labels={"role": "agent"}), b.node("n2")], [_pod(SEL, "n1"), _pod(SEL, "n2")],
         desired=("n1",), misscheduled=("n2",), evicting=("n2",),
         computed=_counts(1, 1, 1, 1, 1, 1), in_sync=False),
    case("node-stopped-matching-required-affinity-evicts", AFF,
         [b.node("n1", labels={"topology.kubernetes.io/zone": "a"}),
          b.node("n2", labels={"topology.kubernetes.io/zone": "b"})],
         [_pod(AFF, "n1"), _pod(AFF, "n2")],
         desired=("n1",), misscheduled=("n2",), evicting=("n2",),
         computed=_counts(1, 1, 1, 1, 1, 1)),
    # the controller counts it misscheduled (numberMisscheduled 1); diff counts it apart, as
    # transient (tests/unit/test_transient_taints.py), not as drift
    case("notready-node-with-lifecycle-taints-keeps-pod-as-misscheduled", DS,
         [b.node("n1"), b.node("n2", ready="False", taints=LIFECYCLE_NOT_READY)],
         [_pod(DS, "n1"), _pod(DS, "n2", ready=False)],
         desired=("n1",), actual=("n1", "n2"), missing=(), misscheduled=(), evicting=(),
         computed=_counts(1, 1, 1, 1, 1, 1), in_sync=True),
    case("notready-node-not-yet-tainted-is-still-desired", DS,
         [b.node("n1"), b.node("n2", ready="False")],
         [_pod(DS, "n1"), _pod(DS, "n2", ready=False)],
         desired=("n1", "n2"), misscheduled=(), unready=("n2",),
         computed=_counts(2, 2, 0, 1, 1, 2)),
    case("unreachable-node-without-pod-is-neither-desired-nor-missing", DS,
         [b.node("n1"), b.node("n2", ready="Unknown", taints=LIFECYCLE_UNREACHABLE)], [_pod(DS, "n1")],
         desired=("n1",), actual=("n1",), missing=(), misscheduled=(),
         computed=_counts(1, 1, 0, 1, 1, 1), in_sync=True),
    case("cordoned-node-is-still-desired", DS,
         [b.node("n1"), b.node("n2", unschedulable=True,
                               taints=[b.taint("node.kubernetes.io/unschedulable")])],
         [_pod(DS, "n1"), _pod(DS, "n2")],
         desired=("n1", "n2"), misscheduled=(), computed=_counts(2, 2, 0, 2, 2, 2)),
    case("prefer-no-schedule-taint-is-ignored", DS,
         [b.node("n1"), b.node("n2", taints=[b.taint("dedicated", "infra", effect="PreferNoSchedule")])],
         [_pod(DS, "n1")],
         desired=("n1", "n2"), missing=("n2",), computed=_counts(2, 1, 0, 1, 1, 1)),
    case("noexecute-tolerated-for-n-seconds-counts-as-tolerated", TOLERATES_FOR_A_WHILE,
         [b.node("n1"), b.node("n2", taints=[b.taint("dedicated", "infra", effect="NoExecute")])],
         [_pod(TOLERATES_FOR_A_WHILE, "n1"), _pod(TOLERATES_FOR_A_WHILE, "n2")],
         desired=("n1", "n2"), misscheduled=(), evicting=(), computed=_counts(2, 2, 0, 2, 2, 2)),

    # --- which pods are the DaemonSet's (docs/semantics.md §2.1, §5.1) ------------------------
    case("pod-controlled-by-another-uid-is-ignored", DS, [b.node("n1")],
         [b.daemon_pod(OTHER, "n1", hash=NEW, generation=2)],
         actual=(), missing=("n1",), orphans=(), duplicates=(), computed=_counts(1, 0, 0, 0, 0, 0)),
    case("failed-pod-being-deleted-is-ignored", DS, [b.node("n1")],
         [_pod(DS, "n1", phase="Failed", ready=False, deleting=True)],
         actual=(), missing=("n1",), computed=_counts(1, 0, 0, 0, 0, 0)),
    case("succeeded-pod-being-deleted-is-ignored", DS, [b.node("n1")],
         [_pod(DS, "n1", phase="Succeeded", ready=False, deleting=True)],
         actual=(), missing=("n1",), computed=_counts(1, 0, 0, 0, 0, 0)),
    case("failed-pod-not-yet-deleted-still-counts-as-scheduled", DS, [b.node("n1")],
         [_pod(DS, "n1", phase="Failed", ready=False)],
         actual=("n1",), missing=(), unready=("n1",), computed=_counts(1, 1, 0, 0, 0, 1)),
    case("terminating-running-pod-still-counts-and-is-available", DS, [b.node("n1")],
         [_pod(DS, "n1", deleting=True)],
         actual=("n1",), missing=(), duplicates=(), computed=_counts(1, 1, 0, 1, 1, 1)),
    case("pending-unbound-pod-counts-for-its-target-node", DS, [b.node("n1")],
         [_pod(DS, "n1", bound=False, phase="Pending", ready=False)],
         actual=("n1",), missing=(), unready=("n1",), unknown_nodes=(),
         computed=_counts(1, 1, 0, 0, 0, 1)),
    case("owned-pod-in-another-namespace-is-ignored", DS, [b.node("n1")],
         [_with(_pod(DS, "n1"), _in_namespace("other"))],
         actual=(), missing=("n1",), orphans=(), computed=_counts(1, 0, 0, 0, 0, 0)),
    case("owned-pod-no-longer-matching-selector-is-released", DS, [b.node("n1")],
         [_with(_pod(DS, "n1"), _set(("metadata", "labels", "app"), "renamed"))],
         actual=(), missing=("n1",), orphans=(), computed=_counts(1, 0, 0, 0, 0, 0)),
    case("pod-without-nodename-or-injected-affinity-is-skipped", DS, [b.node("n1")],
         [_with(_pod(DS, "n1", bound=False, phase="Pending", ready=False), _del_affinity)],
         actual=(), missing=("n1",), unknown_nodes=(), computed=_counts(1, 0, 0, 0, 0, 0)),

    # --- pods aimed at nodes that do not exist (docs/semantics.md §1.5, §3: status is over existing nodes) ---
    case("bound-pod-on-deleted-node", DS, [b.node("n1")], [_pod(DS, "n1"), _pod(DS, "gone")],
         actual=("n1",), unknown_nodes=("gone",), missing=(), misscheduled=(),
         computed=_counts(1, 1, 0, 1, 1, 1)),
    case("unbound-pod-aimed-at-deleted-node", DS, [b.node("n1")],
         [_pod(DS, "n1"), _pod(DS, "gone", bound=False, phase="Pending", ready=False)],
         actual=("n1",), unknown_nodes=("gone",), computed=_counts(1, 1, 0, 1, 1, 1)),
    case("other-daemonsets-pod-on-deleted-node-is-not-ours", DS, [b.node("n1")],
         [_pod(DS, "n1"), b.daemon_pod(OTHER, "gone", hash=NEW, generation=2)],
         unknown_nodes=()),

    # --- orphans: ClaimPods would adopt them (docs/semantics.md §5.1) --------------------------
    case("orphan-matching-selector-is-listed", DS, [b.node("n1"), b.node("n2")],
         [_pod(DS, "n1"), _pod(DS, "n2", owned=False, suffix="stray")],
         orphans=("agent-stray",)),
    case("pod-with-only-a-non-controller-ownerref-is-an-orphan", DS, [b.node("n1"), b.node("n2")],
         [_pod(DS, "n1"),
          _with(_pod(DS, "n2", owned=False, suffix="stray"), _set(("metadata", "ownerReferences"), [
              {"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg",
               "uid": "11111111-2222-3333-4444-555555555555", "controller": False}]))],
         orphans=("agent-stray",)),
    case("orphan-being-deleted-is-not-adopted", DS, [b.node("n1"), b.node("n2")],
         [_pod(DS, "n1"), _pod(DS, "n2", owned=False, suffix="stray", deleting=True)],
         orphans=()),
    case("orphan-not-matching-selector-is-not-adopted", DS, [b.node("n1"), b.node("n2")],
         [_pod(DS, "n1"),
          _with(_pod(DS, "n2", owned=False, suffix="stray"), _set(("metadata", "labels", "app"), "web"))],
         orphans=()),
    case("orphan-in-another-namespace-is-not-adopted", DS, [b.node("n1"), b.node("n2")],
         [_pod(DS, "n1"), _with(_pod(DS, "n2", owned=False, suffix="stray"), _in_namespace("other"))],
         orphans=()),
    case("daemonset-being-deleted-adopts-nothing", DELETING_DS, [b.node("n1"), b.node("n2")],
         [_pod(DELETING_DS, "n1"), _pod(DELETING_DS, "n2", owned=False, suffix="stray")],
         orphans=()),

    # --- duplicates (docs/semantics.md §2.3 podsShouldBeOnNode) --------------------------------
    case("two-live-pods-without-surge-is-a-duplicate", DS, [b.node("n1")],
         [_pod(DS, "n1", suffix="a"), _pod(DS, "n1", suffix="b", created=LATER)],
         duplicates=("n1",), in_sync=False, computed=_counts(1, 1, 0, 1, 1, 1)),
    case("old-plus-new-without-surge-is-a-duplicate", DS, [b.node("n1")],
         [_pod(DS, "n1", suffix="a", hash=OLD, generation=1), _pod(DS, "n1", suffix="b", created=LATER)],
         duplicates=("n1",), in_sync=False),
    case("ondelete-old-plus-new-is-a-duplicate", ON_DELETE, [b.node("n1")],
         [_pod(ON_DELETE, "n1", suffix="a", hash=OLD, generation=1),
          _pod(ON_DELETE, "n1", suffix="b", created=LATER)],
         duplicates=("n1",), in_sync=False),
    case("surge-old-plus-new-is-not-a-duplicate", SURGE, [b.node("n1")],
         [_pod(SURGE, "n1", suffix="a", hash=OLD, generation=1), _pod(SURGE, "n1", suffix="b", created=LATER)],
         duplicates=(), in_sync=True),
    case("surge-percentage-old-plus-new-is-not-a-duplicate", SURGE_PCT, [b.node("n1")],
         [_pod(SURGE_PCT, "n1", suffix="a", hash=OLD, generation=1),
          _pod(SURGE_PCT, "n1", suffix="b", created=LATER)],
         duplicates=(), in_sync=True),
    case("surge-two-new-pods-is-a-duplicate", SURGE, [b.node("n1")],
         [_pod(SURGE, "n1", suffix="a"), _pod(SURGE, "n1", suffix="b", created=LATER)],
         duplicates=("n1",), in_sync=False),
    case("surge-two-old-pods-is-a-duplicate", SURGE, [b.node("n1")],
         [_pod(SURGE, "n1", suffix="a", hash=OLD, generation=1),
          _pod(SURGE, "n1", suffix="b", hash=OLD, generation=1, created=LATER)],
         duplicates=("n1",), in_sync=False),
    case("surge-old-new-and-another-old-is-a-duplicate", SURGE, [b.node("n1")],
         [_pod(SURGE, "n1", suffix="a", hash=OLD, generation=1), _pod(SURGE, "n1", suffix="b", created=LATER),
          _pod(SURGE, "n1", suffix="c", hash=OLD, generation=1, created=LATEST)],
         duplicates=("n1",), in_sync=False),
    case("second-pod-being-deleted-is-not-a-duplicate", DS, [b.node("n1")],
         [_pod(DS, "n1", suffix="a", hash=OLD, generation=1, deleting=True),
          _pod(DS, "n1", suffix="b", created=LATER)],
         duplicates=(), in_sync=True),
    case("surge-pair-plus-a-pod-being-deleted-is-not-a-duplicate", SURGE, [b.node("n1")],
         [_pod(SURGE, "n1", suffix="a", hash=OLD, generation=1),
          _pod(SURGE, "n1", suffix="b", hash=OLD, generation=1, created=LATER, deleting=True),
          _pod(SURGE, "n1", suffix="c", created=LATEST)],
         duplicates=()),

    # --- outdated / updatedNumberScheduled (docs/semantics.md §4.3, §4.4) ----------------------
    case("pod-on-current-revision-hash-is-updated", DS, [b.node("n1")],
         [_pod(DS, "n1", hash=NEW, generation=1)],
         current_hash=NEW, outdated=(), computed=_counts(1, 1, 0, 1, 1, 1)),
    case("pod-on-old-revision-hash-is-outdated", DS, [b.node("n1")],
         [_pod(DS, "n1", hash=OLD, generation=1)],
         current_hash=NEW, outdated=("n1",), computed=_counts(1, 1, 0, 1, 1, 0)),
    case("current-revision-is-highest-revision-not-last-listed", DS, [b.node("n1"), b.node("n2")],
         [_pod(DS, "n1", hash="aaa111", generation=1), _pod(DS, "n2", hash="zzz999", generation=1)],
         revisions=[b.revision(DS, "aaa111", 7), b.revision(DS, "zzz999", 3)],
         current_hash="aaa111", outdated=("n2",), computed=_counts(2, 2, 0, 2, 2, 1)),
    case("revision-of-another-daemonset-is-ignored", DS, [b.node("n1")],
         [_pod(DS, "n1", hash=NEW, generation=1)],
         revisions=_revs(DS) + [b.revision(OTHER, "fff000", 9)],
         current_hash=NEW, outdated=(), computed=_counts(1, 1, 0, 1, 1, 1)),
    case("adopted-pod-with-matching-template-generation-looks-updated", DS, [b.node("n1")],
         [_pod(DS, "n1", hash="foreign77", generation=2)],
         current_hash=NEW, outdated=(), computed=_counts(1, 1, 0, 1, 1, 1)),
    case("generation-label-without-ds-annotation-does-not-make-updated", NO_TGEN, [b.node("n1")],
         [_pod(NO_TGEN, "n1", hash=OLD, generation=2)],
         outdated=("n1",), computed=_counts(1, 1, 0, 1, 1, 0)),
    case("unparsable-template-generation-annotation-is-ignored", BAD_TGEN, [b.node("n1")],
         [_with(_pod(BAD_TGEN, "n1", hash=OLD), _set(("metadata", "labels", "pod-template-generation"), "two"))],
         outdated=("n1",), computed=_counts(1, 1, 0, 1, 1, 0)),
    case("no-revision-yet-template-generation-matches", DS, [b.node("n1")],
         [_pod(DS, "n1", hash=OLD, generation=2)], revisions=[],
         current_hash="", outdated=(), computed=_counts(1, 1, 0, 1, 1, 1)),
    case("no-revision-yet-template-generation-differs", DS, [b.node("n1")],
         [_pod(DS, "n1", hash=OLD, generation=1)], revisions=[],
         current_hash="", outdated=("n1",), computed=_counts(1, 1, 0, 1, 1, 0)),
    case("surge-node-judged-on-oldest-pod-which-is-old", SURGE, [b.node("n1")],
         [_pod(SURGE, "n1", suffix="b", created=LATER),
          _pod(SURGE, "n1", suffix="a", hash=OLD, generation=1)],
         duplicates=(), outdated=("n1",), computed=_counts(1, 1, 0, 1, 1, 0)),

    # --- the oldest pod decides (docs/semantics.md §3, podByCreationTimestampAndPhase) ---------
    case("oldest-pod-decides-readiness", DS, [b.node("n1")],
         [_pod(DS, "n1", suffix="b", created=LATER), _pod(DS, "n1", suffix="a", ready=False)],
         unready=("n1",), computed=_counts(1, 1, 0, 0, 0, 1)),
    case("scheduled-pod-sorts-before-older-unbound-pod", DS, [b.node("n1")],
         [_pod(DS, "n1", suffix="a", bound=False, phase="Pending", ready=False, hash=OLD, generation=1),
          _pod(DS, "n1", suffix="b", created=LATER)],
         unready=(), outdated=(), computed=_counts(1, 1, 0, 1, 1, 1)),
    case("same-creation-time-name-breaks-the-tie", DS, [b.node("n1")],
         [_pod(DS, "n1", suffix="b"), _pod(DS, "n1", suffix="a", ready=False, hash=OLD, generation=1)],
         unready=("n1",), outdated=("n1",), computed=_counts(1, 1, 0, 0, 0, 0)),

    # --- numberAvailable with minReadySeconds against `now` (docs/semantics.md §3, IsPodAvailable) ---
    case("ready-for-less-than-min-ready-seconds-is-not-available", MRS, [b.node("n1")],
         [_pod(MRS, "n1", ready_since="2026-11-01T11:59:30Z")],
         unready=(), computed=_counts(1, 1, 0, 1, 0, 1)),
    case("ready-for-more-than-min-ready-seconds-is-available", MRS, [b.node("n1")],
         [_pod(MRS, "n1", ready_since="2026-11-01T11:58:00Z")],
         computed=_counts(1, 1, 0, 1, 1, 1)),
    case("without-min-ready-seconds-ready-now-is-available", DS, [b.node("n1")],
         [_pod(DS, "n1", ready_since="2026-11-01T12:00:00Z")],
         computed=_counts(1, 1, 0, 1, 1, 1)),
    case("min-ready-seconds-mixed-nodes", MRS, [b.node("n1"), b.node("n2"), b.node("n3")],
         [_pod(MRS, "n1", ready_since="2026-11-01T11:00:00Z"),
          _pod(MRS, "n2", ready_since="2026-11-01T11:59:59Z"), _pod(MRS, "n3", ready=False)],
         unready=("n3",), computed=_counts(3, 3, 0, 2, 1, 3)),

    # --- status_stale (docs/semantics.md §3 storeDaemonSetStatus / observedGeneration) ---------
    case("reported-status-matches-computed", _ds(status={
            "observedGeneration": 2, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "numberMisscheduled": 0, "numberReady": 2, "numberAvailable": 2, "updatedNumberScheduled": 2}),
         [b.node("n1"), b.node("n2")], [_pod(DS, "n1"), _pod(DS, "n2")],
         computed=_counts(2, 2, 0, 2, 2, 2), status_stale=False),
    case("observed-generation-behind-is-stale", _ds(generation=3, status={
            "observedGeneration": 2, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "numberMisscheduled": 0, "numberReady": 2, "numberAvailable": 2, "updatedNumberScheduled": 2}),
         [b.node("n1"), b.node("n2")], [_pod(DS, "n1"), _pod(DS, "n2")],
         computed=_counts(2, 2, 0, 2, 2, 2), status_stale=True),
    case("reported-counter-differs-is-stale", _ds(status={
            "observedGeneration": 2, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "numberMisscheduled": 0, "numberReady": 1, "numberAvailable": 1, "updatedNumberScheduled": 2,
            "numberUnavailable": 1}),
         [b.node("n1"), b.node("n2")], [_pod(DS, "n1"), _pod(DS, "n2")],
         computed=_counts(2, 2, 0, 2, 2, 2), status_stale=True),
    case("omitted-omitempty-counter-means-zero-and-is-stale", _ds(status={
            "observedGeneration": 2, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "numberMisscheduled": 0, "numberReady": 2}),
         [b.node("n1"), b.node("n2")], [_pod(DS, "n1"), _pod(DS, "n2")],
         computed=_counts(2, 2, 0, 2, 2, 2), status_stale=True),
    case("misscheduled-count-not-yet-reported-is-stale", _ds(status={
            "observedGeneration": 2, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
            "numberMisscheduled": 0, "numberReady": 1, "numberAvailable": 1, "updatedNumberScheduled": 1}),
         [b.node("n1"), b.node("n2", taints=[b.taint("dedicated", "infra")])],
         [_pod(DS, "n1"), _pod(DS, "n2")],
         computed=_counts(1, 1, 1, 1, 1, 1), status_stale=True, in_sync=False),
]


@pytest.mark.parametrize("ds, nodes, pods, revisions, expect", CASES)
def test_diff(ds, nodes, pods, revisions, expect):
    cov = compare(ds, nodes, pods, revisions, NOW)
    got = {}
    for key in expect:
        value = getattr(cov, key)
        got[key] = dict(value) if key == "computed" else value
    assert got == expect


def test_orphan_is_adopted_so_its_node_is_covered():
    """docs/semantics.md §2.1/§5.1/§7.2: getDaemonPods runs ClaimPods, which adopts an orphan whose labels match the
    selector (DS not being deleted, pod not being deleted, same namespace) and returns it with the
    owned pods. nodeToDaemonPods therefore contains it: manage creates no second pod on that node
    and updateDaemonSetStatus counts it (the doc's checklist: "Plus orphans that match the
    selector and are not being deleted, which the controller will adopt")."""
    nodes = [b.node("n1"), b.node("n2")]
    pods = [_pod(DS, "n1"), _pod(DS, "n2", owned=False, suffix="stray")]
    cov = compare(DS, nodes, pods, _revs(DS), NOW)
    assert cov.orphans == ("agent-stray",)
    assert (cov.actual, cov.missing) == (("n1", "n2"), ())
    assert dict(cov.computed) == _counts(2, 2, 0, 2, 2, 2)


def test_now_is_used_for_availability_not_the_wall_clock():
    """IsPodAvailable compares against the `now` passed in: the same pod flips with `now`."""
    pods = [_pod(MRS, "n1", ready_since="2026-11-01T11:59:30Z")]
    early = compare(MRS, [b.node("n1")], pods, _revs(MRS), NOW)
    late = compare(MRS, [b.node("n1")], pods, _revs(MRS), datetime(2026, 11, 1, 12, 5, tzinfo=timezone.utc))
    assert (early.computed["numberAvailable"], late.computed["numberAvailable"]) == (0, 1)
