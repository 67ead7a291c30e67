"""`kubectl ds diff [NAME]`: the DaemonSet's desired nodes against where its pods are."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import click

from kubectl_ds.commands import fleet
from kubectl_ds.commands.common import (
    NON_EMPTY,
    color,
    echo,
    find_daemonset,
    kube_version,
    no_daemonsets,
    now_for,
    open_source,
    placement_context,
    scope_namespace,
)
from kubectl_ds.core.coverage import Coverage, compare
from kubectl_ds.core.events import failed_create, failed_create_selector
from kubectl_ds.core.objects import get_in, name, namespace
from kubectl_ds.core.selectors import SelectorError, label_selector_string
from kubectl_ds.errors import DsError, ExitCode
from kubectl_ds.options import global_options, pop_options
from kubectl_ds.render import render
from kubectl_ds.render.fleet import merge

PER_DAEMONSET_LISTS = 20   # up to this many DaemonSets, `diff -A` lists pods per DaemonSet selector


def _candidates(source, ds):
    """The pods the DaemonSet could claim: its namespace's pods that match its selector.

    Coverage ignores every other pod, so asking the apiserver for these (labelSelector) gives
    the same answer as listing the whole namespace. A nil or invalid selector claims nothing.
    """
    try:
        if get_in(ds, "spec", "selector") is None:
            return []
        sel = label_selector_string(ds["spec"]["selector"])
    except SelectorError:
        return []
    return source.pods(namespace(ds), label_selector=sel)


PODS_PER_NODE_LISTS = 20   # a first install covering up to this many nodes: their pods node by node


def _what_if(ctx, opts, source, ds_name, filename, kv):
    """`diff [NAME] -f FILE`: the manifest's DaemonSet (namespace and name from the manifest)
    against the live one, or, not in the cluster yet, where it would run and which of its pods
    would stay Pending."""
    from kubectl_ds.core.migration import what_if
    from kubectl_ds.errors import NotFound
    from kubectl_ds.source.manifests import load_manifests
    found = load_manifests([filename]).daemonsets
    if len(found) != 1:
        raise DsError(f"{filename} must hold exactly one DaemonSet (found {len(found)})")
    manifest = found[0]
    meta = manifest.get("metadata") or {}
    own_name = meta.get("name") or ""
    if ds_name and own_name and ds_name != own_name:
        raise DsError(f'{filename} is the DaemonSet "{own_name}", not "{ds_name}"')
    ds_name = ds_name or own_name
    if not ds_name:
        raise DsError(f"{filename}: the DaemonSet has no metadata.name: give NAME")
    own_ns = meta.get("namespace") or ""
    if own_ns and opts.namespace and own_ns != opts.namespace:
        raise DsError(f'the namespace of {filename} ("{own_ns}") does not match -n "{opts.namespace}"')
    old = None
    if own_ns or not opts.all_namespaces:
        ns = own_ns or opts.namespace or source.default_namespace
        try:
            old = source.daemonset(ns, ds_name)
        except NotFound:
            old = None
    else:   # -A, no namespace in the manifest: wherever NAME is unique (the context's namespace if nowhere)
        live = [d for d in source.daemonsets(None) if name(d) == ds_name]
        if len(live) > 1:
            spaces = ", ".join(sorted(namespace(d) for d in live))
            raise DsError(f'daemonset "{ds_name}" exists in several namespaces ({spaces}): pick one with -n')
        old = live[0] if live else None
        ns = namespace(old) if old is not None else source.default_namespace
    proposed = dict(manifest, metadata=dict(meta, name=ds_name, namespace=ns))
    nodes = source.nodes()
    fit = placement_context(source, kv, [proposed], templates=True) if old is None else None
    result = what_if(old, proposed, nodes, lambda covered: _pods_on(source, covered), fit)
    echo(render(result, opts.output, color(ctx), version=kv))
    if not result.same or result.pending:
        ctx.exit(ExitCode.BAD_NEWS)


def _pods_on(source, node_names):
    """The pods on each named node: node by node for a few, one list of every pod for many."""
    if len(node_names) <= PODS_PER_NODE_LISTS:
        return {n: source.pods(None, field_selector=f"spec.nodeName={n}") for n in node_names}
    wanted = set(node_names)
    out = {n: [] for n in node_names}
    for p in source.pods(None):
        on = get_in(p, "spec", "nodeName")
        if on in wanted:
            out[on].append(p)
    return out


EXAMPLES = """
\b
Examples:
  # Which nodes miss log-agent, which run it where they should not (exit 1 on drift)
  kubectl ds diff log-agent -n logging
