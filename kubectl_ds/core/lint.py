"""`lint`: the DaemonSet mistakes operators make, each one a small pure check with a stable code.

A check takes one object (a DaemonSet, or a Deployment/StatefulSet for DS016) and the cluster's
nodes (None when linting manifests alone) and returns Hits: a one-line message, the fix (with the
fields to add, when it is a field), structured detail. lint() runs the catalogue, applies the
per-object suppression annotation and orders the findings. Placement questions go through
eligibility.evaluate (the controller's NodeShouldRunDaemonPod) and taints.py, so lint can never
disagree with `why` and `diff` about where a DaemonSet runs. Rollout arithmetic is strategy.py's,
the same as `rollout`'s: kubernetes v1.33 pkg/controller/daemon/util (UnavailableCount: percentages
of desiredNumberScheduled rounded up; both 0 means 1, as updatedDesiredNodeCounts decides).
What an agent is (roles.role: CNI, CSI node, device plugin, ...) weighs the host-access and resource
checks: what its role needs is at most an info finding with the reason, never a fix that breaks it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core import roles as rl
from kubectl_ds.core import selectors
from kubectl_ds.core import taints as tt
from kubectl_ds.core.eligibility import evaluate
from kubectl_ds.core.fit import host_ports
from kubectl_ds.core.objects import annotations as annotations_of  # `annotations` is the __future__ name
from kubectl_ds.core.objects import get_in, labels, name, namespace
from kubectl_ds.core.strategy import allows_surge, budgets
from kubectl_ds.core.versions import Rules

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
RANK = {INFO: 0, WARNING: 1, ERROR: 2}
IGNORE_ANNOTATION = "kubectl-ds.io/ignore"
HOSTNAME_KEY = "kubernetes.io/hostname"
NOT_CHECKED = "DS000"
MAX_UNAVAILABLE_SHARE = 0.25     # more than a quarter of the covered nodes at once is "large"
# taints the node lifecycle controller, cloud providers and the autoscaler set and lift on their
# own: a DaemonSet is not meant to tolerate them, so skipping such a node is not a finding
TRANSIENT_TAINT_PREFIXES = ("node.kubernetes.io/", "node.cloudprovider.kubernetes.io/",
                            "ToBeDeletedByClusterAutoscaler", "DeletionCandidateOfClusterAutoscaler")
SYSTEM_DIRS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin", "/sys",
               "/usr", "/var/lib/containerd", "/var/lib/docker", "/var/lib/kubelet", "/var/run")
SYSTEM_DIRS_EXACT = ("/", "/var", "/var/lib")
# roles whose agent the node cannot do without, each with why: DS003's blanket toleration is what they need
EVERYWHERE_ROLES = {rl.CNI: "without it no pod on the node gets a network",
                    rl.CSI_NODE: "without it no pod on the node can mount its volumes",
                    rl.STORAGE: "without it no pod on the node can reach its storage"}


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    severity: str          # the usual severity; a check may raise it for one hit (see the catalogue)
    summary: str
    needs_cluster: bool = False
    kinds: Tuple[str, ...] = ("DaemonSet",)


@dataclass(frozen=True)
class Fix:
    """What to do. When it is a field to add: `value` (a mapping) goes under `path`."""

    text: str
    path: str = ""
    value: Optional[Mapping] = None


@dataclass(frozen=True)
class Hit:
    message: str
    fix: Fix
    detail: Mapping = field(default_factory=dict)
    severity: Optional[str] = None   # None: the check's own


NEEDS_CLUSTER = Hit("", Fix(""))     # returned by a check that cannot answer without the nodes


@dataclass(frozen=True)
class Finding:
    code: str
    check: str
    severity: str
    kind: str
    namespace: str
    name: str
    message: str
    fix: Fix
    detail: Mapping = field(default_factory=dict)
    role: str = ""        # what the object is (roles.py), "" when nothing says


@dataclass(frozen=True)
class LintReport:
    findings: Tuple[Finding, ...]
    suppressed: Tuple[Finding, ...]      # silenced by the kubectl-ds.io/ignore annotation
    objects: Tuple[Tuple[str, str, str], ...]   # (kind, namespace, name) of every object linted
    cluster: bool                        # the nodes were known (not manifests alone)
    roles: Mapping[Tuple[str, str, str], rl.Role] = field(default_factory=dict)   # (kind, namespace, name): role

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def fails(self, threshold: str) -> bool:
        """A finding at or above `threshold`; DS000 (a check could not run) never fails a run."""
        return any(f.code != NOT_CHECKED and RANK[f.severity] >= RANK[threshold] for f in self.findings)


CATALOGUE: Dict[str, Check] = {}
_CHECKS: List[Tuple[Check, Callable[..., List[Hit]]]] = []
_VERSIONED: set = set()   # codes whose check also takes the Rules of the minor in force
CATALOGUE[NOT_CHECKED] = Check(NOT_CHECKED, "NotChecked", INFO, "a check needs the cluster's nodes and was not run",
                               kinds=("DaemonSet", "Deployment", "StatefulSet"))


def check(code: str, check_name: str, severity: str, summary: str, needs_cluster: bool = False,
          kinds: Tuple[str, ...] = ("DaemonSet",), versioned: bool = False):
    """Register a check function in the catalogue under `code` (`versioned`: it is called with the
    Rules of the Kubernetes minor in force as a third argument).
    """
    def register(fn):
        c = Check(code, check_name, severity, summary, needs_cluster, kinds)
        CATALOGUE[code] = c
        _CHECKS.append((c, fn))
        if versioned:
            _VERSIONED.add(code)
        return fn
    return register


def lint(daemonsets: Iterable[Mapping], workloads: Iterable[Mapping] = (),
         nodes: Optional[Iterable[Mapping]] = None, *, rules: Rules) -> LintReport:
    """Run every check on every object; `nodes` None means no cluster (manifests alone).

    `workloads` are Deployments and StatefulSets, each with its `kind`; `rules`: the Kubernetes
    minor whose scheduler the checks reason about.
    """
    nodes = None if nodes is None else tuple(nodes)
    found: List[Finding] = []
    hidden: List[Finding] = []
    objects = []
    roles = {}
    targets = [(d, "DaemonSet") for d in daemonsets] + [(w, w.get("kind", "")) for w in workloads]
    for obj, kind in targets:
        objects.append((kind, namespace(obj), name(obj)))
        roles[objects[-1]] = rl.role(obj) if kind == "DaemonSet" else rl.NONE
        ignored = ignored_codes(obj)
        for finding in lint_object(obj, kind, nodes, rules):
            (hidden if finding.code in ignored else found).append(finding)
    return LintReport(tuple(sorted(found, key=_order)), tuple(sorted(hidden, key=_order)),
                      tuple(sorted(objects, key=lambda o: (o[1], _KIND_ORDER.get(o[0], 9), o[2]))),
                      nodes is not None, roles)


def lint_object(obj: Mapping, kind: str, nodes: Optional[Sequence[Mapping]], rules: Rules) -> List[Finding]:
    out, skipped = [], []
    role = rl.role(obj).name if kind == "DaemonSet" else ""
    for c, fn in _CHECKS:
        if kind not in c.kinds:
            continue
        for hit in (fn(obj, nodes, rules) if c.code in _VERSIONED else fn(obj, nodes)):
            if hit is NEEDS_CLUSTER:
                skipped.append(c)
                continue
            out.append(Finding(c.code, c.name, hit.severity or c.severity, kind, namespace(obj), name(obj),
                               hit.message, hit.fix, dict(hit.detail), role))
    if skipped:
        what = ", ".join(f"{c.code} {c.name}" for c in skipped)
        out.append(Finding(NOT_CHECKED, "NotChecked", INFO, kind, namespace(obj), name(obj),
                           f"not checked without the cluster's nodes: {what}",
                           Fix("lint it against the cluster, or against a dump of it (--snapshot)"),
                           {"checks": [c.code for c in skipped]}, role))
    return out


def ignored_codes(obj: Mapping) -> frozenset:
    """Codes listed in the object's kubectl-ds.io/ignore annotation ("DS003,DS007" or spaces)."""
    raw = annotations_of(obj).get(IGNORE_ANNOTATION) or ""
    return frozenset(c.strip().upper() for c in raw.replace(",", " ").split() if c.strip())


