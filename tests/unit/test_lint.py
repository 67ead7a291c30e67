"""lint: one table per check, with literal objects; then the runner (suppression, DS000, --fail-on)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from kubectl_ds.core import lint as L
from kubectl_ds.core.strategy import scaled
from tests.builders import V133, affinity_terms, container, daemonset, expr, node, taint, term, toleration

CP = taint("node-role.kubernetes.io/control-plane")
GPU = taint("nvidia.com/gpu", "present")
README = Path(__file__).resolve().parents[2] / "docs" / "lint.md"


def cluster():
    return [node("cp-1", labels={"node-role.kubernetes.io/control-plane": ""}, taints=[CP]),
            node("w1", labels={"disktype": "ssd"}), node("w2"),
            node("gpu-1", labels={"accelerator": "a100"}, taints=[GPU])]


def ds_with(spec=None, **kwargs):
    """A DaemonSet from the builder, its pod template spec updated with `spec`."""
    ds = daemonset("agent", "agents", **kwargs)
    ds["spec"]["template"]["spec"].update(spec or {})
    return ds


def workload(kind="Deployment", replicas=3, topology="kubernetes.io/hostname", selects="relay", required=True,
             spec=None, ns="apps"):
    term_ = {"labelSelector": {"matchLabels": {"app": selects}}, "topologyKey": topology}
    mode = "requiredDuringSchedulingIgnoredDuringExecution" if required else \
        "preferredDuringSchedulingIgnoredDuringExecution"
    anti = [term_] if required else [{"weight": 100, "podAffinityTerm": term_}]
    pod_spec = {"containers": [container("relay")], "affinity": {"podAntiAffinity": {mode: anti}}}
    pod_spec.update(spec or {})
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "relay", "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "relay"}},
                     "template": {"metadata": {"labels": {"app": "relay"}}, "spec": pod_spec}}}


def only(hits):
    assert len(hits) == 1, hits
    return hits[0]


# --- DS001 UntoleratedTaint ---------------------------------------------------------------------

@pytest.mark.parametrize("ds,nodes,want", [
    (ds_with(), cluster(), [("node-role.kubernetes.io/control-plane:NoSchedule", ["cp-1"]),
                            ("nvidia.com/gpu=present:NoSchedule", ["gpu-1"])]),
    (ds_with(tolerations=[toleration("node-role.kubernetes.io/control-plane", "Exists")]), cluster(),
     [("nvidia.com/gpu=present:NoSchedule", ["gpu-1"])]),
    (ds_with(node_selector={"disktype": "ssd"}), cluster(), []),
    (ds_with(), [node("cp-1", taints=[CP]), node("cp-2", taints=[CP])],
     [("node-role.kubernetes.io/control-plane:NoSchedule", ["cp-1", "cp-2"])]),
    (ds_with(), [node("both", taints=[CP, GPU])], [("node-role.kubernetes.io/control-plane:NoSchedule", ["both"]),
                                                   ("nvidia.com/gpu=present:NoSchedule", ["both"])]),
    (ds_with(), [node("down", ready="Unknown", taints=[taint("node.kubernetes.io/unreachable"),
                                                       taint("node.kubernetes.io/unreachable", effect="NoExecute")])],
     []),
    (ds_with(), [node("new", taints=[taint("node.cloudprovider.kubernetes.io/uninitialized", "true")])], []),
    (ds_with(), [node("cordoned", unschedulable=True, taints=[taint("node.kubernetes.io/unschedulable")])], []),
    (ds_with(), [node("soft", taints=[taint("dedicated", "db", "PreferNoSchedule")])], []),
    (ds_with(), [node("maint", taints=[taint("maintenance", effect="NoExecute")])],
     [("maintenance:NoExecute", ["maint"])]),
], ids=["control-plane-and-gpu", "cp-tolerated", "node-not-selected-anyway", "same-taint-grouped",
        "two-taints-one-node", "lifecycle-taints-are-transient", "cloud-provider-taint-transient",
        "cordoned-tolerated-by-default", "prefer-no-schedule-never-blocks", "no-execute"])
def test_untolerated_taint(ds, nodes, want):
    hits = L.untolerated_taint(ds, nodes)
    got = [(h.detail["taint"]["key"] + (f"={h.detail['taint']['value']}" if h.detail["taint"].get("value") else "")
            + ":" + h.detail["taint"]["effect"], h.detail["nodes"]) for h in hits]
    assert got == want
    for h in hits:
        assert h.fix.path == "spec.template.spec" and h.fix.value == {"tolerations": [h.detail["toleration"]]}
        assert ("evicted" in h.message) == (h.detail["taint"]["effect"] == "NoExecute")


def test_untolerated_taint_fix_is_the_narrowest_toleration():
    hit = L.untolerated_taint(ds_with(), [node("gpu-1", taints=[GPU])])[0]
    assert hit.fix.value == {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                              "effect": "NoSchedule"}]}
    assert hit.message == ("no pod is placed on 1 node (gpu-1): taint nvidia.com/gpu=present:NoSchedule is not "
                           "tolerated (a pod placed before the taint keeps running until it is replaced)")


def test_untolerated_taint_fixed_by_its_own_fix():
    nodes = cluster()
    ds = ds_with()
    for hit in L.untolerated_taint(ds, nodes):
        ds["spec"]["template"]["spec"].setdefault("tolerations", []).extend(hit.fix.value["tolerations"])
    assert L.untolerated_taint(ds, nodes) == []


# --- DS002 NoEligibleNodes ----------------------------------------------------------------------

@pytest.mark.parametrize("ds,nodes,message_parts,fix_value", [
    (ds_with(node_selector={"kubernetes.io/os": "Linux"}), cluster(),
     ["runs on none of the 4 nodes", "4 not selected",
      "no node has kubernetes.io/os=Linux (nodes have kubernetes.io/os=linux)"],
     {"nodeSelector": {"kubernetes.io/os": "linux"}}),
    (ds_with(node_selector={"role": "agent"}), cluster(), ["no node has role=agent (no node has that label)"], None),
    (ds_with(node_selector={"disktype": "nvme"}), cluster(), ["no node has disktype=nvme (nodes have disktype=ssd)"],
     None),
    (ds_with(affinity=affinity_terms(term(expr("zone", "In", "eu-1")))), cluster(), ["4 not selected"], None),
    (ds_with(), [node("cp-1", taints=[CP]), node("cp-2", taints=[CP])],
     ["runs on none of the 2 nodes: 2 with a taint it does not tolerate"], None),
    (ds_with(node_selector={"accelerator": "a100"}), [node("gpu-1", labels={"accelerator": "a100"}, taints=[GPU]),
                                                      node("w1")],
     ["1 not selected by its nodeName/nodeSelector/node affinity; 1 with a taint it does not tolerate"], None),
], ids=["selector-typo-in-case", "label-nowhere", "value-nowhere", "affinity-matches-none", "all-tainted",
        "selected-node-tainted"])
def test_no_eligible_nodes(ds, nodes, message_parts, fix_value):
    hit = only(L.no_eligible_nodes(ds, nodes))
    for part in message_parts:
        assert part in hit.message
    assert hit.fix.value == fix_value


@pytest.mark.parametrize("ds,nodes", [
    (ds_with(), cluster()), (ds_with(node_selector={"disktype": "ssd"}), cluster()), (ds_with(), []),
], ids=["runs-somewhere", "selector-matches-one", "cluster-without-nodes"])
def test_no_eligible_nodes_quiet(ds, nodes):
    assert L.no_eligible_nodes(ds, nodes) == []


@pytest.mark.parametrize("fn", [L.untolerated_taint, L.no_eligible_nodes, L.max_unavailable_too_high],
                         ids=["DS001", "DS002", "DS006"])
def test_cluster_checks_say_they_need_the_cluster(fn):
    assert fn(ds_with(), None) == [L.NEEDS_CLUSTER]


# --- DS003 ToleratesEverything ------------------------------------------------------------------

@pytest.mark.parametrize("tolerations,nodes,scope,through,evicts", [
    ([toleration(operator="Exists")], cluster(), "every taint",
     [("node-role.kubernetes.io/control-plane:NoSchedule", ["cp-1"]), ("nvidia.com/gpu=present:NoSchedule", ["gpu-1"])],
     True),
    ([toleration(operator="Exists", effect="NoSchedule")], cluster(), "every NoSchedule taint",
     [("node-role.kubernetes.io/control-plane:NoSchedule", ["cp-1"]), ("nvidia.com/gpu=present:NoSchedule", ["gpu-1"])],
     False),
    ([toleration(operator="Exists"), toleration("nvidia.com/gpu", "Exists")], cluster(), "every taint",
     [("node-role.kubernetes.io/control-plane:NoSchedule", ["cp-1"])], True),
    ([toleration(operator="Exists")], None, "every taint", [], True),
    ([toleration(operator="Exists", effect="NoExecute")],
     [node("maint", taints=[taint("maintenance", effect="NoExecute")])],
     "every NoExecute taint", [("maintenance:NoExecute", ["maint"])], True),
], ids=["blanket", "blanket-noschedule-only", "specific-one-not-counted", "without-cluster", "noexecute-only"])
def test_tolerates_everything(tolerations, nodes, scope, through, evicts):
    hit = only(L.tolerates_everything(ds_with(tolerations=tolerations), nodes))
    assert f"tolerates {scope} " in hit.message
    assert [(t["taint"], t["nodes"]) for t in hit.detail["tolerated"]] == through
    assert ("NoExecute taint" in hit.message and "evicts it" in hit.message) == evicts
    if through:
        assert len(hit.fix.value["tolerations"]) == len(through)
    else:
        assert hit.fix.value is None


@pytest.mark.parametrize("tolerations", [[], [toleration("nvidia.com/gpu", "Exists")],
                                         [toleration("", "Equal", "x")]],
                         ids=["none", "keyed-exists", "empty-key-equal"])
def test_tolerates_everything_quiet(tolerations):
    assert L.tolerates_everything(ds_with(tolerations=tolerations), cluster()) == []


def test_tolerates_everything_counts_only_nodes_it_is_selected_for():
    ds = ds_with(tolerations=[toleration(operator="Exists")], node_selector={"disktype": "ssd"})
    hit = only(L.tolerates_everything(ds, cluster()))
    assert hit.detail["tolerated"] == [] and "puts it on" not in hit.message


# --- DS004 NoRequests / DS005 NoMemoryLimit -----------------------------------------------------

def sidecar(name="proxy", **kw):
    c = container(name, **kw)
    c["restartPolicy"] = "Always"
    return c


@pytest.mark.parametrize("spec,want", [
    ({"containers": [container()]}, [("containers", 0, ["cpu", "memory"])]),
    ({"containers": [container(requests={"cpu": "10m"})]}, [("containers", 0, ["memory"])]),
    ({"containers": [container(requests={"cpu": "10m"}, limits={"memory": "64Mi"})]}, []),
    ({"containers": [container(requests={"cpu": "10m", "memory": "1Mi"})]}, []),
    ({"containers": [container(requests={"cpu": "1", "memory": "1Gi"}), container("b")]},
     [("containers", 1, ["cpu", "memory"])]),
    ({"containers": [container(requests={"cpu": "1", "memory": "1Gi"})], "initContainers": [sidecar()]},
     [("initContainers", 0, ["cpu", "memory"])]),
    ({"containers": [container(requests={"cpu": "1", "memory": "1Gi"})], "initContainers": [container("setup")]}, []),
], ids=["nothing", "memory-missing", "limit-defaults-the-request", "complete", "second-container", "sidecar",
        "plain-init-container-ignored"])
def test_no_requests(spec, want):
    hits = L.no_requests(ds_with(spec), None, V133.rules)
    assert [(h.fix.path.split(".")[-1].split("[")[0], int(h.fix.path[-2]), h.detail["missing"]) for h in hits] == want
    for h in hits:
        assert set(h.fix.value["resources"]["requests"]) == set(h.detail["missing"])
        assert ("evicted" in h.message) == ("memory" in h.detail["missing"])


@pytest.mark.parametrize("c,limit", [
    (container(), "128Mi"),
    (container(requests={"memory": "200Mi"}), "200Mi"),
    (container(limits={"cpu": "1"}), "128Mi"),
    (container(limits={"memory": "1Gi"}), None),
], ids=["nothing", "limit-from-request", "cpu-limit-only", "limited"])
def test_no_memory_limit(c, limit):
    hits = L.no_memory_limit(ds_with({"containers": [c]}), None)
    if limit is None:
        assert hits == []
    else:
        assert only(hits).fix.value == {"resources": {"limits": {"memory": limit}}}
        assert hits[0].fix.path == "spec.template.spec.containers[0]"


# --- DS006 MaxUnavailableTooHigh ----------------------------------------------------------------

def workers(n):
    return [node(f"w{i}") for i in range(n)]


@pytest.mark.parametrize("unavailable,surge,nodes,at_once,severity", [
    (1, 0, workers(4), None, None),
    ("25%", 0, workers(4), None, None),
    ("50%", 0, workers(4), 2, "warning"),
    ("26%", 0, workers(4), 2, "warning"),            # 1.04 rounds up to 2, as the controller does
    ("30%", 0, workers(10), 3, "warning"),
    ("20%", 0, workers(10), None, None),             # 2 of 10: a fifth
    (2, 0, workers(8), None, None),                  # exactly a quarter
    ("100%", 0, workers(4), None, None),             # every node whatever their number: DS017's, not DS006's
    (10, 0, workers(3), 3, "error"),                 # more than the nodes: all of them
    (0, 0, workers(4), None, None),                  # both 0: the controller falls back to 1
    (0, "50%", workers(4), None, None),              # surge only: nothing goes down
    ("100%", 0, workers(1), None, None),             # one node: nothing else to do
    ("50%", 0, workers(3) + [node("cp", taints=[CP])], 2, "warning"),   # 50% of the 3 it covers
], ids=["one", "quarter", "half", "26pct-rounds-up", "30pct-of-10", "20pct-of-10", "exactly-a-quarter", "all",
        "int-above-nodes", "both-zero", "surge-only", "single-node", "percent-of-covered-nodes"])
def test_max_unavailable_too_high(unavailable, surge, nodes, at_once, severity):
    hits = L.max_unavailable_too_high(ds_with(max_unavailable=unavailable, max_surge=surge), nodes)
    if at_once is None:
        assert hits == []
        return
    hit = only(hits)
    assert hit.detail["nodesAtOnce"] == at_once
    assert (hit.severity or L.CATALOGUE["DS006"].severity) == severity
    assert hit.fix.value == {"maxUnavailable": 1} and hit.fix.path == "spec.updateStrategy.rollingUpdate"


def test_max_unavailable_on_delete_is_not_a_rollout():
    assert L.max_unavailable_too_high(ds_with(strategy="OnDelete"), None) == []


@pytest.mark.parametrize("value,total,want", [
    (1, 10, 1), ("10%", 10, 1), ("11%", 10, 2), ("0%", 10, 0), ("100%", 7, 7), ("33%", 3, 1), ("34%", 3, 2),
], ids=["int", "exact", "rounds-up", "zero", "all", "just-under", "just-over"])
def test_scaled_rounds_up_like_the_controller(value, total, want):
    assert scaled(value, total) == want


@pytest.mark.parametrize("value", ["10", "x%", True], ids=["string-without-percent", "not-a-number", "bool"])
def test_scaled_refuses_what_the_apiserver_refuses(value):
    with pytest.raises(ValueError):
        scaled(value, 10)


# --- DS007 SurgeWithHostPort --------------------------------------------------------------------

PORT = {"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}


@pytest.mark.parametrize("surge,ports,host_network,strategy,hit", [
    (1, [PORT], False, "RollingUpdate", True),
    ("25%", [PORT], False, "RollingUpdate", True),
    (0, [PORT], False, "RollingUpdate", False),
    (1, [{"containerPort": 9100}], True, "RollingUpdate", True),
    (1, [{"containerPort": 9100}], False, "RollingUpdate", False),
    (1, [], True, "RollingUpdate", False),
    (1, [PORT], False, "OnDelete", False),
], ids=["surge-host-port", "surge-percent", "no-surge", "host-network-port", "container-port-only", "no-ports",
        "on-delete"])
def test_surge_with_host_port(surge, ports, host_network, strategy, hit):
    ds = ds_with(max_surge=surge, max_unavailable=0, host_network=host_network, strategy=strategy,
                 containers=[container(ports=ports)])
    hits = L.surge_with_host_port(ds, None, V133.rules)
    assert bool(hits) == hit
    if hit:
        assert "9100/TCP" in hits[0].message and "kubernetes#106417" in hits[0].message
        assert ("with hostNetwork every container port" in hits[0].message) == ("hostPort" not in ports[0])
        assert hits[0].fix.value == {"maxSurge": 0, "maxUnavailable": 1}


# --- DS008 .. DS010 -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec,hit", [({}, True), ({"priorityClassName": "system-node-critical"}, False)],
                         ids=["none", "set"])
def test_no_priority_class(spec, hit):
    hits = L.no_priority_class(ds_with(spec), None)
    assert bool(hits) == hit
    if hit:
        assert hits[0].fix.value == {"priorityClassName": "system-node-critical"}


PROBE = {"httpGet": {"path": "/ready", "port": 8080}}


def probed(readiness=False, liveness=False, ports=None):
    c = container(ports=ports)
    if readiness:
        c["readinessProbe"] = PROBE
    if liveness:
        c["livenessProbe"] = PROBE
    return c


@pytest.mark.parametrize("c,readiness,liveness", [
    (probed(), True, True), (probed(readiness=True), False, True), (probed(liveness=True), True, False),
    (probed(True, True), False, False),
], ids=["none", "readiness-only", "liveness-only", "both"])
def test_probes(c, readiness, liveness):
    ds = ds_with({"containers": [c]})
    assert bool(L.no_readiness_probe(ds, None)) == readiness
    assert bool(L.no_liveness_probe(ds, None)) == liveness


def test_probe_example_is_not_made_up_on_a_plain_port():
    hit = only(L.no_readiness_probe(ds_with({"containers": [probed(ports=[{"name": "http", "containerPort": 80}])]}),
                                    None))
    assert "httpGet" not in hit.fix.value["readinessProbe"] and hit.detail["exampleFrom"] == "placeholder"
    assert L.CATALOGUE["DS010"].severity == "info" and L.CATALOGUE["DS009"].severity == "warning"


# --- DS011 .. DS013 -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec,fields", [
    ({}, None), ({"hostNetwork": True}, ["hostNetwork"]), ({"hostPID": True, "hostIPC": True}, ["hostPID", "hostIPC"]),
    ({"hostNetwork": False}, None),
], ids=["none", "network", "pid-and-ipc", "explicit-false"])
def test_host_namespaces(spec, fields):
    hits = L.host_namespaces(ds_with(spec), None)
    assert (only(hits).detail["fields"] if fields else hits) == (fields or [])


@pytest.mark.parametrize("spec,names", [
    ({"containers": [container()]}, []),
    ({"containers": [dict(container(), securityContext={"privileged": True})]}, ["agent"]),
    ({"containers": [dict(container(), securityContext={"privileged": False})]}, []),
    ({"containers": [container()], "initContainers": [dict(container("init"), securityContext={"privileged": True})]},
     ["init"]),
], ids=["plain", "privileged", "explicit-false", "init-container"])
def test_privileged(spec, names):
    assert [h.detail["container"] for h in L.privileged(ds_with(spec), None)] == names


@pytest.mark.parametrize("path,sysdir", [
    ("/", "/"), ("/etc", "/etc"), ("/etc/cni/net.d", "/etc"), ("/var/lib/kubelet/pods", "/var/lib/kubelet"),
    ("/var", "/var"), ("/var/log", None), ("/variety", None), ("/var/lib/fluent-bit", None), ("/usr/local/bin", "/usr"),
    ("/opt/agent", None), ("//etc/", "/etc"), ("/var/run/docker.sock", "/var/run"), ("/run/containerd", "/run"),
    ("/etc/../opt", None),
], ids=lambda v: str(v))
def test_system_dir(path, sysdir):
    assert L.system_dir(path) == sysdir


def mounted(host_path, read_only=False, sub_path=None, volume=None):
    m = {"name": "v", "mountPath": "/host"}
    if read_only:
        m["readOnly"] = True
    if sub_path:
        m["subPath"] = sub_path
    c = dict(container(), volumeMounts=[m])
    return {"containers": [c], "volumes": [volume or {"name": "v", "hostPath": {"path": host_path}}]}


@pytest.mark.parametrize("spec,path", [
    (mounted("/"), "/"), (mounted("/", read_only=True), None), (mounted("/var/log"), None),
    (mounted("/etc/cni/net.d"), "/etc/cni/net.d"), (mounted("/", sub_path="etc"), "/etc"),
    (mounted("/", sub_path="var/log"), None), (mounted("", volume={"name": "v", "emptyDir": {}}), None),
], ids=["root-writable", "root-read-only", "var-log", "cni-config", "sub-path-into-etc", "sub-path-elsewhere",
        "not-a-host-path"])
def test_writable_host_path(spec, path):
    hits = L.writable_host_path(ds_with(spec), None)
    if path is None:
        assert hits == []
    else:
        hit = only(hits)
        assert hit.detail["hostPath"] == path
        assert hit.fix.path == "spec.template.spec.containers[0].volumeMounts[0]"
        assert hit.fix.value == {"readOnly": True}


# --- DS014 .. DS015 -----------------------------------------------------------------------------

@pytest.mark.parametrize("policy,hit", [(None, False), ("Always", False), ("OnFailure", True), ("Never", True)],
                         ids=["unset", "always", "on-failure", "never"])
def test_restart_policy(policy, hit):
    ds = ds_with()
    ds["spec"]["template"]["spec"].pop("restartPolicy")
    if policy:
        ds["spec"]["template"]["spec"]["restartPolicy"] = policy
    hits = L.restart_policy(ds, None)
    assert bool(hits) == hit
    if hit:
        assert hits[0].fix.value == {"restartPolicy": "Always"} and L.CATALOGUE["DS014"].severity == "error"


@pytest.mark.parametrize("ns,severity", [("default", "warning"), ("", "info"), ("kube-system", None)],
                         ids=["default", "unset", "own"])
def test_default_namespace(ns, severity):
    ds = ds_with()
    ds["metadata"]["namespace"] = ns
    hits = L.default_namespace(ds, None)
    assert (only(hits).severity or L.CATALOGUE["DS015"].severity if hits else None) == severity


# --- DS016 DaemonSetInDisguise ------------------------------------------------------------------

@pytest.mark.parametrize("obj,nodes,want", [
    (workload(replicas=3), workers(3), ("warning", 0)),
    (workload(replicas=4), workers(3), ("error", 1)),
    (workload(kind="StatefulSet", replicas=3), workers(3), ("warning", 0)),
    (workload(replicas=2), workers(3), None),
    (workload(replicas=1), workers(1), None),
    (workload(topology="topology.kubernetes.io/zone"), workers(3), None),
    (workload(selects="someone-else"), workers(3), None),
    (workload(required=False), workers(3), None),
    (workload(replicas=2), workers(1) + [node("cordoned", unschedulable=True), node("cp", taints=[CP])],
     ("error", 1)),
    (workload(replicas=2, spec={"tolerations": [toleration("node-role.kubernetes.io/control-plane", "Exists")]}),
     workers(1) + [node("cp", taints=[CP])], ("warning", 0)),
    (workload(replicas=2, spec={"nodeSelector": {"disktype": "ssd"}}), cluster(), ("error", 1)),
], ids=["one-per-node", "more-replicas-than-nodes", "statefulset", "ha-spread", "single-replica", "zone-spread",
        "other-pods", "preferred-only", "cordoned-and-tainted-not-usable", "tolerated-taint-usable",
        "node-selector"])
def test_daemonset_in_disguise(obj, nodes, want):
    hits = L.daemonset_in_disguise(obj, nodes)
    if want is None:
        assert hits == []
        return
    hit = only(hits)
    assert ((hit.severity or L.CATALOGUE["DS016"].severity), hit.detail["unschedulable"]) == want


def test_daemonset_in_disguise_needs_the_cluster_only_when_it_looks_like_one():
    assert L.daemonset_in_disguise(workload(), None) == [L.NEEDS_CLUSTER]
    assert L.daemonset_in_disguise(workload(required=False), None) == []


def test_anti_affinity_limited_to_other_namespaces_is_not_one_per_node():
    obj = workload()
    obj["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"][0]["namespaces"] = ["elsewhere"]
    assert L.one_per_node_terms(obj) == []


# --- the runner ---------------------------------------------------------------------------------

def codes(findings):
    return [f.code for f in findings]


def clean_ds(**kwargs):
    c = container(requests={"cpu": "10m", "memory": "32Mi"}, limits={"memory": "64Mi"})
    c.update(readinessProbe=PROBE, livenessProbe=PROBE)
    return ds_with({"priorityClassName": "system-node-critical"}, containers=[c], **kwargs)


def test_clean_daemonset_has_no_findings():
    report = L.lint([clean_ds()], [], [node("w1"), node("w2")], rules=V133.rules)
    assert report.findings == () and report.cluster and not report.fails("info")


def test_without_nodes_one_not_checked_finding_per_object():
    report = L.lint([clean_ds()], [workload()], None, rules=V133.rules)
    assert [(f.kind, f.code, f.detail["checks"]) for f in report.findings] == [
        ("DaemonSet", "DS000", ["DS001", "DS002", "DS006"]), ("Deployment", "DS000", ["DS016"])]
    assert not report.cluster
    assert not report.fails("info"), "DS000 is about the run, not the object: it never fails it"


def test_on_delete_needs_no_node_count():
    report = L.lint([clean_ds(strategy="OnDelete")], [], None, rules=V133.rules)
    assert report.findings[0].detail["checks"] == ["DS001", "DS002"]


def test_suppression_annotation():
    ds = ds_with()
    ds["metadata"]["annotations"][L.IGNORE_ANNOTATION] = "ds008, DS009  ds010"
    report = L.lint([ds], [], cluster(), rules=V133.rules)
    assert {"DS008", "DS009", "DS010"} <= set(codes(report.suppressed))
    assert not {"DS008", "DS009", "DS010"} & set(codes(report.findings))
    assert "DS004" in codes(report.findings)


def test_suppression_is_per_object():
    quiet, loud = ds_with(), ds_with()
    quiet["metadata"]["name"] = "quiet"
    quiet["metadata"]["annotations"][L.IGNORE_ANNOTATION] = "DS008"
    report = L.lint([quiet, loud], [], cluster(), rules=V133.rules)
    assert [(f.name, f.code) for f in report.findings if f.code == "DS008"] == [("agent", "DS008")]
    assert [(f.name, f.code) for f in report.suppressed] == [("quiet", "DS008")]


@pytest.mark.parametrize("threshold,fails", [("error", True), ("warning", True), ("info", True)])
def test_fails_on_error(threshold, fails):
    ds = clean_ds()
    ds["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert L.lint([ds], [], [node("w1")], rules=V133.rules).fails(threshold) == fails


@pytest.mark.parametrize("threshold,fails", [("error", False), ("warning", False), ("info", True)])
def test_fails_on_info_only(threshold, fails):
    ds = clean_ds()
    del ds["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    report = L.lint([ds], [], [node("w1")], rules=V133.rules)
    assert codes(report.findings) == ["DS010"] and report.fails(threshold) == fails


def test_findings_are_ordered_by_object_then_severity():
    a = ds_with(node_selector={"nope": "x"})
    b = copy.deepcopy(a)
    b["metadata"]["namespace"] = "aaa"
    report = L.lint([a, b], [workload(ns="aaa")], cluster(), rules=V133.rules)
    keys = [(f.namespace, f.kind, f.name) for f in report.findings]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1] != "DaemonSet"))
    first = [f for f in report.findings if f.namespace == "aaa" and f.kind == "DaemonSet"]
    assert first[0].code == "DS002" and first[0].severity == "error"
    ranks = [L.RANK[f.severity] for f in first]
    assert ranks == sorted(ranks, reverse=True)


def test_workload_checks_do_not_run_on_daemonsets_and_vice_versa():
    report = L.lint([], [workload(replicas=3)], workers(3), rules=V133.rules)
    assert codes(report.findings) == ["DS016"]


# --- the catalogue ------------------------------------------------------------------------------

def test_catalogue_codes_are_stable_and_complete():
    assert list(L.CATALOGUE) == [f"DS{i:03d}" for i in range(len(L.CATALOGUE))]
    assert len({c.name for c in L.CATALOGUE.values()}) == len(L.CATALOGUE)
    for c in L.CATALOGUE.values():
        assert c.severity in L.SEVERITIES and re.match(r"^[A-Z][A-Za-z]+$", c.name)


def test_readme_documents_every_check_and_the_annotation():
    text = README.read_text()
    for c in L.CATALOGUE.values():
        assert re.search(rf"\| *`?{c.code}`? *\| *`?{c.name}`? *\|", text), f"{c.code} {c.name} missing from README"
    assert L.IGNORE_ANNOTATION in text
