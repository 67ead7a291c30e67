"""Builds examples/snapshot.json, the README's offline cluster (run: python -m tests.make_example).

A small cluster with the classic DaemonSet mistakes: log-agent lacks the control-plane and GPU
tolerations and is Pending for cpu on a full node; node-exporter's nodeSelector has a typo
(`kubernetes.io/os: Linux`); net-agent's rollout is stuck on an image that cannot be pulled.
For `lint`: log-agent may take 50% of its nodes down at once and mounts the container runtime's
directory writable; node-exporter surges with a host port (kubernetes#106417) and shares the
node's network and process namespaces; net-agent tolerates every taint and runs privileged (its
hostNetwork is accepted with the kubectl-ds.io/ignore annotation); gpu-device-plugin is clean; the
metrics-relay Deployment is a DaemonSet in disguise (one replica per node, by anti-affinity), while
the prometheus StatefulSet's anti-affinity only spreads two replicas. The Deployment's and
StatefulSet's pods are left out of the dump: they change no answer here.
"""

from __future__ import annotations

import json
import sys

from tests.builders import (
    affinity_terms,
    container,
    daemon_pod,
    daemonset,
    dump,
    event,
    expr,
    node,
    plain_pod,
    revision,
    taint,
    term,
    toleration,
)

LATER = "2026-11-20T08:00:00Z"


def _probe(port) -> dict:
    return {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 10}


def _host_path(volume: str, path: str) -> dict:
    return {"name": volume, "hostPath": {"path": path, "type": "Directory"}}