_KIND_ORDER = {"DaemonSet": 0, "Deployment": 1, "StatefulSet": 2}


def _order(f: Finding):
    return (f.namespace, _KIND_ORDER.get(f.kind, 9), f.name, -RANK[f.severity], f.code, f.message)


# --- helpers --------------------------------------------------------------------------------

def _pod_spec(obj: Mapping) -> Mapping:
    return get_in(obj, "spec", "template", "spec", default={})


def _containers(spec: Mapping, init: bool = True) -> List[Tuple[str, int, Mapping]]:
    """(field, index, container): app containers, plus init containers when `init`."""
    out = [("containers", i, c) for i, c in enumerate(spec.get("containers") or ())]
    if init:
        out += [("initContainers", i, c) for i, c in enumerate(spec.get("initContainers") or ())]
    return out


def _long_running(spec: Mapping) -> List[Tuple[str, int, Mapping]]:
    """App containers and sidecars (restartable init containers): what runs for the pod's life."""
    return [(f, i, c) for f, i, c in _containers(spec)
            if f == "containers" or c.get("restartPolicy") == "Always"]


def few(names: Sequence[str], limit: int = 5) -> str:
    """'a, b and c', or the first `limit` names and how many more."""
    names = list(names)
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit} more"
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _nodes_word(n: int) -> str:
    return f"{n} node" if n == 1 else f"{n} nodes"


def is_transient(taint: Mapping) -> bool:
    """A taint no toleration is advised for: the lifecycle/cloud-provider ones, and those of a node
    being removed or drained (taints.transient: cluster-autoscaler, Karpenter, cordon).
    """
    return (taint.get("key") or "").startswith(TRANSIENT_TAINT_PREFIXES) or tt.transient(taint) is not None


def _taint_key(taint: Mapping) -> Tuple[str, str, str]:
    return (taint.get("key") or "", taint.get("value") or "", taint.get("effect") or "")


# --- placement ------------------------------------------------------------------------------

@check("DS001", "UntoleratedTaint", WARNING,
       "nodes the DaemonSet selects but skips because of a taint it does not tolerate", needs_cluster=True)
