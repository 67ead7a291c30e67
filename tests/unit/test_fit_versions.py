"""The scheduler's fit per Kubernetes minor (core/fit.py, core/versions.py).

Cases are named after the upstream tests they follow (component-helpers resource/helpers_test.go
TestPodResourceRequests, TestPodLevelResourceRequests, TestAggregateContainerRequestsAndLimits;
scheduler framework/types_test.go TestCalculatePodResourcesWithResize; noderesources
fit_test.go TestEnoughRequests), with the same inputs and the answers upstream expects of the
minor named. Quantities are whole numbers of cpu unless a test says otherwise.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kubectl_ds.core import fit
from kubectl_ds.core.versions import (
    CHANGES,
    DEFAULT,
    DUMP,
    KUBELETS,
    SERVER,
    KubeVersion,
    newest_kubelet,
    resolve,
    rules_for,
    valid_flag,
)
from tests import builders as b

R33, R34, R35, R36, R37 = (rules_for(m) for m in (33, 34, 35, 36, 37))


def _c(name="c", req=None, lim=None, ports=None, restart=None):
    c = {"name": name, "image": "img", "resources": {}}
    if req:
        c["resources"]["requests"] = dict(req)
    if lim:
        c["resources"]["limits"] = dict(lim)
    if ports:
        c["ports"] = ports
    if restart:
        c["restartPolicy"] = restart
    return c


def _pod(containers, init=(), pod_level=None, overhead=None, statuses=(), init_statuses=(),
         infeasible=False, pod_status=None, name="p", node="n1"):
    spec = {"nodeName": node, "containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    if pod_level is not None:
        spec["resources"] = pod_level
    if overhead:
        spec["overhead"] = overhead
    status = {"phase": "Running", "containerStatuses": list(statuses)}
    if init_statuses:
        status["initContainerStatuses"] = list(init_statuses)
    if infeasible:
        status["conditions"] = [{"type": "PodResizePending", "status": "True", "reason": "Infeasible"}]
    status.update(pod_status or {})
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}, "spec": spec, "status": status}


def _cs(name="c", actual=None, allocated=None):
    cs = {"name": name}
    if actual is not None:
        cs["resources"] = {"requests": dict(actual)}
    if allocated is not None:
        cs["allocatedResources"] = dict(allocated)
    return cs


def cpu(value):
    return {"cpu": str(value)}


# ============================================================================================
# the pod being placed: spec only (computePodResourceRequest never reads status)
# ============================================================================================

@pytest.mark.parametrize("rules, want", [(R33, {"memory": D(3 * 2**20)}), (R34, {"memory": D(2 * 2**20)}),
                                         (R37, {"memory": D(2 * 2**20)})], ids=["1.33", "1.34", "1.37"])
def test_pod_level_memory_resource_skip_pod_level_resources_true_false(rules, want):
    """TestPodLevelResourceRequests 'pod level memory resource with SkipPodLevelResources
    true/false': the gate off (1.33) keeps the containers' aggregate."""
    pod = _pod([_c(req={"memory": "3Mi"})], pod_level={"requests": {"memory": "2Mi"}})
    assert fit.pod_requests(pod, rules) == want


def test_both_container_level_and_pod_level_resources_set():
    """TestPodLevelResourceRequests: pod-level 6Mi/8m beats containers' 3Mi/2m."""
    pod = _pod([_c(req={"memory": "3Mi", "cpu": "2m"})], pod_level={"requests": {"memory": "6Mi", "cpu": "8m"}})
    assert fit.pod_requests(pod, R34) == {"memory": D(6 * 2**20), "cpu": D("0.008")}


def test_pod_level_unsupported_resources_keep_the_container_value():
    """TestPodLevelResourceRequests 'pod level unsupported resources set at both pod-level and
    container-level': ephemeral-storage (or storage) at pod level is ignored."""
    pod = _pod([_c(req={"ephemeral-storage": "3Mi"})], pod_level={"requests": {"ephemeral-storage": "2Mi"}})
    assert fit.pod_requests(pod, R37) == {"ephemeral-storage": D(3 * 2**20)}


