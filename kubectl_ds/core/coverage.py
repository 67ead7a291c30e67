"""`diff`: the DaemonSet's desired node set against where its pods actually are.

The counters reproduce updateDaemonSetStatus (kubernetes v1.33 pkg/controller/daemon): over
existing nodes only, a node is desired when shouldRun holds, scheduled when it has at least
one daemon pod (Pending, terminating and Failed pods included), and ready / available /
updated are judged on the node's oldest pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core import taints as tt
from kubectl_ds.core.eligibility import daemon_pod_spec, evaluate
from kubectl_ds.core.objects import deleting, get_in, labels, name, namespace
from kubectl_ds.core.ownership import orphan_matcher, pods_by_node
from kubectl_ds.core.podstate import is_available, is_ready, not_ready_summary
from kubectl_ds.core.revisions import HASH_LABEL, current_hash, is_pod_updated, template_generation
from kubectl_ds.core.strategy import allows_surge


@dataclass(frozen=True)
class TransientNode:
    """A node whose missing or misscheduled pod a transient taint explains (taints.transient: the
    node is being removed, or has lost its kubelet): expected, so not drift.
    """

    node: str
    problem: str                 # Missing, Misscheduled or Evicting: what it would be otherwise
    taints: Tuple[str, ...]      # the transient taints, spelled key=value:Effect
    kinds: Tuple[str, ...]       # their kinds (taints.REMOVAL, LIFECYCLE...)
    meaning: str                 # what the first of them says about the node

    def to_dict(self) -> dict:
        return {"node": self.node, "problem": self.problem, "taints": list(self.taints),
                "kinds": list(self.kinds), "meaning": self.meaning}


STATUS_FIELDS = ("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
                 "numberReady", "numberAvailable", "updatedNumberScheduled", "numberUnavailable")


@dataclass(frozen=True)
class Coverage:
    namespace: str
    name: str
    desired: Tuple[str, ...]
    actual: Tuple[str, ...]
    missing: Tuple[str, ...]
    misscheduled: Tuple[str, ...]
    evicting: Tuple[str, ...]          # misscheduled nodes whose pod the controller deletes
    duplicates: Tuple[str, ...]
    outdated: Tuple[str, ...]
    unready: Tuple[str, ...]
    orphans: Tuple[str, ...]           # pods the DaemonSet would adopt (no controller, selector matches)
    unknown_nodes: Tuple[str, ...]     # daemon pods aimed at nodes that do not exist
    current_hash: str
    computed: Mapping[str, int] = field(default_factory=dict)
    reported: Mapping[str, Optional[int]] = field(default_factory=dict)
    generation_observed: bool = True
    unready_detail: Mapping[str, str] = field(default_factory=dict)   # node -> what its pod is really doing
    failed_create: Optional[str] = None   # why missing nodes have no pod (the controller's event), if known
    transient: Tuple[TransientNode, ...] = ()   # not in missing/misscheduled/evicting: expected, not drift

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.misscheduled or self.duplicates)

    @property
    def status_stale(self) -> bool:
        return not self.generation_observed or any(
            self.reported.get(k) is not None and self.reported.get(k) != v for k, v in self.computed.items())


def compare(ds: Mapping, nodes: Iterable[Mapping], pods: Iterable[Mapping], revisions: Iterable[Mapping],
            now: datetime, by_node: Optional[Mapping[str, List[Mapping]]] = None) -> Coverage:
    """Compare the nodes where `ds` should run with the nodes where its pods are.

    `by_node` is pods_by_node(ds, pods), for a caller that has it already.
    """
    nodes = list(nodes)
    pods = list(pods)
    node_names = {name(n) for n in nodes}
    if by_node is None:
        by_node = pods_by_node(ds, pods)
    orphan = orphan_matcher(ds)
    cur = current_hash(ds, revisions)
    tgen = template_generation(ds)
    mrs = int(get_in(ds, "spec", "minReadySeconds", default=0) or 0)
    surge = allows_surge(ds)
    desired: List[str] = []
    missing: List[str] = []
    mis: List[str] = []
    evicting, dups, outdated, unready = [], [], [], []
    unready_detail = {}
    transient: List[TransientNode] = []
    counts = dict.fromkeys(STATUS_FIELDS, 0)
    verdict_of = _placement(ds)
    tolerations = daemon_pod_spec(ds)["tolerations"]
    for node in nodes:
        n = name(node)
        verdict = verdict_of(node)
        on_node = by_node.get(n, [])
        if verdict.should_run:
            desired.append(n)
            counts["desiredNumberScheduled"] += 1
        if not on_node:
            if verdict.should_run:
                _file(_transient(node, "Missing", None), n, missing, transient)
            continue
        if _is_duplicate(on_node, cur, surge):
            dups.append(n)
        if not verdict.should_run:
            counts["numberMisscheduled"] += 1
            problem = "Misscheduled" if verdict.should_continue_running else "Evicting"
            if _file(_transient(node, problem, verdict_of, tolerations), n, mis, transient) \
                    and not verdict.should_continue_running:
                evicting.append(n)
            continue
        oldest = on_node[0]
        ready, available, updated = is_ready(oldest), is_available(oldest, mrs, now), is_pod_updated(oldest, cur, tgen)
        counts["currentNumberScheduled"] += 1
        counts["numberReady"] += ready   # a bool counts 0 or 1 (and the sum stays an int)
        counts["numberAvailable"] += available
        counts["updatedNumberScheduled"] += updated
        if not ready:
            unready.append(n)
            unready_detail[n] = not_ready_summary(oldest)
        if not updated and (cur or tgen is not None):
            outdated.append(n)
    counts["numberUnavailable"] = counts["desiredNumberScheduled"] - counts["numberAvailable"]
    status = ds.get("status") or {}
    observed = int(status.get("observedGeneration") or 0) >= int(get_in(ds, "metadata", "generation", default=0) or 0)
    return Coverage(
        namespace=namespace(ds), name=name(ds), desired=tuple(sorted(desired)),
        actual=tuple(sorted(n for n in by_node if n in node_names)), missing=tuple(sorted(missing)),
        misscheduled=tuple(sorted(mis)), evicting=tuple(sorted(evicting)), duplicates=tuple(sorted(dups)),
        outdated=tuple(sorted(outdated)), unready=tuple(sorted(unready)),
        orphans=tuple(sorted(name(p) for p in pods if orphan(p))),
        unknown_nodes=tuple(sorted(n for n in by_node if n not in node_names)),
        current_hash=cur, computed=counts,
        reported={k: status.get(k, 0 if k != "numberUnavailable" else None) for k in STATUS_FIELDS},
        generation_observed=observed, unready_detail=unready_detail,
        transient=tuple(sorted(transient, key=lambda t: t.node)))


def _file(gone: Optional[TransientNode], node: str, drift: List[str], transient: List[TransientNode]) -> bool:
    """Put the node among the transient ones when a transient taint explains it, else in `drift`
    (and say so: True).
    """
    if gone is not None:
        transient.append(gone)
        return False
    drift.append(node)
    return True


def _transient(node: Mapping, problem: str, verdict_of, tolerations: Sequence[Mapping] = ()) -> Optional[TransientNode]:
    """The node's transient taints when they explain `problem`, else None.

    Misscheduled / Evicting (`verdict_of` given): the pod would be placed without those taints
    (a not-ready node's NoSchedule taint, an autoscaler's scale-down taint), so once the node
    recovers or goes, so does the problem. Missing: only a node being removed (cluster-autoscaler
    and Karpenter evict daemon pods from a node they delete); a cordon or a not-ready node does not
    explain a missing pod (daemon pods tolerate both, and the controller creates the pod anyway).
    """
    found = tt.transient_taints(get_in(node, "spec", "taints", default=()))
    if not found:
        return None
    if verdict_of is None:
        found = [t for t in found if (tt.transient(t) or ("",))[0] == tt.REMOVAL]
        if not found:
            return None
    else:
        keep = [t for t in get_in(node, "spec", "taints", default=()) if tt.transient(t) is None]
        # the node without them: what placement reads (metadata, spec, status), not a copy of all
        stripped = {"metadata": node.get("metadata"), "spec": dict(node.get("spec") or {}, taints=keep),
                    "status": node.get("status")}
        if not verdict_of(stripped).should_run:
            return None
        found = tt.untolerated_taints(found, tolerations, (tt.NO_SCHEDULE, tt.NO_EXECUTE)) or found
    kinds = tuple(dict.fromkeys((tt.transient(t) or ("", ""))[0] for t in found))
    return TransientNode(name(node), problem, tuple(tt.format_taint(t) for t in found), kinds,
                         (tt.transient(found[0]) or ("", ""))[1])


class _Placement:
    __slots__ = ("should_run", "should_continue_running")

    def __init__(self, should_run: bool, should_continue_running: bool):
        self.should_run, self.should_continue_running = should_run, should_continue_running


def _placement(ds: Mapping):
    """Node -> evaluate(node, ds)'s two booleans, evaluated once per distinct node *shape*.

    evaluate reads only the node's name, labels and taints; this keys its answer on what the
    DaemonSet can actually see of them (the name only when the template pins nodeName or uses
    matchFields, the labels its nodeSelector and affinity expressions name, all taints), so 5,000
    nodes of a few shapes cost a few evaluations. Anything unhashable falls back to evaluate.
    """
    spec = daemon_pod_spec(ds)
    label_keys = set(spec.get("nodeSelector") or {})
    by_name = bool(spec.get("nodeName"))
    required = get_in(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    for term in (required or {}).get("nodeSelectorTerms") or ():
        label_keys.update(e.get("key", "") for e in term.get("matchExpressions") or ())
        by_name = by_name or bool(term.get("matchFields"))
    keys = sorted(label_keys)
    cache: Dict[tuple, _Placement] = {}

    def verdict_of(node: Mapping) -> _Placement:
        try:
            node_labels = labels(node)
            key = (name(node) if by_name else None, tuple(node_labels.get(k) for k in keys),
                   tuple(tuple(sorted(t.items())) for t in get_in(node, "spec", "taints", default=())))
            hit = cache.get(key)
        except (TypeError, AttributeError):
            key, hit = None, None
        if hit is None:
            v = evaluate(node, ds, spec)
            hit = _Placement(v.should_run, v.should_continue_running)
            if key is not None:
                cache[key] = hit
        return hit
    return verdict_of


def _is_duplicate(on_node: List[Mapping], cur: str, surge: bool) -> bool:
    """More than one live pod on the node, except surge's one-old-one-new pair."""
    live = [p for p in on_node if not deleting(p)]
    if len(live) <= 1:
        return False
    if surge and len(live) == 2 and cur:
        hashes = [labels(p).get(HASH_LABEL) == cur for p in live]
        return hashes.count(True) != 1
    return True
