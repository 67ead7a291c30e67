"""`why` and `diff` through the real CLI and the real --snapshot source, on the bundled example."""

from __future__ import annotations

import json

import pytest

from tests import make_example
from tests.conftest import EXAMPLE

S = ("--snapshot", EXAMPLE)


def test_bundled_example_is_what_the_generator_makes():
    with open(EXAMPLE) as fh:
        assert fh.read() == make_example.text(), "run: python -m tests.make_example > examples/snapshot.json"


@pytest.mark.parametrize("node", ["cp-1", "worker-1", "worker-4", "worker-5", "gpu-1"])
@pytest.mark.parametrize("fmt", ["table", "wide", "json", "yaml"])
def test_why_golden(run_cli, golden, node, fmt):
    res = run_cli("why", node, *S, "-o", fmt)
    golden(f"example.why-{node}.{fmt}", res.stdout)


@pytest.mark.parametrize("args,code,name", [
    (("diff", "log-agent", "-n", "logging"), 0, "diff-log-agent"),   # worker-4 unreachable: transient
    (("diff", "net-agent", "-n", "kube-system"), 0, "diff-net-agent"),
    (("diff", "-A"), 0, "diff-all"),
])
@pytest.mark.parametrize("fmt", ["table", "wide", "json", "yaml"])
def test_diff_golden(run_cli, golden, args, code, name, fmt):
    res = run_cli(*args, *S, "-o", fmt, expect=code)
    golden(f"example.{name}.{fmt}", res.stdout)


def test_why_json_contract(run_cli):
    doc = run_cli("why", "cp-1", *S, "-d", "log-agent", "-n", "logging", "-o", "json").json()
    assert doc["node"] == "cp-1"
    [entry] = doc["daemonsets"]
    assert (entry["namespace"], entry["name"], entry["shouldRun"], entry["shouldContinueRunning"]) == \
        ("logging", "log-agent", False, True)
    assert entry["pod"] is None
    [reason] = entry["reasons"]
    assert reason["type"] == "Taint"
    assert reason["toleration"] == {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                    "effect": "NoSchedule"}


def test_why_pending_pod_reports_scheduler_and_own_resource_check(run_cli):
    doc = run_cli("why", "worker-5", *S, "-d", "log-agent", "-A", "-o", "json").json()
    pod = doc["daemonsets"][0]["pod"]
    types = [p["type"] for p in pod["problems"]]
    assert pod["phase"] == "Pending" and types == ["FailedScheduling", "InsufficientResource"]
    assert "Insufficient cpu" in pod["problems"][0]["message"]
    assert pod["problems"][1]["requested"] == "200m" and pod["problems"][1]["free"] == "0"


def test_why_image_pull_backoff_and_outdated(run_cli):
    doc = run_cli("why", "worker-1", *S, "-d", "net-agent", "-n", "kube-system", "-o", "json").json()
    entry = doc["daemonsets"][0]
    assert entry["state"] == "Unhealthy"
    assert [p["type"] for p in entry["pod"]["problems"]] == ["ImagePull"]
    other = run_cli("why", "worker-2", *S, "-d", "net-agent", "-n", "kube-system", "-o", "json").json()
    assert other["daemonsets"][0]["state"] == "Outdated"


def test_diff_json_contract(run_cli):
    doc = run_cli("diff", "log-agent", "-n", "logging", *S, "-o", "json").json()
    assert doc["desired"] == ["worker-1", "worker-2", "worker-3", "worker-5"]
    assert doc["actual"] == ["worker-1", "worker-2", "worker-3", "worker-4", "worker-5"]
    # worker-4 is unreachable: its kept pod is misscheduled for the controller, transient for diff
    assert (doc["missing"], doc["misscheduled"], doc["duplicates"]) == ([], [], [])
    assert doc["transient"] == [{"node": "worker-4", "problem": "Misscheduled",
                                 "taints": ["node.kubernetes.io/unreachable:NoSchedule"],
                                 "kinds": ["NodeLifecycle"],
                                 "meaning": "the node is unreachable; lifted when it recovers"}]
    assert doc["inSync"] is True and doc["podsSettled"] is False
    assert doc["status"]["computed"]["numberMisscheduled"] == 1
    assert doc["evicting"] == [] and doc["unready"] == ["worker-5"]
    assert doc["status"]["computed"] == {k: v for k, v in doc["status"]["reported"].items()}


