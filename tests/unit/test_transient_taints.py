"""Transient taints (a node being removed, drained or not ready): named as such, counted apart
from drift in `diff`, and never answered with a toleration (docs/semantics.md, "Transient taints").

What each taint does to a daemon pod follows the controller's rules, not the taint's name: the
controller adds tolerations of unschedulable:NoSchedule and of not-ready / unreachable:NoExecute
(not of their NoSchedule twins); PreferNoSchedule is ignored; the autoscalers' NoSchedule taints
are tolerated only by a DaemonSet that says so.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from kubectl_ds.core import taints as tt
from kubectl_ds.core.coverage import compare
from kubectl_ds.core.eligibility import evaluate
from kubectl_ds.core.lint import lint
from kubectl_ds.core.node_report import MISSCHEDULED, NOT_ELIGIBLE, explain_node
from kubectl_ds.core.versions import rules_for
from tests import builders as b

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)
DS = b.daemonset("agent", "ops")
TOLERATES_ALL = b.daemonset("cni", "kube-system", tolerations=[b.toleration(operator="Exists")])

CA = b.taint(tt.CA_TO_BE_DELETED, "1764633600")           # cluster-autoscaler: value is a unix time
CA_CANDIDATE = b.taint(tt.CA_DELETION_CANDIDATE, "1764633000", effect="PreferNoSchedule")
KARPENTER = b.taint(tt.KARPENTER_DISRUPTED)
KARPENTER_OLD = b.taint(tt.KARPENTER_DISRUPTION, "disrupting")
CORDON = b.taint(tt.UNSCHEDULABLE)
NOT_READY = [b.taint(tt.NOT_READY), b.taint(tt.NOT_READY, effect="NoExecute")]


@pytest.mark.parametrize("taint, kind", [
    (CA, tt.REMOVAL), (KARPENTER, tt.REMOVAL), (KARPENTER_OLD, tt.REMOVAL),
    (CA_CANDIDATE, tt.REMOVAL_CANDIDATE), (CORDON, tt.CORDON), (NOT_READY[0], tt.LIFECYCLE),
    (b.taint(tt.UNREACHABLE, effect="NoExecute"), tt.LIFECYCLE),
])
def test_transient_kinds(taint, kind):
    assert tt.transient(taint)[0] == kind


def test_ordinary_taints_are_not_transient():
    assert tt.transient(b.taint("dedicated", "infra")) is None
    assert tt.transient(b.taint("karpenter.sh/unregistered")) is None   # a new node, not one going away


@pytest.mark.parametrize("taint", [CA, KARPENTER, KARPENTER_OLD, NOT_READY[0]])
def test_no_toleration_advised_for_a_transient_taint(taint):
    v = evaluate(b.node("n1", taints=[taint]), DS)
    assert not v.should_run and v.should_continue_running      # NoSchedule: the pod stays
    (reason,) = v.reasons
    assert reason.type == "Taint" and reason.detail["toleration"] is None
    assert reason.detail["transient"] == tt.transient(taint)[0]
    assert "expected" in reason.message and "no toleration is advised" in reason.message


def test_an_ordinary_taint_still_gets_its_toleration():
    (reason,) = evaluate(b.node("n1", taints=[b.taint("dedicated", "infra")]), DS).reasons
    assert reason.detail["toleration"] == {"key": "dedicated", "operator": "Equal", "value": "infra",
                                           "effect": "NoSchedule"}
    assert "transient" not in reason.detail


@pytest.mark.parametrize("taint", [CORDON, CA_CANDIDATE, NOT_READY[1]])
def test_taints_daemon_pods_are_unaffected_by(taint):
    # tolerated by the controller's own tolerations, or PreferNoSchedule: no reason at all
    v = evaluate(b.node("n1", taints=[taint]), DS)
    assert v.should_run and v.should_continue_running and not v.reasons


# --- diff: counted apart, not drift ----------------------------------------------------------

@pytest.mark.parametrize("taints, kinds", [
    ([CA], (tt.REMOVAL,)), ([KARPENTER], (tt.REMOVAL,)), ([KARPENTER_OLD], (tt.REMOVAL,)),
    (NOT_READY, (tt.LIFECYCLE,)),
])
def test_kept_pod_on_a_transient_node_is_not_drift(taints, kinds):
    nodes = [b.node("n1"), b.node("n2", taints=taints)]
    cov = compare(DS, nodes, [b.daemon_pod(DS, "n1"), b.daemon_pod(DS, "n2")], [], NOW)
    assert cov.misscheduled == () and cov.in_sync
    (t,) = cov.transient
    assert (t.node, t.problem, t.kinds) == ("n2", "Misscheduled", kinds)
    # only the taint that blocks is named (not-ready:NoExecute is tolerated)
    assert t.taints == (tt.format_taint(taints[0]),)
    assert cov.computed["numberMisscheduled"] == 1        # the controller's own count is unchanged


def test_missing_pod_on_a_node_being_removed_is_expected():
    # a DaemonSet tolerating everything still should run there; the autoscaler evicted its pod
    nodes = [b.node("n1"), b.node("n2", taints=[KARPENTER])]
    cov = compare(TOLERATES_ALL, nodes, [b.daemon_pod(TOLERATES_ALL, "n1")], [], NOW)
    assert cov.missing == () and cov.in_sync
    assert [(t.node, t.problem) for t in cov.transient] == [("n2", "Missing")]


@pytest.mark.parametrize("taints", [[CORDON], NOT_READY, [CA_CANDIDATE]])
def test_missing_pod_on_a_cordoned_or_not_ready_node_is_still_drift(taints):
    # daemon pods tolerate a cordon, and the controller creates the pod on a not-ready node it
    # should run on: a missing pod there is not explained by the taint
    nodes = [b.node("n1"), b.node("n2", taints=taints, unschedulable=taints == [CORDON])]
    cov = compare(TOLERATES_ALL, nodes, [b.daemon_pod(TOLERATES_ALL, "n1")], [], NOW)
    assert cov.missing == ("n2",) and not cov.in_sync and cov.transient == ()


def test_a_pod_no_longer_selected_is_drift_even_on_a_node_being_removed():
    pinned = b.daemonset("agent", "ops", node_selector={"pool": "a"})
    nodes = [b.node("n1", labels={"pool": "a"}), b.node("n2", labels={"pool": "b"}, taints=[CA])]
    cov = compare(pinned, nodes, [b.daemon_pod(pinned, "n1"), b.daemon_pod(pinned, "n2")], [], NOW)
    assert cov.misscheduled == ("n2",) and cov.evicting == ("n2",) and cov.transient == ()


def test_diff_cli_counts_transient_apart(run_cli, tmp_path):
    path = tmp_path / "dump.json"
    ds = b.daemonset("agent", "ops")
    path.write_text(json.dumps(b.dump(b.node("n1"), b.node("n2", taints=[CA]), b.node("n3"), ds,
                                      b.daemon_pod(ds, "n1"), b.daemon_pod(ds, "n2"))))
    res = run_cli("diff", "agent", "-n", "ops", "--snapshot", str(path), expect=1)   # n3 is missing
    assert "1 missing, 0 misscheduled, 0 with duplicates, 1 on nodes going away or not ready" in res.stdout
    row = next(line for line in res.stdout.splitlines() if line.startswith("n2 "))
    assert row.split()[1] == "Transient" and tt.CA_TO_BE_DELETED in row
    doc = run_cli("diff", "agent", "-n", "ops", "--snapshot", str(path), "-o", "json", expect=1).json()
    assert doc["missing"] == ["n3"] and doc["misscheduled"] == []
    assert [t["node"] for t in doc["transient"]] == ["n2"]
    assert doc["transient"][0]["taints"] == [f"{tt.CA_TO_BE_DELETED}=1764633600:NoSchedule"]
    table = run_cli("diff", "-A", "--snapshot", str(path), expect=1).stdout.splitlines()
    header, row = table[-2].split(), table[-1].split()
    assert dict(zip(header, row))["TRANSIENT"] == "1" and dict(zip(header, row))["MISSCHEDULED"] == "0"


# --- why and lint: named, no toleration ------------------------------------------------------

def test_why_names_the_removal_and_advises_no_toleration(run_cli, tmp_path):
    node = b.node("n1", taints=[CA, CA_CANDIDATE])
    rep = explain_node(node, [DS, TOLERATES_ALL], [b.daemon_pod(DS, "n1")], [], [], NOW, b.fit_ctx())
    notes = {r.type: r for r in rep.node_notes}
    assert "cluster-autoscaler is removing the node" in notes["NodeRemoval"].message
    assert "PreferNoSchedule" in notes["NodeRemovalCandidate"].message
    states = {e.name: e.state for e in rep.entries}
    assert states == {"agent": MISSCHEDULED, "cni": "Missing"}
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(b.dump(node, DS, b.daemon_pod(DS, "n1"))))
    out = run_cli("why", "n1", "--snapshot", str(path)).stdout
    assert "TransientTaint" in out and "tolerations:" not in out and "to tolerate it" not in out


def test_empty_node_being_removed_is_not_eligible_and_not_advised():
    rep = explain_node(b.node("n1", taints=[KARPENTER]), [DS], [], [], [], NOW, b.fit_ctx())
    (e,) = rep.entries
    assert e.state == NOT_ELIGIBLE and e.verdict.reasons[0].detail["toleration"] is None


def test_lint_advises_no_toleration_for_a_scale_down_taint():
    nodes = [b.node("n1"), b.node("n2", taints=[KARPENTER]), b.node("n3", taints=[CA]),
             b.node("n4", taints=[b.taint("dedicated", "infra")])]
    report = lint([DS], nodes=nodes, rules=rules_for(33))
    ds001 = [f for f in report.findings if f.code == "DS001"]
    assert [f.detail["taint"]["key"] for f in ds001] == ["dedicated"]
    text = json.dumps([f.detail for f in report.findings])
    assert tt.CA_TO_BE_DELETED not in text and tt.KARPENTER_DISRUPTED not in text
