"""Small immutable results; they know nothing of output formats (kubectl_ds/render/ does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Reason:
    """One explanation. `type` is a stable CamelCase code; `detail` is structured data."""

    type: str
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"type": self.type, "message": self.message, **dict(self.detail)}


@dataclass(frozen=True)
class Verdict:
    """NodeShouldRunDaemonPod's two answers, with the reasons behind a `False`.

    should_run: a daemon pod would be created on the node if none is there.
    should_continue_running: a daemon pod already there may stay (only NoExecute evicts).
    reasons: why should_run is False (every failing predicate, not only the first).
    notes: things that do not block placement but matter (e.g. a finite tolerationSeconds).
    """

    should_run: bool
    should_continue_running: bool
    reasons: Tuple[Reason, ...] = ()
    notes: Tuple[Reason, ...] = ()


@dataclass(frozen=True)
class PodState:
    """The daemon pod on one node, as a user would describe it."""

    name: str
    namespace: str
    phase: str
    status: str          # what `kubectl get pods` shows in STATUS (Running, Pending, CrashLoopBackOff...)
    ready: bool
    available: bool
    updated: Optional[bool]  # None when the current revision is unknown
    revision_hash: str
    deleting: bool
    scheduled: bool = True   # bound to the node (spec.nodeName set)
    problems: Tuple[Reason, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "namespace": self.namespace, "phase": self.phase,
                "status": self.status, "ready": self.ready, "available": self.available,
                "updated": self.updated, "revisionHash": self.revision_hash or None,
                "deleting": self.deleting, "scheduled": self.scheduled,
                "problems": [p.to_dict() for p in self.problems]}
