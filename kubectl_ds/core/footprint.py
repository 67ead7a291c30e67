"""`footprint`: what DaemonSets cost, per pod and multiplied by the nodes they cover.

A DaemonSet's pod requests (the scheduler's view of the minor in force: fit.pod_requests, init
containers, sidecars, pod-level resources from 1.34, and the overhead of its RuntimeClass
included) times its desired nodes (eligibility.evaluate's shouldRun, the
controller's desiredNumberScheduled), against the cluster's allocatable; and per node, the sum
over the DaemonSets that should run there against the node's allocatable. Limits are summed the
same way (the kubelet's PodLimits); a pod with a container without a limit has no limit for
that resource (None), and totals count such DaemonSets apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core.eligibility import evaluate
from kubectl_ds.core.fit import FitContext, pod_requests, with_runtime_overhead
from kubectl_ds.core.objects import get_in, name, namespace
from kubectl_ds.core.quantity import parse_quantity
from kubectl_ds.core.versions import Rules

RESOURCES = ("cpu", "memory")
ZERO = Decimal(0)


@dataclass(frozen=True)
class DaemonSetFootprint:
    namespace: str
    name: str
    nodes: Tuple[str, ...]                           # the nodes it should run on now
    requests: Mapping[str, Decimal]                  # per pod
    limits: Mapping[str, Optional[Decimal]]          # per pod; None: a container has no limit
    total_requests: Mapping[str, Decimal]            # per pod x nodes
    total_limits: Mapping[str, Optional[Decimal]]
    share: Mapping[str, Optional[float]]             # total requests, % of the cluster's allocatable


@dataclass(frozen=True)
class Footprint:
    daemonsets: Tuple[DaemonSetFootprint, ...]
    pods: int                                        # daemon pods in total (sum of the nodes covered)
    requests: Mapping[str, Decimal]
    limits: Mapping[str, Decimal]                    # over the DaemonSets whose pods have a limit
    unbounded: Mapping[str, int]                     # DaemonSets whose pods have no limit, per resource
    allocatable: Mapping[str, Decimal]               # the cluster's: the sum over its nodes
    node_count: int
    share: Mapping[str, Optional[float]]
    notes: Tuple[str, ...] = ()                      # what was not evaluated (a RuntimeClass not read)


@dataclass(frozen=True)
class NodeFootprint:
    node: str
    daemonsets: Tuple[str, ...]                      # namespace/name of those that should run here
    requests: Mapping[str, Decimal]
    limits: Mapping[str, Decimal]
    unbounded: Mapping[str, int]
    allocatable: Mapping[str, Decimal]
    share: Mapping[str, Optional[float]]


@dataclass(frozen=True)
class NodeFootprints:
    nodes: Tuple[NodeFootprint, ...]
    notes: Tuple[str, ...] = ()


def pod_limits(pod: Mapping, rules: Rules) -> Dict[str, Optional[Decimal]]:
    """cpu/memory limits of a pod (resource helpers' PodLimits): the sum over app containers and
    sidecars, at least each init container's limit plus the sidecars started before it, plus the
    pod overhead; None for a resource some long-running container does not limit. From 1.34 a
    pod-level spec.resources limit is the pod's limit for that resource.
    """
    spec = pod.get("spec") or {}
    out: Dict[str, Optional[Decimal]] = {}
    level = spec.get("resources")
    level = level if isinstance(level, dict) else {}
    for r in RESOURCES:
        pod_level = _quantity((level.get("limits") or {}).get(r)) if rules.pod_level_resources else None
        if pod_level is not None:
            out[r] = pod_level + (_quantity((spec.get("overhead") or {}).get(r)) or ZERO)
            continue
        total, sidecars, peak, bounded = ZERO, ZERO, ZERO, True
        for c in spec.get("initContainers") or ():
            lim = _limit(c, r)
            if c.get("restartPolicy") == "Always":
                bounded = bounded and lim is not None
                sidecars += lim or ZERO
                total += lim or ZERO
            elif lim is not None:
                peak = max(peak, lim + sidecars)
        for c in spec.get("containers") or ():
            lim = _limit(c, r)
            bounded = bounded and lim is not None
            total += lim or ZERO
        overhead = _quantity((spec.get("overhead") or {}).get(r))
        out[r] = max(total, peak) + (overhead or ZERO) if bounded else None
    return out


def _limit(container: Mapping, resource: str) -> Optional[Decimal]:
    return _quantity(get_in(container, "resources", "limits", resource))


def _quantity(value) -> Optional[Decimal]:
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except ValueError:
        return None


def _template_pod(ds: Mapping, ctx: FitContext, notes: List[str]) -> dict:
    """The pod the DaemonSet would create, with its RuntimeClass's overhead (admission adds it)."""
    pod, note = with_runtime_overhead({"spec": get_in(ds, "spec", "template", "spec", default={})}, ctx)
    if note is not None:
        notes.append(f"{namespace(ds)}/{name(ds)}: {note.message}")
    return pod


def allocatable(node: Mapping) -> Dict[str, Decimal]:
    alloc = get_in(node, "status", "allocatable", default={})
    return {r: _quantity(alloc.get(r)) or ZERO for r in RESOURCES}


def _share(part: Decimal, whole: Decimal) -> Optional[float]:
    return round(float(part * 100 / whole), 2) if whole > 0 else None


def daemonset_footprint(ds: Mapping, nodes: Sequence[Mapping], cluster: Mapping[str, Decimal],
                        ctx: FitContext, notes: List[str]) -> DaemonSetFootprint:
    covered = tuple(sorted(name(n) for n in nodes if evaluate(n, ds).should_run))
    pod = _template_pod(ds, ctx, notes)
    req = pod_requests(pod, ctx.rules)
    requests = {r: req.get(r, ZERO) for r in RESOURCES}
    limits = pod_limits(pod, ctx.rules)
    count = len(covered)
    total_req = {r: requests[r] * count for r in RESOURCES}
    total_lim: Dict[str, Optional[Decimal]] = {}
    for r in RESOURCES:
        lim = limits[r]
        total_lim[r] = None if lim is None else lim * count
    return DaemonSetFootprint(namespace(ds), name(ds), covered, requests, limits, total_req, total_lim,
                              {r: _share(total_req[r], cluster[r]) for r in RESOURCES})


def footprint(daemonsets: Iterable[Mapping], nodes: Iterable[Mapping], ctx: FitContext) -> Footprint:
    """Per DaemonSet and in total: requests and limits x nodes covered, as a share of the cluster
    (`ctx`: the rules of the Kubernetes minor in force, the RuntimeClasses' overhead).
    """
    nodes = list(nodes)
    cluster = _sum(allocatable(n) for n in nodes)
    notes: List[str] = []
    items = sorted((daemonset_footprint(ds, nodes, cluster, ctx, notes) for ds in daemonsets),
                   key=lambda f: (f.namespace, f.name))
    requests = _sum(f.total_requests for f in items)
    limits = _sum({r: v or ZERO for r, v in f.total_limits.items()} for f in items)
    unbounded = {r: sum(1 for f in items if f.limits[r] is None and f.nodes) for r in RESOURCES}
    return Footprint(tuple(items), sum(len(f.nodes) for f in items), requests, limits, unbounded, cluster,
                     len(nodes), {r: _share(requests[r], cluster[r]) for r in RESOURCES}, tuple(notes))


def footprint_by_node(daemonsets: Iterable[Mapping], nodes: Iterable[Mapping], ctx: FitContext) -> NodeFootprints:
    """Per node: the requests and limits of the daemon pods that should run there."""
    daemonsets = list(daemonsets)
    notes: List[str] = []
    pods = [(ds, _template_pod(ds, ctx, notes)) for ds in daemonsets]
    per_pod = [(f"{namespace(ds)}/{name(ds)}", ds, pod_requests(pod, ctx.rules), pod_limits(pod, ctx.rules))
               for ds, pod in pods]
    out: List[NodeFootprint] = []
    for node in sorted(nodes, key=name):
        here = [(key, req, lim) for key, ds, req, lim in per_pod if evaluate(node, ds).should_run]
        requests = _sum({r: req.get(r, ZERO) for r in RESOURCES} for _, req, _ in here)
        limits = _sum({r: v or ZERO for r, v in lim.items()} for _, _, lim in here)
        alloc = allocatable(node)
        out.append(NodeFootprint(name(node), tuple(sorted(k for k, _, _ in here)), requests, limits,
                                 {r: sum(1 for _, _, lim in here if lim[r] is None) for r in RESOURCES}, alloc,
                                 {r: _share(requests[r], alloc[r]) for r in RESOURCES}))
    return NodeFootprints(tuple(out), tuple(notes))


def _sum(maps: Iterable[Mapping[str, Decimal]]) -> Dict[str, Decimal]:
    out = {r: ZERO for r in RESOURCES}
    for m in maps:
        for r in RESOURCES:
            out[r] += m.get(r) or ZERO
    return out
