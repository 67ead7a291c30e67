"""Fleet mode's output: every context's JSON document merged into one.

json/yaml: `{"items": [...], "contexts": [...]}`, each item a record of the single-context
document (a `diff -A` item, a `lint` finding, a `footprint` DaemonSet, a `rollout` status) with a
`context` field first; `contexts` says per context its exit code, error, the Kubernetes rules
applied and the document's summary fields. table/wide: the single-context table with CONTEXT as
its first column, built from the same records (the JSON contract is what the columns read).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

from kubectl_ds.render.common import dump, escaped, paint, table

# per command: the key of the document's records, and the keys of its summary fields
RECORDS = {"diff": ("items", ()), "lint": ("findings", ("summary", "cluster")),
           "footprint": ("daemonsets", ("total", "cluster", "notes")), "rollout": (None, ())}


def merge(kind: str) -> Callable:
    """The merge function (outcomes, format, color) -> text of a command's fleet mode."""
    def merged(outcomes, fmt: str, color: bool) -> str:
        records, contexts = _records(kind, outcomes)
        if fmt in ("json", "yaml"):
            return dump({"items": records, "contexts": contexts}, fmt) + "\n"
        headers, rows = _ROWS[kind](escaped(records), fmt == "wide", color)
        lines = [_versions_line(contexts), table(rows, ["CONTEXT"] + headers)]
        tail = _TAILS.get(kind)
        if tail is not None:
            lines += [""] + [escaped(t) for t in tail(contexts)]
        return "\n".join(lines) + "\n"
    return merged


def _records(kind: str, outcomes) -> Tuple[List[dict], List[dict]]:
    key, summary_keys = RECORDS[kind]
    records: List[dict] = []
    contexts: List[dict] = []
    for o in outcomes:
        doc = o.document or {}
        entry = {"context": o.context, "exitCode": int(o.code), "error": o.error,
                 "kubernetesVersion": doc.get("kubernetesVersion"),
                 "kubernetesVersionSource": doc.get("kubernetesVersionSource")}
        entry.update({k: doc[k] for k in summary_keys if k in doc})
        contexts.append(entry)
        if o.failed:
            continue
        mine = [doc] if key is None else doc.get(key) or []
        for rec in mine:
            rec = {k: v for k, v in rec.items() if k not in ("kubernetesVersion", "kubernetesVersionSource")} \
                if key is None else rec
            records.append({"context": o.context, **rec})
    return records, contexts


def _versions_line(contexts: Sequence[dict]) -> str:
    """'(Rules of Kubernetes v1.37 for a, b; v1.33 for c)': which minor's rules each context got."""
    by_version: Dict[str, List[str]] = {}
    for c in contexts:
        if c["error"] is None:
            by_version.setdefault(c["kubernetesVersion"] or "?", []).append(c["context"])
    if not by_version:
        return "(No context answered)"
    parts = [f"v{v} for {', '.join(names)}" for v, names in sorted(by_version.items())]
    return f"(Rules of Kubernetes {'; '.join(parts)})"


def _n(value) -> str:
    return str(len(value)) if isinstance(value, list) else "0"


def _diff_rows(records, wide: bool, color: bool):
    headers = ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "MISSING", "MISSCHEDULED", "DUPLICATES",
               "OUTDATED", "UNREADY", "TRANSIENT", "SYNC"]
    rows = []
    for r in records:
        computed = (r.get("status") or {}).get("computed") or {}
        row = [r["context"], r.get("namespace", ""), r.get("name", ""), _n(r.get("desired")),
               str(computed.get("currentNumberScheduled", 0)), _n(r.get("missing")), _n(r.get("misscheduled")),
               _n(r.get("duplicates")), _n(r.get("outdated")), _n(r.get("unready")), _n(r.get("transient")),
               paint("InSync" if r.get("inSync") else "Drift", color)]
        if wide:
            row += [r.get("currentRevision") or "-"]
        rows.append(row)
    return headers + (["REVISION"] if wide else []), rows


