"""Daemon pods: which pods are the DaemonSet's, on which node, in which order.

Mirrors kubernetes v1.33 pkg/controller/daemon: getDaemonPods/ClaimPods (a pod is the
DaemonSet's when its controller ownerReference carries the DaemonSet's uid and the selector
still matches; a pod with no controller that the selector matches is adopted),
getNodesToDaemonPods (terminal pods being deleted do not count; pods are grouped by
util.GetTargetNodeName) and podByCreationTimestampAndPhase.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Mapping

from kubectl_ds.core import selectors
from kubectl_ds.core.objects import (
    TERMINAL,
    controller_uid,
    created_at,
    deleting,
    get_in,
    labels,
    name,
    namespace,
    uid,
)


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
