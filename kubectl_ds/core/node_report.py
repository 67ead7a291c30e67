"""`why NODE`: every DaemonSet's verdict for one node, and the state of its pod there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core import podstate, preemption
from kubectl_ds.core import taints as tt
from kubectl_ds.core.eligibility import evaluate
from kubectl_ds.core.events import event_time, is_recent, of_daemonset
from kubectl_ds.core.fit import FitContext
from kubectl_ds.core.objects import deleting, get_in, name, namespace
from kubectl_ds.core.ownership import is_daemon_pod, is_orphan_candidate, pod_order, target_node
from kubectl_ds.core.preemption import Preemption
from kubectl_ds.core.results import PodState, Reason, Verdict
from kubectl_ds.core.revisions import current_hash, is_pod_updated, template_generation

# what the DaemonSet's pod on this node amounts to, one word each
RUNNING, UNHEALTHY, PENDING, OUTDATED = "Running", "Unhealthy", "Pending", "Outdated"
MISSING, NOT_ELIGIBLE, MISSCHEDULED, EVICTING = "Missing", "NotEligible", "Misscheduled", "Evicting"


@dataclass(frozen=True)
class Entry:
    namespace: str
    name: str
    verdict: Verdict
    state: str
    pod: Optional[PodState]
    extra_pods: Tuple[str, ...]
    orphan: Optional[str]
    hints: Tuple[Reason, ...]
    preemption: Optional[Preemption] = None    # a Pending pod short of resources or a host port


@dataclass(frozen=True)
class NodeReport:
    node: str
    node_notes: Tuple[Reason, ...]
    entries: Tuple[Entry, ...]


def explain_node(node: Mapping, daemonsets: Iterable[Mapping], node_pods: Sequence[Mapping],
                 events: Sequence[Mapping], revisions: Sequence[Mapping], now: datetime,
                 ctx: FitContext) -> NodeReport:
    """`node_pods`: every pod bound to the node, plus unbound pods aimed at it; `ctx`: the rules
    of the Kubernetes minor in force (and what the fit needs besides the pods).
    """
    here = [p for p in node_pods if target_node(p) == name(node)]
    entries = [_entry(node, ds, here, events, revisions, now, ctx)
               for ds in sorted(daemonsets, key=lambda d: (namespace(d), name(d)))]
    return NodeReport(name(node), tuple(podstate.node_state(node)) + tuple(_removal_notes(node)), tuple(entries))


def _removal_notes(node: Mapping) -> List[Reason]:
    """The taints of a node being removed (cluster-autoscaler, Karpenter), named with what they do
    to daemon pods. Cordon and not-ready are podstate.node_state's already.
    """
    out = []
    for taint in get_in(node, "spec", "taints", default=()):
        found = tt.transient(taint)
        if found is None or found[0] not in (tt.REMOVAL, tt.REMOVAL_CANDIDATE):
            continue
        kind, meaning = found
        effect = taint.get("effect")
        if effect == tt.PREFER_NO_SCHEDULE:
            does = "a PreferNoSchedule taint: the DaemonSet controller ignores it, daemon pods are unaffected"
        elif effect == tt.NO_EXECUTE:
            does = ("daemon pods that do not tolerate it are evicted and not recreated: expected; "
                    "do not tolerate it")
        else:
            does = ("daemon pods that do not tolerate it are no longer placed here, and those running stay "
                    "(misscheduled) until the node goes: expected; do not tolerate it")
        out.append(Reason("NodeRemoval" if kind == tt.REMOVAL else "NodeRemovalCandidate",
                          f"node has taint {tt.format_taint(taint)}: {meaning}; {does}",
                          {"taint": dict(taint), "transient": kind}))
    return out


def _entry(node, ds, here, events, revisions, now, ctx) -> Entry:
    verdict = evaluate(node, ds, rules=ctx.rules)
    mine = sorted((p for p in here if is_daemon_pod(ds, p)), key=pod_order)
    orphan = next((name(p) for p in here if is_orphan_candidate(ds, p)), None)
    hints: List[Reason] = []
    pstate = None
    if mine:
        cur = current_hash(ds, revisions)
        tgen = template_generation(ds)
        updated = is_pod_updated(mine[0], cur, tgen) if (cur or tgen is not None) else None
        mrs = int(get_in(ds, "spec", "minReadySeconds", default=0) or 0)
        others = [p for p in here if get_in(p, "spec", "nodeName")]
        pstate = podstate.pod_state(mine[0], node, others, events, cur, updated, mrs, now, ctx)
    state = _state(verdict, pstate)
    if state == MISSING:
        hints += _missing_hints(ds, events, now)
    pre = None
    if state == PENDING and pstate is not None and preemption.applies(pstate.problems):
        pre = preemption.analyse(mine[0], node, [p for p in here if get_in(p, "spec", "nodeName")], ctx, now)
    return Entry(namespace(ds), name(ds), verdict, state, pstate,
                 tuple(name(p) for p in mine[1:]), orphan, tuple(hints), pre)


def _state(verdict: Verdict, pod: Optional[PodState]) -> str:
    if pod is None:
        return MISSING if verdict.should_run else NOT_ELIGIBLE
    if not verdict.should_continue_running:
        return EVICTING
    if not verdict.should_run:
        return MISSCHEDULED
    if not pod.scheduled:
        return PENDING
    blocking = [p for p in pod.problems if p.type != "Outdated"]
    if blocking or not pod.ready:
        return UNHEALTHY
    if pod.updated is False:
        return OUTDATED
    return RUNNING


def _missing_hints(ds: Mapping, events: Sequence[Mapping], now: datetime) -> List[Reason]:
    """The DaemonSet's Warning events of the last hour (FailedCreate, FailedDaemonPod…), newest
    last, each reason and message once: an older one no longer explains the missing pod.
    """
    if deleting(ds):
        return [Reason("DaemonSetDeleting", "the DaemonSet is being deleted: its controller creates no pods")]
    seen: Dict[Tuple[str, str], float] = {}
    for ev in events:
        if ev.get("type") != "Warning" or not of_daemonset(ev, ds):
            continue
        at = event_time(ev)
        if at is not None and not is_recent(at, now):
            continue
        key = (ev.get("reason") or "Warning", ev.get("message") or ev.get("note") or "")
        stamp = at.timestamp() if at is not None else float("-inf")   # undated: oldest
        if key not in seen or stamp > seen[key]:
            seen[key] = stamp
    out = [Reason(*key) for key in sorted(seen, key=lambda k: seen[k])]
    if not out:
        out.append(Reason("NotCreatedYet", "the controller should create a pod here; if none appears, "
                          "look at the DaemonSet's events and kube-controller-manager's log"))
    return out[-3:]


# how `why` groups the DaemonSets of a node when it says less (render/why.py): those that need
# attention are detailed, the others are summed up one line per group
ATTENTION, UNSELECTED, EXPECTED, FINE = "Attention", "Unselected", "Expected", "Fine"
_PLACEMENT = ("NodeName", "NodeSelector", "NodeAffinity")


def group(e: Entry) -> str:
    """ATTENTION: a pod Pending, Missing, Evicting, Misscheduled, Unhealthy or Outdated, a node
    skipped because of a taint the DaemonSet could tolerate, extra pods, an orphan, a note.
    UNSELECTED: not for this node by the DaemonSet's own nodeName / nodeSelector / node affinity.
    EXPECTED: skipped or kept only because of a transient taint (the node is going away or not
    ready). FINE: running, current and Ready, nothing to note.
    """
    if e.extra_pods or e.orphan:
        return ATTENTION
    types = {r.type for r in e.verdict.reasons}
    if e.state == NOT_ELIGIBLE and types & set(_PLACEMENT):
        return UNSELECTED
    if e.state in (NOT_ELIGIBLE, MISSCHEDULED) and e.verdict.reasons and all(
            r.type == "Taint" and r.detail.get("transient") for r in e.verdict.reasons):
        return EXPECTED
    if e.state == RUNNING and not any(n.type != "Cordoned" for n in e.verdict.notes):
        return FINE
    return ATTENTION
