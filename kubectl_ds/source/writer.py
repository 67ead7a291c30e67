"""The writes `migrate` needs, against the live apiserver (raw JSON in and out).

Every write names what it refused: a 409 (conflict, failed precondition) becomes an error that
says the object changed concurrently and that nothing was overwritten.
"""

from __future__ import annotations

import json
from typing import Optional

from kubectl_ds.errors import DsError
from kubectl_ds.source.client import api
from kubectl_ds.source.live import LiveSource, api_error


class Conflict(DsError):
    pass


class Writer:
    def __init__(self, live: LiveSource):
        self.live = live
        self.core, self.apps = live.core, live.apps
        self.authz = api("AuthorizationV1Api")(live.api_client)

    def _do(self, fn, verb: str, resource: str, namespace: Optional[str], *args, **kwargs) -> Optional[dict]:
        from kubernetes.client.exceptions import ApiException
        try:
            # the whole request within --request-timeout, as every read's (LiveSource._bounded)
            data = self.live._bounded(lambda timeout: fn(*args, _preload_content=False, _request_timeout=timeout,
                                                         **kwargs), verb, resource, namespace).data
            return json.loads(data) if data else {}
        except ApiException as err:
            if err.status == 404:
                return None
            if err.status == 409:
                raise Conflict(f"conflict: {verb} {resource} in {namespace}: the object changed concurrently "
                               f"({_message(err)}); nothing was overwritten") from None
            raise api_error(err, verb, resource, namespace) from None
        except Exception as err:  # noqa: BLE001 - connection trouble: one line, resumable
            import urllib3
            if isinstance(err, urllib3.exceptions.HTTPError):
                raise DsError(f"cannot reach the apiserver during {verb} {resource}: {err}") from None
            raise

    def get_daemonset(self, ns: str, name: str) -> Optional[dict]:
        return self._do(self.apps.read_namespaced_daemon_set, "get", "daemonsets", ns, name, ns)

    def get_pod(self, ns: str, name: str) -> Optional[dict]:
        return self._do(self.core.read_namespaced_pod, "get", "pods", ns, name, ns)

    def patch_pod(self, ns: str, name: str, patch: dict) -> Optional[dict]:
        return self._do(self.core.patch_namespaced_pod, "patch", "pods", ns, name, ns, patch)

    def get_revision(self, ns: str, name: str) -> Optional[dict]:
        return self._do(self.apps.read_namespaced_controller_revision, "get", "controllerrevisions", ns, name, ns)

    def patch_revision(self, ns: str, name: str, patch: dict) -> Optional[dict]:
        return self._do(self.apps.patch_namespaced_controller_revision, "patch", "controllerrevisions", ns, name,
                        ns, patch)

    def patch_daemonset(self, ns: str, name: str, patch: dict) -> Optional[dict]:
        return self._do(self.apps.patch_namespaced_daemon_set, "patch", "daemonsets", ns, name, ns, patch)

    def delete_daemonset_orphan(self, ns: str, name: str, uid: str, resource_version: str) -> Optional[dict]:
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Orphan",
                "preconditions": {"uid": uid, "resourceVersion": resource_version}}
        return self._do(self.apps.delete_namespaced_daemon_set, "delete", "daemonsets", ns, name, ns, body=body)

    def create_daemonset(self, ns: str, body: dict) -> dict:
        from kubernetes.client.exceptions import ApiException
        try:
            resp = self.live._bounded(lambda timeout: self.apps.create_namespaced_daemon_set(
                ns, body, _preload_content=False, _request_timeout=timeout), "create", "daemonsets", ns)
            return json.loads(resp.data)
        except ApiException as err:
            if err.status == 409:
                raise Conflict(f"conflict: daemonset {body['metadata']['name']} already exists in {ns}") from None
            raise api_error(err, "create", "daemonsets", ns) from None

    def can(self, verb: str, resource: str, ns: str, group: str = "") -> bool:
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                                "namespace": ns}}}
        doc = self._do(self.authz.create_self_subject_access_review, "create", "selfsubjectaccessreviews", None,
                       body)
        return bool(((doc or {}).get("status") or {}).get("allowed"))


def _message(err) -> str:
    try:
        return json.loads(err.body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        return err.reason or ""


NEEDED = (("get", "daemonsets", "apps"), ("create", "daemonsets", "apps"), ("delete", "daemonsets", "apps"),
          ("patch", "daemonsets", "apps"),
          ("list", "pods", ""), ("patch", "pods", ""), ("list", "controllerrevisions", "apps"),
          ("get", "controllerrevisions", "apps"), ("patch", "controllerrevisions", "apps"))
