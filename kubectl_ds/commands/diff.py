"""`kubectl ds diff [NAME]`: the DaemonSet's desired nodes against where its pods are."""

from __future__ import annotations

import click

from kubectl_ds.commands.common import color, echo, find_daemonset, no_daemonsets, open_source, scope_namespace
from kubectl_ds.core.coverage import diff as coverage
from kubectl_ds.core.objects import namespace
from kubectl_ds.core.selectors import label_selector_string
from kubectl_ds.errors import ExitCode
from kubectl_ds.options import global_options, pop_options
from kubectl_ds.render import render

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
"""


@click.command(epilog=EXAMPLES)
@click.argument("ds_name", metavar="[NAME]", required=False)
@global_options
@click.pass_context
def diff(ctx, ds_name, **kwargs):
    """Compare the nodes a DaemonSet should run on with the nodes it runs on."""
    opts = pop_options(ctx, kwargs)
    source = open_source(ctx, opts)
    now = ctx.find_root().obj.clock()
    if ds_name:
        ds = find_daemonset(source, opts, ds_name)
        sel = label_selector_string(ds["spec"].get("selector"))
        result = coverage(ds, source.nodes(), source.pods(namespace(ds), label_selector=sel),
                          source.revisions(namespace(ds), label_selector=sel), now)
        drift = not result.in_sync
    else:
        ns = scope_namespace(opts, source, default_all=False)
        daemonsets = source.daemonsets(ns, opts.selector)
        if not daemonsets:
            no_daemonsets(ns)
            return
        nodes, pods, revisions = source.nodes(), source.pods(ns), source.revisions(ns)
        result = [coverage(ds, nodes, pods, revisions, now) for ds in daemonsets]
        result.sort(key=lambda c: (c.namespace, c.name))
        drift = any(not c.in_sync for c in result)
    echo(ctx, render(result, opts.output, color(ctx)))
    if drift:
        ctx.exit(ExitCode.BAD_NEWS)
