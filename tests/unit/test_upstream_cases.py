"""Upstream Kubernetes unit-test cases, translated into tests for kubectl_ds.core.

Every table below restates, in Python dict form, the inputs and expected outputs of
test cases found in the upstream Kubernetes sources (no Go code is reproduced; the
cases are re-expressed against kubectl-ds's own API).  Each parametrize id names the
upstream test it comes from:

* ``upstream:<TestFunc>/<case>``      -- a case of that upstream unit test.
* ``upstream-src:<Func>/<rule>``      -- no upstream unit test pins this, but the rule is
  read directly off the upstream implementation named (same version as below).
* ``v1.33-rule:<Func>/<rule>``        -- a newer upstream test case (feature-gated
  Gt/Lt toleration operators) re-expected under the v1.33 semantics, where those
  operators do not exist and therefore never tolerate.

Upstream files read (model version: Kubernetes v1.33, staging tags v0.33.13):

1. kubernetes/kubernetes ``pkg/controller/daemon/daemon_controller_test.go``
   (stored copy at commit 003e86297d18a8538c9da3619871393f9703bf70, a post-1.31 tree using
   ``workqueue.TypedRateLimitingInterface``; the k/k repository is too large to fetch whole,
   so the exact release-1.33 blob could not be pinned):
   TestNodeShouldRunDaemonPod plus the eligibility outcomes of the controller tests
   (TestSimpleDaemonSetLaunchesPods, TestNotReadyNodeDaemonDoesLaunchPod,
   TestInsufficientCapacity*, TestNetworkUnavailableNodeDaemonLaunchesPod,
   TestPortConflict*/TestNoPortConflict*, TestPodIsNotDeletedByDaemonsetWithEmptyLabelSelector,
   TestSelector*/TestBadSelector*, TestNameDaemonSetLaunchesPods, TestBadName*,
   TestNameAndSelector*, TestInconsistentNameSelector*, TestNodeAffinityDaemonLaunchesPods,
   TestNoScheduleTainted*, TestNoExecuteTainted*, TestTaintedNode*, TestNotReadyNodeDaemonLaunchesPod,
   TestUnreachableNodeDaemonLaunchesPod, TestNodeDaemonLaunchesToleratePod,
   TestTaintPressureNodeDaemonLaunchesPod, TestUpdateNode, TestDeleteNoDaemonPod, TestAddNode).
   Rules of NodeShouldRunDaemonPod/predicates/NewPod as in pkg/controller/daemon/daemon_controller.go.
2. kubernetes/component-helpers v0.33.13 (6703bed5442f8edeb7372585c0c4a42d16707cf9)
   ``scheduling/corev1/nodeaffinity/nodeaffinity_test.go`` (TestNodeSelectorMatch,
   TestNodeSelectorRequirementsAsSelector, TestPodMatchesNodeSelectorAndAffinityTerms) and
   ``nodeaffinity.go`` (lazy-error term semantics, matchFields parsing).
3. kubernetes/api v0.33.13 (63b731b23fe7df9be903976bee691952387abe01)
   ``core/v1/toleration_test.go`` (TestTolerationToleratesTaint) and ``core/v1/toleration.go``;
   kubernetes/component-helpers v0.33.13 ``scheduling/corev1/helpers_test.go``
   (TestMatchNodeSelectorTerms, TestMatchNodeSelectorTermsStateless,
   TestFindMatchingUntoleratedTaint; the same FindMatchingUntoleratedTaint table also lives in
   k/k pkg/apis/core/v1/helper/helpers_test.go as TestTolerationsTolerateTaintsWithFilter).
4. kubernetes/kubernetes ``pkg/controller/daemon/util/daemonset_util_test.go``
   (stored copy at 008b3652959ca58af8be3fb5b6ecfe9ae7638282: TestIsPodUpdated; it has no
   toleration test, so the default-toleration cases come from ``daemonset_util.go``
   AddOrUpdateDaemonPodTolerations and ``pkg/apis/core/v1/helper/helpers.go``
   AddOrUpdateTolerationInPodSpec).  GetTargetNodeName / ReplaceDaemonSetPodNodeNameNodeAffinity /
   CreatePodTemplate have no counterpart in this API and are not translated.
5. kubernetes/apimachinery v0.33.13 (f091036ab312113e3040ead42ac0110cd22954b8)
   ``pkg/labels/selector_test.go`` (TestEverything, TestSelectorMatches, TestSetMatches,
   TestRequirementConstructor, TestRequirementSelectorMatching) and
   ``pkg/apis/meta/v1/helpers_test.go`` (TestLabelSelectorAsSelector).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import pytest

from kubectl_ds.core.eligibility import evaluate
from kubectl_ds.core.revisions import is_pod_updated
from kubectl_ds.core.selectors import (
    fits_node_affinity,
    match_label_selector,
    match_node_selector_terms,
)
from kubectl_ds.core.taints import daemon_tolerations, tolerates, untolerated_taints

# --------------------------------------------------------------------------------------
# Shared fixtures (same values as the upstream test package's globals)
# --------------------------------------------------------------------------------------

SIMPLE_DS_LABEL = {"name": "simple-daemon", "type": "production"}
SIMPLE_DS_LABEL2 = {"name": "simple-daemon", "type": "test"}
SIMPLE_NODE_LABEL = {"color": "blue", "speed": "fast"}
SIMPLE_NODE_LABEL2 = {"color": "red", "speed": "fast"}

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"

ALL_EFFECTS = {"NoSchedule", "PreferNoSchedule", "NoExecute"}
TIME_ADDED = "2025-01-01T00:00:00Z"


# --------------------------------------------------------------------------------------
# Small dict builders (Kubernetes JSON API shape, camelCase, empty fields omitted)
# --------------------------------------------------------------------------------------


def req(key: str, op: str, values: Optional[List[str]] = None) -> Dict[str, Any]:
    r: Dict[str, Any] = {"key": key, "operator": op}
    if values is not None:
        r["values"] = list(values)
    return r


def term(exprs: Optional[list] = None, fields: Optional[list] = None) -> Dict[str, Any]:
    t: Dict[str, Any] = {}
    if exprs is not None:
        t["matchExpressions"] = exprs
    if fields is not None:
        t["matchFields"] = fields
    return t


def name_in(*names: str) -> Dict[str, Any]:
    return req("metadata.name", "In", list(names))


def required_affinity(terms: Optional[list], omit_terms: bool = False) -> Dict[str, Any]:
    selector: Dict[str, Any] = {} if omit_terms else {"nodeSelectorTerms": terms}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": selector}}


def taint(key: str, value: Optional[str] = None, effect: str = "NoSchedule",
          time_added: Optional[str] = None) -> Dict[str, Any]:
    """Arguments in tests/builders.py's taint() order; a value given (even "") is kept."""
    t: Dict[str, Any] = {"key": key, "effect": effect}
    if value is not None:
        t["value"] = value
    if time_added is not None:
        t["timeAdded"] = time_added
    return t


def tol(
    key: Optional[str] = None,
    operator: Optional[str] = None,
    value: Optional[str] = None,
    effect: Optional[str] = None,
    seconds: Optional[int] = None,
) -> Dict[str, Any]:
    t: Dict[str, Any] = {}
    if key is not None:
        t["key"] = key
    if operator is not None:
        t["operator"] = operator
    if value is not None:
        t["value"] = value
    if effect is not None:
        t["effect"] = effect
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


