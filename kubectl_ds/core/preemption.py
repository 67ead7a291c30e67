"""Could the scheduler preempt pods to make room for a daemon pod Pending on its node, and which.

Mirrors the default scheduler's DefaultPreemption plugin (pkg/scheduler/framework/plugins/
defaultpreemption, with framework/preemption), for the one node a daemon pod is aimed at
(docs/semantics.md §6.4):

- a pod whose preemptionPolicy is Never preempts nothing;
- only pods with a strictly lower priority (spec.priority; none set counts as 0) can be victims;
- if the pod does not fit even with every one of them gone, preemption does not help on this node;
- otherwise the victims are put back one by one, the most important first (higher priority, then
  the one running longest), and each that still leaves room is spared: what is left is the
  smallest set of the least important pods the scheduler would evict.

PodDisruptionBudgets are not read: the scheduler spares first the pods whose budget would be
violated, but still evicts them when nothing else makes room, so they can change which pods of
equal importance go, not whether preemption helps. The fit is core/fit.py's (resources, host
ports), for the Kubernetes minor in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Optional, Sequence, Tuple

from kubectl_ds.core.fit import FitContext, host_port_conflicts, live_others, resource_shortfalls
from kubectl_ds.core.objects import deleting, get_in, name, namespace, parse_time
from kubectl_ds.core.results import Reason

NEVER, PREEMPT_LOWER = "Never", "PreemptLowerPriority"
SYSTEM_NODE_CRITICAL = ("system-node-critical", 2000001000)
# the scheduler filters that preemption can resolve, as fit.py reports them
RESOLVABLE = ("InsufficientResource", "HostPortConflict")


@dataclass(frozen=True)
class Victim:
    namespace: str
    name: str
    priority: int
    priority_class: str

    def to_dict(self) -> dict:
        return {"namespace": self.namespace, "name": self.name, "priority": self.priority,
                "priorityClassName": self.priority_class or None}

    def __str__(self) -> str:
        cls = f", class {self.priority_class}" if self.priority_class else ""
        return f"{self.namespace}/{self.name} (priority {self.priority}{cls})"


@dataclass(frozen=True)
class Outcome:
    """What the scheduler would do at one priority: preempt `victims`, or not, and why not."""

    possible: bool
    victims: Tuple[Victim, ...]
    why_not: str = ""      # when not possible
    code: str = ""         # PreemptionPolicyNever, NoLowerPriorityPods, NotEnoughEvenWithoutThem

    def to_dict(self) -> dict:
        return {"possible": self.possible, "victims": [v.to_dict() for v in self.victims],
                "reason": self.code or None, "message": self.why_not or None}


@dataclass(frozen=True)
class Preemption:
    priority: int
    priority_class: str            # "" without priorityClassName
    policy: str                    # PreemptLowerPriority or Never
    outcome: Outcome
    with_critical: Optional[Outcome]   # what system-node-critical would do, when it would change the answer
    advice: str
    in_progress: bool = False      # victims of an earlier preemption are terminating

    def to_dict(self) -> dict:
        return {"priority": self.priority, "priorityClassName": self.priority_class or None,
                "preemptionPolicy": self.policy, **self.outcome.to_dict(),
                "inProgress": self.in_progress,
                "withSystemNodeCritical": self.with_critical.to_dict() if self.with_critical else None,
                "advice": self.advice}

    def summary(self) -> str:
        """The priority and what the scheduler can do with it."""
        cls = f"class {self.priority_class}" if self.priority_class else "no priorityClassName"
        head = f"priority {self.priority} ({cls}"
        head += ", preemptionPolicy Never)" if self.policy == NEVER else ")"
        if self.outcome.possible:
            what = (f"the scheduler can preempt {_victims(self.outcome.victims)} to make room"
                    + (" (under way: they are terminating)" if self.in_progress else ""))
        else:
            what = f"the scheduler cannot preempt: {self.outcome.why_not}"
        return f"{head}: {what}"


def _victims(victims: Sequence[Victim]) -> str:
    return ", ".join(str(v) for v in victims)


def pod_priority(pod: Mapping) -> int:
    """corev1helpers.PodPriority: spec.priority, 0 when unset (admission fills it from the class)."""
    value = get_in(pod, "spec", "priority")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _start(pod: Mapping) -> Optional[datetime]:
    return parse_time(get_in(pod, "status", "startTime", default="") or "")


def _importance(pod: Mapping, now: datetime):
    """Sort key, most important first: higher priority, then started earlier (a pod not started
    yet counts as started now, as util.GetPodStartTime has it).
    """
    started = _start(pod) or now
    return (-pod_priority(pod), started.timestamp())


def _fits(pod: Mapping, node: Mapping, others: Sequence[Mapping], ctx: FitContext) -> bool:
    blocking = resource_shortfalls(pod, node, others, ctx) + host_port_conflicts(pod, others, ctx.rules)
    return not any(r.type in RESOLVABLE for r in blocking)


def _victim(p: Mapping) -> Victim:
    return Victim(namespace(p), name(p), pod_priority(p), get_in(p, "spec", "priorityClassName", default="") or "")


def select_victims(pod: Mapping, priority: int, node: Mapping, others: Sequence[Mapping], ctx: FitContext,
                   now: datetime) -> Outcome:
    """SelectVictimsOnNode for `pod` at `priority` (its own, or one it could be given)."""
    live = live_others(pod, others)
    lower = [p for p in live if pod_priority(p) < priority]
    if not lower:
        floor = min((pod_priority(p) for p in live), default=None)
        if floor is None:
            why = "the node has no other pod to preempt"
        else:
            why = (f"the {len(live)} pods on the node all have priority {priority} or higher "
                   f"(the lowest: {floor})" if len(live) > 1 else
                   f"the one pod on the node, {_victim(live[0])}, has priority {priority} or higher")
        return Outcome(False, (), why, "NoLowerPriorityPods")
    kept = [p for p in live if pod_priority(p) >= priority]
    if not _fits(pod, node, kept, ctx):
        return Outcome(False, (), f"even without the {len(lower)} lower-priority pod(s) on the node it would "
                       "not fit (the pods of equal or higher priority, or the node itself, leave too little)",
                       "NotEnoughEvenWithoutThem")
    victims = []
    for p in sorted(lower, key=lambda q: _importance(q, now)):
        if _fits(pod, node, kept + [p], ctx):
            kept.append(p)      # reprieved
        else:
            victims.append(p)
    victims.sort(key=lambda q: _importance(q, now))
    return Outcome(True, tuple(_victim(p) for p in victims))


def analyse(pod: Mapping, node: Mapping, others: Sequence[Mapping], ctx: FitContext, now: datetime) -> Preemption:
    """Preemption for an unbound daemon pod that the resource or host-port fit keeps off `node`;
    `others`: the pods bound to the node.
    """
    priority = pod_priority(pod)
    cls = get_in(pod, "spec", "priorityClassName", default="") or ""
    policy = get_in(pod, "spec", "preemptionPolicy", default="") or PREEMPT_LOWER
    if policy == NEVER:
        outcome = Outcome(False, (), "preemptionPolicy is Never" + (f" (from class {cls})" if cls else ""),
                          "PreemptionPolicyNever")
    else:
        outcome = select_victims(pod, priority, node, others, ctx, now)
    in_progress = outcome.possible and bool(get_in(pod, "status", "nominatedNodeName")) and any(
        deleting(p) for p in others if pod_priority(p) < priority)
    critical = None
    crit_value = SYSTEM_NODE_CRITICAL[1]
    if not outcome.possible and priority < crit_value:
        critical = select_victims(pod, crit_value, node, others, ctx, now)
    return Preemption(priority, cls, policy, outcome, critical, _advice(priority, cls, policy, outcome, critical),
                      in_progress)


def _advice(priority: int, cls: str, policy: str, outcome: Outcome, critical: Optional[Outcome]) -> str:
    crit_name, crit_value = SYSTEM_NODE_CRITICAL
    if outcome.possible:
        if cls:
            return ""
        return (f"daemon pods should still carry a priority class (such as {crit_name}) so that they "
                "are not preempted themselves")
    if critical is not None and critical.possible:
        how = f"priorityClassName: {crit_name} (priority {crit_value}, preemptionPolicy PreemptLowerPriority)"
        return (f"daemon pods should carry a priority class: with {how} the scheduler would preempt "
                f"{_victims(critical.victims)}")
    if outcome.code == "NotEnoughEvenWithoutThem" or (
            critical is not None and critical.code == "NotEnoughEvenWithoutThem"):
        return "no priority makes room on this node: lower the pod's requests or give the node more capacity"
    if policy == NEVER:
        return f"a priority class with preemptionPolicy PreemptLowerPriority (such as {crit_name}) would let it preempt"
    return "make room on the node (its pods have at least this priority), or lower the pod's requests"


def applies(problems: Sequence[Reason]) -> bool:
    """Whether a Pending pod's problems are ones preemption could resolve (it is short of
    resources or of a host port on its node), and nothing else keeps it off.
    """
    return any(p.type in RESOLVABLE for p in problems) and not any(
        p.type in ("NodeGone", "NodeDeclaredFeatures") for p in problems)

