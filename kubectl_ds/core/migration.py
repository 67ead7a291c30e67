"""Planning a selector migration: orphan the DaemonSet's pods, re-create it, let it adopt them.

Pure: computes the new DaemonSet, the labels every pod needs so the new selector matches it,
the preflight refusals, the coverage change and the steps; kubectl_ds/run/migration.py executes them.
Rules it relies on (kubernetes v1.33; docs/semantics.md §5): ClaimPods adopts an
orphan whose labels match the selector; the garbage collector, on a delete with
propagationPolicy=Orphan, strips the DaemonSet's ownerReference from pods and
ControllerRevisions; a pod counts as updated when its controller-revision-hash matches OR its
pod-template-generation equals the DaemonSet's template generation — so the new DaemonSet gets
a template generation no existing pod carries, or adopted pods with a different template would
never be rolled (the "pod-template-generation trap").
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core import selectors as sel
from kubectl_ds.core.eligibility import daemon_pod_spec, evaluate
from kubectl_ds.core.fit import FitContext, fit_problems, with_runtime_overhead
from kubectl_ds.core.objects import get_in, labels, name, namespace, uid
from kubectl_ds.core.ownership import is_daemon_pod, target_node
from kubectl_ds.core.results import Reason
from kubectl_ds.core.revisions import GENERATION_LABEL, TEMPLATE_GENERATION_ANNOTATION, template_generation
from kubectl_ds.core.strategy import budgets

STEPS = ("backup", "relabel-pods", "relabel-revisions", "orphan-delete", "wait-orphaned", "create",
         "verify-adoption", "release-rollout", "rollout")
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers")


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class Plan:
    namespace: str
    name: str
    old_uid: str
    old_generation: int
    old_selector: Mapping
    new_selector: Mapping
    backup: Mapping                      # the live DaemonSet, cleaned: what --rollback re-creates
    new_manifest: Mapping                # what `create` sends
    add_labels: Mapping[str, str]        # labels added to every daemon pod
    pods: Tuple[Tuple[str, str], ...]    # (name, uid) of the pods to relabel and keep
    template_changed: bool
    pace: str                            # how the rolling replacement will go, if any
    nodes_gained: Tuple[str, ...]
    nodes_lost: Tuple[str, ...]
    refusals: Tuple[Refusal, ...] = ()
    # nodes whose handed-over pod runs although the new DaemonSet does not qualify the node
    # (misscheduled): a rolling update deletes such a pod and creates none there
    nodes_stranded: Tuple[str, ...] = ()
    warnings: Tuple[str, ...] = ()
    steps: Tuple[str, ...] = STEPS

    @property
    def ok(self) -> bool:
        return not self.refusals


def held_manifest(new_manifest: Mapping) -> dict:
    """The new DaemonSet as first created: updateStrategy OnDelete, so that no adopted pod can be
    replaced before every one of them is verified adopted (release-rollout restores the strategy).
    """
    held = copy.deepcopy(dict(new_manifest))
    held["spec"]["updateStrategy"] = {"type": "OnDelete"}
    return held


def clean(obj: Mapping) -> dict:
    """A copy fit for create: no status and no server-set metadata."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for f in _SERVER_FIELDS:
        meta.pop(f, None)
    ann = dict(meta.get("annotations") or {})
    ann.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if ann:
        meta["annotations"] = ann
    else:
        meta.pop("annotations", None)
    out.setdefault("apiVersion", "apps/v1")
    out.setdefault("kind", "DaemonSet")
    return out


def selector_from_string(text: str) -> dict:
    """`--selector app=x,tier=node` as a LabelSelector (equality and set-based both accepted)."""
    reqs = sel.parse_selector_string(text)
    match_labels: Dict[str, str] = {}
    exprs: List[dict] = []
    for key, op, values in reqs:
        if op == "In" and len(values) == 1 and match_labels.get(key, values[0]) == values[0]:
            match_labels[key] = values[0]   # a second a=c after a=b must stay a requirement (ANDed)
        else:
            exprs.append({"key": key, "operator": op, **({"values": list(values)} if values else {})})
    out: dict = {}
    if match_labels:
        out["matchLabels"] = match_labels
    if exprs:
        out["matchExpressions"] = exprs
    return out