def untolerated_taint(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    if nodes is None:
        return [NEEDS_CLUSTER]
    skipped: Dict[Tuple[str, str, str], List[str]] = {}
    fixes: Dict[Tuple[str, str, str], dict] = {}
    for node in nodes:
        verdict = evaluate(node, ds)
        if verdict.should_run or any(r.type != "Taint" for r in verdict.reasons):
            continue  # placed, or not selected anyway: the taint is not why it is skipped
        for reason in verdict.reasons:
            taint = reason.detail["taint"]
            if not is_transient(taint):
                skipped.setdefault(_taint_key(taint), []).append(name(node))
                fixes[_taint_key(taint)] = reason.detail["toleration"]
    hits = []
    for key, node_names in sorted(skipped.items()):
        taint = {"key": key[0], "value": key[1], "effect": key[2]}
        evicts = " (and an existing pod is evicted)" if key[2] == tt.NO_EXECUTE else \
            " (a pod placed before the taint keeps running until it is replaced)"
        hits.append(Hit(f"no pod is placed on {_nodes_word(len(node_names))} ({few(sorted(node_names))}): taint "
                        f"{tt.format_taint(taint)} is not tolerated{evicts}",
                        Fix("if the agent belongs on those nodes, tolerate the taint", "spec.template.spec",
                            {"tolerations": [fixes[key]]}),
                        {"taint": {k: v for k, v in taint.items() if v}, "nodes": sorted(node_names),
                         "toleration": fixes[key]}))
    return hits


@check("DS002", "NoEligibleNodes", ERROR, "the DaemonSet should run on no node of the cluster", needs_cluster=True)
def no_eligible_nodes(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    if nodes is None:
        return [NEEDS_CLUSTER]
    verdicts = [evaluate(n, ds) for n in nodes]
    if not nodes or any(v.should_run for v in verdicts):
        return []
    unselected = sum(1 for v in verdicts if any(r.type != "Taint" for r in v.reasons))
    parts = []
    if unselected:
        parts.append(f"{unselected} not selected by its nodeName/nodeSelector/node affinity")
    if len(nodes) - unselected:
        parts.append(f"{len(nodes) - unselected} with a taint it does not tolerate")
    hints, corrected = [], {}
    for key, want in sorted((_pod_spec(ds).get("nodeSelector") or {}).items()):
        values = sorted({labels(n)[key] for n in nodes if key in labels(n)})
        if want in values:
            continue
        hints.append(f"no node has {key}={want} (" +
                     (f"nodes have {key}={', '.join(values)})" if values else "no node has that label)"))
        near = [v for v in values if v.strip().lower() == str(want).strip().lower()]
        if len(near) == 1:
            corrected[key] = near[0]
    message = f"runs on none of the {_nodes_word(len(nodes))}: {'; '.join(parts)}"
    if hints:
        message += "; " + "; ".join(hints)
    if corrected:
        fix = Fix("the nodeSelector differs from the nodes' labels only in case or spaces: use their value",
                  "spec.template.spec", {"nodeSelector": {**(_pod_spec(ds).get("nodeSelector") or {}), **corrected}})
    else:
        fix = Fix("compare spec.template.spec.nodeSelector and its node affinity with the nodes' labels "
                  "(kubectl get nodes --show-labels; kubectl ds why NODE)")
    return [Hit(message, fix, {"nodes": len(nodes), "notSelected": unselected, "hints": hints})]


@check("DS003", "ToleratesEverything", WARNING, "a toleration with operator Exists and no key tolerates every taint")
def tolerates_everything(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    spec = _pod_spec(ds)
    tolerations = spec.get("tolerations") or ()
    blanket = [t for t in tolerations if not t.get("key") and t.get("operator") == "Exists"]
    if not blanket:
        return []
    effects = {t.get("effect") or "" for t in blanket}
    scope = "every taint" if "" in effects else " and ".join(f"every {e} taint" for e in sorted(effects))
    # what it runs on only because of the blanket toleration: the taints its other tolerations
    # (and the controller's own) would not tolerate
    others = tt.daemon_tolerations([t for t in tolerations if t not in blanket], bool(spec.get("hostNetwork")))
    through: Dict[Tuple[str, str, str], List[str]] = {}
    for node in nodes or ():
        if not evaluate(node, ds).should_run:
            continue
        for taint in tt.untolerated_taints(get_in(node, "spec", "taints", default=()), others,
                                           (tt.NO_SCHEDULE, tt.NO_EXECUTE)):
            if not is_transient(taint):
                through.setdefault(_taint_key(taint), []).append(name(node))
    message = f"tolerates {scope} (a toleration with operator Exists and no key)"
    if through:
        message += "; that alone puts it on " + few([
            f"{few(sorted(ns))} (taint {tt.format_taint({'key': k[0], 'value': k[1], 'effect': k[2]})})"
            for k, ns in sorted(through.items())])
    if "" in effects or tt.NO_EXECUTE in effects:
        message += "; no NoExecute taint (maintenance, out-of-service) ever evicts it"
    text = ("tolerate the taints it is meant for instead; keep the blanket toleration only for node-critical "
            "agents (CNI, kube-proxy, storage) and suppress DS003 there")
    specific = [tt.toleration_for({"key": k[0], "value": k[1], "effect": k[2]}) for k in sorted(through)]
    fix = Fix(text, "spec.template.spec", {"tolerations": specific}) if specific else Fix(text)
    detail = {"effects": sorted(effects),
              "tolerated": [{"taint": tt.format_taint({"key": k[0], "value": k[1], "effect": k[2]}),
                             "nodes": sorted(ns)} for k, ns in sorted(through.items())]}
    role = rl.role(ds)
    if role.name in EVERYWHERE_ROLES:   # what the role needs: a note, not advice to undo it
        return [Hit(f"{message}; a {role.label} must run on every node that runs pods ({EVERYWHERE_ROLES[role.name]})",
                    Fix("nothing to change for the role; tolerate only specific taints if some nodes must go "
                        "without it"), dict(detail, role=role.name), INFO)]
    return [Hit(message, fix, detail)]


# --- resources ------------------------------------------------------------------------------

_EXAMPLE_REQUESTS = {"cpu": "50m", "memory": "64Mi"}


@check("DS004", "NoRequests", WARNING, "a container requests no cpu or no memory", versioned=True)
def no_requests(ds: Mapping, nodes: Optional[Sequence[Mapping]], rules: Rules) -> List[Hit]:
    hits = []
    # from 1.34 a pod-level spec.resources request (or limit) stands for the containers' sum
    level = _pod_spec(ds).get("resources")
    level = level if isinstance(level, dict) else {}
    pod_level = {r for key in ("requests", "limits") if isinstance(level.get(key), dict) for r in level[key]} \
        if rules.pod_level_resources else set()
    for fld, i, c in _long_running(_pod_spec(ds)):
        res = c.get("resources") or {}
        have = set(res.get("requests") or {}) | set(res.get("limits") or {}) | pod_level  # a limit defaults the request
        missing = [r for r in ("cpu", "memory") if r not in have]
        if not missing:
            continue
        why = "the scheduler reserves nothing for it on any of the nodes it runs on"
        if "memory" in missing:
            why += ", and under memory pressure it is among the first pods evicted"
        hits.append(Hit(f"container {c.get('name')} requests no {' and no '.join(missing)}: {why}",
                        Fix(f"set requests in container {c.get('name')}, sized from its observed usage "
                            "(kubectl top pod --containers); example values", f"spec.template.spec.{fld}[{i}]",
                            {"resources": {"requests": {r: _EXAMPLE_REQUESTS[r] for r in missing}}}),
                        {"container": c.get("name"), "missing": missing}))
    return hits


# roles whose OOM kill cuts every pod of the node off something: what
_OOM_TAKES_DOWN = {rl.CNI: "the node's pod networking", rl.STORAGE: "the node's volumes"}


@check("DS005", "NoMemoryLimit", WARNING, "a container has no memory limit")
def no_memory_limit(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    hits = []
    role = rl.role(ds)
    for fld, i, c in _long_running(_pod_spec(ds)):
        res = c.get("resources") or {}
        if "memory" in (res.get("limits") or {}):
            continue
        limit = (res.get("requests") or {}).get("memory") or "128Mi"
        if role.name in _OOM_TAKES_DOWN:   # an OOM kill takes the node's data path down: a trade-off, not a rule
            hits.append(Hit(f"container {c.get('name')} has no memory limit; on a {role.label} that can be deliberate: "
                            f"an OOM kill at the limit takes {_OOM_TAKES_DOWN[role.name]} down until it restarts",
                            Fix(f"if you limit container {c.get('name')}'s memory, size the limit well above its "
                                "peak usage (not at the request), and watch it"),
                            {"container": c.get("name"), "role": role.name}, INFO))
            continue
        hits.append(Hit(f"container {c.get('name')} has no memory limit: a leak takes memory from every node "
                        "it runs on",
                        Fix(f"limit container {c.get('name')}'s memory (for an agent, usually its memory request)",
                            f"spec.template.spec.{fld}[{i}]", {"resources": {"limits": {"memory": limit}}}),
                        {"container": c.get("name")}))
    return hits


# --- rollout --------------------------------------------------------------------------------

@check("DS006", "MaxUnavailableTooHigh", WARNING,
       "a rollout may take the agent off more than a quarter of its nodes at once (error: all of them)",
       needs_cluster=True)
def max_unavailable_too_high(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    strategy = get_in(ds, "spec", "updateStrategy", default={})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return []
    raw = get_in(strategy, "rollingUpdate", "maxUnavailable", default=1)
    if (percent(raw) or 0) >= 100:
        return []   # every node whatever their number: DS017 says so from the manifest alone
    if nodes is None:
        return [NEEDS_CLUSTER]
    desired = sum(1 for n in nodes if evaluate(n, ds).should_run)
    try:
        unavailable, _ = budgets(ds, desired, strict=True)   # both zero: updatedDesiredNodeCounts' fallback, 1
    except ValueError:
        return []  # the apiserver refuses it; nothing to weigh
    at_once = min(unavailable, desired)
    if desired <= 1 or at_once <= 1 or at_once <= desired * MAX_UNAVAILABLE_SHARE:
        return []
    how = f"{raw} of {desired}, rounded up" if isinstance(raw, str) else str(raw)
    every = at_once >= desired
    return [Hit(f"maxUnavailable {raw} lets {at_once} of the {_nodes_word(desired)} it covers lose the agent at once "
                f"({how}){': every node' if every else ''}; if a new version never gets ready, that many nodes "
                "are left without the agent",
                Fix("roll out over one node (or a few percent of the nodes) at a time",
                    "spec.updateStrategy.rollingUpdate", {"maxUnavailable": 1}),
                {"maxUnavailable": raw, "nodesAtOnce": at_once, "desiredNodes": desired},
                ERROR if every else None)]


@check("DS007", "SurgeWithHostPort", ERROR, "maxSurge with a host port: the rollout deadlocks (kubernetes#106417)",
       versioned=True)
def surge_with_host_port(ds: Mapping, nodes: Optional[Sequence[Mapping]], rules: Rules) -> List[Hit]:
    ports = host_ports({"spec": _pod_spec(ds)}, rules)
    if not allows_surge(ds) or not ports:
        return []
    surge = get_in(ds, "spec", "updateStrategy", "rollingUpdate", "maxSurge")
    listed = ", ".join(sorted({f"{port}/{proto}" for _, proto, port in ports}))
    # ports claimed only because of hostNetwork (the containers' and sidecars' the scheduler counts)
    implicit = len(ports) > len(host_ports({"spec": dict(_pod_spec(ds), hostNetwork=False)}, rules))
    how = " (with hostNetwork every container port is a host port)" if implicit else ""
    return [Hit(f"maxSurge {surge} with host port {listed}{how}: the new pod cannot be scheduled next to the old "
                "one (the port is taken) and the old one is removed only once the new one is available, so "
                "the rollout deadlocks (kubernetes#106417)",
                Fix("replace pods in place: no surge, one node at a time", "spec.updateStrategy.rollingUpdate",
                    {"maxSurge": 0, "maxUnavailable": 1}),
                {"maxSurge": surge, "hostPorts": [{"hostIP": ip, "protocol": proto, "port": port}
                                                  for ip, proto, port in ports]})]


# --- resilience -----------------------------------------------------------------------------

@check("DS008", "NoPriorityClass", WARNING, "no priorityClassName")
def no_priority_class(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    if _pod_spec(ds).get("priorityClassName"):
        return []
    text = ("give it a priority above the workloads: system-node-critical for agents the node needs "
            "(network, storage, logs), or a PriorityClass of your own")
    ns = namespace(ds)
    if ns != "kube-system":
        where = f"in {ns}" if ns else "outside kube-system"
        text += (f"; {where}, some platforms admit system-node-critical only in a namespace with a ResourceQuota "
                 "for that priority class (spec.scopeSelector: PriorityClass In [system-node-critical]): add one, "
                 "or use a PriorityClass of your own")
    return [Hit("no priorityClassName: the agent has the priority of any pod, so it cannot preempt its way onto a "
                "full node and is evicted like the rest under pressure",
                Fix(text, "spec.template.spec", {"priorityClassName": "system-node-critical"}))]


# the other probes of a container, in the order they are evidence for a missing one
_PROBE_EVIDENCE = {"readinessProbe": ("livenessProbe", "startupProbe"),
                   "livenessProbe": ("readinessProbe", "startupProbe")}
_HANDLERS = ("httpGet", "tcpSocket", "grpc", "exec")
# a container port named for health: (what the name says, the path it suggests), first match wins
_HEALTH_PORT_NAMES = (("ready", "/readyz"), ("livez", "/livez"), ("liveness", "/healthz"), ("health", "/healthz"))
HTTPS_PORTS = (443, 8443)
PLACEHOLDER = "<replace: a command that fails when the agent is unhealthy>"
# sidecars that are themselves a prober, or register a socket and wait: no probe advice on them
PROBER_SIDECARS = ("livenessprobe", "liveness-probe")
REGISTRAR_SIDECARS = ("node-driver-registrar",)


def _health_port(c: Mapping, kind: str) -> Optional[Tuple[Mapping, str]]:
    """The container port named for health (readiness prefers a ready one, liveness a live/health one)
    and the path its name suggests; None when no port is named so.
    """
    named = []
    for p in c.get("ports") or ():
        pname = str(p.get("name") or "").lower()
        path = next((path for word, path in _HEALTH_PORT_NAMES if word in pname), None)
        if path:
            named.append((p, path))
    if not named:
        return None
    want = "/readyz" if kind == "readinessProbe" else "/healthz"
    return next(((p, path) for p, path in named if path == want), named[0])


def _is_https(port: Mapping) -> bool:
    return "https" in str(port.get("name") or "").lower() or port.get("containerPort") in HTTPS_PORTS


def probe_example(c: Mapping, kind: str) -> Tuple[dict, str, str]:
    """An example `kind` probe ("readinessProbe", "livenessProbe") for container `c` from evidence
    only: (probe, where it comes from in words, the evidence: "probe", "port" or "placeholder").
    Evidence is another probe of the container (its handler), a port named for health (gRPC when its
    name says so, HTTPS on an https port or 443/8443); without any, an exec placeholder to replace.
    """
    for other in _PROBE_EVIDENCE[kind]:
        probe = c.get(other) or {}
        handler = {h: probe[h] for h in _HANDLERS if h in probe}
        if handler:
            return dict(handler, periodSeconds=10), f"the same check as its {other}", "probe"
    found = _health_port(c, kind)
    if found:
        port, path = found
        ref = port.get("name") or port.get("containerPort")
        if "grpc" in str(port.get("name") or "").lower() and isinstance(port.get("containerPort"), int):
            return ({"grpc": {"port": port["containerPort"]}, "periodSeconds": 10},   # grpc takes a number only
                    f"gRPC health on its port {ref}, named for health", "port")
        get = {"path": path, "port": ref}
        if _is_https(port):
            get["scheme"] = "HTTPS"
        return ({"httpGet": get, "periodSeconds": 10},
                f"httpGet on its port {ref}, named for health, at the path the name suggests: check it", "port")
    return ({"exec": {"command": ["/bin/sh", "-c", PLACEHOLDER]}, "periodSeconds": 10},
            "a placeholder, as nothing in the manifest says how the agent reports its health; replace it with "
            "the check its image documents", "placeholder")


def _words(c: Mapping) -> List[str]:
    return [str(w) for w in list(c.get("command") or ()) + list(c.get("args") or ())]


_SLEEP_SCRIPT = re.compile(r"(trap [^;]*; ?)?(while (true|:) ?; ?do )?(exec )?sleep [\w.]+( ?& ?wait)?"
                           r"( ?;)?( ?done)?( ?;)?")


def sleeper(c: Mapping) -> bool:
    """The container only waits: `sleep`, `pause`, `tail -f /dev/null`, or a shell loop around sleep."""
    image = str(c.get("image") or "").lower().split("@")[0]
    if posixpath.basename(image).split(":")[0] == "pause":
        return True
    words = _words(c)
    if not words:
        return False
    if posixpath.basename(words[0]) in ("sleep", "pause") or " ".join(words[-3:]) == "tail -f /dev/null":
        return True
    if posixpath.basename(words[0]) in ("sh", "bash", "ash", "dash") and "-c" in words:
        script = " ".join(" ".join(words[words.index("-c") + 1:]).split())
        return script == "tail -f /dev/null" or bool(_SLEEP_SCRIPT.fullmatch(script))
    return False


def sidecar_kind(c: Mapping) -> str:
    """"prober", "registrar" or "sleeper" for the sidecars probe advice is not for, "" for the rest."""
    who = f"{c.get('name') or ''} {c.get('image') or ''}".lower()
    if any(s in who for s in PROBER_SIDECARS):
        return "prober"
    if any(s in who for s in REGISTRAR_SIDECARS):
        return "registrar"
    return "sleeper" if sleeper(c) else ""


def _http_endpoint_port(c: Mapping) -> Optional[int]:
    """The port of a node-driver-registrar's --http-endpoint=[HOST]:PORT (where it serves /healthz)."""
    for w in _words(c):
        m = re.fullmatch(r"--http-endpoint=.*:(\d+)", w)
        if m:
            return int(m.group(1))
    return None


def _probe_hits(ds: Mapping, kind: str, why: str) -> List[Hit]:
    hits = []
    for _, i, c in _containers(_pod_spec(ds), init=False):
        if c.get(kind):
            continue
        who, side = c.get("name"), sidecar_kind(c)
        detail = {"container": who}
        if side in ("prober", "sleeper") or (side == "registrar" and kind == "readinessProbe"):
            continue   # it probes others or only waits; a registrar's readiness adds nothing to the plugin's
        endpoint = _http_endpoint_port(c) if side == "registrar" else None
        if side == "registrar" and endpoint:   # documented: the registrar serves /healthz on --http-endpoint
            example, source, evidence = ({"httpGet": {"path": "/healthz", "port": endpoint}, "periodSeconds": 10},
                                         "httpGet on /healthz at its --http-endpoint, as the registrar documents",
                                         "documented")
        elif side == "registrar" and not _health_port(c, kind) and not c.get("readinessProbe"):
            hits.append(Hit(f"container {who} has no livenessProbe: a registrar that hangs is never restarted, and "
                            "the plugin's registration with the kubelet is not renewed on that node",
                            Fix("the node-driver-registrar serves /healthz when started with --http-endpoint=:PORT: "
                                f"add that argument and the port to container {who}, then a livenessProbe with "
                                "httpGet on /healthz at that port"),
                            dict(detail, sidecar=side), INFO))
            continue
        else:
            example, source, evidence = probe_example(c, kind)
        hits.append(Hit(f"container {who} has no {kind}: {why}",
                        Fix(f"add a {kind} to container {who} (example: {source})",
                            f"spec.template.spec.containers[{i}]", {kind: example}),
                        dict(detail, exampleFrom=evidence)))
    return hits


@check("DS009", "NoReadinessProbe", WARNING, "a container has no readinessProbe")
def no_readiness_probe(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    return _probe_hits(ds, "readinessProbe", "it is ready as soon as it starts, so a rollout moves on to the next "
                                             "nodes even when the new version does not work")


@check("DS010", "NoLivenessProbe", INFO, "a container has no livenessProbe")
def no_liveness_probe(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    return _probe_hits(ds, "livenessProbe", "an agent that hangs without exiting is never restarted")


# --- host access ----------------------------------------------------------------------------

_NAMESPACES = {"hostNetwork": "network", "hostPID": "process", "hostIPC": "IPC"}
# the host namespaces a role needs, and why
_ROLE_NAMESPACES = {
    rl.CNI: {"hostNetwork": "it configures the node's network and must run before pod networking exists"},
    rl.NODE_METRICS: {"hostNetwork": "the node's network statistics are those of the host network namespace",
                      "hostPID": "the node's process statistics come from the host's /proc"},
    rl.NODE_MAINTENANCE: {"hostPID": "it reaches the host's init (PID 1) to reboot or read the node's state"},
}


@check("DS011", "HostNamespaces", WARNING, "hostNetwork, hostPID or hostIPC")
def host_namespaces(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    spec = _pod_spec(ds)
    role = rl.role(ds)
    needed = _ROLE_NAMESPACES.get(role.name, {})
    hits = []
    fields = [f for f in _NAMESPACES if spec.get(f) and f not in needed]
    if fields:
        what = few([_NAMESPACES[f] for f in fields])
        hits.append(Hit(f"shares the node's {what} namespace{'s' if len(fields) > 1 else ''} ({', '.join(fields)}), "
                        "on every node it runs on",
                        Fix(f"remove {', '.join(fields)} unless the agent needs {'them' if len(fields) > 1 else 'it'} "
                            "(CNI, node metrics); where it does, suppress DS011 with the annotation"),
                        {"fields": fields}))
    role_fields = [f for f in _NAMESPACES if spec.get(f) and f in needed]
    if role_fields:
        hits.append(Hit(f"shares the node's {few([_NAMESPACES[f] for f in role_fields])} namespace"
                        f"{'s' if len(role_fields) > 1 else ''} ({', '.join(role_fields)}), as a {role.label} does: "
                        + "; ".join(f"{f}: {needed[f]}" for f in role_fields),
                        Fix("nothing to change for the role"), {"fields": role_fields, "role": role.name}, INFO))
    return hits


# the capabilities a role's agent typically needs instead of privileged (a hint, not a list to copy)
_ROLE_CAPABILITIES = {rl.CNI: ", e.g. NET_ADMIN and NET_RAW", rl.CSI_NODE: ", e.g. SYS_ADMIN for mounts",
                      rl.STORAGE: ", e.g. SYS_ADMIN for mounts",
                      rl.DEVICE_PLUGIN: "; a device plugin usually needs none",
                      rl.NODE_METRICS: "; a metrics exporter usually needs none",
                      rl.LOG_SHIPPER: "; a log shipper that reads logs needs none"}
# roles whose agent needs privileged for what it is, and why
_ROLE_PRIVILEGED = {rl.NODE_MAINTENANCE: "entering the host's namespaces (nsenter) to reboot it, or reading "
                                         "/dev/kmsg, needs device access and capabilities only privileged grants"}


@check("DS012", "Privileged", WARNING, "a privileged container")
def privileged(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    role = rl.role(ds)
    hits = []
    for fld, i, c in _containers(_pod_spec(ds)):
        if not get_in(c, "securityContext", "privileged"):
            continue
        who = c.get("name")
        detail = {"container": who, "path": f"spec.template.spec.{fld}[{i}].securityContext.privileged"}
        message = f"container {who} is privileged: root on the node with every device and capability, on every " \
                  "node it runs on"
        bidirectional = [m.get("mountPath") for m in c.get("volumeMounts") or ()
                         if m.get("mountPropagation") == rl.BIDIRECTIONAL]
        if bidirectional:   # the apiserver refuses Bidirectional propagation in a container that is not privileged
            hits.append(Hit(f"{message}; it must be: it mounts {few(bidirectional)} with Bidirectional propagation, "
                            "which the apiserver allows only in a privileged container",
                            Fix("nothing to change while the agent needs Bidirectional mount propagation"),
                            dict(detail, role=role.name, bidirectional=bidirectional), INFO))
        elif role.name in _ROLE_PRIVILEGED:
            hits.append(Hit(f"{message}; a {role.label} usually needs it: {_ROLE_PRIVILEGED[role.name]}",
                            Fix(f"keep it unless container {who} works with specific capabilities "
                                "(securityContext.capabilities.add)"), dict(detail, role=role.name), INFO))
        else:
            caps = _ROLE_CAPABILITIES.get(role.name, "") if fld == "containers" or c.get("restartPolicy") == "Always" \
                else "; an init container that only installs files needs none"
            hits.append(Hit(message, Fix(f"drop securityContext.privileged from container {who} and add only the "
                                         f"capabilities it needs (securityContext.capabilities.add{caps})"), detail))
    return hits


def system_dir(path: str) -> Optional[str]:
    """The system directory `path` is (or is under), None for other paths."""
    path = posixpath.normpath(path or "/")
    if path.startswith("//"):
        path = path[1:]
    if path in SYSTEM_DIRS_EXACT:
        return path
    return next((d for d in SYSTEM_DIRS if path == d or path.startswith(d + "/")), None)


@check("DS013", "WritableHostPath", WARNING, "a system directory of the node mounted writable")
def writable_host_path(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    spec = _pod_spec(ds)
    host = {v.get("name"): v["hostPath"] for v in spec.get("volumes") or () if v.get("hostPath")}
    role = rl.role(ds)
    hits = []
    for fld, i, c in _containers(spec):
        for j, mount in enumerate(c.get("volumeMounts") or ()):
            if mount.get("readOnly") or mount.get("name") not in host:
                continue
            hp = host[mount["name"]]
            m = rl.Mount(c, mount, rl.norm(posixpath.join(hp.get("path") or "/", mount.get("subPath") or "")),
                         hp.get("type") or "")
            sysdir = system_dir(m.host_path)
            if not sysdir or rl.needs_write(role, m) or executable_dir(m.host_path):
                continue   # not a system directory, one the agent must write (the catalogue lists them), or DS019's
            hits.append(_writable_hit(fld, i, j, m, sysdir))
    return hits


def _writable_hit(fld: str, i: int, j: int, m: rl.Mount, sysdir: str) -> Hit:
    who, path = m.container.get("name"), m.host_path
    # a single file is what it can change, not the directory it is in
    what = f"the file {path}" if rl.is_file(m) or path in rl.LOCK_FILES else sysdir if path == sysdir else \
        f"{path} (in {sysdir})"
    detail = {"container": who, "volume": m.mount["name"], "hostPath": path, "systemDir": sysdir}
    message = f"container {who} mounts the node's {path} writable (at {m.mount.get('mountPath')}): it can change " \
              f"{what} on every node"
    if m.mount.get("readOnly") is False:   # written out: the author decided it must write there
        return Hit(f"{message} (readOnly: false is explicit)",
                   Fix(f"nothing to change if the agent writes there; otherwise mount volume {m.mount['name']} "
                       "read-only"), dict(detail, readOnly=False), INFO)
    return Hit(message, Fix(f"mount it read-only unless the agent must write there (volume {m.mount['name']})",
                            f"spec.template.spec.{fld}[{i}].volumeMounts[{j}]", {"readOnly": True}), detail)


# --- the object itself ----------------------------------------------------------------------

@check("DS014", "RestartPolicy", ERROR, "restartPolicy other than Always (the apiserver refuses it)")
def restart_policy(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    policy = _pod_spec(ds).get("restartPolicy")
    if not policy or policy == "Always":
        return []
    return [Hit(f"restartPolicy {policy}: a DaemonSet's pods must restart Always, the apiserver refuses this manifest",
                Fix("set it to Always (or leave it out: Always is the default)", "spec.template.spec",
                    {"restartPolicy": "Always"}), {"restartPolicy": policy})]


@check("DS015", "DefaultNamespace", WARNING, "the DaemonSet is in the default namespace (info: it has none)")
def default_namespace(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    ns = namespace(ds)
    fix = Fix("give the agent a namespace of its own (kube-system for cluster components), with its own "
              "RBAC, quotas and network policies")
    if ns == "default":
        return [Hit("runs in the default namespace, where everything applied without a namespace lands", fix)]
    if not ns:
        return [Hit("has no namespace: it lands in the namespace of whoever applies it (often default)", fix,
                    severity=INFO)]
    return []


# --- workloads ------------------------------------------------------------------------------

def one_per_node_terms(obj: Mapping) -> List[Mapping]:
    """Required pod anti-affinity terms on kubernetes.io/hostname that select the object's own pods."""
    own = get_in(obj, "spec", "template", "metadata", "labels", default={})
    terms = get_in(_pod_spec(obj), "affinity", "podAntiAffinity",
                   "requiredDuringSchedulingIgnoredDuringExecution", default=())
    ns = namespace(obj)
    return [t for t in terms if t.get("topologyKey") == HOSTNAME_KEY
            and selectors.match_label_selector(t.get("labelSelector"), own)
            and (not t.get("namespaces") or not ns or ns in t["namespaces"])]


def schedulable_nodes(pod_spec: Mapping, nodes: Sequence[Mapping]) -> List[str]:
    """Nodes the scheduler could place an ordinary pod of `pod_spec` on (selector, affinity, taints)."""
    out = []
    for node in nodes:
        node_taints = list(get_in(node, "spec", "taints", default=()))
        if get_in(node, "spec", "unschedulable") and not any(t.get("key") == tt.UNSCHEDULABLE for t in node_taints):
            node_taints.append({"key": tt.UNSCHEDULABLE, "effect": tt.NO_SCHEDULE})
        if selectors.fits_node_affinity(pod_spec, node) and not tt.untolerated_taints(
                node_taints, pod_spec.get("tolerations") or (), (tt.NO_SCHEDULE, tt.NO_EXECUTE)):
            out.append(name(node))
    return out


@check("DS016", "DaemonSetInDisguise", WARNING,
       "a Deployment/StatefulSet with one pod per node on every node it can use (error: more replicas than nodes)",
       needs_cluster=True, kinds=("Deployment", "StatefulSet"))
def daemonset_in_disguise(obj: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    replicas = get_in(obj, "spec", "replicas", default=1)
    if not one_per_node_terms(obj) or not isinstance(replicas, int) or replicas < 2:
        return []
    if nodes is None:
        return [NEEDS_CLUSTER]
    eligible = schedulable_nodes(_pod_spec(obj), nodes)
    if replicas < len(eligible):
        return []  # spread over some of the nodes: high availability, not a per-node agent
    pending = replicas - len(eligible)
    message = (f"{replicas} replicas, at most one per node (required pod anti-affinity on {HOSTNAME_KEY}), "
               f"for the {_nodes_word(len(eligible))} it can use")
    message += f": {pending} can never be scheduled" if pending else ": one on every node"
    message += "; a node added later gets none unless someone raises replicas by hand"
    return [Hit(message, Fix("make it a DaemonSet (no replicas, no anti-affinity), choosing its nodes with a "
                             "nodeSelector or node affinity"),
                {"replicas": replicas, "eligibleNodes": sorted(eligible), "unschedulable": pending},
                ERROR if pending else None)]


# --- rollout budget, images, executables (issue 16) -----------------------------------------

def percent(value) -> Optional[int]:
    """The percentage an int-or-string value is ("100%" -> 100), None when it is not one."""
    if not isinstance(value, str) or not value.strip().endswith("%"):
        return None
    try:
        return int(value.strip()[:-1])
    except ValueError:
        return None


@check("DS017", "MaxUnavailableAllNodes", ERROR,
       "maxUnavailable of 100% or more: a rollout may take the agent off every node at once (from the manifest)")
def max_unavailable_all_nodes(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    strategy = get_in(ds, "spec", "updateStrategy", default={})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return []
    raw = get_in(strategy, "rollingUpdate", "maxUnavailable")
    pct = percent(raw)
    if pct is None or pct < 100:
        return []   # integers are weighed against the nodes (DS006)
    message = (f"maxUnavailable {raw}: a rollout may take the agent off every node it covers at once, whatever "
               "their number; if the new version never gets ready, no node has the agent")
    if pct > 100:
        message += "; the apiserver refuses it besides (must not be greater than 100%)"
    return [Hit(message, Fix("roll out over one node (or a few percent of the nodes) at a time",
                             "spec.updateStrategy.rollingUpdate", {"maxUnavailable": 1}),
                {"maxUnavailable": raw, "percent": pct, "refused": pct > 100})]


FLOATING_TAGS = ("latest", "master", "main", "stable", "edge", "nightly", "dev", "develop", "canary")
_MAJOR_ONLY = re.compile(r"v?\d+")


def image_tag(image: str) -> Tuple[str, bool]:
    """(the tag, "" when there is none; whether the reference has a digest)."""
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    return (last.rsplit(":", 1)[1] if ":" in last else ""), bool(digest)


def floating(tag: str) -> str:
    """Why `tag` floats ("" when it names one build): no tag, a moving name, a major version only."""
    t = tag.lower()
    if not t:
        return "no tag (it pulls :latest)"
    if t in FLOATING_TAGS or t.split("-")[0] in FLOATING_TAGS:
        return f"the floating tag :{tag}"
    if _MAJOR_ONLY.fullmatch(t):
        return f"the major-only tag :{tag}, which moves with every release of that major version"
    return ""


@check("DS018", "FloatingImageTag", WARNING,
       "an image without a digest on no tag or a floating one (:latest, :main, :1)")
def floating_image_tag(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    hits = []
    for fld, i, c in _containers(_pod_spec(ds)):
        image = str(c.get("image") or "")
        if not image or any(ch in image for ch in "${}<>"):
            continue   # no image, or a template placeholder
        tag, digest = image_tag(image)
        why = "" if digest else floating(tag)
        if not why:
            continue
        who = c.get("name")
        hits.append(Hit(f"container {who} runs {image}, {why}, without a digest: nodes that pull at different times "
                        "(a new node, a replaced pod, imagePullPolicy Always on a restart) run different builds of "
                        "the agent, and rolling back does not bring the old build back",
                        Fix(f"pin container {who}'s image to a version tag (:1.2.3) or a digest (@sha256:…); "
                            "the digest running now: kubectl get pods -o jsonpath='{..imageID}'"),
                        {"container": who, "image": image, "tag": tag,
                         "path": f"spec.template.spec.{fld}[{i}].image"}))
    return hits


# host directories whose executables the node runs as root, and who runs them
EXECUTABLE_DIRS = {
    "/opt/cni/bin": "the container runtime runs the CNI plugins there as root for every pod's network",
    "/usr/libexec/kubernetes/kubelet-plugins/volume/exec": "the kubelet runs the FlexVolume drivers there as root",
    "/etc/kubernetes/kubelet-plugins/volume/exec": "the kubelet runs the FlexVolume drivers there as root",
    "/var/lib/kubelet/volumeplugins": "the kubelet runs the FlexVolume drivers there as root",
    "/home/kubernetes/bin": "the node's services (the kubelet among them) run from there as root",
    "/opt/bin": "the node's services run from there as root",
    "/usr/libexec": "the node's services and the kubelet's plugins run from there as root",
    "/usr/local/bin": "the node's own commands: systemd units, the kubelet and administrators run them as root",
    "/usr/local/sbin": "the node's own commands: systemd units, the kubelet and administrators run them as root",
    "/usr/bin": "the node's own commands: systemd units, the kubelet and administrators run them as root",
    "/usr/sbin": "the node's own commands: systemd units, the kubelet and administrators run them as root",
    "/bin": "the node's own commands: systemd units, the kubelet and administrators run them as root",
    "/sbin": "the node's own commands: systemd units, the kubelet and administrators run them as root",
}
_FLEXVOLUME_DIRS = ("/usr/libexec/kubernetes/kubelet-plugins/volume/exec",
                    "/etc/kubernetes/kubelet-plugins/volume/exec", "/var/lib/kubelet/volumeplugins")
# executable directories a role installs into, and why that is its job
_ROLE_INSTALLS = {
    rl.CNI: (("/opt/cni/bin", "a CNI plugin installs the CNI binaries the container runtime runs"),),
    rl.CSI_NODE: tuple((d, "a volume plugin installs its FlexVolume driver there") for d in _FLEXVOLUME_DIRS),
    rl.STORAGE: tuple((d, "a storage agent installs its FlexVolume driver there") for d in _FLEXVOLUME_DIRS),
}


def executable_dir(path: str) -> Optional[str]:
    """The host directory of executables run as root that `path` is (or is under), None otherwise."""
    path = rl.norm(path)
    return next((d for d in sorted(EXECUTABLE_DIRS, key=len, reverse=True) if rl.under(path, d)), None)


@check("DS019", "WritableExecutablePath", WARNING,
       "a host directory of executables the node runs as root (/opt/cni/bin, /usr/bin, ...) mounted writable")
def writable_executable_path(ds: Mapping, nodes: Optional[Sequence[Mapping]]) -> List[Hit]:
    spec = _pod_spec(ds)
    role = rl.role(ds)
    mounts = list(rl.host_mounts(spec))
    init = {id(c) for c in spec.get("initContainers") or () if c.get("restartPolicy") != "Always"}
    hits = []
    for fld, i, c in _containers(spec):
        for j, mount in enumerate(c.get("volumeMounts") or ()):
            m = next((x for x in mounts if x.container is c and x.mount is mount), None)
            if m is None or mount.get("readOnly"):
                continue
            exe = executable_dir(m.host_path)
            if not exe:
                continue
            who = c.get("name")
            detail = {"container": who, "volume": mount.get("name"), "hostPath": m.host_path, "executableDir": exe}
            message = (f"container {who} mounts the node's {m.host_path} writable (at {mount.get('mountPath')}): "
                       f"{EXECUTABLE_DIRS[exe]}, so whatever the container writes there runs as root on every node")
            job = next((why for d, why in _ROLE_INSTALLS.get(role.name, ()) if rl.under(m.host_path, d)), "")
            if job:
                installer = id(c) in init
                # a long-running container next to an init container that installs: the installer did the job
                others = any(id(x.container) in init and not x.mount.get("readOnly") and rl.under(x.host_path, exe)
                             for x in mounts)
                if installer or not others:
                    who_does = "its init container" if installer else "the agent itself, as no init container does"
                    hits.append(Hit(f"{message}; that is its job: {job} ({who_does})",
                                    Fix("nothing to change for the role; keep the image that writes there pinned "
                                        "and trusted"), dict(detail, role=role.name), INFO))
                    continue
                message += f"; init containers install there already, container {who} need not write"
            if mount.get("readOnly") is False:
                hits.append(Hit(f"{message} (readOnly: false is explicit)",
                                Fix(f"nothing to change if the agent installs there; otherwise mount volume "
                                    f"{mount.get('name')} read-only"), dict(detail, readOnly=False), INFO))
                continue
            hits.append(Hit(message, Fix(f"mount it read-only unless the agent installs executables there (volume "
                                         f"{mount.get('name')}); if it does, install from an init container and "
                                         "mount it read-only in the rest",
                                         f"spec.template.spec.{fld}[{i}].volumeMounts[{j}]", {"readOnly": True}),
                            detail))
    return hits