def _lint_rows(records, wide: bool, color: bool):
    headers = ["NAMESPACE", "NAME", "CODE", "SEVERITY", "CHECK"] + (["MESSAGE"] if wide else [])
    rows = []
    for r in records:
        kind, name = r.get("kind") or "DaemonSet", r.get("name") or ""
        shown = name if kind == "DaemonSet" else f"{kind.lower()}/{name}"
        row = [r["context"], r.get("namespace") or "-", shown, r.get("code", ""),
               paint(r.get("severity", ""), color), r.get("check", "")]
        if wide:
            row.append(r.get("message", ""))
        rows.append(row)
    return headers, rows


def _lint_tail(contexts) -> List[str]:
    out = []
    for c in contexts:
        summary = c.get("summary")
        if c["error"] is None and isinstance(summary, dict):
            counts = [f"{summary.get(k, 0)} {k}{'s' if k != 'info' and summary.get(k, 0) != 1 else ''}"
                      for k in ("error", "warning", "info")]
            out.append(f"{c['context']}: linted {_objects(summary.get('objects', 0))}: {', '.join(counts)}"
                       + (f" ({summary['suppressed']} suppressed)" if summary.get("suppressed") else "") + ".")
    return out


def _footprint_rows(records, wide: bool, color: bool):
    headers = ["NAMESPACE", "NAME", "NODES", "CPU-REQ", "MEM-REQ", "TOTAL-CPU", "TOTAL-MEM", "CPU%", "MEM%"]
    rows = []
    for r in records:
        per = ((r.get("perPod") or {}).get("requests")) or {}
        total = ((r.get("total") or {}).get("requests")) or {}
        share = r.get("shareOfCluster") or {}
        rows.append([r["context"], r.get("namespace", ""), r.get("name", ""), str(r.get("nodes", 0)),
                     per.get("cpu") or "0", per.get("memory") or "0", total.get("cpu") or "0",
                     total.get("memory") or "0", _pct(share.get("cpu")), _pct(share.get("memory"))])
    return headers, rows


def _pct(value) -> str:
    return f"{value:.1f}%" if isinstance(value, (int, float)) else "-"


def _footprint_tail(contexts) -> List[str]:
    out = []
    for c in contexts:
        total, cluster = c.get("total"), c.get("cluster")
        if c["error"] is None and isinstance(total, dict) and isinstance(cluster, dict):
            req = total.get("requests") or {}
            share = total.get("shareOfCluster") or {}
            out.append(f"{c['context']}: {total.get('pods', 0)} daemon pods request {req.get('cpu', '0')} cpu and "
                       f"{req.get('memory', '0')} memory: {_pct(share.get('cpu'))} and {_pct(share.get('memory'))} "
                       f"of the allocatable of {cluster.get('nodes', 0)} nodes")
    return out


def _rollout_rows(records, wide: bool, color: bool):
    headers = ["NAMESPACE", "NAME", "STATE", "DESIRED", "UPDATED", "AVAILABLE", "UNAVAILABLE", "REVISION"]
    if wide:
        headers.append("KUBECTL")
    rows = []
    for r in records:
        row = [r["context"], r.get("namespace", ""), r.get("name", ""), paint(str(r.get("state", "")), color),
               str(r.get("desired", "")), str(r.get("updated", "")), str(r.get("available", "")),
               str(r.get("unavailable", "")), str(r.get("currentRevision") or "-")]
        if wide:
            row.append((r.get("kubectl") or {}).get("message", ""))
        rows.append(row)
    return headers, rows


_ROWS = {"diff": _diff_rows, "lint": _lint_rows, "footprint": _footprint_rows, "rollout": _rollout_rows}
_TAILS = {"lint": _lint_tail, "footprint": _footprint_tail}


def _objects(n) -> str:
    return f"{n} object" + ("" if n == 1 else "s")
