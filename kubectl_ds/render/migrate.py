"""`migrate` output: the plan, before anything changes."""

from __future__ import annotations

from kubectl_ds.core.migration import Plan, WhatIf, plan_document
from kubectl_ds.render.common import table


def plan_text(p: Plan, wide: bool, color: bool) -> str:
    out = [f"Migration plan for daemon set {p.namespace}/{p.name}",
           f"  selector: {_sel(p.old_selector)}  ->  {_sel(p.new_selector)}",
           f"  pods handed over: {len(p.pods)} (labels added: "
           f"{', '.join(f'{k}={v}' for k, v in p.add_labels.items()) or 'none needed'})",
           f"  {p.pace}",
           f"  coverage: {len(p.nodes_gained)} node(s) gained, {len(p.nodes_lost)} lost"
           + (f"; {len(p.nodes_stranded)} misscheduled pod(s) not replaced by the rolling update"
              if p.nodes_stranded else "")]
    if wide:
        out += [f"    gained: {', '.join(p.nodes_gained) or '-'}", f"    lost:   {', '.join(p.nodes_lost) or '-'}"]
    out += [f"  warning: {w}" for w in p.warnings]
    steps = [[str(i), s, _explain(s)] for i, s in enumerate(p.steps, 1)]
    out += ["", table(steps, ("#", "STEP", "WHAT IT DOES"))]
    if p.refusals:
        out += ["", "Refused:"] + [f"  {r.code}: {r.message}" for r in p.refusals]
    return "\n".join(out)


def _sel(selector) -> str:
    from kubectl_ds.core.selectors import label_selector_string
    try:
        return label_selector_string(selector) or "<empty>"
    except Exception:  # noqa: BLE001 - an invalid selector is shown raw
        return str(selector)


def _explain(step: str) -> str:
    return {"backup": "save the live DaemonSet in the state file (what --rollback re-creates)",
            "relabel-pods": "add the new selector's labels to every daemon pod",
            "relabel-revisions": "add them to its ControllerRevisions too (the new DaemonSet adopts its history)",
            "orphan-delete": "delete the DaemonSet with propagationPolicy=Orphan (uid + resourceVersion preconditions)",
            "wait-orphaned": "wait until it is gone and the garbage collector released its pods",
            "create": "create the new DaemonSet, held (updateStrategy OnDelete: it replaces no pod yet)",
            "verify-adoption": "wait until it adopts every pod; check no pod uid changed",
            "release-rollout": "give it its real updateStrategy: the rolling replacement may start",
            "rollout": "follow the rolling update, if the template changed"}[step]


document = plan_document


def what_if_document(w: WhatIf) -> dict:
    return {"namespace": w.namespace, "name": w.name, "desired": list(w.desired), "proposed": list(w.proposed),
            "gained": list(w.gained), "lost": list(w.lost), "same": w.same, "exists": w.exists,
            "pending": {node: [r.to_dict() for r in reasons] for node, reasons in sorted(w.pending.items())},
            "notes": list(w.notes)}


def what_if_text(w: WhatIf, wide: bool, color: bool) -> str:
    if not w.exists:
        return _first_install_text(w, wide)
    out = [f"daemon set {w.namespace}/{w.name}: {len(w.desired)} desired node(s) now, "
           f"{len(w.proposed)} with the manifest",
           f"  gained: {', '.join(w.gained) or '-'}", f"  lost:   {', '.join(w.lost) or '-'}"]
    if wide:
        out += [f"  now:      {', '.join(w.desired) or '-'}", f"  proposed: {', '.join(w.proposed) or '-'}"]
    return "\n".join(out)


def _first_install_text(w: WhatIf, wide: bool) -> str:
    out = [f"daemon set {w.namespace}/{w.name}: not in the cluster yet; the manifest would run on "
           f"{len(w.proposed)} node(s), {len(w.pending)} of them with a pod that would stay Pending"]
    shown = w.proposed if wide or len(w.proposed) <= 10 else w.proposed[:10] + ("...",)
    out.append(f"  nodes: {', '.join(shown) or '-'}")
    out += [f"  note: {n}" for n in w.notes]
    if w.pending:
        rows = [[node, r.type, r.message] for node, reasons in sorted(w.pending.items()) for r in reasons]
        out += ["", table(rows, ("NODE", "PENDING", "DETAIL"))]
    return "\n".join(out)
