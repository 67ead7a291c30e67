"""`kubectl ds why NODE`: would each DaemonSet run on the node, and if not, why."""

from __future__ import annotations

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
    kv = kube_version(opts, source)
    node = source.node(node_name)
    if ds_name:
        daemonsets = _named(source, opts, ds_name)
        spaces = {namespace(d) for d in daemonsets}
        ns = spaces.pop() if len(spaces) == 1 else None
    else:
        ns = scope_namespace(opts, source, default_all=True)
        daemonsets = source.daemonsets(ns, opts.selector)
    # pods bound to the node (every namespace: they all use its resources), and unbound pods
    # aimed at it through the controller's injected affinity
    pods = source.pods(None, field_selector=f"spec.nodeName={node_name}")
    pods += [p for p in source.pods(ns, field_selector="spec.nodeName=") if target_node(p) == node_name]
    revisions = source.revisions(ns)
    now = now_for(ctx, source)
    context = placement_context(source, kv, daemonsets)
    report = explain_node(node, daemonsets, pods, [], revisions, now, context)
    events = _events_for(source, report)
    if events:
        report = explain_node(node, daemonsets, pods, events, revisions, now, context)
    echo(render(report, opts.output, color(ctx), version=kv))


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
    """Events only where they explain something: Pending pods and missing pods."""
    events = []
    for e in report.entries:
        if e.state == PENDING and e.pod:
            events += source.events(e.pod.namespace,
                                    f"involvedObject.kind=Pod,involvedObject.name={e.pod.name}")
        elif e.state == MISSING:
            events += source.events(e.namespace, f"involvedObject.kind=DaemonSet,involvedObject.name={e.name}")
    return events
