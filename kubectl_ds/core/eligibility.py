"""Would the DaemonSet controller run a DaemonSet's pod on a node, and if not, why.

Mirrors NodeShouldRunDaemonPod and predicates in kubernetes v1.33
pkg/controller/daemon/daemon_controller.go, with NewPod's simulated pod (the template spec plus
the controller's daemon tolerations). Resources, host ports, pod affinity and node conditions
are not part of this decision (they are the scheduler's; see fit.py): the controller only
sees node conditions through the taints the node lifecycle controller derives from them.
tolerationSeconds does not enter the decision either: a NoExecute taint tolerated for N seconds
counts as tolerated, and the eviction after N seconds is the taint-eviction controller's.
"""

from __future__ import annotations

from typing import List, Mapping, Optional, Sequence

from kubectl_ds.core import selectors
from kubectl_ds.core import taints as tt
from kubectl_ds.core.objects import get_in, labels, name
from kubectl_ds.core.results import Reason, Verdict
from kubectl_ds.core.versions import Rules


def daemon_pod_spec(ds: Mapping) -> dict:
    """The spec of the pod NewPod simulates: the template's, with the daemon tolerations."""
    spec = dict(get_in(ds, "spec", "template", "spec", default={}))
    spec["tolerations"] = tt.daemon_tolerations(spec.get("tolerations"), bool(spec.get("hostNetwork")))
    return spec


def fits_node_name(ds: Mapping, node: Mapping) -> bool:
    want = get_in(ds, "spec", "template", "spec", "nodeName", default="")
    return not want or want == name(node)


def evaluate(node: Mapping, ds: Mapping, spec: Optional[Mapping] = None, rules: Optional[Rules] = None) -> Verdict:
    """Decide whether `ds`'s pod should run on `node`, as NodeShouldRunDaemonPod does.

    Returns a Verdict whose should_run / should_continue_running equal the controller's two
    booleans; reasons lists every failing predicate (upstream stops at the first, but a user
    has to fix all of them). A Taint reason suggests a toleration only when the node passes the
    nodeName / nodeSelector / affinity checks, and notes (a finite tolerationSeconds, a cordon)
    are given only then: otherwise tolerating would change nothing. `spec` is daemon_pod_spec(ds),
    for callers that evaluate one DaemonSet on many nodes and compute it once. `rules` (the
    Kubernetes minor in force) adds a note where a Gt/Lt toleration would decide behind a gate.
    """
    if spec is None:
        spec = daemon_pod_spec(ds)
    node_taints = get_in(node, "spec", "taints", default=[])
    reasons: List[Reason] = []
    if not fits_node_name(ds, node):
        want = spec.get("nodeName")
        reasons.append(Reason("NodeName", f"the pod template pins spec.nodeName={want}, not this node",
                              {"nodeName": want}))
    reasons += _selector_reasons(spec, node)
    reasons += _affinity_reasons(spec, node)
    placement_ok = not reasons
    blocking = tt.untolerated_taints(node_taints, spec["tolerations"], (tt.NO_SCHEDULE, tt.NO_EXECUTE))
    unselected = tuple(dict.fromkeys(r.type for r in reasons))
    reasons += [_taint_reason(t, unselected) for t in blocking]
    should_run = placement_ok and not blocking
    should_continue = placement_ok and not any(t.get("effect") == tt.NO_EXECUTE for t in blocking)
    notes = _notes(node, spec, should_run) if placement_ok else []
    if rules is not None and blocking:
        notes += _comparison_notes(blocking, spec["tolerations"], rules)
    return Verdict(should_run, should_continue, tuple(reasons), tuple(notes))


def _selector_reasons(spec: Mapping, node: Mapping) -> List[Reason]:
    out = []
    for key, want, have in selectors.node_selector_mismatches(spec, node):
        if have is None:
            msg = f"node has no label {key} (nodeSelector wants {key}={want})"
        else:
            msg = f"node has label {key}={have}, nodeSelector wants {key}={want}"
        out.append(Reason("NodeSelector", msg, {"key": key, "want": want, "nodeValue": have}))
    return out


def _affinity_reasons(spec: Mapping, node: Mapping) -> List[Reason]:
    required = selectors.required_node_affinity(spec)
    if required is None:
        return []
    terms = required.get("nodeSelectorTerms") or []
    if selectors.match_node_selector_terms(terms, node):
        return []
    parts, details = [], []
    for i, term in enumerate(terms, 1):
        if selectors.is_empty_term(term):
            parts.append(f"term {i} is empty (matches no node)")
            details.append({"term": i, "invalid": "empty term"})
            continue
        try:
            selectors.check_term(term)
        except selectors.SelectorError as err:
            parts.append(f"term {i} is invalid ({err}) and matches no node")
            details.append({"term": i, "invalid": str(err)})
            continue
        failed = selectors.failed_expressions(term, node)
        descr = "; ".join(_describe_failure(kind, e, node) for kind, e in failed)
        parts.append(f"term {i}: {descr}")
        details.append({"term": i, "failed": [dict(e, source=kind) for kind, e in failed]})
    if not terms:
        parts.append("nodeSelectorTerms is empty (matches no node)")
    msg = "required node affinity does not match: " + " | ".join(parts)
    return [Reason("NodeAffinity", msg, {"terms": details})]


