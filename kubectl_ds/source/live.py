"""Live source: the apiserver through the kubeconfig (or in-cluster config), raw JSON only.

The official client is imported here and nowhere else, so `--help` and `--snapshot` runs never
pay for it, and only the parts of it that are used (source/client.py). Responses are read with
`_preload_content=False` and parsed as plain JSON: no
generated-model deserialization, which dominates the cost of large lists. LISTs are paginated.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Dict, List, Optional, Tuple

from kubectl_ds.errors import DsError, NotFound
from kubectl_ds.source.client import api
from kubectl_ds.source.client import load as load_client

load_client()   # before anything here or in the caller imports kubernetes

PAGE_SIZE = 500
_SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class LiveSource:
    def __init__(self, api_client, default_namespace: str = "default", request_timeout: float = 30.0):
        self.api_client = api_client
        self.core = api("CoreV1Api")(api_client)
        self.apps = api("AppsV1Api")(api_client)
        self.default_namespace = default_namespace
        self.timeout = request_timeout

    @classmethod
    def connect(cls, kubeconfig: Optional[str] = None, context: Optional[str] = None,
                request_timeout: float = 30.0) -> LiveSource:
        import urllib3
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException
        path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        in_cluster = not kubeconfig and not os.environ.get("KUBECONFIG") and not os.path.exists(path) \
            and os.environ.get("KUBERNETES_SERVICE_HOST")
        try:
            if in_cluster:
                config.load_incluster_config()
                from kubernetes.client.api_client import ApiClient
                api_client = ApiClient()
                ns = open(_SA_NAMESPACE).read().strip() if os.path.exists(_SA_NAMESPACE) else "default"
            else:
                if kubeconfig and not os.path.exists(kubeconfig):
                    raise DsError(f"kubeconfig {kubeconfig} does not exist")
                api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
                ns = _context_namespace(kubeconfig, context)
        except ConfigException as err:
            raise DsError(f"invalid kubeconfig: {_first_line(err)}") from None
        except (OSError, ValueError, TypeError, KeyError) as err:
            raise DsError(f"invalid kubeconfig: {_first_line(err)}") from None
        except urllib3.exceptions.HTTPError as err:
            # credentials fetched over the network while loading (an OIDC token refresh)
            raise DsError(f"cannot get the kubeconfig's credentials: {_reason(err)}") from None
        api_client.configuration.retries = 1
        return cls(api_client, ns, request_timeout)

    # --- reads ---------------------------------------------------------------------------

    def kubernetes_version(self) -> Tuple[Optional[str], str, str]:
        """The apiserver's gitVersion (GET /version, once per run): (text, "server", ""), or
        (None, "default", why) when the server will not say (forbidden, not served, no gitVersion)."""
        doc, why = self._optional_get("/version", "the server version (/version)")
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
        try:
            resp = self.api_client.call_api(path, "GET", auth_settings=["BearerToken"], _preload_content=False,
                                            _return_http_data_only=True,
                                            _request_timeout=(self.timeout, self.timeout))
            doc = json.loads(resp.data)
        except ApiException as err:
            if err.status == 404:
                return None, f"this cluster does not serve {what}"
            if err.status in (401, 403):
                return None, f"cannot read {what}: forbidden"
            return None, f"cannot read {what}: {err.status} {err.reason}"
        except urllib3.exceptions.HTTPError as err:
            host = self.api_client.configuration.host
            raise DsError(f"cannot reach the apiserver at {host}: {_reason(err)}") from None
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
            items.extend(_slim(page.get("items") or []))
            rv = (page.get("metadata") or {}).get("resourceVersion", rv)
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return items, rv

    def stream(self, kind: str, namespace: Optional[str], out, resource_version: str, stop, **selectors):
        """A started watch thread for the collection (see source/watch.py)."""
        from kubectl_ds.source.watch import Stream
        s = Stream(kind, self._list_fn(kind, namespace), out, resource_version, stop, **selectors)
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
        cont = None
        while True:
            page = self._call(fn, "list", resource, namespace, limit=PAGE_SIZE, _continue=cont, **kwargs)
            items.extend(_slim(page.get("items") or []))
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return items

    def _get(self, fn: Callable, verb: str, resource: str, obj_name: str, **kwargs) -> dict:
        try:
            return self._call(fn, verb, resource, kwargs.get("namespace"), **kwargs)
        except _NotFoundSignal:
            raise NotFound(resource[:-1], obj_name, kwargs.get("namespace", "")) from None

    def _call(self, fn: Callable, verb: str, resource: str, scope: Optional[str], **kwargs) -> dict:
        import urllib3
        from kubernetes.client.exceptions import ApiException
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            # a (connect, read) pair: clients before 36 ignore a float timeout (they test for int)
            resp = fn(_preload_content=False, _request_timeout=(self.timeout, self.timeout), **kwargs)
            return json.loads(resp.data)
        except ApiException as err:
            if err.status == 404 and verb == "get":
                raise _NotFoundSignal() from None
            raise api_error(err, verb, resource, scope) from None
        except urllib3.exceptions.HTTPError as err:
            host = self.api_client.configuration.host
            raise DsError(f"cannot reach the apiserver at {host}: {_reason(err)}") from None
        except ValueError as err:
            raise DsError(f"the apiserver sent a response that is not JSON for {verb} {resource}: {err}") from None


class _NotFoundSignal(Exception):
    pass


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
