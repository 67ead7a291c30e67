"""A misbehaving apiserver on loopback, for the live source's fault tests (tests/unit/test_live_faults.py).

`http.server` in a thread on 127.0.0.1 (plain HTTP: the kubeconfig says http://127.0.0.1:PORT). It
serves a tiny cluster (`world()`: two nodes, one DaemonSet mid-rollout, its pods and revisions) the
way the apiserver does (GET of an object, LISTs, `watch=true` streams; NotFound as a Status), until
a test sets a fault:

    api.fault = "401" | "403" | "404-text" | "429" | "500" | "garbage" | "truncated" | "trickle"
                | "items-not-a-list" | "watch-410" | "hang" | "gzip-bomb"

LISTs longer than their `limit` are cut in pages (`continue` is an offset); `api.metadata_last`
writes a LIST's metadata after its items. `api.delay` (seconds) holds every answer that long, as a server far away does.
`api.gzip = True` answers gzip-compressed (Content-Encoding: gzip) whenever the request's
Accept-Encoding allows it, as an apiserver does for large responses; each request's Accept-Encoding
is recorded in `api.accept_encoding`. The "gzip-bomb" fault answers a LIST with a small gzip body
that inflates to 4 GiB of JSON whitespace.

A fault applies (to the first `api.fault_times` requests, if set) to the API paths (/api, /apis);
`/version` answers normally unless `api.fault_version` is set (a real apiserver serves /version to
everyone). Every request is
recorded in `api.requests` as (monotonic time, method, path with query), its Authorization header
in `api.authorization`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import yaml

from tests import builders as b

FAULTS = ("401", "403", "404-text", "429", "500", "garbage", "truncated", "trickle", "items-not-a-list",
          "watch-410", "hang", "gzip-bomb")
RETRY_AFTER = 3600   # the "429" fault's Retry-After, in seconds: far beyond any --request-timeout


def world() -> Dict[str, List[dict]]:
    """Collections by resource: a DaemonSet half rolled out over two nodes (rollout follows it)."""
    ds = b.daemonset("agent", generation=2, template_generation=2,
                     status={"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2,
                             "numberAvailable": 2, "updatedNumberScheduled": 0, "observedGeneration": 2})
    ds["metadata"]["resourceVersion"] = "100"
    return {"nodes": [b.node("n1"), b.node("n2")],
            "daemonsets": [ds],
            "pods": [b.daemon_pod(ds, n, hash="5d9f8c7b6", suffix=f"old-{n}", generation=1) for n in ("n1", "n2")],
            "controllerrevisions": [b.revision(ds, "5d9f8c7b6", 1, image="registry.example/agent:0.9"),
                                    b.revision(ds, "7c6b5d4f8", 2)],
            "events": [], "deployments": [], "statefulsets": [], "replicasets": [], "jobs": [],
            "replicationcontrollers": []}


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


class FakeApi:
    def __init__(self):
        self.fault: Optional[str] = None
        self.fault_version = False
        self.fault_times: Optional[int] = None   # the fault answers only this many requests (None: all)
        self.retry_after = RETRY_AFTER
        self.objects = world()
        self.requests: List[Tuple[float, str, str]] = []
        self.authorization: List[Optional[str]] = []   # each request's Authorization header
        self.pages: List[Tuple[str, Optional[str]]] = []   # LISTs answered: (resource, continue)
        self.metadata_last = False                    # a LIST's metadata after its items
        self.delay = 0.0                              # seconds before each API answer (a far server)
        self.gzip = False                             # compress answers when the client accepts gzip
        self.accept_encoding: List[Optional[str]] = []   # each request's Accept-Encoding header
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True, name="fakeapi")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def record(self, method: str, path: str, authorization: Optional[str] = None,
               accept_encoding: Optional[str] = None) -> None:
        with self._lock:
            self.requests.append((time.monotonic(), method, path))
            self.authorization.append(authorization)
            self.accept_encoding.append(accept_encoding)

    def count(self, watch: Optional[bool] = None) -> int:
        with self._lock:
            reqs = list(self.requests)
        if watch is None:
            return len(reqs)
        return sum(1 for _, _, p in reqs if ("watch=true" in p.lower()) == watch)

    def kubeconfig(self, directory, user: Optional[dict] = None, namespace: str = "default") -> str:
        """A kubeconfig file in `directory` for this server (user: the users[].user entry)."""
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
               "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
               "users": [{"name": "u", "user": user if user is not None else {"token": "t"}}],
               "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u", "namespace": namespace}}]}
        path = directory / "kubeconfig"
        path.write_text(yaml.safe_dump(cfg))
        return str(path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):   # a client that hung up: not the test's business
        pass


def _handler(api: FakeApi):
    return type("Handler", (_Handler,), {"api": api})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: FakeApi

    def log_message(self, *args):   # quiet
        pass

    def do_GET(self):
        api = self.api
        api.record("GET", self.path, self.headers.get("Authorization"), self.headers.get("Accept-Encoding"))
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        fault = api.fault if (url.path.startswith(("/api/", "/apis/")) or api.fault_version) else None
        if fault and api.fault_times is not None:
            fault, api.fault_times = (fault, api.fault_times - 1) if api.fault_times > 0 else (None, 0)
        if self.api.delay and url.path.startswith(("/api/", "/apis/", "/version")):
            time.sleep(self.api.delay)
        try:
            if fault:
                if fault not in FAULTS:
                    raise AssertionError(f"unknown fault {fault!r} (one of {FAULTS})")
                return getattr(self, "_fault_" + fault.replace("-", "_"))(url.path, query)
            if url.path == "/version":
                return self._json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.13"})
            return self._serve(url.path, query)
        except (BrokenPipeError, ConnectionResetError):
            return None

    # --- the normal answers ------------------------------------------------------------------

    def _serve(self, path: str, query: dict):
        parts = [p for p in path.split("/") if p]
        # /api/v1[/namespaces/NS]/RESOURCE[/NAME], /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME]
        rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or rest[0] not in self.api.objects:
            return self._text(404, "404 page not found\n")
        resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
        items = [o for o in self.api.objects[resource] if ns is None or o["metadata"].get("namespace") == ns]
        if name is not None:
            found = [o for o in items if o["metadata"]["name"] == name]
            if not found:
                return self._json(404, _status(404, "NotFound", f'{resource} "{name}" not found'))
            return self._json(200, found[0])
        selected = query.get("fieldSelector", "")
        if selected.startswith("metadata.name="):
            items = [o for o in items if o["metadata"]["name"] == selected.split("=", 1)[1]]
        if query.get("watch", "").lower() == "true":
            return self._watch(None)
        meta: dict = {"resourceVersion": "200"}
        limit, start = int(query.get("limit") or 0), int(query.get("continue") or 0)
        if limit and len(items) > limit:   # pages, as the apiserver cuts them (continue: an offset here)
            items, rest = items[start:start + limit], len(items) - start - limit
            if rest > 0:
                meta.update({"continue": str(start + limit), "remainingItemCount": rest})
        self.api.pages.append((resource, query.get("continue")))
        if self.api.metadata_last:
            return self._json(200, {"kind": "List", "apiVersion": "v1", "items": items, "metadata": meta})
        return self._json(200, {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": items})

    def _watch(self, events: Optional[List[dict]]):
        """A watch: `events` then the end of the stream; None: no events, open until the server stops."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events or []:
            self._chunk(json.dumps(event).encode() + b"\n")
        if events is None:
            self.api.stopping.wait(60)
        self._chunk(b"")

    def _chunk(self, data: bytes):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # --- the faults (one method each: _fault_ + the name, "-" as "_") -------------------------

    def _fault_401(self, path, query):
        self._json(401, _status(401, "Unauthorized", "Unauthorized"))

    def _fault_403(self, path, query):
        self._json(403, _status(403, "Forbidden", 'nodes is forbidden: User "u" cannot get resource "nodes" '
                                                  'in API group "" at the cluster scope'))

    def _fault_404_text(self, path, query):   # a web server that is not an apiserver
        self._text(404, "404 page not found\n")

    def _fault_429(self, path, query):
        self._json(429, _status(429, "TooManyRequests", "too many requests, please try again later"),
                   {"Retry-After": str(self.api.retry_after)})

    def _fault_500(self, path, query):
        self._json(500, _status(500, "InternalError", "etcdserver: request timed out"))

    def _fault_garbage(self, path, query):
        self._text(200, "<html><body>Welcome to nginx!</body></html>\n", "text/html")

    def _fault_truncated(self, path, query):   # half the promised Content-Length, then the end
        body = json.dumps({"kind": "NodeList", "items": [b.node("n1")] * 5}).encode()
        self._head(200, "application/json", len(body))
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _fault_trickle(self, path, query):   # the headers at once, then one byte every 0.2 s, forever
        self._head(200, "application/json", 10 ** 9)
        self.wfile.write(b'{"kind": "NodeList", "items": [')
        while not self.api.stopping.wait(0.2):
            self.wfile.write(b" ")
            self.wfile.flush()
        self.close_connection = True

    def _fault_hang(self, path, query):   # reads the request, never answers
        self.api.stopping.wait(60)
        self.close_connection = True

    def _fault_items_not_a_list(self, path, query):
        if path.rstrip("/").split("/")[-1] in self.api.objects:   # a LIST
            return self._json(200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                    "items": {"n1": {}}})
        return self._serve(path, query)

    def _fault_watch_410(self, path, query):   # LISTs answer; every watch is at once 410 Gone
        if query.get("watch", "").lower() == "true":
            return self._watch([{"type": "ERROR", "object": _status(
                410, "Expired", f"too old resource version: {query.get('resourceVersion')} (300)")}])
        return self._serve(path, query)

    def _fault_gzip_bomb(self, path, query):   # ~4 MB on the wire, 4 GiB once inflated
        squeeze = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        head = squeeze.compress(b'{"kind": "NodeList", "items": [') + squeeze.flush(zlib.Z_FULL_FLUSH)
        # a fully flushed block refers to nothing before it: the same bytes can follow themselves
        block = squeeze.compress(b" " * (1 << 20)) + squeeze.flush(zlib.Z_FULL_FLUSH)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(head)
        for _ in range(4096):
            if self.api.stopping.is_set():
                break
            self._chunk(block)
        self._chunk(squeeze.compress(b"]}") + squeeze.flush())
        self._chunk(b"")

    # --- writing -----------------------------------------------------------------------------

    def _json(self, code: int, doc: dict, headers: Optional[dict] = None):
        self._send(code, json.dumps(doc).encode(), "application/json", headers)

    def _text(self, code: int, text: str, ctype: str = "text/plain; charset=utf-8"):
        self._send(code, text.encode(), ctype)

    def _head(self, code: int, ctype: str, length: int, headers: Optional[dict] = None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _send(self, code: int, body: bytes, ctype: str, headers: Optional[dict] = None):
        accepted = [e.split(";")[0].strip() for e in (self.headers.get("Accept-Encoding") or "").split(",")]
        if self.api.gzip and "gzip" in accepted:
            body = gzip.compress(body)
            headers = dict(headers or {}, **{"Content-Encoding": "gzip"})
        self._head(code, ctype, len(body), headers)
        self.wfile.write(body)
