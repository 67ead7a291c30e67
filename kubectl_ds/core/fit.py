"""The default scheduler's fit for a daemon pod on its node, as of a given Kubernetes minor.

What the scheduler counts (docs/semantics.md "The scheduler's fit" and "Kubernetes versions"):

- a pod's request (component-helpers resource.PodRequests): its app containers and restartable
  init (sidecar) containers summed, max'ed with each regular init container's request plus the
  sidecars started before it; from 1.34 the pod-level `spec.resources.requests` (cpu, memory,
  hugepages-*) replace that aggregate for the resources they name; then `spec.overhead` is added.
- a pod already on the node (the scheduler's NodeInfo) may have been resized in place: its
  containers count at the larger of spec, `status.containerStatuses[].resources.requests` and
  `allocatedResources` (an Infeasible resize: the status only). 1.36 does the same at pod level
  (`status.resources`, `status.allocatedResources`); 1.37 takes the larger of three whole-pod
  sums (spec, allocated, actuated) instead of a per-container maximum.
- NodeResourcesFit: `pods + 1 > allocatable pods`, and each requested resource against allocatable
  minus what the node's pods request (cpu in whole millicores, the rest in whole units, rounded
  up); from 1.36 an extended resource the node does not advertise but a DeviceClass maps is left
  to dynamic resource allocation.
- NodePorts: host ports of app containers and, from 1.33.6, of sidecars.
- NodeDeclaredFeatures (1.36+): a pod that needs a node feature fits only a node declaring it.

Each function takes the `Rules` of the minor in force (core/versions.py); nothing here reads a
global or the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core.objects import TERMINAL, get_in, name, namespace, uid
from kubectl_ds.core.quantity import format_resource, parse_quantity
from kubectl_ds.core.results import Reason
from kubectl_ds.core.versions import Rules

Resources = Dict[str, Decimal]

# resources the pod-level spec.resources may set (IsSupportedPodLevelResource)
_STANDARD = ("cpu", "memory", "ephemeral-storage")


def _pod_level_supported(resource: str) -> bool:
    return resource in ("cpu", "memory") or resource.startswith("hugepages-")


def _dicts(value) -> List[Mapping]:
    """The dicts of a list field (containers, ports, conditions...); anything else: none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _map(value) -> Mapping:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class FitContext:
    """What a fit judgement needs besides the pod and the node: the rules of the minor in force,
    the extended resources that DeviceClasses map (1.36+), and what could not be read.
    """

    rules: Rules
    dra_extended: Tuple[Tuple[str, str], ...] = ()      # (extended resource name, DeviceClass)
    runtime_overhead: Tuple[Tuple[str, Tuple[Tuple[str, str], ...]], ...] = ()  # (class, podFixed)
    not_evaluated: Tuple[str, ...] = ()                 # "cannot list deviceclasses: forbidden"
    device_classes_read: bool = True     # False: DeviceClasses could not be read (forbidden...)
    device_caveat: str = ""              # read, but maybe not all ("the dump has no deviceclasses")

    def device_class_for(self, resource: str) -> Optional[str]:
        return next((cls for res, cls in self.dra_extended if res == resource), None)

    def overhead_of(self, runtime_class: str) -> Optional[Dict[str, str]]:
        for cls, fixed in self.runtime_overhead:
            if cls == runtime_class:
                return dict(fixed)
        return None


def context(rules: Rules, device_classes: Optional[Sequence[Mapping]] = None, device_note: str = "",
            runtime_classes: Optional[Sequence[Mapping]] = None, runtime_note: str = "") -> FitContext:
    """A FitContext from the lists a source read (None: could not be read, and `*_note` says why)."""
    mapped: List[Tuple[str, str]] = []
    for dc in device_classes or ():
        cls = name(dc)
        if not isinstance(cls, str) or not cls:
            continue
        # every DeviceClass maps its implicit name; spec.extendedResourceName maps one more
        mapped.append((f"deviceclass.resource.kubernetes.io/{cls}", cls))
        explicit = get_in(dc, "spec", "extendedResourceName")
        if isinstance(explicit, str) and explicit:
            mapped.append((explicit, cls))
    overhead: List[Tuple[str, Tuple[Tuple[str, str], ...]]] = []
    for rc in runtime_classes or ():
        fixed = _map(_map(rc.get("overhead")).get("podFixed"))
        if isinstance(name(rc), str) and name(rc):   # a class without overhead adds nothing
            overhead.append((name(rc), tuple(sorted((str(k), str(v)) for k, v in fixed.items()))))
    # None with a note: could not be read; None without one: not asked for (none known)
    unreadable = device_classes is None and bool(device_note)
    notes = tuple(n for n in (device_note if unreadable else "", runtime_note) if n)
    return FitContext(rules, tuple(mapped), tuple(overhead), notes, not unreadable,
                      "" if unreadable else device_note)


