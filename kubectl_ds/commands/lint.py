"""`kubectl ds lint [NAME] [-f FILE]`: the DaemonSet mistakes operators make, with the fix for each."""

from __future__ import annotations

import copy
import os
from typing import Dict, Iterable

import click

from kubectl_ds.commands import fleet
from kubectl_ds.commands.common import (
    NON_EMPTY,
    color,
    echo,
    find_daemonset,
    kube_version,
    no_daemonsets,
    open_source,
    scope_namespace,
)
from kubectl_ds.core.lint import ERROR, SEVERITIES
from kubectl_ds.core.lint import lint as run_checks
from kubectl_ds.core.objects import name
from kubectl_ds.core.versions import FLAG, resolve
from kubectl_ds.errors import DsError, ExitCode
from kubectl_ds.options import LINT_FORMATS, REPORT_FORMATS, global_options, pop_options
from kubectl_ds.render import render
from kubectl_ds.render.fleet import merge

EXAMPLES = """
\b
Examples:
  # Every DaemonSet in every namespace, and the Deployments/StatefulSets that are DaemonSets in disguise
  kubectl ds lint -A
\b
  # One DaemonSet, as JSON
  kubectl ds lint log-agent -n logging -o json
\b
  # Manifests before they are applied (no cluster needed); exit 1 on warnings too
  kubectl ds lint -f daemonset.yaml --fail-on warning
\b
  # Manifests, against the nodes of a cluster dump
  kubectl ds lint -f manifests/ --snapshot dump.json
\b
  # Silence two checks for one DaemonSet
  kubectl annotate daemonset net-agent -n kube-system kubectl-ds.io/ignore=DS003,DS011
\b
  # CI: a SARIF log for code scanning (file and line of each finding), or a JUnit report
  kubectl ds lint -f k8s/ -o sarif > kubectl-ds.sarif
  kubectl ds lint -f k8s/ -o junit --fail-on warning > kubectl-ds.xml
"""


@click.command(epilog=EXAMPLES)
@click.argument("ds_name", metavar="[NAME]", required=False, type=NON_EMPTY)
@click.option("-f", "--filename", "files", multiple=True, metavar="FILE", type=NON_EMPTY,
              help="Lint these manifests (YAML or JSON, multi-document, List; a directory; - for stdin) "
                   "instead of the cluster's objects. The cluster's nodes are read only with --snapshot, "
                   "--kubeconfig or --context.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=ERROR, show_default=True,
              help="Exit 1 when a finding is this severe or more.")
@global_options(formats=LINT_FORMATS)
@fleet.fleet_options
@click.pass_context
def lint(ctx, ds_name, files, fail_on, **kwargs):
    """Check DaemonSets for the mistakes that bite: placement, resources, rollout, host access."""
    many = fleet.take(kwargs)
    if many is not None:
        return fleet.run(ctx, lint, dict(kwargs, ds_name=ds_name, files=files, fail_on=fail_on), many,
                         merge("lint"))
    opts = pop_options(ctx, kwargs, LINT_FORMATS)
    report_format = opts.output in REPORT_FORMATS   # a CI report: always a document, even empty
    if files:
        daemonsets, workloads = _from_files(files, ds_name, opts.namespace)
        if not daemonsets and not workloads and no_daemonsets(opts, None, f"in {', '.join(files)}") \
                and not report_format:
            return
        uses_cluster = opts.snapshot or opts.kubeconfig or opts.context
        if uses_cluster:
            cluster = open_source(ctx, opts)
            kv = kube_version(opts, cluster)
            nodes = cluster.nodes()
        else:   # manifests alone: --kube-version, else the newest supported minor
            kv, nodes = resolve(opts.kube_version, FLAG)[0], None
    else:
        source = open_source(ctx, opts)
        kv = kube_version(opts, source)
        if ds_name:
            daemonsets, workloads = [find_daemonset(source, opts, ds_name)], []
        else:
            ns = scope_namespace(opts, source, default_all=False)
            daemonsets, workloads = source.daemonsets(ns, opts.selector), source.workloads(ns, opts.selector)
            if not daemonsets and not workloads and no_daemonsets(opts, ns) and not report_format:
                return
        nodes = source.nodes()
    report = run_checks(daemonsets, workloads, nodes, rules=kv.rules)
    if opts.output == "sarif":
        from kubectl_ds.render.sarif import sarif_text
        echo(sarif_text(report, _places(files, opts.namespace or ""), kv))
    elif opts.output == "junit":
        from kubectl_ds.render.junit import junit_text
        echo(junit_text(report, fail_on, _places(files, opts.namespace or ""), kv))
    else:
        echo(render(report, opts.output, color(ctx), version=kv))
    if report.fails(fail_on):
        ctx.exit(ExitCode.BAD_NEWS)


def _places(files: Iterable[str], ns: str) -> Dict:
    """Where each object of the -f files is (render/locations.py): file URIs relative to the
    current directory, as code scanning expects them from a run at the repository's root. stdin
    has no file: its objects get no physical location."""
    from kubectl_ds.render.locations import locate
    places: Dict = {}
    for path in _files_of(files):
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError):
            continue     # read once already by the loader; gone since: the findings keep their objects
        for key, place in locate(text, _uri(path), ns).items():
            places.setdefault(key, place)
    return places


def _files_of(files: Iterable[str]):
    """The files -f names, as the loader reads them (a directory: its .yaml, .yml, .json files)."""
    for path in files:
        if path == "-":
            continue
        if os.path.isdir(path):
            yield from sorted(os.path.join(path, f) for f in os.listdir(path)
                              if f.endswith((".yaml", ".yml", ".json")))
        else:
            yield path


def _uri(path: str) -> str:
    """A relative URI from the current directory (`k8s/agent.yaml`), else an absolute file URI."""
    from pathlib import Path
    from urllib.parse import quote
    full = Path(path).resolve()
    try:
        return quote(full.relative_to(Path.cwd().resolve()).as_posix())
    except ValueError:       # outside the current directory
        return full.as_uri()


def _from_files(files, ds_name, ns):
    """The files' DaemonSets and workloads; objects without a namespace get -n's, as kubectl apply does."""
    from kubectl_ds.source.manifests import load_manifests
    found = load_manifests(files)
    objects = [copy.deepcopy(o) for o in found.daemonsets + found.workloads]
    if ns:
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("namespace", ns)
    daemonsets = [o for o in objects if o.get("kind") == "DaemonSet"]
    workloads = [o for o in objects if o.get("kind") != "DaemonSet"]
    if ds_name:
        daemonsets, workloads = [d for d in daemonsets if name(d) == ds_name], []
        if not daemonsets:
            raise DsError(f'daemonset "{ds_name}" not found in {", ".join(files)}')
    return daemonsets, workloads
