"""`rollout` output: one look (table/wide/json/yaml), live lines, and `rollout history`."""

from __future__ import annotations

import difflib
from typing import List, Optional, Sequence

from kubectl_ds.core.history import Revision
from kubectl_ds.core.rollout import UPDATED, RolloutStatus, node_counts
from kubectl_ds.render.common import dump, paint, table


def rollout_document(s: RolloutStatus) -> dict:
    return {"namespace": s.namespace, "name": s.name, "strategy": s.strategy, "state": s.state, "done": s.done,
            "generation": s.generation, "observedGeneration": s.observed_generation,
            "currentRevision": s.current_revision, "currentHash": s.current_hash or None,
            "desired": s.desired, "updated": s.updated, "available": s.available, "unavailable": s.unavailable,
            "maxUnavailable": s.max_unavailable, "maxSurge": s.max_surge, "surging": s.surging,
            "kubectl": {"message": s.kubectl_message, "done": s.kubectl_done},
            "sinceProgressSeconds": None if s.since_progress is None else round(s.since_progress, 1),
            "nodes": [{"node": n.node, "state": n.state, "available": n.available, "pod": n.pod or None,
                       "oldPod": n.old_pod or None, "problems": [p.to_dict() for p in n.problems]}
                      for n in s.nodes],
            "culprits": [c.to_dict() for c in s.culprits], "warnings": list(s.warnings)}


def progress_line(s: RolloutStatus) -> str:
    """One line of counts, e.g. `updated 3/10, available 9/10, unavailable 1 of maxUnavailable 1`."""
    if s.strategy != "RollingUpdate":
        budget = "OnDelete: pods are replaced only when you delete them"
    elif s.max_surge:
        budget = f"surging {s.surging} of maxSurge {s.max_surge}"
    else:
        budget = f"unavailable {s.unavailable} of maxUnavailable {s.max_unavailable}"
    return f"updated {s.updated}/{s.desired}, available {s.available}/{s.desired}, {budget}"


def _revision(s: RolloutStatus) -> str:
    return f"revision {s.current_revision} ({s.current_hash})" if s.current_hash else "no revision yet"


def header(s: RolloutStatus) -> str:
    if s.observed_generation < s.generation:
        # right after an apply: the newest revision is still the old template's, so naming it
        # would be wrong; the revision is named when the controller observes the change
        rev = f"generation {s.generation} not observed by the controller yet"
    else:
        rev = _revision(s)
    return f"daemon set {s.namespace}/{s.name}: {rev}, {s.desired} nodes, {s.strategy}"


def change_lines(s: RolloutStatus, prev: Optional[RolloutStatus]) -> List[str]:
    """Notable per-node events between two looks (node updated, new problems)."""
    before = {n.node: n for n in prev.nodes} if prev else {}
    out = []
    for n in s.nodes:
        old = before.get(n.node)
        if n.state == UPDATED and (old is None or old.state != UPDATED) and prev is not None:
            out.append(f"node {n.node}: updated ({n.pod})")
        old_types = {p.type for p in old.problems} if old else set()
        for p in n.problems:
            if p.type in old_types:
                continue
            if p.type == "Terminating":
                out.append(f"node {n.node}: replacing pod {n.pod}")
            else:  # a new pod's problem already starts with the node's name (core.rollout._culprit)
                msg = p.message[len(n.node) + 2:] if p.message.startswith(f"{n.node}: ") else p.message
                out.append(f"node {n.node}: {msg}")
    if prev is not None and s.observed_generation != prev.observed_generation:
        out.append(f"controller observed generation {s.observed_generation}: {_revision(s)}")
    return out


def final_lines(s: RolloutStatus, timed_out: bool, timeout: float) -> List[str]:
    if s.done:
        lines = [f'daemon set "{s.name}" successfully rolled out ({s.updated}/{s.desired} nodes on revision '
                 f"{s.current_revision})"]
    elif timed_out:
        lines = [f"timed out after {_dur(timeout)}: {progress_line(s)}"]
    else:
        lines = [f"rollout stuck: no progress for {_dur(s.since_progress or 0)}: {progress_line(s)}"]
    lines += [f"warning: {w}" for w in s.warnings]
    if not s.done:
        lines += culprit_lines(s)
    return lines