def test_pod_level_resources_container_level_init_and_sidecar():
    """TestPodLevelResourceRequests 'pod-level resources, container-level resources, init and
    sidecar container set': the pod level (15Mi, 18m) wins over the aggregate (11Mi, 12m)."""
    init = [_c("sidecar", req={"memory": "3Mi", "cpu": "2m"}, restart="Always"),
            _c("init", req={"memory": "5Mi", "cpu": "10m"})]
    containers = [_c("a", req={"memory": "3Mi", "cpu": "2m"}), _c("b", req={"memory": "5Mi", "cpu": "2m"})]
    pod = _pod(containers, init=init)
    assert fit.pod_requests(pod, R37) == {"memory": D(11 * 2**20), "cpu": D("0.012")}
    pod = _pod(containers, init=init, pod_level={"requests": {"memory": "15Mi", "cpu": "18m"}})
    assert fit.pod_requests(pod, R37) == {"memory": D(15 * 2**20), "cpu": D("0.018")}
    assert fit.pod_requests(pod, R33) == {"memory": D(11 * 2**20), "cpu": D("0.012")}


def test_pod_level_hugepages_with_multiple_page_sizes():
    """TestPodLevelResourceRequests '...multiple page sizes between pod-level and container-level':
    the pod level overrides hugepages-2Mi; the containers' hugepages-1Gi and memory stay."""
    pod = _pod([_c(req={"hugepages-2Mi": "4Mi", "hugepages-1Gi": "1Gi", "memory": "2Gi"})],
               pod_level={"requests": {"hugepages-2Mi": "10Mi"}})
    assert fit.pod_requests(pod, R34) == {"hugepages-2Mi": D(10 * 2**20), "hugepages-1Gi": D(2**30),
                                          "memory": D(2 * 2**30)}


def test_pod_overhead_included_on_top_of_pod_level():
    """TestPodResourceRequests 'pod overhead included': spec.overhead is added last."""
    pod = _pod([_c(req=cpu(1))], pod_level={"requests": cpu(5)}, overhead=cpu(1))
    assert fit.pod_requests(pod, R37) == {"cpu": D(6)}


def test_a_pod_level_limit_defaults_its_request():
    """defaultPodRequests: no container requests cpu, so the pod-level limit is the request."""
    pod = _pod([_c(req={"memory": "64Mi"})], pod_level={"limits": cpu("600m")})
    assert fit.pod_requests(pod, R37) == {"cpu": D("0.6"), "memory": D(64 * 2**20)}


def test_the_pod_being_placed_ignores_its_status():
    pod = _pod([_c(req=cpu(4))], statuses=[_cs(actual=cpu(2), allocated=cpu(2))], infeasible=True)
    assert fit.pod_requests(pod, R37) == {"cpu": D(4)}


# ============================================================================================
# pods already on the node: in-place resize accounting
# ============================================================================================

