"""--anonymize: the bundled dump anonymized gives the same verdicts, mapped 1:1, and nothing of
the originals is left in it."""

from __future__ import annotations

import json
import re

import pytest

from kubectl_ds.core.anonymize import Mapping, anonymize_dump, substitute
from tests import builders as b
from tests.conftest import EXAMPLE

NODES = ["cp-1", "worker-1", "worker-2", "worker-3", "worker-4", "worker-5", "gpu-1"]


def _example() -> dict:
    with open(EXAMPLE) as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def anonymized(tmp_path_factory):
    m = Mapping()
    doc = anonymize_dump(_example(), m)
    path = tmp_path_factory.mktemp("anon") / "anon.json"
    path.write_text(json.dumps(doc))
    return str(path), m


def _pairs(m: Mapping) -> dict:
    """original -> pseudonym for what the answers name: objects, namespaces, containers, images,
    label values. (Not volume or port names: "containers", "metrics", "health" are the tool's own
    words too.)"""
    volumes_and_ports = set()
    for item in _example()["items"]:
        spec = item.get("spec", {})
        spec = spec.get("template", {}).get("spec", spec)
        volumes_and_ports |= {v["name"] for v in spec.get("volumes", [])}
        volumes_and_ports |= {p["name"] for c in spec.get("containers", []) for p in c.get("ports", [])
                              if "name" in p}
    return {k: v for k, v in m.all_pairs().items() if k not in volumes_and_ports}


def _mapped(value, m: Mapping):
    """An answer about the original dump, with its names, namespaces, images and IPs as the
    anonymized dump has them: a whole string by any pseudonym, a word in a sentence by those of
    _pairs, and a volume's or port's name where the sentence says "volume X" or "port X"."""
    every, pairs = m.all_pairs(), _pairs(m)
    if isinstance(value, dict):
        return {pairs.get(k, k): _mapped(v, m) for k, v in value.items()}
    if isinstance(value, list):
        return [_mapped(v, m) for v in value]
    if isinstance(value, str):
        if value in every:
            return every[value]
        text = re.sub(r"\b(volume|port) ([A-Za-z0-9-]+)", lambda g: f"{g[1]} {every.get(g[2], g[2])}", value)
        return substitute(text, pairs)
    return value


