"""`kubectl ds dump`: from an apiserver (the loopback fake of tests/fakeapi.py) and from dumps, read
back by --snapshot with the same answers."""

from __future__ import annotations

import gzip
import io
import json

import pytest
import yaml

from tests import builders as b
from tests.conftest import EXAMPLE
from tests.fakeapi import FakeApi


@pytest.fixture
def fakeapi():
    api = FakeApi().start()
    api.objects["leases"] = []
    yield api
    api.stop()


def _lease(node_name: str, renewed: str) -> dict:
    return {"metadata": {"name": node_name, "namespace": "kube-node-lease",
                         "creationTimestamp": "2026-11-01T10:00:00Z"},
            "spec": {"holderIdentity": node_name, "renewTime": renewed}}


def test_dump_from_the_apiserver_reads_back_with_the_same_answers(run_cli, fakeapi, tmp_path):
    fakeapi.objects["leases"] = [_lease("n1", "2026-11-20T11:59:50.000000Z"),
                                 _lease("n2", "2026-11-20T11:59:52.000000Z")]
    fakeapi.objects["events"] = [b.event(fakeapi.objects["pods"][0], "Pulled", "pulled the image", "Normal")]
    kc = fakeapi.kubeconfig(tmp_path)
    out = tmp_path / "dump.json"
    res = run_cli("dump", "--kubeconfig", kc, "--output-file", str(out))
    assert res.stdout == ""
    assert res.stderr == (f"dumped 2 nodes, 2 leases, 1 daemonset, 2 controllerrevisions, 2 pods, 1 event "
                          f"to {out}\n")
    doc = json.loads(out.read_text())
    assert doc["kind"] == "List" and doc["serverVersion"]["gitVersion"] == "v1.33.13"
    assert [i["kind"] for i in doc["items"]] == ["Node", "Node", "Lease", "Lease", "DaemonSet",
                                                 "ControllerRevision", "ControllerRevision", "Pod", "Pod", "Event"]
    assert all(i["apiVersion"] for i in doc["items"])
    # every request was a bounded, paginated LIST (limit=500) or /version
    lists = [p for _, m, p in fakeapi.requests if p.startswith(("/api/", "/apis/"))]
    assert lists and all("limit=500" in p for p in lists if "deviceclasses" not in p and "runtimeclasses" not in p)
    assert any("/namespaces/kube-node-lease/leases" in p for p in lists)
    # (not `why`: this fake ignores the spec.nodeName field selector that `why` lists pods with)
    for args in (("diff", "-A", "-o", "json"), ("diff", "agent", "-n", "default", "-o", "json"),
                 ("lint", "-A", "-o", "json")):
        live = run_cli(*args, "--kubeconfig", kc, expect=None)
        offline = run_cli(*args, "--snapshot", str(out), expect=None)
        # the same version, told by the apiserver live and by the dump's stamp offline
        assert offline.json().pop("kubernetesVersionSource") == "dump"
        assert live.json().pop("kubernetesVersionSource") == "server"
        assert offline.code == live.code, args
        assert _without_source(offline.json()) == _without_source(live.json()), args


def test_a_live_dump_keeps_whole_objects(run_cli, fakeapi, tmp_path):
    """The commands read listed nodes and pods projected; a dump writes them whole (less
    managedFields): it outlives this version, whose successors may read more of them."""
    fakeapi.objects["nodes"][0]["status"]["images"] = [{"names": ["registry.example/agent:0.9"], "sizeBytes": 1}]
    fakeapi.objects["pods"][0]["spec"]["dnsPolicy"] = "ClusterFirst"
    fakeapi.objects["pods"][0]["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    out = tmp_path / "dump.json"
    run_cli("dump", "--kubeconfig", fakeapi.kubeconfig(tmp_path), "--output-file", str(out))
    items = json.loads(out.read_text())["items"]
    node = next(i for i in items if i["kind"] == "Node" and i["metadata"]["name"] == "n1")
    pod = next(i for i in items if i["kind"] == "Pod" and i["spec"].get("dnsPolicy"))
    assert node["status"]["images"] and "managedFields" not in pod["metadata"]


def _without_source(doc: dict) -> dict:
    doc.pop("kubernetesVersionSource")
    return doc


def test_dump_to_stdout_and_yaml(run_cli, fakeapi, tmp_path):
    kc = fakeapi.kubeconfig(tmp_path)
    doc = json.loads(run_cli("dump", "--kubeconfig", kc).stdout)
    assert doc["serverVersion"] == {"major": "1", "minor": "33", "gitVersion": "v1.33.13"}
    as_yaml = yaml.safe_load(run_cli("dump", "--kubeconfig", kc, "-o", "yaml").stdout)
    assert as_yaml["items"] == doc["items"]


def test_forbidden_optional_kinds_are_notes(run_cli, fakeapi, tmp_path, monkeypatch):
    """Leases and events forbidden (a Status 403, as RBAC answers): notes, the dump goes on;
    nodes forbidden: an error, there is no dump without them."""
    from tests import fakeapi as fake
    serve = fake._Handler._serve

    def rbac(self, path, query):
        if path.endswith(("/leases", "/events")):
            return self._json(403, fake._status(403, "Forbidden", f"{path.rsplit('/', 1)[1]} is forbidden"))
        return serve(self, path, query)
    monkeypatch.setattr(fake._Handler, "_serve", rbac)
    kc = fakeapi.kubeconfig(tmp_path)
    res = run_cli("dump", "--kubeconfig", kc, "-n", "default")
    assert res.stderr.splitlines()[:3] == [
        "note: node Leases are not in the dump: forbidden: cannot list leases in the namespace "
        '"kube-node-lease": leases is forbidden',
        'note: events are not in the dump: forbidden: cannot list events in the namespace "default": '
        "events is forbidden",
        "note: only the namespace default is dumped: pods of other namespaces on the same nodes are not "
        "counted in what fits (leave out -n for a whole dump)"]
    doc = json.loads(res.stdout)
    assert len(doc["dumpedBy"]["notes"]) == 3 and doc["dumpedBy"]["tool"] == "kubectl-ds"
    assert {i["kind"] for i in doc["items"]} == {"Node", "DaemonSet", "ControllerRevision", "Pod"}
    fakeapi.fault = "403"
    res = run_cli("dump", "--kubeconfig", kc, expect=2)
    assert res.stderr.startswith("error: forbidden: cannot list nodes") and res.stdout == ""


def test_dump_of_a_snapshot_is_the_same_dump(run_cli, tmp_path):
    res = run_cli("dump", "--snapshot", EXAMPLE)
    path = tmp_path / "again.json"
    path.write_text(res.stdout)
    with open(EXAMPLE) as fh:
        original = json.load(fh)
    again = json.loads(res.stdout)
    key = lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, again["items"])) == sorted(map(key, original["items"]))
    for args in (("diff", "-A", "-o", "json"), ("why", "worker-5"), ("lint", "-A")):
        want = run_cli(*args, "--snapshot", EXAMPLE, expect=None)
        got = run_cli(*args, "--snapshot", str(path), expect=None)
        assert (got.code, got.stdout) == (want.code, want.stdout)


