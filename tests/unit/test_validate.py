"""The boundary (kubectl_ds/source/validate.py, issue 12 items 1 and 2): a malformed dump, manifest
or API response is one `error:` line and exit 2, never `internal error`; the limits on size,
depth, aliases and numbers; a malformed Event or Lease is skipped with one warning line."""

from __future__ import annotations

import copy
import json
import os
import threading

import pytest

from kubectl_ds.errors import DsError
from kubectl_ds.source import validate
from tests.conftest import EXAMPLE

BASE = json.load(open(EXAMPLE))


def _item(doc: dict, kind: str, name: str = "") -> dict:
    return next(i for i in doc["items"] if i["kind"] == kind and (not name or i["metadata"]["name"] == name))


def _set(kind: str, name: str, path: str, value):
    """A mutation: the field at dotted `path` (list indexes as numbers) of one object set to `value`."""
    def mutate(doc):
        cur = _item(doc, kind, name)
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for k in keys[:-1]:
            if isinstance(k, str) and isinstance(cur, dict) and cur.get(k) is None:
                cur[k] = {}
            cur = cur[k]
        cur[keys[-1]] = value
    return mutate


POD = "log-agent-e8f2c"
TMPL = "spec.template.spec"

# (mutation, the message after "error: <dump>: ") - one row per field family the core reads
WRONG_SHAPES = [
    pytest.param(_set("Node", "worker-3", "spec.taints", "NoSchedule"),
                 "Node worker-3: spec.taints is not a list", id="taints-not-a-list"),
    pytest.param(_set("Node", "worker-3", "spec.taints", ["x"]),
                 "Node worker-3: spec.taints is not a list of objects (item 0 is a string)", id="taint-not-an-object"),
    pytest.param(_set("Node", "worker-3", "spec.taints", [{"key": "a", "effect": 1}]),
                 "Node worker-3: spec.taints[0].effect is not a string", id="taint-effect-number"),
    pytest.param(_set("Node", "cp-1", "metadata.labels", ["a"]),
                 "Node cp-1: metadata.labels is not an object", id="labels-a-list"),
    pytest.param(_set("Node", "cp-1", "metadata.labels.zone", 3),
                 "Node cp-1: metadata.labels.zone is not a string", id="label-value-number"),
    pytest.param(_set("Node", "cp-1", "metadata.name", 7), "metadata.name is not a string", id="name-number"),
    pytest.param(_set("Node", "cp-1", "status.conditions", {"type": "Ready"}),
                 "Node cp-1: status.conditions is not a list", id="conditions-object"),
    pytest.param(_set("Node", "cp-1", "status.allocatable", "4"),
                 "Node cp-1: status.allocatable is not an object", id="allocatable-string"),
    pytest.param(_set("DaemonSet", "log-agent", "spec.selector", ["app"]),
                 "DaemonSet logging/log-agent: spec.selector is not an object", id="selector-list"),
    pytest.param(_set("DaemonSet", "log-agent", f"{TMPL}.affinity", []),
                 f"DaemonSet logging/log-agent: {TMPL}.affinity is not an object", id="affinity-list"),
    pytest.param(_set("DaemonSet", "log-agent", f"{TMPL}.tolerations", "all"),
                 f"DaemonSet logging/log-agent: {TMPL}.tolerations is not a list", id="tolerations-string"),
    pytest.param(_set("DaemonSet", "log-agent", f"{TMPL}.containers.0.resources", []),
                 f"DaemonSet logging/log-agent: {TMPL}.containers[0].resources is not an object",
                 id="resources-list"),
    pytest.param(_set("DaemonSet", "log-agent", f"{TMPL}.containers.0.image", 5),
                 f"{TMPL}.containers[0].image is not a string", id="image-number"),
    pytest.param(_set("DaemonSet", "log-agent", f"{TMPL}.containers.0.ports", [{"hostPort": "80"}]),
                 f"{TMPL}.containers[0].ports[0].hostPort is not a port number (0-65535)", id="port-string"),
    pytest.param(_set("DaemonSet", "log-agent", f"{TMPL}.containers.0.ports", [{"containerPort": 70000}]),
                 f"{TMPL}.containers[0].ports[0].containerPort is not a port number (0-65535)", id="port-range"),
    pytest.param(_set("DaemonSet", "log-agent", "metadata.generation", "2"),
                 "DaemonSet logging/log-agent: metadata.generation is not an integer", id="generation-string"),
    pytest.param(_set("DaemonSet", "log-agent", "spec.minReadySeconds", True),
                 "spec.minReadySeconds is not an integer", id="min-ready-bool"),
    pytest.param(_set("DaemonSet", "log-agent", "status.numberAvailable", "five"),
                 "status.numberAvailable is not an integer", id="status-counter-string"),
    pytest.param(_set("Pod", POD, "metadata.ownerReferences", {"uid": "x"}),
                 f"Pod logging/{POD}: metadata.ownerReferences is not a list", id="owner-refs-object"),
    pytest.param(_set("Pod", POD, "metadata.creationTimestamp", 1700000000),
                 "metadata.creationTimestamp is not a string", id="timestamp-number"),
    pytest.param(_set("Pod", POD, "spec.containers", {"name": "a"}),
                 f"Pod logging/{POD}: spec.containers is not a list", id="containers-object"),
    pytest.param(_set("Pod", POD, "spec.nodeName", ["worker-1"]), "spec.nodeName is not a string", id="node-name-list"),
    pytest.param(_set("Pod", POD, "status.containerStatuses", "running"),
                 "status.containerStatuses is not a list", id="container-statuses-string"),
    pytest.param(_set("Pod", POD, "spec.initContainers", [None]),
                 "spec.initContainers is not a list of objects (item 0 is null)", id="init-container-null"),
    pytest.param(_set("ControllerRevision", "log-agent-6d5f8c7b9", "revision", "1"),
                 "ControllerRevision logging/log-agent-6d5f8c7b9: revision is not an integer", id="revision-string"),
    pytest.param(_set("ControllerRevision", "log-agent-6d5f8c7b9", "data.spec.template", []),
                 "data.spec.template is not an object", id="revision-template-list"),
    pytest.param(_set("Deployment", "metrics-relay", "spec.replicas", "3"),
                 "Deployment monitoring/metrics-relay: spec.replicas is not an integer", id="replicas-string"),
]

