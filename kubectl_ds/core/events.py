"""Events: when one was last seen, whether it is about this DaemonSet, and the controller's FailedCreate.

Events come in two shapes, core/v1 (involvedObject, lastTimestamp, message) and events.k8s.io
(regarding, series.lastObservedTime, eventTime, note); every helper here reads both. The
apiserver keeps events for an hour, and the controller refreshes its FailedCreate on every retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, List, Mapping, Optional

from kubectl_ds.core.objects import get_in, name, namespace, parse_time, uid

# seconds: an older FailedCreate no longer explains a missing pod (the controller retries with a
# backoff of up to ~17 minutes, each retry refreshing the event; the apiserver keeps events an hour)
FAILED_CREATE_WINDOW = 3600


def failed_scheduling_messages(pod: Mapping, events: Iterable[Mapping]) -> List[str]:
    """FailedScheduling event messages about this pod, oldest first."""
    mine = []
    for ev in events:
        obj = ev.get("involvedObject") or ev.get("regarding") or {}
        if ev.get("reason") != "FailedScheduling":
            continue
        if obj.get("uid") and obj.get("uid") != uid(pod):
            continue
        if obj.get("name") != name(pod) or (obj.get("namespace") or namespace(pod)) != namespace(pod):
            continue
        mine.append((_event_stamp(ev), ev.get("message") or ev.get("note") or ""))
    return [m for _, m in sorted(mine)]


def _event_stamp(ev: Mapping) -> str:
    """When an event (core/v1 or events.k8s.io) was last seen, as RFC 3339 text ("" if unknown)."""
    return (ev.get("lastTimestamp") or get_in(ev, "series", "lastObservedTime") or ev.get("eventTime")
            or get_in(ev, "metadata", "creationTimestamp", default="") or "")


def is_recent(at: datetime, now: datetime) -> bool:
    """Whether an event seen last at `at` still explains the present (FAILED_CREATE_WINDOW)."""
    return (now - at).total_seconds() <= FAILED_CREATE_WINDOW


def event_time(ev: Mapping) -> Optional[datetime]:
    """When an event was last seen; None if it carries no readable timestamp."""
    return parse_time(_event_stamp(ev))


def of_daemonset(ev: Mapping, ds: Mapping) -> bool:
    """Whether an event is about this DaemonSet (by name, and by uid when the event carries one)."""
    obj = ev.get("involvedObject") or ev.get("regarding") or {}
    return obj.get("kind") == "DaemonSet" and obj.get("name") == name(ds) and (obj.get("uid") or uid(ds)) == uid(ds)


def failed_create_selector(ds: Optional[Mapping] = None) -> str:
    """The events field selector for failed_create(): one DaemonSet's, or every DaemonSet's in scope."""
    one = f",involvedObject.name={name(ds)}" if ds is not None else ""
    return f"involvedObject.kind=DaemonSet{one},reason=FailedCreate"


def failed_create(ds: Mapping, events: Iterable[Mapping], now: datetime) -> Optional[str]:
    """The message of the DaemonSet's latest FailedCreate event of the last hour, if any: why the
    controller could not create a pod (a ResourceQuota, an admission webhook, Pod Security).
    """
    latest, latest_at = None, None
    for ev in events:
        if ev.get("reason") != "FailedCreate" or not of_daemonset(ev, ds):
            continue
        at = event_time(ev)
        if at is None or not is_recent(at, now):
            continue
        if latest_at is None or at > latest_at:
            latest, latest_at = ev, at
    return (latest.get("message") or latest.get("note") or "") if latest is not None else None