def test_diff_typo_selector_has_no_desired_nodes(run_cli):
    doc = run_cli("diff", "node-exporter", "-n", "monitoring", *S, "-o", "json").json()
    assert doc["desired"] == [] and doc["inSync"] is True


def test_diff_all_namespaces_finds_a_unique_name(run_cli):
    doc = run_cli("diff", "gpu-device-plugin", "-A", *S, "-o", "json").json()
    assert doc["namespace"] == "kube-system" and doc["desired"] == ["gpu-1"]


def test_options_after_and_before_the_subcommand(run_cli):
    a = run_cli("why", "cp-1", *S, "-o", "json").stdout
    b = run_cli(*S, "-o", "json", "why", "cp-1").stdout
    assert a == b


def test_selector_filters_daemonsets(run_cli):
    doc = run_cli("why", "gpu-1", *S, "-l", "app in (gpu-device-plugin,log-agent)", "-o", "json").json()
    assert [d["name"] for d in doc["daemonsets"]] == ["gpu-device-plugin", "log-agent"]


# --- errors: one line on stderr, exit 2, never a traceback -----------------------------------

@pytest.mark.parametrize("args,message", [
    (("why", "nope", *S), 'error: node "nope" not found'),
    (("diff", "nope", "-n", "logging", *S), 'error: daemonset "nope" not found in namespace \'logging\''),
    (("diff", "nope", "-A", *S), 'error: daemonset "nope" not found in any namespace'),
    (("why", "cp-1", *S, "-o", "xml"), 'error: unknown output format "xml"'),
    (("why", "cp-1", *S, "-n", "a", "-A"), "error: -n/--namespace and -A/--all-namespaces cannot be used together"),
    (("why", "cp-1", *S, "-l", "a in b"), "error: invalid label selector"),
    (("why", "cp-1", "--snapshot", "/nonexistent/dump.json"), "error: cannot read snapshot /nonexistent/dump.json"),
    (("why",), "error: Missing argument 'NODE'"),
    (("frobnicate",), "error: No such command 'frobnicate'"),
])
def test_errors(run_cli, args, message):
    res = run_cli(*args, expect=2)
    assert res.stderr.startswith(message), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("content,message", [
    ("{not json", "not JSON"),
    ('{"kind": "List"}', "expected a List with items"),
    ('{"items": [42]}', "item 0 is not a Kubernetes object"),
    ("- a\n- b\n", "expected a List with items"),
], ids=["garbage", "no-items", "bad-item", "yaml-list"])
def test_malformed_snapshot(run_cli, tmp_path, content, message):
    path = tmp_path / "dump.json"
    path.write_text(content)
    res = run_cli("why", "n1", "--snapshot", str(path), expect=2)
    assert res.stderr.startswith(f"error: malformed snapshot {path}") and message in res.stderr


def test_yaml_snapshot_is_accepted(run_cli, tmp_path):
    import yaml
    path = tmp_path / "dump.yaml"
    path.write_text(yaml.safe_dump(json.load(open(EXAMPLE))))
    assert run_cli("why", "cp-1", "--snapshot", str(path), "-o", "json").json()["node"] == "cp-1"


def test_no_daemonsets_goes_to_stderr(run_cli):
    res = run_cli("diff", "-n", "empty", *S)
    assert res.stdout == "" and res.stderr == "No DaemonSets found in namespace empty.\n"


def test_version_and_help(run_cli):
    from kubectl_ds import __version__
    assert run_cli("--version").stdout.strip() == f"kubectl-ds {__version__}"
    assert "Examples:" in run_cli("why", "--help").stdout
    assert "Examples:" in run_cli("diff", "--help").stdout


# --- small dumps built for one question each --------------------------------------------------

def _snapshot(tmp_path, *groups):
    from tests.builders import dump
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(dump(*groups)))
    return ("--snapshot", str(path))


