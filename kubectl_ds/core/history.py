"""Rollout history: a DaemonSet's revisions as `kubectl rollout history` numbers them, and what changed in each.

Mirrors kubectl's DaemonSetHistoryViewer (pkg/polymorphichelpers/history.go; docs/semantics.md
§4.10): the ControllerRevisions the DaemonSet controls and its selector matches, by .revision;
each one's pod template is compared with the revision kept before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core.objects import get_in, labels, name
from kubectl_ds.core.revisions import HASH_LABEL, current_hash, owned_revisions
from kubectl_ds.core.selectors import match_label_selector


@dataclass(frozen=True)
class Revision:
    number: int
    hash: str
    name: str
    change_cause: str
    changes: Tuple[str, ...]
    current: bool
    template: Mapping = field(default_factory=dict)
    compared_to: Optional[int] = None   # the revision `changes` are against (None: the earliest kept)


def history(ds: Mapping, revisions: Sequence[Mapping]) -> Tuple[Revision, ...]:
    """The DaemonSet's ControllerRevisions as kubectl numbers them, with what changed in each."""
    owned = [r for r in owned_revisions(ds, revisions)
             if match_label_selector(get_in(ds, "spec", "selector"), labels(r))]
    out, prev = [], None
    cur = current_hash(ds, revisions)
    prev_number = None
    for cr in owned:
        tmpl = template_of(cr)
        number = int(cr.get("revision") or 0)
        if prev is not None:
            changes = tuple(template_changes(prev, tmpl))
        elif number == 1:
            changes = ("initial revision",)
        else:
            # numbers only grow (a rollback renumbers the revision it reuses): 1 is gone, pruned
            # by revisionHistoryLimit or reused, so what this one changed is not known
            changes = ("earliest revision kept",)
        out.append(Revision(number=number, hash=labels(cr).get(HASH_LABEL, ""), name=name(cr),
                            change_cause=get_in(cr, "metadata", "annotations", "kubernetes.io/change-cause",
                                                default="") or "",
                            changes=changes, current=labels(cr).get(HASH_LABEL) == cur, template=tmpl,
                            compared_to=prev_number))
        prev, prev_number = tmpl, number
    return tuple(out)


def template_of(cr: Mapping) -> dict:
    tmpl = dict(get_in(cr, "data", "spec", "template", default={}))
    tmpl.pop("$patch", None)
    return tmpl


def template_changes(old: Mapping, new: Mapping) -> List[str]:
    """A readable summary of what differs between two pod templates."""
    out: List[str] = []
    oc = {c.get("name"): c for c in get_in(old, "spec", "containers", default=())}
    nc = {c.get("name"): c for c in get_in(new, "spec", "containers", default=())}
    for cname in sorted(set(oc) | set(nc)):
        a, b = oc.get(cname), nc.get(cname)
        if b is None:
            out.append(f"container {cname} removed")
            continue
        if a is None:
            out.append(f"container {cname} added ({b.get('image')})")
            continue
        if a.get("image") != b.get("image"):
            out.append(f"image {cname}: {a.get('image')} -> {b.get('image')}")
        for fld, label in (("env", "env"), ("resources", "resources"), ("args", "args"), ("command", "command"),
                           ("ports", "ports"), ("volumeMounts", "volume mounts"), ("livenessProbe", "liveness probe"),
                           ("readinessProbe", "readiness probe"), ("securityContext", "security context")):
            if a.get(fld) != b.get(fld):
                out.append(f"{label} of {cname} changed" + _env_detail(a, b, fld))
    spec_a, spec_b = old.get("spec") or {}, new.get("spec") or {}
    for fld in ("tolerations", "nodeSelector", "affinity", "volumes", "hostNetwork", "priorityClassName",
                "serviceAccountName", "initContainers"):
        if spec_a.get(fld) != spec_b.get(fld):
            out.append(f"{fld} changed")
    known = {"containers", "tolerations", "nodeSelector", "affinity", "volumes", "hostNetwork", "priorityClassName",
             "serviceAccountName", "initContainers"}
    other = sorted(k for k in set(spec_a) | set(spec_b) if k not in known and spec_a.get(k) != spec_b.get(k))
    if other:
        out.append(f"other pod spec fields changed: {', '.join(other)}")
    ma, mb = old.get("metadata") or {}, new.get("metadata") or {}
    if ma.get("labels") != mb.get("labels"):
        out.append("template labels changed")
    if ma.get("annotations") != mb.get("annotations"):
        keys = sorted(k for k in set(ma.get("annotations") or {}) | set(mb.get("annotations") or {})
                      if (ma.get("annotations") or {}).get(k) != (mb.get("annotations") or {}).get(k))
        out.append(f"template annotations changed: {', '.join(keys)}")
    return out or ["no template change (a rollback to an identical template re-uses the revision)"]


def _env_detail(a: Mapping, b: Mapping, fld: str) -> str:
    if fld != "env":
        return ""
    ea = {e.get("name"): e for e in a.get("env") or ()}
    eb = {e.get("name"): e for e in b.get("env") or ()}
    changed = sorted(k for k in set(ea) | set(eb) if ea.get(k) != eb.get(k))
    return f" ({', '.join(changed)})" if changed else ""
