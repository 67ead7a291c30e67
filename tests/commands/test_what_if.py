"""What-if for manifests not yet applied: `diff [NAME] -f FILE` (a first install included),
`footprint -f FILE`, and duplicate YAML keys refused."""

from __future__ import annotations

import json

import yaml

from tests import builders as b


def _snapshot(tmp_path, *groups):
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(b.dump(*groups)))
    return ("--snapshot", str(path))


def _manifest(tmp_path, ds, name="ds.yaml", drop_namespace=False):
    ds = dict(ds)
    ds.pop("status", None)
    meta = {k: v for k, v in ds["metadata"].items() if k in ("name", "namespace", "labels")}
    if drop_namespace:
        meta.pop("namespace", None)
    ds["metadata"] = meta
    path = tmp_path / name
    path.write_text(yaml.safe_dump(ds))
    return str(path)


AGENT = b.daemonset("agent", "monitoring",
                    containers=[b.container(requests={"cpu": "500m", "memory": "128Mi"},
                                            limits={"cpu": "1", "memory": "256Mi"},
                                            ports=[{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}])])


def _cluster(tmp_path, *extra):
    nodes = [b.node("n1"), b.node("n2", cpu="1"), b.node("n3"),
             b.node("cp", taints=[b.taint("node-role.kubernetes.io/control-plane")])]
    busy = b.plain_pod("busy", "n2", requests={"cpu": "800m"})
    exporter = b.plain_pod("exporter", "n3", ports=[{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}])
    return _snapshot(tmp_path, nodes, [busy, exporter], *extra)


def test_name_mismatch_is_an_error(run_cli, tmp_path):
    snap = _cluster(tmp_path)
    res = run_cli("diff", "other", "-f", _manifest(tmp_path, AGENT), *snap, expect=2)
    assert 'is the DaemonSet "agent", not "other"' in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""


def test_namespace_from_the_manifest(run_cli, tmp_path):
    live = b.daemonset("agent", "monitoring")
    snap = _cluster(tmp_path, live)
    # the context's namespace is "default": the manifest's own namespace is the one compared
    doc = run_cli("diff", "-f", _manifest(tmp_path, live), *snap, "-o", "json").json()
    assert (doc["namespace"], doc["name"], doc["exists"]) == ("monitoring", "agent", True)
    assert doc["desired"] == doc["proposed"] == ["n1", "n2", "n3"] and doc["same"] is True
    assert doc["pending"] == {}
    # a manifest without a namespace: -n
    bare = _manifest(tmp_path, live, "bare.yaml", drop_namespace=True)
    doc = run_cli("diff", "agent", "-f", bare, "-n", "monitoring", *snap, "-o", "json").json()
    assert doc["exists"] is True and doc["namespace"] == "monitoring"
    # -n that contradicts the manifest's namespace
    res = run_cli("diff", "-f", _manifest(tmp_path, live), "-n", "default", *snap, expect=2)
    assert "does not match -n" in res.stderr


def test_first_install_previewed(run_cli, tmp_path):
    snap = _cluster(tmp_path)
    path = _manifest(tmp_path, AGENT)
    doc = run_cli("diff", "-f", path, *snap, "-o", "json", expect=1).json()
    assert doc["exists"] is False and doc["desired"] == [] and doc["lost"] == []
    assert doc["proposed"] == doc["gained"] == ["n1", "n2", "n3"]   # not cp: untolerated taint
    assert sorted(doc["pending"]) == ["n2", "n3"]
    [cpu] = doc["pending"]["n2"]
    assert cpu["type"] == "InsufficientResource" and cpu["resource"] == "cpu"
    assert cpu["requested"] == "500m" and cpu["free"] == "200m"
    [port] = doc["pending"]["n3"]
    assert (port["type"], port["port"], port["pod"]) == ("HostPortConflict", 9100, "default/exporter")
    text = run_cli("diff", "-f", path, *snap, expect=1).stdout
    assert "not in the cluster yet" in text and "3 node(s), 2 of them" in text
    assert "InsufficientResource" in text and "HostPortConflict" in text


def test_first_install_that_fits_everywhere(run_cli, tmp_path):
    small = b.daemonset("small", "monitoring", containers=[b.container(requests={"cpu": "10m"})])
    snap = _cluster(tmp_path)
    doc = run_cli("diff", "-f", _manifest(tmp_path, small), *snap, "-o", "json", expect=1).json()
    assert doc["exists"] is False and doc["pending"] == {} and doc["gained"] == ["n1", "n2", "n3"]


def test_footprint_of_a_manifest(run_cli, tmp_path):
    snap = _cluster(tmp_path)
    doc = run_cli("footprint", "-f", _manifest(tmp_path, AGENT), *snap, "-o", "json").json()
    [ds] = doc["daemonsets"]
    assert (ds["namespace"], ds["name"], ds["nodes"]) == ("monitoring", "agent", 3)
    assert ds["perPod"]["requests"] == {"cpu": "500m", "memory": "128Mi"}
    assert ds["total"]["requests"] == {"cpu": "1500m", "memory": "384Mi"}
    assert doc["total"]["pods"] == 3 and doc["cluster"]["nodes"] == 4
    by_node = run_cli("footprint", "-f", _manifest(tmp_path, AGENT), "--by-node", *snap, "-o", "json").json()
    assert {n["node"]: n["daemonsets"] for n in by_node["nodes"]}["n1"] == ["monitoring/agent"]


def test_duplicate_yaml_keys_are_an_error(run_cli, tmp_path):
    snap = _cluster(tmp_path)
    path = tmp_path / "dup.yaml"
    path.write_text("apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\n  name: agent2\n"
                    "spec: {}\n")
    for args in (("diff", "-f", str(path)), ("footprint", "-f", str(path)), ("lint", "-f", str(path))):
        res = run_cli(*args, *snap, expect=2)
        assert str(path) in res.stderr and "duplicate key 'name' at line 5" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
