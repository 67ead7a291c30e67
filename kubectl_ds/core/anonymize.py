"""A dump made fit for a bug report: names, namespaces, images, label and annotation values, IPs
and free text replaced by pseudonyms, consistently (the same input gives the same pseudonym
everywhere), keeping the structure and what the answers depend on.

Pure: a dump document in, a new one out (`anonymize_dump`), with the `Mapping` that made it.

Consistency is what keeps every answer the same, mapped 1:1: one table maps each original string
to its pseudonym wherever it is a name (an object's, an owner reference's, a pod's nodeName, a
Lease's, an event's involvedObject, matchFields values) or a label value (labels, matchLabels,
matchExpressions values, nodeSelector, node affinity, taint and toleration values), so every
selector still selects what it selected and every reference still points where it did. Names
made from another (a pod `log-agent-x7k2p`, a ControllerRevision `log-agent-6d5f8c7b9`, an event
`log-agent-x7k2p.17a3f`) keep their suffix after the pseudonym of the name they start with.

Kept as they are: kinds, apiVersions, uids, timestamps, resourceVersions, quantities, numbers,
booleans, label/annotation/taint keys, the values of well-known labels (kubernetes.io/*,
k8s.io/*, node-role, topology; but kubernetes.io/hostname and kubernetes.io/metadata.name are
names and mapped as such) and of the annotations the tool reads (deprecated.daemonset.template.
generation, kubectl-ds.io/ignore), hashes (controller-revision-hash, pod-template-hash), the
well-known namespaces (default, kube-system, kube-public, kube-node-lease), system priority
classes, enumerations (type, phase, reason, operator, effect, ...), host paths, and an image's
tag or digest. Everything else that is a string is replaced: a field not listed here is
pseudonymized, never let through. Free text (event messages, condition messages, change-cause)
has every original it contains replaced by its pseudonym.

Pseudonyms are counters in first-seen order (`node-0003`, `ns-0002`, `ds-0001`, `name-0042`,
`registry.invalid/image-0005:1.0`, `10.0.0.7`): they carry nothing of the original (a hash
could be reversed by guessing), and the same dump always gives the same result.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

KEEP_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# label keys whose values are hashes or numbers the controllers write, kept
KEEP_VALUE_KEYS = frozenset({"controller-revision-hash", "pod-template-hash", "pod-template-generation",
                             "statefulset.kubernetes.io/pod-name"})
# annotations the tool reads, whose values are kept
KEEP_ANNOTATIONS = frozenset({"deprecated.daemonset.template.generation", "kubectl-ds.io/ignore"})
# label keys whose values are names (mapped as names)
NAME_VALUE_KEYS = {"kubernetes.io/hostname": "name", "kubernetes.io/metadata.name": "namespace"}
# fields whose string values are enumerations, times, paths or keys: kept
KEEP_FIELDS = frozenset({
    "kind", "apiVersion", "uid", "resourceVersion", "type", "status", "reason", "operator", "effect", "phase",
    "protocol", "imagePullPolicy", "restartPolicy", "dnsPolicy", "preemptionPolicy", "mountPropagation",
    "terminationMessagePath", "terminationMessagePolicy", "topologyKey", "key", "apiGroup",
    "matchLabelKeys", "mismatchLabelKeys", "reportingController",
    "path", "mountPath", "subPath", "policy", "action", "whenUnsatisfiable", "nodeAffinityPolicy",
    "nodeTaintsPolicy", "qosClass", "schedulerName", "conditionType", "resourceName", "storageClassName",
    "maxUnavailable", "maxSurge", "partition", "podManagementPolicy", "fsGroupChangePolicy", "scope",
    "component", "reportingComponent", "handler", "extendedResourceName", "architecture",
    "operatingSystem", "kubeletVersion", "kubeProxyVersion", "osImage", "kernelVersion",
    "containerRuntimeVersion", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
    "compiler", "platform", "major", "minor", "emulationMajor", "emulationMinor", "minCompatibilityMajor",
    "minCompatibilityMinor", "$patch", "signal", "exitCode", "medium", "sizeLimit", "readOnly",
    "generation", "observedGeneration", "collisionCount", "revision", "count", "tool", "version",
})
# resource lists: resource names and quantities kept
QUANTITY_FIELDS = frozenset({"requests", "limits", "capacity", "allocatable", "overhead", "podFixed",
                             "allocatedResources", "claims"})
TIME_FIELD = re.compile(r"(Time|Timestamp|At|Seconds)$")
FREE_TEXT_FIELDS = frozenset({"message", "note", "description", "fieldPath", "kubernetes.io/change-cause"})
_WELL_KNOWN = re.compile(r"^([a-z0-9.-]*\.)?(kubernetes\.io|k8s\.io)/")
_NUMBER_LIKE = re.compile(r"^-?\d+(\.\d+)?%?$")


def well_known(key: str) -> bool:
    """kubernetes.io/*, k8s.io/* and their subdomains (node-role.kubernetes.io/...,
    topology.kubernetes.io/...), but not app.kubernetes.io/*, whose values are the user's.
    """
    return bool(_WELL_KNOWN.match(key)) and not key.startswith("app.kubernetes.io/")


class Mapping:
    """original -> pseudonym, one table per sort of string, in first-seen order."""

    def __init__(self) -> None:
        self.names: Dict[str, str] = {}      # object names, label values, container names, ...
        self.namespaces: Dict[str, str] = {}
        self.images: Dict[str, str] = {}
        self.ips: Dict[str, str] = {}
        self.text: Dict[str, str] = {}       # other strings (annotation values, env values, args)
        self.bases: Dict[str, str] = {}      # names other names are made from (see name())
        self._counts: Dict[str, int] = {}
        self._pattern: Optional[Tuple[int, Dict[str, str]]] = None   # (size, all_pairs()) cached

    def _next(self, prefix: str) -> str:
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}-{self._counts[prefix]:04d}"

    def register(self, original: str, prefix: str) -> None:
        """A base name (a node's, a DaemonSet's...) pseudonymized as PREFIX-NNNN."""
        if original and original not in self.names:
            self.names[original] = self._next(prefix)
        if original:
            self.bases[original] = self.names[original]

    def name(self, s: str) -> str:
        if not s:
            return s
        found = self.names.get(s)
        if found is not None:
            return found
        # made from a base name: the longest base it starts with, followed by "-" or "."
        for i in range(len(s) - 1, 0, -1):
            if s[i] in "-." and s[:i] in self.bases:
                out = self.bases[s[:i]] + s[i:]
                self.names[s] = out
                return out
        if _is_ip(s):
            return self.ip(s)
        out = self.names[s] = self._next("name")
        return out

    def namespace(self, s: str) -> str:
        if not s or s in KEEP_NAMESPACES:
            return s
        if s not in self.namespaces:
            self.namespaces[s] = self._next("ns")
        return self.namespaces[s]

    def label_value(self, key: str, value: str) -> str:
        if not value or value in ("true", "false") or _NUMBER_LIKE.match(value):
            return value
        sort = NAME_VALUE_KEYS.get(key)
        if sort == "namespace":
            return self.namespace(value)
        if sort == "name":
            return self.name(value)
        if key in KEEP_VALUE_KEYS or well_known(key):
            return value
        return self.name(value)

    def image(self, s: str) -> str:
        """registry/path/name:tag@digest -> registry.invalid/image-NNNN:tag@digest."""
        if not s:
            return s
        if s not in self.images:
            rest, digest = (s.split("@", 1) + [""])[:2]
            last = rest.rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else ""
            out = "registry.invalid/" + self._next("image") + (f":{tag}" if tag else "") + \
                (f"@{digest}" if digest else "")
            self.images[s] = out
        return self.images[s]

    def ip(self, s: str) -> str:
        if s in ("0.0.0.0", "::", "127.0.0.1", "::1", ""):
            return s
        if s not in self.ips:
            n = len(self.ips) + 1
            self.ips[s] = f"fd00::{n:x}" if ":" in s else f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        return self.ips[s]

    def other(self, s: str) -> str:
        if not s or s in ("true", "false") or _NUMBER_LIKE.match(s):
            return s
        if s not in self.text:
            self.text[s] = self._next("value")
        return self.text[s]

    def all_pairs(self) -> Dict[str, str]:
        """Every original -> pseudonym (names, namespaces, images, IPs; not the opaque values)."""
        out: Dict[str, str] = {}
        for table in (self.names, self.namespaces, self.images, self.ips):
            for k, v in table.items():
                if k != v:
                    out[k] = v
        return out

    def free_text(self, text: str) -> str:
        """`text` with every original name, namespace, image or IP in it replaced (substitute)."""
        size = len(self.names) + len(self.namespaces) + len(self.images) + len(self.ips)
        if self._pattern is None or self._pattern[0] != size:
            self._pattern = (size, self.all_pairs())
        return substitute(text, self._pattern[1])


_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_RUN = re.compile(r"[A-Za-z0-9_.\-/:@+]+")   # the characters an original can hold


def substitute(text: str, pairs: Dict[str, str]) -> str:
    """`text` with each original of `pairs` in it replaced by its pseudonym, whole words only:
    `log-agent` in `log-agent-x7k2p` is not a word of its own (the pod's whole name is), nor
    `worker-1` in `worker-10`; at each place the longest original wins. A dictionary lookup per
    candidate, not a regex of every original (tens of thousands in a big dump).
    """
    if not pairs or not text:
        return text
    out: List[str] = []
    last = 0
    for run in _RUN.finditer(text):
        chunk, base = run.group(), run.start()
        n = len(chunk)
        ends = [e for e in range(n, 0, -1)
                if e == n or (chunk[e] not in _WORD and not (chunk[e] == "." and e + 1 < n and chunk[e + 1].isalnum()))]
        s = 0
        while s < n:
            if s == 0 or (chunk[s - 1] not in _WORD and chunk[s - 1] != "."):
                hit = next((e for e in ends if e > s and chunk[s:e] in pairs), None)
                if hit is not None:
                    out.append(text[last:base + s])
                    out.append(pairs[chunk[s:hit]])
                    last = base + hit
                    s = hit
                    continue
            s += 1
    out.append(text[last:])
    return "".join(out)


def _is_ip(s: str) -> bool:
    if not (s[:1].isdigit() or ":" in s):
        return False
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


BASE_PREFIX = {"Node": "node", "DaemonSet": "ds", "Deployment": "deploy", "StatefulSet": "sts",
               "ReplicaSet": "rs", "Job": "job", "ReplicationController": "rc", "RuntimeClass": "runtime",
               "DeviceClass": "device"}


def anonymize_dump(doc: dict, mapping: Optional[Mapping] = None, in_place: bool = False) -> dict:
    """A copy of a dump document (a List with items, and a serverVersion) anonymized; with
    `in_place`, its items are rewritten where they are (a big dump is not copied: ~6 s on
    60,000 pods).
    """
    m = mapping if mapping is not None else Mapping()
    items = [i for i in doc.get("items") or [] if isinstance(i, dict)]
    for item in items:   # base names first, so that names made from them read as such
        meta: dict = item["metadata"] if isinstance(item.get("metadata"), dict) else {}
        prefix = BASE_PREFIX.get(item.get("kind", ""))
        if prefix and isinstance(meta.get("name"), str):
            m.register(meta["name"], prefix)
        if isinstance(meta.get("namespace"), str):
            m.namespace(meta["namespace"])
    texts: List[Tuple[Any, Any]] = []
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k != "items"}
    if not in_place:
        items = json.loads(json.dumps(items))   # a copy, several times faster than deepcopy
    out["items"] = [_walk(i, "", m, texts) for i in items]
    for container, key in texts:    # free text last: every name is known by now
        container[key] = m.free_text(container[key])
    by = out.get("dumpedBy")
    if isinstance(by, dict) and isinstance(by.get("notes"), list):   # RBAC's words name users and namespaces
        by["notes"] = [_USER.sub('User "(a user)"', m.free_text(n)) if isinstance(n, str) else n
                       for n in by["notes"]]
    return out


_USER = re.compile(r'User "[^"]*"')


def _walk(value: Any, key: str, m: Mapping, texts: List[Tuple[Any, Any]]) -> Any:
    if isinstance(value, dict):
        for k in list(value):
            value[k] = _field(value, k, m, texts)
        return value
    if isinstance(value, list):
        for i, v in enumerate(value):
            value[i] = _walk(v, key, m, texts) if not isinstance(v, str) else _string(key, v, m)
        return value
    if isinstance(value, str):
        return _string(key, value, m)
    return value


def _field(obj: dict, k: str, m: Mapping, texts: List[Tuple[Any, Any]]) -> Any:
    v = obj[k]
    special = _SPECIAL.get(k)
    if special is not None:
        return special(v, m, texts, obj)
    if isinstance(v, str):
        if k in FREE_TEXT_FIELDS:
            texts.append((obj, k))
            return v
        return _string(k, v, m)
    return _walk(v, k, m, texts)


def _string(key: str, v: str, m: Mapping) -> str:
    if key in KEEP_FIELDS or TIME_FIELD.search(key):
        return v
    if key in ("image", "names"):
        return m.image(v)
    if key in ("namespace", "namespaces"):
        return m.namespace(v)
    if key in ("hostIP", "podIP", "ip", "address", "clusterIP"):
        return m.ip(v) if _is_ip(v) else m.name(v)   # a node's Hostname address is its name
    if key in ("priorityClassName",) and v.startswith("system-"):
        return v
    if key in _NAME_FIELDS:
        return m.name(v)
    return m.other(v)


# fields whose string values are names (mapped through the one name table)
_NAME_FIELDS = frozenset({"name", "nodeName", "nominatedNodeName", "holderIdentity", "host", "serviceAccountName",
                          "serviceAccount", "claimName", "secretName", "runtimeClassName", "priorityClassName",
                          "containerName", "hostname", "subdomain", "reportingInstance", "configMapName",
                          "deviceClassName", "port", "targetPort"})


def _labels(v: Any, m: Mapping, texts, obj) -> Any:
    if not isinstance(v, dict):
        return v
    return {k: m.label_value(k, x) if isinstance(x, str) else x for k, x in v.items()}


def _annotations(v: Any, m: Mapping, texts, obj) -> Any:
    if not isinstance(v, dict):
        return v
    out = {}
    for k, x in v.items():
        if not isinstance(x, str) or k in KEEP_ANNOTATIONS:
            out[k] = x
        elif k in FREE_TEXT_FIELDS:
            out[k] = x
            texts.append((out, k))
        else:
            out[k] = m.other(x)
    return out


def _selector(v: Any, m: Mapping, texts, obj) -> Any:
    """A LabelSelector ({matchLabels, matchExpressions}) or a ReplicationController's plain map."""
    if isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
        return _labels(v, m, texts, obj)
    return _walk(v, "selector", m, texts)


def _requirements(v: Any, m: Mapping, texts, obj) -> Any:
    """The requirements of matchExpressions or matchFields: values by the key they are compared with."""
    if not isinstance(v, list):
        return v
    for req in v:
        if isinstance(req, dict) and isinstance(req.get("values"), list):
            key: str = req["key"] if isinstance(req.get("key"), str) else ""
            req["values"] = [_requirement_value(key, x, m) if isinstance(x, str) else x for x in req["values"]]
    return v


def _requirement_value(key: str, x: str, m: Mapping) -> str:
    if key == "metadata.name":          # matchFields: a node's name
        return m.name(x)
    return m.label_value(key, x)


def _taints(v: Any, m: Mapping, texts, obj) -> Any:
    """Taints and tolerations: the key kept, the value as a label value of that key."""
    if not isinstance(v, list):
        return v
    for t in v:
        if isinstance(t, dict) and isinstance(t.get("value"), str):
            key: str = t["key"] if isinstance(t.get("key"), str) else ""
            t["value"] = m.label_value(key, t["value"])
    return v


def _metadata(v: Any, m: Mapping, texts, obj) -> Any:
    if not isinstance(v, dict):
        return v
    for k in list(v):
        x = v[k]
        if k == "generateName" and isinstance(x, str):
            v[k] = m.name(x[:-1]) + "-" if x.endswith("-") else m.name(x)
        elif k == "managedFields":
            v[k] = []
        else:
            v[k] = _field(v, k, m, texts)
    return v


def _resource_list(v: Any, m: Mapping, texts, obj) -> Any:
    return v


def _keep(v: Any, m: Mapping, texts, obj) -> Any:
    return v


def _node_info(v: Any, m: Mapping, texts, obj) -> Any:
    if not isinstance(v, dict):
        return v
    return {k: (m.other(x) if k in ("machineID", "systemUUID", "bootID") and isinstance(x, str) else x)
            for k, x in v.items()}


def _env(v: Any, m: Mapping, texts, obj) -> Any:
    """Environment variables: the names kept (they say what is configured), the values replaced."""
    if not isinstance(v, list):
        return v
    for e in v:
        if isinstance(e, dict):
            for k in list(e):
                if k != "name":
                    e[k] = _field(e, k, m, texts)
    return v


_SPECIAL: Dict[str, Callable[..., Any]] = {
    "metadata": _metadata, "labels": _labels, "selector": _selector, "matchLabels": _labels, "nodeSelector": _labels,
    "annotations": _annotations, "matchExpressions": _requirements, "matchFields": _requirements,
    "taints": _taints, "tolerations": _taints, "nodeInfo": _node_info, "env": _env,
    "dumpedBy": _keep, **{k: _resource_list for k in QUANTITY_FIELDS},
}
