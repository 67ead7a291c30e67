"""Fault handling of the live watch (kubectl_ds.source.watch.Stream) and of the Follower over it.

These are the faults that cannot be caused for real reliably; a real connection reset mid-rollout
is covered by tests/e2e/test_rollout_live.py. The fakes speak the API's watch protocol (what
client-go's reflector and the apiserver's watch handler do, k8s.io/apimachinery v0.33):

* a watch response is a stream of newline-separated JSON events {"type", "object"}; the stream may
  be cut anywhere, even inside an event;
* an ERROR event whose Status has code 410 (Gone) means the resourceVersion is too old: the
  client must list again and watch from the list's resourceVersion;
* after a dropped connection the client watches again from the last resourceVersion it saw
  (the reflector's LastSyncResourceVersion), not from the start;
* BOOKMARK events (allowWatchBookmarks) carry only a newer resourceVersion: they advance it and are
  not changes to deliver;
* failures back off as the reflector's do (client-go tools/cache: 800 ms doubling to 30 s, with
  jitter); a watch that ends within a second without an event is a failure ("very short watch").
"""

from __future__ import annotations

import io
import json
import queue
import threading
import time
from datetime import datetime, timezone

import pytest

from kubectl_ds.core import rollout as ro
from kubectl_ds.core.versions import KubeVersion
from kubectl_ds.env import Env
from kubectl_ds.errors import DsError
from kubectl_ds.run.follow import Follower
from kubectl_ds.source.watch import Backoff, Stream
from kubectl_ds.source.watch import WatchItem as W
from tests import builders as b
from tests.builders import V133

NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)
WAIT = 5.0   # seconds: generous upper bound for a thread to act; tests finish far sooner
FAST = Backoff(start=0.01, factor=2.0, cap=0.04, jitter=0.5, limit=10)   # the real schedule, shrunk


def _obj(name, rv, **more):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "uid": f"uid-{name}",
                                                          "resourceVersion": rv, **more}}


def _ev(etype, obj):
    return {"type": etype, "object": obj}


def _gone():
    return _ev("ERROR", {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
                         "message": "too old resource version: 10 (42)", "code": 410})


def _bookmark(rv):
    return _ev("BOOKMARK", {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv}})


class FakeResponse:
    """A urllib3 response to a watch request: scripted chunks, then an error, the end, or a hang."""

    def __init__(self, events=(), error=None, hang=False, chunk=None):
        data = b"".join(json.dumps(e).encode() + b"\n" for e in events)
        size = chunk or max(len(data), 1)
        self.chunks = [data[i:i + size] for i in range(0, len(data), size)]
        self.error, self.hang = error, hang
        self.closed = threading.Event()
        self.released = False

    def stream(self, amt, decode_content=True):
        yield from self.chunks
        if self.error is not None:
            raise self.error
        if self.hang:   # a watch with nothing to say: blocks until the connection is closed
            self.closed.wait()
            raise OSError("connection closed")

    def shutdown(self):
        self.closed.set()

    def close(self):
        self.closed.set()

    def release_conn(self):
        self.released = True


class FakeList:
    """A client list function (list_namespaced_pod & co): LISTs answer `pages`, watches `watches`.

    Once the scripted watches are used up, a watch hangs until closed (as a quiet apiserver does).
    """

    def __init__(self, watches=(), pages=()):
        self.watches, self.pages = list(watches), list(pages)
        self.calls = []
        self.hanging = []

    def __call__(self, **kw):
        self.calls.append(kw)
        if not kw.get("watch"):
            items, rv = self.pages.pop(0)
            return type("Resp", (), {"data": json.dumps({"kind": "PodList", "metadata": {"resourceVersion": rv},
                                                         "items": items}).encode()})()
        if self.watches:
            return self.watches.pop(0)
        resp = FakeResponse(hang=True)
        self.hanging.append(resp)
        return resp

    def watch_versions(self):
        return [c["resource_version"] for c in self.calls if c.get("watch")]


