"""Preemption for a daemon pod Pending on its node (core/preemption.py), judged by the rules of
the scheduler's DefaultPreemption plugin as docs/semantics.md §6.4 words them: only pods of
strictly lower priority are victims; none if the pod would not fit without all of them; the most
important (higher priority, then longest running) are spared first, one by one, while the pod
still fits; preemptionPolicy Never preempts nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kubectl_ds.core import preemption as pre
from kubectl_ds.core.node_report import PENDING, RUNNING, explain_node
from tests import builders as b

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)
CTX = b.fit_ctx(37)


def _pod(name, cpu, priority=None, cls="", started="2026-11-01T10:00:00Z", ports=None, phase="Running"):
    p = b.plain_pod(name, "n1", "apps", requests={"cpu": cpu}, ports=ports, phase=phase)
    if priority is not None:
        p["spec"]["priority"] = priority
    if cls:
        p["spec"]["priorityClassName"] = cls
    p["status"]["startTime"] = started
    return p


def _daemon(cpu="500m", priority=None, cls="", policy=None, ports=None):
    ds = b.daemonset("agent", "ops", containers=[b.container(requests={"cpu": cpu}, ports=ports)])
    pod = b.daemon_pod(ds, "n1", bound=False, phase="Pending")
    if priority is not None:
        pod["spec"]["priority"] = priority
    if cls:
        pod["spec"]["priorityClassName"] = cls
    if policy:
        pod["spec"]["preemptionPolicy"] = policy
    return ds, pod


NODE = b.node("n1", cpu="1")


def test_no_class_means_priority_0_and_an_equal_pod_is_no_victim():
    _, pod = _daemon()
    filler = _pod("filler", "800m")
    got = pre.analyse(pod, NODE, [filler], CTX, NOW)
    assert (got.priority, got.priority_class, got.policy) == (0, "", pre.PREEMPT_LOWER)
    assert not got.outcome.possible and got.outcome.code == "NoLowerPriorityPods"
    # what system-node-critical would do: preempt the filler
    assert got.with_critical.possible and [v.name for v in got.with_critical.victims] == ["filler"]
    assert "system-node-critical" in got.advice and "apps/filler" in got.advice
    assert "no priorityClassName" in got.summary()


def test_strictly_lower_priority_only():
    _, pod = _daemon(priority=1000, cls="agents")
    got = pre.analyse(pod, NODE, [_pod("peer", "800m", priority=1000, cls="agents")], CTX, NOW)
    assert not got.outcome.possible and got.outcome.code == "NoLowerPriorityPods"
    got = pre.analyse(pod, NODE, [_pod("peer", "800m", priority=999)], CTX, NOW)
    assert got.outcome.possible and [v.name for v in got.outcome.victims] == ["peer"]
    assert "can preempt apps/peer (priority 999)" in got.summary() and got.advice == ""


def test_the_more_important_victims_are_spared():
    # 900m used; the pod needs 400m: one 300m pod must go. The priority-500 one is more important
    # than the priority-0 one, so it is put back first and spared
    _, pod = _daemon("400m", priority=1000, cls="agents")
    others = [_pod("low", "300m", priority=0), _pod("mid", "300m", priority=500), _pod("high", "300m", priority=2000)]
    got = pre.analyse(pod, NODE, others, CTX, NOW)
    assert [v.name for v in got.outcome.victims] == ["low"]


def test_equal_priority_the_longest_running_is_spared_first():
    # 900m used, the pod needs 400m: one of "a" and "b" (equal priority, 300m each) must go; the
    # one started first is more important, put back first and spared ("c" outranks the pod)
    _, pod = _daemon("400m", priority=10, cls="agents")
    c = _pod("c", "300m", priority=100)

    def victims(a_start, b_start):
        a = _pod("a", "300m", priority=0, started=a_start)
        b_ = _pod("b", "300m", priority=0, started=b_start)
        return [v.name for v in pre.analyse(pod, NODE, [a, b_, c], CTX, NOW).outcome.victims]
    assert victims("2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z") == ["b"]
    assert victims("2026-11-01T09:00:00Z", "2026-11-01T08:00:00Z") == ["a"]


def test_spared_in_order_even_when_a_bigger_victim_would_do():
    # "old" (200m) is put back first and fits, so "big" (700m) goes: not the fewest bytes, the
    # least important
    _, pod = _daemon("500m", priority=10, cls="agents")
    old = _pod("old", "200m", priority=0, started="2026-11-01T08:00:00Z")
    big = _pod("big", "700m", priority=0, started="2026-11-01T09:00:00Z")
    assert [v.name for v in pre.analyse(pod, NODE, [big, old], CTX, NOW).outcome.victims] == ["big"]


def test_all_lower_pods_go_when_each_is_needed():
    _, pod = _daemon("900m", priority=10, cls="agents")
    others = [_pod("a", "300m", priority=0), _pod("b", "300m", priority=1), _pod("c", "300m", priority=2)]
    got = pre.analyse(pod, NODE, others, CTX, NOW)
    # the victims sorted most important first, as the scheduler reports them
    assert [v.name for v in got.outcome.victims] == ["c", "b", "a"]


def test_not_enough_even_without_every_lower_pod():
    _, pod = _daemon("500m", priority=1000, cls="agents")
    others = [_pod("critical", "800m", priority=2000001000, cls="system-node-critical"), _pod("low", "100m", 0)]
    got = pre.analyse(pod, NODE, others, CTX, NOW)
    assert not got.outcome.possible and got.outcome.code == "NotEnoughEvenWithoutThem"
    assert "lower the pod's requests" in got.advice


def test_preemption_policy_never():
    _, pod = _daemon(priority=1000, cls="no-preempt", policy="Never")
    got = pre.analyse(pod, NODE, [_pod("filler", "800m", priority=0)], CTX, NOW)
    assert not got.outcome.possible and got.outcome.code == "PreemptionPolicyNever"
    assert "class no-preempt" in got.outcome.why_not
    assert got.with_critical.possible and "PreemptLowerPriority" in got.advice


def test_finished_pods_are_no_victims_and_take_no_room():
    _, pod = _daemon("500m", priority=10, cls="agents")
    done = _pod("done", "900m", priority=0, phase="Succeeded")
    low = _pod("low", "600m", priority=0)
    got = pre.analyse(pod, NODE, [done, low], CTX, NOW)
    assert [v.name for v in got.outcome.victims] == ["low"]


def test_a_host_port_is_freed_by_preemption():
    port = [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}]
    _, pod = _daemon("100m", priority=10, cls="agents", ports=port)
    holder = _pod("holder", "100m", priority=0, ports=port)
    got = pre.analyse(pod, NODE, [holder, _pod("bystander", "100m", priority=0)], CTX, NOW)
    assert [v.name for v in got.outcome.victims] == ["holder"]


@pytest.mark.parametrize("priority, expected", [(None, 0), (7, 7), (True, 0), ("5", 0)])
def test_pod_priority(priority, expected):
    p = b.plain_pod("p", "n1")
    if priority is not None:
        p["spec"]["priority"] = priority
    assert pre.pod_priority(p) == expected


def test_why_entry_carries_the_preemption_of_a_pending_pod_only():
    ds, pod = _daemon("500m")
    running = b.daemonset("other", "ops")
    rep = explain_node(NODE, [ds, running], [pod, _pod("filler", "800m"), b.daemon_pod(running, "n1")], [], [],
                       NOW, CTX)
    by_name = {e.name: e for e in rep.entries}
    assert by_name["agent"].state == PENDING and by_name["agent"].preemption is not None
    assert by_name["agent"].preemption.outcome.code == "NoLowerPriorityPods"
    assert by_name["other"].state == RUNNING and by_name["other"].preemption is None


def test_why_cli_text_and_json(run_cli, tmp_path):
    import json
    ds, pod = _daemon("500m")
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(b.dump(NODE, ds, pod, _pod("filler", "800m"))))
    out = run_cli("why", "n1", "--snapshot", str(path), "--kube-version", "1.37").stdout
    assert "  - Preemption: priority 0 (no priorityClassName): the scheduler cannot preempt: the one pod on " \
           "the node, apps/filler (priority 0), has priority 0 or higher" in out
    assert "    advice: daemon pods should carry a priority class: with priorityClassName: system-node-critical" in out
    doc = run_cli("why", "n1", "--snapshot", str(path), "-o", "json").json()
    p = doc["daemonsets"][0]["preemption"]
    assert (p["possible"], p["reason"], p["priority"]) == (False, "NoLowerPriorityPods", 0)
    assert [v["name"] for v in p["withSystemNodeCritical"]["victims"]] == ["filler"]


@pytest.mark.parametrize("minor, victim", [(33, "small"), (34, "pod-level"), (37, "pod-level")])
def test_victims_follow_the_minors_fit(minor, victim):
    """The victims are chosen with the fit of the cluster's minor: a neighbour with pod-level
    requests (800m, its containers 100m) weighs 100m on 1.33 and 800m from 1.34, so a different
    pod has to go for the 500m daemon pod on a 900m node."""
    _, pod = _daemon(priority=1000, cls="agents")
    big = _pod("pod-level", "100m", priority=0, started="2026-11-01T09:00:00Z")   # the more important
    big["spec"]["resources"] = {"requests": {"cpu": "800m"}}
    small = _pod("small", "400m", priority=0, started="2026-11-01T11:00:00Z")
    got = pre.analyse(pod, b.node("n1", cpu="900m"), [big, small], b.fit_ctx(minor), NOW)
    assert got.outcome.possible and [v.name for v in got.outcome.victims] == [victim]