def _describe_failure(kind: str, expr: Mapping, node: Mapping) -> str:
    if kind == "field":
        return f"field {selectors.describe_requirement(expr)} (node name is {name(node)})"
    key = expr.get("key", "")
    have = labels(node).get(key)
    have_txt = "node has no such label" if have is None else f"node has {key}={have}"
    return f"{selectors.describe_requirement(expr)} ({have_txt})"


def _taint_reason(taint: Mapping, unselected: Sequence[str] = ()) -> Reason:
    """An untolerated taint. `unselected`: the placement checks (NodeName, NodeSelector,
    NodeAffinity) the node fails as well; then tolerating the taint alone would change nothing,
    so no toleration is suggested (detail "toleration" is None).
    """
    effect = taint.get("effect")
    if unselected:
        return Reason("Taint", f"node has taint {tt.format_taint(taint)}, not tolerated (no toleration suggested: "
                      f"tolerating it would not place the pod here while the node fails the "
                      f"{'/'.join(unselected)} check)",
                      {"taint": dict(taint), "evicts": effect == tt.NO_EXECUTE, "toleration": None})
    found = tt.transient(taint)
    if found is not None:
        kind, _ = found
        does = ("no pod will be placed and an existing one is evicted" if effect == tt.NO_EXECUTE
                else "no new pod will be placed (an existing one keeps running)")
        return Reason("Taint", f"node has taint {tt.format_taint(taint)} ({found[1]}), not tolerated: {does}; "
                      f"expected, and no toleration is advised: {tt.transient_harm(taint)}",
                      {"taint": dict(taint), "evicts": effect == tt.NO_EXECUTE, "toleration": None,
                       "transient": kind})
    tol = tt.toleration_for(taint)
    if effect == tt.NO_EXECUTE:
        msg = (f"node has taint {tt.format_taint(taint)}, not tolerated: no pod will be placed "
               "and an existing one is evicted")
    else:
        msg = (f"node has taint {tt.format_taint(taint)}, not tolerated: no new pod will be placed "
               "(an existing one keeps running)")
    return Reason("Taint", msg, {"taint": dict(taint), "evicts": effect == tt.NO_EXECUTE,
                                 "toleration": tol})


def _comparison_notes(blocking: Sequence[Mapping], tolerations: Sequence[Mapping], rules: Rules) -> List[Reason]:
    """A Gt/Lt toleration that would tolerate an untolerated taint if its feature gate were on
    (TaintTolerationComparisonOperators: alpha and off by default from 1.35; unknown before).
    """
    out = []
    for taint in blocking:
        for tol in tolerations:
            op = tol.get("operator")
            if op not in ("Gt", "Lt") or not tt.compares(tol, taint):
                continue
            if rules.toleration_comparison:
                why = (f"operator {op} needs the alpha feature gate TaintTolerationComparisonOperators, off by "
                       f"default in v{rules.label}: with it on, this toleration tolerates the taint")
            else:
                why = f"v{rules.label} has no operator {op} (it comes in 1.35, behind an alpha gate)"
            out.append(Reason("GatedToleration", f"toleration {tol.get('key')} {op} {tol.get('value')} does not "
                              f"tolerate taint {tt.format_taint(taint)}: {why}",
                              {"taint": dict(taint), "toleration": dict(tol),
                               "gate": "TaintTolerationComparisonOperators"}))
    return out


def _notes(node: Mapping, spec: Mapping, should_run: bool) -> List[Reason]:
    """Tolerated taints worth knowing about, for a node that passes the placement checks.

    `should_run` False means other taints are untolerated: the pod is not (re)created here yet.
    """
    notes = []
    for taint in get_in(node, "spec", "taints", default=()):
        if taint.get("effect") == tt.PREFER_NO_SCHEDULE:
            continue
        tols = tt.tolerating(taint, spec["tolerations"])
        if not tols:
            continue
        if taint.get("effect") == tt.NO_EXECUTE and all(t.get("tolerationSeconds") is not None for t in tols):
            secs = max(int(t["tolerationSeconds"]) for t in tols)
            if should_run:
                then = ("the pod is evicted then, and the DaemonSet controller (which ignores "
                        "tolerationSeconds) creates it again, in a loop")
            else:
                then = ("a pod here is evicted then; once the untolerated taints are tolerated too, the "
                        "DaemonSet controller (which ignores tolerationSeconds) creates it again, in a loop")
            notes.append(Reason("TolerationSeconds",
                                f"taint {tt.format_taint(taint)} is tolerated for {secs}s only: {then}",
                                {"taint": dict(taint), "seconds": secs}))
        elif taint.get("key") == tt.UNSCHEDULABLE and should_run:
            notes.append(Reason("Cordoned", "node is cordoned; daemon pods tolerate "
                                f"{tt.UNSCHEDULABLE}:NoSchedule, so the DaemonSet still runs here",
                                {"taint": dict(taint)}))
    return notes