def _drain(q, n, timeout=WAIT):
    """The next n items the stream puts on the queue (fails if they do not come)."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        try:
            out.append(q.get(timeout=max(deadline - time.monotonic(), 0.01)))
        except queue.Empty:
            raise AssertionError(f"expected {n} items, got {out}") from None
    return out


def _quiet(q, seconds=0.3):
    """Nothing more arrives."""
    try:
        item = q.get(timeout=seconds)
    except queue.Empty:
        return True
    raise AssertionError(f"unexpected item {item}")


def _until_hanging(fake, n=1):
    deadline = time.monotonic() + WAIT
    while len(fake.hanging) < n:
        assert time.monotonic() < deadline, f"the stream never watched again: {fake.calls}"
        time.sleep(0.01)


@pytest.fixture
def run_stream():
    started = []

    def start(fake, rv="10", backoff=FAST, **selectors):
        q, stop = queue.Queue(), threading.Event()
        s = Stream("pods", fake, q, rv, stop, backoff=backoff, **selectors)
        s.start()
        started.append(s)
        return s, q

    yield start
    for s in started:
        s.close()
        s.join(timeout=WAIT)
        assert not s.is_alive(), "stream thread did not stop"


# ============================================================================================
# Stream
# ============================================================================================

def test_stream_delivers_events_and_watches_from_given_version(run_stream):
    a1, b1 = _obj("a", "11"), _obj("b", "12")
    fake = FakeList(watches=[FakeResponse([_ev("ADDED", a1), _ev("MODIFIED", b1)], chunk=7)])
    s, q = run_stream(fake, label_selector="app=agent", field_selector="")
    assert _drain(q, 2) == [W.event("pods", "ADDED", a1), W.event("pods", "MODIFIED", b1)]
    _until_hanging(fake)
    first = fake.calls[0]
    assert first["watch"] is True and first["resource_version"] == "10" and first["allow_watch_bookmarks"] is True
    assert first["label_selector"] == "app=agent" and "field_selector" not in first   # empty selectors dropped
    assert first["_preload_content"] is False
    assert fake.watch_versions() == ["10", "12"]   # the stream ended cleanly: watch again from the last version
    assert (s.reconnects, s.relists) == (0, 0)


def test_stream_410_gone_relists_and_resumes_from_the_list_version(run_stream):
    a11, a60, b40 = _obj("a", "11"), _obj("a", "60"), _obj("b", "40")
    fake = FakeList(watches=[FakeResponse([_ev("ADDED", a11), _gone()]),
                             FakeResponse([_ev("MODIFIED", b40), _ev("MODIFIED", a60)])],
                    pages=[([_obj("a", "45"), b40], "50")])
    s, q = run_stream(fake, label_selector="app=agent")
    items = _drain(q, 3)
    assert items[0] == W.event("pods", "ADDED", a11)
    assert items[1] == W.relist("pods", [_obj("a", "45"), b40])
    # b at version 40 came with the list: the watch's copy of it is not delivered again
    assert items[2] == W.event("pods", "MODIFIED", a60)
    _until_hanging(fake)
    assert fake.watch_versions() == ["10", "50", "60"]
    relist = [c for c in fake.calls if not c.get("watch")]
    assert relist == [{"_preload_content": False, "label_selector": "app=agent"}]
    assert (s.relists, s.reconnects) == (1, 0)


def test_stream_reconnects_from_last_version_seen_not_from_start(run_stream):
    a11, a12, a13, b14 = _obj("a", "11"), _obj("a", "12"), _obj("a", "13"), _obj("b", "14")
    reset = ConnectionResetError(104, "Connection reset by peer")
    fake = FakeList(watches=[
        FakeResponse([_ev("ADDED", a11), _ev("MODIFIED", a12)], error=reset),
        # the apiserver replays a version already delivered: dropped
        FakeResponse([_ev("MODIFIED", a12), _ev("MODIFIED", a13), _ev("ADDED", b14)])])
    s, q = run_stream(fake)
    items = _drain(q, 5)
    assert items == [W.event("pods", "ADDED", a11), W.event("pods", "MODIFIED", a12),
                     W.reconnect("pods", "[Errno 104] Connection reset by peer"),
                     W.event("pods", "MODIFIED", a13), W.event("pods", "ADDED", b14)]
    _until_hanging(fake)
    assert fake.watch_versions()[:2] == ["10", "12"]
    assert s.reconnects == 1 and s.relists == 0
    assert _quiet(q)


def test_stream_reconnect_cut_inside_an_event(run_stream):
    # the connection drops halfway through an event: the partial line is not an event; the watch
    # resumes after the last complete one and the server sends the cut event again
    a11, a12 = _obj("a", "11"), _obj("a", "12")
    whole = json.dumps(_ev("ADDED", a11)).encode() + b"\n" + json.dumps(_ev("MODIFIED", a12)).encode()[:25]

    class Cut(FakeResponse):
        def stream(self, amt, decode_content=True):
            yield whole
            raise ConnectionResetError("Connection broken: IncompleteRead(25 bytes read)")

    fake = FakeList(watches=[Cut(), FakeResponse([_ev("MODIFIED", a12)])])
    s, q = run_stream(fake)
    kinds = [i[0] for i in _drain(q, 3)]
    assert kinds == ["event", "reconnect", "event"]
    _until_hanging(fake)
    assert fake.watch_versions()[:2] == ["10", "11"]


def test_stream_bookmark_advances_version_without_delivery(run_stream):
    a11 = _obj("a", "11")
    fake = FakeList(watches=[FakeResponse([_ev("ADDED", a11), _bookmark("77")],
                                          error=ConnectionResetError("Connection reset by peer"))])
    s, q = run_stream(fake)
    assert _drain(q, 2) == [W.event("pods", "ADDED", a11), W.reconnect("pods", "Connection reset by peer")]
    _until_hanging(fake)
    assert fake.watch_versions() == ["10", "77"]
    assert _quiet(q)


def test_stream_deleted_is_delivered_and_forgotten(run_stream):
    a11, a12 = _obj("a", "11"), _obj("a", "12")
    a11_again = _obj("a", "11")   # re-created under the same uid and version (a fake's liberty)
    fake = FakeList(watches=[FakeResponse([_ev("ADDED", a11), _ev("DELETED", a12), _ev("ADDED", a11_again)])])
    s, q = run_stream(fake)
    assert [i[2] for i in _drain(q, 3)] == ["ADDED", "DELETED", "ADDED"]


def test_stream_other_watch_error_reconnects(run_stream):
    err = _ev("ERROR", {"kind": "Status", "status": "Failure", "message": "etcdserver: leader changed", "code": 500})
    fake = FakeList(watches=[FakeResponse([err])])
    s, q = run_stream(fake)
    assert _drain(q, 1) == [W.reconnect("pods", "watch error: etcdserver: leader changed")]
    _until_hanging(fake)
    assert fake.watch_versions() == ["10", "10"] and s.relists == 0


def test_stream_backs_off_between_failed_reconnects(run_stream):
    refused = ConnectionRefusedError(111, "Connection refused")
    fake = FakeList(watches=[FakeResponse(error=refused) for _ in range(4)])
    slow = Backoff(start=0.1, factor=2.0, cap=0.3, jitter=0.5)
    start = time.monotonic()
    s, q = run_stream(fake, backoff=slow)
    assert [i[0] for i in _drain(q, 4)] == ["reconnect"] * 4
    _until_hanging(fake)
    # 0.1 s, 0.2 s, then the cap 0.3 s twice, each ±50 %
    assert len(s.delays) == 4
    assert all(0.5 * n <= d <= 1.5 * n for d, n in zip(s.delays, (0.1, 0.2, 0.3, 0.3))), s.delays
    assert time.monotonic() - start >= sum(s.delays)
    assert fake.watch_versions() == ["10"] * 5


def test_backoff_schedule_is_client_gos_with_jitter():
    b = Backoff()
    nominal = [b.delay(n, rand=lambda: 0.5) for n in range(1, 11)]
    assert nominal == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0, 30.0]
    assert b.delay(1, rand=lambda: 0.0) == pytest.approx(0.4) and b.delay(9, rand=lambda: 0.999999) < 45.0
    assert b.limit == 10


def test_stream_410_at_once_on_every_watch_backs_off_then_gives_up(run_stream):
    """A server that answers every watch with 410 Gone: re-list, back off, and after `limit`
    failures in a row give up (not the hot loop of re-lists it was)."""
    fake = FakeList(watches=[FakeResponse([_gone()]) for _ in range(4)],
                    pages=[([_obj("a", "45")], "50")] * 3)
    s, q = run_stream(fake, backoff=FAST._replace(limit=4))
    items = _drain(q, 7)
    assert [i.what for i in items] == ["reconnect", "relist", "reconnect", "relist", "reconnect", "relist",
                                       "give-up"]
    assert items[0].error == "410 Gone: too old resource version: 10 (42)"
    assert items[-1] == W.give_up("pods", "410 Gone: too old resource version: 10 (42)", 4)
    assert len(s.delays) == 3 and s.relists == 4
    s.join(timeout=WAIT)
    assert not s.is_alive() and _quiet(q)


def test_stream_very_short_empty_watch_is_a_failure(run_stream):
    """A watch that ends at once without an event (a proxy closing it) would otherwise re-watch in a loop."""
    fake = FakeList(watches=[FakeResponse([]) for _ in range(3)])
    s, q = run_stream(fake, backoff=FAST._replace(limit=3))
    items = _drain(q, 3)
    assert [i.what for i in items] == ["reconnect", "reconnect", "give-up"]
    assert items[0].error == "the watch ended at once without an event"


def test_stream_an_event_resets_the_failure_count(run_stream):
    refused = ConnectionRefusedError(111, "Connection refused")
    fake = FakeList(watches=[FakeResponse(error=refused), FakeResponse(error=refused),
                             FakeResponse([_ev("ADDED", _obj("a", "11"))], error=refused),
                             FakeResponse(error=refused)])
    s, q = run_stream(fake, backoff=FAST._replace(limit=3))
    assert [i.what for i in _drain(q, 5)] == ["reconnect", "reconnect", "event", "reconnect", "reconnect"]
    _until_hanging(fake)
    assert s.failures == 2 and _quiet(q)


def test_stream_unknown_event_type_is_a_failure(run_stream):
    fake = FakeList(watches=[FakeResponse([{"kind": "PodList", "items": []}])])
    s, q = run_stream(fake)
    assert _drain(q, 1) == [W.reconnect("pods", "the watch sent an event of type 'None'")]


def test_stream_relists_through_the_sources_lister():
    calls = []

    def lister():
        calls.append(1)
        return [_obj("a", "45")], "50"
    fake = FakeList(watches=[FakeResponse([_ev("ADDED", _obj("a", "11")), _gone()])])
    q, stop = queue.Queue(), threading.Event()
    s = Stream("pods", fake, q, "10", stop, lister=lister, request_timeout=3.0, backoff=FAST)
    s.start()
    try:
        assert [i.what for i in _drain(q, 2)] == ["event", "relist"]
        _until_hanging(fake)
        assert calls == [1] and fake.watch_versions() == ["10", "50"]
        assert all(c["_request_timeout"] == (3.0, 270) for c in fake.calls if c.get("watch"))
    finally:
        s.close()
        s.join(timeout=WAIT)


def test_follower_gives_up_in_one_line():
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs,
                     [W.give_up("nodes", "410 Gone: too old resource version: 1 (2)", 10)])
    f, _, _ = _follower(src, deadline=30, timeout=30)
    with pytest.raises(DsError) as exc:
        f.run()
    assert str(exc.value) == ("watch of nodes failed 10 times in a row (the last: 410 Gone: too old resource "
                              "version: 1 (2)); giving up")
    assert all(s.closed for s in src.streams.values())


def test_close_ends_a_blocked_stream():
    fake = FakeList()
    q, stop = queue.Queue(), threading.Event()
    s = Stream("pods", fake, q, "10", stop)
    s.start()
    _until_hanging(fake)
    t0 = time.monotonic()
    s.close()
    s.join(timeout=WAIT)
    assert not s.is_alive() and time.monotonic() - t0 < 1.0
    assert fake.hanging[0].closed.is_set() and fake.hanging[0].released
    assert q.empty(), "closing is not a reconnect"
    assert len(fake.calls) == 1


def test_close_during_backoff_ends_promptly():
    fake = FakeList(watches=[FakeResponse(error=ConnectionRefusedError("Connection refused"))] * 50)
    q, stop = queue.Queue(), threading.Event()
    s = Stream("pods", fake, q, "10", stop, backoff=Backoff(start=30.0))
    s.start()
    _drain(q, 1)
    t0 = time.monotonic()
    s.close()
    s.join(timeout=WAIT)
    assert not s.is_alive() and time.monotonic() - t0 < 1.0


# ============================================================================================
# Follower, over an in-memory source
# ============================================================================================

class FakeStream:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True

    def join(self, timeout=None):
        pass


class FakeSource:
    """In-memory lists, and streams that feed `script` to the Follower's queue one item per look.

    The Follower reads the clock once per look at the rollout; the feeder puts the next item only
    after the previous one has been looked at, so every item gets a look of its own.
    """

    default_namespace = "default"

    def __init__(self, ds, pods, nodes, revisions, script=()):
        self.ds, self.pods, self.nodes, self.revs = ds, pods, nodes, revisions
        self.script = list(script)
        self.streams = {}
        self.revision_reads = 0
        self.looks = 0

    def clock(self):
        self.looks += 1
        return NOW

    def kubernetes_version(self):
        return "v1.33.13", "server", ""

    def device_classes(self):
        return [], ""

    def runtime_classes(self):
        return [], ""

    def _feed(self, out):
        for i, item in enumerate(self.script):
            deadline = time.monotonic() + WAIT
            while self.looks <= i and time.monotonic() < deadline:
                time.sleep(0.005)
            out.put(item)

    def daemonset(self, namespace, name):
        return self.ds

    def list_with_version(self, kind, namespace, **selectors):
        items = {"daemonsets": [self.ds] if self.ds else [], "pods": self.pods, "nodes": self.nodes}[kind]
        return list(items), "100"

    def revisions(self, namespace, label_selector=""):
        self.revision_reads += 1
        return list(self.revs)

    def events(self, namespace, field_selector=""):
        return []

    def stream(self, kind, namespace, out, resource_version, stop, **selectors):
        self.streams[kind] = FakeStream()
        if len(self.streams) == 3:
            threading.Thread(target=self._feed, args=(out,), daemon=True).start()
        return self.streams[kind]


OLD, NEW = "5d9f8c7b6", "7c6b5d4f8"
NODES = ("n0", "n1")


def _status(updated, available=2, observed=2):
    return {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": available,
            "numberAvailable": available, "updatedNumberScheduled": updated, "observedGeneration": observed}


def _world(updated=0):
    ds = b.daemonset("agent", generation=2, template_generation=2, status=_status(updated))
    revs = [b.revision(ds, OLD, 1, image="registry.example/agent:0.9"), b.revision(ds, NEW, 2)]
    nodes = [b.node(n) for n in NODES]
    return ds, revs, nodes


def _pod(ds, node, hash_):
    return b.daemon_pod(ds, node, hash=hash_, suffix=f"{hash_[:3]}-{node}", generation=2 if hash_ == NEW else 1)


def _follower(source, deadline=0.0, timeout=0.0):
    changes, notes = [], []
    f = Follower(source, "default", "agent", source.clock, deadline, timeout,
                 lambda s, prev: changes.append(s), notes.append, fit=V133)
    return f, changes, notes


def _ds_with(ds, **status):
    out = json.loads(json.dumps(ds))
    out["status"].update(status)
    out["metadata"]["resourceVersion"] = str(int(out["metadata"]["resourceVersion"]) + 1)
    return out


def test_follower_follows_events_to_done_and_closes_streams():
    ds, revs, nodes = _world()
    old = [_pod(ds, n, OLD) for n in NODES]
    new = [_pod(ds, n, NEW) for n in NODES]
    script = [W.event("pods", "DELETED", old[0]), W.event("pods", "ADDED", new[0]),
              W.reconnect("pods", "Connection reset by peer"),
              W.event("pods", "ADDED", new[0]),            # a replayed event changes nothing
              W.event("pods", "DELETED", old[1]), W.event("pods", "ADDED", new[1]),
              W.event("daemonsets", "MODIFIED", _ds_with(ds, updatedNumberScheduled=2))]
    src = FakeSource(ds, old, nodes, revs, script)
    f, changes, notes = _follower(src, deadline=30, timeout=30)
    final = f.run()
    assert final.state == ro.DONE and not f.timed_out
    assert notes == ["watch of pods interrupted (Connection reset by peer); resuming"]
    # one report per change of state: the reconnect and the replayed ADDED report nothing
    assert [(c.state, c.updated, tuple(n.state for n in c.nodes)) for c in changes] == [
        (ro.PROGRESSING, 0, (ro.OUTDATED, ro.OUTDATED)),
        (ro.PROGRESSING, 0, (ro.MISSING, ro.OUTDATED)),
        (ro.PROGRESSING, 1, (ro.UPDATED, ro.OUTDATED)),
        (ro.PROGRESSING, 1, (ro.UPDATED, ro.MISSING)),
        (ro.PROGRESSING, 2, (ro.UPDATED, ro.UPDATED)),   # kubectl not done: .status says 0 updated
        (ro.DONE, 2, (ro.UPDATED, ro.UPDATED))]
    assert src.looks == len(script) + 1
    assert all(s.closed for s in src.streams.values()) and set(src.streams) == {"daemonsets", "pods", "nodes"}


def test_follower_returns_at_once_when_already_done():
    ds, revs, nodes = _world(updated=2)
    src = FakeSource(ds, [_pod(ds, n, NEW) for n in NODES], nodes, revs)
    f, changes, _ = _follower(src, deadline=30)
    assert f.run().state == ro.DONE and len(changes) == 1


def test_follower_stuck_after_progress_deadline_without_events():
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs)
    f, changes, _ = _follower(src, deadline=0.3)
    t0 = time.monotonic()
    final = f.run()
    assert final.state == ro.STUCK and final.since_progress >= 0.3
    assert time.monotonic() - t0 < 3
    assert [c.state for c in changes] == [ro.PROGRESSING, ro.STUCK]


def test_follower_timeout():
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs)
    f, changes, _ = _follower(src, deadline=0, timeout=0.3)
    final = f.run()
    assert f.timed_out and final.state == ro.PROGRESSING


def test_follower_relist_replaces_the_cache():
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs,
                     [W.relist("pods", [_pod(ds, n, NEW) for n in NODES]),
                      W.relist("daemonsets", [_ds_with(ds, updatedNumberScheduled=2)])])
    f, changes, _ = _follower(src, deadline=30, timeout=30)
    assert f.run().state == ro.DONE


def test_follower_rereads_revisions_for_an_unknown_hash():
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs[:1],
                     [W.event("pods", "MODIFIED", _pod(ds, "n0", NEW))])
    f, _, _ = _follower(src, timeout=0.3)
    f.run()
    assert src.revision_reads == 2


@pytest.mark.parametrize("item", [
    pytest.param(W.event("daemonsets", "DELETED", None), id="deleted-event"),
    pytest.param(W.relist("daemonsets", []), id="gone-after-relist"),
])
def test_follower_deleted_daemonset_is_one_error(item):
    ds, revs, nodes = _world()
    if item.what == "event":
        item = item._replace(obj=ds)
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs, [item])
    f, _, _ = _follower(src, deadline=30, timeout=30)
    with pytest.raises(DsError) as exc:
        f.run()
    assert str(exc.value) == 'daemonset "agent" has been deleted' and "\n" not in str(exc.value)
    assert all(s.closed for s in src.streams.values())


def test_rollout_command_deleted_daemonset_exits_2_with_one_line(run_cli):
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs, [W.event("daemonsets", "DELETED", ds)])
    res = run_cli("rollout", "agent", "-n", "default", expect=2,
                  env=Env(source_factory=lambda opts: src, clock=src.clock, color=False))
    assert res.stderr == 'error: daemonset "agent" has been deleted\n'
    assert res.stdout.startswith("daemon set default/agent: revision 2 (7c6b5d4f8), 2 nodes, RollingUpdate"
                                 "    (rules of Kubernetes v1.33, from the apiserver)\n")


def test_json_follow_ends_with_a_final_object(capsys):
    """-o json while following: the last line says how it ended, even with no state change."""
    import json as _json
    from datetime import datetime, timezone

    from kubectl_ds.commands.rollout import _LivePrinter
    from kubectl_ds.core.rollout import progress
    from tests.builders import daemon_pod, daemonset, node, revision
    ds = daemonset("agent", generation=2, template_generation=2,
                   status={"desiredNumberScheduled": 1, "updatedNumberScheduled": 0, "numberAvailable": 1,
                           "observedGeneration": 2, "currentNumberScheduled": 1, "numberReady": 1})
    revs = [revision(ds, "old", 1, image="x:1"), revision(ds, "new", 2)]
    st = progress(ds, [daemon_pod(ds, "n1", hash="old", generation=1)], [node("n1")], revs, [],
                  datetime(2026, 11, 21, tzinfo=timezone.utc), ctx=V133)
    printer = _LivePrinter("json", tty=False, version=KubeVersion(33, "flag"))
    printer.change(st, None)
    printer.finish(st, timed_out=True, timeout=5)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, last = _json.loads(lines[0]), _json.loads(lines[-1])
    assert "final" not in first and last["final"] is True and last["timedOut"] is True
    assert last["state"] == "Progressing" and last["updated"] == 0


class _Terminal(io.StringIO):
    """A stdout that is a terminal."""

    def isatty(self):
        return True


def test_env_tty_comes_from_the_stream_and_colour_from_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Env(stdout=_Terminal()).is_tty() and Env(stdout=_Terminal()).use_color()
    assert not Env(stdout=io.StringIO()).is_tty() and not Env(stdout=io.StringIO()).use_color()
    monkeypatch.setenv("NO_COLOR", "1")
    assert Env(stdout=_Terminal()).is_tty() and not Env(stdout=_Terminal()).use_color()
    assert Env(stdout=_Terminal(), color=True).use_color() and not Env(stdout=_Terminal(), tty=False).is_tty()


def test_no_color_keeps_the_progress_line_redrawn_in_place(run_cli, monkeypatch):
    """NO_COLOR turns colour off, not the in-place redraw of `rollout`'s progress line on a terminal."""
    monkeypatch.setenv("NO_COLOR", "1")
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs, [W.event("daemonsets", "DELETED", ds)])
    terminal = _Terminal()
    run_cli("rollout", "agent", "-n", "default", expect=2,
            env=Env(source_factory=lambda opts: src, clock=src.clock, stdout=terminal))
    text = terminal.getvalue()
    assert text.startswith("\r\x1b[Kdaemon set default/agent: revision 2 (7c6b5d4f8)")
    # the progress line is drawn over the cleared line, without a newline: the next one replaces it
    assert text.endswith("\n\r\x1b[Kupdated 0/2, available 2/2, unavailable 0 of maxUnavailable 1"), repr(text)
    assert "\x1b[3" not in text and "\x1b[1m" not in text      # no colour


def test_without_a_terminal_the_progress_line_is_plain_lines(run_cli):
    ds, revs, nodes = _world()
    src = FakeSource(ds, [_pod(ds, n, OLD) for n in NODES], nodes, revs, [W.event("daemonsets", "DELETED", ds)])
    res = run_cli("rollout", "agent", "-n", "default", expect=2,
                  env=Env(source_factory=lambda opts: src, clock=src.clock, color=True))
    assert "\r" not in res.stdout and "\x1b[K" not in res.stdout
