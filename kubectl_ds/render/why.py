"""`why` output: the per-node report as a document and as text."""

from __future__ import annotations

from typing import List, Sequence

from kubectl_ds.core.node_report import ATTENTION, EXPECTED, FINE, UNSELECTED, Entry, NodeReport, group
from kubectl_ds.render.common import indent, paint, table, yes


def why_document(report: NodeReport) -> dict:
    return {"node": report.node,
            "nodeConditions": [r.to_dict() for r in report.node_notes],
            "daemonsets": [_entry_doc(e) for e in report.entries]}


def _entry_doc(e: Entry) -> dict:
    return {"namespace": e.namespace, "name": e.name,
            "shouldRun": e.verdict.should_run, "shouldContinueRunning": e.verdict.should_continue_running,
            "state": e.state,
            "reasons": [r.to_dict() for r in e.verdict.reasons],
            "notes": [r.to_dict() for r in e.verdict.notes + e.hints],
            "pod": e.pod.to_dict() if e.pod else None,
            "extraPods": list(e.extra_pods), "orphanPod": e.orphan,
            "preemption": e.preemption.to_dict() if e.preemption else None}


SUMMARY_NAMES = 8     # a summary line names this many DaemonSets, then "and N more"

_SUMMARY = ((UNSELECTED, "not for this node (their own nodeName/nodeSelector/node affinity)"),
            (EXPECTED, "not placed or kept only because the node is going away or not ready (expected)"),
            (FINE, "running, current and Ready"))


def why_text(report: NodeReport, wide: bool, color: bool) -> str:
    """Every DaemonSet in full with `wide` (or when the report has only one); otherwise only those
    that need attention, and one line for each group of the others (node_report.group)."""
    if wide or len(report.entries) <= 1:
        return _why_text(report, report.entries, wide, color)
    groups: dict = {}
    for e in report.entries:
        groups.setdefault(group(e), []).append(e)
    summary = []
    for key, words in _SUMMARY:
        members = groups.get(key)
        if members:
            summary.append(f"{_count(len(members))} {words}: {_names(members)}")
    if summary:
        summary.append("(-o wide shows every DaemonSet in full)")
    return _why_text(report, tuple(groups.get(ATTENTION, ())), wide, color, summary)


def _count(n: int) -> str:
    return f"{n} DaemonSet" if n == 1 else f"{n} DaemonSets"


def _names(entries) -> str:
    names = [f"{e.namespace}/{e.name}" for e in entries]
    if len(names) > SUMMARY_NAMES:
        return ", ".join(names[:SUMMARY_NAMES]) + f" and {len(names) - SUMMARY_NAMES} more"
    return ", ".join(names)


def _why_text(report: NodeReport, entries, wide: bool, color: bool, summary: Sequence[str] = ()) -> str:
    out: List[str] = [f"Node: {report.node}"]
    for note in report.node_notes:
        out.append(f"  {note.message}")
    headers = ["NAMESPACE", "DAEMONSET", "SHOULD-RUN", "KEEP-RUNNING", "STATE", "POD", "REASON"]
    if wide:
        headers += ["POD-STATUS", "REVISION"]
    rows = []
    for e in entries:
        reason = ",".join(dict.fromkeys(_reason_word(r) for r in e.verdict.reasons
                                        + (e.pod.problems if e.pod else ()) + _causes(e))) or "-"
        row = [e.namespace, e.name, yes(e.verdict.should_run), yes(e.verdict.should_continue_running),
               paint(e.state, color), e.pod.name if e.pod else "-", reason]
        if wide:
            row += [e.pod.status if e.pod else "-", (e.pod.revision_hash or "-") if e.pod else "-"]
        rows.append(row)
    if not report.entries:
        return "\n".join(out + ["No DaemonSets in scope."])
    out += ["", table(rows, headers) if rows else "No DaemonSet needs attention on this node."]
    if summary:
        out += [""] + list(summary)
    for e in entries:
        lines = _entry_lines(e, wide)
        if lines:
            out += ["", f"{e.namespace}/{e.name} ({e.state}):"] + lines
    return "\n".join(out)


def _entry_lines(e: Entry, wide: bool) -> List[str]:
    """The lines under one DaemonSet: reasons (with the toleration to add), pod problems,
    causes, notes, extra pods, an orphan the DaemonSet will adopt."""
    import yaml
    lines = []
    for r in e.verdict.reasons:
        lines.append(f"  - {r.type}: {r.message}")
        if r.type == "Taint" and r.detail.get("toleration"):  # None: tolerating would not help
            lines.append("    to tolerate it, add to spec.template.spec:")
            lines.append(indent(yaml.safe_dump({"tolerations": [r.detail["toleration"]]}, sort_keys=False)
                                 .rstrip(), "      "))
    for r in (e.pod.problems if e.pod else ()):
        lines.append(f"  - {r.type}: {r.message}")
    for r in _causes(e):
        lines.append(f"  - {r.type}: {r.message}")
    if e.preemption is not None:
        lines.append(f"  - Preemption: {e.preemption.summary()}")
        if e.preemption.advice:
            lines.append(f"    advice: {e.preemption.advice}")
    for r in e.verdict.notes + tuple(h for h in e.hints if h not in _causes(e)):
        if wide or r.type not in ("Cordoned",):
            lines.append(f"  - note: {r.message}")
    if e.extra_pods:
        lines.append(f"  - {len(e.extra_pods)} more daemon pod(s) on this node: {', '.join(e.extra_pods)}")
    if e.orphan:
        lines.append(f"  - pod {e.orphan} has no controller and matches the selector: the DaemonSet will adopt it")
    return lines


def _causes(e) -> tuple:
    """A missing pod's Warning events on the DaemonSet (FailedCreate: a quota, a webhook...): the
    reason there is no pod, so they go in REASON, not among the notes."""
    if e.pod is not None or e.verdict.reasons:
        return ()
    return tuple(h for h in e.hints if h.type not in ("NotCreatedYet", "DaemonSetDeleting"))


def _reason_word(r) -> str:
    """REASON's word for a reason: a transient taint (the node going away or not ready) is told
    apart from one the DaemonSet could tolerate."""
    return "TransientTaint" if r.type == "Taint" and r.detail.get("transient") else r.type
