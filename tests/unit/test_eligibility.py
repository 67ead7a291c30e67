"""evaluate(): the reasons it gives, beyond the two booleans (tests/unit/test_upstream_cases.py)."""

from __future__ import annotations

import pytest

from kubectl_ds.core.eligibility import evaluate
from tests.builders import affinity_terms, daemonset, expr, node, taint, term, toleration


def reasons(verdict):
    return [(r.type, r.detail) for r in verdict.reasons]


def test_missing_label_names_the_key_and_wanted_value():
    v = evaluate(node("n1"), daemonset("ds", node_selector={"disktype": "ssd"}))
    assert (v.should_run, v.should_continue_running) == (False, False)
    [(kind, detail)] = reasons(v)
    assert kind == "NodeSelector" and detail == {"key": "disktype", "want": "ssd", "nodeValue": None}
    assert "node has no label disktype" in v.reasons[0].message


def test_wrong_label_value_is_reported_with_the_nodes_value():
    v = evaluate(node("n1", labels={"disktype": "hdd"}), daemonset("ds", node_selector={"disktype": "ssd"}))
    assert v.reasons[0].detail["nodeValue"] == "hdd"
    assert "disktype=hdd" in v.reasons[0].message


def test_untolerated_noschedule_taint_suggests_an_equal_toleration():
    v = evaluate(node("n1", taints=[taint("dedicated", "gpu")]), daemonset("ds"))
    assert (v.should_run, v.should_continue_running) == (False, True)
    [(kind, detail)] = reasons(v)
    assert kind == "Taint" and detail["evicts"] is False
    assert detail["toleration"] == {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
    assert "dedicated=gpu:NoSchedule" in v.reasons[0].message


def test_valueless_noexecute_taint_suggests_exists_and_says_it_evicts():
    v = evaluate(node("n1", taints=[taint("maintenance", effect="NoExecute")]), daemonset("ds"))
    assert (v.should_run, v.should_continue_running) == (False, False)
    detail = v.reasons[0].detail
    assert detail["evicts"] is True
    assert detail["toleration"] == {"key": "maintenance", "operator": "Exists", "effect": "NoExecute"}
    assert "evicted" in v.reasons[0].message


def test_suggested_toleration_really_fixes_the_verdict():
    n = node("n1", taints=[taint("a", "1"), taint("b", effect="NoExecute")])
    first = evaluate(n, daemonset("ds"))
    fixed = evaluate(n, daemonset("ds", tolerations=[r.detail["toleration"] for r in first.reasons]))
    assert (fixed.should_run, fixed.should_continue_running, fixed.reasons) == (True, True, ())


def test_every_failing_predicate_is_listed_not_only_the_first():
    ds = daemonset("ds", node_selector={"zone": "a"}, node_name="other",
                   affinity=affinity_terms(term(expr("arch", "In", "arm64"))))
    v = evaluate(node("n1", taints=[taint("x")]), ds)
    assert [r.type for r in v.reasons] == ["NodeName", "NodeSelector", "NodeAffinity", "Taint"]
    assert v.should_continue_running is False


def test_affinity_reason_describes_each_term_and_failing_expression():
    ds = daemonset("ds", affinity=affinity_terms(term(expr("zone", "In", "a", "b")),
                                                 term(expr("gen", "Gt", "3"), expr("arch", "Exists"))))
    v = evaluate(node("n1", labels={"zone": "c", "gen": "2"}), ds)
    msg = v.reasons[0].message
    assert "term 1: zone In [a, b] (node has zone=c)" in msg
    assert "gen Gt 3 (node has gen=2)" in msg and "arch Exists (node has no such label)" in msg


def test_match_fields_failure_names_the_node():
    ds = daemonset("ds", affinity=affinity_terms(term(fields=[expr("metadata.name", "In", "n2")])))
    v = evaluate(node("n1"), ds)
    assert "field metadata.name In [n2] (node name is n1)" in v.reasons[0].message


def test_invalid_and_empty_terms_are_called_out():
    ds = daemonset("ds", affinity=affinity_terms({}, term(expr("k", "Foo", "v"))))
    v = evaluate(node("n1", labels={"k": "v"}), ds)
    assert "term 1 is empty" in v.reasons[0].message and "term 2 is invalid" in v.reasons[0].message


@pytest.mark.parametrize("tols,expected", [
    ([toleration("maintenance", "Exists", effect="NoExecute", seconds=60)], 60),
    ([toleration("maintenance", "Exists", effect="NoExecute", seconds=60),
      toleration("maintenance", "Exists", effect="NoExecute", seconds=300)], 300),
    ([toleration("maintenance", "Exists", effect="NoExecute")], None),
], ids=["finite", "largest-wins", "forever"])
def test_toleration_seconds_is_a_note_not_a_block(tols, expected):
    v = evaluate(node("n1", taints=[taint("maintenance", effect="NoExecute")]), daemonset("ds", tolerations=tols))
    assert (v.should_run, v.should_continue_running) == (True, True)
    notes = [n for n in v.notes if n.type == "TolerationSeconds"]
    assert [n.detail["seconds"] for n in notes] == ([expected] if expected else [])


def test_injected_not_ready_toleration_replaces_a_finite_user_one():
    # same key/operator/effect as the controller's: the infinite default replaces it (no loop note)
    tol = toleration("node.kubernetes.io/not-ready", "Exists", effect="NoExecute", seconds=30)
    v = evaluate(node("n1", taints=[taint("node.kubernetes.io/not-ready", effect="NoExecute")]),
                 daemonset("ds", tolerations=[tol]))
    assert v.should_run and not [n for n in v.notes if n.type == "TolerationSeconds"]


def test_cordoned_node_runs_daemon_pods_with_a_note():
    n = node("n1", unschedulable=True, taints=[taint("node.kubernetes.io/unschedulable")])
    v = evaluate(n, daemonset("ds"))
    assert v.should_run and [x.type for x in v.notes] == ["Cordoned"]


def test_prefer_no_schedule_never_blocks():
    v = evaluate(node("n1", taints=[taint("soft", effect="PreferNoSchedule")]), daemonset("ds"))
    assert (v.should_run, v.should_continue_running, v.reasons) == (True, True, ())


# --- no toleration advice where tolerating would change nothing (placement fails anyway) --------

@pytest.mark.parametrize("ds", [
    daemonset("ds", node_selector={"zone": "a"}),
    daemonset("ds", node_name="other"),
    daemonset("ds", affinity=affinity_terms(term(expr("arch", "In", "arm64")))),
], ids=["nodeSelector", "nodeName", "affinity"])
def test_taint_on_an_unselected_node_is_reported_without_a_toleration(ds):
    v = evaluate(node("n1", taints=[taint("dedicated", "gpu"), taint("maintenance", effect="NoExecute")]), ds)
    assert [r.type for r in v.reasons][-2:] == ["Taint", "Taint"]
    unselected = v.reasons[0].type
    for r in v.reasons[-2:]:
        assert r.detail["toleration"] is None
        assert "no toleration suggested" in r.message and f"fails the {unselected} check" in r.message
    assert [r.detail["evicts"] for r in v.reasons[-2:]] == [False, True]
    assert (v.should_run, v.should_continue_running) == (False, False)


def test_finite_toleration_seconds_on_an_unselected_node_gives_no_loop_note():
    tol = toleration("maintenance", "Exists", effect="NoExecute", seconds=60)
    n = node("n1", taints=[taint("maintenance", effect="NoExecute")])
    assert [x.type for x in evaluate(n, daemonset("ds", tolerations=[tol])).notes] == ["TolerationSeconds"]
    v = evaluate(n, daemonset("ds", tolerations=[tol], node_selector={"zone": "a"}))
    assert v.notes == () and not v.should_run


def test_cordon_note_only_where_the_daemonset_runs():
    n = node("n1", unschedulable=True, taints=[taint("node.kubernetes.io/unschedulable")])
    assert evaluate(n, daemonset("ds", node_selector={"zone": "a"})).notes == ()
    blocked = node("n1", unschedulable=True, taints=[taint("node.kubernetes.io/unschedulable"), taint("x")])
    assert evaluate(blocked, daemonset("ds")).notes == ()


def test_loop_note_when_another_taint_still_blocks_says_so():
    tol = toleration("maintenance", "Exists", effect="NoExecute", seconds=60)
    n = node("n1", taints=[taint("maintenance", effect="NoExecute"), taint("dedicated", "gpu")])
    v = evaluate(n, daemonset("ds", tolerations=[tol]))
    assert not v.should_run and v.reasons[0].detail["toleration"] is not None
    [note] = v.notes
    assert "once the untolerated taints are tolerated too" in note.message
    running = evaluate(node("n1", taints=[taint("maintenance", effect="NoExecute")]),
                       daemonset("ds", tolerations=[tol]))
    assert "the pod is evicted then" in running.notes[0].message and "in a loop" in running.notes[0].message
