"""`kubectl ds footprint`: what DaemonSets cost, per pod and times the nodes they cover."""

from __future__ import annotations

import click

from kubectl_ds.commands import fleet
from kubectl_ds.commands.common import (
    NON_EMPTY,
    color,
    echo,
    kube_version,
    no_daemonsets,
    open_source,
    placement_context,
    scope_namespace,
)
from kubectl_ds.core.footprint import footprint as per_daemonset
from kubectl_ds.core.footprint import footprint_by_node
from kubectl_ds.errors import DsError
from kubectl_ds.options import global_options, pop_options
from kubectl_ds.render import render
from kubectl_ds.render.fleet import merge

EXAMPLES = """
\b
Examples:
  # Requests and limits of every DaemonSet, times the nodes it covers, and the total
  kubectl ds footprint -A
\b
  # How much of each node goes to daemon pods
  kubectl ds footprint -A --by-node
\b
  # Offline, as JSON
  kubectl ds footprint -A --snapshot dump.json -o json
\b
  # What a manifest's DaemonSet(s) would cost once applied, on the cluster's nodes
  kubectl ds footprint -f new-agent.yaml
"""


@click.command(epilog=EXAMPLES)
@click.option("--by-node", is_flag=True, help="One row per node: the daemon pods' share of it.")
@click.option("-f", "--filename", metavar="FILE", type=NON_EMPTY,
              help="The DaemonSets of a manifest (file, directory or -), as if applied.")
@global_options
@fleet.fleet_options
@click.pass_context
def footprint(ctx, by_node, filename, **kwargs):
    """Show what DaemonSets request: per pod, times the nodes they cover, and per node."""
    many = fleet.take(kwargs)
    if many is not None:
        if by_node:
            raise DsError("fleet mode (--contexts/--all-contexts) sums per DaemonSet: drop --by-node")
        return fleet.run(ctx, footprint, dict(kwargs, by_node=False, filename=filename), many, merge("footprint"))
    opts = pop_options(ctx, kwargs)
    source = open_source(ctx, opts)
    kv = kube_version(opts, source)
    if filename:
        daemonsets = _from_manifest(filename, opts, source)
    else:
        ns = scope_namespace(opts, source, default_all=False)
        daemonsets = source.daemonsets(ns, opts.selector)
        if not daemonsets and no_daemonsets(opts, ns):
            return
    nodes = source.nodes()
    fit = placement_context(source, kv, daemonsets, templates=True)
    result = footprint_by_node(daemonsets, nodes, fit) if by_node else per_daemonset(daemonsets, nodes, fit)
    echo(render(result, opts.output, color(ctx), version=kv))


def _from_manifest(filename, opts, source):
    """The manifest's DaemonSets, each in its own namespace, else -n's, else the context's."""
    from kubectl_ds.source.manifests import load_manifests
    found = load_manifests([filename]).daemonsets
    if not found:
        raise DsError(f"{filename} holds no DaemonSet")
    default_ns = opts.namespace or source.default_namespace
    out = []
    for ds in found:
        meta = ds.get("metadata") or {}
        out.append(dict(ds, metadata=dict(meta, namespace=meta.get("namespace") or default_ns)))
    return out
