"""`why NODE` details only the DaemonSets that need attention and sums up the others, one line per
group; `-o wide` and JSON keep every DaemonSet. `diff NAME`'s headline names outdated and unready
pods when the node set matches."""

from __future__ import annotations

import json

import pytest

from kubectl_ds.core import taints as tt
from kubectl_ds.core.node_report import ATTENTION, EXPECTED, FINE, UNSELECTED, explain_node, group
from tests import builders as b
from tests.unit.test_transient_taints import NOW


def _cluster():
    """Node n1 (tainted dedicated=infra), and 40 DaemonSets: 30 for another pool, 7 running fine,
    one Pending (unbound), one missing, one kept off by the taint (it could tolerate it)."""
    node = b.node("n1", labels={"pool": "a"}, taints=[b.taint("dedicated", "infra")])
    tol = [b.toleration("dedicated", operator="Exists")]
    other = [b.daemonset(f"pool-b-{i:02}", "agents", node_selector={"pool": "b"}, tolerations=tol)
             for i in range(30)]
    fine = [b.daemonset(f"fine-{i}", "ops", tolerations=tol) for i in range(7)]
    pending = b.daemonset("pending", "ops", tolerations=tol)
    missing = b.daemonset("missing", "ops", tolerations=tol)
    tainted = b.daemonset("untolerated", "ops")
    pods = [b.daemon_pod(d, "n1") for d in fine] + [b.daemon_pod(pending, "n1", bound=False, phase="Pending")]
    return node, other + fine + [pending, missing, tainted], pods


def test_groups():
    node, daemonsets, pods = _cluster()
    rep = explain_node(node, daemonsets, pods, [], [], NOW, b.fit_ctx())
    got = {}
    for e in rep.entries:
        got.setdefault(group(e), []).append(e.name)
    assert len(got[UNSELECTED]) == 30 and len(got[FINE]) == 7
    assert sorted(got[ATTENTION]) == ["missing", "pending", "untolerated"]
    assert EXPECTED not in got


def test_a_taint_the_daemonset_could_tolerate_needs_attention_a_transient_one_does_not():
    ds = b.daemonset("agent", "ops")
    rep = explain_node(b.node("n2", taints=[b.taint("nvidia.com/gpu", "present")]), [ds], [], [], [], NOW,
                       b.fit_ctx())
    assert group(rep.entries[0]) == ATTENTION
    rep = explain_node(b.node("n3", taints=[b.taint(tt.CA_TO_BE_DELETED, "1")]), [ds], [b.daemon_pod(ds, "n3")],
                       [], [], NOW, b.fit_ctx())
    assert rep.entries[0].state == "Misscheduled" and group(rep.entries[0]) == EXPECTED
    # a pod no longer selected on a node being removed is evicted for its selector: attention
    pinned = b.daemonset("pinned", "ops", node_selector={"pool": "b"})
    rep = explain_node(b.node("n3", taints=[b.taint(tt.CA_TO_BE_DELETED, "1")]), [pinned],
                       [b.daemon_pod(pinned, "n3")], [], [], NOW, b.fit_ctx())
    assert rep.entries[0].state == "Evicting" and group(rep.entries[0]) == ATTENTION


def _snap(tmp_path, *objs):
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(b.dump(*objs)))
    return ("--snapshot", str(path))


def test_why_text_details_only_what_needs_attention(run_cli, tmp_path):
    node, daemonsets, pods = _cluster()
    snap = _snap(tmp_path, node, *daemonsets, *pods)
    out = run_cli("why", "n1", *snap).stdout
    rows = [ln.split()[1] for ln in out.splitlines() if ln.startswith("ops ") or ln.startswith("agents ")]
    assert sorted(rows) == ["missing", "pending", "untolerated"]
    assert ("30 DaemonSets not for this node (their own nodeName/nodeSelector/node affinity): "
            "agents/pool-b-00, agents/pool-b-01") in out
    assert "and 22 more" in out
    assert "7 DaemonSets running, current and Ready: ops/fine-0, " in out
    paragraphs = [ln for ln in out.splitlines() if ln.endswith("):") and "/" in ln]
    assert sorted(paragraphs) == ["ops/missing (Missing):", "ops/pending (Pending):", "ops/untolerated (NotEligible):"]
    assert "key: dedicated" in out      # the toleration advice is still there
    wide = run_cli("why", "n1", *snap, "-o", "wide").stdout
    assert sum(1 for ln in wide.splitlines() if ln.startswith(("ops ", "agents "))) == 40
    assert "not for this node (their own" not in wide
    doc = run_cli("why", "n1", *snap, "-o", "json").json()
    assert len(doc["daemonsets"]) == 40


def test_why_with_nothing_wrong_says_so(run_cli, tmp_path):
    ds = b.daemonset("agent", "ops")
    other = b.daemonset("elsewhere", "ops", node_selector={"pool": "b"})
    out = run_cli("why", "n1", *_snap(tmp_path, b.node("n1"), ds, other, b.daemon_pod(ds, "n1"))).stdout
    assert "No DaemonSet needs attention on this node." in out
    assert "1 DaemonSet running, current and Ready: ops/agent" in out
    assert "NAMESPACE" not in out


def test_why_one_daemonset_is_shown_in_full(run_cli, tmp_path):
    other = b.daemonset("elsewhere", "ops", node_selector={"pool": "b"})
    out = run_cli("why", "n1", "-d", "elsewhere", *_snap(tmp_path, b.node("n1"), other)).stdout
    assert "ops/elsewhere (NotEligible):" in out and "NodeSelector: node has no label pool" in out


@pytest.mark.parametrize("pods, headline, settled", [
    (lambda ds: [b.daemon_pod(ds, "n1", hash="new"), b.daemon_pod(ds, "n2", hash="new")], "InSync —", True),
    (lambda ds: [b.daemon_pod(ds, "n1", hash="old", generation=1), b.daemon_pod(ds, "n2", hash="new", ready=False)],
     "InSync (nodes) — 1 outdated, 1 unready; 2 desired", False),
    (lambda ds: [b.daemon_pod(ds, "n1", hash="old", generation=1)], "Drift — 1 outdated; 2 desired", False),
], ids=["settled", "nodes-match-pods-not", "drift"])
def test_diff_headline_names_outdated_and_unready(run_cli, tmp_path, pods, headline, settled):
    ds = b.daemonset("agent", "ops", generation=2, template_generation=2)
    revs = [b.revision(ds, "old", 1), b.revision(ds, "new", 2)]
    snap = _snap(tmp_path, b.node("n1"), b.node("n2"), ds, *revs, *pods(ds))
    code = 0 if "InSync" in headline else 1
    out = run_cli("diff", "agent", "-n", "ops", *snap, expect=code).stdout
    assert out.startswith(f"DaemonSet ops/agent: {headline}")
    doc = run_cli("diff", "agent", "-n", "ops", *snap, "-o", "json", expect=code).json()
    assert doc["inSync"] is (code == 0) and doc["podsSettled"] is settled