def make_node(
    name: str = "",
    labels: Optional[Dict[str, str]] = None,
    taints: Optional[list] = None,
    unschedulable: bool = False,
    conditions: Optional[list] = None,
    allocatable: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Like upstream newNode(): Ready=True and 100 allocatable pods unless overridden."""
    meta: Dict[str, Any] = {}
    if name:
        meta["name"] = name
    if labels is not None:
        meta["labels"] = dict(labels)
    spec: Dict[str, Any] = {}
    if taints:
        spec["taints"] = list(taints)
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta,
        "spec": spec,
        "status": {
            "conditions": conditions if conditions is not None else [{"type": "Ready", "status": "True"}],
            "allocatable": allocatable if allocatable is not None else {"pods": "100"},
        },
    }


def bare_node(name: str = "", labels: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """A node with only metadata (what the selector tests build)."""
    meta: Dict[str, Any] = {}
    if name:
        meta["name"] = name
    if labels is not None:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta}


def alloc(memory: str, cpu: str) -> Dict[str, str]:
    return {"memory": memory, "cpu": cpu, "pods": "100"}


def default_pod_spec() -> Dict[str, Any]:
    """Like the template of upstream newDaemonSet()."""
    return {
        "containers": [
            {
                "name": "foo",
                "image": "foo/bar",
                "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log",
            }
        ],
        "dnsPolicy": "Default",
    }


def resource_pod_spec(node_name: str, memory: str, cpu: str) -> Dict[str, Any]:
    """Like upstream resourcePodSpec(nodeName, memory, cpu)."""
    spec: Dict[str, Any] = {
        "containers": [{"name": "c", "image": "foo/bar", "resources": {"requests": alloc(memory, cpu)}}]
    }
    if node_name:
        spec["nodeName"] = node_name
    return spec


def host_port_pod_spec(port: int, node_name: str = "") -> Dict[str, Any]:
    spec: Dict[str, Any] = {"containers": [{"name": "c", "image": "foo/bar", "ports": [{"hostPort": port, "containerPort": port}]}]}
    if node_name:
        spec["nodeName"] = node_name
    return spec


def with_spec(base: Dict[str, Any], **fields: Any) -> Dict[str, Any]:
    spec = copy.deepcopy(base)
    spec.update(fields)
    return spec


def make_ds(
    pod_spec: Optional[Dict[str, Any]] = None,
    name: str = "foo",
    namespace: str = "default",
    selector: Optional[Dict[str, Any]] = None,
    template_labels: Optional[Dict[str, str]] = None,
    strategy: str = "RollingUpdate",
    template_annotations: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    tmeta: Dict[str, Any] = {"labels": dict(template_labels if template_labels is not None else SIMPLE_DS_LABEL)}
    if template_annotations is not None:
        tmeta["annotations"] = dict(template_annotations)
    update_strategy: Dict[str, Any] = {"type": strategy}
    if strategy == "RollingUpdate":
        update_strategy["rollingUpdate"] = {"maxUnavailable": 1, "maxSurge": 0}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace, "uid": "uid-" + name},
        "spec": {
            "selector": selector if selector is not None else {"matchLabels": dict(SIMPLE_DS_LABEL)},
            "template": {"metadata": tmeta, "spec": copy.deepcopy(pod_spec if pod_spec is not None else default_pod_spec())},
            "updateStrategy": update_strategy,
            "revisionHistoryLimit": 2,
        },
    }


def reason_types(verdict) -> set:
    return {r.type for r in verdict.reasons}


def check_verdict(verdict, should_run: bool, should_continue: bool, reason: Optional[str]) -> None:
    assert verdict.should_run is should_run, "should_run"
    assert verdict.should_continue_running is should_continue, "should_continue_running"
    if should_run:
        assert len(verdict.reasons) == 0, f"reasons must be empty when should_run: {verdict.reasons!r}"
    else:
        assert len(verdict.reasons) > 0, "a false should_run must carry a reason"
        if reason is not None:
            assert reason in reason_types(verdict), f"expected a {reason} reason, got {reason_types(verdict)}"


# ======================================================================================
# 1. daemon_controller_test.go :: TestNodeShouldRunDaemonPod
#    Node "test-node" labelled simpleDaemonSetLabel, allocatable 100M memory / 1 cpu;
#    every case is run once per update strategy upstream (OnDelete and RollingUpdate).
# ======================================================================================

_SHOULD_RUN_NODE_KW = dict(name="test-node", labels=SIMPLE_DS_LABEL, allocatable=alloc("100M", "1"))

NODE_SHOULD_RUN_CASES = [
    # (predicateName, pod spec, node unschedulable, shouldRun, shouldContinueRunning, reason)
    ("ShouldRunDaemonPod", resource_pod_spec("", "50M", "0.5"), False, True, True, None),
    # resources are no longer checked by the DaemonSet controller (left to the scheduler)
    ("InsufficientResourceError", resource_pod_spec("", "200M", "0.5"), False, True, True, None),
    ("ErrPodNotMatchHostName", resource_pod_spec("other-node", "50M", "0.5"), False, False, False, "NodeName"),
    # a host-port conflicting pod already sits on the node: ports are not a predicate any more
    ("ErrPodNotFitsHostPorts", host_port_pod_spec(666), False, True, True, None),
    # a 50M pod with the same host port is on the node; DS asks for 100M of 100M
    ("InsufficientResourceError", resource_pod_spec("", "100M", "0.5"), False, True, True, None),
    ("ShouldRunDaemonPod", resource_pod_spec("", "50M", "0.5"), False, True, True, None),
    ("ErrNodeSelectorNotMatch", {"nodeSelector": dict(SIMPLE_DS_LABEL2)}, False, False, False, "NodeSelector"),
    ("ShouldRunDaemonPod", {"nodeSelector": dict(SIMPLE_DS_LABEL)}, False, True, True, None),
    (
        "ErrPodAffinityNotMatch",
        {"affinity": required_affinity([term([req("type", "In", ["test"])])])},
        False,
        False,
        False,
        "NodeAffinity",
    ),
    (
        "ShouldRunDaemonPod",
        {"affinity": required_affinity([term([req("type", "In", ["production"])])])},
        False,
        True,
        True,
        None,
    ),
    ("ShouldRunDaemonPodOnUnschedulableNode", resource_pod_spec("", "50M", "0.5"), True, True, True, None),
]


@pytest.mark.parametrize("strategy", ["OnDelete", "RollingUpdate"])
@pytest.mark.parametrize(
    "pod_spec,unschedulable,should_run,should_continue,reason",
    [c[1:] for c in NODE_SHOULD_RUN_CASES],
    ids=[f"upstream:TestNodeShouldRunDaemonPod/{i}-{c[0]}" for i, c in enumerate(NODE_SHOULD_RUN_CASES)],
)
def test_node_should_run_daemon_pod(strategy, pod_spec, unschedulable, should_run, should_continue, reason):
    node = make_node(unschedulable=unschedulable, **_SHOULD_RUN_NODE_KW)
    ds = make_ds(pod_spec, selector={"matchLabels": dict(SIMPLE_DS_LABEL)}, strategy=strategy)
    check_verdict(evaluate(node, ds), should_run, should_continue, reason)


# ======================================================================================
# 2. daemon_controller_test.go :: eligibility outcomes of the controller tests
#    (a create on the node <=> shouldRun; a delete of a running pod <=> !shouldContinueRunning)
# ======================================================================================

_NOSCHED_TAINTS = [taint("dedicated", effect="NoSchedule", value="user1")]
_NOEXEC_TAINTS = [taint("dedicated", effect="NoExecute", value="user1")]
_NOSCHED_TOLS = [tol(key="dedicated", value="user1", effect="NoSchedule")]
_AFFINITY_BLUE = {"affinity": required_affinity([term([req("color", "In", ["blue"])])])}

CONTROLLER_CASES = [
    # (id, node, ds, shouldRun, shouldContinueRunning, reason)
    ("TestSimpleDaemonSetLaunchesPods", make_node("node-0"), make_ds(), True, True, None),
    ("TestOneNodeDaemonLaunchesPod", make_node("only-node"), make_ds(), True, True, None),
    (
        "TestNotReadyNodeDaemonDoesLaunchPod",
        make_node("not-ready", conditions=[{"type": "Ready", "status": "False"}]),
        make_ds(),
        True,
        True,
        None,
    ),
    (
        "TestInsufficientCapacityNodeDaemonDoesNotUnscheduleRunningPod",
        make_node("too-much-mem", allocatable=alloc("100M", "200m")),
        make_ds(resource_pod_spec("too-much-mem", "75M", "75m")),
        True,
        True,
        None,
    ),
    (
        "TestInsufficientCapacityNodeSufficientCapacityWithNodeLabelDaemonLaunchPod/not-enough-resource",
        make_node("not-enough-resource", allocatable=alloc("10M", "20m")),
        make_ds(with_spec(resource_pod_spec("", "50M", "75m"), nodeSelector=dict(SIMPLE_NODE_LABEL))),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestInsufficientCapacityNodeSufficientCapacityWithNodeLabelDaemonLaunchPod/enough-resource",
        make_node("enough-resource", labels=SIMPLE_NODE_LABEL, allocatable=alloc("100M", "200m")),
        make_ds(with_spec(resource_pod_spec("", "50M", "75m"), nodeSelector=dict(SIMPLE_NODE_LABEL))),
        True,
        True,
        None,
    ),
    (
        "TestNetworkUnavailableNodeDaemonLaunchesPod",
        make_node("network-unavailable", conditions=[{"type": "NetworkUnavailable", "status": "True"}]),
        make_ds(name="simple"),
        True,
        True,
        None,
    ),
    (
        "TestPortConflictWithSameDaemonPodDoesNotDeletePod",
        make_node("port-conflict"),
        make_ds(host_port_pod_spec(666, node_name="port-conflict")),
        True,
        True,
        None,
    ),
    (
        "TestNoPortConflictNodeDaemonLaunchesPod",
        make_node("no-port-conflict"),
        make_ds(host_port_pod_spec(6662, node_name="no-port-conflict")),
        True,
        True,
        None,
    ),
    (
        "TestPodIsNotDeletedByDaemonsetWithEmptyLabelSelector",
        make_node("node1"),
        make_ds(with_spec(default_pod_spec(), nodeSelector={"foo": "bar"}), selector={}),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestSelectorDaemonLaunchesPods/unlabelled-node-0",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL))),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestSelectorDaemonLaunchesPods/labelled-node-4",
        make_node("node-4", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL))),
        True,
        True,
        None,
    ),
    (
        "TestSelectorDaemonDeletesUnselectedPods/unlabelled-node-1-pods-deleted",
        make_node("node-1"),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL))),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestSelectorDaemonDeletesUnselectedPods/labelled-node-5",
        make_node("node-5", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL))),
        True,
        True,
        None,
    ),
    (
        "TestBadSelectorDaemonDoesNothing/labelled-node-4",
        make_node("node-4", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL2))),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestBadSelectorDaemonDoesNothing/unlabelled-node-0",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL2))),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestNameDaemonSetLaunchesPods/node-0",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), nodeName="node-0")),
        True,
        True,
        None,
    ),
    (
        "TestNameDaemonSetLaunchesPods/node-1",
        make_node("node-1"),
        make_ds(with_spec(default_pod_spec(), nodeName="node-0")),
        False,
        False,
        "NodeName",
    ),
    (
        "TestBadNameDaemonSetDoesNothing/node-0",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), nodeName="node-10")),
        False,
        False,
        "NodeName",
    ),
    (
        "TestNameAndSelectorDaemonSetLaunchesPods/labelled-node-6",
        make_node("node-6", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), nodeName="node-6", nodeSelector=dict(SIMPLE_NODE_LABEL))),
        True,
        True,
        None,
    ),
    (
        "TestNameAndSelectorDaemonSetLaunchesPods/labelled-node-5",
        make_node("node-5", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), nodeName="node-6", nodeSelector=dict(SIMPLE_NODE_LABEL))),
        False,
        False,
        "NodeName",
    ),
    (
        "TestNameAndSelectorDaemonSetLaunchesPods/unlabelled-node-0",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), nodeName="node-6", nodeSelector=dict(SIMPLE_NODE_LABEL))),
        False,
        False,
        "NodeName",
    ),
    (
        "TestInconsistentNameSelectorDaemonSetDoesNothing/unlabelled-node-0",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), nodeName="node-0", nodeSelector=dict(SIMPLE_NODE_LABEL))),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestInconsistentNameSelectorDaemonSetDoesNothing/labelled-node-4",
        make_node("node-4", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), nodeName="node-0", nodeSelector=dict(SIMPLE_NODE_LABEL))),
        False,
        False,
        "NodeName",
    ),
    (
        "TestNodeAffinityDaemonLaunchesPods/labelled-node-4",
        make_node("node-4", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), **_AFFINITY_BLUE)),
        True,
        True,
        None,
    ),
    (
        "TestNodeAffinityDaemonLaunchesPods/unlabelled-node-0",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), **_AFFINITY_BLUE)),
        False,
        False,
        "NodeAffinity",
    ),
    (
        "TestNoScheduleTaintedDoesntEvicitRunningIntolerantPod",
        make_node("tainted", taints=_NOSCHED_TAINTS),
        make_ds(name="intolerant"),
        False,
        True,
        "Taint",
    ),
    (
        "TestNoExecuteTaintedDoesEvicitRunningIntolerantPod",
        make_node("tainted", taints=_NOEXEC_TAINTS),
        make_ds(name="intolerant"),
        False,
        False,
        "Taint",
    ),
    (
        "TestTaintedNodeDaemonDoesNotLaunchIntolerantPod",
        make_node("tainted", taints=_NOSCHED_TAINTS),
        make_ds(name="intolerant"),
        False,
        True,
        "Taint",
    ),
    (
        "TestTaintedNodeDaemonLaunchesToleratePod",
        make_node("tainted", taints=_NOSCHED_TAINTS),
        make_ds(with_spec(default_pod_spec(), tolerations=_NOSCHED_TOLS), name="tolerate"),
        True,
        True,
        None,
    ),
    (
        "TestNotReadyNodeDaemonLaunchesPod",
        make_node(
            "tainted",
            taints=[taint(NOT_READY, effect="NoExecute", time_added=TIME_ADDED)],
            conditions=[{"type": "Ready", "status": "False"}],
        ),
        make_ds(name="simple"),
        True,
        True,
        None,
    ),
    (
        "TestUnreachableNodeDaemonLaunchesPod",
        make_node(
            "tainted",
            taints=[taint(UNREACHABLE, effect="NoExecute", time_added=TIME_ADDED)],
            conditions=[{"type": "Ready", "status": "Unknown"}],
        ),
        make_ds(name="simple"),
        True,
        True,
        None,
    ),
    (
        "TestNodeDaemonLaunchesToleratePod",
        make_node("node-0"),
        make_ds(with_spec(default_pod_spec(), tolerations=_NOSCHED_TOLS), name="tolerate"),
        True,
        True,
        None,
    ),
    (
        "TestTaintPressureNodeDaemonLaunchesPod",
        make_node(
            "resources-pressure",
            taints=[
                taint(DISK_PRESSURE, effect="NoSchedule"),
                taint(MEMORY_PRESSURE, effect="NoSchedule"),
                taint(PID_PRESSURE, effect="NoSchedule"),
            ],
            conditions=[
                {"type": "DiskPressure", "status": "True"},
                {"type": "MemoryPressure", "status": "True"},
                {"type": "PIDPressure", "status": "True"},
            ],
        ),
        make_ds(
            with_spec(default_pod_spec(), priority=2000000000),
            name="critical",
            namespace="kube-system",
            template_annotations={},
        ),
        True,
        True,
        None,
    ),
    (
        "TestUpdateNode/Nothing changed (no create on the unlabelled node)",
        make_node("node1"),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL)), name="ds"),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestUpdateNode/Node taints changed (no create on the old tainted node)",
        make_node("node1", taints=_NOSCHED_TAINTS),
        make_ds(name="ds"),
        False,
        True,
        "Taint",
    ),
    (
        "TestUpdateNode/Node Allocatable changed (one create despite 200M request)",
        make_node("node1"),
        make_ds(resource_pod_spec("", "200M", "200m"), name="ds"),
        True,
        True,
        None,
    ),
    (
        "TestDeleteNoDaemonPod/resources ignored (one create on a full node)",
        make_node("node1", allocatable=alloc("200M", "200m")),
        make_ds(resource_pod_spec("", "50M", "50m"), name="ds"),
        True,
        True,
        None,
    ),
    (
        "TestAddNode/node1 unlabelled (not enqueued)",
        make_node("node1"),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL)), name="ds"),
        False,
        False,
        "NodeSelector",
    ),
    (
        "TestAddNode/node2 labelled (enqueued)",
        make_node("node2", labels=SIMPLE_NODE_LABEL),
        make_ds(with_spec(default_pod_spec(), nodeSelector=dict(SIMPLE_NODE_LABEL)), name="ds"),
        True,
        True,
        None,
    ),
]


@pytest.mark.parametrize(
    "node,ds,should_run,should_continue,reason",
    [c[1:] for c in CONTROLLER_CASES],
    ids=[f"upstream:{c[0]}" for c in CONTROLLER_CASES],
)
def test_controller_eligibility(node, ds, should_run, should_continue, reason):
    check_verdict(evaluate(node, ds), should_run, should_continue, reason)


# ======================================================================================
# 3. NodeShouldRunDaemonPod / predicates / NewPod + AddOrUpdateDaemonPodTolerations rules
#    (daemon_controller.go, util/daemonset_util.go) not pinned by a dedicated unit test
# ======================================================================================

SOURCE_RULE_CASES = [
    (
        "upstream-src:AddOrUpdateDaemonPodTolerations/hostNetwork tolerates network-unavailable NoSchedule",
        make_node("n", taints=[taint(NETWORK_UNAVAILABLE, effect="NoSchedule", time_added=TIME_ADDED)]),
        make_ds(with_spec(default_pod_spec(), hostNetwork=True)),
        True,
        True,
        None,
    ),
    (
        "upstream-src:AddOrUpdateDaemonPodTolerations/no hostNetwork, network-unavailable NoSchedule blocks new pods only",
        make_node("n", taints=[taint(NETWORK_UNAVAILABLE, effect="NoSchedule", time_added=TIME_ADDED)]),
        make_ds(),
        False,
        True,
        "Taint",
    ),
    (
        "upstream-src:AddOrUpdateDaemonPodTolerations/unschedulable taint on cordoned node is tolerated",
        make_node("n", unschedulable=True, taints=[taint(UNSCHEDULABLE, effect="NoSchedule", time_added=TIME_ADDED)]),
        make_ds(),
        True,
        True,
        None,
    ),
    (
        "upstream-src:AddOrUpdateDaemonPodTolerations/pressure tolerations are NoSchedule only (memory-pressure NoExecute evicts)",
        make_node("n", taints=[taint(MEMORY_PRESSURE, effect="NoExecute")]),
        make_ds(),
        False,
        False,
        "Taint",
    ),
    (
        "upstream-src:AddOrUpdateDaemonPodTolerations/not-ready NoSchedule is not covered by the NoExecute default",
        make_node("n", taints=[taint(NOT_READY, effect="NoSchedule")]),
        make_ds(),
        False,
        True,
        "Taint",
    ),
    (
        "upstream-src:AddOrUpdateTolerationInPodSpec/user not-ready toleration with seconds still tolerates",
        make_node("n", taints=[taint(NOT_READY, effect="NoExecute", time_added=TIME_ADDED)]),
        make_ds(with_spec(default_pod_spec(), tolerations=[tol(NOT_READY, "Exists", effect="NoExecute", seconds=300)])),
        True,
        True,
        None,
    ),
    (
        "upstream-src:predicates/PreferNoSchedule taints are ignored",
        make_node("n", taints=[taint("soft", effect="PreferNoSchedule", value="x")]),
        make_ds(),
        True,
        True,
        None,
    ),
    (
        "upstream-src:NodeShouldRunDaemonPod/untolerated NoSchedule but tolerated NoExecute keeps running pods",
        make_node("n", taints=[taint("a", effect="NoSchedule"), taint("b", effect="NoExecute")]),
        make_ds(with_spec(default_pod_spec(), tolerations=[tol("b", "Exists", effect="NoExecute")])),
        False,
        True,
        "Taint",
    ),
    (
        "upstream-src:NodeShouldRunDaemonPod/tolerated NoSchedule but untolerated NoExecute evicts",
        make_node("n", taints=[taint("a", effect="NoSchedule"), taint("b", effect="NoExecute")]),
        make_ds(with_spec(default_pod_spec(), tolerations=[tol("a", "Exists", effect="NoSchedule")])),
        False,
        False,
        "Taint",
    ),
    (
        "upstream-src:ToleratesTaint/empty key + Exists + no effect tolerates every taint",
        make_node("n", taints=[taint("a", effect="NoSchedule", value="1"), taint("b", effect="NoExecute", value="2")]),
        make_ds(with_spec(default_pod_spec(), tolerations=[tol(operator="Exists")])),
        True,
        True,
        None,
    ),
    (
        "v1.33-rule:ToleratesTaint/Gt toleration does not tolerate (feature absent in v1.33)",
        make_node("n", taints=[taint("node.kubernetes.io/sla", effect="NoSchedule", value="950")]),
        make_ds(with_spec(default_pod_spec(), tolerations=[tol("node.kubernetes.io/sla", "Gt", "750", "NoSchedule")])),
        False,
        True,
        "Taint",
    ),
    (
        "upstream-src:NodeShouldRunDaemonPod/nodeName matches but required affinity does not",
        make_node("node-a", labels={"zone": "a"}),
        make_ds(
            with_spec(
                default_pod_spec(),
                nodeName="node-a",
                affinity=required_affinity([term([req("zone", "In", ["b"])])]),
            )
        ),
        False,
        False,
        "NodeAffinity",
    ),
    (
        "upstream-src:GetRequiredNodeAffinity/affinity matches but nodeSelector does not",
        make_node("node-a", labels={"zone": "a"}),
        make_ds(
            with_spec(
                default_pod_spec(),
                nodeSelector={"zone": "b"},
                affinity=required_affinity([term([req("zone", "Exists")])]),
            )
        ),
        False,
        False,
        "NodeSelector",
    ),
    (
        "upstream-src:GetRequiredNodeAffinity/matchFields metadata.name In selects that node",
        make_node("node-a"),
        make_ds(with_spec(default_pod_spec(), affinity=required_affinity([term(fields=[name_in("node-a")])]))),
        True,
        True,
        None,
    ),
    (
        "upstream-src:GetRequiredNodeAffinity/matchFields metadata.name In rejects other nodes",
        make_node("node-b"),
        make_ds(with_spec(default_pod_spec(), affinity=required_affinity([term(fields=[name_in("node-a")])]))),
        False,
        False,
        "NodeAffinity",
    ),
]


@pytest.mark.parametrize(
    "node,ds,should_run,should_continue,reason",
    [c[1:] for c in SOURCE_RULE_CASES],
    ids=[c[0] for c in SOURCE_RULE_CASES],
)
def test_source_rule_eligibility(node, ds, should_run, should_continue, reason):
    check_verdict(evaluate(node, ds), should_run, should_continue, reason)


# ======================================================================================
# 4. nodeaffinity_test.go :: TestPodMatchesNodeSelectorAndAffinityTerms  -> fits_node_affinity
#    (+ labels TestSetMatches for the plain nodeSelector map)
# ======================================================================================


def _aff(*terms_: dict) -> Dict[str, Any]:
    return {"affinity": required_affinity(list(terms_))}


POD_MATCHES_CASES = [
    # (name, pod spec, node labels, node name, want)
    ("no selector", {}, None, "", True),
    ("missing labels", {"nodeSelector": {"foo": "bar"}}, None, "", False),
    ("same labels", {"nodeSelector": {"foo": "bar"}}, {"foo": "bar"}, "", True),
    ("node labels are superset", {"nodeSelector": {"foo": "bar"}}, {"foo": "bar", "baz": "blah"}, "", True),
    ("node labels are subset", {"nodeSelector": {"foo": "bar", "baz": "blah"}}, {"foo": "bar"}, "", False),
    (
        "Pod with matchExpressions using In operator that matches the existing node",
        _aff(term([req("foo", "In", ["bar", "value2"])])),
        {"foo": "bar"},
        "",
        True,
    ),
    (
        "Pod with matchExpressions using Gt operator that matches the existing node",
        _aff(term([req("kernel-version", "Gt", ["0204"])])),
        {"kernel-version": "0206"},
        "",
        True,
    ),
    (
        "Pod with matchExpressions using NotIn operator that matches the existing node",
        _aff(term([req("mem-type", "NotIn", ["DDR", "DDR2"])])),
        {"mem-type": "DDR3"},
        "",
        True,
    ),
    (
        "Pod with matchExpressions using Exists operator that matches the existing node",
        _aff(term([req("GPU", "Exists")])),
        {"GPU": "NVIDIA-GRID-K1"},
        "",
        True,
    ),
    (
        "Pod with affinity that don't match node's labels won't schedule onto the node",
        _aff(term([req("foo", "In", ["value1", "value2"])])),
        {"foo": "bar"},
        "",
        False,
    ),
    (
        "Pod with a nil []NodeSelectorTerm in affinity, can't match the node's labels and won't schedule onto the node",
        {"affinity": required_affinity(None, omit_terms=True)},
        {"foo": "bar"},
        "",
        False,
    ),
    (
        "Pod with an empty []NodeSelectorTerm in affinity, can't match the node's labels and won't schedule onto the node",
        {"affinity": required_affinity([])},
        {"foo": "bar"},
        "",
        False,
    ),
    (
        "Pod with empty MatchExpressions is not a valid value will match no objects and won't schedule onto the node",
        _aff(term([])),
        {"foo": "bar"},
        "",
        False,
    ),
    ("Pod with no Affinity will schedule onto a node", {}, {"foo": "bar"}, "", True),
    (
        "Pod with Affinity but nil NodeSelector will schedule onto a node",
        {"affinity": {"nodeAffinity": {}}},
        {"foo": "bar"},
        "",
        True,
    ),
    (
        "Pod with multiple matchExpressions ANDed that matches the existing node",
        _aff(term([req("GPU", "Exists"), req("GPU", "NotIn", ["AMD", "INTER"])])),
        {"GPU": "NVIDIA-GRID-K1"},
        "",
        True,
    ),
    (
        "Pod with multiple matchExpressions ANDed that doesn't match the existing node",
        _aff(term([req("GPU", "Exists"), req("GPU", "In", ["AMD", "INTER"])])),
        {"GPU": "NVIDIA-GRID-K1"},
        "",
        False,
    ),
    (
        "Pod with multiple NodeSelectorTerms ORed in affinity, matches the node's labels and will schedule onto the node",
        _aff(term([req("foo", "In", ["bar", "value2"])]), term([req("diffkey", "In", ["wrong", "value2"])])),
        {"foo": "bar"},
        "",
        True,
    ),
    (
        "Pod with an Affinity and a PodSpec.NodeSelector both are satisfied, will schedule onto the node",
        with_spec(_aff(term([req("foo", "Exists")])), nodeSelector={"foo": "bar"}),
        {"foo": "bar"},
        "",
        True,
    ),
    (
        "Pod with an Affinity matches node's labels but the PodSpec.NodeSelector is not satisfied, won't schedule onto the node",
        with_spec(_aff(term([req("foo", "Exists")])), nodeSelector={"foo": "bar"}),
        {"foo": "barrrrrr"},
        "",
        False,
    ),
    (
        "Pod with an invalid value in Affinity term won't be scheduled onto the node",
        _aff(term([req("foo", "NotIn", ["invalid value: ___@#$%^"])])),
        {"foo": "bar"},
        "",
        False,
    ),
    (
        "Pod with matchFields using In operator that matches the existing node",
        _aff(term(fields=[name_in("node_1")])),
        None,
        "node_1",
        True,
    ),
    (
        "Pod with matchFields using In operator that does not match the existing node",
        _aff(term(fields=[name_in("node_1")])),
        None,
        "node_2",
        False,
    ),
    (
        "Pod with two terms: matchFields does not match, but matchExpressions matches",
        _aff(term(fields=[name_in("node_1")]), term([req("foo", "In", ["bar"])])),
        {"foo": "bar"},
        "node_2",
        True,
    ),
    (
        "Pod with one term: matchFields does not match, but matchExpressions matches",
        _aff(term([req("foo", "In", ["bar"])], fields=[name_in("node_1")])),
        {"foo": "bar"},
        "node_2",
        False,
    ),
    (
        "Pod with one term: both matchFields and matchExpressions match",
        _aff(term([req("foo", "In", ["bar"])], fields=[name_in("node_1")])),
        {"foo": "bar"},
        "node_1",
        True,
    ),
    (
        "Pod with two terms: both matchFields and matchExpressions do not match",
        _aff(term(fields=[name_in("node_1")]), term([req("foo", "In", ["not-match-to-bar"])])),
        {"foo": "bar"},
        "node_2",
        False,
    ),
]

_LABELSET = {"foo": "bar", "baz": "blah"}
SET_MATCHES_CASES = [
    ("upstream:labels.TestSetMatches/empty set matches", {}, True),
    ("upstream:labels.TestSetMatches/foo=bar", {"foo": "bar"}, True),
    ("upstream:labels.TestSetMatches/baz=blah", {"baz": "blah"}, True),
    ("upstream:labels.TestSetMatches/foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
    ("upstream:labels.TestSelectorMatches/foo=blah (as nodeSelector)", {"foo": "blah"}, False),
    ("upstream:labels.TestSelectorMatches/foo=bar,foobar=bar,baz=blah (as nodeSelector)", {"foo": "bar", "foobar": "bar", "baz": "blah"}, False),
]


@pytest.mark.parametrize(
    "pod_spec,labels,node_name,want",
    [c[1:] for c in POD_MATCHES_CASES],
    ids=[f"upstream:TestPodMatchesNodeSelectorAndAffinityTerms/{c[0]}" for c in POD_MATCHES_CASES],
)
def test_fits_node_affinity(pod_spec, labels, node_name, want):
    node = bare_node(node_name, labels)
    assert fits_node_affinity(copy.deepcopy(pod_spec), node) is want


@pytest.mark.parametrize("node_selector,want", [c[1:] for c in SET_MATCHES_CASES], ids=[c[0] for c in SET_MATCHES_CASES])
def test_fits_node_affinity_node_selector_map(node_selector, want):
    spec = {"nodeSelector": node_selector} if node_selector else {}
    assert fits_node_affinity(spec, bare_node("n", _LABELSET)) is want


# ======================================================================================
# 5. match_node_selector_terms
#    nodeaffinity_test.go TestNodeSelectorMatch / TestNodeSelectorRequirementsAsSelector,
#    helpers_test.go TestMatchNodeSelectorTerms / TestMatchNodeSelectorTermsStateless,
#    labels selector_test.go requirement cases re-expressed as node selector requirements.
# ======================================================================================

_LONG = "a" * 254

NODE_TERMS_CASES = [
    # --- nodeaffinity_test.go :: TestNodeSelectorMatch
    ("upstream:TestNodeSelectorMatch/nil node (empty selector)", [], bare_node(), False),
    (
        "upstream:TestNodeSelectorMatch/invalid field selector and label selector (lazy: valid 2nd term still matches)",
        [
            term(fields=[name_in("host_1", "host_2")]),
            term([req("label_1", "In", ["label_1_val"])], fields=[name_in("host_1")]),
            term([req("invalid key", "In", ["label_value"])]),
        ],
        bare_node("host_1", {"label_1": "label_1_val"}),
        True,
    ),
    (
        "upstream:TestNodeSelectorMatch/invalid field selector and label selector (lazy: invalid terms never match)",
        [
            term(fields=[name_in("host_1", "host_2")]),
            term([req("label_1", "In", ["label_1_val"])], fields=[name_in("host_1")]),
            term([req("invalid key", "In", ["label_value"])]),
        ],
        bare_node("host_1", {"invalid key": "label_value"}),
        False,
    ),
    (
        "upstream:TestNodeSelectorMatch/node matches field selector, but not labels",
        [term([req("label_1", "In", ["label_1_val"])], fields=[name_in("host_1")])],
        bare_node("host_1"),
        False,
    ),
    (
        "upstream:TestNodeSelectorMatch/node matches field selector and label selector",
        [term([req("label_1", "In", ["label_1_val"])], fields=[name_in("host_1")])],
        bare_node("host_1", {"label_1": "label_1_val"}),
        True,
    ),
    (
        "upstream:TestNodeSelectorMatch/second term matches",
        [term([req("label_1", "In", ["label_1_val"])]), term(fields=[name_in("host_1")])],
        bare_node("host_1"),
        True,
    ),
    # --- helpers_test.go :: TestMatchNodeSelectorTerms
    ("upstream:TestMatchNodeSelectorTerms/nil terms", [], bare_node(), False),
    (
        "upstream:TestMatchNodeSelectorTerms/node label matches matchExpressions terms",
        [term([req("label_1", "In", ["label_1_val"])])],
        bare_node("", {"label_1": "label_1_val"}),
        True,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/node field matches matchFields terms",
        [term(fields=[name_in("host_1")])],
        bare_node("host_1"),
        True,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/invalid node field requirement",
        [term(fields=[name_in("host_1", "host_2")])],
        bare_node("host_1"),
        False,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/fieldSelectorTerm with node labels",
        [term(fields=[name_in("host_1")])],
        bare_node("not_host_1", {"metadata.name": "host_1"}),
        False,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/labelSelectorTerm with node fields",
        [term([req("metadata.name", "In", ["host_1"])])],
        bare_node("host_1"),
        False,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/labelSelectorTerm and fieldSelectorTerm was set, but only node fields",
        [term([req("label_1", "In", ["label_1_val"])], fields=[name_in("host_1")])],
        bare_node("host_1"),
        False,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/labelSelectorTerm and fieldSelectorTerm was set, both node fields and labels (both matched)",
        [term([req("label_1", "In", ["label_1_val"])], fields=[name_in("host_1")])],
        bare_node("host_1", {"label_1": "label_1_val"}),
        True,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/labelSelectorTerm and fieldSelectorTerm was set, both node fields and labels (one mismatched)",
        [term([req("label_1", "In", ["label_1_val"])], fields=[name_in("host_1")])],
        bare_node("host_1", {"label_1": "label_1_val-failed"}),
        False,
    ),
    (
        "upstream:TestMatchNodeSelectorTerms/multi-selector was set, both node fields and labels (one mismatched)",
        [term([req("label_1", "In", ["label_1_val"])]), term(fields=[name_in("host_1")])],
        bare_node("host_1", {"label_1": "label_1_val-failed"}),
        True,
    ),
    # --- nodeaffinity_test.go :: TestNodeSelectorRequirementsAsSelector (as single-term selectors)
    (
        "upstream:TestNodeSelectorRequirementsAsSelector/foo in (bar,baz)",
        [term([req("foo", "In", ["bar", "baz"])])],
        bare_node("n", {"foo": "baz"}),
        True,
    ),
    (
        "upstream:TestNodeSelectorRequirementsAsSelector/Exists with values is an error",
        [term([req("foo", "Exists", ["bar", "baz"])])],
        bare_node("n", {"foo": "bar"}),
        False,
    ),
    ("upstream:TestNodeSelectorRequirementsAsSelector/foo>1", [term([req("foo", "Gt", ["1"])])], bare_node("n", {"foo": "2"}), True),
    ("upstream:TestNodeSelectorRequirementsAsSelector/bar<7", [term([req("bar", "Lt", ["7"])])], bare_node("n", {"bar": "3"}), True),
    (
        "upstream:TestNodeSelectorRequirementsAsSelector/invalid operator is an error",
        [term([req("baz", "invalid", ["5"])])],
        bare_node("n", {"baz": "5"}),
        False,
    ),
    # --- labels selector_test.go :: TestRequirementConstructor (node requirement validity)
    ("upstream:labels.TestRequirementConstructor/x1 In with no values is invalid", [term([req("x1", "In", [])])], bare_node("n", {"x1": ""}), False),
    ("upstream:labels.TestRequirementConstructor/x2 NotIn with no values is invalid", [term([req("x2", "NotIn", [])])], bare_node("n", {}), False),
    ("upstream:labels.TestRequirementConstructor/x3 In foo", [term([req("x3", "In", ["foo"])])], bare_node("n", {"x3": "foo"}), True),
    ("upstream:labels.TestRequirementConstructor/x4 NotIn foo", [term([req("x4", "NotIn", ["foo"])])], bare_node("n", {"x4": "bar"}), True),
    ("upstream:labels.TestRequirementConstructor/x6 Exists", [term([req("x6", "Exists")])], bare_node("n", {"x6": "v"}), True),
    ("upstream:labels.TestRequirementConstructor/x7 DoesNotExist", [term([req("x7", "DoesNotExist")])], bare_node("n", {}), True),
    ("upstream:labels.TestRequirementConstructor/x8 Exists with a value is invalid", [term([req("x8", "Exists", ["foo"])])], bare_node("n", {"x8": "foo"}), False),
    ("upstream:labels.TestRequirementConstructor/x9 In bar", [term([req("x9", "In", ["bar"])])], bare_node("n", {"x9": "bar"}), True),
    ("upstream:labels.TestRequirementConstructor/x11 Gt 1", [term([req("x11", "Gt", ["1"])])], bare_node("n", {"x11": "2"}), True),
    ("upstream:labels.TestRequirementConstructor/x12 Lt 6", [term([req("x12", "Lt", ["6"])])], bare_node("n", {"x12": "5"}), True),
    ("upstream:labels.TestRequirementConstructor/x13 Gt with no value is invalid", [term([req("x13", "Gt", [])])], bare_node("n", {"x13": "2"}), False),
    ("upstream:labels.TestRequirementConstructor/x14 Gt non-integer is invalid", [term([req("x14", "Gt", ["bar"])])], bare_node("n", {"x14": "2"}), False),
    ("upstream:labels.TestRequirementConstructor/x15 Lt non-integer is invalid", [term([req("x15", "Lt", ["bar"])])], bare_node("n", {"x15": "2"}), False),
    ("upstream:labels.TestRequirementConstructor/254-char key is invalid", [term([req(_LONG, "Exists")])], bare_node("n", {_LONG: "v"}), False),
    ("upstream:labels.TestRequirementConstructor/x16 254-char value is invalid", [term([req("x16", "In", [_LONG])])], bare_node("n", {"x16": _LONG}), False),
    ("upstream:labels.TestRequirementConstructor/x17 value with a space is invalid", [term([req("x17", "In", ["a b"])])], bare_node("n", {"x17": "a b"}), False),
    ("upstream:labels.TestRequirementConstructor/x18 unsupported operator", [term([req("x18", "unsupportedOp", ["x"])])], bare_node("n", {"x18": "x"}), False),
    ("upstream:labels.TestRequirementConstructor/x5 Equals is not a node selector operator", [term([req("x5", "Equals", ["foo"])])], bare_node("n", {"x5": "foo"}), False),
    # --- labels selector_test.go :: TestRequirementSelectorMatching (node selector form)
    (
        "upstream:labels.TestRequirementSelectorMatching/x In foo, y NotIn alpha",
        [term([req("x", "In", ["foo"]), req("y", "NotIn", ["alpha"])])],
        bare_node("n", {"x": "foo", "y": "baz"}),
        True,
    ),
    (
        "upstream:labels.TestRequirementSelectorMatching/x In foo, y In alpha",
        [term([req("x", "In", ["foo"]), req("y", "In", ["alpha"])])],
        bare_node("n", {"x": "foo", "y": "baz"}),
        False,
    ),
    (
        "upstream:labels.TestRequirementSelectorMatching/x NotIn '', y Exists",
        [term([req("x", "NotIn", [""]), req("y", "Exists")])],
        bare_node("n", {"y": ""}),
        True,
    ),
    (
        "upstream:labels.TestRequirementSelectorMatching/x DoesNotExist, y Exists",
        [term([req("x", "DoesNotExist"), req("y", "Exists")])],
        bare_node("n", {"y": ""}),
        True,
    ),
    (
        "upstream:labels.TestRequirementSelectorMatching/x NotIn '', y DoesNotExist",
        [term([req("x", "NotIn", [""]), req("y", "DoesNotExist")])],
        bare_node("n", {"y": ""}),
        False,
    ),
    ("upstream:labels.TestRequirementSelectorMatching/x In ''", [term([req("x", "In", [""])])], bare_node("n", {"y": "baz"}), False),
    ("upstream:labels.TestRequirementSelectorMatching/z Gt 1 on z=2", [term([req("z", "Gt", ["1"])])], bare_node("n", {"z": "2"}), True),
    ("upstream:labels.TestRequirementSelectorMatching/z Gt 1 on z=v2", [term([req("z", "Gt", ["1"])])], bare_node("n", {"z": "v2"}), False),
    # --- labels selector_test.go :: TestSelectorMatches numeric comparisons
    ("upstream:labels.TestSelectorMatches/x>1 on x=2", [term([req("x", "Gt", ["1"])])], bare_node("n", {"x": "2"}), True),
    ("upstream:labels.TestSelectorMatches/x<1 on x=0", [term([req("x", "Lt", ["1"])])], bare_node("n", {"x": "0"}), True),
    ("upstream:labels.TestSelectorMatches/x>1 on x=0", [term([req("x", "Gt", ["1"])])], bare_node("n", {"x": "0"}), False),
    ("upstream:labels.TestSelectorMatches/x<1 on x=2", [term([req("x", "Lt", ["1"])])], bare_node("n", {"x": "2"}), False),
    ("upstream:labels.TestSelectorMatches/x>1 on missing x", [term([req("x", "Gt", ["1"])])], bare_node("n", {"y": "2"}), False),
    # --- nodeaffinity.go :: nodeSelectorRequirementsAsFieldSelector / NewLazyErrorNodeSelector
    ("upstream-src:nodeSelectorRequirementsAsFieldSelector/NotIn one name, other node", [term(fields=[req("metadata.name", "NotIn", ["host_2"])])], bare_node("host_1"), True),
    ("upstream-src:nodeSelectorRequirementsAsFieldSelector/NotIn one name, same node", [term(fields=[req("metadata.name", "NotIn", ["host_2"])])], bare_node("host_2"), False),
    ("upstream-src:nodeSelectorRequirementsAsFieldSelector/Exists is not a field operator", [term(fields=[req("metadata.name", "Exists")])], bare_node("host_1"), False),
    ("upstream-src:nodeSelectorRequirementsAsFieldSelector/NotIn with two values is invalid", [term(fields=[req("metadata.name", "NotIn", ["a", "b"])])], bare_node("host_1"), False),
    ("upstream-src:NewLazyErrorNodeSelector/empty term is dropped, next term matches", [term(), term([req("foo", "Exists")])], bare_node("n", {"foo": "x"}), True),
    ("upstream-src:NewLazyErrorNodeSelector/only empty terms match nothing", [term(), term([], [])], bare_node("n", {"foo": "x"}), False),
]


@pytest.mark.parametrize("terms,node,want", [c[1:] for c in NODE_TERMS_CASES], ids=[c[0] for c in NODE_TERMS_CASES])
def test_match_node_selector_terms(terms, node, want):
    assert match_node_selector_terms(copy.deepcopy(terms), node) is want


STATELESS_CASES = [
    ("nil terms", [], bare_node(), False),
    (
        "nodeLabels: preordered matchExpressions and nil matchFields",
        [term([req("label_1", "In", ["label_1_val", "label_2_val"])])],
        bare_node("", {"label_1": "label_1_val"}),
        True,
    ),
    (
        "nodeLabels: unordered matchExpressions and nil matchFields",
        [term([req("label_1", "In", ["label_2_val", "label_1_val"])])],
        bare_node("", {"label_1": "label_1_val"}),
        True,
    ),
    (
        "nodeFields: nil matchExpressions and preordered matchFields",
        [term(fields=[name_in("host_1", "host_2")])],
        bare_node("host_1"),
        False,
    ),
    (
        "nodeFields: nil matchExpressions and unordered matchFields",
        [term(fields=[name_in("host_2", "host_1")])],
        bare_node("host_1"),
        False,
    ),
    (
        "nodeLabels and nodeFields: ordered matchExpressions and ordered matchFields",
        [term([req("label_1", "In", ["label_1_val", "label_2_val"])], fields=[name_in("host_1", "host_2")])],
        bare_node("host_1", {"label_1": "label_1_val"}),
        False,
    ),
    (
        "nodeLabels and nodeFields: ordered matchExpressions and unordered matchFields",
        [term([req("label_1", "In", ["label_1_val", "label_2_val"])], fields=[name_in("host_2", "host_1")])],
        bare_node("host_1", {"label_1": "label_1_val"}),
        False,
    ),
    (
        "nodeLabels and nodeFields: unordered matchExpressions and ordered matchFields",
        [term([req("label_1", "In", ["label_2_val", "label_1_val"])], fields=[name_in("host_1", "host_2")])],
        bare_node("host_1", {"label_1": "label_1_val"}),
        False,
    ),
    (
        "nodeLabels and nodeFields: unordered matchExpressions and unordered matchFields",
        [term([req("label_1", "In", ["label_2_val", "label_1_val"])], fields=[name_in("host_2", "host_1")])],
        bare_node("host_1", {"label_1": "label_1_val"}),
        False,
    ),
]


@pytest.mark.parametrize(
    "terms,node,want",
    [c[1:] for c in STATELESS_CASES],
    ids=[f"upstream:TestMatchNodeSelectorTermsStateless/{c[0]}" for c in STATELESS_CASES],
)
def test_match_node_selector_terms_stateless(terms, node, want):
    before_terms = copy.deepcopy(terms)
    before_node = copy.deepcopy(node)
    assert match_node_selector_terms(terms, node) is want
    assert terms == before_terms, "selector terms must not be modified (value order included)"
    assert node == before_node, "node must not be modified"


# ======================================================================================
# 6. match_label_selector (metav1.LabelSelector via LabelSelectorAsSelector)
#    meta/v1 helpers_test.go TestLabelSelectorAsSelector, labels selector_test.go cases.
#    An invalid selector is an error upstream (selects nothing): raising or False both pass.
# ======================================================================================

_ERR = "error-or-false"


def _label_selector_outcome(selector, labels):
    try:
        return match_label_selector(copy.deepcopy(selector), labels)
    except Exception:  # noqa: BLE001 - upstream returns an error here
        return _ERR


def _ml(**labels: str) -> Dict[str, Any]:
    return {"matchLabels": dict(labels)}


def _me(*exprs: dict) -> Dict[str, Any]:
    return {"matchExpressions": list(exprs)}


LABEL_SELECTOR_CASES = [
    # --- TestLabelSelectorAsSelector
    ("upstream:TestLabelSelectorAsSelector/nil selects nothing", None, {"foo": "bar"}, False),
    ("upstream:TestLabelSelectorAsSelector/nil selects nothing (empty labels)", None, {}, False),
    ("upstream:TestLabelSelectorAsSelector/empty selects everything", {}, {"foo": "bar"}, True),
    ("upstream:TestLabelSelectorAsSelector/empty selects everything (empty labels)", {}, {}, True),
    ("upstream:TestLabelSelectorAsSelector/matchLabels foo=bar", _ml(foo="bar"), {"foo": "bar"}, True),
    ("upstream:TestLabelSelectorAsSelector/matchLabels foo=bar (mismatch)", _ml(foo="bar"), {"foo": "baz"}, False),
    ("upstream:TestLabelSelectorAsSelector/baz in (norf,qux)", _me(req("baz", "In", ["qux", "norf"])), {"baz": "norf"}, True),
    ("upstream:TestLabelSelectorAsSelector/baz in (norf,qux) (mismatch)", _me(req("baz", "In", ["qux", "norf"])), {"baz": "other"}, False),
    (
        "upstream:TestLabelSelectorAsSelector/baz in (norf,qux),foo=bar",
        {"matchLabels": {"foo": "bar"}, "matchExpressions": [req("baz", "In", ["qux", "norf"])]},
        {"foo": "bar", "baz": "qux"},
        True,
    ),
    (
        "upstream:TestLabelSelectorAsSelector/baz in (norf,qux),foo=bar (matchLabels ANDed)",
        {"matchLabels": {"foo": "bar"}, "matchExpressions": [req("baz", "In", ["qux", "norf"])]},
        {"foo": "nope", "baz": "qux"},
        False,
    ),
    ("upstream:TestLabelSelectorAsSelector/Exists with values is an error", _me(req("baz", "Exists", ["qux", "norf"])), {"baz": "qux"}, _ERR),
    # --- labels.TestEverything / TestSelectorMatches (selector strings re-expressed as LabelSelectors)
    ("upstream:labels.TestEverything/everything matches x=y", {}, {"x": "y"}, True),
    ("upstream:labels.TestSelectorMatches/'' on x=y", {}, {"x": "y"}, True),
    ("upstream:labels.TestSelectorMatches/x=y", _ml(x="y"), {"x": "y"}, True),
    ("upstream:labels.TestSelectorMatches/x=y,z=w", _ml(x="y", z="w"), {"x": "y", "z": "w"}, True),
    ("upstream:labels.TestSelectorMatches/x!=y,z!=w", _me(req("x", "NotIn", ["y"]), req("z", "NotIn", ["w"])), {"x": "z", "z": "a"}, True),
    ("upstream:labels.TestSelectorMatches/notin=in", _ml(notin="in"), {"notin": "in"}, True),
    ("upstream:labels.TestSelectorMatches/x (exists)", _me(req("x", "Exists")), {"x": "z"}, True),
    ("upstream:labels.TestSelectorMatches/!x (does not exist)", _me(req("x", "DoesNotExist")), {"y": "z"}, True),
    ("upstream:labels.TestSelectorMatches/x=z on empty set", _ml(x="z"), {}, False),
    ("upstream:labels.TestSelectorMatches/x=y on x=z", _ml(x="y"), {"x": "z"}, False),
    ("upstream:labels.TestSelectorMatches/x=y,z=w on x=w,z=w", _ml(x="y", z="w"), {"x": "w", "z": "w"}, False),
    ("upstream:labels.TestSelectorMatches/x!=y,z!=w on x=z,z=w", _me(req("x", "NotIn", ["y"]), req("z", "NotIn", ["w"])), {"x": "z", "z": "w"}, False),
    ("upstream:labels.TestSelectorMatches/x (exists) on y=z", _me(req("x", "Exists")), {"y": "z"}, False),
    ("upstream:labels.TestSelectorMatches/!x on x=z", _me(req("x", "DoesNotExist")), {"x": "z"}, False),
    ("upstream:labels.TestSelectorMatches/foo=bar on labelset", _ml(foo="bar"), _LABELSET, True),
    ("upstream:labels.TestSelectorMatches/baz=blah on labelset", _ml(baz="blah"), _LABELSET, True),
    ("upstream:labels.TestSelectorMatches/foo=bar,baz=blah on labelset", _ml(foo="bar", baz="blah"), _LABELSET, True),
    ("upstream:labels.TestSelectorMatches/foo=blah on labelset", _ml(foo="blah"), _LABELSET, False),
    ("upstream:labels.TestSelectorMatches/baz=bar on labelset", _ml(baz="bar"), _LABELSET, False),
    ("upstream:labels.TestSelectorMatches/foo=bar,foobar=bar,baz=blah on labelset", _ml(foo="bar", foobar="bar", baz="blah"), _LABELSET, False),
    # --- labels.TestSetMatches (label sets as matchLabels)
    ("upstream:labels.TestSetMatches/empty set", {"matchLabels": {}}, _LABELSET, True),
    ("upstream:labels.TestSetMatches/foo=bar,baz=blah", _ml(foo="bar", baz="blah"), _LABELSET, True),
    # --- labels.TestRequirementSelectorMatching
    ("upstream:labels.TestRequirementSelectorMatching/x In foo, y NotIn alpha", _me(req("x", "In", ["foo"]), req("y", "NotIn", ["alpha"])), {"x": "foo", "y": "baz"}, True),
    ("upstream:labels.TestRequirementSelectorMatching/x In foo, y In alpha", _me(req("x", "In", ["foo"]), req("y", "In", ["alpha"])), {"x": "foo", "y": "baz"}, False),
    ("upstream:labels.TestRequirementSelectorMatching/x NotIn '', y Exists", _me(req("x", "NotIn", [""]), req("y", "Exists")), {"y": ""}, True),
    ("upstream:labels.TestRequirementSelectorMatching/x DoesNotExist, y Exists", _me(req("x", "DoesNotExist"), req("y", "Exists")), {"y": ""}, True),
    ("upstream:labels.TestRequirementSelectorMatching/x NotIn '', y DoesNotExist", _me(req("x", "NotIn", [""]), req("y", "DoesNotExist")), {"y": ""}, False),
    ("upstream:labels.TestRequirementSelectorMatching/x In ''", _me(req("x", "In", [""])), {"y": "baz"}, False),
    # --- labels.TestRequirementConstructor (invalid requirements make the selector an error)
    ("upstream:labels.TestRequirementConstructor/x1 In with no values", _me(req("x1", "In", [])), {"x1": ""}, _ERR),
    ("upstream:labels.TestRequirementConstructor/x2 NotIn with no values", _me(req("x2", "NotIn", [])), {}, _ERR),
    ("upstream:labels.TestRequirementConstructor/x3 In foo", _me(req("x3", "In", ["foo"])), {"x3": "foo"}, True),
    ("upstream:labels.TestRequirementConstructor/x4 NotIn foo", _me(req("x4", "NotIn", ["foo"])), {"x4": "bar"}, True),
    ("upstream:labels.TestRequirementConstructor/x6 Exists", _me(req("x6", "Exists")), {"x6": "v"}, True),
    ("upstream:labels.TestRequirementConstructor/x7 DoesNotExist", _me(req("x7", "DoesNotExist")), {}, True),
    ("upstream:labels.TestRequirementConstructor/x8 Exists with a value", _me(req("x8", "Exists", ["foo"])), {"x8": "foo"}, _ERR),
    ("upstream:labels.TestRequirementConstructor/254-char key", _me(req(_LONG, "Exists")), {_LONG: "v"}, _ERR),
    ("upstream:labels.TestRequirementConstructor/x16 254-char matchLabels value", {"matchLabels": {"x16": _LONG}}, {"x16": _LONG}, _ERR),
    ("upstream:labels.TestRequirementConstructor/x17 matchLabels value with a space", {"matchLabels": {"x17": "a b"}}, {"x17": "a b"}, _ERR),
    ("upstream:labels.TestRequirementConstructor/x18 unsupported operator", _me(req("x18", "unsupportedOp", ["x"])), {"x18": "x"}, _ERR),
    ("upstream-src:LabelSelectorAsSelector/Gt is not a label selector operator", _me(req("x", "Gt", ["1"])), {"x": "2"}, _ERR),
]


@pytest.mark.parametrize("selector,labels,want", [c[1:] for c in LABEL_SELECTOR_CASES], ids=[c[0] for c in LABEL_SELECTOR_CASES])
def test_match_label_selector(selector, labels, want):
    got = _label_selector_outcome(selector, labels)
    if want == _ERR:
        assert got is False or got == _ERR, f"invalid selector must select nothing, got {got!r}"
    else:
        assert got is want


# ======================================================================================
# 7. tolerates  (core/v1 toleration_test.go TestTolerationToleratesTaint + toleration.go rules)
# ======================================================================================

TOLERATES_CASES = [
    (
        "upstream:TestTolerationToleratesTaint/same key and effect, Exists, taint has no value",
        tol("foo", "Exists", effect="NoSchedule"),
        taint("foo", effect="NoSchedule"),
        True,
    ),
    (
        "upstream:TestTolerationToleratesTaint/same key and effect, Exists, taint has some value",
        tol("foo", "Exists", effect="NoSchedule"),
        taint("foo", effect="NoSchedule", value="bar"),
        True,
    ),
    (
        "upstream:TestTolerationToleratesTaint/same effect, empty key with Exists matches all taints",
        tol("", "Exists", effect="NoSchedule"),
        taint("foo", effect="NoSchedule", value="bar"),
        True,
    ),
    (
        "upstream:TestTolerationToleratesTaint/same key, effect and value, Equal",
        tol("foo", "Equal", "bar", "NoSchedule"),
        taint("foo", effect="NoSchedule", value="bar"),
        True,
    ),
    (
        "upstream:TestTolerationToleratesTaint/same key and effect, different values, Equal",
        tol("foo", "Equal", "value1", "NoSchedule"),
        taint("foo", effect="NoSchedule", value="value2"),
        False,
    ),
    (
        "upstream:TestTolerationToleratesTaint/same key and value, different effects, Equal",
        tol("foo", "Equal", "bar", "NoSchedule"),
        taint("foo", effect="NoExecute", value="bar"),
        False,
    ),
    # --- rules of Toleration.ToleratesTaint (api v0.33.13 core/v1/toleration.go)
    ("upstream-src:ToleratesTaint/empty effect matches NoExecute", tol("foo", "Exists"), taint("foo", effect="NoExecute", value="x"), True),
    ("upstream-src:ToleratesTaint/empty effect matches PreferNoSchedule", tol("foo", "Equal", "x"), taint("foo", effect="PreferNoSchedule", value="x"), True),
    ("upstream-src:ToleratesTaint/empty operator means Equal (values equal)", tol("foo", value="bar", effect="NoSchedule"), taint("foo", effect="NoSchedule", value="bar"), True),
    ("upstream-src:ToleratesTaint/empty operator means Equal (values differ)", tol("foo", value="bar", effect="NoSchedule"), taint("foo", effect="NoSchedule", value="baz"), False),
    ("upstream-src:ToleratesTaint/empty operator, both values empty", tol("foo", effect="NoSchedule"), taint("foo", effect="NoSchedule"), True),
    ("upstream-src:ToleratesTaint/Exists ignores a toleration value", tol("foo", "Exists", "ignored", "NoSchedule"), taint("foo", effect="NoSchedule", value="bar"), True),
    ("upstream-src:ToleratesTaint/key mismatch", tol("foo", "Exists", effect="NoSchedule"), taint("bar", effect="NoSchedule"), False),
    ("upstream-src:ToleratesTaint/empty key with Equal and empty values", tol("", "Equal", "", "NoSchedule"), taint("foo", effect="NoSchedule"), True),
    ("upstream-src:ToleratesTaint/empty key with Equal and differing value", tol("", "Equal", "", "NoSchedule"), taint("foo", effect="NoSchedule", value="bar"), False),
    ("upstream-src:ToleratesTaint/unknown operator never tolerates", tol("foo", "Bogus", effect="NoSchedule"), taint("foo", effect="NoSchedule"), False),
    ("upstream-src:ToleratesTaint/tolerationSeconds does not affect matching", tol("foo", "Exists", effect="NoExecute", seconds=0), taint("foo", effect="NoExecute"), True),
    ("upstream-src:ToleratesTaint/empty toleration (no key/op/effect) matches only an empty-value taint", tol(), taint("foo", effect="NoSchedule"), True),
    ("upstream-src:ToleratesTaint/empty toleration vs valued taint", tol(), taint("foo", effect="NoSchedule", value="v"), False),
    # --- newer upstream Gt/Lt cases re-expected for v1.33 (operator unknown -> never tolerates)
    ("v1.33-rule:ToleratesTaint/Gt with taint value greater", tol("foo", "Gt", "100", "NoSchedule"), taint("foo", effect="NoSchedule", value="200"), False),
    ("v1.33-rule:ToleratesTaint/Lt with taint value smaller", tol("foo", "Lt", "100", "NoSchedule"), taint("foo", effect="NoSchedule", value="50"), False),
    ("v1.33-rule:ToleratesTaint/Gt with empty effect and key", tol(operator="Gt", value="1"), taint("foo", effect="NoExecute", value="5"), False),
]


@pytest.mark.parametrize("toleration,taint_,want", [c[1:] for c in TOLERATES_CASES], ids=[c[0] for c in TOLERATES_CASES])
def test_tolerates(toleration, taint_, want):
    assert tolerates(toleration, taint_) is want


# ======================================================================================
# 8. untolerated_taints  (component-helpers helpers_test.go TestFindMatchingUntoleratedTaint)
#    filter "always true"/nil -> every effect; "always false" -> no effect; NoExecute-only.
# ======================================================================================

UNTOLERATED_CASES = [
    ("empty tolerations tolerate empty taints", [], [], ALL_EFFECTS, []),
    (
        "non-empty tolerations tolerate empty taints",
        [],
        [tol("foo", "Exists", effect="NoSchedule")],
        ALL_EFFECTS,
        [],
    ),
    (
        "tolerations match all taints, expect tolerated",
        [taint("foo", effect="NoSchedule")],
        [tol("foo", "Exists", effect="NoSchedule")],
        ALL_EFFECTS,
        [],
    ),
    (
        "tolerations don't match taints, but no taints apply to the filter, expect tolerated",
        [taint("bar", effect="NoSchedule")],
        [tol("foo", "Exists", effect="NoSchedule")],
        set(),
        [],
    ),
    (
        "no filterFunc indicated, means all taints apply to the filter, tolerations don't match taints, expect untolerated",
        [taint("bar", effect="NoSchedule")],
        [tol("foo", "Exists", effect="NoSchedule")],
        ALL_EFFECTS,
        [taint("bar", effect="NoSchedule")],
    ),
    (
        "tolerations match taints, expect tolerated",
        [taint("foo", effect="NoExecute"), taint("bar", effect="NoSchedule")],
        [tol("foo", "Exists", effect="NoExecute")],
        {"NoExecute"},
        [],
    ),
]

UNTOLERATED_SRC_CASES = [
    (
        "upstream-src:FindMatchingUntoleratedTaint/node order kept, tolerated and filtered-out taints dropped",
        [
            taint("c", effect="NoSchedule", value="1"),
            taint("a", effect="PreferNoSchedule"),
            taint("b", effect="NoExecute"),
            taint("ok", effect="NoSchedule"),
            taint("d", effect="NoExecute", value="2"),
        ],
        [tol("ok", "Exists")],
        {"NoSchedule", "NoExecute"},
        [taint("c", effect="NoSchedule", value="1"), taint("b", effect="NoExecute"), taint("d", effect="NoExecute", value="2")],
    ),
    (
        "upstream-src:predicates/NoSchedule+NoExecute filter ignores PreferNoSchedule",
        [taint("soft", effect="PreferNoSchedule")],
        [],
        {"NoSchedule", "NoExecute"},
        [],
    ),
]


def _untolerated_ids():
    return [f"upstream:TestFindMatchingUntoleratedTaint/{c[0]}" for c in UNTOLERATED_CASES] + [c[0] for c in UNTOLERATED_SRC_CASES]


@pytest.mark.parametrize(
    "taints,tolerations,effects,want",
    [c[1:] for c in UNTOLERATED_CASES] + [c[1:] for c in UNTOLERATED_SRC_CASES],
    ids=_untolerated_ids(),
)
def test_untolerated_taints(taints, tolerations, effects, want):
    got = untolerated_taints(copy.deepcopy(taints), copy.deepcopy(tolerations), set(effects))
    assert [_strip(t) for t in got] == [_strip(t) for t in want]


# ======================================================================================
# 9. daemon_tolerations  (util/daemonset_util.go AddOrUpdateDaemonPodTolerations with
#    pkg/apis/core/v1/helper AddOrUpdateTolerationInPodSpec merge: a pod toleration equal
#    on key/effect/operator/value is replaced in place by the default; others kept in order;
#    unmatched defaults appended in this fixed order)
# ======================================================================================


def _strip(d: Dict[str, Any]) -> Dict[str, Any]:
    """Compare API dicts modulo omitted empty fields (as kubectl prints them)."""
    return {k: v for k, v in d.items() if v is not None and v != ""}


DEFAULTS = [
    tol(NOT_READY, "Exists", effect="NoExecute"),
    tol(UNREACHABLE, "Exists", effect="NoExecute"),
    tol(DISK_PRESSURE, "Exists", effect="NoSchedule"),
    tol(MEMORY_PRESSURE, "Exists", effect="NoSchedule"),
    tol(PID_PRESSURE, "Exists", effect="NoSchedule"),
    tol(UNSCHEDULABLE, "Exists", effect="NoSchedule"),
]
NET_DEFAULT = tol(NETWORK_UNAVAILABLE, "Exists", effect="NoSchedule")
_USER = tol("dedicated", "Equal", "user1", "NoSchedule")

DAEMON_TOLERATION_CASES = [
    ("no pod tolerations, no hostNetwork: six defaults", [], False, DEFAULTS),
    ("no pod tolerations, hostNetwork: network-unavailable appended last", [], True, DEFAULTS + [NET_DEFAULT]),
    ("pod tolerations kept first, defaults appended", [_USER], False, [_USER] + DEFAULTS),
    ("identical default already present is not duplicated and keeps its place", [_USER, DEFAULTS[3]], False, [_USER, DEFAULTS[3]] + DEFAULTS[:3] + DEFAULTS[4:]),
    (
        "matching not-ready toleration with tolerationSeconds is replaced in place by the infinite default",
        [tol(NOT_READY, "Exists", effect="NoExecute", seconds=300), _USER],
        False,
        [DEFAULTS[0], _USER] + DEFAULTS[1:],
    ),
    (
        "same key/effect but operator Equal is a different toleration (kept, default appended)",
        [tol(NOT_READY, "Equal", effect="NoExecute", seconds=60)],
        False,
        [tol(NOT_READY, "Equal", effect="NoExecute", seconds=60)] + DEFAULTS,
    ),
    (
        "empty-operator toleration does not match the Exists default",
        [tol(UNREACHABLE, effect="NoExecute")],
        False,
        [tol(UNREACHABLE, effect="NoExecute")] + DEFAULTS,
    ),
    (
        "tolerate-everything toleration does not suppress the defaults",
        [tol(operator="Exists")],
        True,
        [tol(operator="Exists")] + DEFAULTS + [NET_DEFAULT],
    ),
    (
        "network-unavailable pod toleration without hostNetwork is kept and nothing is added for it",
        [tol(NETWORK_UNAVAILABLE, "Exists", effect="NoSchedule", seconds=None)],
        False,
        [NET_DEFAULT] + DEFAULTS,
    ),
    (
        "hostNetwork with an identical network-unavailable toleration: no duplicate",
        [NET_DEFAULT],
        True,
        [NET_DEFAULT] + DEFAULTS,
    ),
    (
        "all defaults already present in another order: order unchanged",
        list(reversed(DEFAULTS)),
        False,
        list(reversed(DEFAULTS)),
    ),
]


@pytest.mark.parametrize(
    "tolerations,host_network,want",
    [c[1:] for c in DAEMON_TOLERATION_CASES],
    ids=[f"upstream-src:AddOrUpdateDaemonPodTolerations/{c[0]}" for c in DAEMON_TOLERATION_CASES],
)
def test_daemon_tolerations(tolerations, host_network, want):
    given = copy.deepcopy(tolerations)
    got = daemon_tolerations(given, host_network)
    assert [_strip(t) for t in got] == [_strip(t) for t in want]


# ======================================================================================
# 10. is_pod_updated  (util/daemonset_util_test.go TestIsPodUpdated)
#     labels: pod-template-generation (deprecated) and controller-revision-hash
# ======================================================================================

_GEN = 12345
_BAD_GEN = 12350
_HASH = "55555"
_LABELS = {"pod-template-generation": str(_GEN), "controller-revision-hash": _HASH}
_LABELS_NO_HASH = {"pod-template-generation": str(_GEN)}


def _pod(labels: Optional[Dict[str, str]]) -> Dict[str, Any]:
    meta: Dict[str, Any] = {"name": "pod1", "namespace": "default"}
    if labels is not None:
        meta["labels"] = dict(labels)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "foo/bar"}]},
    }


IS_POD_UPDATED_CASES = [
    ("templateGeneration and hash both match", _GEN, _pod(_LABELS), _HASH, True),
    ("templateGeneration matches, hash doesn't", _GEN, _pod(_LABELS), _HASH + "123", True),
    ("templateGeneration matches, no hash label, has hash", _GEN, _pod(_LABELS_NO_HASH), _HASH, True),
    ("templateGeneration matches, no hash label, no hash", _GEN, _pod(_LABELS_NO_HASH), "", True),
    ("templateGeneration matches, has hash label, no hash", _GEN, _pod(_LABELS), "", True),
    ("templateGeneration doesn't match, hash does", _BAD_GEN, _pod(_LABELS), _HASH, True),
    ("templateGeneration and hash don't match", _BAD_GEN, _pod(_LABELS), _HASH + "123", False),
    ("empty labels, no hash", _GEN, _pod({}), "", False),
    ("empty labels", _GEN, _pod({}), _HASH, False),
    ("no labels", _GEN, _pod(None), _HASH, False),
    # rules read off IsPodUpdated itself
    ("[src] nil templateGeneration never matches the generation label", None, _pod(_LABELS_NO_HASH), "", False),
    ("[src] nil templateGeneration, hash matches", None, _pod(_LABELS), _HASH, True),
    ("[src] empty hash never matches an empty hash label", None, _pod({"controller-revision-hash": ""}), "", False),
]


@pytest.mark.parametrize(
    "generation,pod,hash_,want",
    [c[1:] for c in IS_POD_UPDATED_CASES],
    ids=[
        (f"upstream-src:IsPodUpdated/{c[0][6:]}" if c[0].startswith("[src] ") else f"upstream:TestIsPodUpdated/{c[0]}")
        for c in IS_POD_UPDATED_CASES
    ],
)
def test_is_pod_updated(generation, pod, hash_, want):
    assert is_pod_updated(pod, hash_, generation) is want
