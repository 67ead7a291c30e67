"""Builders of API-shaped dicts, in the shape `kubectl get -o json` prints (server defaults included).

Tests use them to write cases in a line; examples/generate.py uses them for the bundled dump.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Dict, List, Optional

T0 = "2026-11-01T10:00:00Z"


def _uid(kind: str, name: str, ns: str = "") -> str:
    h = hashlib.sha1(f"{kind}/{ns}/{name}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def taint(key: str, value: str = "", effect: str = "NoSchedule", time_added: Optional[str] = None) -> dict:
    t = {"key": key, "effect": effect}
    if value:
        t["value"] = value
    if time_added:
        t["timeAdded"] = time_added
    return t


def toleration(key: str = "", operator: str = "Equal", value: str = "", effect: str = "",
               seconds: Optional[int] = None) -> dict:
    t = {"key": key, "operator": operator} if key else {"operator": operator}
    if value:
        t["value"] = value
    if effect:
        t["effect"] = effect
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


def node(name: str, labels: Optional[Dict[str, str]] = None, taints: Optional[List[dict]] = None,
         ready: str = "True", unschedulable: bool = False, cpu: str = "4", memory: str = "16Gi",
         pods: str = "110", created: str = T0, deleting: bool = False) -> dict:
    lbl = {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    lbl.update(labels or {})
    obj = {"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "uid": _uid("Node", name), "labels": lbl,
                        "creationTimestamp": created, "resourceVersion": "1000"},
           "spec": {"podCIDR": "10.244.0.0/24"},
           "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"},
                      "capacity": {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"},
                      "conditions": [
                          {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                           "lastHeartbeatTime": T0, "lastTransitionTime": T0},
                          {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                           "lastHeartbeatTime": T0, "lastTransitionTime": T0},
                          {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                           "lastHeartbeatTime": T0, "lastTransitionTime": T0},
                          {"type": "Ready", "status": ready,
                           "reason": "KubeletReady" if ready == "True" else "NodeStatusUnknown",
                           "message": "kubelet is posting ready status" if ready == "True"
                           else "Kubelet stopped posting node status.",
                           "lastHeartbeatTime": T0, "lastTransitionTime": T0}],
                      "nodeInfo": {"kubeletVersion": "v1.33.13", "operatingSystem": "linux",
                                   "architecture": "amd64"}}}
    if taints:
        obj["spec"]["taints"] = taints
    if unschedulable:
        obj["spec"]["unschedulable"] = True
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-11-02T00:00:00Z"
    return obj


def container(name: str = "agent", image: str = "registry.example/agent:1.0", requests: Optional[dict] = None,
              limits: Optional[dict] = None, ports: Optional[List[dict]] = None) -> dict:
    c = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "resources": {},
         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    if requests:
        c["resources"]["requests"] = requests
    if limits:
        c["resources"]["limits"] = limits
    if ports:
        c["ports"] = ports
    return c


def daemonset(name: str, namespace: str = "default", labels: Optional[Dict[str, str]] = None,
              node_selector: Optional[Dict[str, str]] = None, affinity: Optional[dict] = None,
              tolerations: Optional[List[dict]] = None, host_network: bool = False,
              node_name: str = "", containers: Optional[List[dict]] = None, generation: int = 1,
              template_generation: Optional[int] = 1, max_unavailable=1, max_surge=0,
              strategy: str = "RollingUpdate", min_ready_seconds: int = 0, status: Optional[dict] = None,
              selector: Optional[dict] = None) -> dict:
    lbl = labels or {"app": name}
    spec = {"containers": containers or [container()], "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = affinity
    if tolerations:
        spec["tolerations"] = tolerations
    if host_network:
        spec["hostNetwork"] = True
        spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    if node_name:
        spec["nodeName"] = node_name
    ann = {}
    if template_generation is not None:
        ann["deprecated.daemonset.template.generation"] = str(template_generation)
    strat = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxUnavailable": max_unavailable, "maxSurge": max_surge}
    obj = {"apiVersion": "apps/v1", "kind": "DaemonSet",
           "metadata": {"name": name, "namespace": namespace, "uid": _uid("DaemonSet", name, namespace),
                        "generation": generation, "annotations": ann, "labels": dict(lbl),
                        "creationTimestamp": T0, "resourceVersion": "2000"},
           "spec": {"selector": selector or {"matchLabels": dict(lbl)},
                    "template": {"metadata": {"labels": dict(lbl)}, "spec": spec},
                    "updateStrategy": strat, "revisionHistoryLimit": 10},
           "status": status if status is not None else {
               "currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0,
               "numberReady": 0, "observedGeneration": generation}}
    if min_ready_seconds:
        obj["spec"]["minReadySeconds"] = min_ready_seconds
    return obj


def affinity_terms(*terms: dict) -> dict:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def term(*exprs: dict, fields: Optional[List[dict]] = None) -> dict:
    t = {}
    if exprs:
        t["matchExpressions"] = list(exprs)
    if fields:
        t["matchFields"] = fields
    return t


def expr(key: str, operator: str, *values: str) -> dict:
    e = {"key": key, "operator": operator}
    if values:
        e["values"] = list(values)
    return e


def revision(ds: dict, hash: str, number: int, image: Optional[str] = None) -> dict:
    tmpl = copy.deepcopy(ds["spec"]["template"])
    if image:
        tmpl["spec"]["containers"][0]["image"] = image
    tmpl["$patch"] = "replace"
    ns, name = ds["metadata"]["namespace"], f"{ds['metadata']['name']}-{hash}"
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": ns, "uid": _uid("ControllerRevision", name, ns),
                         "labels": {**ds["spec"]["template"]["metadata"]["labels"], "controller-revision-hash": hash},
                         "annotations": dict(ds["metadata"].get("annotations") or {}),
                         "ownerReferences": [_owner(ds)], "creationTimestamp": T0},
            "data": {"spec": {"template": tmpl}}, "revision": number}


def _owner(ds: dict) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds["metadata"]["name"],
            "uid": ds["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def daemon_pod(ds: dict, node_name: str, hash: str = "abc123", suffix: str = "", phase: str = "Running",
               ready: bool = True, bound: bool = True, created: str = T0, generation: Optional[int] = 1,
               waiting: str = "", owned: bool = True, deleting: bool = False, ready_since: str = T0,
               image: Optional[str] = None) -> dict:
    """A pod as the DaemonSet controller creates it (injected affinity and tolerations), after binding."""
    from kubectl_ds.core.taints import daemon_tolerations
    tmpl = copy.deepcopy(ds["spec"]["template"])
    spec = tmpl["spec"]
    spec["tolerations"] = daemon_tolerations(spec.get("tolerations"), bool(spec.get("hostNetwork")))
    spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})[
        "requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    if image:
        spec["containers"][0]["image"] = image
    if bound:
        spec["nodeName"] = node_name
    ns = ds["metadata"]["namespace"]
    suffix = suffix or hashlib.sha1((ds["metadata"]["name"] + node_name).encode()).hexdigest()[:5]
    name = f"{ds['metadata']['name']}-{suffix}"
    lbl = dict(tmpl["metadata"]["labels"], **{"controller-revision-hash": hash})
    if generation is not None:
        lbl["pod-template-generation"] = str(generation)
    conds = [{"type": "PodScheduled", "status": "True" if bound else "False", "lastTransitionTime": created}]
    status = {"phase": phase, "qosClass": "BestEffort"}
    if bound:
        status["hostIP"] = "10.0.0.1"
        conds += [{"type": "Initialized", "status": "True", "lastTransitionTime": created},
                  {"type": "ContainersReady", "status": "True" if ready else "False",
                   "lastTransitionTime": ready_since},
                  {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_since}]
        cs = []
        for c in spec["containers"]:
            state = {"running": {"startedAt": created}} if not waiting else {"waiting": {"reason": waiting}}
            cs.append({"name": c["name"], "image": c["image"], "ready": ready, "restartCount": 0,
                       "started": not waiting, "state": state})
        if phase in ("Running", "Pending"):
            status["containerStatuses"] = cs
    else:
        conds[0].update(reason="Unschedulable", message="0/1 nodes are available")
    status["conditions"] = conds
    meta = {"name": name, "namespace": ns, "uid": _uid("Pod", name, ns), "labels": lbl,
            "creationTimestamp": created, "generateName": ds["metadata"]["name"] + "-"}
    if owned:
        meta["ownerReferences"] = [_owner(ds)]
    if deleting:
        meta["deletionTimestamp"] = "2026-11-02T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def plain_pod(name: str, node_name: str, namespace: str = "default", requests: Optional[dict] = None,
              ports: Optional[List[dict]] = None, phase: str = "Running") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": _uid("Pod", name, namespace),
                         "creationTimestamp": T0, "labels": {"app": name}},
            "spec": {"nodeName": node_name, "containers": [container(name, requests=requests, ports=ports)],
                     "restartPolicy": "Always", "schedulerName": "default-scheduler"},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}}


def event(obj: dict, reason: str, message: str, type_: str = "Warning", when: str = T0) -> dict:
    meta = obj["metadata"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{hashlib.sha1(message.encode()).hexdigest()[:10]}",
                         "namespace": meta.get("namespace", "default"), "creationTimestamp": when},
            "involvedObject": {"kind": obj["kind"], "name": meta["name"], "namespace": meta.get("namespace", ""),
                               "uid": meta["uid"], "apiVersion": obj["apiVersion"]},
            "reason": reason, "message": message, "type": type_, "count": 1,
            "firstTimestamp": when, "lastTimestamp": when, "source": {"component": "default-scheduler"}}


def dump(*groups) -> dict:
    items = []
    for g in groups:
        items.extend(g if isinstance(g, list) else [g])
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


# The unit tables were derived from Kubernetes v1.33's controller and scheduler: the rules they
# are judged by unless a test says otherwise (tests of later minors name theirs).
def fit_ctx(minor: int = 33, patch=None):
    from kubectl_ds.core.fit import context
    from kubectl_ds.core.versions import rules_for
    return context(rules_for(minor, patch))


V133 = fit_ctx(33)
