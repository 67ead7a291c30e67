"""Follow a rollout live: watches feed caches, the pure core judges, a sink prints changes.

Event-driven: the loop blocks on the watch queue and wakes only for an event or for the next
deadline (progress deadline, --timeout); it never polls the apiserver on a timer. A dropped
watch resumes from its last resourceVersion; 410 Gone re-lists; failures back off and, after a
bounded number in a row, end the run (source/watch.py); output is derived from state changes, so
a replayed event never prints twice.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Dict, List, Optional

from kubectl_ds.core.events import failed_create_selector
from kubectl_ds.core.fit import FitContext
from kubectl_ds.core.objects import get_in, labels, namespace, uid
from kubectl_ds.core.revisions import HASH_LABEL
from kubectl_ds.core.rollout import DONE, MISSING, STUCK, RolloutStatus, judge, pending_targets, progress
from kubectl_ds.core.selectors import label_selector_string
from kubectl_ds.errors import DsError, NotFound
from kubectl_ds.source.watch import GIVE_UP, RECONNECT, RELIST, WatchItem, monotonic, wait_event

EVENTS_EVERY = 5.0   # seconds between event re-reads for Pending pods
MAX_PENDING_NODES = 20   # nodes whose pods are read to explain a Pending daemon pod


def rollout_events(source, ds: dict, pods: bool = True, daemonset: bool = True) -> List[dict]:
    """The namespace's FailedScheduling Pod events (the only pod events progress() reads: the
    server filters by reason, so the many Scheduled/Pulled/Started ones are not sent) and the
    DaemonSet's own (FailedCreate)."""
    ns = namespace(ds)
    return (source.events(ns, "involvedObject.kind=Pod,reason=FailedScheduling") if pods else []) + \
        (source.events(ns, failed_create_selector(ds)) if daemonset else [])


def pods_on_nodes(source, ds: dict, pods: List[dict]) -> Dict[str, List[dict]]:
    """Every pod bound to each node a daemon pod waits for (its cpu, memory, host ports)."""
    return {n: source.pods(None, field_selector=f"spec.nodeName={n}")
            for n in pending_targets(ds, pods)[:MAX_PENDING_NODES]}


