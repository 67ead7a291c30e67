"""Live watches as raw JSON events, resumable: reconnect from the last resourceVersion after a
dropped connection, re-list after 410 Gone, never deliver the same object version twice.

Each Stream runs in a thread and puts WatchItems on a shared queue (an event, a re-list, or a
note that the watch was interrupted and is resuming); the consumer keeps the caches.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Callable, Dict, NamedTuple, Optional, Sequence

WATCH_SECONDS = 240       # server-side timeout of one watch request; it is then renewed
RETRY_MAX = 5.0

EVENT, RELIST, RECONNECT = "event", "relist", "reconnect"


class WatchItem(NamedTuple):
    """One thing a Stream reports; build it with event(), relist() or reconnect()."""

    what: str                        # EVENT, RELIST or RECONNECT
    kind: str                        # the collection: "daemonsets", "pods", "nodes"
    event_type: str = ""             # EVENT: ADDED, MODIFIED or DELETED
    obj: Optional[dict] = None       # EVENT: the object as the event carries it
    items: Sequence[dict] = ()       # RELIST: every object of the collection now
    error: str = ""                  # RECONNECT: why the watch was interrupted

    @classmethod
    def event(cls, kind: str, event_type: str, obj: Optional[dict]) -> WatchItem:
        return cls(EVENT, kind, event_type=event_type, obj=obj)

    @classmethod
    def relist(cls, kind: str, items: Sequence[dict]) -> WatchItem:
        return cls(RELIST, kind, items=items)

    @classmethod
    def reconnect(cls, kind: str, error: str) -> WatchItem:
        return cls(RECONNECT, kind, error=error)


class Expired(Exception):
    """410 Gone: the resourceVersion is too old; a re-list is needed."""


class Stream(threading.Thread):
    """Follow one collection: `list_call(**kw)` and `watch_call(**kw)` are client list functions."""

    def __init__(self, kind: str, list_fn: Callable, out: queue.Queue, resource_version: str,
                 stop: threading.Event, **selectors):
        super().__init__(daemon=True, name=f"watch-{kind}")
        self.kind, self.list_fn, self.out, self.rv, self.stop = kind, list_fn, out, resource_version, stop
        self.selectors = {k: v for k, v in selectors.items() if v}
        self.reconnects = 0
        self.relists = 0
        # uid -> resourceVersion last delivered (drops replays after a reconnect)
        self.seen: Dict[Optional[str], Optional[str]] = {}
        self.resp = None

    def close(self) -> None:
        """Stop: end the open watch request so the thread exits promptly."""
        self.stop.set()
        resp = self.resp
        if resp is not None:
            for method in ("shutdown", "close"):
                try:
                    getattr(resp, method, lambda: None)()
                except Exception:  # noqa: BLE001 - best effort on an already broken connection
                    pass

    def run(self) -> None:
        delay = 0.2
        while not self.stop.is_set():
            try:
                self._watch_once()
                delay = 0.2
            except Expired:
                self.relists += 1
                self._relist()
            except Exception as err:  # noqa: BLE001 - connection resets, apiserver restarts
                if self.stop.is_set():
                    return
                self.reconnects += 1
                self.out.put(WatchItem.reconnect(self.kind, str(err).splitlines()[0] if str(err)
                                                 else type(err).__name__))
                self.stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX)

    def _relist(self) -> None:
        page = json.loads(self.list_fn(_preload_content=False, **self.selectors).data)
        self.rv = page["metadata"].get("resourceVersion", "")
        self.seen = {o["metadata"].get("uid"): o["metadata"].get("resourceVersion") for o in page.get("items", [])}
        self.out.put(WatchItem.relist(self.kind, page.get("items", [])))

    def _watch_once(self) -> None:
        resp = self.list_fn(watch=True, resource_version=self.rv, allow_watch_bookmarks=True,
                            timeout_seconds=WATCH_SECONDS, _preload_content=False,
                            _request_timeout=(10, WATCH_SECONDS + 30), **self.selectors)
        self.resp = resp
        if self.stop.is_set():
            return
        try:
            for line in _lines(resp):
                if self.stop.is_set():
                    return
                event = json.loads(line)
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        raise Expired()
                    raise RuntimeError(f"watch error: {obj.get('message')}")
                meta = obj.get("metadata") or {}
                if meta.get("resourceVersion"):
                    self.rv = meta["resourceVersion"]
                if etype == "BOOKMARK":
                    continue
                uid, rv = meta.get("uid"), meta.get("resourceVersion")
                if etype != "DELETED" and self.seen.get(uid) == rv:
                    continue
                self.seen[uid] = rv
                if etype == "DELETED":
                    self.seen.pop(uid, None)
                self.out.put(WatchItem.event(self.kind, etype, obj))
        finally:
            self.resp = None
            resp.release_conn()


def _lines(resp):
    buf = b""
    for chunk in resp.stream(4096, decode_content=True):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line
    if buf.strip():
        yield buf


def wait_event(q: queue.Queue, timeout: Optional[float]) -> Optional[WatchItem]:
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        return None


def monotonic() -> float:
    return time.monotonic()