def test_why_taint_on_an_unselected_node_gives_no_toleration_advice(run_cli, tmp_path):
    from tests.builders import daemonset, node, taint, toleration
    tainted = node("n1", taints=[taint("dedicated", "infra"),
                                 taint("maintenance", effect="NoExecute")])
    picky = daemonset("picky", "ops", node_selector={"zone": "a"},
                      tolerations=[toleration("maintenance", "Exists", effect="NoExecute", seconds=60)])
    plain = daemonset("plain", "ops", tolerations=[toleration("maintenance", "Exists", effect="NoExecute",
                                                              seconds=60)])
    snap = _snapshot(tmp_path, tainted, picky, plain)
    text = run_cli("why", "n1", *snap, "-o", "wide").stdout
    picky_part, plain_part = text.split("ops/picky (NotEligible):")[1].split("ops/plain (NotEligible):")
    assert "Taint: node has taint dedicated=infra:NoSchedule, not tolerated (no toleration suggested" in picky_part
    assert "to tolerate it" not in picky_part and "in a loop" not in picky_part
    assert "to tolerate it, add to spec.template.spec:" in plain_part and "- key: dedicated" in plain_part
    assert "in a loop" in plain_part  # tolerating dedicated would make it run: the 60s note matters there
    doc = run_cli("why", "n1", *snap, "-o", "json").json()
    by_name = {d["name"]: d for d in doc["daemonsets"]}
    [taint_reason] = [r for r in by_name["picky"]["reasons"] if r["type"] == "Taint"]
    assert taint_reason["toleration"] is None and taint_reason["taint"]["key"] == "dedicated"
    assert by_name["picky"]["notes"] == []
    [plain_taint] = [r for r in by_name["plain"]["reasons"] if r["type"] == "Taint"]
    assert plain_taint["toleration"] == {"key": "dedicated", "operator": "Equal", "value": "infra",
                                         "effect": "NoSchedule"}


def _two_namespaces(tmp_path):
    from tests.builders import daemonset, node
    return _snapshot(tmp_path, node("n1"), daemonset("agent", "team-a"), daemonset("agent", "team-b"),
                     daemonset("other", "default"))


def test_why_daemonset_name_is_looked_up_in_every_namespace_by_default(run_cli):
    doc = run_cli("why", "cp-1", *S, "-d", "log-agent", "-o", "json").json()
    assert [(d["namespace"], d["name"]) for d in doc["daemonsets"]] == [("logging", "log-agent")]


def test_why_daemonset_name_in_several_namespaces_gives_one_row_each(run_cli, tmp_path):
    snap = _two_namespaces(tmp_path)
    doc = run_cli("why", "n1", *snap, "-d", "agent", "-o", "json").json()
    assert [(d["namespace"], d["name"]) for d in doc["daemonsets"]] == [("team-a", "agent"), ("team-b", "agent")]
    assert run_cli("why", "n1", *snap, "-d", "agent", "-A", "-o", "json").json() == doc
    only = run_cli("why", "n1", *snap, "-d", "agent", "-n", "team-b", "-o", "json").json()
    assert [(d["namespace"], d["name"]) for d in only["daemonsets"]] == [("team-b", "agent")]


@pytest.mark.parametrize("extra,message", [
    ((), 'error: daemonset "nope" not found in any namespace'),
    (("-A",), 'error: daemonset "nope" not found in any namespace'),
    (("-n", "logging"), 'error: daemonset "nope" not found in namespace \'logging\''),
])
def test_why_unknown_daemonset_says_where_it_looked(run_cli, extra, message):
    res = run_cli("why", "cp-1", *S, "-d", "nope", *extra, expect=2)
    assert res.stderr.strip() == message and res.stdout == ""


def test_diff_unready_detail_says_what_the_pod_is_doing(run_cli):
    # worker-5's pod is Pending and unscheduled: say so (with the scheduler's condition message),
    # not "not Ready"
    out = run_cli("diff", "log-agent", "-n", "logging", *S).stdout
    assert "worker-5  Unready    pod log-agent-x7k2p is Pending, not scheduled: 0/1 nodes are available" in out
    doc = run_cli("diff", "log-agent", "-n", "logging", *S, "-o", "json").json()
    assert doc["unreadyDetail"] == {
        "worker-5": "pod log-agent-x7k2p is Pending, not scheduled: 0/1 nodes are available"}


