"""The projection of listed Nodes and Pods (source/projection.py) keeps every field the core reads.

Two guards: every command runs on the bundled example with recording objects (tests/unit/recording.py)
and each field looked up must be kept; and every command's output, in every format, is the same
with the example's nodes and pods projected as with them whole.
"""

from __future__ import annotations

import contextlib
import copy
import io
from datetime import timedelta

import pytest

from kubectl_ds.cli import main
from kubectl_ds.env import Env
from kubectl_ds.source import projection
from kubectl_ds.source.live import LiveSource
from kubectl_ds.source.snapshot import SnapshotSource
from tests import builders as b
from tests.conftest import EXAMPLE, FIXED_NOW
from tests.unit.recording import FORMATS, RUNS, record_paths


@pytest.fixture(scope="module")
def reads():
    return record_paths()


@pytest.mark.parametrize("kind", ["Node", "Pod"])
def test_every_field_the_core_reads_is_kept(reads, kind):
    keep = projection.keep_of(kind)
    dropped = sorted(".".join(p) for p in reads[kind] if not projection.kept(keep, p))
    assert dropped == [], f"the core reads {kind} fields the projection drops: {dropped}"


def test_the_recording_sees_the_reads(reads):
    """Not vacuous: reads the core is known to make are among those recorded."""
    assert {("spec", "nodeName"), ("metadata", "ownerReferences", "[]", "uid"), ("status", "phase"),
            ("spec", "containers", "[]", "resources")} <= reads["Pod"]
    assert {("spec", "taints"), ("status", "allocatable"), ("metadata", "labels")} <= reads["Node"]


def test_kept_answers_for_paths():
    node, pod = projection.keep_of("Node"), projection.keep_of("Pod")
    assert projection.kept(node, ("status", "allocatable", "cpu"))
    assert projection.kept(node, ("spec", "podCIDR"))   # the spec is kept whole
    assert not projection.kept(node, ("status", "images"))
    assert not projection.kept(pod, ("metadata", "managedFields"))
    assert not projection.kept(pod, ("spec", "containers", "[]", "command"))
    assert projection.kept(pod, ("metadata", "labels", "*"))   # a map kept whole may be walked
    assert not projection.kept(pod, ("spec", "*"))            # a projected one may not


def _run(source, args, fmt):
    env = Env(clock=lambda: FIXED_NOW, color=False, source_factory=lambda opts: source)
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(io.StringIO()) as err:
        main([*args, "-o", fmt], obj=env)
    return exc.value.code, out.getvalue(), err.getvalue()


def _projected_example() -> SnapshotSource:
    source = SnapshotSource.load(EXAMPLE)
    source.as_of(FIXED_NOW + timedelta(hours=1))   # the dump's own clock, from the whole objects
    for resource in projection.RESOURCES:
        source.by_kind[resource] = projection.project(resource, source.by_kind[resource])
    return source


@pytest.mark.parametrize("args", RUNS, ids=[" ".join(a[:2]) + f"-{i}" for i, a in enumerate(RUNS)])
def test_outputs_are_the_same_with_and_without_projection(args):
    whole, cut = SnapshotSource.load(EXAMPLE), _projected_example()
    for fmt in FORMATS:
        assert _run(cut, args, fmt) == _run(whole, args, fmt), (args, fmt)


def _real_pod() -> dict:
    """A pod as an apiserver lists it: defaulted spec fields, a token volume, managedFields, IPs."""
    ds = b.daemonset("agent")
    pod = b.daemon_pod(ds, "n1", hash="5d9f8c7b6")
    pod["metadata"]["managedFields"] = [{"manager": "kubelet", "operation": "Update", "fieldsV1": {"f:status": {}}}]
    pod["metadata"]["generateName"] = "agent-"
    pod["spec"].update(dnsPolicy="ClusterFirst", schedulerName="default-scheduler", serviceAccountName="default",
                       terminationGracePeriodSeconds=30,
                       volumes=[{"name": "kube-api-access-x", "projected": {"sources": [{"serviceAccountToken": {
                           "path": "token", "expirationSeconds": 3607}}]}},
                                {"name": "logs", "hostPath": {"path": "/var/log", "type": ""}}])
    pod["spec"]["containers"][0].update(command=["/agent", "--verbose"], imagePullPolicy="IfNotPresent",
                                        terminationMessagePath="/dev/termination-log")
    pod["status"].update(podIP="10.0.0.7", hostIP="192.168.0.3", qosClass="Burstable")
    return pod


def test_a_real_shaped_pod_loses_what_the_core_never_reads():
    pod = _real_pod()
    before = copy.deepcopy(pod)
    [cut] = projection.project("pods", [pod])
    assert pod == before   # the listed object itself is not changed
    assert "managedFields" not in cut["metadata"] and "generateName" not in cut["metadata"]
    assert not {"dnsPolicy", "schedulerName", "serviceAccountName"} & set(cut["spec"])
    assert not {"podIP", "hostIP", "qosClass"} & set(cut["status"])
    # read only in a DaemonSet's template, never in a listed pod
    assert "volumes" not in cut["spec"] and "tolerations" not in cut["spec"]
    assert "command" not in cut["spec"]["containers"][0]
    # what the core reads is there, as it was
    for path in (("metadata", "labels"), ("metadata", "ownerReferences"), ("spec", "nodeName"),
                 ("spec", "affinity"), ("status", "phase"), ("status", "conditions")):
        a, c = before, cut
        for key in path:
            a, c = a.get(key), c.get(key)
        assert c == a and c is not None, path
    assert cut["spec"]["containers"][0]["resources"] == before["spec"]["containers"][0]["resources"]


def test_a_node_loses_its_image_list():
    node = b.node("n1")
    node["status"]["images"] = [{"names": [f"registry.example/img-{i}:1"], "sizeBytes": 10 ** 8} for i in range(50)]
    node["status"]["addresses"] = [{"type": "InternalIP", "address": "192.168.0.3"}]
    [cut] = projection.project("nodes", [node])
    assert "images" not in cut["status"] and "addresses" not in cut["status"]
    assert cut["status"]["allocatable"] == node["status"]["allocatable"] and cut["spec"] == node["spec"]


def test_the_live_source_projects_listed_nodes_and_pods_only(fakeapi, tmp_path, monkeypatch):
    fakeapi.objects["pods"] = [_real_pod()]
    fakeapi.objects["nodes"][0]["status"]["images"] = [{"names": ["a:1"], "sizeBytes": 1}]
    fakeapi.objects["daemonsets"][0]["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    live = LiveSource.connect(fakeapi.kubeconfig(tmp_path), request_timeout=5)
    [pod] = live.pods(None)
    assert "schedulerName" not in pod["spec"] and pod["spec"]["nodeName"] == "n1"
    assert "images" not in live.nodes()[0]["status"]
    assert live.node("n1")["status"]["images"]   # a single GET is whole
    [ds] = live.daemonsets(None)   # DaemonSets are written back and linted: whole but managedFields
    assert ds["spec"] == fakeapi.objects["daemonsets"][0]["spec"] and "managedFields" not in ds["metadata"]
    monkeypatch.setenv(projection.ENV, "off")
    [whole] = live.pods(None)
    assert whole["spec"]["schedulerName"] == "default-scheduler" and "managedFields" not in whole["metadata"]
