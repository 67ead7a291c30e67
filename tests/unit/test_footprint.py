"""footprint: pod limits, requests x covered nodes, shares of the cluster and of each node."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kubectl_ds.core.footprint import footprint, footprint_by_node, pod_limits
from tests.builders import V133, container, daemonset, node, taint, toleration

CP = taint("node-role.kubernetes.io/control-plane")


def pod(*containers, init=(), overhead=None):
    spec = {"containers": list(containers), "initContainers": list(init)}
    if overhead:
        spec["overhead"] = overhead
    return {"spec": spec}


def sidecar(**kw):
    c = container("sidecar", **kw)
    c["restartPolicy"] = "Always"
    return c


@pytest.mark.parametrize("p,cpu,memory", [
    (pod(container(limits={"cpu": "1", "memory": "1Gi"})), D(1), D(2**30)),
    (pod(container(limits={"cpu": "500m", "memory": "1Gi"}), container("b", limits={"cpu": "250m", "memory": "1Mi"})),
     D("0.75"), D(2**30 + 2**20)),
    (pod(container(limits={"memory": "1Gi"})), None, D(2**30)),
    (pod(container(limits={"cpu": "1", "memory": "1Gi"}), container("b")), None, None),
    (pod(container(limits={"cpu": "1", "memory": "64Mi"}),
         init=[container("init", limits={"cpu": "2", "memory": "1Mi"})]),
     D(2), D(64 * 2**20)),
    (pod(container(limits={"cpu": "1", "memory": "64Mi"}), init=[container("init")]), D(1), D(64 * 2**20)),
    (pod(container(limits={"cpu": "1", "memory": "64Mi"}), init=[sidecar(limits={"cpu": "100m", "memory": "16Mi"})]),
     D("1.1"), D(80 * 2**20)),
    (pod(container(limits={"cpu": "1", "memory": "64Mi"}), init=[sidecar(limits={"cpu": "1"})]), D(2), None),
    (pod(container(limits={"cpu": "1", "memory": "64Mi"}), overhead={"cpu": "250m", "memory": "1Mi"}),
     D("1.25"), D(65 * 2**20)),
], ids=["one-container", "sum", "no-cpu-limit", "second-container-unbounded", "init-peak-above",
        "init-without-limit", "sidecar-adds", "sidecar-unbounded", "overhead"])
def test_pod_limits(p, cpu, memory):
    assert pod_limits(p, V133.rules) == {"cpu": cpu, "memory": memory}


def agent(name="agent", requests=None, limits=None, **kw):
    return daemonset(name, "agents", containers=[container(requests=requests, limits=limits)], **kw)


def test_requests_times_the_nodes_it_covers_now():
    nodes = [node("cp", taints=[CP]), node("w1"), node("w2")]          # 3 x 4 cpu, 3 x 16Gi
    fp = footprint([agent(requests={"cpu": "200m", "memory": "128Mi"}, limits={"memory": "256Mi"})], nodes, V133)
    [ds] = fp.daemonsets
    assert ds.nodes == ("w1", "w2")
    assert ds.requests == {"cpu": D("0.2"), "memory": D(128 * 2**20)}
    assert ds.total_requests == {"cpu": D("0.4"), "memory": D(256 * 2**20)}
    assert ds.limits == {"cpu": None, "memory": D(256 * 2**20)}
    assert ds.total_limits == {"cpu": None, "memory": D(512 * 2**20)}
    assert ds.share == {"cpu": round(0.4 / 12 * 100, 2), "memory": round(256 / (48 * 1024) * 100, 2)}
    assert fp.allocatable == {"cpu": D(12), "memory": D(48 * 2**30)} and fp.node_count == 3


def test_toleration_widens_the_footprint():
    nodes = [node("cp", taints=[CP]), node("w1")]
    narrow = footprint([agent(requests={"cpu": "1"})], nodes, V133)
    wide = footprint([agent(requests={"cpu": "1"}, tolerations=[toleration(CP["key"], "Exists")])], nodes, V133)
    assert (narrow.pods, narrow.requests["cpu"]) == (1, D(1))
    assert (wide.pods, wide.requests["cpu"]) == (2, D(2))


def test_totals_and_unbounded_limits():
    nodes = [node("w1"), node("w2")]
    fp = footprint([agent("a", requests={"cpu": "100m"}, limits={"cpu": "200m", "memory": "64Mi"}),
                    agent("b", requests={"memory": "1Gi"}),
                    agent("c", requests={"cpu": "1"}, node_selector={"nowhere": "x"})], nodes, V133)
    assert [f.name for f in fp.daemonsets] == ["a", "b", "c"]
    assert fp.pods == 4
    # a's memory limit defaults its memory request (API defaulting): 2 x 64Mi + 2 x 1Gi
    assert fp.requests == {"cpu": D("0.2"), "memory": D(2 * 2**30 + 128 * 2**20)}
    assert fp.limits == {"cpu": D("0.4"), "memory": D(128 * 2**20)}
    # b has no limits at all; c has none either but covers no node, so it costs nothing
    assert fp.unbounded == {"cpu": 1, "memory": 1}


def test_limit_defaults_the_request():
    fp = footprint([agent(limits={"cpu": "300m", "memory": "64Mi"})], [node("w1")], V133)
    assert fp.daemonsets[0].requests == {"cpu": D("0.3"), "memory": D(64 * 2**20)}


def test_no_nodes_no_share():
    fp = footprint([agent(requests={"cpu": "1"})], [], V133)
    assert fp.pods == 0 and fp.share == {"cpu": None, "memory": None}
    assert fp.daemonsets[0].share == {"cpu": None, "memory": None}


def test_by_node():
    nodes = [node("w2"), node("small", cpu="1", memory="2Gi"), node("cp", taints=[CP])]
    fpn = footprint_by_node([agent("a", requests={"cpu": "250m", "memory": "256Mi"}, limits={"memory": "512Mi"}),
                             agent("b", requests={"cpu": "250m"}, node_selector={"kubernetes.io/hostname": "small"})],
                            nodes, V133)
    by = {n.node: n for n in fpn.nodes}
    assert [n.node for n in fpn.nodes] == ["cp", "small", "w2"]
    assert by["cp"].daemonsets == () and by["cp"].requests == {"cpu": D(0), "memory": D(0)}
    assert by["small"].daemonsets == ("agents/a", "agents/b")
    assert by["small"].requests == {"cpu": D("0.5"), "memory": D(256 * 2**20)}
    assert by["small"].share == {"cpu": 50.0, "memory": 12.5}
    assert by["small"].limits == {"cpu": D(0), "memory": D(512 * 2**20)}
    assert by["small"].unbounded == {"cpu": 2, "memory": 1}
    assert by["w2"].share == {"cpu": 6.25, "memory": round(256 / (16 * 1024) * 100, 2)}