def _canonical(value):
    """Lists compared as multisets: names sort differently once replaced."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def _commands(m: Mapping):
    out = []
    for node in NODES:
        out.append((("why", node, "-o", "json"), ("why", m.names[node], "-o", "json")))
    out.append((("diff", "-A", "-o", "json"), ("diff", "-A", "-o", "json")))
    out.append((("lint", "-A", "-o", "json"), ("lint", "-A", "-o", "json")))
    out.append((("footprint", "-A", "--by-node", "-o", "json"), ("footprint", "-A", "--by-node", "-o", "json")))
    out.append((("diff", "log-agent", "-n", "logging", "-o", "json"),
                ("diff", m.names["log-agent"], "-n", m.namespaces["logging"], "-o", "json")))
    return out


def test_the_same_verdicts_mapped_one_to_one(run_cli, anonymized):
    path, m = anonymized
    for original_args, anonymized_args in _commands(m):
        want = run_cli(*original_args, "--snapshot", EXAMPLE, expect=None)
        got = run_cli(*anonymized_args, "--snapshot", path, expect=None)
        assert got.code == want.code, original_args
        assert _canonical(got.json()) == _canonical(_mapped(want.json(), m)), original_args
        assert got.stderr == want.stderr


def test_nothing_of_the_originals_is_left(anonymized):
    path, m = anonymized
    text = open(path).read()
    originals = {i["metadata"]["name"] for i in _example()["items"]} | \
        {i["metadata"].get("namespace") for i in _example()["items"]} - {None, "kube-system", "default"}
    images = {c["image"] for i in _example()["items"] if i["kind"] == "Pod" for c in i["spec"]["containers"]}
    for s in originals | images:
        assert f'"{s}"' not in text, s
    assert m.images and all(v.startswith("registry.invalid/image-") for v in m.images.values())


def test_consistent_across_references():
    ds = b.daemonset("secret-agent", namespace="acme-payments", labels={"app": "secret-agent", "team": "payments"},
                     node_selector={"acme.example/pool": "payments-pool"})
    node = b.node("acme-node-7", labels={"acme.example/pool": "payments-pool", "topology.kubernetes.io/zone": "z1"})
    pod = b.daemon_pod(ds, "acme-node-7", suffix="x1")
    doc = anonymize_dump({"kind": "List", "items": [node, ds, pod]})
    anode, ads, apod = doc["items"]
    node_name = anode["metadata"]["name"]
    assert node_name == apod["spec"]["nodeName"] == anode["metadata"]["labels"]["kubernetes.io/hostname"]
    assert anode["metadata"]["name"].startswith("node-")
    assert apod["metadata"]["ownerReferences"][0]["name"] == ads["metadata"]["name"]
    assert apod["metadata"]["namespace"] == ads["metadata"]["namespace"] != "acme-payments"
    sel = ads["spec"]["template"]["spec"]["nodeSelector"]
    assert sel == {"acme.example/pool": anode["metadata"]["labels"]["acme.example/pool"]} != \
        {"acme.example/pool": "payments-pool"}
    assert anode["metadata"]["labels"]["topology.kubernetes.io/zone"] == "z1"   # well-known: kept
    assert ads["spec"]["selector"]["matchLabels"]["app"] == apod["metadata"]["labels"]["app"]
    assert "acme" not in json.dumps(doc).replace("acme.example/pool", "")


def test_the_same_input_gives_the_same_dump():
    assert json.dumps(anonymize_dump(_example())) == json.dumps(anonymize_dump(_example()))


def test_free_text_whole_words_only():
    m = Mapping()
    m.register("agent", "ds")
    m.register("worker-1", "node")
    text = 'pod logging/agent-x on worker-1 ("worker-10" is not it, nor agentx)'
    assert m.free_text(text) == 'pod logging/agent-x on node-0001 ("worker-10" is not it, nor agentx)'
    assert m.name("agent-x") == "ds-0001-x"     # a name made from a base keeps its suffix
    assert m.free_text(text) == 'pod logging/ds-0001-x on node-0001 ("worker-10" is not it, nor agentx)'


def test_images_keep_their_tag_and_digest():
    m = Mapping()
    assert m.image("registry.acme.corp:5000/team/agent:1.2") == "registry.invalid/image-0001:1.2"
    assert m.image("registry.acme.corp:5000/team/agent:1.2") == "registry.invalid/image-0001:1.2"
    assert m.image("acme/agent@sha256:abc") == "registry.invalid/image-0002@sha256:abc"
    assert m.image("agent") == "registry.invalid/image-0003"


def test_secrets_in_env_and_args_are_replaced():
    ds = b.daemonset("agent")
    c = ds["spec"]["template"]["spec"]["containers"][0]
    c["env"] = [{"name": "API_TOKEN", "value": "hunter2"}]
    c["args"] = ["--password=hunter2"]
    ds["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": '{"secret": "hunter2"}'}
    node = b.node("n1")
    node["status"]["addresses"] = [{"type": "InternalIP", "address": "192.168.7.9"},
                                   {"type": "Hostname", "address": "n1"}]
    text = json.dumps(anonymize_dump({"kind": "List", "items": [node, ds]}))
    assert "hunter2" not in text and "192.168.7.9" not in text and '"API_TOKEN"' in text
    assert '{"type": "Hostname", "address": "node-0001"}' in text


def test_the_dumps_notes_are_anonymized_too():
    doc = {"kind": "List", "dumpedBy": {"tool": "kubectl-ds", "notes": [
        'events are not in the dump: forbidden: cannot list events in the namespace "acme-pay": '
        'events is forbidden: User "alice@acme.example" cannot list resource "events"']},
        "items": [b.daemonset("agent", namespace="acme-pay")]}
    [note] = anonymize_dump(doc)["dumpedBy"]["notes"]
    assert note == ('events are not in the dump: forbidden: cannot list events in the namespace "ns-0001": '
                    'events is forbidden: User "(a user)" cannot list resource "events"')


def test_a_copy_unless_in_place():
    doc = _example()
    before = json.dumps(doc)
    anonymize_dump(doc)
    assert json.dumps(doc) == before
    same = anonymize_dump(doc, in_place=True)
    assert same["items"][0] is doc["items"][0] and doc["items"][0]["metadata"]["name"] == "node-0001"
