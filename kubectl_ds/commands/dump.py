"""`kubectl ds dump`: exactly what the other commands read, in one file `--snapshot` reads back.

From a live cluster (every namespace unless -n says one): nodes, their Leases (kube-node-lease,
which date the dump), DaemonSets, ControllerRevisions, pods, events, Deployments and StatefulSets
(lint reads them), DeviceClasses and RuntimeClasses (the version rules read them), and the
server's version (`serverVersion`, as `kubectl version -o json` prints it). A kind the cluster
does not serve or will not let us read, among those that only inform an answer, is a note on
stderr and in the dump, not a failure. With --snapshot, the dump(s) given (a cluster-info dump, a
directory, several files) are written back as one, which is how an existing dump is anonymized.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from typing import IO, Callable, Dict, List, Optional, Tuple

import click

from kubectl_ds import __version__
from kubectl_ds.commands.common import NON_EMPTY, StatusLine, open_source
from kubectl_ds.errors import DsError
from kubectl_ds.options import global_options, pop_options
from kubectl_ds.render.common import printable

EXAMPLES = """
\b
Examples:
  # Everything kubectl-ds reads, for a bug report or to look at offline
  kubectl ds dump > dump.json
  kubectl ds why worker-3 --snapshot dump.json
\b
  # The same with names, namespaces, images and label values replaced, consistently
  kubectl ds dump --anonymize --output-file dump.json.gz
\b
  # Anonymize a dump you already have (also a kubectl cluster-info dump)
  kubectl ds dump --snapshot cluster-info.dump --anonymize > anonymized.json