BAD_NUMBERS = [
    pytest.param(_set("DaemonSet", "log-agent", f"{TMPL}.containers.0.resources.requests", {"cpu": "abc"}),
                 f"{TMPL}.containers[0].resources.requests.cpu is not a quantity: 'abc'", id="quantity-abc"),
    pytest.param(_set("Pod", POD, "spec.containers.0.resources.requests", {"memory": "1.5.5Gi"}),
                 "spec.containers[0].resources.requests.memory is not a quantity: '1.5.5Gi'", id="quantity-1.5.5Gi"),
    pytest.param(_set("Node", "worker-1", "status.allocatable.cpu", "lots"),
                 "Node worker-1: status.allocatable.cpu is not a quantity: 'lots'", id="allocatable-garbage"),
    pytest.param(_set("Pod", POD, "spec.containers.0.resources.requests", {"cpu": "-100m"}),
                 "spec.containers[0].resources.requests.cpu is negative: '-100m'", id="negative-request"),
    pytest.param(_set("Pod", POD, "spec.overhead", {"memory": -1}),
                 "spec.overhead.memory is negative: -1", id="negative-overhead"),
    pytest.param(_set("Node", "worker-1", "status.allocatable.memory", "1e400"),
                 "status.allocatable.memory is out of range: '1e400'", id="quantity-1e400-text"),
    pytest.param(_set("Node", "worker-1", "status.allocatable.pods", True),
                 "status.allocatable.pods is not a quantity (a boolean)", id="quantity-bool"),
]


def _one_error(res, fragment: str) -> None:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ") and "internal error" not in res.stderr, res.stderr
    assert fragment in lines[0], res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("mutate,message", WRONG_SHAPES + BAD_NUMBERS)
