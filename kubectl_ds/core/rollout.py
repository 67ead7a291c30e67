"""Rollout progress and stuck verdicts: a pure function of (DaemonSet, pods, nodes, revisions, events, now).

kubectl's own verdict is reproduced first (kubectl v0.33 polymorphichelpers
DaemonSetStatusViewer.Status, on the DaemonSet's status), then checked against the pods
themselves, node by node (the controller's rollingUpdate in pkg/controller/daemon/update.go
decides *how many* nodes move at a time, never which: its node choice walks a Go map). The
budgets are strategy.py's; `rollout history` is history.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core import coverage, podstate
from kubectl_ds.core.events import failed_create
from kubectl_ds.core.fit import FitContext
from kubectl_ds.core.objects import condition, deleting, get_in, labels, name, namespace
from kubectl_ds.core.ownership import pods_by_node
from kubectl_ds.core.podstate import is_available
from kubectl_ds.core.results import Reason
from kubectl_ds.core.revisions import GENERATION_LABEL, HASH_LABEL, current_hash, owned_revisions, template_generation
from kubectl_ds.core.strategy import allows_surge, budgets, strategy_type

UPDATED, UPDATING, OUTDATED, MISSING = "Updated", "Updating", "Outdated", "Missing"
DONE, PROGRESSING, STUCK, WAITING = "Done", "Progressing", "Stuck", "Waiting"
# problems of a new pod that hold a rollout back
_BLOCKING = ("CrashLoopBackOff", "ImagePull", "ContainerConfig", "FailedScheduling", "InsufficientResource",
             "HostPortConflict", "NodeDeclaredFeatures", "NotReady", "PodFailed", "Terminating")


@dataclass(frozen=True)
class NodeProgress:
    node: str
    state: str                 # Updated / Updating / Outdated / Missing
    available: bool
    pod: str                   # the pod that matters on this node (the new one while updating)
    problems: Tuple[Reason, ...] = ()
    old_pod: str = ""          # while updating: the old pod still there (what `available` may rest on)


@dataclass(frozen=True)
class RolloutStatus:
    namespace: str
    name: str
    strategy: str
    generation: int
    observed_generation: int
    current_hash: str
    current_revision: int
    desired: int
    updated: int
    available: int
    max_unavailable: int
    max_surge: int
    unavailable: int
    surging: int
    kubectl_message: str
    kubectl_done: bool
    nodes: Tuple[NodeProgress, ...]
    culprits: Tuple[Reason, ...] = ()
    warnings: Tuple[str, ...] = ()
    state: str = PROGRESSING
    since_progress: Optional[float] = None   # seconds without progress (filled by the follower)

    @property
    def done(self) -> bool:
        return self.state == DONE

    def key(self) -> tuple:
        """What changes when the rollout moves (used to print only on change)."""
        return (self.state, self.observed_generation, self.updated, self.available, self.unavailable,
                tuple((n.node, n.state, n.available, tuple(p.type for p in n.problems)) for n in self.nodes))


def kubectl_status(ds: Mapping) -> Tuple[str, bool]:
    """Kubectl rollout status's message and done flag, from the DaemonSet's status alone."""
    nm = name(ds)
    if strategy_type(ds) != "RollingUpdate":
        return "rollout status is only available for RollingUpdate strategy type", True
    st = ds.get("status") or {}
    if int(get_in(ds, "metadata", "generation", default=0) or 0) > int(st.get("observedGeneration") or 0):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(st.get("desiredNumberScheduled") or 0)
    if int(st.get("updatedNumberScheduled") or 0) < desired:
        return (f'Waiting for daemon set "{nm}" rollout to finish: {st.get("updatedNumberScheduled") or 0} '
                f"out of {desired} new pods have been updated..."), False
    if int(st.get("numberAvailable") or 0) < desired:
        return (f'Waiting for daemon set "{nm}" rollout to finish: {st.get("numberAvailable") or 0} '
                f"of {desired} updated pods are available..."), False
    return f'daemon set "{nm}" successfully rolled out', True


def progress(ds: Mapping, pods: Sequence[Mapping], nodes: Sequence[Mapping], revisions: Sequence[Mapping],
             events: Sequence[Mapping], now: datetime,
             node_pods: Optional[Mapping[str, Sequence[Mapping]]] = None, *, ctx: FitContext) -> RolloutStatus:
    """One look at a rollout: kubectl's verdict, and the pods' own account of it, node by node.

    `pods` are the DaemonSet's (its selector); `node_pods` maps a node to every pod bound to it (all
    namespaces), for the nodes of pending_targets(): a Pending pod's resources and host ports are
    judged against them. Without them a node is judged on the DaemonSet's own pods only.
    `events` are the namespace's Pod events and the DaemonSet's own (FailedCreate). `ctx`: the
    rules of the Kubernetes minor in force, for the scheduler's fit.
    """
    by_node = pods_by_node(ds, pods)
    cov = coverage.compare(ds, nodes, pods, revisions, now, by_node)
    cur = current_hash(ds, revisions)
    tgen = template_generation(ds)
    mrs = int(get_in(ds, "spec", "minReadySeconds", default=0) or 0)
    node_by_name = {name(n): n for n in nodes}
    desired = set(cov.desired)
    rows: List[NodeProgress] = []
    culprits: List[Reason] = []
    warnings: List[str] = []
    surge = allows_surge(ds)
    bound: Dict[str, List[Mapping]] = {}   # pods by spec.nodeName, once (not once per node)
    for p in pods:
        bound.setdefault(get_in(p, "spec", "nodeName", default=""), []).append(p)
    for node_name in sorted(desired):
        node = node_by_name[node_name]
        others = (node_pods or {}).get(node_name)
        row, problems = _node_progress(node, by_node.get(node_name, []),
                                       bound.get(node_name, []) if others is None else others, events, cur,
                                       tgen, mrs, now, ctx)
        rows.append(row)
        culprits += problems
    max_unavailable, max_surge = budgets(ds, len(desired))
    held = [] if surge or strategy_type(ds) != "RollingUpdate" else [
        h for h in (_held(n, by_node[n], mrs, now) for n in sorted(by_node) if n not in desired and n in node_by_name)
        if h is not None]
    unavailable = sum(1 for r in rows if not r.available) + len(held)
    surging = sum(1 for n in desired if len([p for p in by_node.get(n, []) if not deleting(p)]) > 1)
    culprits += _budget_culprits(rows + held, node_by_name, unavailable, max_unavailable, surge)
    culprits += _surge_deadlock(rows, surge)
    trap = [r.node for r in rows if any(p.type == "TemplateGenerationTrap" for p in r.problems)]
    if trap:
        warnings.append(f"{len(trap)} pod(s) carry the current pod-template-generation but an old revision: "
                        "the controller counts them as updated and will never replace them")
    culprits += _failed_create(ds, rows, events, now)
    stranded = [] if strategy_type(ds) != "RollingUpdate" or not cur else sorted(
        n for n in by_node if n not in desired and n in node_by_name
        and any(labels(p).get(HASH_LABEL) != cur for p in by_node[n] if not deleting(p)))
    if stranded:
        what = ("the rolling update cannot replace it there" if surge else
                "the rolling update deletes it and does not replace it, so these nodes lose the agent")
        warnings.append(f"{len(stranded)} node(s) still run an outdated pod although the DaemonSet no longer "
                        f"qualifies them (misscheduled, e.g. a NoSchedule taint added after placement): {what}: "
                        + ", ".join(stranded[:10]) + (" ..." if len(stranded) > 10 else ""))
    if cov.status_stale and cov.generation_observed:
        warnings.append("the DaemonSet's status disagrees with its pods (stale status)")
    message, kdone = kubectl_status(ds)
    strategy = strategy_type(ds)
    all_updated = all(r.state == UPDATED for r in rows)
    observed = cov.generation_observed
    if observed and all_updated and (kdone or strategy != "RollingUpdate"):
        state = DONE
    elif not observed:
        state = WAITING
    else:
        state = PROGRESSING
    rev = max((int(r.get("revision") or 0) for r in owned_revisions(ds, revisions)), default=0)
    return RolloutStatus(
        namespace=namespace(ds), name=name(ds), strategy=strategy,
        generation=int(get_in(ds, "metadata", "generation", default=0) or 0),
        observed_generation=int(get_in(ds, "status", "observedGeneration", default=0) or 0),
        current_hash=cur, current_revision=rev, desired=len(desired),
        updated=sum(1 for r in rows if r.state == UPDATED),
        available=sum(1 for r in rows if r.available), max_unavailable=max_unavailable, max_surge=max_surge,
        unavailable=unavailable, surging=surging, kubectl_message=message, kubectl_done=kdone,
        nodes=tuple(rows), culprits=tuple(_dedup(culprits)), warnings=tuple(warnings), state=state)


def _node_progress(node, on_node, all_pods, events, cur, tgen, mrs, now, ctx):
    live = [p for p in on_node if not deleting(p)]
    node_name = name(node)
    if not live:
        gone = on_node[0] if on_node else None
        problems = []
        if gone is not None:
            problems.append(Reason("Terminating", f"pod {name(gone)} is terminating; no replacement until it is gone",
                                   {"node": node_name, "pod": name(gone)}))
        return NodeProgress(node_name, MISSING, False, name(gone) if gone else "", tuple(problems)), problems
    new = [p for p in live if cur and labels(p).get(HASH_LABEL) == cur]
    old = [p for p in live if p not in new]
    others = [p for p in all_pods if get_in(p, "spec", "nodeName") == node_name]
    if new:
        pod = new[0]
        st = podstate.pod_state(pod, node, others, events, cur, True, mrs, now, ctx)
        avail = st.available
        problems = [_culprit(node_name, pod, r) for r in st.problems if r.type in _BLOCKING]
        state = UPDATED if avail and not old else UPDATING
        if old and avail:
            state = UPDATING  # surge: the old pod goes next
        return NodeProgress(node_name, state, avail or any(is_available(p, mrs, now) for p in old),
                            name(pod), tuple(problems), name(old[0]) if old else ""), problems
    pod = old[0]
    avail = is_available(pod, mrs, now)
    problems = []
    if tgen is not None and labels(pod).get(GENERATION_LABEL) == str(tgen) and cur:
        problems.append(Reason("TemplateGenerationTrap",
                               f"pod {name(pod)} on {node_name} runs revision {labels(pod).get(HASH_LABEL) or '<none>'}"
                               f" but carries pod-template-generation={tgen}, so the controller counts it as "
                               "updated and never replaces it; delete it or run `kubectl rollout restart`",
                               {"node": node_name, "pod": name(pod)}))
    if not cur:
        return NodeProgress(node_name, UPDATED if avail else UPDATING, avail, name(pod), ()), []
    return NodeProgress(node_name, OUTDATED, avail, name(pod), tuple(problems)), problems


def pending_targets(ds: Mapping, pods: Sequence[Mapping]) -> List[str]:
    """Nodes a daemon pod could not be scheduled on (PodScheduled=False: the scheduler tried and
    failed; a pod it has not looked at yet is left alone): what progress() needs node_pods for.
    """
    def unschedulable(p):
        cond = condition(p, "PodScheduled")
        return not get_in(p, "spec", "nodeName") and not deleting(p) and bool(cond) and cond.get("status") == "False"
    return sorted({n for n, lst in pods_by_node(ds, pods).items() if any(unschedulable(p) for p in lst)})


def _failed_create(ds: Mapping, rows: Sequence[NodeProgress], events: Sequence[Mapping],
                   now: datetime) -> List[Reason]:
    """Nodes without a pod while the controller reports FailedCreate (a quota, an admission webhook,
    a PodSecurity rejection): the pod was never created, so no pod event can say why.
    """
    missing = [r.node for r in rows if r.state == MISSING and not r.pod]
    message = failed_create(ds, events, now) if missing else None
    if message is None:
        return []
    return [Reason("FailedCreate", f"{len(missing)} node(s) have no pod ({', '.join(missing[:5])}"
                   f"{' ...' if len(missing) > 5 else ''}): the controller cannot create it: {message}",
                   {"nodes": missing, "message": message})]


def _held(node_name: str, on_node: List[Mapping], mrs: int, now: datetime) -> Optional[NodeProgress]:
    """A node no longer desired (e.g. tainted NotReady) whose daemon pods still use maxUnavailable.

    The controller's rollingUpdate walks every node with daemon pods, not only desired ones
    (update.go, docs/semantics.md §4.5): no live pod (stuck terminating), more than one, or one not available
    counts as unavailable. None when the node's one pod is available.
    """
    live = [p for p in on_node if not deleting(p)]
    if len(live) == 1 and is_available(live[0], mrs, now):
        return None
    return NodeProgress(node_name, OUTDATED if live else MISSING, False, name((live or on_node)[0]))


def _culprit(node_name: str, pod: Mapping, reason: Reason) -> Reason:
    return Reason(reason.type, f"{node_name}: new pod {name(pod)}: {reason.message}",
                  {"node": node_name, "pod": name(pod), **dict(reason.detail)})


def _budget_culprits(rows, node_by_name, unavailable, max_unavailable, surge) -> List[Reason]:
    """MaxUnavailable spent on nodes that are down: the rollout cannot move until they recover."""
    if surge or unavailable < max_unavailable or max_unavailable == 0:
        return []
    out = []
    for r in rows:
        node = node_by_name.get(r.node) or {}
        ready = condition(node, "Ready")
        if not r.available and (ready is None or ready.get("status") != "True"):
            out.append(Reason("NodeNotReady", f"{r.node}: node is NotReady and its unavailable daemon pod uses "
                              f"the maxUnavailable={max_unavailable} budget; the controller replaces no more pods "
                              "until it recovers or is removed", {"node": r.node}))
    return out


def _surge_deadlock(rows, surge) -> List[Reason]:
    """MaxSurge with a hostPort: the new pod cannot bind the port the old one holds (kubernetes#106417)."""
    if not surge:
        return []
    out = []
    for r in rows:
        if r.state == UPDATING and any(p.type == "HostPortConflict" for p in r.problems):
            out.append(Reason("SurgeHostPortDeadlock", f"{r.node}: the surge pod needs a host port the old pod "
                              "holds, and the old pod is kept until the new one is available: a deadlock "
                              "(kubernetes#106417). Use maxUnavailable instead of maxSurge.", {"node": r.node}))
    return out


def _dedup(reasons: List[Reason]) -> List[Reason]:
    seen, out = set(), []
    for r in reasons:
        if (r.type, r.message) not in seen:
            seen.add((r.type, r.message))
            out.append(r)
    return out


def judge(status: RolloutStatus, since_progress: float, deadline: float) -> RolloutStatus:
    """Stuck when nothing moved for `deadline` seconds (the follower measures `since_progress`)."""
    from dataclasses import replace
    state = status.state
    if state != DONE and deadline and since_progress >= deadline:
        state = STUCK
    return replace(status, state=state, since_progress=since_progress)


def node_counts(rows: Sequence[NodeProgress]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for r in rows:
        out[r.state] = out.get(r.state, 0) + 1
    return out