def _one_per_node(kind: str, wl_name: str, ns: str, replicas: int) -> dict:
    """A Deployment or StatefulSet whose pods refuse to share a node (required anti-affinity)."""
    lbl = {"app": wl_name}
    spec = {"containers": [container(wl_name, f"registry.example/{wl_name}:1.0",
                                     requests={"cpu": "100m", "memory": "128Mi"})],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": dict(lbl)}, "topologyKey": "kubernetes.io/hostname"}]}},
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"}
    obj = {"apiVersion": "apps/v1", "kind": kind,
           "metadata": {"name": wl_name, "namespace": ns, "uid": f"{kind.lower()}-{wl_name}-0000",
                        "generation": 1, "labels": dict(lbl), "creationTimestamp": "2026-11-01T10:00:00Z"},
           "spec": {"replicas": replicas, "selector": {"matchLabels": dict(lbl)},
                    "template": {"metadata": {"labels": dict(lbl)}, "spec": spec}},
           "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                      "availableReplicas": replicas, "updatedReplicas": replicas}}
    if kind == "StatefulSet":
        obj["spec"]["serviceName"] = wl_name
    return obj


def build() -> dict:
    nodes = [
        node("cp-1", labels={"node-role.kubernetes.io/control-plane": ""},
             taints=[taint("node-role.kubernetes.io/control-plane")]),
        node("worker-1", labels={"disktype": "ssd"}),
        node("worker-2", labels={"disktype": "ssd"}),
        node("worker-3", unschedulable=True, taints=[taint("node.kubernetes.io/unschedulable", time_added=LATER)]),
        node("worker-4", ready="Unknown", taints=[
            taint("node.kubernetes.io/unreachable", time_added=LATER),
            taint("node.kubernetes.io/unreachable", effect="NoExecute", time_added=LATER)]),
        node("worker-5", cpu="1", memory="2Gi"),
        node("gpu-1", labels={"accelerator": "nvidia-a100"}, taints=[taint("nvidia.com/gpu", "present")]),
    ]
    items = list(nodes)
    # 1. log-agent: no control-plane / gpu toleration; requests 200m cpu, worker-5 is full
    fluent_bit = container("fluent-bit", "registry.example/fluent-bit:3.1",
                           requests={"cpu": "200m", "memory": "128Mi"}, limits={"memory": "256Mi"})
    fluent_bit["volumeMounts"] = [{"name": "varlog", "mountPath": "/var/log", "readOnly": True},
                                  {"name": "containers", "mountPath": "/var/lib/docker/containers"},
                                  {"name": "state", "mountPath": "/var/lib/fluent-bit"}]
    log = daemonset("log-agent", "logging", containers=[fluent_bit], max_unavailable="50%",
        status={"currentNumberScheduled": 4, "desiredNumberScheduled": 4, "numberAvailable": 3,
                "numberMisscheduled": 1, "numberReady": 3, "numberUnavailable": 1, "observedGeneration": 1,
                "updatedNumberScheduled": 4})
    log["spec"]["template"]["spec"]["volumes"] = [
        _host_path("varlog", "/var/log"), _host_path("containers", "/var/lib/docker/containers"),
        _host_path("state", "/var/lib/fluent-bit")]
    items += [log, revision(log, "6d5f8c7b9", 1)]
    for n in ("worker-1", "worker-2", "worker-3", "worker-4"):
        items.append(daemon_pod(log, n, hash="6d5f8c7b9"))
    pending = daemon_pod(log, "worker-5", hash="6d5f8c7b9", phase="Pending", ready=False, bound=False,
                         created=LATER, suffix="x7k2p")
    items.append(pending)
    items.append(plain_pod("batch-worker", "worker-5", "jobs", requests={"cpu": "900m", "memory": "1Gi"}))
    items.append(event(pending, "FailedScheduling",
                       "0/7 nodes are available: 1 Insufficient cpu. preemption: 0/7 nodes are available: "
                       "1 No preemption victims found for incoming pod, 6 Preemption is not helpful for scheduling.",
                       when=LATER))
    # 2. node-exporter: nodeSelector typo, runs nowhere
    node_exporter = container("node-exporter", "quay.example/node-exporter:v1.8.2",
                              requests={"cpu": "50m", "memory": "64Mi"},
                              ports=[{"containerPort": 9100, "hostPort": 9100, "name": "metrics", "protocol": "TCP"}])
    node_exporter.update(readinessProbe=_probe("metrics"), livenessProbe=_probe("metrics"),
                         volumeMounts=[{"name": "root", "mountPath": "/host/root", "readOnly": True}])
    exporter = daemonset("node-exporter", "monitoring", node_selector={"kubernetes.io/os": "Linux"},
                         host_network=True, tolerations=[toleration(operator="Exists")],
                         containers=[node_exporter], max_unavailable=0, max_surge=1,
                         status={"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0,
                                 "numberReady": 0, "observedGeneration": 1})
    exporter["spec"]["template"]["spec"].update(hostPID=True, volumes=[_host_path("root", "/")])
    items += [exporter, revision(exporter, "5b9c6d8f4", 1)]
    # 3. net-agent: tolerates everything; generation 2 points at an image that does not exist
    net = daemonset("net-agent", "kube-system", host_network=True, tolerations=[toleration(operator="Exists")],
                    containers=[container("net-agent", "registry.example/net-agent:2.0.0-typo",
                                          requests={"cpu": "100m", "memory": "64Mi"})],
                    generation=2, template_generation=2,
                    status={"currentNumberScheduled": 7, "desiredNumberScheduled": 7, "numberAvailable": 6,
                            "numberMisscheduled": 0, "numberReady": 6, "numberUnavailable": 1,
                            "observedGeneration": 2, "updatedNumberScheduled": 1})
    net["metadata"]["annotations"]["kubectl-ds.io/ignore"] = "DS011"  # a network agent needs hostNetwork
    net["spec"]["template"]["spec"]["priorityClassName"] = "system-node-critical"
    net["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    items += [revision(net, "7f9d6c5b8", 1, image="registry.example/net-agent:1.9.4"), net,
              revision(net, "84c7b9d6f", 2)]
    for n in nodes:
        nm = n["metadata"]["name"]
        if nm == "worker-1":
            items.append(daemon_pod(net, nm, hash="84c7b9d6f", generation=2, ready=False, phase="Pending",
                                    waiting="ImagePullBackOff", created=LATER, ready_since=LATER))
        else:
            items.append(daemon_pod(net, nm, hash="7f9d6c5b8", generation=1,
                                    image="registry.example/net-agent:1.9.4"))
    # 4. gpu-device-plugin: healthy, only on the GPU pool
    plugin = container("plugin", "registry.example/gpu-plugin:0.17", requests={"cpu": "10m", "memory": "32Mi"},
                       limits={"memory": "64Mi"}, ports=[{"containerPort": 2112, "name": "health", "protocol": "TCP"}])
    plugin.update(readinessProbe=_probe("health"), livenessProbe=_probe("health"))
    gpu = daemonset("gpu-device-plugin", "kube-system", tolerations=[toleration("nvidia.com/gpu", "Exists")],
                    affinity=affinity_terms(term(expr("accelerator", "In", "nvidia-a100", "nvidia-h100"))),
                    containers=[plugin],
                    status={"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberAvailable": 1,
                            "numberMisscheduled": 0, "numberReady": 1, "numberUnavailable": 0,
                            "observedGeneration": 1, "updatedNumberScheduled": 1})
    gpu["spec"]["template"]["spec"]["priorityClassName"] = "system-node-critical"
    items += [gpu, revision(gpu, "59f8d7c6b", 1), daemon_pod(gpu, "gpu-1", hash="59f8d7c6b")]
    # 5. metrics-relay: one replica per node by anti-affinity, on each of the 3 nodes it can use
    items.append(_one_per_node("Deployment", "metrics-relay", "monitoring", 3))
    # 6. prometheus: the same anti-affinity only spreads 2 replicas (high availability, no finding)
    items.append(_one_per_node("StatefulSet", "prometheus", "monitoring", 2))
    return dump(items)


def _fix_waiting_pod(doc: dict) -> dict:
    for item in doc["items"]:
        for cs in (item.get("status") or {}).get("containerStatuses") or ():
            if cs["state"].get("waiting", {}).get("reason") == "ImagePullBackOff":
                cs["state"]["waiting"]["message"] = (
                    'Back-off pulling image "registry.example/net-agent:2.0.0-typo"')
    return doc


def text() -> str:
    return json.dumps(_fix_waiting_pod(build()), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(text())