def test_a_malformed_dump_is_one_line_naming_the_object_and_field(run_cli, tmp_path, mutate, message):
    doc = copy.deepcopy(BASE)
    mutate(doc)
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(doc))
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    _one_error(res, message)
    assert res.stderr.startswith(f"error: {path}: "), res.stderr


@pytest.mark.parametrize("mutate", [
    _set("Pod", POD, "status", None), _set("Node", "worker-2", "spec", None),
    _set("DaemonSet", "log-agent", f"{TMPL}.tolerations", None),
    _set("Node", "worker-2", "status.allocatable.cpu", 4),   # a JSON number is a quantity
], ids=["null-status", "null-spec", "null-tolerations", "numeric-quantity"])
def test_null_where_the_api_allows_it_and_numeric_quantities_are_read(run_cli, tmp_path, mutate):
    doc = copy.deepcopy(BASE)
    mutate(doc)
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(doc))
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=None)
    assert res.code in (0, 1) and "error" not in res.stderr, res.stderr


@pytest.mark.parametrize("kind,mutate", [
    ("Event", lambda ev: ev.update(involvedObject=["not", "an", "object"])),
    ("Lease", lambda lease: lease.update(spec={"renewTime": 12})),
], ids=["event", "lease"])
def test_a_malformed_event_or_lease_is_skipped_with_one_warning(run_cli, tmp_path, kind, mutate):
    doc = copy.deepcopy(BASE)
    if kind == "Lease":
        doc["items"].append({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                             "metadata": {"name": "worker-1", "namespace": "kube-node-lease"}})
    mutate(_item(doc, kind))
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(doc))
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=0)   # the example: no drift (worker-4 is transient)
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith(f"warning: {path}: skipped {kind} ")]
    assert len(warnings) == 1 and "internal error" not in res.stderr, res.stderr


# --- numbers and bombs in the text ------------------------------------------------------------

def _text(doc: dict) -> str:
    return json.dumps(doc)


BOMBS = [
    pytest.param(lambda: _text(BASE).replace('"cpu": "4"', '"cpu": Infinity', 1),
                 "Infinity is not a number (JSON has no infinities or NaN)", id="json-infinity"),
    pytest.param(lambda: _text(BASE).replace('"cpu": "4"', '"cpu": NaN', 1),
                 "NaN is not a number", id="json-nan"),
    pytest.param(lambda: _text(BASE).replace('"cpu": "4"', '"cpu": 1e400', 1),
                 "the number 1e400 is out of range", id="json-1e400"),
    pytest.param(lambda: '{"items": [], "x": ' + "[" * 5000 + "]" * 5000 + "}",
                 "nested deeper than 100 levels", id="json-depth"),
    pytest.param(lambda: "items: []\nx: " + "[" * 100000 + "]" * 100000 + "\n",
                 "nested deeper than 100 levels", id="yaml-depth"),
    pytest.param(lambda: "items: []\na: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9)),
        "its aliases expand to more than 1,000,000 nodes", id="yaml-billion-laughs"),
]


@pytest.mark.parametrize("text,message", BOMBS)
def test_numbers_and_bombs_are_refused_in_one_line(run_cli, tmp_path, text, message):
    path = tmp_path / "dump.json"
    path.write_text(text())
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    _one_error(res, f"malformed snapshot {path}: {message}")


def test_depth_up_to_the_limit_is_read():
    nested = "[" * validate.MAX_DEPTH + "]" * validate.MAX_DEPTH
    assert validate.loads_json(nested) is not None
    with pytest.raises(validate.Refused):
        validate.loads_json("[" + nested + "]")


