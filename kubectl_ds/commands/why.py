"""`kubectl ds why NODE`: would each DaemonSet run on the node, and if not, why."""

from __future__ import annotations

import threading

import click

from kubectl_ds.commands.common import (
    NON_EMPTY,
    color,
    echo,
    kube_version,
    now_for,
    open_source,
    placement_context,
    scope_namespace,
)
from kubectl_ds.core.node_report import MISSING, PENDING, explain_node
from kubectl_ds.core.objects import namespace
from kubectl_ds.core.ownership import target_node
from kubectl_ds.errors import DsError
from kubectl_ds.options import DUMP_COMMAND, global_options, pop_options
from kubectl_ds.render import render

EXAMPLES = f"""
\b
Examples:
  # Every DaemonSet (all namespaces): does it run on worker-3, should it, and why not
  kubectl ds why worker-3
\b
  # One DaemonSet, wherever it is (every namespace), as JSON
  kubectl ds why worker-3 -d log-agent -o json
\b
  # Offline, from a dump
  {DUMP_COMMAND} > dump.json
  kubectl ds why worker-3 --snapshot dump.json
"""


@click.command(epilog=EXAMPLES)
@click.argument("node_name", metavar="NODE", type=NON_EMPTY)
@click.option("-d", "--daemonset", "ds_name", metavar="NAME", type=NON_EMPTY,
              help="Only this DaemonSet (in every namespace that has one, or only in -n's).")
@global_options
@click.pass_context
def why(ctx, node_name, ds_name, **kwargs):
    """Explain why DaemonSets do or do not run on NODE."""
    opts = pop_options(ctx, kwargs)
    source = open_source(ctx, opts)
    # the independent reads at once on a live cluster (a round trip each, not one after another);
    # a dump answers in order. An error is the one the first failing read (in this order) raised.
    first = _reads(source)
    version = first.add(kube_version, opts, source)
    got_node = first.add(source.node, node_name)
    ns = None if ds_name else scope_namespace(opts, source, default_all=True)
    listed = first.add(_named, source, opts, ds_name) if ds_name else \
        first.add(source.daemonsets, ns, opts.selector)
    # pods bound to the node (every namespace: they all use its resources), and unbound pods
    # aimed at it through the controller's injected affinity (in the DaemonSets' namespace)
    bound = first.add(source.pods, None, field_selector=f"spec.nodeName={node_name}")
    if not ds_name:
        unbound = first.add(source.pods, ns, field_selector="spec.nodeName=")
        revs = first.add(source.revisions, ns)
    first.wait()
    daemonsets = listed()
    if ds_name:
        spaces = {namespace(d) for d in daemonsets}
        ns = spaces.pop() if len(spaces) == 1 else None
        second = _reads(source)
        unbound = second.add(source.pods, ns, field_selector="spec.nodeName=")
        revs = second.add(source.revisions, ns)
        second.wait()
    kv, node = version(), got_node()
    pods = bound() + [p for p in unbound() if target_node(p) == node_name]
    revisions = revs()
    now = now_for(ctx, source)
    context = placement_context(source, kv, daemonsets)
    report = explain_node(node, daemonsets, pods, [], revisions, now, context)
    events = _events_for(source, report)
    if events:
        report = explain_node(node, daemonsets, pods, events, revisions, now, context)
    echo(render(report, opts.output, color(ctx), version=kv))


class _reads:
    """Reads started together: `add(fn, *args)` gives a getter of its result (or its error);
    `wait()` waits for all of them and raises the first error in the order they were added. A
    source that says `concurrent_reads` (the live one) runs them on threads, any other in order."""

    def __init__(self, source):
        self.concurrent = bool(getattr(source, "concurrent_reads", False))
        self.pending: list = []

    def add(self, fn, *args, **kwargs):
        box: dict = {}

        def run():
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as err:  # noqa: BLE001 - raised by wait(), in order
                box["error"] = err
        if self.concurrent:
            thread = threading.Thread(target=run, daemon=True, name="kds-read")
            thread.start()
            self.pending.append((thread, box))
        else:
            if not any("error" in b for _, b in self.pending):   # in order: stop at the first error
                run()
            self.pending.append((None, box))
        return lambda: box["value"]

    def wait(self) -> None:
        for thread, _ in self.pending:
            if thread is not None:
                thread.join()
        for _, box in self.pending:
            if "error" in box:
                raise box["error"]


def _named(source, opts, ds_name):
    """`-d NAME`: in -n's namespace only; otherwise (like `why NODE` itself) in every namespace,
    every match (one row each)."""
    if opts.namespace:
        return [source.daemonset(opts.namespace, ds_name)]
    found = source.daemonsets(None, field_selector=f"metadata.name={ds_name}")
    if not found:
        raise DsError(f'daemonset "{ds_name}" not found in any namespace')
    return found


def _events_for(source, report):
    """Events only where they explain something: Pending pods and missing pods (read together)."""
    reads = _reads(source)
    got = []
    for e in report.entries:
        if e.state == PENDING and e.pod:
            got.append(reads.add(source.events, e.pod.namespace,
                                 f"involvedObject.kind=Pod,involvedObject.name={e.pod.name}"))
        elif e.state == MISSING:
            got.append(reads.add(source.events, e.namespace,
                                 f"involvedObject.kind=DaemonSet,involvedObject.name={e.name}"))
    reads.wait()
    return [event for events in got for event in events()]
