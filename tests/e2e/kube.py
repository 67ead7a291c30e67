"""A thin test harness over the real apiserver: create/patch/delete plain dicts, and wait by watching.

Reads in the tests go through kubectl-ds's own LiveSource (the code under test); this module is
only the hands that change the cluster.
"""

from __future__ import annotations

import json
import time
from typing import Callable, Dict, List, Optional

# dict bodies are sent as strategic merge patches (containers merge by name; null deletes a key)
KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}


class Kube:
    def __init__(self, kubeconfig: str):
        from kubernetes import client, config
        self.api_client = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)
        self.kubeconfig = kubeconfig

    @staticmethod
    def _data(resp) -> dict:
        return json.loads(resp.data)

    # --- writes ------------------------------------------------------------------------
    def create_namespace(self, name: str) -> None:
        self.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def delete_namespace(self, name: str) -> None:
        self._ignore_404(self.core.delete_namespace, name)

    def create_node(self, name: str, labels: Optional[Dict[str, str]] = None, taints: Optional[List[dict]] = None,
                    cpu: str = "32", memory: str = "256Gi", pods: str = "110", unschedulable: bool = False) -> dict:
        lbl = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
               "type": "kwok"}
        lbl.update(labels or {})
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": lbl, "annotations": dict(KWOK_ANNOTATION)},
                "spec": {"taints": taints or [], "unschedulable": unschedulable},
                "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                           "capacity": {"cpu": cpu, "memory": memory, "pods": pods}}}
        return self._data(self.core.create_node(body, _preload_content=False))

    def patch_node(self, name: str, patch: dict) -> dict:
        return self._data(self.core.patch_node(name, patch, _preload_content=False))

    def delete_node(self, name: str) -> None:
        self._ignore_404(self.core.delete_node, name)

    def create_daemonset(self, ns: str, body: dict) -> dict:
        return self._data(self.apps.create_namespaced_daemon_set(ns, body, _preload_content=False))

    def patch_daemonset(self, ns: str, name: str, patch: dict) -> dict:
        return self._data(self.apps.patch_namespaced_daemon_set(name, ns, patch,
                                                                _preload_content=False))

    def create_pod(self, ns: str, body: dict) -> dict:
        return self._data(self.core.create_namespaced_pod(ns, body, _preload_content=False))

    def _ignore_404(self, fn, *args):
        from kubernetes.client.exceptions import ApiException
        try:
            fn(*args)
        except ApiException as err:
            if err.status != 404:
                raise

    # --- reads -------------------------------------------------------------------------
    def daemonset(self, ns: str, name: str) -> dict:
        return self._data(self.apps.read_namespaced_daemon_set(name, ns, _preload_content=False))

    def pods(self, ns: str, label_selector: str = "") -> List[dict]:
        return self._data(self.core.list_namespaced_pod(ns, label_selector=label_selector,
                                                        _preload_content=False))["items"]

    def node(self, name: str) -> dict:
        return self._data(self.core.read_node(name, _preload_content=False))

    def revisions(self, ns: str) -> List[dict]:
        return self._data(self.apps.list_namespaced_controller_revision(ns, _preload_content=False))["items"]

    # --- waiting -----------------------------------------------------------------------
    def wait(self, what: str, check: Callable[[], object], watch_fn, timeout: float = 60, **watch_kwargs):
        """Re-check `check()` on every change that `watch_fn` reports, until it is truthy.

        Fails with `what` and the last value seen. The watch starts at the resourceVersion of a
        list taken before the check (a watch without one first replays every existing object, which
        made this a busy loop), so only a change after the check wakes it; watches are short
        server-side (2 s) so a change elsewhere (another resource) is still noticed promptly.
        """
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException
        deadline = time.monotonic() + timeout
        last = None
        while True:
            version = self._data(watch_fn(limit=1, _preload_content=False, **watch_kwargs))["metadata"].get(
                "resourceVersion")
            last = check()
            if last and not isinstance(last, str):
                return last
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
            w = watch.Watch()
            try:
                for _ in w.stream(watch_fn, resource_version=version,
                                  timeout_seconds=max(1, min(2, int(remaining))), **watch_kwargs):
                    w.stop()
                    break
            except ApiException as err:
                if err.status != 410:   # 410: the version expired meanwhile; check again
                    raise

    def wait_pods(self, ns: str, what: str, check: Callable[[List[dict]], object], timeout: float = 60,
                  label_selector: str = ""):
        return self.wait(what, lambda: check(self.pods(ns, label_selector)), self.core.list_namespaced_pod,
                         timeout, namespace=ns)

    def wait_settled(self, ns: str, name: str, timeout: float = 90) -> dict:
        """Until the controller has observed the DaemonSet and its pods match its status."""
        def check():
            ds = self.daemonset(ns, name)
            st = ds.get("status") or {}
            pods = [p for p in self.pods(ns) if not p["metadata"].get("deletionTimestamp")
                    and any(r.get("uid") == ds["metadata"]["uid"] for r in p["metadata"].get("ownerReferences", []))]
            ok = (st.get("observedGeneration", 0) >= ds["metadata"]["generation"]
                  and st.get("currentNumberScheduled", 0) == st.get("desiredNumberScheduled", 0)
                  and st.get("numberReady", 0) == st.get("desiredNumberScheduled", 0)
                  and len(pods) == st.get("desiredNumberScheduled", 0) + st.get("numberMisscheduled", 0))
            return ds if ok else f"status={st}, live pods={len(pods)}"
        return self.wait(f"daemonset {ns}/{name} to settle", check, self.core.list_namespaced_pod, timeout,
                         namespace=ns)

    def wait_nodes_ready(self, names: List[str], timeout: float = 60) -> None:
        def check():
            not_ready = []
            for n in names:
                conds = {c["type"]: c["status"] for c in self.node(n).get("status", {}).get("conditions", [])}
                if conds.get("Ready") != "True":
                    not_ready.append(n)
            return True if not not_ready else f"not ready: {not_ready}"
        self.wait("nodes to be Ready", check, self.core.list_node, timeout)
