"""When a dump was taken: the snapshot source's newest timestamp, the `now` of --snapshot commands."""

from __future__ import annotations

from datetime import datetime, timezone

from kubectl_ds.core.revisions import is_available
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