def derive_manifest(old: Mapping, new_selector: Mapping) -> dict:
    """The old DaemonSet with the new selector, its template labels extended to match it."""
    new = clean(old)
    new["spec"]["selector"] = copy.deepcopy(dict(new_selector))
    tmpl_labels = new["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {})
    tmpl_labels.update(labels_to_satisfy(new_selector, tmpl_labels) or {})
    return new


def labels_to_satisfy(selector: Mapping, current: Mapping[str, str]) -> Optional[Dict[str, str]]:
    """Labels to ADD so `current` matches `selector`; None when only removing labels would do."""
    add: Dict[str, str] = {}
    reqs = sel.label_selector_requirements(selector) or ()
    for key, op, values in reqs:
        have = current.get(key, add.get(key))
        if sel.requirement_matches(key, op, values, {**current, **add}):
            continue
        if op == "In":
            # the first value every requirement on this key accepts (`In (a,b)` with `NotIn (a)`: b)
            same_key = [r for r in reqs if r[0] == key]
            fits = [v for v in values
                    if all(sel.requirement_matches(k, o, vs, {**current, **add, key: v}) for k, o, vs in same_key)]
            if not fits:
                return None
            add[key] = fits[0]
        elif op == "Exists":
            add[key] = ""
        elif op == "NotIn" and have is None:
            continue
        else:
            return None
    return add


def plan(old: Mapping, new_manifest: Mapping, pods: Sequence[Mapping], nodes: Sequence[Mapping],
         controllers: Sequence[Mapping]) -> Plan:
    """Everything the migration will do, and every reason to refuse it, before anything changes."""
    refusals: List[Refusal] = []
    warnings: List[str] = []
    new = clean(new_manifest)
    new.setdefault("metadata", {})["namespace"] = namespace(old)
    new_sel = get_in(new, "spec", "selector", default=None)
    old_sel = get_in(old, "spec", "selector", default={})
    tmpl_labels = get_in(new, "spec", "template", "metadata", "labels", default={})
    if name(new) and name(new) != name(old):
        refusals.append(Refusal("NameDiffers", f"the manifest is for DaemonSet {name(new)!r}, not {name(old)!r}"))
    new["metadata"]["name"] = name(old)
    valid, selector_refusals = _check_selector(new_sel, old_sel, tmpl_labels)
    refusals += selector_refusals
    mine = sorted((p for p in pods if is_daemon_pod(old, p)), key=lambda p: name(p))
    add: Dict[str, str] = {}
    if valid:
        for p in mine:
            need = labels_to_satisfy(new_sel, labels(p))
            if need is None:
                refusals.append(Refusal("PodCannotMatch", f"pod {name(p)} would need a label removed to match the "
                                        "new selector; only added labels are safe while the old DaemonSet owns it"))
                break
            add.update(need)
        else:
            # relabel-pods sets `add` on every pod: overwriting a value is a removal too (a key of the old
            # selector changed makes the old DaemonSet release the pod, docs/semantics.md §5.1; no rollback restores it)
            clash = next(((p, k) for p in mine for k in sorted(add) if labels(p).get(k, add[k]) != add[k]), None)
            if clash:
                p, k = clash
                refusals.append(Refusal("PodCannotMatch", f"pod {name(p)} would need its label {k}={labels(p)[k]} "
                                        f"changed to {k}={add[k]} to match the new selector; only added labels are "
                                        "safe while the old DaemonSet owns it"))
        refusals += _competing_controllers(old, new_sel, tmpl_labels, mine, add, controllers) if valid else []
    # pods the new DaemonSet may adopt: the old one's, and any other its selector matches
    adoptable = mine + [p for p in pods if valid and p not in mine and sel.match_label_selector(new_sel, labels(p))]
    tgen = _safe_generation(old, adoptable)
    new["metadata"].setdefault("annotations", {})[TEMPLATE_GENERATION_ANNOTATION] = str(tgen)
    changed = _template_sans_labels(old) != _template_sans_labels(new) or \
        dict(get_in(old, "spec", "template", "metadata", "labels", default={})) != dict(tmpl_labels)
    gained, lost = coverage_change(old, new, nodes)
    mu, ms = budgets(new, max(1, len([n for n in nodes if evaluate(n, new).should_run])))
    pace = _pace(new, changed, mu, ms)
    if lost:
        warnings.append(f"{len(lost)} node(s) run the agent now but would not under the new DaemonSet: "
                        f"{', '.join(lost[:10])}")
    stranded = []
    rolls = changed and get_in(new, "spec", "updateStrategy", "type", default="RollingUpdate") != "OnDelete"
    if rolls and valid:
        node_by_name = {name(n): n for n in nodes}
        on = {target_node(p) for p in mine} & set(node_by_name)
        stranded = sorted(n for n in on if n not in lost and not evaluate(node_by_name[n], new).should_run)
    if stranded:
        warnings.append(f"{len(stranded)} node(s) run a pod although the DaemonSet does not qualify them "
                        "(misscheduled, e.g. a NoSchedule taint added after placement): the rolling update "
                        + ("cannot replace it there" if ms else "deletes it and creates none there, so they "
                           "lose the agent") + f": {', '.join(stranded[:10])}")
    if not mine:
        warnings.append("the DaemonSet has no pods: nothing to hand over")
    return Plan(namespace=namespace(old), name=name(old), old_uid=uid(old),
                old_generation=int(get_in(old, "metadata", "generation", default=0) or 0),
                old_selector=copy.deepcopy(dict(old_sel)), new_selector=copy.deepcopy(dict(new_sel or {})),
                backup=clean(old), new_manifest=new, add_labels=add,
                pods=tuple((name(p), uid(p)) for p in mine), template_changed=changed, pace=pace,
                nodes_gained=tuple(gained), nodes_lost=tuple(lost), nodes_stranded=tuple(stranded),
                refusals=tuple(refusals),
                warnings=tuple(warnings))


def _check_selector(new_sel, old_sel, tmpl_labels: Mapping) -> Tuple[bool, List[Refusal]]:
    """Whether the new selector is valid (parses, not empty), and the refusals it earns."""
    refusals: List[Refusal] = []
    try:
        valid = bool(sel.label_selector_requirements(new_sel))  # nil, {} and empty lists are all empty
        if not valid:
            refusals.append(Refusal("InvalidSelector", "the new selector is empty"))
    except sel.SelectorError as err:
        valid = False
        refusals.append(Refusal("InvalidSelector", f"the new selector is invalid: {err}"))
    if valid and not sel.match_label_selector(new_sel, tmpl_labels):
        refusals.append(Refusal("SelectorTemplateMismatch", "the new selector does not match the new template's "
                                f"labels {dict(tmpl_labels)} (the apiserver would reject it)"))
    if valid and _canon(new_sel) == _canon(old_sel):
        refusals.append(Refusal("SameSelector", "the new selector equals the current one: nothing to migrate "
                                "(use kubectl apply for other changes)"))
    return valid, refusals


def _pace(new: Mapping, changed: bool, mu: int, ms: int) -> str:
    """What the rolling update does to the adopted pods (maxUnavailable `mu`, maxSurge `ms`)."""
    if not changed:
        return "the template is unchanged: adopted pods count as updated and keep running"
    if get_in(new, "spec", "updateStrategy", "type") == "OnDelete":
        return "the template differs, but updateStrategy is OnDelete: adopted pods stay until deleted"
    return (f"the template differs: every adopted pod is replaced by the rolling update, {ms} node(s) at a "
            "time with surge" if ms else f"the template differs: every adopted pod is replaced by the "
            f"rolling update, {mu} node(s) at a time (maxUnavailable)")


def _canon(selector) -> str:
    return json.dumps(selector or {}, sort_keys=True)


def _template_sans_labels(ds: Mapping) -> str:
    tmpl = copy.deepcopy(get_in(ds, "spec", "template", default={}))
    (tmpl.get("metadata") or {}).pop("labels", None)
    return json.dumps(tmpl, sort_keys=True)


def _safe_generation(old: Mapping, pods: Sequence[Mapping]) -> int:
    """A template generation no existing pod carries (so only the revision hash decides)."""
    seen = [template_generation(old) or 0]
    for p in pods:
        try:
            seen.append(int(labels(p).get(GENERATION_LABEL, "0")))
        except ValueError:
            continue
    return max(seen) + 1


def _competing_controllers(old, new_sel, tmpl_labels, mine, add, controllers) -> List[Refusal]:
    """Another controller whose selector would also claim the relabelled pods or the new ones."""
    out = []
    samples = [dict(tmpl_labels)] + [{**labels(p), **add} for p in mine[:50]]
    for ctl in controllers:
        if uid(ctl) == uid(old) or namespace(ctl) != namespace(old):
            continue
        if ctl.get("kind") == "Deployment":
            continue  # a Deployment adopts nothing itself; its ReplicaSets (checked) carry pod-template-hash
        csel = get_in(ctl, "spec", "selector")
        if not isinstance(csel, Mapping) or "matchLabels" not in csel and "matchExpressions" not in csel:
            if isinstance(csel, Mapping) and csel:  # ReplicationController: a plain map
                csel = {"matchLabels": csel}
            else:
                continue
        if any(sel.match_label_selector(csel, s) for s in samples):
            out.append(Refusal("CompetingController", f"{ctl.get('kind', 'controller')} {name(ctl)} selects the "
                               "same pods; whoever adopts first would win"))
    return out


def coverage_change(old: Mapping, new: Mapping, nodes: Sequence[Mapping]) -> Tuple[List[str], List[str]]:
    """(nodes the new DaemonSet would add, nodes it would drop), by the controller's own rules."""
    gained, lost = [], []
    for n in nodes:
        a, b = evaluate(n, old).should_run, evaluate(n, new).should_run
        if b and not a:
            gained.append(name(n))
        elif a and not b:
            lost.append(name(n))
    return sorted(gained), sorted(lost)


@dataclass(frozen=True)
class WhatIf:
    """Coverage of a proposed DaemonSet manifest against the live one (`diff -f FILE`).

    A DaemonSet not in the cluster yet (a first install: `exists` False) has no desired node;
    every node it would cover is gained, and `pending` says, per node, why its pod would stay
    Pending (the scheduler's fit: resources, host ports, declared features). `notes`: what the
    fit could not evaluate (a RuntimeClass or DeviceClasses not read, a dynamic resource).
    """

    namespace: str
    name: str
    desired: Tuple[str, ...]     # nodes the live DaemonSet should run on
    proposed: Tuple[str, ...]    # nodes the manifest would run on
    gained: Tuple[str, ...]
    lost: Tuple[str, ...]
    exists: bool = True
    pending: Mapping[str, Tuple[Reason, ...]] = field(default_factory=dict)
    notes: Tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        return not (self.gained or self.lost)


# fit reasons that leave the pod Pending; the others (a note, a resource left to DRA) do not decide
PENDING_REASONS = ("InsufficientResource", "HostPortConflict", "NodeDeclaredFeatures")


def what_if(old: Optional[Mapping], proposed: Mapping, nodes: Sequence[Mapping],
            pods_on: Optional[Callable[[Sequence[str]], Mapping[str, Sequence[Mapping]]]] = None,
            ctx: Optional[FitContext] = None) -> WhatIf:
    """The manifest's coverage against the live DaemonSet `old`; None: not in the cluster yet,
    and then (given `pods_on`, which returns the pods on each of the named nodes, and `ctx`)
    whether each pod it would create fits its node.
    """
    if old is not None:
        desired = sorted(name(n) for n in nodes if evaluate(n, old).should_run)
        new = sorted(name(n) for n in nodes if evaluate(n, proposed).should_run)
        gained, lost = coverage_change(old, proposed, nodes)
        return WhatIf(namespace(old), name(old), tuple(desired), tuple(new), tuple(gained), tuple(lost))
    covered = [n for n in nodes if evaluate(n, proposed).should_run]
    new = sorted(name(n) for n in covered)
    pending: Dict[str, Tuple[Reason, ...]] = {}
    notes: List[str] = []
    if pods_on is not None and ctx is not None and covered:
        pod, note = with_runtime_overhead(
            {"metadata": {"name": f"{name(proposed)}-(new)", "namespace": namespace(proposed),
                          "uid": "kubectl-ds/what-if"},
             "spec": daemon_pod_spec(proposed)}, ctx)
        if note is not None:
            notes.append(note.message)
        on = pods_on(new)
        for n in sorted(covered, key=name):
            problems = fit_problems(dict(pod, spec=dict(pod["spec"], nodeName=name(n))), n, on.get(name(n), ()), ctx)
            notes += [r.message for r in problems if r.type not in PENDING_REASONS and r.message not in notes]
            stuck = tuple(r for r in problems if r.type in PENDING_REASONS)
            if stuck:
                pending[name(n)] = stuck
    return WhatIf(namespace(proposed), name(proposed), (), tuple(new), tuple(new), (), exists=False,
                  pending=pending, notes=tuple(notes))


def rollout_in_progress(ds: Mapping) -> Optional[str]:
    st = ds.get("status") or {}
    if int(get_in(ds, "metadata", "generation", default=0) or 0) > int(st.get("observedGeneration") or 0):
        return "the controller has not observed the latest spec yet"
    desired = int(st.get("desiredNumberScheduled") or 0)
    if int(st.get("updatedNumberScheduled") or 0) < desired or int(st.get("numberAvailable") or 0) < desired:
        return (f"a rollout is in progress ({st.get('updatedNumberScheduled', 0)}/{desired} updated, "
                f"{st.get('numberAvailable', 0)}/{desired} available)")
    return None


def added_label_patch(add: Mapping[str, str]) -> dict:
    return {"metadata": {"labels": dict(add)}}


def removed_label_patch(add: Mapping[str, str], pod: Mapping) -> Optional[dict]:
    """Undo our labels on a pod, only where the value is still the one we set."""
    mine = {k: None for k, v in add.items() if labels(pod).get(k) == v}
    return {"metadata": {"labels": mine}} if mine else None


def plan_document(p: Plan) -> dict:
    return {"namespace": p.namespace, "name": p.name, "oldUid": p.old_uid, "oldSelector": p.old_selector,
            "newSelector": p.new_selector, "addLabels": dict(p.add_labels),
            "pods": [{"name": n, "uid": u} for n, u in p.pods], "templateChanged": p.template_changed,
            "pace": p.pace, "nodesGained": list(p.nodes_gained), "nodesLost": list(p.nodes_lost),
            "nodesStranded": list(p.nodes_stranded),
            "steps": list(p.steps), "refusals": [{"code": r.code, "message": r.message} for r in p.refusals],
            "warnings": list(p.warnings), "newManifest": p.new_manifest}