@pytest.mark.parametrize("status,shown", [
    # the API omits a zero numberUnavailable (omitempty): the status is there, so it reads 0
    ({"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 0, "numberReady": 1,
      "numberAvailable": 1, "updatedNumberScheduled": 1, "observedGeneration": 1}, "0"),
    ({"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 0, "numberReady": 1,
      "numberAvailable": 1, "updatedNumberScheduled": 1, "observedGeneration": 1, "numberUnavailable": 0}, "0"),
    # the controller has not written a status for this generation yet: unknown
    ({}, "-"),
], ids=["omitted", "explicit", "never-written"])
def test_diff_status_row_reads_an_omitted_unavailable_as_zero(run_cli, tmp_path, status, shown):
    from tests.builders import daemon_pod, daemonset, node
    ds = daemonset("agent", "ops", status=status)
    snap = _snapshot(tmp_path, node("n1"), ds, daemon_pod(ds, "n1"))
    out = run_cli("diff", "agent", "-n", "ops", *snap).stdout
    row = next(line for line in out.splitlines() if line.startswith("in .status"))
    assert row.split()[-1] == shown
    doc = run_cli("diff", "agent", "-n", "ops", *snap, "-o", "json").json()
    assert doc["status"]["reported"]["numberUnavailable"] == (0 if shown == "0" else None)


@pytest.mark.parametrize("content,message", [
    (b'{"items": ["a\x01b"]}', "not JSON (Invalid control character at line 1 column 14) nor YAML"),
    (b'{"items": [', "not JSON (Expecting value at line 1 column 12) nor YAML"),
    (b'{"a": "b', "not JSON (Unterminated string starting at line 1 column 7) nor YAML"),
    (b'{\x80\x81: [', "not JSON ("),
], ids=["control-char", "truncated", "unterminated", "not-utf8"])
def test_malformed_snapshot_message_reads_well(run_cli, tmp_path, content, message):
    path = tmp_path / "dump.json"
    path.write_bytes(content)
    res = run_cli("why", "n1", "--snapshot", str(path), expect=2)
    assert res.stderr.startswith(f"error: malformed snapshot {path}: {message}"), res.stderr
    assert " at at " not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_why_names_the_failed_create_behind_a_missing_pod():
    """No pod, because the controller cannot create it (a quota): the DaemonSet's Warning event is
    the reason, in REASON and as a cause line, not a note."""
    from datetime import datetime, timezone

    from kubectl_ds.core.node_report import explain_node
    from kubectl_ds.render.why import why_document, why_text
    from tests import builders as b
    ds = b.daemonset("agent", "quota")
    ev = b.event(ds, "FailedCreate", 'Error creating: pods "agent-x" is forbidden: exceeded quota: pods')
    report = explain_node(b.node("n1"), [ds], [], [ev], [], datetime(2026, 11, 1, 10, 30, tzinfo=timezone.utc), b.V133)
    text = why_text(report, False, False)
    row = next(line for line in text.splitlines() if line.startswith("quota "))
    assert row.split()[-1] == "FailedCreate", row
    assert '  - FailedCreate: Error creating: pods "agent-x" is forbidden: exceeded quota: pods' in text
    assert "note: Error creating" not in text
    # without such an event, the hint stays a note and REASON stays empty
    quiet = why_text(explain_node(b.node("n1"), [ds], [], [], [], datetime(2026, 11, 1, 12, tzinfo=timezone.utc),
                                  b.V133),
                     False, False)
    assert next(line for line in quiet.splitlines() if line.startswith("quota ")).split()[-1] == "-"
    assert "note: the controller should create a pod here" in quiet
    assert why_document(report)["daemonsets"][0]["notes"]    # the JSON contract is unchanged


def test_why_missing_pod_events_older_than_an_hour_are_history():
    """The DaemonSet's Warning events explain a missing pod for an hour after they were last seen
    (as diff and rollout take FailedCreate): the same event repeated is one line, the newest last."""
    from datetime import datetime, timezone

    from kubectl_ds.core.node_report import explain_node
    from tests import builders as b
    ds = b.daemonset("agent", "quota")
    old = b.event(ds, "FailedCreate", "exceeded quota: pods", when="2026-11-01T08:00:00Z")
    again = b.event(ds, "FailedCreate", "denied by webhook", when="2026-11-01T10:00:00Z")
    newer = b.event(ds, "FailedCreate", "exceeded quota: cpu", when="2026-11-01T10:20:00Z")
    dup = dict(again, metadata=dict(again["metadata"], name="agent.second"), lastTimestamp="2026-11-01T10:25:00Z")
    now = datetime(2026, 11, 1, 10, 30, tzinfo=timezone.utc)

    def hints(*events):
        entry = explain_node(b.node("n1"), [ds], [], list(events), [], now, b.V133).entries[0]
        return [(h.type, h.message) for h in entry.hints]
    assert hints(old) == [("NotCreatedYet", hints()[0][1])]
    assert hints(old, again, newer, dup) == [("FailedCreate", "exceeded quota: cpu"),
                                             ("FailedCreate", "denied by webhook")]