# --- a pod's request ------------------------------------------------------------------------

def pod_requests(pod: Mapping, rules: Rules, on_node: bool = False) -> Resources:
    """The pod's effective request as the scheduler of `rules.minor` counts it.

    on_node: the pod is already on the node (the scheduler's NodeInfo), so an in-place resize in
    its status counts; a pod being placed is judged by its spec alone.
    """
    spec = _map(pod.get("spec"))
    if on_node and rules.max_of_sums:
        total = _max_of_sums(pod, spec, rules)
    else:
        status_of = _status_requests(pod) if on_node else None
        total = _aggregate(spec, lambda c, restartable: _container_effective(pod, c, restartable, status_of))
        if rules.pod_level_resources:
            _apply_pod_level(total, _pod_level_effective(pod, spec, rules, on_node))
    _add(total, _quantities(spec.get("overhead")))
    return total


def _aggregate(spec: Mapping, request_of) -> Resources:
    """AggregateContainerRequests: sum of app containers and sidecars, max'ed with each regular
    init container's request plus the sidecars started before it.
    """
    total: Resources = {}
    sidecars: Resources = {}
    init_peak: Resources = {}
    for c in _dicts(spec.get("initContainers")):
        req = request_of(c, c.get("restartPolicy") == "Always")
        if c.get("restartPolicy") == "Always":
            _add(sidecars, req)
            _add(total, req)
        else:
            for r, v in req.items():
                init_peak[r] = max(init_peak.get(r, Decimal(0)), v + sidecars.get(r, Decimal(0)))
    for c in _dicts(spec.get("containers")):
        _add(total, request_of(c, True))
    for r, v in init_peak.items():
        total[r] = max(total.get(r, Decimal(0)), v)
    return total


def container_requests(c: Mapping) -> Resources:
    """A container's spec requests; a limit without a request defaults it (API defaulting)."""
    res = _map(c.get("resources"))
    merged = dict(_quantities(res.get("limits")))
    merged.update(_quantities(res.get("requests")))
    return merged


def _quantities(values) -> Resources:
    out: Resources = {}
    for r, v in (values or {}).items() if isinstance(values, dict) else ():
        try:
            out[r] = parse_quantity(v)
        except ValueError:
            continue
    return out


def resize_infeasible(pod: Mapping) -> bool:
    """IsPodResizeInfeasible: the PodResizePending condition's reason is Infeasible."""
    conditions = _dicts(_map(pod.get("status")).get("conditions"))
    return any(c.get("type") == "PodResizePending" and c.get("reason") == "Infeasible" for c in conditions)


def _status_requests(pod: Mapping) -> Dict[str, Mapping]:
    """Container statuses by name (app and init), for a resized pod's accounting."""
    out: Dict[str, Mapping] = {}
    status = _map(pod.get("status"))
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in _dicts(status.get(key)):
            if isinstance(cs.get("name"), str):
                out[cs["name"]] = cs
    return out


def _container_effective(pod: Mapping, c: Mapping, restartable: bool,
                         status_of: Optional[Dict[str, Mapping]]) -> Resources:
    """1.33-1.36 (determineContainerReqs): an app container or a sidecar whose status reports
    `resources` counts at max(spec, status requests, allocatedResources); an Infeasible resize
    drops the spec. Regular init containers, and containers without that status: the spec.
    """
    spec_req = container_requests(c)
    if status_of is None or not restartable:
        return spec_req
    cs = status_of.get(c.get("name", ""))
    if not cs or not isinstance(cs.get("resources"), dict):
        return spec_req
    actual = _quantities(cs["resources"].get("requests"))
    allocated = _quantities(cs.get("allocatedResources"))
    return _max_of(actual, allocated) if resize_infeasible(pod) else _max_of(spec_req, actual, allocated)


