"""The boundary: what comes in from a dump, an API response or a manifest is checked here, once,
before the core sees it.

Two things live here:

- the shapes the core relies on, kind by kind (`check`): objects where it reads objects, lists where
  it iterates, strings, integers and booleans where it compares or counts, quantities that parse,
  are finite and in range, and requests that are not negative. `null` is accepted for any field
  (the API reads it as "not set"), never as a list item. Fields the core never reads are not looked
  at. A bad object is one line naming the source, the object and the field
  (`dump.json: Node worker-3: spec.taints is not a list`); an Event or a Lease, which only inform
  an answer, is skipped with a warning instead (`skipped`).
- the limits on input text (`read_limited`, `loads_json`): size (KUBECTL_DS_MAX_INPUT, default
  1 GiB), JSON nesting depth (MAX_DEPTH), numbers JSON has no spelling for (Infinity, NaN, 1e400).
  The YAML limits (depth, alias expansion) are in source/yaml_text.py. docs/snapshots.md "Limits".

Nothing here prints but `response`, for the live source: SnapshotSource says what it skipped.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

from kubectl_ds.core.quantity import QuantityOutOfRange, parse_quantity
from kubectl_ds.errors import DsError

MAX_DEPTH = 100                      # nesting levels of JSON or YAML
DEFAULT_MAX_INPUT = 1 << 30          # bytes of one dump or manifest (KUBECTL_DS_MAX_INPUT)
SKIPPABLE = ("Event", "Lease")       # kinds that only inform an answer: a bad one is skipped
_CHUNK = 1 << 20


class Refused(Exception):
    """Input beyond a limit, or a number JSON cannot carry; callers prefix what was being read."""


# --- the shapes ---------------------------------------------------------------------------
#
# A shape is data: a dict (an object: field -> shape), [shape] (a list of it), or a leaf name.
# Each kind's shape is compiled once into one straight-line Python function (no call per field:
# a 60,000-pod dump has millions of them), which returns None or (path, what is wrong).

STR, INT, BOOL, PORT, SCALAR, OBJECT, STR_MAP, QUANTITIES = (
    "str", "int", "bool", "port", "scalar", "object", "str_map", "quantities")
_CLASS = {STR: ("str", "is not a string"), INT: ("int", "is not an integer"), BOOL: ("bool", "is not a boolean")}

_REQUIREMENTS = [{"key": STR, "operator": STR, "values": [STR]}]
_LABEL_SELECTOR = {"matchLabels": STR_MAP, "matchExpressions": _REQUIREMENTS}
_TERM = {"matchExpressions": _REQUIREMENTS, "matchFields": _REQUIREMENTS}
_POD_TERM = {"labelSelector": _LABEL_SELECTOR, "namespaces": [STR], "topologyKey": STR}
_POD_AFFINITY = {"requiredDuringSchedulingIgnoredDuringExecution": [_POD_TERM],
                 "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": INT, "podAffinityTerm": _POD_TERM}]}
_AFFINITY = {
    "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [_TERM]},
                     "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": INT, "preference": _TERM}]},
    "podAffinity": _POD_AFFINITY, "podAntiAffinity": _POD_AFFINITY}
_RESOURCES = {"requests": QUANTITIES, "limits": QUANTITIES}
_CONTAINER = {
    "name": STR, "image": STR, "restartPolicy": STR, "resources": _RESOURCES,
    "ports": [{"name": STR, "containerPort": PORT, "hostPort": PORT, "hostIP": STR, "protocol": STR}],
    "env": [{"name": STR}], "volumeMounts": [{"name": STR, "mountPath": STR, "subPath": STR, "readOnly": BOOL}],
    "securityContext": {"privileged": BOOL}, "readinessProbe": OBJECT, "livenessProbe": OBJECT,
    "restartPolicyRules": [{"action": STR}]}
_POD_SPEC = {
    "nodeName": STR, "nodeSelector": STR_MAP, "affinity": _AFFINITY,
    "tolerations": [{"key": STR, "operator": STR, "value": STR, "effect": STR, "tolerationSeconds": INT}],
    "containers": [_CONTAINER], "initContainers": [_CONTAINER],
    "volumes": [{"name": STR, "hostPath": {"path": STR}}],
    "hostNetwork": BOOL, "hostPID": BOOL, "hostIPC": BOOL, "hostUsers": BOOL,
    "overhead": QUANTITIES, "resources": _RESOURCES, "runtimeClassName": STR, "priorityClassName": STR,
    "priority": INT, "preemptionPolicy": STR, "restartPolicy": STR}
_TEMPLATE = {"metadata": {"labels": STR_MAP, "annotations": STR_MAP}, "spec": _POD_SPEC}
_CONDITIONS = [{"type": STR, "status": STR, "reason": STR, "message": STR,
                "lastTransitionTime": STR, "lastHeartbeatTime": STR}]
_META = {"name": STR, "namespace": STR, "uid": STR, "labels": STR_MAP, "annotations": STR_MAP, "generation": INT,
         "creationTimestamp": STR, "deletionTimestamp": STR, "resourceVersion": STR,
         "ownerReferences": [{"apiVersion": STR, "kind": STR, "name": STR, "uid": STR, "controller": BOOL}]}
_STATE = {"waiting": {"reason": STR, "message": STR},
          "terminated": {"reason": STR, "message": STR, "exitCode": INT, "signal": INT},
          "running": {"startedAt": STR}}
_CONTAINER_STATUSES = [{"name": STR, "image": STR, "ready": BOOL, "started": BOOL, "restartCount": INT,
                        "state": _STATE, "lastState": _STATE, "resources": _RESOURCES,
                        "allocatedResources": QUANTITIES}]
_WORKLOAD_SPEC = {"replicas": INT, "selector": _LABEL_SELECTOR, "template": _TEMPLATE, "minReadySeconds": INT}
_EVENT_OBJECT = {"kind": STR, "name": STR, "namespace": STR, "uid": STR}

SHAPES: Dict[str, Dict[str, Any]] = {
    "Node": {
        "spec": {"taints": [{"key": STR, "value": STR, "effect": STR, "timeAdded": STR}], "unschedulable": BOOL},
        "status": {"allocatable": QUANTITIES, "capacity": QUANTITIES, "conditions": _CONDITIONS,
                   "nodeInfo": {"kubeletVersion": STR}, "declaredFeatures": [STR]}},
    "DaemonSet": {
        "spec": {"selector": _LABEL_SELECTOR, "template": _TEMPLATE, "minReadySeconds": INT,
                 "revisionHistoryLimit": INT,
                 "updateStrategy": {"type": STR, "rollingUpdate": {"maxUnavailable": SCALAR, "maxSurge": SCALAR}}},
        "status": {"observedGeneration": INT, "desiredNumberScheduled": INT, "currentNumberScheduled": INT,
                   "numberMisscheduled": INT, "numberReady": INT, "numberAvailable": INT,
                   "updatedNumberScheduled": INT, "numberUnavailable": INT, "conditions": _CONDITIONS}},
    "Pod": {
        "spec": _POD_SPEC,
        "status": {"phase": STR, "reason": STR, "message": STR, "conditions": _CONDITIONS, "startTime": STR,
                   "containerStatuses": _CONTAINER_STATUSES, "initContainerStatuses": _CONTAINER_STATUSES,
                   "resources": _RESOURCES, "allocatedResources": QUANTITIES}},
    "ControllerRevision": {"revision": INT, "data": {"spec": {"template": _TEMPLATE}}},
    "Event": {"involvedObject": _EVENT_OBJECT, "regarding": _EVENT_OBJECT, "reason": STR, "message": STR,
              "note": STR, "type": STR, "lastTimestamp": STR, "eventTime": STR,
              "series": {"lastObservedTime": STR}},
    "Lease": {"spec": {"renewTime": STR, "holderIdentity": STR}},
    "Deployment": {"spec": _WORKLOAD_SPEC},
    "StatefulSet": {"spec": _WORKLOAD_SPEC},
    "ReplicaSet": {"spec": _WORKLOAD_SPEC},
    "Job": {"spec": {"selector": _LABEL_SELECTOR, "template": _TEMPLATE}},
    "ReplicationController": {"spec": {"replicas": INT, "selector": STR_MAP, "template": _TEMPLATE}},
    "DeviceClass": {"spec": {"extendedResourceName": STR}},
    "RuntimeClass": {"handler": STR, "overhead": {"podFixed": QUANTITIES}},
}


def _a(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _str_map(v) -> Optional[Tuple[str, str]]:
    if v.__class__ is not dict:
        return "", "is not an object"
    for k, x in v.items():
        if x.__class__ is not str:
            return f".{k}", "is not a string"
    return None


_QTY_SEEN: Dict[str, bool] = {}   # quantity text -> negative: a dump repeats a few values thousands of times


def _quantities(v) -> Optional[Tuple[str, str]]:
    """A ResourceList (requests, limits, allocatable, overhead): quantities, none negative."""
    if v.__class__ is not dict:
        return "", "is not an object"
    for k, x in v.items():
        negative = _QTY_SEEN.get(x) if x.__class__ is str else None
        if negative is None:
            if x.__class__ is bool or not isinstance(x, (str, int, float)):
                return f".{k}", f"is not a quantity ({_a(x)})"
            try:
                negative = parse_quantity(x) < 0
            except QuantityOutOfRange:
                return f".{k}", f"is out of range: {_short(x)}"
            except ValueError:
                return f".{k}", f"is not a quantity: {_short(x)}"
            if x.__class__ is str and len(_QTY_SEEN) < 100_000:
                _QTY_SEEN[x] = negative
        if negative:
            return f".{k}", f"is negative: {_short(x)}"
    return None


_MEMO: List[Any] = []   # the last value that passed, per list of objects or map in the shapes


def _emit(shape, var: str, path: str, depth: int, out: List[str], pad: str) -> None:
    """The lines that check `var` (not None) against `shape`; `path` is an f-string body."""
    if isinstance(shape, dict):
        out.append(f"{pad}if {var}.__class__ is not dict: return f'{path}', 'is not an object'")
        get = f"g{depth}"
        out.append(f"{pad}{get} = {var}.get")
        x = f"x{depth}"
        for key, sub in shape.items():
            out.append(f"{pad}{x} = {get}({key!r})")
            if isinstance(sub, str) and sub in _CLASS:
                cls, what = _CLASS[sub]
                out.append(f"{pad}if {x}.__class__ is not {cls} and {x} is not None: "
                           f"return f'{path}.{key}', {what!r}")
            else:
                out.append(f"{pad}if {x} is not None:")
                _emit(sub, x, f"{path}.{key}", depth + 1, out, pad + " ")
    elif isinstance(shape, list):
        _emit_list(shape[0], var, path, depth, out, pad)
    elif shape == PORT:
        out.append(f"{pad}if {var}.__class__ is not int or not 0 <= {var} <= 65535: "
                   f"return f'{path}', 'is not a port number (0-65535)'")
    elif shape == SCALAR:   # an IntOrString (maxUnavailable): lint reports a malformed one
        out.append(f"{pad}if {var}.__class__ is dict or {var}.__class__ is list: "
                   f"return f'{path}', 'is not an integer or a string'")
    elif shape == OBJECT:
        out.append(f"{pad}if {var}.__class__ is not dict: return f'{path}', 'is not an object'")
    elif shape in (STR_MAP, QUANTITIES):
        slot = len(_MEMO)
        _MEMO.append(None)
        out.append(f"{pad}if {var} != _MEMO[{slot}]:")
        out.append(f"{pad} e = _{shape}({var})")
        out.append(f"{pad} if e is not None: return f'{path}' + e[0], e[1]")
        out.append(f"{pad} _MEMO[{slot}] = {var}")
    elif shape in _CLASS:
        cls, what = _CLASS[shape]
        out.append(f"{pad}if {var}.__class__ is not {cls}: return f'{path}', {what!r}")
    else:  # pragma: no cover - a typo in SHAPES
        raise ValueError(f"unknown shape {shape!r}")


def _emit_list(item, var: str, path: str, depth: int, out: List[str], pad: str) -> None:
    i, y = f"i{depth}", f"y{depth}"
    out.append(f"{pad}if {var}.__class__ is not list: return f'{path}', 'is not a list'")
    if isinstance(item, dict):
        # the same list again (the tolerations, containers, ownerReferences of every pod of a
        # DaemonSet) is not checked again: one comparison in C instead of a field at a time
        # (equal values: a 1 equal to a True passes as the True did; the core reads both alike)
        slot = len(_MEMO)
        _MEMO.append(None)
        out.append(f"{pad}if {var} != _MEMO[{slot}]:")
        pad += " "
    out.append(f"{pad}for {i}, {y} in enumerate({var}):")
    if isinstance(item, dict):
        out.append(f"{pad} if {y}.__class__ is not dict: "
                   f"return f'{path}', f'is not a list of objects (item {{{i}}} is {{_a({y})}})'")
        _emit(item, y, f"{path}[{{{i}}}]", depth + 1, out, pad + " ")
        out.append(f"{pad}_MEMO[{slot}] = {var}")
    elif isinstance(item, str) and item in _CLASS:
        cls, what = _CLASS[item]
        out.append(f"{pad} if {y}.__class__ is not {cls}: return f'{path}[{{{i}}}]', {what!r}")
    else:
        _emit(item, y, f"{path}[{{{i}}}]", depth + 1, out, pad + " ")


def _compile(kind: str, shape: Dict[str, Any]) -> Callable[[dict], Optional[Tuple[str, str]]]:
    lines = [f"def check_{kind}(o):"]
    _emit(dict(shape, metadata=_META), "o", "", 0, lines, " ")
    lines.append(" return None")
    scope: Dict[str, Any] = {"_a": _a, "_str_map": _str_map, "_quantities": _quantities, "_MEMO": _MEMO}
    exec(compile("\n".join(lines), f"<shape of {kind}>", "exec"), scope)  # noqa: S102 - our own SHAPES
    return scope[f"check_{kind}"]


# compiled on a kind's first check, not at import: each is ~1-13 ms of every run's start, and most
# commands read a few of the kinds (two threads compiling the same kind at once is harmless)
_CHECKS: Dict[str, Callable[[dict], Optional[Tuple[str, str]]]] = {}
KINDS = tuple(SHAPES)


def _check_of(kind: str) -> Optional[Callable[[dict], Optional[Tuple[str, str]]]]:
    fn = _CHECKS.get(kind)
    if fn is None and kind in SHAPES:
        fn = _CHECKS[kind] = _compile(kind, SHAPES[kind])
    return fn


def describe(obj: dict, kind: str) -> str:
    """`Node worker-3`, `Pod kube-system/agent-x`: an object as errors name it."""
    meta = obj.get("metadata")
    nm = meta.get("name") if isinstance(meta, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    nm = nm if isinstance(nm, str) and nm else "(no name)"
    return f"{kind} {ns}/{nm}" if isinstance(ns, str) and ns else f"{kind} {nm}"


def problem(obj: Any, kind: str) -> Optional[str]:
    """What is wrong with `obj` as a `kind` ("spec.taints is not a list"), or None (also for a kind
    the core does not read)."""
    check_kind = _check_of(kind)
    if check_kind is None:
        return None
    if obj.__class__ is not dict:
        return f"is {_a(obj)}, not an object"
    bad = check_kind(obj)
    return None if bad is None else f"{bad[0][1:]} {bad[1]}"


def check(obj: Any, kind: str, where: str) -> Optional[str]:
    """None if `obj` is fine; the text of a warning if it should be skipped (an Event, a Lease);
    DsError naming `where`, the object and the field otherwise."""
    why = problem(obj, kind)
    if why is None:
        return None
    what = f"{describe(obj, kind) if isinstance(obj, dict) else kind}: {why}"
    if kind in SKIPPABLE:
        return what
    raise DsError(f"{where}: {what}")


def skipped(where: str, whats: List[str]) -> str:
    """One warning line for every object skipped from `where`."""
    more = f" (and {len(whats) - 1} more malformed Events or Leases)" if len(whats) > 1 else ""
    return f"warning: {where}: skipped {whats[0]}{more}"


def check_response(doc: Any, verb: str, resource: str, where: str) -> Tuple[Any, List[str]]:
    """An API response (a `get` object or a `list` page) checked as the `resource` it is;
    the bad Events or Leases are dropped from a page: (doc, warnings)."""
    kind = _RESOURCE_KINDS.get(resource)
    if kind is None:
        return doc, []
    if verb != "list":
        why = check(doc, kind, where)
        return doc, [skipped(where, [why])] if why else []
    if not isinstance(doc, dict) or not isinstance(doc.get("items") or [], list):
        raise DsError(f"{where}: the {resource} list has no list of items")
    kept, whats = [], []
    for item in doc.get("items") or ():
        why = check(item, kind, where)
        if why is None:
            kept.append(item)
        else:
            whats.append(why)
    if whats:
        doc["items"] = kept
        return doc, [skipped(where, whats)]
    return doc, []


def response(data, verb: str, resource: str) -> Any:
    """An API response body parsed (loads_json) and checked (check_response); what was skipped is
    one warning line on stderr. ValueError for a body that is not JSON."""
    where = f"{verb} {resource} from the apiserver"
    try:
        doc = loads_json(data)
    except Refused as why:
        raise DsError(f"{where}: the response is refused: {why}") from None
    doc, warnings = check_response(doc, verb, resource, where)
    if warnings:
        from kubectl_ds.env import say
        for line in warnings:
            say(line, err=True)
    return doc


_RESOURCE_KINDS = {"nodes": "Node", "daemonsets": "DaemonSet", "pods": "Pod", "controllerrevisions":
                   "ControllerRevision", "events": "Event", "leases": "Lease", "deployments": "Deployment",
                   "statefulsets": "StatefulSet", "replicasets": "ReplicaSet", "jobs": "Job",
                   "replicationcontrollers": "ReplicationController", "deviceclasses": "DeviceClass",
                   "runtimeclasses": "RuntimeClass"}


# --- the limits on input text -------------------------------------------------------------

def max_input() -> int:
    """The size limit in bytes: KUBECTL_DS_MAX_INPUT (a quantity: 2Gi, 500Mi, 1000000), else 1 GiB."""
    text = os.environ.get("KUBECTL_DS_MAX_INPUT", "").strip()
    if not text:
        return DEFAULT_MAX_INPUT
    try:
        value = int(parse_quantity(text))
    except ValueError:
        value = 0
    if value <= 0:
        raise DsError(f"KUBECTL_DS_MAX_INPUT={text!r} is not a size in bytes (e.g. 2Gi)")
    return value


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def read_limited(fh, limit: Optional[int] = None) -> bytes:
    """All of a binary stream, refused (Refused) beyond `limit` bytes (max_input()) or when it is
    only NUL bytes (/dev/zero): memory stays within the limit, reads within 1 MiB chunks for
    anything but a regular file (a FIFO, a device, stdin)."""
    limit = max_input() if limit is None else limit
    too_big = Refused(f"larger than {_size(limit)}, the input limit (KUBECTL_DS_MAX_INPUT raises it)")
    try:
        regular = stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        regular = False
    if regular:
        if os.fstat(fh.fileno()).st_size > limit:
            raise too_big
        raw = fh.read(limit + 1)
        if len(raw) > limit:
            raise too_big
        return raw
    buf = bytearray()
    while True:
        chunk = fh.read(_CHUNK) if not hasattr(fh, "read1") else fh.read1(_CHUNK)
        if isinstance(chunk, str):   # a text stream (a test's stdin)
            chunk = chunk.encode("utf-8")
        if not chunk:
            return bytes(buf)
        if chunk.count(0) == len(chunk) and not buf:
            raise Refused("it is only NUL bytes, not JSON or YAML text")
        if len(buf) + len(chunk) > limit:
            raise too_big
        buf += chunk


def _no_constant(name: str):
    raise Refused(f"{name} is not a number (JSON has no infinities or NaN)")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise Refused(f"the number {_short(text)[1:-1]} is out of range")
    return value


def loads_json(raw) -> Any:
    """json.loads with the limits: Refused for Infinity, NaN, a float beyond the double range
    (1e400) or nesting deeper than MAX_DEPTH; ValueError for text that is not JSON.

    The depth: the C decoder counts each level against the interpreter's recursion limit, so the
    limit is lowered while decoding to the lowest at which a MAX_DEPTH-deep probe still decodes,
    found from here (frames entered from C count more than one). From Python 3.12 the decoder
    has its own, higher, limit: a RecursionError there is refused just the same. No walk over the
    parsed objects, which would cost a second or more on a 60,000-pod dump.
    """
    old = sys.getrecursionlimit()
    probe = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    frame: Any = sys._getframe()
    limit = MAX_DEPTH
    while frame is not None:
        limit += 1
        frame = frame.f_back
    try:
        while limit < old:
            try:
                sys.setrecursionlimit(limit)
                json.loads(probe)
                break
            except RecursionError:
                limit += 1
        else:
            sys.setrecursionlimit(old)
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise Refused(f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        sys.setrecursionlimit(old)
