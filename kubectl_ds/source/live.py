"""Live source: the apiserver through the kubeconfig (or in-cluster config), raw JSON only.

The official client is imported here and nowhere else, so `--help` and `--snapshot` runs never
pay for it, and only the parts of it that are used (source/client.py). Responses are read with
`_preload_content=False` and parsed as plain JSON: no
generated-model deserialization, which dominates the cost of large lists. LISTs are paginated.

Every wait is bounded by `--request-timeout` (`_bounded`): a request, its whole body and any
`Retry-After` it asks for, and the kubeconfig's exec credential plugin (`_Loader`). A failing
plugin is an error, never a request sent without the credentials the kubeconfig asked for.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import gc
import json
import logging
import os
import re
import subprocess
import threading
import time
import zlib
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from kubectl_ds.errors import DsError, NotFound
from kubectl_ds.source.client import api
from kubectl_ds.source.client import load as load_client

load_client()   # before anything here or in the caller imports kubernetes

PAGE_SIZE = 500
_SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
RETRY_AFTER_STATUSES = (429, 503)   # answers whose Retry-After is honoured, within the request's bound
MAX_RETRIES = 10                    # Retry-After retries of one request (client-go's maximum)
# Responses are asked for gzip-compressed, as client-go asks (docs/performance.md "Compression"):
# KUBECTL_DS_ACCEPT_ENCODING=identity turns it off (for measuring). A compressed body is inflated
# as it arrives, within the input limit (validate.max_input) and a ratio no JSON list reaches.
ACCEPT_ENCODING_ENV = "KUBECTL_DS_ACCEPT_ENCODING"
NODE_LEASE_NAMESPACE = "kube-node-lease"   # where each node's heartbeat Lease lives
GZIP_MAX_RATIO = 300                # inflated / compressed bytes beyond which a body is a gzip bomb...
GZIP_RATIO_FROM = 16 << 20          # ...once it has inflated to this many bytes
_READ = 1 << 16                     # bytes read off the socket at a time


class LiveSource:
    concurrent_reads = True   # its reads may run on threads at once (commands/why.py)
    # listed nodes and pods cut to the fields the core reads (source/projection.py); `dump` turns
    # it off: a dump outlives this version, whose successors may read more of each object
    projected = True

    def __init__(self, api_client, default_namespace: str = "default", request_timeout: float = 30.0):
        self.api_client = api_client
        self.accept_encoding = accept_encoding()
        if self.accept_encoding != "identity":
            api_client.set_default_header("Accept-Encoding", self.accept_encoding)
        self.core = api("CoreV1Api")(api_client)
        self.apps = api("AppsV1Api")(api_client)
        self.default_namespace = default_namespace
        self.timeout = request_timeout

    @classmethod
    def connect(cls, kubeconfig: Optional[str] = None, context: Optional[str] = None,
                request_timeout: float = 30.0) -> LiveSource:
        import urllib3
        from kubernetes import config
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration
        from kubernetes.config.config_exception import ConfigException
        _quiet_logging()
        path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        in_cluster = not kubeconfig and not os.environ.get("KUBECONFIG") and not os.path.exists(path) \
            and os.environ.get("KUBERNETES_SERVICE_HOST")
        try:
            if in_cluster:
                config.load_incluster_config()
                configuration = Configuration.get_default_copy()
                ns = open(_SA_NAMESPACE).read().strip() if os.path.exists(_SA_NAMESPACE) else "default"
            else:
                if kubeconfig and not os.path.exists(kubeconfig):
                    raise DsError(f"kubeconfig {kubeconfig} does not exist")
                configuration = _load_kubeconfig(kubeconfig, context, request_timeout)
                ns = _context_namespace(kubeconfig, context)
        except ConfigException as err:
            raise DsError(f"invalid kubeconfig: {_first_line(err)}") from None
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise DsError(f"invalid kubeconfig: {_first_line(err)}") from None
        except urllib3.exceptions.HTTPError as err:
            # credentials fetched over the network while loading (an OIDC token refresh)
            raise DsError(f"cannot get the kubeconfig's credentials: {_reason(err)}") from None
        # one retry of a broken connection; a Retry-After is not urllib3's to sleep on (unbounded):
        # _bounded honours it within --request-timeout. Set before the ApiClient makes its pool.
        configuration.retries = urllib3.util.Retry(total=1, respect_retry_after_header=False)
        return cls(ApiClient(configuration=configuration), ns, request_timeout)

    # --- reads ---------------------------------------------------------------------------

    def server_version(self) -> Tuple[Optional[dict], str]:
        """The apiserver's /version document (as `kubectl version -o json` prints it as
        serverVersion), or (None, why) when the server will not say."""
        return self._optional_get("/version", "the server version (/version)")

    def node_leases(self) -> List[dict]:
        """The nodes' Leases (namespace kube-node-lease), paginated and bounded as every list."""
        coordination = api("CoordinationV1Api")(self.api_client)
        return self._list(coordination.list_namespaced_lease, "leases", NODE_LEASE_NAMESPACE)

    def kubernetes_version(self) -> Tuple[Optional[str], str, str]:
        """The apiserver's gitVersion (GET /version, once per run): (text, "server", ""), or
        (None, "default", why) when the server will not say (forbidden, not served, no gitVersion)."""
        doc, why = self.server_version()
        text = doc.get("gitVersion") if isinstance(doc, dict) else None
        if isinstance(text, str) and text:
            return text, "server", ""
        return None, "default", why or "the apiserver's /version has no gitVersion"

    def optional_list(self, path: str, what: str) -> Tuple[Optional[List[dict]], str]:
        """A cluster-scoped list of a kind that a cluster may not serve or may not let us read
        (DeviceClasses, RuntimeClasses): (items, "") or (None, why it could not be read)."""
        doc, why = self._optional_get(path, what)
        if doc is None and why.startswith("this cluster does not serve"):
            return [], ""   # the API is not served: there are none
        if doc is None:
            return None, why
        items = doc.get("items") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            return None, f"cannot list {what} (the response is not a list)"
        return _slim([i for i in items if isinstance(i, dict)]), ""

    def _optional_get(self, path: str, what: str) -> Tuple[Optional[dict], str]:
        """GET a path whose absence or refusal is not an error: (document, "") or (None, why)."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        from kubectl_ds.source import validate
        try:
            resp = self._bounded(lambda timeout: self.api_client.call_api(
                path, "GET", auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                _request_timeout=timeout), "get", path, None)
            # the same boundary as every other response: a malformed DeviceClass or RuntimeClass is
            # skipped with a warning, not handed to the core
            doc = validate.response(resp.data, "get" if path == "/version" else "list", what)
        except ApiException as err:
            if err.status == 404 and path == "/version" and not _is_status(err):
                raise self._not_an_apiserver("get", path) from None   # every apiserver serves /version
            if err.status == 404:
                return None, f"this cluster does not serve {what}"
            if err.status == 401:   # the credentials are rejected: nothing else will be readable
                raise api_error(err, "get", path, None) from None
            if err.status == 403:
                return None, f"cannot read {what}: forbidden"
            return None, f"cannot read {what}: {err.status} {err.reason}"
        except urllib3.exceptions.HTTPError as err:
            raise self._unreachable(err, "get", path) from None
        except validate.Refused as why:
            raise DsError(f"get {what} from the apiserver: the response is refused: {why}") from None
        except ValueError:
            return None, f"cannot read {what}: the response is not JSON"
        return (doc, "") if isinstance(doc, dict) else (None, f"cannot read {what}: not a JSON object")

    def device_classes(self) -> Tuple[Optional[List[dict]], str]:
        return self.optional_list("/apis/resource.k8s.io/v1/deviceclasses", "deviceclasses")

    def runtime_classes(self) -> Tuple[Optional[List[dict]], str]:
        return self.optional_list("/apis/node.k8s.io/v1/runtimeclasses", "runtimeclasses")

    def node(self, name: str) -> dict:
        return self._get(self.core.read_node, "get", "nodes", name, name=name)

    def nodes(self, label_selector: str = "") -> List[dict]:
        return self._list(self.core.list_node, "nodes", None, label_selector=label_selector)

    def daemonset(self, namespace: str, name: str) -> dict:
        return self._get(self.apps.read_namespaced_daemon_set, "get", "daemonsets", name,
                         namespace=namespace, name=name)

    def daemonsets(self, namespace: Optional[str], label_selector: str = "", field_selector: str = "") -> List[dict]:
        fn = self.apps.list_daemon_set_for_all_namespaces if namespace is None \
            else self.apps.list_namespaced_daemon_set
        return self._list(fn, "daemonsets", namespace, label_selector=label_selector, field_selector=field_selector)

    def pods(self, namespace: Optional[str], label_selector: str = "", field_selector: str = "") -> List[dict]:
        fn = self.core.list_pod_for_all_namespaces if namespace is None else self.core.list_namespaced_pod
        return self._list(fn, "pods", namespace, label_selector=label_selector, field_selector=field_selector)

    def revisions(self, namespace: Optional[str], label_selector: str = "") -> List[dict]:
        fn = self.apps.list_controller_revision_for_all_namespaces if namespace is None \
            else self.apps.list_namespaced_controller_revision
        return self._list(fn, "controllerrevisions", namespace, label_selector=label_selector)

    def events(self, namespace: Optional[str], field_selector: str = "") -> List[dict]:
        fn = self.core.list_event_for_all_namespaces if namespace is None else self.core.list_namespaced_event
        return self._list(fn, "events", namespace, field_selector=field_selector)

    def controllers(self, namespace: Optional[str]) -> List[dict]:
        """Every controller that selects pods: DaemonSets, Deployments, StatefulSets, ReplicaSets,
        Jobs, ReplicationControllers (for migrate's preflight)."""
        batch = api("BatchV1Api")(self.api_client)
        out = [dict(d, kind="DaemonSet") for d in self.daemonsets(namespace)] + self.workloads(namespace)
        for kind, resource, fn in (("ReplicaSet", "replicasets", self.apps.list_namespaced_replica_set),
                                   ("Job", "jobs", batch.list_namespaced_job),
                                   ("ReplicationController", "replicationcontrollers",
                                    self.core.list_namespaced_replication_controller)):
            out += [dict(o, kind=kind) for o in self._list(fn, resource, namespace)]
        return out

    # --- watching (rollout --follow) -----------------------------------------------------

    def _list_fn(self, kind: str, namespace: Optional[str]) -> Callable:
        fns = {"pods": (self.core.list_pod_for_all_namespaces, self.core.list_namespaced_pod),
               "nodes": (self.core.list_node, None),
               "daemonsets": (self.apps.list_daemon_set_for_all_namespaces, self.apps.list_namespaced_daemon_set),
               "events": (self.core.list_event_for_all_namespaces, self.core.list_namespaced_event)}
        cluster_wide, namespaced = fns[kind]
        if namespace is None or namespaced is None:
            return cluster_wide
        return lambda **kw: namespaced(namespace=namespace, **kw)

    def list_with_version(self, kind: str, namespace: Optional[str], **selectors):
        """(items, resourceVersion) of a whole collection, to start a watch from."""
        fn = self._list_fn(kind, namespace)
        items: List[dict] = []
        cont, rv = None, ""
        while True:
            page = self._call(fn, "list", kind, namespace, limit=PAGE_SIZE, _continue=cont,
                              **{k: v for k, v in selectors.items() if v})
            items.extend(_kept(kind, page.get("items") or [], self.projected))
            rv = (page.get("metadata") or {}).get("resourceVersion", rv)
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return items, rv

    def stream(self, kind: str, namespace: Optional[str], out, resource_version: str, stop, **selectors):
        """A started watch thread for the collection (see source/watch.py)."""
        from kubectl_ds.source.watch import Stream
        s = Stream(kind, self._list_fn(kind, namespace), out, resource_version, stop,
                   lister=lambda: self.list_with_version(kind, namespace, **selectors),
                   request_timeout=self.timeout, **selectors)
        s.start()
        return s

    def workloads(self, namespace: Optional[str], label_selector: str = "") -> List[dict]:
        """Deployments, then StatefulSets. LIST items carry no `kind`: it is set here."""
        out: List[dict] = []
        for kind, resource, all_ns, in_ns in (
                ("Deployment", "deployments", self.apps.list_deployment_for_all_namespaces,
                 self.apps.list_namespaced_deployment),
                ("StatefulSet", "statefulsets", self.apps.list_stateful_set_for_all_namespaces,
                 self.apps.list_namespaced_stateful_set)):
            fn = all_ns if namespace is None else in_ns
            for item in self._list(fn, resource, namespace, label_selector=label_selector):
                item.setdefault("apiVersion", "apps/v1")
                item.setdefault("kind", kind)
                out.append(item)
        return out

    # --- plumbing ------------------------------------------------------------------------

    def _list(self, fn: Callable, resource: str, namespace: Optional[str], **selectors) -> List[dict]:
        kwargs: Dict = {k: v for k, v in selectors.items() if v}
        if namespace is not None:
            kwargs["namespace"] = namespace
        items: List[dict] = []
        with _gc_paused():
            for page in self._pages(fn, resource, namespace, **kwargs):
                items.extend(_kept(resource, page.get("items") or [], self.projected))
        return items

    def _get(self, fn: Callable, verb: str, resource: str, obj_name: str, **kwargs) -> dict:
        try:
            return self._call(fn, verb, resource, kwargs.get("namespace"), **kwargs)
        except _NotFoundSignal as missing:
            if not missing.status:   # a plain 404 page: not an apiserver's "no such object"
                raise self._not_an_apiserver(verb, f'{resource} "{obj_name}"') from None
            raise NotFound(resource[:-1], obj_name, kwargs.get("namespace", "")) from None

    def _call(self, fn: Callable, verb: str, resource: str, scope: Optional[str], **kwargs) -> dict:
        return self._parse(self._fetch(fn, verb, resource, scope, **kwargs), verb, resource, scope)

    def _fetch(self, fn: Callable, verb: str, resource: str, scope: Optional[str], **kwargs) -> bytes:
        """One request's whole body (inflated), within --request-timeout; errors as one line."""
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        with self._errors(verb, resource, scope):
            return self._bounded(lambda timeout: fn(_preload_content=False, _request_timeout=timeout, **kwargs),
                                 verb, resource, scope).data
        raise AssertionError("unreachable")   # pragma: no cover - _errors raises

    def _parse(self, data: bytes, verb: str, resource: str, scope: Optional[str]) -> dict:
        from kubectl_ds.source import validate
        with self._errors(verb, resource, scope):
            return validate.response(data, verb, resource)   # parsed and checked: the boundary
        raise AssertionError("unreachable")   # pragma: no cover - _errors raises

    @contextlib.contextmanager
    def _errors(self, verb: str, resource: str, scope: Optional[str]):
        """A failed request or a bad body as the one error line it is."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        from kubectl_ds.source import validate
        try:
            yield
        except ApiException as err:
            if err.status == 404 and verb == "get":
                raise _NotFoundSignal(_is_status(err)) from None
            if err.status == 404 and not _is_status(err):
                raise self._not_an_apiserver(verb, resource) from None
            raise api_error(err, verb, resource, scope) from None
        except urllib3.exceptions.HTTPError as err:
            raise self._unreachable(err, verb, resource) from None
        except validate.Refused as why:
            raise DsError(f"{verb} {resource} from the apiserver: the response is refused: {why}") from None
        except ValueError as err:
            raise DsError(f"the apiserver sent a response that is not JSON for {verb} {resource}: {err}") from None

    def _pages(self, fn: Callable, resource: str, scope: Optional[str], **kwargs):
        """The pages of a LIST, parsed, one by one; the next page is asked for as soon as the
        current one has arrived (its `continue` token is read from the head of the raw body, before
        the items), so that it travels while this one is parsed: the round trip and the
        apiserver's own work overlap the parsing instead of adding to it. Pagination is kept
        (never resourceVersion=0, which ignores `limit`)."""
        def fetch(token):
            return self._fetch(fn, "list", resource, scope, limit=PAGE_SIZE, _continue=token, **kwargs)
        ahead: Optional[_Later] = None
        token = None
        body = fetch(None)
        while True:
            guess = _continue_in(body)
            if guess:
                ahead = _Later(fetch, guess)
            page = self._parse(body, "list", resource, scope)
            token = (page.get("metadata") or {}).get("continue")
            yield page
            if not token:
                return
            if ahead is not None and guess == token:
                body = ahead.result()
            else:   # the head did not say (or said otherwise): ask for the page the metadata names
                body = fetch(token)
            ahead = None

    def _bounded(self, send: Callable, verb: str, resource: str, scope: Optional[str]) -> _Body:
        """`send(timeout)` (a client call with _preload_content=False) and its whole body, within
        --request-timeout: kubectl's bound on a whole request, not urllib3's on each read, which a
        server trickling bytes never reaches. A 429/503's Retry-After is waited for only when the
        retry still fits in the bound; otherwise it is the error."""
        from kubernetes.client.exceptions import ApiException
        deadline = time.monotonic() + self.timeout
        for attempt in range(MAX_RETRIES + 1):
            try:
                return _within(deadline, send)
            except _Deadline:
                raise self._timed_out(verb, resource) from None
            except ApiException as err:
                wait = _retry_after(err) if err.status in RETRY_AFTER_STATUSES else None
                if wait is None or attempt == MAX_RETRIES:
                    raise
                if time.monotonic() + wait >= deadline:
                    base = api_error(err, verb, resource, scope).message
                    raise DsError(f"{base} (the apiserver asked to retry after {wait:g}s, beyond "
                                  f"--request-timeout {self.timeout:g}s)") from None
                time.sleep(wait)
        raise AssertionError("unreachable")   # pragma: no cover - the loop returns or raises

    def _host(self) -> str:
        return self.api_client.configuration.host

    def _timed_out(self, verb: str, resource: str) -> DsError:
        return DsError(f"cannot reach the apiserver at {self._host()}: timed out (no complete answer to "
                       f"{verb} {resource} within --request-timeout {self.timeout:g}s)")

    def _unreachable(self, err, verb: str, resource: str) -> DsError:
        reason = _reason(err)
        if reason == "timed out":
            return self._timed_out(verb, resource)
        return DsError(f"cannot reach the apiserver at {self._host()}: {reason}")

    def _not_an_apiserver(self, verb: str, what: str) -> DsError:
        return DsError(f"the server at {self._host()} answered 404 Not Found for the API path ({verb} {what}) "
                       "with a plain page, not a Kubernetes Status: is the kubeconfig's server URL an apiserver's?")


class _Body(NamedTuple):
    data: bytes   # a response's whole body, as `resp.data` reads it


class _Deadline(Exception):
    pass


class _Later:
    """fn(*args) on a thread; result() waits for it and returns its value or raises its error."""

    def __init__(self, fn: Callable, *args):
        self.box: dict = {}
        self.thread = threading.Thread(target=self._run, args=(fn, args), daemon=True, name="kds-next-page")
        self.thread.start()

    def _run(self, fn, args):
        try:
            self.box["value"] = fn(*args)
        except BaseException as err:  # noqa: BLE001 - raised by result()
            self.box["error"] = err

    def result(self):
        self.thread.join()
        if "error" in self.box:
            raise self.box["error"]
        return self.box["value"]


_CONTINUE = re.compile(rb'"continue"\s*:\s*"([A-Za-z0-9+/=_.-]+)"')


def _continue_in(body: bytes) -> Optional[str]:
    """The `continue` token of a LIST body from its head (an apiserver writes metadata before the
    items), None when the head does not say; only a guess: the parsed metadata has the last word."""
    head = body[:4096].split(b'"items"', 1)
    if len(head) < 2:
        return None
    found = _CONTINUE.search(head[0])
    return found.group(1).decode() if found else None


def accept_encoding() -> str:
    """What the requests ask for: gzip (client-go's default) unless KUBECTL_DS_ACCEPT_ENCODING says
    identity."""
    value = os.environ.get(ACCEPT_ENCODING_ENV, "").strip().lower() or "gzip"
    if value not in ("gzip", "identity"):
        raise DsError(f"{ACCEPT_ENCODING_ENV}={value!r} is not gzip or identity")
    return value


def read_body(resp, limit: Optional[int] = None) -> bytes:
    """A response's whole body, inflated as it arrives when it came gzip-compressed, refused
    (validate.Refused) beyond the input limit (KUBECTL_DS_MAX_INPUT, counted after inflating) or
    when it inflates more than GZIP_MAX_RATIO times its size: a gzip bomb is cut off early, never
    held whole in memory."""
    from kubectl_ds.source import validate
    limit = validate.max_input() if limit is None else limit
    too_big = validate.Refused(f"larger than {validate._size(limit)}, the input limit "
                               "(KUBECTL_DS_MAX_INPUT raises it)")
    headers = getattr(resp, "headers", None) or {}
    encoding = str(headers.get("Content-Encoding") or "identity").strip().lower()
    if not hasattr(resp, "stream"):   # not a urllib3 response (a test double): as it was read
        data = resp.data
        if len(data) > limit:
            raise too_big
        return data
    if encoding in ("identity", ""):
        chunks: List[bytes] = []
        size = 0
        for chunk in resp.stream(_READ, decode_content=False):
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)
    if encoding not in ("gzip", "x-gzip"):
        raise validate.Refused(f"it is encoded as {encoding!r}, which was not asked for")
    try:
        return _inflate(resp.stream(_READ, decode_content=False), limit, too_big)
    except zlib.error as err:
        raise validate.Refused(f"its gzip compression is corrupt ({err})") from None


def _inflate(stream, limit: int, too_big: Exception) -> bytes:
    """The gzip chunks of `stream` inflated one by one, never more than `limit` bytes in all."""
    from kubectl_ds.source import validate
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)   # the gzip wrapper
    chunks: List[bytes] = []
    size = taken = 0
    for chunk in stream:
        taken += len(chunk)
        data = chunk
        while data and not inflate.eof:
            out = inflate.decompress(data, limit + 1 - size)
            size += len(out)
            if size > limit:
                raise too_big
            if size > GZIP_RATIO_FROM and size > GZIP_MAX_RATIO * taken:
                raise validate.Refused(f"it inflates more than {GZIP_MAX_RATIO} times its compressed "
                                       "size (a gzip bomb?)")
            chunks.append(out)
            data = inflate.unconsumed_tail
    chunks.append(inflate.flush())
    if not inflate.eof:
        raise validate.Refused("its gzip compression ends early")
    return b"".join(chunks)

def _within(deadline: float, send: Callable) -> _Body:
    """Run send((connect, read) timeouts) and read the whole body in a worker thread; give up at
    `deadline` (the worker's socket is shut, or it ends at its own per-read timeout)."""
    box: dict = {}
    done = threading.Event()

    def work():
        try:
            left = max(deadline - time.monotonic(), 0.01)
            # a (connect, read) pair: clients before 36 ignore a float timeout (they test for int)
            resp = box["resp"] = send((left, left))
            box["body"] = _Body(read_body(resp))
        except BaseException as err:  # noqa: BLE001 - handed to the caller as is
            box["error"] = err
        finally:
            done.set()

    threading.Thread(target=work, daemon=True, name="kds-request").start()
    if not done.wait(max(deadline - time.monotonic(), 0)):
        _abort(box.get("resp"))
        raise _Deadline()
    if "error" in box:
        raise box["error"]
    return box["body"]


def _abort(resp) -> None:
    """Unblock a worker reading a response body: shut its socket (urllib3 2.3+), else close it."""
    if resp is None:
        return
    for method in ("shutdown", "close"):
        try:
            getattr(resp, method, lambda: None)()
        except Exception:  # noqa: BLE001 - best effort on a connection being abandoned
            pass


def _retry_after(err) -> Optional[float]:
    """The seconds of an answer's Retry-After (seconds or an HTTP date), None without one."""
    value = (err.headers or {}).get("Retry-After") if hasattr(err.headers or {}, "get") else None
    if not value:
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:   # NaN
        return None
    return min(max(seconds, 0.1), 1e9)   # at least a pause: "Retry-After: 0" is no licence to spin


def _is_status(err) -> bool:
    """Whether an error answer's body is a Kubernetes Status (an apiserver's), not a web page."""
    try:
        doc = json.loads(err.body)
    except (TypeError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Status"


class _NotFoundSignal(Exception):
    def __init__(self, status: bool = True):
        super().__init__()
        self.status = status   # the 404 came with a Kubernetes Status (the object does not exist)


_GC_LOCK = threading.Lock()
_GC_PAUSES = [0, False]   # lists running with the collector paused; whether it was enabled before


@contextlib.contextmanager
def _gc_paused():
    """The cyclic garbage collector paused while a list is read, and what was read left out of its
    later passes (gc.freeze). Parsed JSON holds no cycles (reference counting frees it), but every
    few hundred new dicts the collector walks the young ones, and now and then every tracked object:
    on 5,000 nodes and their pods, a third of the CPU of `diff` went to passes that found nothing."""
    with _GC_LOCK:
        if _GC_PAUSES[0] == 0:
            _GC_PAUSES[1] = gc.isenabled()
            gc.disable()
        _GC_PAUSES[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES[0] -= 1
            if _GC_PAUSES[0] == 0:
                gc.freeze()   # long-lived from here on: never walked again (still freed when unused)
                if _GC_PAUSES[1]:
                    gc.enable()


def _kept(resource: str, items: List[dict], project: bool = True) -> List[dict]:
    """What is kept of a LIST page's items: nodes and pods projected to the fields the core reads
    (source/projection.py) unless `project` is off, anything else slimmed."""
    from kubectl_ds.source import projection
    if project and resource in projection.RESOURCES and projection.enabled():
        return projection.project(resource, items)
    return _slim(items)


def _slim(items: List[dict]) -> List[dict]:
    """Drop metadata.managedFields from listed objects, page by page, as they arrive.

    No command reads them (kubectl hides them too), and they are a third to a half of a node's or
    pod's JSON: on 5,000 nodes and their pods this is the difference in peak memory.
    """
    for item in items:
        meta = item.get("metadata")
        if meta:
            meta.pop("managedFields", None)
    return items


def api_error(err, verb: str, resource: str, namespace: Optional[str]) -> DsError:
    """One line for an ApiException: what was refused, and the server's own words."""
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    try:
        message = json.loads(err.body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        message = err.reason or ""
    if not err.status:   # raised by the client itself (a TLS failure): its reason is several lines
        return DsError(f"cannot reach the apiserver: {_reason(' '.join(str(err.reason or '').split()))}")
    if err.status == 401:
        return DsError(f"Unauthorized: the apiserver rejected the credentials ({verb} {resource})")
    if err.status == 403:
        return DsError(f"forbidden: cannot {verb} {resource}{scope}: {message}")
    return DsError(f"{verb} {resource}{scope} failed: {err.status} {message or err.reason}")


def _reason(err) -> str:
    inner = getattr(err, "reason", None) or err
    text = str(inner)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS certificate verification failed"
    if "IncompleteRead" in text or "Connection broken" in text:
        return "the connection broke before the whole answer was read"
    return _first_line(text)


def _first_line(err) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _context_namespace(kubeconfig: Optional[str], context: Optional[str]) -> str:
    from kubernetes import config
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except Exception:  # noqa: BLE001 - the namespace is a nicety; the client already loaded
        return "default"
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    return ((chosen or {}).get("context") or {}).get("namespace") or "default"


# --- credentials -------------------------------------------------------------------------

def _quiet_logging() -> None:
    """No `ERROR:root:` or urllib3 retry lines on stderr: the client logs through `logging`, and a
    root logger without handlers prints to stderr; what matters is raised as one error line."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    for name in ("urllib3", "kubernetes"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


_KUBECONFIGS: Dict[tuple, object] = {}
_KUBECONFIGS_LOCK = threading.Lock()


def merged_kubeconfig(path: Optional[str]):
    """The kubeconfig's files merged as the client merges them (KubeConfigMerger: --kubeconfig,
    else $KUBECONFIG's files, else ~/.kube/config), parsed once per process while no file changes:
    fleet mode opens one client per context from the same files."""
    from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION, KubeConfigMerger
    where = path or KUBE_CONFIG_DEFAULT_LOCATION
    stamp: List[Tuple[str, Optional[int]]] = []
    for name in (os.path.expanduser(p) for p in where.split(os.pathsep) if p):
        try:
            stamp.append((name, os.stat(name).st_mtime_ns))
        except OSError:
            stamp.append((name, None))
    key = (where, tuple(stamp))
    with _KUBECONFIGS_LOCK:
        merged = _KUBECONFIGS.get(key)
        if merged is None:
            merged = _KUBECONFIGS[key] = KubeConfigMerger(where)
    return merged


def _load_kubeconfig(path: Optional[str], context: Optional[str], timeout: float):
    """The client Configuration of a kubeconfig, as `config.new_client_from_config` makes it, except
    that its exec credential plugin runs under `timeout` and its failure is an error (_Loader)."""
    from kubernetes.client.configuration import Configuration
    from kubernetes.config.config_exception import ConfigException
    merged = merged_kubeconfig(path)
    if merged.config is None:
        raise ConfigException("Invalid kube-config file. No configuration found.")
    loader = _loader_class()(config_dict=merged.config, config_base_path=None, active_context=context,
                             config_persister=merged.save_changes)
    loader.exec_timeout = timeout
    configuration = type.__call__(Configuration)   # not a copy of the process-wide default
    loader.load_and_set(configuration)
    return configuration


def _loader_class():
    from kubernetes.config.kube_config import FileOrData, KubeConfigLoader, parse_rfc3339

    class _Loader(KubeConfigLoader):
        """The client's loader, but its exec plugin is bounded and cannot fail silently (the
        client logs the failure and goes on without credentials)."""

        exec_timeout = 30.0

        def _load_from_exec_plugin(self):
            if "exec" not in self._user:
                return None
            base_path = self._get_base_path(self._cluster.path)
            status = run_exec_plugin(self._user["exec"], base_path, self._cluster, self.exec_timeout)
            if isinstance(status.get("token"), str) and status["token"]:
                self.token = f"Bearer {status['token']}"
            else:
                for key in ("cert_file", "key_file"):
                    data_key = "clientCertificateData" if key == "cert_file" else "clientKeyData"
                    setattr(self, key, FileOrData(status, None, data_key_name=data_key, file_base_path=base_path,
                                                  base64_file_content=False,
                                                  temp_file_path=self._temp_file_path).as_file())
            if "expirationTimestamp" in status:
                try:
                    self.expiry = parse_rfc3339(status["expirationTimestamp"])
                except (TypeError, ValueError) as err:
                    raise _plugin_error(self._user["exec"], f"printed an invalid expirationTimestamp ({err})") \
                        from None
            return True

    return _Loader


def _plugin_name(exec_config) -> str:
    try:
        return str(exec_config["command"])
    except Exception:  # noqa: BLE001 - a ConfigNode without the key
        return "?"


def _plugin_error(exec_config, what: str) -> DsError:
    return DsError(f'exec credential plugin "{_plugin_name(exec_config)}" {what}')


def run_exec_plugin(exec_config, base_path: str, cluster, timeout: float) -> dict:
    """Run a kubeconfig's exec credential plugin (users[].user.exec) under `timeout`; its
    ExecCredential status (a token, or a client certificate and key), or one error line naming
    the plugin and what it said (the last line of its stderr)."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.exec_provider import ExecProvider
    try:
        provider = ExecProvider(exec_config, base_path, cluster)
    except (ConfigException, KeyError, TypeError) as err:
        raise _plugin_error(exec_config, f"is misconfigured in the kubeconfig: {_first_line(err)}") from None
    info = {"apiVersion": provider.api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    if provider.cluster:
        info["spec"]["cluster"] = provider.cluster.value
    env = dict(provider.env, KUBERNETES_EXEC_INFO=json.dumps(info))
    try:
        proc = _run_plugin(provider.args, provider.cwd, env, timeout)
    except FileNotFoundError:
        raise _plugin_error(exec_config, "was not found (kubeconfig users[].user.exec.command)") from None
    except subprocess.TimeoutExpired:
        raise _plugin_error(exec_config, f"did not answer within --request-timeout {timeout:g}s") from None
    except OSError as err:
        raise _plugin_error(exec_config, f"cannot be run: {err.strerror or err}") from None
    said = _last_line(proc.stderr)
    if proc.returncode != 0:
        raise _plugin_error(exec_config, f"failed (exit {proc.returncode})" + (f": {said}" if said else ""))
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        shown = _last_line(proc.stdout)[:80]
        raise _plugin_error(exec_config, "printed something that is not an ExecCredential (not JSON"
                            + (f": {shown!r})" if shown else ": nothing)")) from None
    status = doc.get("status") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential" or not isinstance(status, dict):
        raise _plugin_error(exec_config, "printed JSON that is not an ExecCredential with a status")
    if doc.get("apiVersion") != provider.api_version:
        raise _plugin_error(exec_config, f"answered in {doc.get('apiVersion')}, not the kubeconfig's "
                                         f"{provider.api_version}")
    has_token = isinstance(status.get("token"), str) and status["token"]
    has_cert = all(isinstance(status.get(k), str) and status[k] for k in ("clientCertificateData", "clientKeyData"))
    if not has_token and not has_cert:
        raise _plugin_error(exec_config, "printed an ExecCredential with neither a token nor a client "
                                         "certificate and key")
    return status


def _run_plugin(args, cwd, env, timeout: float) -> subprocess.CompletedProcess:
    """Run the plugin; "Text file busy" (a plugin being written, or a fork elsewhere in this
    process still holding the file open for writing) is retried for up to a second."""
    deadline = time.monotonic() + min(1.0, timeout)
    while True:
        try:
            return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, cwd=cwd, env=env,
                                  timeout=timeout)
        except OSError as err:
            if err.errno != errno.ETXTBSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _last_line(data) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