def _max_of_sums(pod: Mapping, spec: Mapping, rules: Rules) -> Resources:
    """1.37: the larger of three whole-pod aggregates, spec, allocated (each container's
    allocatedResources, else its spec) and actuated (its status requests, else allocated, else
    spec); an Infeasible resize: the larger of actuated and allocated, without the spec fallback.
    With pod-level resources, a pod-level status (both maps) stands for the last two.
    """
    status_of = _status_requests(pod)
    infeasible = resize_infeasible(pod)

    def allocated(c: Mapping, _restartable: bool) -> Resources:
        cs = status_of.get(c.get("name", "")) or {}
        if isinstance(cs.get("allocatedResources"), dict):
            return _quantities(cs["allocatedResources"])
        return {} if infeasible else container_requests(c)

    def actuated(c: Mapping, restartable: bool) -> Resources:
        cs = status_of.get(c.get("name", "")) or {}
        if isinstance(cs.get("resources"), dict) and isinstance(cs["resources"].get("requests"), dict):
            return _quantities(cs["resources"]["requests"])
        return allocated(c, restartable)

    status = _map(pod.get("status"))
    pod_alloc = status.get("allocatedResources")
    pod_actual = _map(status.get("resources")).get("requests")
    pod_level_status = isinstance(pod_alloc, dict) and isinstance(pod_actual, dict)
    if rules.pod_level_status_resources and pod_level_status:
        alloc_sum, actual_sum = _quantities(pod_alloc), _quantities(pod_actual)
    else:
        alloc_sum, actual_sum = _aggregate(spec, allocated), _aggregate(spec, actuated)
    if infeasible:
        total = _max_of(actual_sum, alloc_sum)
    else:
        total = _max_of(_aggregate(spec, lambda c, _r: container_requests(c)), alloc_sum, actual_sum)
    if rules.pod_level_resources and _pod_level_spec(spec):   # IsPodLevelRequestsSet
        _apply_pod_level(total, _pod_level_effective(pod, spec, rules, True))
    return total


def _pod_level_effective(pod: Mapping, spec: Mapping, rules: Rules, on_node: bool) -> Resources:
    """The pod-level requests in force: spec.resources.requests (a limit defaults a missing
    request); on a node from 1.36, max'ed with the pod's status.resources / allocatedResources
    (an Infeasible resize: those only).
    """
    spec_level = _pod_level_spec(spec)
    if not on_node or not rules.pod_level_status_resources or not spec_level:
        return spec_level
    status = _map(pod.get("status"))
    status_res = status.get("resources")
    if not isinstance(status_res, dict):
        return spec_level
    actual = _quantities(status_res.get("requests"))
    allocated = _quantities(status.get("allocatedResources"))
    merged = _max_of(actual, allocated) if resize_infeasible(pod) else _max_of(spec_level, actual, allocated)
    if rules.max_of_sums:
        return {r: v for r, v in merged.items() if _pod_level_supported(r)}
    # 1.36: only for the resources the spec's pod-level block names
    return {r: merged.get(r, Decimal(0)) for r in spec_level}


def _pod_level_spec(spec: Mapping) -> Resources:
    """spec.resources.requests of the supported resources, as API defaulting leaves them: with
    pod-level limits, a missing cpu or memory request defaults to the containers' aggregate
    request when they request it, and any supported resource still missing to its limit
    (defaultPodRequests: a pod is defaulted at creation, a DaemonSet's template is not).
    """
    level = _map(spec.get("resources"))
    requests = {r: v for r, v in _quantities(level.get("requests")).items() if _pod_level_supported(r)}
    limits = {r: v for r, v in _quantities(level.get("limits")).items() if _pod_level_supported(r)}
    if limits:
        for r, v in _aggregate(spec, lambda c, _r: container_requests(c)).items():
            if r in ("cpu", "memory"):
                requests.setdefault(r, v)
        for r, v in limits.items():
            requests.setdefault(r, v)
    return requests


def _apply_pod_level(total: Resources, level: Resources) -> None:
    for r, v in level.items():
        total[r] = v


def _max_of(*maps: Mapping[str, Decimal]) -> Resources:
    out: Resources = {}
    for m in maps:
        for r, v in m.items():
            out[r] = max(out.get(r, v), v)
    return out


def _add(into: Resources, more: Mapping[str, Decimal]) -> None:
    for r, v in more.items():
        into[r] = into.get(r, Decimal(0)) + v


def _whole(resource: str, value: Decimal) -> Decimal:
    """The scheduler's integer accounting: cpu in millicores, the rest in units, rounded up."""
    if resource == "cpu":
        return Decimal(math.ceil(value * 1000)) / 1000
    return Decimal(math.ceil(value))


