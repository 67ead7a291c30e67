"""`diff` output: coverage of one DaemonSet, or one summary row per DaemonSet."""

from __future__ import annotations

from typing import Sequence

from kubectl_ds.core.coverage import STATUS_FIELDS, Coverage
from kubectl_ds.render.common import paint, table, yes


def diff_document(c: Coverage) -> dict:
    return {"namespace": c.namespace, "name": c.name,
            "desired": list(c.desired), "actual": list(c.actual),
            "missing": list(c.missing), "misscheduled": list(c.misscheduled),
            "duplicates": list(c.duplicates), "outdated": list(c.outdated), "unready": list(c.unready),
            "unreadyDetail": dict(c.unready_detail), "failedCreate": c.failed_create,
            "evicting": list(c.evicting), "orphans": list(c.orphans), "unknownNodes": list(c.unknown_nodes),
            "currentRevision": c.current_hash or None, "inSync": c.in_sync,
            "transient": [t.to_dict() for t in c.transient],
            "podsSettled": not (c.outdated or c.unready),
            "status": {"computed": dict(c.computed), "reported": _reported(c),
                       "generationObserved": c.generation_observed, "stale": c.status_stale}}


def diff_text(c: Coverage, wide: bool, color: bool) -> str:
    out = [f"DaemonSet {c.namespace}/{c.name}: {_headline(c, color)} {len(c.desired)} desired, "
           f"{len(c.actual)} with a pod, {len(c.missing)} missing, {len(c.misscheduled)} misscheduled, "
           f"{len(c.duplicates)} with duplicates"
           + (f", {len(c.transient)} on nodes going away or not ready (expected)" if c.transient else "")]
    short = ("DESIRED", "CURRENT", "MISSCHEDULED", "READY", "AVAILABLE", "UP-TO-DATE", "UNAVAILABLE")
    rows = [["from pods"] + [str(c.computed.get(k, 0)) for k in STATUS_FIELDS],
            ["in .status"] + ["-" if v is None else str(v) for v in _reported(c).values()]]
    out += ["", table(rows, ("",) + short)]
    if c.status_stale:
        why = "" if c.generation_observed else " (observedGeneration < generation: the controller has not caught up)"
        out.append(f"warning: the DaemonSet's status disagrees with the pods{why}")
    problems = []
    for n in c.missing:
        problems.append([n, "Missing", "should run here, has no daemon pod" + (
            f": the controller cannot create it: {c.failed_create}" if c.failed_create else "")])
    for n in c.misscheduled:
        kept = "pod is being evicted (untolerated NoExecute or no longer selected)" if n in c.evicting \
            else "pod kept running, no new one would be placed (untolerated NoSchedule)"
        problems.append([n, "Misscheduled", kept])
    for n in c.duplicates:
        problems.append([n, "Duplicate", "more than one daemon pod on the node"])
    for n in c.outdated:
        problems.append([n, "Outdated", f"pod not on the current revision {c.current_hash or '?'}"])
    for n in c.unready:
        problems.append([n, "Unready", _unready_detail(c, n)])
    for t in c.transient:
        what = {"Missing": "no daemon pod", "Misscheduled": "pod kept, no new one placed",
                "Evicting": "pod evicted"}[t.problem]
        problems.append([t.node, "Transient", f"{what} while {', '.join(t.taints)} is on ({t.meaning}): expected"])
    for n in c.unknown_nodes:
        problems.append([n, "NodeGone", "daemon pod aimed at a node that does not exist"])
    for p in c.orphans:
        problems.append(["-", "Orphan", f"pod {p} has no controller and will be adopted"])
    if problems:
        out += ["", table(sorted(problems, key=lambda r: (r[0], r[1])), ("NODE", "PROBLEM", "DETAIL"))]
    if wide:
        out += ["", f"desired: {', '.join(c.desired) or '<none>'}", f"actual:  {', '.join(c.actual) or '<none>'}"]
    return "\n".join(out)


def _pod_trouble(c: Coverage) -> list:
    """What keeps a DaemonSet whose node set matches from being done: pods not on the current
    revision (a rollout not finished, or stuck), pods not Ready."""
    out = []
    if c.outdated:
        out.append(f"{len(c.outdated)} outdated")
    if c.unready:
        out.append(f"{len(c.unready)} unready")
    return out


def _headline(c: Coverage, color: bool) -> str:
    """`Drift` or `InSync`, and, when pods are outdated or unready, what they are: `InSync (nodes) —
    2 outdated, 1 unready;` (the node set matches, the pods are not done), since InSync alone
    would read as all is well."""
    trouble = _pod_trouble(c)
    word = paint("InSync" if c.in_sync else "Drift", color)
    if not trouble:
        return f"{word} —"
    return f"{word}{' (nodes)' if c.in_sync else ''} — {', '.join(trouble)};"


def _reported(c: Coverage) -> dict:
    """The .status counters as the controller means them: the API omits a zero numberUnavailable
    (omitempty), so once the status has been written (observedGeneration caught up, or another
    counter set) an absent one is 0, not unknown. Coverage already reads the other absent
    counters as 0, so both rows of the table compare like for like."""
    reported = {k: c.reported.get(k) for k in STATUS_FIELDS}
    written = c.generation_observed or any(v for k, v in reported.items() if k != "numberUnavailable")
    if written and reported.get("numberUnavailable") is None:
        reported["numberUnavailable"] = 0
    return reported


def _unready_detail(c: Coverage, node: str) -> str:
    """What the node's oldest daemon pod is really doing (podstate.not_ready_summary) when the
    Coverage carries it; otherwise where to look."""
    known = c.unready_detail.get(node)
    if known:
        return known
    return f"oldest daemon pod is not Ready (see kubectl ds why {node} -d {c.name} -n {c.namespace})"


def diff_list_document(items: Sequence[Coverage]) -> dict:
    return {"items": [diff_document(c) for c in items]}


def diff_list_text(items: Sequence[Coverage], wide: bool, color: bool) -> str:
    headers = ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "MISSING", "MISSCHEDULED", "DUPLICATES",
               "OUTDATED", "UNREADY", "TRANSIENT", "SYNC"]
    if wide:
        headers += ["STATUS-STALE", "REVISION"]
    rows = []
    for c in items:
        row = [c.namespace, c.name, str(len(c.desired)), str(c.computed.get("currentNumberScheduled", 0)),
               str(len(c.missing)), str(len(c.misscheduled)), str(len(c.duplicates)), str(len(c.outdated)),
               str(len(c.unready)), str(len(c.transient)), paint("InSync" if c.in_sync else "Drift", color)]
        if wide:
            row += [yes(c.status_stale), c.current_hash or "-"]
        rows.append(row)
    return table(rows, headers)