def test_a_file_beyond_the_size_limit_is_refused_before_it_is_read(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECTL_DS_MAX_INPUT", "1Mi")
    path = tmp_path / "dump.json"
    path.write_text(_text(BASE) + " " * (2 << 20))
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    _one_error(res, f"cannot read snapshot {path}: larger than 1 MiB, the input limit (KUBECTL_DS_MAX_INPUT")


def test_dev_zero_is_refused_at_once(run_cli):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    res = run_cli("diff", "-A", "--snapshot", "/dev/zero", expect=2)
    _one_error(res, "cannot read snapshot /dev/zero: it is only NUL bytes")


def test_a_fifo_that_never_ends_is_refused_at_the_limit(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECTL_DS_MAX_INPUT", "2Mi")
    fifo = tmp_path / "dump.json"
    os.mkfifo(fifo)

    def endless():
        try:
            with open(fifo, "wb") as fh:
                while True:
                    fh.write(b'{"items": [' * 1 + b" " * 65536)
        except OSError:   # the reader closed it (BrokenPipeError)
            pass
    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    res = run_cli("diff", "-A", "--snapshot", str(fifo), expect=2)
    _one_error(res, f"cannot read snapshot {fifo}: larger than 2 MiB")
    writer.join(timeout=10)
    assert not writer.is_alive()


def test_a_bad_max_input_setting_is_an_error(run_cli, monkeypatch):
    monkeypatch.setenv("KUBECTL_DS_MAX_INPUT", "lots")
    res = run_cli("diff", "-A", "--snapshot", EXAMPLE, expect=2)
    _one_error(res, "KUBECTL_DS_MAX_INPUT='lots' is not a size in bytes")


# --- the same validator for manifests and API responses -------------------------------------------

@pytest.mark.parametrize("content,message", [
    ("kind: DaemonSet\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: a, resources: "
     "{requests: {cpu: abc}}}]}}}\n", "DaemonSet x: spec.template.spec.containers[0].resources.requests.cpu "
     "is not a quantity: 'abc'"),
    ("kind: DaemonSet\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: a}], "
     "tolerations: {key: a}}}}\n", "DaemonSet x: spec.template.spec.tolerations is not a list"),
    ('{"kind": "DaemonSet", "metadata": {"name": "x"}, "spec": {"replicas": Infinity}}', "Infinity is not a number"),
    ("kind: DaemonSet\nx: " + "[" * 200 + "]" * 200 + "\n", "nested deeper than 100 levels"),
], ids=["quantity", "tolerations", "infinity", "depth"])
def test_lint_manifests_use_the_same_validator(run_cli, tmp_path, content, message):
    path = tmp_path / "ds.yaml"
    path.write_text(content)
    res = run_cli("lint", "-f", str(path), expect=2)
    _one_error(res, f"error: malformed manifest {path}: {message}")


def test_an_api_list_is_checked_and_its_bad_events_dropped():
    good = copy.deepcopy(_item(BASE, "Event"))
    bad = dict(copy.deepcopy(good), reason=["x"])
    doc, warnings = validate.check_response({"items": [good, bad]}, "list", "events", "list events from the apiserver")
    assert doc["items"] == [good]
    assert warnings == [f"warning: list events from the apiserver: skipped Event "
                        f"{good['metadata']['namespace']}/{good['metadata']['name']}: reason is not a string"]
    node = copy.deepcopy(_item(BASE, "Node", "worker-3"))
    node["spec"]["taints"] = "x"
    with pytest.raises(DsError, match="^list nodes from the apiserver: Node worker-3: spec.taints is not a list$"):
        validate.check_response({"items": [node]}, "list", "nodes", "list nodes from the apiserver")
    with pytest.raises(DsError, match="the nodes list has no list of items"):
        validate.check_response({"items": {"a": 1}}, "list", "nodes", "list nodes from the apiserver")
    with pytest.raises(DsError, match="get nodes from the apiserver: Node worker-3: spec.taints is not a list"):
        validate.response(json.dumps(node).encode(), "get", "nodes")
    with pytest.raises(DsError, match="the response is refused: Infinity is not a number"):
        validate.response(b'{"items": [Infinity]}', "list", "pods")


def test_every_kind_the_snapshot_reads_has_a_shape():
    from kubectl_ds.source.snapshot import KINDS
    assert set(KINDS) == set(validate.KINDS)
