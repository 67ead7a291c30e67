"""Every output format, in one place: results -> documents (json/yaml) and tables (table/wide)."""

from __future__ import annotations

import json
from typing import Callable, Dict, List, Sequence

from kubectl_ds.core.coverage import STATUS_FIELDS, Coverage
from kubectl_ds.core.node_report import (EVICTING, MISSCHEDULED, MISSING, NOT_ELIGIBLE, OUTDATED, PENDING,
                                         RUNNING, UNHEALTHY, Entry, NodeReport)

_COLORS = {RUNNING: "green", OUTDATED: "yellow", MISSCHEDULED: "yellow", NOT_ELIGIBLE: None,
           MISSING: "red", PENDING: "red", UNHEALTHY: "red", EVICTING: "red",
           "InSync": "green", "Drift": "red"}


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    import tabulate as tabulate_mod
    tabulate_mod.MIN_PADDING = 0  # kubectl's look: columns two spaces apart, no extra header padding
    tabulate = tabulate_mod.tabulate
    if not rows:
        return "  ".join(headers)
    return tabulate(rows, headers=list(headers), tablefmt="plain", disable_numparse=True)


def dump(doc, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2)
    import yaml
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).rstrip("\n")


def _paint(word: str, color: bool) -> str:
    if not color or not _COLORS.get(word):
        return word
    import click
    return click.style(word, fg=_COLORS[word])


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# --- why ------------------------------------------------------------------------------------

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
            "extraPods": list(e.extra_pods), "orphanPod": e.orphan}


def why_text(report: NodeReport, wide: bool, color: bool) -> str:
    import yaml
    out: List[str] = [f"Node: {report.node}"]
    for note in report.node_notes:
        out.append(f"  {note.message}")
    headers = ["NAMESPACE", "DAEMONSET", "SHOULD-RUN", "KEEP-RUNNING", "STATE", "POD", "REASON"]
    if wide:
        headers += ["POD-STATUS", "REVISION"]
    rows = []
    for e in report.entries:
        reason = ",".join(dict.fromkeys(r.type for r in e.verdict.reasons + (e.pod.problems if e.pod else ()))) \
            or "-"
        row = [e.namespace, e.name, _yes(e.verdict.should_run), _yes(e.verdict.should_continue_running),
               _paint(e.state, color), e.pod.name if e.pod else "-", reason]
        if wide:
            row += [e.pod.status if e.pod else "-", (e.pod.revision_hash or "-") if e.pod else "-"]
        rows.append(row)
    if not rows:
        return "\n".join(out + ["No DaemonSets in scope."])
    out += ["", table(rows, headers)]
    for e in report.entries:
        lines = []
        for r in e.verdict.reasons:
            lines.append(f"  - {r.type}: {r.message}")
            if r.type == "Taint":
                lines.append("    to tolerate it, add to spec.template.spec:")
                lines.append(_indent(yaml.safe_dump({"tolerations": [r.detail["toleration"]]}, sort_keys=False)
                                     .rstrip(), "      "))
        for r in (e.pod.problems if e.pod else ()):
            lines.append(f"  - {r.type}: {r.message}")
        for r in e.verdict.notes + e.hints:
            if wide or r.type not in ("Cordoned",):
                lines.append(f"  - note: {r.message}")
        if e.extra_pods:
            lines.append(f"  - {len(e.extra_pods)} more daemon pod(s) on this node: {', '.join(e.extra_pods)}")
        if e.orphan:
            lines.append(f"  - pod {e.orphan} has no controller and matches the selector: the DaemonSet will adopt it")
        if lines:
            out += ["", f"{e.namespace}/{e.name} ({e.state}):"] + lines
    return "\n".join(out)


# --- diff -----------------------------------------------------------------------------------

def diff_document(c: Coverage) -> dict:
    return {"namespace": c.namespace, "name": c.name,
            "desired": list(c.desired), "actual": list(c.actual),
            "missing": list(c.missing), "misscheduled": list(c.misscheduled),
            "duplicates": list(c.duplicates), "outdated": list(c.outdated), "unready": list(c.unready),
            "evicting": list(c.evicting), "orphans": list(c.orphans), "unknownNodes": list(c.unknown_nodes),
            "currentRevision": c.current_hash or None, "inSync": c.in_sync,
            "status": {"computed": dict(c.computed), "reported": dict(c.reported),
                       "generationObserved": c.generation_observed, "stale": c.status_stale}}