def culprit_lines(s: RolloutStatus) -> List[str]:
    if s.strategy != "RollingUpdate":
        outdated = [n for n in s.nodes if n.state != UPDATED]
        lines = ["OnDelete: the controller does not replace pods by itself; delete a pod to roll its node:"]
        lines += [f"  kubectl delete pod -n {s.namespace} {n.pod}   # node {n.node}" for n in outdated if n.pod]
        return lines if outdated else []
    if not s.culprits:
        waiting = [n.node for n in s.nodes if n.state != UPDATED]
        return [f"waiting on: {', '.join(waiting[:10])}{' …' if len(waiting) > 10 else ''}"] if waiting else []
    rows = [[c.detail.get("node", "-"), c.type, c.message.split(": ", 1)[-1] if c.detail.get("node") else c.message]
            for c in s.culprits]
    return ["", table(rows, ("NODE", "CAUSE", "DETAIL"))]


def rollout_text(s: RolloutStatus, wide: bool, color: bool) -> str:
    out = [header(s), f"{paint(s.state, color)}: {progress_line(s)}", f"kubectl: {s.kubectl_message}"]
    out += [f"warning: {w}" for w in s.warnings]
    counts = node_counts(s.nodes)
    if counts:
        out.append("nodes: " + ", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items())))
    rows = [[n.node, n.state, "yes" if n.available else "no",
             (n.pod or "-") + (f" (old {n.old_pod} still there)" if n.old_pod else ""),
             ",".join(p.type for p in n.problems) or "-"] for n in s.nodes if wide or n.state != UPDATED]
    if rows:
        out += ["", table(rows, ("NODE", "STATE", "AVAILABLE", "POD", "PROBLEMS"))]
    more = culprit_lines(s)
    if more:
        out += [""] + more if more[0] else more
    return "\n".join(out)


def _dur(seconds: float) -> str:
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m or h else "") + f"{s}s"


# --- history --------------------------------------------------------------------------------

def history_document(revs: Sequence[Revision]) -> dict:
    return {"revisions": [{"revision": r.number, "hash": r.hash, "name": r.name, "current": r.current,
                           "changeCause": r.change_cause or None, "changes": list(r.changes),
                           "comparedTo": r.compared_to} for r in revs]}


def history_text(revs: Sequence[Revision], wide: bool, color: bool) -> str:
    if not revs:
        return "No rollout history found."
    rows = [[str(r.number) + (" *" if r.current else ""), r.change_cause or "<none>",
             # a gap in the numbers (a rollback renumbered the revision it reused): say what is compared
             (f"(vs {r.compared_to}) " if r.compared_to is not None and r.compared_to != r.number - 1 else "")
             + "; ".join(r.changes)] for r in revs]
    return table(rows, ("REVISION", "CHANGE-CAUSE", "CHANGES"))


def revision_text(revs: Sequence[Revision], number: int) -> str:
    """One revision's template, and a unified diff against the revision before it."""
    idx = next(i for i, r in enumerate(revs) if r.number == number)
    r = revs[idx]
    out = [f"revision {r.number} ({r.name}){' — current' if r.current else ''}",
           f"change-cause: {r.change_cause or '<none>'}", "changes: " + "; ".join(r.changes), "",
           "pod template:", dump(r.template, "yaml")]
    if idx > 0:
        prev = revs[idx - 1]
        a = dump(prev.template, "yaml").splitlines(keepends=False)
        b = dump(r.template, "yaml").splitlines(keepends=False)
        out += ["", f"diff from revision {prev.number}:"]
        out += list(difflib.unified_diff(a, b, f"revision {prev.number}", f"revision {r.number}", lineterm=""))
    return "\n".join(out)
