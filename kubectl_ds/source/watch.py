"""Live watches as raw JSON events, resumable: reconnect from the last resourceVersion after a
dropped connection, re-list after 410 Gone, never deliver the same object version twice.

Each Stream runs in a thread and puts WatchItems on a shared queue (an event, a re-list, a note
that the watch was interrupted and is resuming, or that it gave up); the consumer keeps the caches.

Failures back off as client-go's reflector does: a watch that fails, ends within a second without
an event ("very short watch"), or is answered at once with 410 Gone is a failure; the next re-watch
(or re-list) waits 0.8 s doubling to 30 s, with ±50 % jitter; after 10 failures in a row the stream
gives up (GIVE_UP). A watch that delivered an event or stayed open for a second resets the count.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

WATCH_SECONDS = 240       # server-side timeout of one watch request; it is then renewed
SHORT_WATCH = 1.0         # a watch that ends sooner without an event is a failure (client-go's rule)

EVENT, RELIST, RECONNECT, GIVE_UP = "event", "relist", "reconnect", "give-up"


class Backoff(NamedTuple):
    """Waits between failed attempts: start·factor^(n-1), at most cap, times a jitter of ±jitter;
    `limit` failures in a row end the stream."""

    start: float = 0.8
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.5
    limit: int = 10

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        nominal = min(self.start * self.factor ** max(failures - 1, 0), self.cap)
        return nominal * (1 + self.jitter * (2 * rand() - 1))


BACKOFF = Backoff()


class WatchItem(NamedTuple):
    """One thing a Stream reports; build it with event(), relist() or reconnect()."""

    what: str                        # EVENT, RELIST, RECONNECT or GIVE_UP
    kind: str                        # the collection: "daemonsets", "pods", "nodes"
    event_type: str = ""             # EVENT: ADDED, MODIFIED or DELETED
    obj: Optional[dict] = None       # EVENT: the object as the event carries it
    items: Sequence[dict] = ()       # RELIST: every object of the collection now
    error: str = ""                  # RECONNECT, GIVE_UP: why the watch was interrupted (the last time)
    failures: int = 0                # GIVE_UP: the failures in a row

    @classmethod
    def event(cls, kind: str, event_type: str, obj: Optional[dict]) -> WatchItem:
        return cls(EVENT, kind, event_type=event_type, obj=obj)

    @classmethod
    def relist(cls, kind: str, items: Sequence[dict]) -> WatchItem:
        return cls(RELIST, kind, items=items)

    @classmethod
    def reconnect(cls, kind: str, error: str) -> WatchItem:
        return cls(RECONNECT, kind, error=error)

    @classmethod
    def give_up(cls, kind: str, error: str, failures: int) -> WatchItem:
        return cls(GIVE_UP, kind, error=error, failures=failures)


class Expired(Exception):
    """410 Gone: the resourceVersion is too old; a re-list is needed."""


class Stream(threading.Thread):
    """Follow one collection: `list_fn(**kw)` is the client's list function (watch=True watches);
    `lister()`, if given, re-lists it ((items, resourceVersion), bounded by the source's request
    timeout), else list_fn does; `request_timeout` bounds connecting and a raw re-list."""

    def __init__(self, kind: str, list_fn: Callable, out: queue.Queue, resource_version: str,
                 stop: threading.Event, lister: Optional[Callable[[], Tuple[List[dict], str]]] = None,
                 request_timeout: float = 10.0, backoff: Optional[Backoff] = None, **selectors):
        super().__init__(daemon=True, name=f"watch-{kind}")
        self.kind, self.list_fn, self.out, self.rv, self.stop = kind, list_fn, out, resource_version, stop
        self.lister, self.request_timeout = lister, request_timeout
        self.backoff = backoff or BACKOFF   # looked up now: tests swap the module's BACKOFF
        self.selectors = {k: v for k, v in selectors.items() if v}
        self.reconnects = 0
        self.relists = 0
        self.failures = 0        # in a row
        self.delays: List[float] = []   # every backoff wait, in order (tests read them)
        self.delivered = 0       # events (bookmarks included) of the current watch
        self.opened = 0.0        # when the current watch's response came
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
        relist = False
        while not self.stop.is_set():
            error = ""
            self.delivered, self.opened = 0, 0.0
            try:
                if relist:
                    self._relist()
                    relist = False
                self._watch_once()
                if not self.delivered and self._open_for() < SHORT_WATCH and not self.stop.is_set():
                    error = "the watch ended at once without an event"
            except Expired as gone:
                self.relists += 1
                relist = True
                if not self.delivered:   # at once: re-listing again right away would spin
                    error = f"410 Gone: {gone}" if str(gone) else "410 Gone"
            except Exception as err:  # noqa: BLE001 - connection resets, apiserver restarts, bad answers
                if self.stop.is_set():
                    return
                error = _one_line(err)
            if self.delivered or self._open_for() >= SHORT_WATCH:
                self.failures = 0   # that watch worked: what follows is a new run of failures
            if error and not self._failed(error):
                return

    def _open_for(self) -> float:
        return time.monotonic() - self.opened if self.opened else 0.0

    def _failed(self, error: str) -> bool:
        """Count a failure, say so, wait out the backoff; False when the stream gives up (or stops)."""
        self.failures += 1
        if self.failures >= self.backoff.limit:
            self.out.put(WatchItem.give_up(self.kind, error, self.failures))
            return False
        self.reconnects += 1
        self.out.put(WatchItem.reconnect(self.kind, error))
        delay = self.backoff.delay(self.failures)
        self.delays.append(delay)
        return not self.stop.wait(delay)

    def _relist(self) -> None:
        if self.lister is not None:
            items, rv = self.lister()
        else:
            page = json.loads(self.list_fn(_preload_content=False, **self.selectors).data)
            items, rv = page.get("items") or [], (page.get("metadata") or {}).get("resourceVersion", "")
        self.rv = rv
        self.seen = {(o.get("metadata") or {}).get("uid"): (o.get("metadata") or {}).get("resourceVersion")
                     for o in items}
        self.out.put(WatchItem.relist(self.kind, items))

    def _watch_once(self) -> None:
        resp = self.list_fn(watch=True, resource_version=self.rv, allow_watch_bookmarks=True,
                            timeout_seconds=WATCH_SECONDS, _preload_content=False,
                            _request_timeout=(self.request_timeout, WATCH_SECONDS + 30), **self.selectors)
        self.resp = resp
        self.opened = time.monotonic()
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
                        raise Expired(obj.get("message") or "")
                    raise RuntimeError(f"watch error: {obj.get('message')}")
                if etype not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
                    raise RuntimeError(f"the watch sent an event of type {str(etype)[:40]!r}")
                self.delivered += 1
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


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def wait_event(q: queue.Queue, timeout: Optional[float]) -> Optional[WatchItem]:
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        return None


def monotonic() -> float:
    return time.monotonic()