def test_diff_says_why_missing_nodes_have_no_pod(run_cli, tmp_path):
    """A pods quota: the controller's FailedCreate event on the DaemonSet is the only trace."""
    from tests import builders as b
    ds = b.daemonset("agent", "quota", status={"desiredNumberScheduled": 2, "observedGeneration": 1})
    recent = b.event(ds, "FailedCreate", 'Error creating: pods "agent-x" is forbidden: exceeded quota: pods',
                     when="2026-11-21T11:50:00Z")
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(b.dump([b.node("n1"), b.node("n2")], ds, recent)))
    out = run_cli("diff", "agent", "-n", "quota", "--snapshot", str(path), expect=1).stdout
    assert 'n1    Missing  should run here, has no daemon pod: the controller cannot create it: Error creating: ' \
           'pods "agent-x" is forbidden: exceeded quota: pods' in out
    doc = run_cli("diff", "-A", "--snapshot", str(path), "-o", "json", expect=1).json()
    assert doc["items"][0]["failedCreate"].endswith("exceeded quota: pods")
    # an event last seen a day before the dump was taken explains nothing (the dump's newest
    # timestamp, the event's creation, says when that was)
    recent["lastTimestamp"] = recent["firstTimestamp"] = "2026-11-20T11:50:00Z"
    path.write_text(json.dumps(b.dump([b.node("n1"), b.node("n2")], ds, recent)))
    doc = run_cli("diff", "agent", "-n", "quota", "--snapshot", str(path), "-o", "json", expect=1).json()
    assert doc["failedCreate"] is None


def test_a_dump_is_judged_as_of_when_it_was_taken(run_cli, tmp_path):
    """A dump read weeks later: its own newest timestamp is "now", so a FailedCreate seen minutes
    before the dump still explains the missing pods (against the clock it is weeks old)."""
    from datetime import datetime, timezone

    from kubectl_ds.env import Env
    from tests import builders as b
    weeks_later = Env(clock=lambda: datetime(2026, 12, 1, tzinfo=timezone.utc), color=False)
    ds = b.daemonset("agent", "quota", status={"desiredNumberScheduled": 2, "observedGeneration": 1})
    ev = b.event(ds, "FailedCreate", "exceeded quota: pods", when="2026-11-02T09:55:00Z")
    n1, n2 = b.node("n1"), b.node("n2")
    n2["status"]["conditions"][-1]["lastHeartbeatTime"] = "2026-11-02T10:00:00Z"   # the newest stamp
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(b.dump([n1, n2], ds, ev)))
    doc = run_cli("diff", "agent", "-n", "quota", "--snapshot", str(path), "-o", "json", expect=1,
                  env=weeks_later).json()
    assert doc["failedCreate"] == "exceeded quota: pods"
    why = run_cli("why", "n1", "--snapshot", str(path), "-o", "json", env=weeks_later).json()["daemonsets"][0]
    assert [r["type"] for r in why["reasons"] + why.get("notes", [])].count("FailedCreate") == 1, why
    # a later heartbeat in the same dump: the event is then two hours old
    n1["status"]["conditions"][-1]["lastHeartbeatTime"] = "2026-11-02T12:00:00Z"
    path.write_text(json.dumps(b.dump([n1, n2], ds, ev)))
    doc = run_cli("diff", "agent", "-n", "quota", "--snapshot", str(path), "-o", "json", expect=1,
                  env=weeks_later).json()
    assert doc["failedCreate"] is None
    # a heartbeat from a node whose clock runs a year ahead is not the time of the dump
    n1["status"]["conditions"][-1]["lastHeartbeatTime"] = "2027-11-02T12:00:00Z"
    path.write_text(json.dumps(b.dump([n1, n2], ds, ev)))
    doc = run_cli("diff", "agent", "-n", "quota", "--snapshot", str(path), "-o", "json", expect=1,
                  env=weeks_later).json()
    assert doc["failedCreate"] == "exceeded quota: pods"
