"""`kubectl ds dump` against the real control plane, read back by --snapshot with the answers the
live cluster gives; and the dumps real kubectl writes (`kubectl cluster-info dump`, to stdout and
to a directory) read as what they hold, not as an empty cluster."""

from __future__ import annotations

import gzip
import json
import os
import subprocess

from tests.dist.conftest import tool
from tests.e2e.conftest import ds_manifest

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def _answer(res) -> dict:
    doc = res.json()
    doc.pop("kubernetesVersionSource", None)   # "server" live, "dump" offline: the same version
    return doc


def _verdicts(why: dict) -> dict:
    return {(d["namespace"], d["name"]): (d["shouldRun"], d["shouldContinueRunning"], d.get("state"))
            for d in why["daemonsets"]}


def test_dump_of_the_real_cluster_reads_back(scenario, kube, live, tmp_path):
    ns = scenario.namespace
    cp = scenario.node("cp", labels={"node-role.kubernetes.io/control-plane": ""}, taints=[CP_TAINT])
    w1 = scenario.node("w1")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent", containers=[
        {"name": "agent", "image": "registry.example/agent:1.0", "resources": {"requests": {"cpu": "100m"}}}]))
    kube.wait_settled(ns, "agent")

    out = tmp_path / "dump.json.gz"
    res = live("dump", "--output-file", str(out))
    assert res.stdout == "" and res.stderr.startswith("dumped ") and f"to {out}" in res.stderr
    doc = json.loads(gzip.decompress(out.read_bytes()))
    kinds = {i["kind"] for i in doc["items"]}
    assert {"Node", "Lease", "DaemonSet", "ControllerRevision", "Pod"} <= kinds
    assert doc["serverVersion"]["gitVersion"].startswith("v1.")
    leases = {i["metadata"]["name"] for i in doc["items"] if i["kind"] == "Lease"}
    assert {cp, w1} <= leases                         # KWOK renews the nodes' Leases
    snap = ("--snapshot", str(out))
    for args, code in ((("diff", "agent", "-n", ns, "-o", "json"), 0), (("lint", "-n", ns, "-o", "json"), None),
                       (("footprint", "-n", ns, "-o", "json"), 0)):
        want = live(*args, expect=code)
        got = live(*args, *snap, expect=want.code)
        assert _answer(got) == _answer(want), args
    for node in (cp, w1):
        want = live("why", node, "-n", ns, "-o", "json")
        got = live("why", node, "-n", ns, "-o", "json", *snap)
        assert _verdicts(got.json()) == _verdicts(want.json())
        assert got.json()["daemonsets"], node

    # anonymized: the same verdicts under other names
    anon = tmp_path / "anon.json"
    live("dump", *snap, "--anonymize", "--output-file", str(anon))
    text = anon.read_text()
    assert ns not in text and w1 not in text
    rows = live("diff", "-A", "-o", "json", "--snapshot", str(anon), expect=None).json()["items"]
    mine = [r for r in rows if r["desired"] and all(n.startswith("node-") for n in r["desired"])
            and r["name"].startswith("ds-") and r["inSync"] and len(r["desired"]) == 1]
    assert mine, rows


def test_kubectl_cluster_info_dump_is_read(scenario, kube, live, kubeconfig, tmp_path):
    """The bug: a cluster-info dump read as "No DaemonSets found" and "node not found"."""
    ns = scenario.namespace
    w1 = scenario.node("w1")
    scenario.sync_nodes()
    scenario.daemonset(ds_manifest("agent"))
    kube.wait_settled(ns, "agent")
    kubectl = tool("kubectl")   # the control plane's own (hack/cluster.sh bin); missing fails
    env = dict(os.environ, KUBECONFIG=kubeconfig)
    stream = subprocess.run([kubectl, "cluster-info", "dump", "--namespaces", ns], env=env, capture_output=True,
                            check=True, timeout=120).stdout
    assert b"==== START logs for container" in stream or b'"PodList"' in stream
    (tmp_path / "cluster-info.dump").write_bytes(stream)
    tree = tmp_path / "tree"
    subprocess.run([kubectl, "cluster-info", "dump", "--namespaces", ns, "--output-directory", str(tree)],
                   env=env, capture_output=True, check=True, timeout=120)
    assert (tree / "nodes.json").exists() and (tree / ns / "daemonsets.json").exists()

    live_diff = live("diff", "agent", "-n", ns, "-o", "json").json()
    answers = []
    for source in (tmp_path / "cluster-info.dump", tree):
        res = live("diff", "agent", "-n", ns, "-o", "json", "--snapshot", str(source), expect=None)
        assert "No DaemonSets" not in res.stderr and "not found" not in res.stderr, res.stderr
        doc = res.json()
        assert doc["desired"] == live_diff["desired"] == [w1] and doc["actual"] == live_diff["actual"]
        why = live("why", w1, "-n", ns, "-o", "json", "--snapshot", str(source)).json()
        assert [(d["name"], d["shouldRun"]) for d in why["daemonsets"]] == [("agent", True)]
        answers.append(_answer(res))
    assert answers[0] == answers[1]