def with_runtime_overhead(pod: Mapping, ctx: FitContext) -> Tuple[dict, Optional[Reason]]:
    """A pod not created yet (a template): RuntimeClass admission would set spec.overhead from
    its RuntimeClass's overhead.podFixed. The pod with that overhead, and a note when the class
    could not be read.
    """
    spec = _map(pod.get("spec"))
    cls = spec.get("runtimeClassName")
    if not isinstance(cls, str) or not cls or spec.get("overhead"):
        return dict(pod), None
    fixed = ctx.overhead_of(cls)
    if fixed == {}:
        return dict(pod), None
    if fixed is None:
        why = next((n for n in ctx.not_evaluated if "runtimeclasses" in n), f"RuntimeClass {cls} not found")
        return dict(pod), Reason("NotEvaluated", f"pod overhead of RuntimeClass {cls} not counted ({why})",
                                 {"runtimeClassName": cls})
    return dict(pod, spec=dict(spec, overhead=fixed)), None


# --- NodeResourcesFit -----------------------------------------------------------------------

def live_others(pod: Mapping, others: Sequence[Mapping]) -> List[Mapping]:
    """The node's pods the scheduler counts: not this one, not Succeeded or Failed."""
    return [p for p in others if uid(p) != uid(pod) and get_in(p, "status", "phase") not in TERMINAL]


def resource_shortfalls(pod: Mapping, node: Mapping, others: Sequence[Mapping], ctx: FitContext) -> List[Reason]:
    """Requests that do not fit in allocatable minus the requests of the node's other pods."""
    rules = ctx.rules
    alloc = _map(node.get("status")).get("allocatable", {})
    if not isinstance(alloc, dict):   # a malformed node: nothing to judge against
        return []
    live = live_others(pod, others)
    used: Resources = {}
    for p in live:
        _add(used, {r: _whole(r, v) for r, v in pod_requests(p, rules, on_node=True).items()})
    out = []
    for r, v in sorted(pod_requests(pod, rules).items()):
        v = _whole(r, v)
        if v <= 0 or r == "pods":
            continue
        try:  # an extended resource the node does not offer has 0 allocatable (fitsRequest)
            have = parse_quantity(alloc.get(r, "0"))
        except ValueError:
            continue
        caveat = ""
        if have <= 0 and r not in _STANDARD and not r.startswith("hugepages-") and rules.dra_extended_resources:
            delegated, caveat = _dra_extended(r, ctx)
            if delegated is not None:
                out.append(delegated)
                continue
        free = have - used.get(r, Decimal(0))
        if v > free:
            out.append(Reason("InsufficientResource",
                              f"Insufficient {r}: requests {format_resource(r, v)}, node has "
                              f"{format_resource(r, max(free, Decimal(0)))} free of "
                              f"{format_resource(r, have)} allocatable ({len(live)} other pods){caveat}",
                              {"resource": r, "requested": format_resource(r, v),
                               "free": format_resource(r, max(free, Decimal(0))),
                               "allocatable": format_resource(r, have)}))
    if "pods" in alloc:
        try:
            max_pods: Optional[int] = int(parse_quantity(alloc["pods"]))
        except ValueError:
            max_pods = None
        if max_pods is not None and len(live) + 1 > max_pods:
            out.append(Reason("InsufficientResource", f"Too many pods: node allows {max_pods}, "
                              f"{len(live)} already there", {"resource": "pods"}))
    return out


def _dra_extended(r: str, ctx: FitContext) -> Tuple[Optional[Reason], str]:
    """1.36+: an extended resource the node does not advertise. A DeviceClass that maps it hands
    it to dynamic resource allocation (a Reason, not evaluated); DeviceClasses that could not be
    read leave it NotEvaluated; a dump without them keeps the verdict, with a caveat.
    """
    cls = ctx.device_class_for(r)
    if cls is not None:
        return Reason("DynamicResourceAllocation",
                      f"{r} is not advertised by the node: DeviceClass {cls} maps it, so dynamic "
                      "resource allocation decides (not evaluated here)",
                      {"resource": r, "deviceClass": cls, "notEvaluated": True}), ""
    if not ctx.device_classes_read:
        why = next((n for n in ctx.not_evaluated if "deviceclasses" in n), "deviceclasses not read")
        return Reason("NotEvaluated", f"{r} is not advertised by the node and a DeviceClass may map "
                      f"it to dynamic resource allocation; not evaluated ({why})",
                      {"resource": r, "notEvaluated": True}), ""
    if ctx.device_caveat:
        return None, (f"; unless a DeviceClass maps {r}, in which case dynamic resource allocation "
                      f"decides ({ctx.device_caveat})")
    return None, ""


