"""Differential test: random valid nodes and DaemonSets, the real controller places the pods, and
`diff` must predict exactly where — for several seeds, dozens of nodes each."""

from __future__ import annotations

import random

import pytest

from tests.e2e.conftest import ds_manifest

ZONES = ["a", "b", "c"]
TAINT_KEYS = ["dedicated", "maintenance", "gpu"]
EFFECTS = ["NoSchedule", "NoExecute", "PreferNoSchedule"]


def random_node_spec(rng: random.Random):
    labels = {}
    if rng.random() < 0.8:
        labels["zone"] = rng.choice(ZONES)
    if rng.random() < 0.7:
        labels["tier"] = str(rng.randint(0, 6))
    if rng.random() < 0.3:
        labels["gpu"] = rng.choice(["nvidia", "amd"])
    if rng.random() < 0.5:
        labels["disk"] = rng.choice(["ssd", "hdd"])
    taints = []
    for key in rng.sample(TAINT_KEYS, rng.choice([0, 0, 1, 1, 2])):
        t = {"key": key, "effect": rng.choice(EFFECTS)}
        if rng.random() < 0.6:
            t["value"] = rng.choice(["x", "y"])
        taints.append(t)
    return labels, taints, rng.random() < 0.1


def random_requirement(rng: random.Random):
    op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"])
    if op in ("Gt", "Lt"):
        return {"key": "tier", "operator": op, "values": [str(rng.randint(0, 6))]}
    key = rng.choice(["zone", "gpu", "disk", "tier"])
    if op in ("Exists", "DoesNotExist"):
        return {"key": key, "operator": op}
    pool = {"zone": ZONES, "gpu": ["nvidia", "amd"], "disk": ["ssd", "hdd"], "tier": [str(i) for i in range(7)]}[key]
    return {"key": key, "operator": op, "values": rng.sample(pool, rng.randint(1, 2))}


def random_toleration(rng: random.Random):
    kind = rng.random()
    if kind < 0.1:
        return {"operator": "Exists"}  # tolerates everything
    t = {"key": rng.choice(TAINT_KEYS)}
    if kind < 0.5:
        t["operator"] = "Exists"
    else:
        t["operator"] = "Equal"
        t["value"] = rng.choice(["x", "y"])
    if rng.random() < 0.7:
        t["effect"] = rng.choice(EFFECTS)
    if t.get("effect") == "NoExecute" and rng.random() < 0.3:
        t["tolerationSeconds"] = 3600
    return t


def random_daemonset(rng: random.Random, name: str, node_names):
    spec = {}
    if rng.random() < 0.3:
        spec["nodeSelector"] = {"zone": rng.choice(ZONES)}
    if rng.random() < 0.6:
        terms = []
        for _ in range(rng.randint(1, 2)):
            term = {}
            if rng.random() < 0.85:
                term["matchExpressions"] = [random_requirement(rng) for _ in range(rng.randint(1, 2))]
            if rng.random() < 0.25 or not term:
                term["matchFields"] = [{"key": "metadata.name", "operator": rng.choice(["In", "NotIn"]),
                                        "values": [rng.choice(node_names)]}]
            terms.append(term)
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": terms}}}
    if rng.random() < 0.7:
        spec["tolerations"] = [random_toleration(rng) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.2:
        spec["hostNetwork"] = True
    return ds_manifest(name, **spec)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_diff_predicts_the_controller(scenario, kube, live, seed):
    rng = random.Random(seed)
    names = []
    for i in range(30):
        labels, taints, cordoned = random_node_spec(rng)
        names.append(scenario.node(f"n{i:02d}", labels=labels, taints=taints, unschedulable=cordoned))
    scenario.sync_nodes()
    ds_names = [f"ds{j}" for j in range(8)]
    for name in ds_names:
        scenario.daemonset(random_daemonset(rng, name, names))
    for name in ds_names:
        kube.wait_settled(scenario.namespace, name, timeout=120)

    disagreements = []
    for name in ds_names:
        doc = live("diff", name, "-n", scenario.namespace, "-o", "json", expect=None).json()
        placed = sorted({p["spec"].get("nodeName") or "" for p in kube.pods(scenario.namespace, f"app={name}")
                         if not p["metadata"].get("deletionTimestamp")})
        if doc["desired"] != placed or doc["status"]["stale"]:
            ds = kube.daemonset(scenario.namespace, name)
            disagreements.append(f"{name}: predicted {doc['desired']}, controller placed {placed}; "
                                 f"status {doc['status']}; spec {ds['spec']['template']['spec']}")
    assert not disagreements, "\n".join(disagreements)
