"""The performance shortcuts (issue 7) answer exactly what the plain definitions answer.

claimable / orphan_matcher / label_selector_matcher parse a DaemonSet's selector once instead of
once per pod; evaluate(node, ds, spec) takes daemon_pod_spec(ds) computed once per DaemonSet.
Each is checked against the definition it replaces, over a grid of the cases that matter
(namespaces, owners, empty uids, deletion, terminal phases, nil/empty/invalid selectors).
"""

from __future__ import annotations

import itertools

from kubectl_ds.core.eligibility import daemon_pod_spec, evaluate
from kubectl_ds.core.ownership import claimable, is_daemon_pod, is_orphan_candidate, orphan_matcher
from kubectl_ds.core.selectors import label_selector_matcher, match_label_selector

SELECTORS = [None, {}, {"matchLabels": {"app": "x"}},
             {"matchExpressions": [{"key": "app", "operator": "In", "values": ["x", "y"]}]},
             {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]},
             {"matchLabels": {"bad key!": "x"}}]
LABELS = [{}, {"app": "x"}, {"app": "y"}, {"app": "z", "other": "1"}]


def _ds(ns, uid, deleting, selector):
    meta = {"namespace": ns, "name": "d", "uid": uid}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-01T10:00:00Z"
    return {"metadata": meta, "spec": {"selector": selector}}


def _pod(ns, owner, controller, deleting, phase, labels):
    meta = {"namespace": ns, "name": "p", "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [{"uid": owner, "controller": controller}]
    if deleting:
        meta["deletionTimestamp"] = "2026-11-01T10:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": "n1"}, "status": {"phase": phase}}


def test_claimable_and_orphan_matcher_agree_with_the_definitions():
    dss = [_ds(ns, uid, dl, sel) for ns, uid, dl, sel in itertools.product(["a"], ["", "u1"], [False, True], SELECTORS)]
    pods = [_pod(*args) for args in itertools.product(["a", "b"], [None, "", "u1", "u2"], [True, False],
                                                      [False, True], ["Running", "Failed", "Succeeded"], LABELS)]
    claimed = 0
    for ds in dss:
        claim, orphan = claimable(ds), orphan_matcher(ds)
        for pod in pods:
            want = is_daemon_pod(ds, pod) or is_orphan_candidate(ds, pod)
            assert claim(pod) == want, (ds, pod)
            assert orphan(pod) == is_orphan_candidate(ds, pod), (ds, pod)
            claimed += want
    assert claimed > 0


def test_label_selector_matcher_agrees_with_match_label_selector():
    for sel, labels in itertools.product(SELECTORS, LABELS + [None]):
        assert label_selector_matcher(sel)(labels) == match_label_selector(sel, labels), (sel, labels)


def test_evaluate_with_a_precomputed_spec_is_the_same_verdict():
    ds = {"metadata": {"name": "d", "namespace": "a", "uid": "u"},
          "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"},
                                         "tolerations": [{"key": "gpu", "operator": "Exists"}]}}}}
    nodes = [{"metadata": {"name": f"n{i}", "labels": labels},
              "spec": {"taints": taints}}
             for i, (labels, taints) in enumerate(itertools.product(
                 [{}, {"disk": "ssd"}, {"disk": "hdd"}],
                 [[], [{"key": "gpu", "effect": "NoSchedule"}], [{"key": "x", "effect": "NoExecute"}],
                  [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]]))]
    spec = daemon_pod_spec(ds)
    for node in nodes:
        assert evaluate(node, ds, spec) == evaluate(node, ds)


def test_placement_cache_gives_evaluate_s_answer_on_every_node():
    from kubectl_ds.core.coverage import _placement
    terms = [None,
             [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}],
             [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n3"]}]}],
             [{"matchExpressions": [{"key": "size", "operator": "Gt", "values": ["2"]}]},
              {"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}]]
    specs = []
    for sel, term, node_name, tols in itertools.product(
            [None, {"disk": "ssd"}], terms, [None, "n5"],
            [[], [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]]):
        spec = {"tolerations": tols}
        if sel:
            spec["nodeSelector"] = sel
        if term:
            spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                                 {"nodeSelectorTerms": term}}}
        if node_name:
            spec["nodeName"] = node_name
        specs.append({"metadata": {"name": "d", "namespace": "a", "uid": "u"},
                      "spec": {"template": {"spec": spec}}})
    nodes = []
    for i, (disk, zone, size, taints) in enumerate(itertools.product(
            [None, "ssd", "hdd"], [None, "a", "b"], [None, "1", "3"],
            [[], [{"key": "gpu", "effect": "NoSchedule"}], [{"key": "x", "value": "y", "effect": "NoExecute"}]])):
        lab = {k: v for k, v in (("disk", disk), ("zone", zone), ("size", size), ("host", f"n{i % 7}")) if v}
        nodes.append({"metadata": {"name": f"n{i % 7}", "labels": lab}, "spec": {"taints": taints}})
    for ds in specs:
        verdict_of = _placement(ds)
        for node in nodes:
            want = evaluate(node, ds)
            got = verdict_of(node)
            assert (got.should_run, got.should_continue_running) == (want.should_run, want.should_continue_running)