def pod_level_note(pod: Mapping, rules: Rules) -> Optional[Reason]:
    """A pod-level spec.resources that the rules of this minor ignore (1.33: the gate is off)."""
    if rules.pod_level_resources or not _pod_level_spec(_map(pod.get("spec"))):
        return None
    return Reason("PodLevelResourcesIgnored",
                  f"spec.resources (pod-level) is ignored by the scheduler of v{rules.label}: the "
                  "PodLevelResources gate is off by default before 1.34; the containers' requests count",
                  {"gate": "PodLevelResources"})


# --- NodePorts ------------------------------------------------------------------------------

def host_ports(pod: Mapping, rules: Rules) -> List[Tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) the pod claims on its node: app containers, and sidecars
    (restartable init containers) from 1.33.6; regular init containers never.
    """
    out = []
    spec = _map(pod.get("spec"))
    containers = _dicts(spec.get("containers"))
    if rules.sidecar_host_ports:
        containers = [c for c in _dicts(spec.get("initContainers")) if c.get("restartPolicy") == "Always"] + containers
    for c in containers:
        for port in _dicts(c.get("ports")):
            hp = port.get("hostPort") or (port.get("containerPort") if spec.get("hostNetwork") else 0)
            if isinstance(hp, int) and not isinstance(hp, bool) and hp > 0:   # upstream skips <= 0
                out.append((str(port.get("hostIP") or "0.0.0.0"), str(port.get("protocol") or "TCP"), hp))
    return out


def host_port_conflicts(pod: Mapping, others: Sequence[Mapping], rules: Rules) -> List[Reason]:
    """NodePorts filter: another live pod on the node holds the same port and protocol."""
    mine = host_ports(pod, rules)
    out = []
    for other in live_others(pod, others):
        for ip, proto, port in host_ports(other, rules):
            for my_ip, my_proto, my_port in mine:
                if (port, proto) == (my_port, my_proto) and (ip == my_ip or "0.0.0.0" in (ip, my_ip)):
                    out.append(Reason("HostPortConflict",
                                      f"host port {my_port}/{my_proto} is already used by pod "
                                      f"{namespace(other)}/{name(other)}",
                                      {"port": my_port, "protocol": my_proto,
                                       "pod": f"{namespace(other)}/{name(other)}"}))
    return out


# --- NodeDeclaredFeatures -------------------------------------------------------------------

def required_features(pod: Mapping, rules: Rules) -> List[str]:
    """The node features a pod needs at scheduling time, as the minor's NodeDeclaredFeatures
    framework infers them (1.36+; none before: the filter is off).
    """
    if not rules.declared_features:
        return []
    spec = _map(pod.get("spec"))
    out = []
    for c in _dicts(spec.get("initContainers")) + _dicts(spec.get("containers")):
        if any(r.get("action") == "RestartAllContainers" for r in _dicts(c.get("restartPolicyRules"))):
            out.append("RestartAllContainersOnContainerExits")
            break
    if spec.get("hostNetwork") is True and spec.get("hostUsers") is False:
        out.append("UserNamespacesHostNetworkSupport")
    return out


def missing_features(pod: Mapping, node: Mapping, rules: Rules) -> List[Reason]:
    """NodeDeclaredFeatures filter: features the pod needs that node.status.declaredFeatures lacks."""
    need = required_features(pod, rules)
    if not need:
        return []
    declared = _map(node.get("status")).get("declaredFeatures")
    declared = [f for f in declared if isinstance(f, str)] if isinstance(declared, list) else []
    missing = [f for f in need if f not in declared]
    if not missing:
        return []
    return [Reason("NodeDeclaredFeatures",
                   f"node(s) didn't match Pod's required features: the node does not declare "
                   f"{', '.join(missing)} (status.declaredFeatures)", {"missing": missing})]


def fit_problems(pod: Mapping, node: Mapping, others: Sequence[Mapping], ctx: FitContext) -> List[Reason]:
    """Every scheduler filter kubectl-ds reproduces, for a pod aimed at `node`."""
    out: List[Reason] = []
    note = pod_level_note(pod, ctx.rules)
    if note is not None:
        out.append(note)
    out += resource_shortfalls(pod, node, others, ctx)
    out += host_port_conflicts(pod, others, ctx.rules)
    out += missing_features(pod, node, ctx.rules)
    return out


def extended_requests(pod_spec: Mapping, rules: Rules) -> bool:
    """Whether a pod spec requests a resource that a DeviceClass could map (worth reading them)."""
    pod = {"spec": pod_spec}
    return rules.dra_extended_resources and any(
        r not in _STANDARD and r != "pods" and not r.startswith("hugepages-") for r in pod_requests(pod, rules))

