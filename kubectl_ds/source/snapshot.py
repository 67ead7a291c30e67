"""Offline source: a dump, as `kubectl ds dump` writes it or options.DUMP_COMMAND prints it
(`kubectl get nodes,daemonsets,pods,controllerrevisions,events,leases,deployments,statefulsets -A -o json`;
events, leases, deployments and statefulsets are optional; leases only date the dump), or what
`kubectl cluster-info dump` writes, several files, a directory, gzip: source/dumpfiles.py reads them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import click

from kubectl_ds.core.objects import name, namespace, parse_time
from kubectl_ds.core.versions import newest_kubelet, parse_minor
from kubectl_ds.errors import DsError, NotFound
from kubectl_ds.source import dumpfiles, validate
from kubectl_ds.source.selectors import field_filter, label_filter

KINDS = {"Node": "nodes", "DaemonSet": "daemonsets", "Pod": "pods",
         "ControllerRevision": "revisions", "Event": "events",
         "Deployment": "workloads", "StatefulSet": "workloads",
         "ReplicaSet": "controllers", "Job": "controllers", "ReplicationController": "controllers",
         "Lease": "leases", "DeviceClass": "deviceclasses", "RuntimeClass": "runtimeclasses"}


class SnapshotSource:
    default_namespace = "default"

    def __init__(self, items: List[dict], origin: str = "<memory>", stamp: Optional[str] = None):
        self.origin = origin
        self.stamp = stamp   # the dump's own record of the server's version, if it has one
        self.stamp_note = ""  # why a stamp that is there could not be read
        self.raw_stamp: Any = None   # the stamp as the dump has it (`kubectl version -o json`'s serverVersion)
        self._as_of: Dict[str, Optional[datetime]] = {}   # by upper bound
        self.by_kind: Dict[str, List[dict]] = {k: [] for k in KINDS.values()}
        self.warnings: List[str] = []
        self._add(items, origin)

    def _add(self, items: List[dict], origin: str) -> None:
        """Check and file `items` (read from `origin`): the shapes the core relies on; an object
        whose kind cannot be told is one warning naming it, never dropped silently."""
        skipped: List[str] = []
        unknown: List[str] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
                raise DsError(f"malformed snapshot {origin}: item {i} is not a Kubernetes object")
            kind_name = item.get("kind")
            if not isinstance(kind_name, str) or not kind_name:
                unknown.append(dumpfiles.describe_unknown(item))
                continue
            kind = KINDS.get(kind_name)
            if kind:
                # the boundary: the core reads only objects of the shapes it relies on
                why = validate.check(item, kind_name, origin)
                if why is None:
                    self.by_kind[kind].append(item)
                else:
                    skipped.append(why)
        # one line for what was left out (a malformed Event or Lease), printed by load()
        if skipped:
            self.warnings.append(validate.skipped(origin, skipped))
        if unknown:
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            self.warnings.append(f"warning: {origin}: left out {unknown[0]}{more}: no kind, and the list "
                                 "holding it does not tell one (a typed list such as PodList would)")

    @classmethod
    def load(cls, path: Union[str, Sequence[str]]) -> SnapshotSource:
        """A dump, or several (dumpfiles.read: a comma-separated list, a directory, a
        cluster-info dump, gzip; or a list of such values), read as one."""
        dump = dumpfiles.read(path)
        path = path if isinstance(path, str) else ",".join(path)
        raw_stamp, _ = dumpfiles.stamp_of(dump)
        stamp, stamp_note = _version_stamp({"serverVersion": raw_stamp})
        source = cls([], path, stamp)
        source.stamp_note = stamp_note
        source.raw_stamp = raw_stamp
        source.warnings.extend(dump.warnings)
        seen: Dict[Tuple[str, str, str], str] = {}
        repeated: List[str] = []
        for df in dump.files:
            items = df.items
            if len(dump.files) > 1:   # the same object in two files (two dumps of one cluster): the first
                items = []
                for item in df.items:
                    key = _identity(item)
                    if key is not None and seen.setdefault(key, df.origin) != df.origin:
                        repeated.append(f"{key[0]} {key[1] + '/' if key[1] else ''}{key[2]}")
                        continue
                    items.append(item)
            source._add(items, df.origin)
        if repeated:
            more = f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else ""
            source.warnings.append(f"warning: {repeated[0]}{more} is in several of the files: the first "
                                   "file's copy is read")
        for line in source.warnings:
            click.echo(line, err=True)
        return source

    def kubernetes_version(self) -> Tuple[Optional[str], str, str]:
        """The dump's version stamp ("dump"), else the newest kubelet among its nodes ("kubelets"),
        else (None, "default", why)."""
        if self.stamp:
            return self.stamp, "dump", ""
        kubelet = newest_kubelet(self.by_kind["nodes"])
        if kubelet:
            return kubelet, "kubelets", self.stamp_note
        return None, "default", self.stamp_note or "the dump records no server version and no kubelet version"

    def device_classes(self) -> Tuple[Optional[List[dict]], str]:
        return self._optional("deviceclasses")

    def runtime_classes(self) -> Tuple[Optional[List[dict]], str]:
        return self._optional("runtimeclasses")

    def _optional(self, kind: str) -> Tuple[Optional[List[dict]], str]:
        """Kinds a dump may lack: none in the dump may mean none in the cluster or none dumped,
        so the (empty) list comes with a note saying which it cannot tell."""
        items = self.by_kind[kind]
        return (items, "") if items else ([], f"the dump has no {kind}")

    def as_of(self, not_after: Optional[datetime] = None) -> Optional[datetime]:
        """When the dump was taken, as far as it tells: its newest timestamp (node Leases and
        heartbeats, condition transitions, object creations, events), ignoring any later than
        `not_after`. Commands judge time (minReadySeconds, the age of events) as of this moment,
        not the wall clock, so an old dump reads as it did when it was taken. It can be earlier
        than the dump itself: by up to 10 s with the node Leases in it, by up to the nodes'
        status interval (5 minutes) without them, in a quiet cluster. None if it holds no
        timestamp."""
        bound = (not_after.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") if not_after is not None
                 else "9999-12-31T23:59:59")
        if bound not in self._as_of:
            self._as_of[bound] = _newest_stamp(self.by_kind, bound)
        return self._as_of[bound]

    def node(self, node_name: str) -> dict:
        for n in self.by_kind["nodes"]:
            if name(n) == node_name:
                return n
        raise NotFound("node", node_name)

    def nodes(self, label_selector: str = "") -> List[dict]:
        keep = label_filter(label_selector)
        return [n for n in self.by_kind["nodes"] if keep(n)]

    def daemonset(self, ns: str, ds_name: str) -> dict:
        for ds in self.by_kind["daemonsets"]:
            if name(ds) == ds_name and namespace(ds) == ns:
                return ds
        raise NotFound("daemonset", ds_name, ns)

    def _list(self, kind: str, ns: Optional[str], label_selector: str = "", field_selector: str = "") -> List[dict]:
        keep_l, keep_f = label_filter(label_selector), field_filter(field_selector)
        return [o for o in self.by_kind[kind]
                if (ns is None or namespace(o) == ns) and keep_l(o) and keep_f(o)]

    def daemonsets(self, ns: Optional[str], label_selector: str = "", field_selector: str = "") -> List[dict]:
        return self._list("daemonsets", ns, label_selector, field_selector)

    def pods(self, ns: Optional[str], label_selector: str = "", field_selector: str = "") -> List[dict]:
        return self._list("pods", ns, label_selector, field_selector)

    def revisions(self, ns: Optional[str], label_selector: str = "") -> List[dict]:
        return self._list("revisions", ns, label_selector)

    def events(self, ns: Optional[str], field_selector: str = "") -> List[dict]:
        return self._list("events", ns, "", field_selector)

    def controllers(self, ns: Optional[str]) -> List[dict]:
        """Every object that selects pods (for migrate's preflight)."""
        return self.daemonsets(ns) + self.workloads(ns) + self._list("controllers", ns)

    def workloads(self, ns: Optional[str], label_selector: str = "") -> List[dict]:
        """Deployments and StatefulSets (each with its `kind`), in file order."""
        return self._list("workloads", ns, label_selector)


def _identity(item: Any) -> Optional[Tuple[str, str, str]]:
    if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
        return None
    meta = item["metadata"]
    kind, nm, ns = item.get("kind"), meta.get("name"), meta.get("namespace") or ""
    if not (isinstance(kind, str) and isinstance(nm, str) and isinstance(ns, str)):
        return None
    return kind, ns, nm


def _newest_stamp(by_kind: Dict[str, List[dict]], not_after: str) -> Optional[datetime]:
    """The newest of the dump's timestamps that record something that had happened when it was
    taken: object creations, node Lease renewals (every 10 s), node condition heartbeats and
    transitions, pod condition transitions, events. Not deletionTimestamp (a graceful deletion
    sets it in the future), nor any stamp later than `not_after` (a node whose clock runs ahead).
    The apiserver writes them in UTC ("...Z"), whose text sorts as time does (to the second):
    they are compared as text, ~0.1 s for a 60,000-pod dump; a stamp in another zone, which only
    a hand-written dump has, is left out, and so is one that does not parse."""
    newest = ""

    def newer(t) -> bool:
        return (t.__class__ is str and t > newest and t[-1:] == "Z" and len(t) >= 20 and t[:19] <= not_after
                and parse_time(t) is not None)

    for t in (o["metadata"].get("creationTimestamp") for objs in by_kind.values() for o in objs):
        if newer(t):
            newest = t
    for kind, keys in (("nodes", ("lastHeartbeatTime", "lastTransitionTime")), ("pods", ("lastTransitionTime",))):
        for o in by_kind[kind]:
            status = o.get("status")
            conditions = status.get("conditions") if isinstance(status, dict) else None
            for c in conditions if isinstance(conditions, list) else ():
                if isinstance(c, dict):
                    for key in keys:
                        t = c.get(key)
                        # the cheap test inline first: ~240,000 conditions in a 5,000-node dump
                        if t.__class__ is str and t > newest and newer(t):
                            newest = t
    for t in _lease_and_event_stamps(by_kind):
        if isinstance(t, str) and newer(t):
            newest = t
    return parse_time(newest) if newest else None


def _lease_and_event_stamps(by_kind: Dict[str, List[dict]]):
    """Node Lease renewals, and when each event was last seen (three spellings)."""
    for lease in by_kind["leases"]:
        spec = lease.get("spec")
        yield spec.get("renewTime") if isinstance(spec, dict) else None
    for ev in by_kind["events"]:
        series = ev.get("series")
        yield ev.get("lastTimestamp")
        yield ev.get("eventTime")
        yield series.get("lastObservedTime") if isinstance(series, dict) else None


def _version_stamp(doc: dict) -> Tuple[Optional[str], str]:
    """The server version a dump records: a top-level `serverVersion`, as `kubectl version -o json`
    prints it ({"gitVersion": "v1.36.3", ...}), or as plain text. (None, why) when it is absent
    or does not read as a version: the kubelets' versions decide then, with a warning."""
    stamp = doc.get("serverVersion")
    if stamp is None:
        return None, ""
    text = stamp.get("gitVersion") if isinstance(stamp, dict) else stamp
    if isinstance(stamp, dict) and not isinstance(text, str):   # {"major": "1", "minor": "36"}
        major, minor = stamp.get("major"), stamp.get("minor")
        text = f"v{major}.{str(minor).rstrip('+')}" if isinstance(major, str) and isinstance(minor, str) else None
    if not isinstance(text, str) or parse_minor(text) is None:
        return None, "the dump's serverVersion is not a Kubernetes version"
    return text, ""


def _json_error(err: ValueError) -> str:
    """'Expecting value at line 1 column 2': some of json's messages end in "at" already
    ("Invalid control character at", "Unterminated string starting at")."""
    msg = getattr(err, "msg", None)
    if msg is None:  # not a JSONDecodeError (e.g. bytes that are not UTF-8)
        return str(err)
    where = f"line {getattr(err, 'lineno', '?')} column {getattr(err, 'colno', '?')}"
    return f"{msg} {where}" if msg.endswith(" at") else f"{msg} at {where}"