"""

# (kind, apiVersion, SnapshotSource.by_kind key), in the order a dump lists them
KINDS = (("Node", "v1", "nodes"), ("Lease", "coordination.k8s.io/v1", "leases"),
         ("DaemonSet", "apps/v1", "daemonsets"), ("ControllerRevision", "apps/v1", "revisions"),
         ("Pod", "v1", "pods"), ("Deployment", "apps/v1", "workloads"), ("StatefulSet", "apps/v1", "workloads"),
         ("ReplicaSet", "apps/v1", "controllers"), ("Job", "batch/v1", "controllers"),
         ("ReplicationController", "v1", "controllers"), ("Event", "v1", "events"),
         ("DeviceClass", "resource.k8s.io/v1", "deviceclasses"), ("RuntimeClass", "node.k8s.io/v1", "runtimeclasses"))


@click.command(epilog=EXAMPLES)
@click.option("--output-file", metavar="FILE", type=NON_EMPTY,
              help="Write the dump to FILE (gzip-compressed if it ends in .gz) instead of stdout.")
@click.option("--anonymize", is_flag=True,
              help="Replace names, namespaces, images, label and annotation values consistently "
                   "(well-known keys and the structure are kept), for a bug report.")
@global_options
@click.pass_context
def dump(ctx, output_file, anonymize, **kwargs):
    """Write what kubectl-ds reads (or a --snapshot, re-read) as one dump for --snapshot."""
    opts = pop_options(ctx, kwargs)
    if opts.output not in ("table", "json", "yaml"):
        raise DsError(f'dump writes json (the default) or yaml, not "{opts.output}"')
    if opts.selector:
        raise DsError("dump takes every object in scope: -l/--selector is not supported (use -n to narrow it)")
    progress = StatusLine.on_terminal(sys.stderr)
    source = open_source(ctx, opts)
    namespace = opts.namespace if opts.namespace else None   # -A is the default: a dump is for a report
    if getattr(source, "by_kind", None) is not None:
        items, server_version, notes = from_snapshot(source, namespace)
    else:
        items, server_version, notes = from_live(source, namespace, progress)
    progress.clear()
    doc = document(items, server_version, notes)
    if anonymize:
        from kubectl_ds.core.anonymize import anonymize_dump
        doc = anonymize_dump(doc, in_place=True)   # the objects are this run's own
    for note in notes:
        click.echo(printable(f"note: {note}"), err=True)
    write(doc, output_file, "yaml" if opts.output == "yaml" else "json")
    counts = ", ".join(f"{n} {k}" for k, n in count(doc["items"]).items())
    where = output_file or "stdout"
    click.echo(printable(f"dumped {counts or 'nothing'} to {where}"
                         + (" (anonymized)" if anonymize else "")), err=True)


def _optional(read: Callable[[], List[dict]], what: str, notes: List[str]) -> List[dict]:
    """A kind that only informs an answer: forbidden or not served is a note, not a failure."""
    try:
        return read()
    except DsError as err:
        text = err.message
        if text.startswith("forbidden") or " failed: 404" in text:
            notes.append(f"{what} are not in the dump: {text}")
            return []
        raise


def from_live(live, namespace: Optional[str], progress: StatusLine) -> Tuple[List[dict], Optional[dict], List[str]]:
    """Read everything from the apiserver (LiveSource: paginated, each request bounded)."""
    notes: List[str] = []
    items: List[dict] = []
    read: Dict[str, int] = {}
    live.projected = False   # whole objects (less managedFields): a dump outlives this version

    def add(kind: str, api_version: str, objs: List[dict]) -> None:
        for o in objs:
            o["kind"] = o.get("kind") or kind
            o["apiVersion"] = o.get("apiVersion") or api_version
        items.extend(objs)
        read[kind] = read.get(kind, 0) + len(objs)
        progress.update("dumping: " + ", ".join(f"{n} {plural(k, n)}" for k, n in read.items()))

    progress.update("dumping: server version")
    version_doc, why = live.server_version()
    if version_doc is None or not isinstance(version_doc.get("gitVersion"), str):
        notes.append(f"the server version is not in the dump: {why or 'the apiserver reports no gitVersion'}")
        version_doc = None
    add("Node", "v1", live.nodes())
    add("Lease", "coordination.k8s.io/v1", _optional(live.node_leases, "node Leases", notes))
    add("DaemonSet", "apps/v1", live.daemonsets(namespace))
    add("ControllerRevision", "apps/v1", live.revisions(namespace))
    add("Pod", "v1", live.pods(namespace))
    workloads = _optional(lambda: live.workloads(namespace), "Deployments and StatefulSets", notes)
    for kind in ("Deployment", "StatefulSet"):
        add(kind, "apps/v1", [w for w in workloads if w.get("kind") == kind])
    add("Event", "v1", _optional(lambda: live.events(namespace), "events", notes))
    for kind, api_version, (objs, why) in (("DeviceClass", "resource.k8s.io/v1", live.device_classes()),
                                            ("RuntimeClass", "node.k8s.io/v1", live.runtime_classes())):
        if objs is None:
            notes.append(f"{kind}es are not in the dump: {why}")
        add(kind, api_version, objs or [])
    if namespace is not None:
        notes.append(f"only the namespace {namespace} is dumped: pods of other namespaces on the same nodes "
                     "are not counted in what fits (leave out -n for a whole dump)")
    return items, version_doc, notes


def from_snapshot(source, namespace: Optional[str]) -> Tuple[List[dict], Optional[dict], List[str]]:
    """The objects of a dump already read (any format --snapshot takes), kinds set."""
    items: List[dict] = []
    for kind, api_version, key in KINDS:
        for o in source.by_kind[key]:
            if o.get("kind") != kind:
                continue
            meta = o.get("metadata") or {}
            if namespace is not None and meta.get("namespace") and meta.get("namespace") != namespace \
                    and kind != "Lease":
                continue
            o.setdefault("apiVersion", api_version)
            items.append(o)
    version = None
    if source.stamp:   # as the dump has it when it is `kubectl version`'s shape, else the text
        version = source.raw_stamp if isinstance(source.raw_stamp, dict) else {"gitVersion": source.stamp}
    return items, version, []


def document(items: List[dict], server_version: Optional[dict], notes: List[str]) -> dict:
    doc: dict = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}}
    if server_version is not None:
        doc["serverVersion"] = server_version
    doc["dumpedBy"] = {"tool": "kubectl-ds", "version": __version__, "notes": notes}
    doc["items"] = items
    return doc


def count(items: List[dict]) -> Dict[str, int]:
    """How many objects of each kind, as "7 nodes" reads: {"nodes": 7}, in the dump's order."""
    by_kind: Dict[str, int] = {}
    for o in items:
        by_kind[o["kind"]] = by_kind.get(o["kind"], 0) + 1
    return {plural(k, n): n for k, n in by_kind.items()}


def plural(kind: str, n: int) -> str:
    word = kind.lower()
    if n == 1:
        return word
    return word + ("es" if word.endswith("s") else "s")


def write(doc: dict, path: Optional[str], fmt: str) -> None:
    """The dump as text: JSON with one object a line (grep and diff read it), or YAML. To a file:
    written beside it and renamed, so a failed dump never leaves half a file."""
    if path is None:
        out = click.get_text_stream("stdout")
        _emit(doc, out, fmt)
        out.flush()
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as raw:
            if path.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
                        io.TextIOWrapper(gz, encoding="utf-8") as text:
                    _emit(doc, text, fmt)
            else:
                with io.TextIOWrapper(raw, encoding="utf-8") as text:
                    _emit(doc, text, fmt)
        os.replace(tmp, path)
    except OSError as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise DsError(f"cannot write {path}: {err.strerror or err}") from None


def _emit(doc: dict, out: IO[str], fmt: str) -> None:
    if fmt == "yaml":
        import yaml
        yaml.safe_dump(doc, out, sort_keys=False, allow_unicode=True)
        return
    head = {k: v for k, v in doc.items() if k != "items"}
    text = json.dumps(head, ensure_ascii=False)
    out.write(text[:-1] + ',"items":[')
    for i, item in enumerate(doc["items"]):
        out.write(("\n" if i == 0 else ",\n") + json.dumps(item, ensure_ascii=False, separators=(",", ":")))
    out.write("\n]}\n")
