"""When a dump was taken: the snapshot source's newest timestamp, the `now` of --snapshot commands."""

from __future__ import annotations

from datetime import datetime, timezone

from kubectl_ds.core.podstate import is_available
from kubectl_ds.source.snapshot import SnapshotSource
from tests import builders as b


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_empty_dump_has_no_time():
    assert SnapshotSource([]).as_of() is None
    assert SnapshotSource([{"kind": "Node", "metadata": {"name": "n1"}}]).as_of() is None


def test_newest_of_heartbeats_transitions_creations_and_events():
    node = b.node("n1")
    node["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-11-02T10:00:00Z"
    assert SnapshotSource([node]).as_of() == utc(2026, 11, 2, 10)
    pod = b.daemon_pod(b.daemonset("agent", "ns"), "n1", ready_since="2026-11-02T10:05:00Z")
    assert SnapshotSource([node, pod]).as_of() == utc(2026, 11, 2, 10, 5)
    ds = b.daemonset("agent", "ns")
    ds["metadata"]["creationTimestamp"] = "2026-11-02T10:06:00Z"
    assert SnapshotSource([node, pod, ds]).as_of() == utc(2026, 11, 2, 10, 6)
    ev = b.event(ds, "FailedCreate", "x", when="2026-11-01T00:00:00Z")
    ev["eventTime"] = "2026-11-02T10:06:30.123456Z"          # events.k8s.io precision
    assert SnapshotSource([node, pod, ds, ev]).as_of() == utc(2026, 11, 2, 10, 6, 30)
    ev2 = dict(ev, series={"count": 3, "lastObservedTime": "2026-11-02T10:07:00.5Z"})
    assert SnapshotSource([node, pod, ds, ev2]).as_of() == utc(2026, 11, 2, 10, 7)
    # only UTC stamps count (the apiserver writes nothing else): text in another zone is left out
    odd = dict(ev, eventTime="2026-11-02T12:10:00+02:00")
    assert SnapshotSource([node, pod, ds, odd]).as_of() == utc(2026, 11, 2, 10, 6)
    garbage = dict(ev, eventTime=12, lastTimestamp="soon")
    assert SnapshotSource([node, garbage]).as_of() == utc(2026, 11, 2, 10)


def test_a_graceful_deletion_in_the_future_is_not_the_time_of_the_dump():
    pod = b.plain_pod("p1", "n1", "ns")
    pod["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    del pod["status"]["conditions"]
    pod["metadata"]["creationTimestamp"] = "2026-11-02T09:00:00Z"
    assert SnapshotSource([pod]).as_of() == utc(2026, 11, 2, 9)


def test_min_ready_seconds_is_judged_as_of_the_dump():
    """A pod ready 10 s before the dump's last heartbeat, minReadySeconds 30: not yet available
    then, whatever the clock says today."""
    node = b.node("n1")
    node["status"]["conditions"][-1]["lastHeartbeatTime"] = "2026-11-02T10:00:10Z"
    pod = b.daemon_pod(b.daemonset("agent", "ns"), "n1", ready_since="2026-11-02T10:00:00Z")
    now = SnapshotSource([node, pod]).as_of()
    assert now == utc(2026, 11, 2, 10, 0, 10)
    assert not is_available(pod, 30, now)
    assert is_available(pod, 5, now)


def test_lease_renewals_date_the_dump_to_ten_seconds():
    node = b.node("n1")
    node["status"]["conditions"][-1]["lastHeartbeatTime"] = "2026-11-02T10:00:00Z"
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "n1", "namespace": "kube-node-lease", "creationTimestamp": "2026-11-01T00:00:00Z"},
             "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40,
                      "renewTime": "2026-11-02T10:04:51.913306Z"}}
    assert SnapshotSource([node, lease]).as_of() == utc(2026, 11, 2, 10, 4, 51)


def test_a_node_whose_clock_runs_ahead_does_not_move_the_dump():
    """Heartbeats and pod transitions carry each kubelet's clock: a stamp later than the bound
    (the command's clock plus an hour) is a skewed node's, left out; so is text that only looks
    like a UTC stamp."""
    good, skewed = b.node("n1"), b.node("n2")
    good["status"]["conditions"][-1]["lastHeartbeatTime"] = "2026-11-02T10:00:00Z"
    skewed["status"]["conditions"][-1]["lastHeartbeatTime"] = "2027-11-02T10:00:00Z"
    src = SnapshotSource([good, skewed])
    assert src.as_of(utc(2026, 11, 21, 13)) == utc(2026, 11, 2, 10)
    assert src.as_of() == utc(2027, 11, 2, 10)          # unbounded: the newest, whatever it is
    for bad in ("2026-11-03 10:00:00Z", "2026-11-02t10:00:00Z", "2026-13-45T10:00:00Z"):
        odd = b.node("n3")
        odd["status"]["conditions"][-1]["lastHeartbeatTime"] = bad
        assert SnapshotSource([good, odd]).as_of() == utc(2026, 11, 2, 10), bad


def test_a_yaml_dump_with_unquoted_timestamps_reads_as_the_json_one(tmp_path):
    """PyYAML would load `lastHeartbeatTime: 2026-11-02T10:00:00Z` as a datetime; the snapshot
    keeps the API's text, as JSON does."""
    import json
    import re

    import yaml
    node = b.node("n1")
    node["status"]["conditions"][-1]["lastHeartbeatTime"] = "2026-11-02T10:00:00Z"
    doc = b.dump([node])
    # unquote the stamps (only them: an unquoted `status: True` is a boolean, refused as the API would)
    text = re.sub(r"'(\d{4}-\d\d-\d\dT[\d:]+Z)'", r"\1", yaml.safe_dump(json.loads(json.dumps(doc))))
    assert "lastHeartbeatTime: 2026-11-02T10:00:00Z" in text
    path = tmp_path / "dump.yaml"
    path.write_text(text)
    src = SnapshotSource.load(str(path))
    assert src.nodes()[0]["status"]["conditions"][-1]["lastHeartbeatTime"] == "2026-11-02T10:00:00Z"
    assert src.as_of() == utc(2026, 11, 2, 10)
