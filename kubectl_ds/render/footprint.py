"""`footprint` output: per DaemonSet (and in total), or per node with --by-node."""

from __future__ import annotations

from decimal import Decimal
from typing import Mapping, Optional

from kubectl_ds.core.footprint import RESOURCES, Footprint, NodeFootprints
from kubectl_ds.core.quantity import format_resource
from kubectl_ds.render.common import table


def exact(resource: str, value: Optional[Decimal]) -> Optional[str]:
    """A quantity in Kubernetes notation, exactly (millicores for cpu; Ki/Mi/Gi only when whole)."""
    if value is None:
        return None
    if resource == "cpu":
        millis = value * 1000
        if millis == millis.to_integral_value():
            return f"{int(millis) // 1000}" if millis % 1000 == 0 else f"{int(millis)}m"
        return str(value.normalize())
    v = int(value)
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if v and v % size == 0:
            return f"{v // size}{unit}"
    return str(v)


def _doc(values: Mapping[str, Optional[Decimal]]) -> dict:
    return {r: exact(r, values.get(r)) for r in RESOURCES}


def footprint_document(fp: Footprint) -> dict:
    return {"daemonsets": [{"namespace": f.namespace, "name": f.name, "nodes": len(f.nodes),
                            "nodeNames": list(f.nodes),
                            "perPod": {"requests": _doc(f.requests), "limits": _doc(f.limits)},
                            "total": {"requests": _doc(f.total_requests), "limits": _doc(f.total_limits)},
                            "shareOfCluster": dict(f.share)} for f in fp.daemonsets],
            "total": {"pods": fp.pods, "requests": _doc(fp.requests), "limits": _doc(fp.limits),
                      "unboundedLimits": dict(fp.unbounded), "shareOfCluster": dict(fp.share)},
            "cluster": {"nodes": fp.node_count, "allocatable": _doc(fp.allocatable)},
            "notes": list(fp.notes)}


def _q(resource: str, value: Optional[Decimal]) -> str:
    return "-" if value is None else format_resource(resource, value)


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}%"


def footprint_text(fp: Footprint, wide: bool, color: bool) -> str:
    headers = ["NAMESPACE", "NAME", "NODES", "CPU-REQ", "MEM-REQ", "TOTAL-CPU", "TOTAL-MEM", "CPU%", "MEM%"]
    if wide:
        headers += ["CPU-LIM", "MEM-LIM", "TOTAL-CPU-LIM", "TOTAL-MEM-LIM"]
    rows = []
    for f in fp.daemonsets:
        row = [f.namespace, f.name, str(len(f.nodes)), _q("cpu", f.requests["cpu"]), _q("memory", f.requests["memory"]),
               _q("cpu", f.total_requests["cpu"]), _q("memory", f.total_requests["memory"]),
               _pct(f.share["cpu"]), _pct(f.share["memory"])]
        if wide:
            row += [_q("cpu", f.limits["cpu"]), _q("memory", f.limits["memory"]),
                    _q("cpu", f.total_limits["cpu"]), _q("memory", f.total_limits["memory"])]
        rows.append(row)
    total = ["TOTAL", "", str(fp.pods), "", "", _q("cpu", fp.requests["cpu"]), _q("memory", fp.requests["memory"]),
             _pct(fp.share["cpu"]), _pct(fp.share["memory"])]
    if wide:
        total += ["", "", _limit_sum("cpu", fp.limits["cpu"], fp.unbounded["cpu"]),
                  _limit_sum("memory", fp.limits["memory"], fp.unbounded["memory"])]
    out = [table(rows + [total], headers), ""]
    out.append(f"{fp.pods} daemon pods (one per node each DaemonSet should run on) request "
               f"{_q('cpu', fp.requests['cpu'])} cpu and {_q('memory', fp.requests['memory'])} memory: "
               f"{_pct(fp.share['cpu'])} and {_pct(fp.share['memory'])} of the allocatable of the cluster's "
               f"{fp.node_count} nodes ({_q('cpu', fp.allocatable['cpu'])} cpu, "
               f"{_q('memory', fp.allocatable['memory'])} memory).")
    unbounded = [f"{n} for {r}" for r, n in fp.unbounded.items() if n]
    if unbounded and wide:
        out.append(f"Pods without a limit ('-'; the total leaves them out, '+'): {' and '.join(unbounded)}.")
    elif unbounded:
        out.append(f"DaemonSets whose pods have no limit: {' and '.join(unbounded)} (-o wide shows the limits).")
    out += [f"note: {n}" for n in fp.notes]
    return "\n".join(out)


def _limit_sum(resource: str, value: Decimal, unbounded: int) -> str:
    """A sum of limits; '-' when nothing is limited, a trailing '+' when some pods are not."""
    if not unbounded:
        return _q(resource, value)
    return "-" if value == 0 else f"{_q(resource, value)}+"


def by_node_document(nf: NodeFootprints) -> dict:
    return {"nodes": [{"node": n.node, "daemonsets": list(n.daemonsets), "requests": _doc(n.requests),
                       "limits": _doc(n.limits), "unboundedLimits": dict(n.unbounded),
                       "allocatable": _doc(n.allocatable), "shareOfNode": dict(n.share)} for n in nf.nodes],
            "notes": list(nf.notes)}


def by_node_text(nf: NodeFootprints, wide: bool, color: bool) -> str:
    headers = ["NODE", "DAEMONSETS", "CPU-REQ", "CPU%", "MEM-REQ", "MEM%"]
    if wide:
        headers += ["CPU-LIM", "MEM-LIM", "CPU-ALLOC", "MEM-ALLOC", "NAMES"]
    rows = []
    for n in nf.nodes:
        row = [n.node, str(len(n.daemonsets)), _q("cpu", n.requests["cpu"]), _pct(n.share["cpu"]),
               _q("memory", n.requests["memory"]), _pct(n.share["memory"])]
        if wide:
            row += [_limit_sum("cpu", n.limits["cpu"], n.unbounded["cpu"]),
                    _limit_sum("memory", n.limits["memory"], n.unbounded["memory"]),
                    _q("cpu", n.allocatable["cpu"]), _q("memory", n.allocatable["memory"]),
                    ",".join(n.daemonsets) or "<none>"]
        rows.append(row)
    text = table(rows, headers)
    if wide and any(n.unbounded[r] for n in nf.nodes for r in RESOURCES):
        text += "\n\nLimits: '-' none of the daemon pods there has one, '+' some have none."
    if nf.notes:
        text += "\n\n" + "\n".join(f"note: {n}" for n in nf.notes)
    return text