@pytest.mark.parametrize("rules", [R33, R34, R35, R36, R37], ids=lambda r: r.label)
@pytest.mark.parametrize("case, pod, want", [
    ("resized, infeasible", _pod([_c(req=cpu(4))], statuses=[_cs(actual=cpu(2))], infeasible=True), D(2)),
    ("resized, infeasible & in-progress",
     _pod([_c(req=cpu(6))], statuses=[_cs(actual=cpu(2), allocated=cpu(4))], infeasible=True), D(4)),
    ("resized, no resize status", _pod([_c(req=cpu(4))], statuses=[_cs(actual=cpu(2))]), D(4)),
    ("resized, restartable init container, infeasible",
     _pod([], init=[_c("s", req=cpu(4), restart="Always")], init_statuses=[_cs("s", actual=cpu(2))],
          infeasible=True), D(2)),
    ("resized, restartable init container, no resize status",
     _pod([], init=[_c("s", req=cpu(4), restart="Always")], init_statuses=[_cs("s", actual=cpu(2))]), D(4)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_pod_resource_requests_resized(rules, case, pod, want):
    """TestPodResourceRequests resize cases: the same answer on every supported minor."""
    assert fit.pod_requests(pod, rules, on_node=True) == {"cpu": want}


@pytest.mark.parametrize("rules", [R33, R37], ids=lambda r: r.label)
def test_resized_per_resource_3_way_maximum(rules):
    """TestPodResourceRequests 'resized: per-resource 3-way maximum'."""
    pod = _pod([_c(req={"cpu": "30m", "memory": "20M", "ephemeral-storage": "10G"})],
               statuses=[_cs(actual={"cpu": "10m", "memory": "30M", "ephemeral-storage": "20G"},
                             allocated={"cpu": "20m", "memory": "10M", "ephemeral-storage": "30G"})])
    assert fit.pod_requests(pod, rules, on_node=True) == {"cpu": D("0.030"), "memory": D("30e6"),
                                                          "ephemeral-storage": D("30e9")}


@pytest.mark.parametrize("rules, want", [(R33, D(4)), (R36, D(4)), (R37, D(3))], ids=["1.33", "1.36", "1.37"])
def test_aggregate_request_resolves_max_of_sums_instead_of_sum_of_maxes(rules, want):
    """TestPodResourceRequests (1.37): c1 spec 1 / allocated 2, c2 spec 2 / allocated 1. 1.37
    takes max(spec sum 3, allocated sum 3) = 3; earlier minors sum per-container maxima: 4."""
    pod = _pod([_c("c1", req=cpu(1)), _c("c2", req=cpu(2))],
               statuses=[_cs("c1", actual=cpu(1), allocated=cpu(2)), _cs("c2", actual=cpu(2), allocated=cpu(1))])
    assert fit.pod_requests(pod, rules, on_node=True) == {"cpu": want}


def test_calculate_pod_resources_with_deferred_and_infeasible_resize():
    """TestCalculatePodResourcesWithResize: spec 700m/800Mi, status 500m/500Mi; a deferred resize
    counts the spec, an infeasible one the status."""
    base = dict(statuses=[_cs(actual={"cpu": "500m", "memory": "500Mi"}, allocated={"cpu": "500m",
                                                                                 "memory": "500Mi"})])
    deferred = _pod([_c(req={"cpu": "700m", "memory": "800Mi"})], **base)
    infeasible = _pod([_c(req={"cpu": "700m", "memory": "800Mi"})], infeasible=True, **base)
    for rules in (R33, R37):
        assert fit.pod_requests(deferred, rules, on_node=True) == {"cpu": D("0.7"), "memory": D(800 * 2**20)}
        assert fit.pod_requests(infeasible, rules, on_node=True) == {"cpu": D("0.5"), "memory": D(500 * 2**20)}


def test_pod_level_status_counts_from_1_36():
    """TestPodRequestsAndLimitsVerticalScalingWrappers: pod-level spec 2, allocated 3, status 3.5
    gives 3.5 once pod-level resize is on (1.36); 1.34-1.35 read the spec only; 1.33 none of it."""
    pod = _pod([_c(req=cpu(1))], pod_level={"requests": cpu(2)},
               pod_status={"allocatedResources": cpu(3), "resources": {"requests": cpu("3.5")}})
    assert fit.pod_requests(pod, R36, on_node=True) == {"cpu": D("3.5")}
    assert fit.pod_requests(pod, R37, on_node=True) == {"cpu": D("3.5")}
    assert fit.pod_requests(pod, R35, on_node=True) == {"cpu": D(2)}
    assert fit.pod_requests(pod, R33, on_node=True) == {"cpu": D(1)}


def test_pod_level_status_infeasible_resize():
    """TestPodRequestsAndLimitsVerticalScalingWrappers 'infeasible resize': spec 10, allocated 3,
    status 4: the spec is dropped, 4."""
    pod = _pod([_c(req=cpu(1))], pod_level={"requests": cpu(10)}, infeasible=True,
               pod_status={"allocatedResources": cpu(3), "resources": {"requests": cpu(4)}})
    assert fit.pod_requests(pod, R37, on_node=True) == {"cpu": D(4)}


# ============================================================================================
# NodeResourcesFit against a node
# ============================================================================================

NODE = b.node("n1", cpu="1")


def test_pod_level_cpu_resource_not_fit_from_1_34():
    """TestEnoughRequests 'pod-level cpu resource not fit', on a node with 300m free: the pod
    level asks 600m (containers 100m). 1.33 ignores the pod level (and says so)."""
    hog = _pod([_c(req=cpu("700m"))], name="hog")
    pod = _pod([_c(req=cpu("100m"))], pod_level={"requests": cpu("600m")}, name="agent")
    pod["spec"].pop("nodeName")
    short = fit.fit_problems(pod, NODE, [hog], fit.context(R37))
    assert [(r.type, r.detail.get("requested"), r.detail.get("free")) for r in short] == [
        ("InsufficientResource", "600m", "300m")]
    on_133 = fit.fit_problems(pod, NODE, [hog], fit.context(R33))
    assert [r.type for r in on_133] == ["PodLevelResourcesIgnored"]


def test_a_resized_pod_on_the_node_uses_its_larger_status():
    """A neighbour resized up in place (status 900m, spec 200m) leaves 100m, not 800m."""
    hog = _pod([_c(req=cpu("200m"))], statuses=[_cs(actual=cpu("900m"), allocated=cpu("900m"))], name="hog")
    pod = _pod([_c(req=cpu("300m"))], name="agent")
    for rules in (R33, R37):
        short = fit.resource_shortfalls(pod, NODE, [hog], fit.context(rules))
        assert [r.detail["free"] for r in short] == ["100m"]


def test_cpu_is_counted_in_whole_millicores_rounded_up():
    pod = _pod([_c(req=cpu("0.0005"))], name="agent")
    hog = _pod([_c(req=cpu("999.5m"))], name="hog")
    # 1m + 1m > 1000m? no: 1000m + 1m > 1000m, yes
    assert fit.resource_shortfalls(pod, NODE, [hog], fit.context(R37))[0].detail["requested"] == "1m"


def test_dra_extended_resource_is_left_to_dynamic_resource_allocation_from_1_36():
    dc = {"metadata": {"name": "gpu.example.com"}, "spec": {"extendedResourceName": "example.com/gpu"}}
    pod = _pod([_c(req={"example.com/gpu": "1"})], name="agent")
    on_137 = fit.resource_shortfalls(pod, NODE, [], fit.context(R37, [dc]))
    assert [(r.type, r.detail.get("deviceClass")) for r in on_137] == [("DynamicResourceAllocation", "gpu.example.com")]
    on_135 = fit.resource_shortfalls(pod, NODE, [], fit.context(R35, [dc]))
    assert [r.type for r in on_135] == ["InsufficientResource"]
    unread = fit.resource_shortfalls(pod, NODE, [], fit.context(R37, None, "not evaluated: cannot list deviceclasses"))
    assert [r.type for r in unread] == ["NotEvaluated"]
    # the implicit name every DeviceClass maps
    implicit = _pod([_c(req={"deviceclass.resource.kubernetes.io/gpu.example.com": "1"})], name="agent")
    assert [r.type for r in fit.resource_shortfalls(implicit, NODE, [], fit.context(R36, [dc]))] == [
        "DynamicResourceAllocation"]


# ============================================================================================
# NodePorts and NodeDeclaredFeatures
# ============================================================================================

def test_sidecar_host_ports_count_from_1_33_6_and_plain_init_containers_never():
    port = [{"containerPort": 9100, "hostPort": 9100}]
    holder = _pod([_c(ports=port)], name="holder")
    sidecar = _pod([_c()], init=[_c("s", ports=port, restart="Always")], name="agent")
    plain_init = _pod([_c()], init=[_c("i", ports=port)], name="agent")
    assert [r.type for r in fit.host_port_conflicts(sidecar, [holder], rules_for(33, 13))] == ["HostPortConflict"]
    assert [r.type for r in fit.host_port_conflicts(sidecar, [holder], R37)] == ["HostPortConflict"]
    assert fit.host_port_conflicts(sidecar, [holder], rules_for(33, 5)) == []
    assert fit.host_port_conflicts(plain_init, [holder], R37) == []


def test_node_declared_features_from_1_36():
    pod = _pod([_c()], name="agent")
    pod["spec"].update(hostNetwork=True, hostUsers=False)
    bare = b.node("n1")
    declared = b.node("n2")
    declared["status"]["declaredFeatures"] = ["UserNamespacesHostNetworkSupport"]
    assert [r.detail["missing"] for r in fit.missing_features(pod, bare, R36)] == [
        ["UserNamespacesHostNetworkSupport"]]
    assert fit.missing_features(pod, declared, R37) == []
    assert fit.missing_features(pod, bare, R35) == []


def test_runtime_class_overhead_for_a_template():
    rc = {"metadata": {"name": "kata"}, "overhead": {"podFixed": {"cpu": "250m", "memory": "160Mi"}}}
    tmpl = {"spec": {"runtimeClassName": "kata", "containers": [_c(req=cpu("100m"))]}}
    pod, note = fit.with_runtime_overhead(tmpl, fit.context(R37, runtime_classes=[rc]))
    assert note is None and fit.pod_requests(pod, R37) == {"cpu": D("0.35"), "memory": D(160 * 2**20)}
    pod, note = fit.with_runtime_overhead(tmpl, fit.context(R37, runtime_classes=None,
                                                            runtime_note="cannot read runtimeclasses: forbidden"))
    assert note is not None and "not counted" in note.message and fit.pod_requests(pod, R37) == {"cpu": D("0.1")}


# ============================================================================================
# which version
# ============================================================================================

@pytest.mark.parametrize("reported, source, minor, warned", [
    ("v1.36.3", SERVER, 36, False), ("v1.34.2-eks-1a2b3c", SERVER, 34, False), ("v1.31.9", SERVER, 33, True),
    ("v1.40.0", DUMP, 37, True), (None, DEFAULT, 37, False), ("fake", KUBELETS, 37, True)])
def test_resolve(reported, source, minor, warned):
    kv, warning = resolve(reported, source)
    assert kv.minor == minor and (warning is not None) == warned


def test_newest_kubelet_and_flags():
    nodes = [b.node("a"), b.node("b"), b.node("c")]
    nodes[0]["status"]["nodeInfo"] = {"kubeletVersion": "v1.35.1"}
    nodes[1]["status"]["nodeInfo"] = {"kubeletVersion": "v1.36.0"}
    nodes[2]["status"]["nodeInfo"] = {"kubeletVersion": "fake"}
    assert newest_kubelet(nodes) == "v1.36.0"
    assert valid_flag("1.36") and valid_flag("v1.33.5") and not valid_flag("1.36abc") and not valid_flag("2.1")
    assert KubeVersion(36, SERVER).to_dict() == {"kubernetesVersion": "1.36", "kubernetesVersionSource": "server"}


def test_every_change_names_its_upstream_and_a_rules_field():
    fields = set(rules_for(37).__dataclass_fields__) - {"minor"}
    assert {c.key for c in CHANGES} == fields
    assert all(c.upstream and c.summary and 33 <= c.since <= 37 for c in CHANGES)


# ============================================================================================
# review findings: what upstream does that an easy reading misses
# ============================================================================================

def test_1_37_pod_level_status_is_not_applied_to_pods_without_pod_level_requests():
    """v0.37.2 PodRequests applies pod-level values only when IsPodLevelRequestsSet: a 1.37 kubelet
    fills status.resources for every pod, and a deferred resize still counts the spec (2)."""
    pod = _pod([_c(req=cpu(2))], statuses=[_cs(actual=cpu(1), allocated=cpu(1))],
               pod_status={"allocatedResources": cpu(1), "resources": {"requests": cpu(1)}})
    assert fit.pod_requests(pod, R37, on_node=True) == {"cpu": D(2)}


def test_pod_level_limits_default_requests_from_the_containers_first():
    """defaultPodRequests: with pod-level limits, a missing cpu/memory request defaults to the
    containers' aggregate request, and only a resource no container requests to the limit."""
    pod = _pod([_c(req={"cpu": "100m", "memory": "64Mi"})], pod_level={"limits": {"cpu": "2", "memory": "1Gi"}})
    assert fit.pod_requests(pod, R37) == {"cpu": D("0.1"), "memory": D(64 * 2**20)}
    pod = _pod([_c(req={"cpu": "100m"})], pod_level={"limits": {"cpu": "2", "memory": "1Gi"}})
    assert fit.pod_requests(pod, R37) == {"cpu": D("0.1"), "memory": D(2**30)}


def test_a_runtime_class_without_overhead_adds_nothing_and_says_nothing():
    rc = {"metadata": {"name": "gvisor"}, "handler": "runsc"}
    tmpl = {"spec": {"runtimeClassName": "gvisor", "containers": [_c(req=cpu("100m"))]}}
    pod, note = fit.with_runtime_overhead(tmpl, fit.context(R37, runtime_classes=[rc]))
    assert note is None and fit.pod_requests(pod, R37) == {"cpu": D("0.1")}


def test_a_dump_without_device_classes_keeps_insufficient_with_a_caveat():
    pod = _pod([_c(req={"nvidia.com/gpu": "1"})], name="agent")
    out = fit.resource_shortfalls(pod, NODE, [], fit.context(R37, [], "the dump has no deviceclasses"))
    assert [r.type for r in out] == ["InsufficientResource"]
    assert "unless a DeviceClass maps nvidia.com/gpu" in out[0].message and "not evaluated" not in out[0].message
    # not asked for at all (no extended request worth reading them for): a plain verdict
    assert "DeviceClass" not in fit.resource_shortfalls(pod, NODE, [], fit.context(R37))[0].message


def test_a_kubelets_patch_does_not_choose_the_1_33_node_ports_rule():
    nodes = [b.node("a"), b.node("b")]
    nodes[0]["status"]["nodeInfo"] = {"kubeletVersion": "v1.33.4"}
    nodes[1]["status"]["nodeInfo"] = {"kubeletVersion": "v1.33.13"}
    assert newest_kubelet(nodes) == "v1.33.13"
    kv, _ = resolve("v1.33.4", KUBELETS)
    assert kv.rules.sidecar_host_ports   # the control plane may be newer than its kubelets
    assert not resolve("v1.33.4", SERVER)[0].rules.sidecar_host_ports


@pytest.mark.parametrize("mangle", [
    lambda p: p["spec"].update(resources={"requests": ["cpu"]}),
    lambda p: p["spec"].update(resources=["cpu"]),
    lambda p: p["spec"]["containers"][0].update(resources={"requests": "1", "limits": ["x"]}),
    lambda p: p["spec"]["containers"][0].update(ports=["x", {"hostPort": "abc"}, {"hostPort": -1}]),
    lambda p: p["spec"].update(initContainers=["x", 5]),
    lambda p: p["spec"]["containers"][0].update(restartPolicyRules=5),
    lambda p: p["status"].update(conditions={"type": "PodResizePending"}),
    lambda p: p["status"].update(conditions=["Infeasible"]),
    lambda p: p["status"].update(containerStatuses=[{"name": ["c"]}, "x"]),
    lambda p: p["status"].update(resources="1", allocatedResources=[1]),
], ids=["pod-level-requests-list", "pod-level-list", "container-resources-wrong", "ports-wrong",
        "init-not-dicts", "restart-rules-int", "conditions-dict", "conditions-strings", "statuses-wrong",
        "pod-status-wrong"])
def test_wrong_shapes_are_skipped_not_a_crash(mangle):
    pod = _pod([_c(req=cpu("100m"))], name="agent")
    mangle(pod)
    node = b.node("n1", cpu="1")
    node["status"]["declaredFeatures"] = 5
    for rules in (R33, R36, R37):
        fit.fit_problems(pod, node, [pod], fit.context(rules))
        fit.pod_requests(pod, rules, on_node=True)
    node["status"]["allocatable"] = ["cpu"]
    assert fit.resource_shortfalls(pod, node, [], fit.context(R37)) == []