\b
  # Every DaemonSet in every namespace, one row each
  kubectl ds diff -A
\b
  # Offline, as JSON
  kubectl ds diff log-agent -n logging --snapshot dump.json -o json
\b
  # What-if: which nodes a new manifest would gain or lose (exit 1 if any); for a DaemonSet
  # not installed yet, the nodes it would cover and the pods that would stay Pending
  kubectl ds diff -f new-log-agent.yaml
"""


@click.command(epilog=EXAMPLES)
@click.argument("ds_name", metavar="[NAME]", required=False, type=NON_EMPTY)
@click.option("-f", "--filename", metavar="FILE", type=NON_EMPTY,
              help="What-if: nodes the manifest's DaemonSet would gain or lose (a first install: "
                   "the nodes it would cover, the pods that would stay Pending).")
@global_options
@fleet.fleet_options
@click.pass_context
def diff(ctx, ds_name, filename, **kwargs):
    """Compare the nodes a DaemonSet should run on with the nodes it runs on."""
    many = fleet.take(kwargs)
    if many is not None:
        if ds_name or filename:
            raise DsError("fleet mode (--contexts/--all-contexts) lists DaemonSets: drop NAME and -f (use -A)")
        return fleet.run(ctx, diff, dict(kwargs, ds_name=None, filename=None), many, merge("diff"))
    opts = pop_options(ctx, kwargs)
    source = open_source(ctx, opts)
    kv = kube_version(opts, source)
    now = now_for(ctx, source)
    if filename:
        return _what_if(ctx, opts, source, ds_name, filename, kv)
    if ds_name:
        ds = find_daemonset(source, opts, ds_name)
        sel = label_selector_string(ds["spec"].get("selector"))
        cov = compare(ds, source.nodes(), source.pods(namespace(ds), label_selector=sel),
                       source.revisions(namespace(ds), label_selector=sel), now)
        result = _with_failed_create(cov, ds, now, lambda: source.events(namespace(ds), failed_create_selector(ds)))
        drift = not result.in_sync
    else:
        ns = scope_namespace(opts, source, default_all=False)
        daemonsets = source.daemonsets(ns, opts.selector)
        if not daemonsets and no_daemonsets(opts, ns):
            return
        nodes, revisions = source.nodes(), source.revisions(ns)
        # a few DaemonSets: only their candidate pods, one selector at a time (not every pod in
        # scope, most of which are no daemon's); many: one list of every pod
        pods = source.pods(ns) if len(daemonsets) > PER_DAEMONSET_LISTS else None
        # one read for the scope, and only if some DaemonSet misses a pod
        scope_events = lru_cache(maxsize=None)(lambda: source.events(ns, failed_create_selector()))
        result = [_with_failed_create(
            compare(ds, nodes, _candidates(source, ds) if pods is None else pods, revisions, now), ds, now,
            scope_events) for ds in daemonsets]
        result.sort(key=lambda c: (c.namespace, c.name))
        drift = any(not c.in_sync for c in result)
    echo(render(result, opts.output, color(ctx), item_type=Coverage, version=kv))
    if drift:
        ctx.exit(ExitCode.BAD_NEWS)


def _with_failed_create(cov, ds, now, events):
    """Nodes missing their pod: the DaemonSet's FailedCreate event says why. `events()` reads them,
    called only when some node is missing its pod."""
    if not cov.missing:
        return cov
    return replace(cov, failed_create=failed_create(ds, events(), now))

