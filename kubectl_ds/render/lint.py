"""`lint` output: one row per finding, then each object's findings with their fixes."""

from __future__ import annotations

from typing import Any, Dict, List

from kubectl_ds.core.lint import ERROR, INFO, WARNING, Finding, LintReport
from kubectl_ds.core.roles import NONE, Role
from kubectl_ds.render.common import indent, paint, table


def lint_document(report: LintReport) -> dict:
    return {"findings": [finding_document(f) for f in report.findings],
            "suppressed": [finding_document(f) for f in report.suppressed],
            "summary": {"objects": len(report.objects), "error": report.count(ERROR),
                        "warning": report.count(WARNING), "info": report.count(INFO),
                        "suppressed": len(report.suppressed)},
            "cluster": report.cluster,
            "objects": [{"kind": k, "namespace": ns or None, "name": n, "role": _role(report, (k, ns, n)).name or None,
                         "roleEvidence": list(_role(report, (k, ns, n)).evidence)} for k, ns, n in report.objects]}


def _role(report: LintReport, key) -> Role:
    return report.roles.get(key) or NONE


def finding_document(f: Finding) -> dict:
    fix: Dict[str, Any] = {"text": f.fix.text}
    if f.fix.value is not None:
        fix.update(path=f.fix.path, value=f.fix.value)
    return {"code": f.code, "check": f.check, "severity": f.severity, "kind": f.kind,
            "namespace": f.namespace or None, "name": f.name, "role": f.role or None, "message": f.message,
            "fix": fix, "detail": dict(f.detail)}


def _object(f: Finding) -> str:
    return f.name if f.kind == "DaemonSet" else f"{f.kind.lower()}/{f.name}"


def lint_text(report: LintReport, wide: bool, color: bool) -> str:
    out: List[str] = []
    headers = ["NAMESPACE", "NAME", "CODE", "SEVERITY", "CHECK"]
    rows = [[f.namespace or "-", _object(f), f.code, paint(f.severity, color), f.check] for f in report.findings]
    if rows:
        out += [table(rows, headers), ""]
    shown = list(report.findings) + (list(report.suppressed) if wide else [])
    for key in dict.fromkeys((f.namespace, f.kind, f.name) for f in sorted(shown, key=_order)):
        mine = [f for f in shown if (f.namespace, f.kind, f.name) == key]
        title = f"{key[0]}/{key[2]}" if key[0] else key[2]
        role = _role(report, (key[1], key[0], key[2]))
        if role.name:
            title += f" ({role.label}: {', '.join(role.evidence)})"
        out.append(f"{title}:" if key[1] == "DaemonSet" else f"{key[1]} {title}:")
        for f in mine:
            out += _finding_lines(f, report, wide, color)
        out.append("")
    out.append(_summary(report))
    return "\n".join(out)


def _order(f: Finding):
    return (f.namespace, f.kind != "DaemonSet", f.kind, f.name)


def _finding_lines(f: Finding, report: LintReport, wide: bool, color: bool) -> List[str]:
    import yaml
    hidden = " (suppressed)" if f in report.suppressed else ""
    lines = [f"  {f.code} {paint(f.severity, color)} {f.check}{hidden}: {f.message}"]
    if f.fix.value is None:
        lines.append(f"    fix: {f.fix.text}")
    else:
        lines.append(f"    fix: {f.fix.text}; add to {f.fix.path}:")
        lines.append(indent(yaml.safe_dump(dict(f.fix.value), sort_keys=False,
                                           default_flow_style=False).rstrip(), "      "))
    if wide and isinstance(f.detail.get("nodes"), list) and len(f.detail["nodes"]) > 5:
        lines.append(f"    nodes: {', '.join(f.detail['nodes'])}")
    return lines


def _summary(report: LintReport) -> str:
    kinds: dict = {}
    for kind, _, _ in report.objects:
        kinds[kind] = kinds.get(kind, 0) + 1
    linted = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items()) or "nothing"
    counts = [f"{report.count(s)} {s}{'s' if s != INFO and report.count(s) != 1 else ''}"
              for s in (ERROR, WARNING, INFO)]
    text = f"Linted {linted}: " + (", ".join(counts) if report.findings else "no findings")
    if report.suppressed:
        text += f" ({len(report.suppressed)} suppressed by the kubectl-ds.io/ignore annotation)"
    if not report.cluster:
        text += "; without a cluster, the checks that need its nodes did not run (DS000)"
    return text + "."