def test_dump_converts_a_cluster_info_dump(run_cli, tmp_path):
    from tests.commands.test_snapshot_formats import _cluster_info_objects, cluster_info_stream
    stream = tmp_path / "cluster-info.dump"
    stream.write_text(cluster_info_stream(_cluster_info_objects()))
    out = tmp_path / "converted.json.gz"
    run_cli("dump", "--snapshot", str(stream), "--output-file", str(out))
    doc = json.loads(gzip.decompress(out.read_bytes()))
    assert {i["kind"] for i in doc["items"]} == {"Node", "DaemonSet", "Pod", "Event", "Deployment"}
    want = run_cli("diff", "-A", "-o", "json", "--snapshot", str(stream), expect=0)
    assert run_cli("diff", "-A", "-o", "json", "--snapshot", str(out), expect=0).stdout == want.stdout


def test_dump_namespace_keeps_cluster_scoped_objects(run_cli):
    doc = json.loads(run_cli("dump", "--snapshot", EXAMPLE, "-n", "logging").stdout)
    kinds = {(i["kind"], i["metadata"].get("namespace")) for i in doc["items"]}
    assert ("Node", None) in kinds
    assert {ns for k, ns in kinds if k != "Node"} == {"logging"}


@pytest.mark.parametrize("args,message", [
    (("-o", "wide"), 'error: dump writes json (the default) or yaml, not "wide"'),
    (("-l", "app=x"), "error: dump takes every object in scope: -l/--selector is not supported"),
    (("--output-file", ""), "error: --output-file must not be empty"),
    (("--output-file", "/nonexistent/dir/d.json"), "error: cannot write /nonexistent/dir/d.json: No such file"),
])
def test_dump_errors_are_one_line(run_cli, args, message):
    res = run_cli("dump", "--snapshot", EXAMPLE, *args, expect=2)
    assert res.stderr.startswith(message) and len(res.stderr.splitlines()) == 1, res.stderr
    assert res.stdout == ""


def test_progress_on_a_terminal_only(run_cli, fakeapi, tmp_path, monkeypatch):
    import sys

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    kc = fakeapi.kubeconfig(tmp_path)
    fakeapi.objects["leases"] = []
    run_cli("dump", "--kubeconfig", kc, "--output-file", str(tmp_path / "d.json"))
    shown = tty.getvalue()
    assert "\r\x1b[Kdumping: 2 nodes, 0 leases, 1 daemonset" in shown and shown.count("\r") >= 5
    # the line is cleared before the summary
    assert shown.endswith(f"\r\x1b[Kdumped 2 nodes, 1 daemonset, 2 controllerrevisions, 2 pods to "
                          f"{tmp_path / 'd.json'}\n")


def test_anonymize_an_existing_dump_through_the_cli(run_cli, tmp_path):
    from kubectl_ds.core.anonymize import anonymize_dump
    res = run_cli("dump", "--snapshot", EXAMPLE, "--anonymize")
    assert res.stderr.endswith("to stdout (anonymized)\n")
    doc = json.loads(res.stdout)
    plain = json.loads(run_cli("dump", "--snapshot", EXAMPLE).stdout)
    assert doc["items"] == anonymize_dump(plain)["items"]
    assert "log-agent" not in res.stdout and "worker-5" not in res.stdout


def test_anonymize_a_cluster_info_dump(run_cli, tmp_path):
    from tests.commands.test_snapshot_formats import _cluster_info_objects, cluster_info_stream
    stream = tmp_path / "cluster-info.dump"
    stream.write_text(cluster_info_stream(_cluster_info_objects()))
    out = tmp_path / "anon.json"
    run_cli("dump", "--snapshot", str(stream), "--anonymize", "--output-file", str(out))
    text = out.read_text()
    assert "log-agent" not in text and "worker-5" not in text
    rows = run_cli("diff", "-A", "-o", "json", "--snapshot", str(out), expect=0).json()["items"]
    assert len(rows) == 4 and {r["namespace"] for r in rows} >= {"kube-system"}
