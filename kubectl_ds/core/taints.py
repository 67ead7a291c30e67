"""Taints against tolerations, and the tolerations the DaemonSet controller adds to its pods.

Mirrors (Kubernetes v1.33):
- k8s.io/api core/v1 Toleration.ToleratesTaint (effect, key, operator, value; never
  tolerationSeconds; v1.33 knows only the Equal and Exists operators);
- pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations and
  pkg/apis/core/v1/helper AddOrUpdateTolerationInPodSpec (a toleration with the same key,
  effect, operator and value is replaced by the controller's infinite one).
"""

from __future__ import annotations

import re
from typing import Iterable, List, Mapping, Optional, Tuple

NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "PreferNoSchedule", "NoExecute"

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"

# (key, effect) in the order the controller appends them
_DAEMON_TOLERATIONS = (
    (NOT_READY, NO_EXECUTE),
    (UNREACHABLE, NO_EXECUTE),
    ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
    (UNSCHEDULABLE, NO_SCHEDULE),
)


def tolerates(toleration: Mapping, taint: Mapping) -> bool:
    """Toleration.ToleratesTaint."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    op = toleration.get("operator") or ""
    if op in ("", "Equal"):
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return op == "Exists"


def _same_toleration(a: Mapping, b: Mapping) -> bool:
    """Toleration.MatchToleration: same key, operator, value and effect (literal strings)."""
    return all((a.get(f) or "") == (b.get(f) or "") for f in ("key", "operator", "value", "effect"))


def add_or_update_toleration(tolerations: List[dict], toleration: dict) -> List[dict]:
    """AddOrUpdateTolerationInPodSpec, returning the new list."""
    out, updated = [], False
    for existing in tolerations:
        if _same_toleration(toleration, existing):
            if _normal(existing) == _normal(toleration):
                return list(tolerations)
            out.append(dict(toleration))
            updated = True
            continue
        out.append(existing)
    if not updated:
        out.append(dict(toleration))
    return out


def _normal(t: Mapping) -> dict:
    return {k: v for k, v in t.items() if v not in (None, "")}


def daemon_tolerations(tolerations: Optional[Iterable[Mapping]], host_network: bool) -> List[dict]:
    """The pod's tolerations after AddOrUpdateDaemonPodTolerations."""
    out = [dict(t) for t in tolerations or ()]
    extra = list(_DAEMON_TOLERATIONS)
    if host_network:
        extra.append((NETWORK_UNAVAILABLE, NO_SCHEDULE))
    for key, effect in extra:
        out = add_or_update_toleration(out, {"key": key, "operator": "Exists", "effect": effect})
    return out


def untolerated_taints(taints: Optional[Iterable[Mapping]], tolerations: Iterable[Mapping],
                       effects: Iterable[str]) -> List[Mapping]:
    """Taints whose effect is in `effects` and that no toleration tolerates (node order)."""
    effects = set(effects)
    tolerations = list(tolerations)
    return [t for t in taints or () if t.get("effect") in effects
            and not any(tolerates(tol, t) for tol in tolerations)]


def tolerating(taint: Mapping, tolerations: Iterable[Mapping]) -> List[Mapping]:
    return [tol for tol in tolerations if tolerates(tol, taint)]


def toleration_for(taint: Mapping) -> dict:
    """The narrowest toleration a user can add to tolerate `taint`."""
    tol = {"key": taint.get("key", "")}
    if taint.get("value"):
        tol.update(operator="Equal", value=taint["value"])
    else:
        tol["operator"] = "Exists"
    tol["effect"] = taint.get("effect", "")
    return tol


def format_taint(taint: Mapping) -> str:
    """Kubectl's taint spelling: key=value:Effect (key:Effect without a value)."""
    value = f"={taint['value']}" if taint.get("value") else ""
    return f"{taint.get('key', '')}{value}:{taint.get('effect', '')}"


def _decimal_int(text) -> Optional[int]:
    """A canonical decimal int64 ("0", "-3", "42"; no "+", no leading zeros), else None."""
    if not isinstance(text, str) or not re.fullmatch(r"-?(0|[1-9][0-9]*)", text) or text == "-0":
        return None
    value = int(text)
    return value if -2**63 <= value < 2**63 else None


def compares(toleration: Mapping, taint: Mapping) -> bool:
    """Whether a Gt/Lt toleration would tolerate the taint with the comparison gate on: same
    effect and key (when set), and the taint's value greater (Gt) or less (Lt) than the
    toleration's, both decimal integers.
    """
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    mine, theirs = _decimal_int(toleration.get("value")), _decimal_int(taint.get("value"))
    if mine is None or theirs is None:
        return False
    return theirs > mine if toleration.get("operator") == "Gt" else theirs < mine


# --- transient taints: the node is being removed, drained or has lost its kubelet -----------
CA_TO_BE_DELETED = "ToBeDeletedByClusterAutoscaler"
CA_DELETION_CANDIDATE = "DeletionCandidateOfClusterAutoscaler"
KARPENTER_DISRUPTED = "karpenter.sh/disrupted"
KARPENTER_DISRUPTION = "karpenter.sh/disruption"    # Karpenter before v1 (value "disrupting")

# kind of a transient taint: what it says about the node
REMOVAL, REMOVAL_CANDIDATE, CORDON, LIFECYCLE = "NodeRemoval", "NodeRemovalCandidate", "Cordon", "NodeLifecycle"

_TRANSIENT = {
    CA_TO_BE_DELETED: (REMOVAL, "cluster-autoscaler is removing the node (scale-down)"),
    CA_DELETION_CANDIDATE: (REMOVAL_CANDIDATE, "cluster-autoscaler may remove the node soon (scale-down candidate)"),
    KARPENTER_DISRUPTED: (REMOVAL, "Karpenter is removing the node (disruption)"),
    KARPENTER_DISRUPTION: (REMOVAL, "Karpenter (before v1) is removing the node (disruption)"),
    UNSCHEDULABLE: (CORDON, "the node is cordoned (kubectl cordon or drain)"),
    NOT_READY: (LIFECYCLE, "the node is not ready; lifted when it recovers"),
    UNREACHABLE: (LIFECYCLE, "the node is unreachable; lifted when it recovers"),
}


def transient(taint: Mapping) -> Optional[Tuple[str, str]]:
    """(kind, meaning) when the taint says the node is going away, drained or has lost its
    kubelet: a state that passes on its own, never one a DaemonSet should tolerate. None otherwise.
    """
    return _TRANSIENT.get(taint.get("key") or "")


def transient_harm(taint: Mapping) -> Optional[str]:
    """Why a toleration of this transient taint is bad advice (None for other taints)."""
    found = transient(taint)
    if found is None:
        return None
    return {REMOVAL: "a daemon pod recreated on a node being removed holds up its drain",
            REMOVAL_CANDIDATE: "the autoscaler's choice of node is not the DaemonSet's business",
            LIFECYCLE: "the pod would be placed on a node that cannot start it",
            CORDON: "daemon pods tolerate it already"}[found[0]]


def transient_taints(node_taints: Optional[Iterable[Mapping]]) -> List[Mapping]:
    return [t for t in node_taints or () if transient(t) is not None]