def diff_text(c: Coverage, wide: bool, color: bool) -> str:
    verdict = _paint("InSync" if c.in_sync else "Drift", color)
    out = [f"DaemonSet {c.namespace}/{c.name}: {verdict} — {len(c.desired)} desired, {len(c.actual)} with a pod, "
           f"{len(c.missing)} missing, {len(c.misscheduled)} misscheduled, {len(c.duplicates)} with duplicates"]
    short = ("DESIRED", "CURRENT", "MISSCHEDULED", "READY", "AVAILABLE", "UP-TO-DATE", "UNAVAILABLE")
    rows = [["from pods"] + [str(c.computed.get(k, 0)) for k in STATUS_FIELDS],
            ["in .status"] + ["-" if c.reported.get(k) is None else str(c.reported.get(k)) for k in STATUS_FIELDS]]
    out += ["", table(rows, ("",) + short)]
    if c.status_stale:
        why = "" if c.generation_observed else " (observedGeneration < generation: the controller has not caught up)"
        out.append(f"warning: the DaemonSet's status disagrees with the pods{why}")
    problems = []
    for n in c.missing:
        problems.append([n, "Missing", "should run here, has no daemon pod"])
    for n in c.misscheduled:
        kept = "pod is being evicted (untolerated NoExecute or no longer selected)" if n in c.evicting \
            else "pod kept running, no new one would be placed (untolerated NoSchedule)"
        problems.append([n, "Misscheduled", kept])
    for n in c.duplicates:
        problems.append([n, "Duplicate", "more than one daemon pod on the node"])
    for n in c.outdated:
        problems.append([n, "Outdated", f"pod not on the current revision {c.current_hash or '?'}"])
    for n in c.unready:
        problems.append([n, "Unready", "oldest daemon pod is not Ready"])
    for n in c.unknown_nodes:
        problems.append([n, "NodeGone", "daemon pod aimed at a node that does not exist"])
    for p in c.orphans:
        problems.append(["-", "Orphan", f"pod {p} has no controller and will be adopted"])
    if problems:
        out += ["", table(sorted(problems, key=lambda r: (r[0], r[1])), ("NODE", "PROBLEM", "DETAIL"))]
    if wide:
        out += ["", f"desired: {', '.join(c.desired) or '<none>'}", f"actual:  {', '.join(c.actual) or '<none>'}"]
    return "\n".join(out)


def diff_list_document(items: Sequence[Coverage]) -> dict:
    return {"items": [diff_document(c) for c in items]}


def diff_list_text(items: Sequence[Coverage], wide: bool, color: bool) -> str:
    headers = ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "MISSING", "MISSCHEDULED", "DUPLICATES",
               "OUTDATED", "UNREADY", "SYNC"]
    if wide:
        headers += ["STATUS-STALE", "REVISION"]
    rows = []
    for c in items:
        row = [c.namespace, c.name, str(len(c.desired)), str(c.computed.get("currentNumberScheduled", 0)),
               str(len(c.missing)), str(len(c.misscheduled)), str(len(c.duplicates)), str(len(c.outdated)),
               str(len(c.unready)), _paint("InSync" if c.in_sync else "Drift", color)]
        if wide:
            row += [_yes(c.status_stale), c.current_hash or "-"]
        rows.append(row)
    return table(rows, headers)


def render(result, fmt: str, color: bool = False) -> str:
    """Dispatch on the result's kind and the output format."""
    kinds: Dict[type, tuple] = {NodeReport: (why_document, why_text), Coverage: (diff_document, diff_text)}
    if isinstance(result, list):
        doc_fn, text_fn = diff_list_document, diff_list_text
    else:
        doc_fn, text_fn = kinds[type(result)]
    if fmt in ("json", "yaml"):
        return dump(doc_fn(result), fmt)
    return text_fn(result, fmt == "wide", color)
