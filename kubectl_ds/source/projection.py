"""Projections: each listed Node and Pod cut down, as its page arrives, to the fields the core reads.

On a real cluster most of a Node's JSON is what the core never looks at (status.images alone can be
tens of kilobytes: every image on the node), and most of a Pod's too (managedFields, volumes of
projected tokens, env, command lines, probes' details). Holding 5,000 nodes and their pods whole is
most of a command's memory.

What is kept is what source/validate.py checks (`validate.SHAPES`: "the shapes the core relies on,
kind by kind", plus the metadata it checks for every kind): a field is read by the core only if its
shape is declared there, so the two lists are one, less what the core reads only in a DaemonSet's
pod template, never in a listed pod (DROP: a pod's tolerations, volumes, env, mounts, probes). A
leaf of that shape (a string, a map of labels, quantities) is kept whole, and so is anything
below DEPTH levels or named in WHOLE; a list keeps each item projected by the item's shape.
tests/unit/test_projection.py runs every command on the bundled example with recording objects and
fails if a field the core reads is not kept here, and compares every output with and without it.

Where it applies (source/live.py): LIST pages of nodes and pods, which are only read. Never single
GETs, DaemonSets, ControllerRevisions, workloads or events: DaemonSets are written back (migrate)
and read whole (lint reads their pod templates), the others are few.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from kubectl_ds.source import validate

# the kinds projected, by the resource their LIST pages come from
RESOURCES = {"nodes": "Node", "pods": "Pod"}
ENV = "KUBECTL_DS_PROJECTION"   # "off": keep listed objects whole (for measuring)

Keep = Dict[str, Any]   # field -> True (keep whole) or a Keep (keep these fields of it, or of its items)


DEPTH = 3         # levels projected (spec.containers[].name is 3); anything deeper is kept whole
# small parts, read (almost) whole: kept whole, whatever their shape says (cutting costs more)
WHOLE: Dict[str, List[Tuple[str, ...]]] = {"Node": [("spec",), ("status", "conditions")],
         "Pod": [("metadata", "ownerReferences"), ("spec", "affinity"), ("spec", "tolerations"),
                 ("spec", "resources"), ("status", "conditions"), ("status", "resources")]}


# parts of a shape the core reads only in a DaemonSet's pod template (lint, history, the simulated
# daemon pod), never in a listed pod: a pod's own tolerations, volumes, env, mounts and probes
_TEMPLATE_ONLY = ("env", "volumeMounts", "securityContext", "readinessProbe", "livenessProbe")
DROP: Dict[str, List[Tuple[str, ...]]] = {
    "Pod": [("spec", "tolerations"), ("spec", "volumes")]
           + [("spec", c, f) for c in ("containers", "initContainers") for f in _TEMPLATE_ONLY]}


def keep_of(kind: str) -> Keep:
    """The fields kept of a `kind`: its validate shape and the common metadata, as a Keep tree cut
    at DEPTH levels (what is below is kept whole: small, mostly read, and cheaper kept than cut)."""
    shape: Dict[str, Any] = {**validate.SHAPES[kind], "metadata": validate._META}
    keep: Keep = _keep(shape, DEPTH)
    for path in WHOLE.get(kind, ()):
        node = keep
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = True
    for path in DROP.get(kind, ()):
        node = keep
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return keep


def _keep(shape: Any, depth: int) -> Any:
    if isinstance(shape, list):   # [item shape]: the items are projected by it
        return _keep(shape[0], depth)
    if isinstance(shape, dict) and depth > 0:
        return {key: _keep(sub, depth - 1) for key, sub in shape.items()}
    return True                   # a leaf, or deep enough: kept as it is


def kept(keep: Keep, path: tuple) -> bool:
    """Whether `path` (keys; "[]" for any list item, "*" for every key) is kept whole or in part."""
    node: Any = keep
    for key in path:
        if node is True:
            return True
        if key == "[]":
            continue   # a list's items are projected by the list's own Keep
        if key == "*":
            return False   # every key of a mapping is read: only a whole one would do
        if key not in node:
            return False
        node = node[key]
    return True


def _compile(kind: str, keep: Keep) -> Callable[[dict], dict]:
    """One function per projected level: a dict comprehension keeps its fields (at C speed), then
    the few fields projected further are replaced by their projection."""
    lines: List[str] = []
    scope: Dict[str, Any] = {}
    top = _emit(keep, lines, scope, [0])
    exec(compile("\n".join(lines), f"<projection of {kind}>", "exec"), scope)  # noqa: S102 - our own tree
    return scope[top]


def _emit(keep: Keep, out: List[str], scope: Dict[str, Any], counter: List[int]) -> str:
    """The code of a function projecting a dict by `keep` (and of those it calls); its name."""
    counter[0] += 1
    fn, fields = f"p{counter[0]}", f"K{counter[0]}"
    scope[fields] = frozenset(keep)
    deeper = {key: _emit(sub, out, scope, counter) for key, sub in keep.items() if sub is not True}
    out.append(f"def {fn}(o):")
    out.append(f" r = {{k: v for k, v in o.items() if k in {fields}}}")
    for key, sub_fn in deeper.items():
        out.append(f" v = r.get({key!r})")
        out.append(" if v.__class__ is dict:")
        out.append(f"  r[{key!r}] = {sub_fn}(v)")
        out.append(" elif v.__class__ is list:")
        # a list's dict items are projected; anything else is kept as it is (the boundary's to judge)
        out.append(f"  r[{key!r}] = [{sub_fn}(i) if i.__class__ is dict else i for i in v]")
    out.append(" return r")
    return fn


_PROJECT = {resource: _compile(kind, keep_of(kind)) for resource, kind in RESOURCES.items()}


def enabled() -> bool:
    import os
    return os.environ.get(ENV, "").strip().lower() not in ("off", "0", "false", "no")


def project(resource: str, items: List[dict]) -> List[dict]:
    """The LIST items of `resource` projected (a new list; the items of other resources as they are)."""
    fn = _PROJECT.get(resource)
    if fn is None or not enabled():
        return items
    return [fn(o) if o.__class__ is dict else o for o in items]
