"""Daemon pods, revisions and "updated", as the DaemonSet controller reckons them.

Mirrors kubernetes v1.33 pkg/controller/daemon: getDaemonPods/ClaimPods (a pod is the
DaemonSet's when its controller ownerReference carries the DaemonSet's uid and the selector
still matches), getNodesToDaemonPods (terminal pods being deleted do not count; pods are grouped
by util.GetTargetNodeName), podByCreationTimestampAndPhase, util.IsPodUpdated and
util.GetTemplateGeneration; the current revision is the owned ControllerRevision with the
highest .revision (constructHistory keeps it strictly highest).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterable, List, Mapping, Optional

from kubectl_ds.core import selectors
from kubectl_ds.core.objects import annotations as annotations_of  # `annotations` is the __future__ name
from kubectl_ds.core.objects import (
    condition,
    controller_uid,
    created_at,
    deleting,
    get_in,
    labels,
    name,
    namespace,
    uid,
)

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
TERMINAL = ("Failed", "Succeeded")
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|z|[+-]\d\d:?\d\d)$")


def template_generation(ds: Mapping) -> Optional[int]:
    """util.GetTemplateGeneration: the annotation as an int, None when absent or unparsable."""
    raw = annotations_of(ds).get(TEMPLATE_GENERATION_ANNOTATION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def is_pod_updated(pod: Mapping, hash: str, template_generation: Optional[int]) -> bool:
    """util.IsPodUpdated: the revision hash label matches, or the template-generation label does."""
    pod_labels = labels(pod)
    if hash and pod_labels.get(HASH_LABEL) == hash:
        return True
    return template_generation is not None and pod_labels.get(GENERATION_LABEL) == str(template_generation)


def owned_revisions(ds: Mapping, revisions: Iterable[Mapping]) -> List[Mapping]:
    """ControllerRevisions controlled by the DaemonSet, lowest revision first."""
    mine = [r for r in revisions if namespace(r) == namespace(ds) and controller_uid(r) == uid(ds)]
    return sorted(mine, key=lambda r: int(r.get("revision") or 0))


def current_hash(ds: Mapping, revisions: Iterable[Mapping]) -> str:
    """The current revision's hash ('' when the DaemonSet has no revision yet)."""
    owned = owned_revisions(ds, revisions)
    if not owned:
        return ""
    top = owned[-1]
    return labels(top).get(HASH_LABEL) or name(top)


def target_node(pod: Mapping) -> str:
    """util.GetTargetNodeName: spec.nodeName, else the injected matchFields metadata.name In [n]."""
    node = get_in(pod, "spec", "nodeName", default="")
    if node:
        return node
    required = selectors.required_node_affinity(pod.get("spec") or {})
    for term in (required or {}).get("nodeSelectorTerms") or ():
        for expr in term.get("matchFields") or ():
            if expr.get("key") == "metadata.name" and expr.get("operator") == "In":
                values = expr.get("values") or []
                return values[0] if len(values) == 1 else ""
    return ""


def is_daemon_pod(ds: Mapping, pod: Mapping) -> bool:
    """The pod counts for the DaemonSet: controlled by its uid, selector matches, not gone."""
    if namespace(pod) != namespace(ds) or controller_uid(pod) != uid(ds):
        return False
    if get_in(pod, "status", "phase") in TERMINAL and deleting(pod):
        return False
    return selectors.match_label_selector(get_in(ds, "spec", "selector"), labels(pod))


def is_orphan_candidate(ds: Mapping, pod: Mapping) -> bool:
    """A pod with no controller that the DaemonSet would adopt (ClaimPods' adoption rule)."""
    return (namespace(pod) == namespace(ds) and not controller_uid(pod) and not deleting(pod)
            and not deleting(ds) and selectors.match_label_selector(get_in(ds, "spec", "selector"), labels(pod)))


def pod_order(pod: Mapping):
    """podByCreationTimestampAndPhase: scheduled pods first, then oldest, then by name."""
    return (0 if get_in(pod, "spec", "nodeName") else 1, created_at(pod), name(pod))


def claimable(ds: Mapping) -> Callable[[Mapping], bool]:
    """is_daemon_pod(ds, pod) or is_orphan_candidate(ds, pod), with the selector parsed once."""
    ns, ds_uid, ds_deleting = namespace(ds), uid(ds), deleting(ds)
    matches = selectors.label_selector_matcher(get_in(ds, "spec", "selector"))

    def claim(pod: Mapping) -> bool:
        if namespace(pod) != ns:
            return False
        owner = controller_uid(pod)
        if owner == ds_uid:   # is_daemon_pod (an orphan candidate too when both are "")
            if get_in(pod, "status", "phase") in TERMINAL and deleting(pod):
                return False
        elif owner or deleting(pod) or ds_deleting:   # is_orphan_candidate
            return False
        return matches(labels(pod))
    return claim


def orphan_matcher(ds: Mapping) -> Callable[[Mapping], bool]:
    """is_orphan_candidate(ds, pod), with the selector parsed once."""
    ns, ds_deleting = namespace(ds), deleting(ds)
    matches = selectors.label_selector_matcher(get_in(ds, "spec", "selector"))
    return lambda pod: (namespace(pod) == ns and not controller_uid(pod) and not deleting(pod)
                        and not ds_deleting and matches(labels(pod)))


def pods_by_node(ds: Mapping, pods: Iterable[Mapping]) -> Dict[str, List[Mapping]]:
    """getNodesToDaemonPods: the DaemonSet's pods by target node, each list oldest first.

    Like ClaimPods, this includes the orphans the controller adopts on its next sync.
    """
    out: Dict[str, List[Mapping]] = {}
    claim = claimable(ds)
    for pod in pods:
        if claim(pod):
            node = target_node(pod)
            if node:
                out.setdefault(node, []).append(pod)
    for lst in out.values():
        lst.sort(key=pod_order)
    return out


def parse_time(text: str) -> Optional[datetime]:
    """An RFC 3339 timestamp as an aware datetime (fractions dropped); None if unparsable (or not text)."""
    if not isinstance(text, str):
        return None
    m = _RFC3339.match(text)
    if not m:
        return None
    base, zone = m.group(1), m.group(2)
    zone = "+0000" if zone in ("Z", "z") else zone.replace(":", "")
    try:
        return datetime.strptime(base + zone, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def is_ready(pod: Mapping) -> bool:
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def is_available(pod: Mapping, min_ready_seconds: int, now: datetime) -> bool:
    """podutil.IsPodAvailable (v1.33: Ready, and Ready for more than minReadySeconds)."""
    if not is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = parse_time((condition(pod, "Ready") or {}).get("lastTransitionTime") or "")
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def allows_surge(ds: Mapping) -> bool:
    """util.AllowsSurge: RollingUpdate with a non-zero maxSurge (int or percentage)."""
    strategy = get_in(ds, "spec", "updateStrategy", default={})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return False
    surge = get_in(strategy, "rollingUpdate", "maxSurge", default=0)
    if isinstance(surge, str):
        return surge.rstrip("%").strip() not in ("", "0")
    return bool(surge)
