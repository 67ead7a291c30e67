"""The only place that reads a cluster: live (kubeconfig) or offline (a snapshot file).

Both return plain dicts in the API's JSON shape and honour the same selectors, so commands
and tests cannot tell them apart.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

try:  # Python 3.8+: typing.Protocol
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore


class Source(Protocol):
    default_namespace: str

    def node(self, name: str) -> dict: ...
    def nodes(self, label_selector: str = "") -> List[dict]: ...
    def daemonset(self, namespace: str, name: str) -> dict: ...
    def daemonsets(self, namespace: Optional[str], label_selector: str = "") -> List[dict]: ...
    def pods(self, namespace: Optional[str], label_selector: str = "", field_selector: str = "") -> List[dict]: ...
    def revisions(self, namespace: Optional[str], label_selector: str = "") -> List[dict]: ...
    def events(self, namespace: Optional[str], field_selector: str = "") -> List[dict]: ...
    def workloads(self, namespace: Optional[str], label_selector: str = "") -> List[dict]: ...
    # (version text or None, where it came from, why it is unknown): see core/versions.py
    def kubernetes_version(self) -> Tuple[Optional[str], str, str]: ...
    # kinds a cluster may not serve or let us read: (items, "") or (None, why not)
    def device_classes(self) -> Tuple[Optional[List[dict]], str]: ...
    def runtime_classes(self) -> Tuple[Optional[List[dict]], str]: ...


def open_source(kubeconfig: Optional[str] = None, context: Optional[str] = None,
                snapshot: Optional[str] = None, request_timeout: float = 30.0) -> Source:
    """A snapshot source when `snapshot` is given, else a live one (imports the client lazily)."""
    if snapshot:
        from kubectl_ds.source.snapshot import SnapshotSource
        return SnapshotSource.load(snapshot)
    from kubectl_ds.source.live import LiveSource
    return LiveSource.connect(kubeconfig=kubeconfig, context=context, request_timeout=request_timeout)