class Follower:
    def __init__(self, source, namespace: str, name: str, clock: Callable, progress_deadline: float,
                 timeout: float, on_change: Callable[[RolloutStatus, Optional[RolloutStatus]], None],
                 on_note: Callable[[str], None] = lambda text: None, *, fit: FitContext):
        self.source, self.namespace, self.name = source, namespace, name
        self.fit = fit   # the rules of the Kubernetes minor in force
        self.clock, self.deadline, self.timeout = clock, progress_deadline, timeout
        self.on_change, self.on_note = on_change, on_note
        self.timed_out = False

    def run(self) -> RolloutStatus:
        src, ns = self.source, self.namespace
        dss, ds_rv = src.list_with_version("daemonsets", ns, field_selector=f"metadata.name={self.name}")
        if not dss:
            raise NotFound("daemonset", self.name, ns)
        self.ds = dss[0]
        sel = label_selector_string(self.ds["spec"].get("selector"))
        pods, pods_rv = src.list_with_version("pods", ns, label_selector=sel)
        nodes, nodes_rv = src.list_with_version("nodes", None)
        self.pods: Dict[str, dict] = {uid(p): p for p in pods}
        self.nodes: Dict[str, dict] = {uid(n): n for n in nodes}
        self.revisions = src.revisions(ns, label_selector=sel)
        self.events: List[dict] = []
        self.node_pods: Dict[str, List[dict]] = {}
        self.events_at = -EVENTS_EVERY
        q: queue.Queue = queue.Queue()
        stop = threading.Event()
        self.streams = [
            src.stream("daemonsets", ns, q, ds_rv, stop, field_selector=f"metadata.name={self.name}"),
            src.stream("pods", ns, q, pods_rv, stop, label_selector=sel),
            src.stream("nodes", None, q, nodes_rv, stop),
        ]
        try:
            return self._loop(q)
        finally:
            for s in self.streams:
                s.close()
            for s in self.streams:
                s.join(timeout=2)

    def _loop(self, q) -> RolloutStatus:
        start = last_progress = monotonic()
        marker, prev = None, None
        while True:
            raw = self._look()
            new_marker = _marker(raw)
            if new_marker != marker:
                marker, last_progress = new_marker, monotonic()
            status = judge(raw, monotonic() - last_progress, self.deadline)
            if prev is None or status.key() != prev.key():
                self.on_change(status, prev)
                prev = status
            if status.state in (DONE, STUCK):
                return status
            now = monotonic()
            if self.timeout and now - start >= self.timeout:
                self.timed_out = True
                return status
            limits = [last_progress + self.deadline - now if self.deadline else None,
                      start + self.timeout - now if self.timeout else None]
            waits = [max(w, 0.05) for w in limits if w is not None]
            item = wait_event(q, min(waits) if waits else None)
            while item is not None:
                self._apply(item)
                item = wait_event(q, 0) if not q.empty() else None

    def _look(self) -> RolloutStatus:
        pods = list(self.pods.values())
        status = progress(self.ds, pods, list(self.nodes.values()), self.revisions, self.events, self.clock(),
                          self.node_pods, ctx=self.fit)
        # something only events or other pods can explain: a Pending pod, a node without one
        pending = any(c.type in ("FailedScheduling", "InsufficientResource", "HostPortConflict",
                                 "NodeDeclaredFeatures")
                      for c in status.culprits) or any(not get_in(p, "spec", "nodeName") for p in pods)
        missing = any(n.state == MISSING and not n.pod for n in status.nodes)
        if pending or missing:
            if monotonic() - self.events_at >= EVENTS_EVERY:
                self.events_at = monotonic()
                self.events = rollout_events(self.source, self.ds, pods=pending, daemonset=missing)
                self.node_pods = pods_on_nodes(self.source, self.ds, pods) if pending else {}
                status = progress(self.ds, pods, list(self.nodes.values()), self.revisions, self.events,
                                  self.clock(), self.node_pods, ctx=self.fit)
        return status

    def _apply(self, item: WatchItem) -> None:
        kind = item.kind
        if item.what == RECONNECT:
            self.on_note(f"watch of {kind} interrupted ({item.error}); resuming")
            return
        if item.what == GIVE_UP:
            raise DsError(f"watch of {kind} failed {item.failures} times in a row (the last: {item.error}); "
                          "giving up")
        cache = self.pods if kind == "pods" else self.nodes   # not used for "daemonsets"
        if item.what == RELIST:
            if kind == "daemonsets":
                if not item.items:
                    raise DsError(f'daemonset "{self.name}" has been deleted')
                self._set_ds(item.items[0])
            else:
                cache.clear()
                cache.update({uid(o): o for o in item.items})
            return
        etype, obj = item.event_type, item.obj or {}   # item.what == EVENT
        if kind == "daemonsets":
            if etype == "DELETED":
                raise DsError(f'daemonset "{self.name}" has been deleted')
            self._set_ds(obj)
        elif etype == "DELETED":
            cache.pop(uid(obj), None)
        else:
            cache[uid(obj)] = obj
            if kind == "pods" and labels(obj).get(HASH_LABEL) not in self._known_hashes():
                self._reload_revisions()

    def _set_ds(self, ds: dict) -> None:
        old = self.ds
        self.ds = ds
        if get_in(ds, "metadata", "generation") != get_in(old, "metadata", "generation") or \
                get_in(ds, "status", "observedGeneration") != get_in(old, "status", "observedGeneration"):
            self._reload_revisions()

    def _known_hashes(self):
        return {labels(r).get(HASH_LABEL) for r in self.revisions}

    def _reload_revisions(self) -> None:
        sel = label_selector_string(self.ds["spec"].get("selector"))
        self.revisions = self.source.revisions(self.namespace, label_selector=sel)


def _marker(status: RolloutStatus):
    """What counts as progress: the controller observing a spec, nodes changing state or pods."""
    return (status.observed_generation, status.updated, status.available,
            tuple((n.node, n.state, n.pod) for n in status.nodes))
