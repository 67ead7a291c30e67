"""`kubectl ds rollout NAME` (follow a rollout) and `kubectl ds rollout history NAME`."""

from __future__ import annotations

import json
import sys
from typing import Optional, TextIO

import click

from kubectl_ds.commands import fleet
from kubectl_ds.commands.common import (
    NON_EMPTY,
    color,
    echo,
    env_of,
    find_daemonset,
    kube_version,
    now_for,
    open_source,
    placement_context,
)
from kubectl_ds.core.history import Revision
from kubectl_ds.core.history import history as revision_history
from kubectl_ds.core.objects import namespace
from kubectl_ds.core.rollout import progress
from kubectl_ds.core.selectors import label_selector_string
from kubectl_ds.core.versions import KubeVersion
from kubectl_ds.errors import DsError, ExitCode
from kubectl_ds.options import DURATION, global_options, pop_options
from kubectl_ds.render import render
from kubectl_ds.render.common import escaped, printable
from kubectl_ds.render.fleet import merge
from kubectl_ds.render.rollout import change_lines, final_lines, header, progress_line, revision_text, rollout_document
from kubectl_ds.run.follow import Follower, pods_on_nodes, rollout_events

EXAMPLES = """
\b
Examples:
  # Follow until done, stuck (no progress for --progress-deadline) or --timeout
  kubectl ds rollout log-agent -n logging
\b
  # Give up after 10 minutes (exit 1), naming the nodes that hold it back
  kubectl ds rollout log-agent -n logging --timeout 10m
\b
  # One look, for scripts (JSON; also works offline with --snapshot)
  kubectl ds rollout log-agent -n logging --no-follow -o json
\b
  # Revisions and what changed in each; one revision's template and diff
  kubectl ds rollout history log-agent -n logging
  kubectl ds rollout history log-agent -n logging --revision 3
"""


class DefaultGroup(click.Group):
    """A group whose first argument is the DaemonSet's name unless it names a subcommand."""

    default_command_name = "status"   # also read by completion.py

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["status"] + list(args)
        elif not args:
            args = ["status"]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, epilog=EXAMPLES)
def rollout():
    """Follow a DaemonSet rollout node by node, and say why it is stuck."""


@rollout.command("status", epilog=EXAMPLES)
@click.argument("ds_name", metavar="NAME", type=NON_EMPTY)
@click.option("--follow/--no-follow", "-w", default=True, help="Keep watching until done (default) or look once.")
@click.option("--timeout", "timeout_s", type=DURATION, default="0", metavar="DURATION",
              help="Give up after this long (exit 1); 0: never.")
@click.option("--progress-deadline", "deadline_s", type=DURATION, default="10m", metavar="DURATION",
              help="No progress for this long = stuck (exit 1); 0: never. Default 10m.")
@global_options
@fleet.fleet_options
@click.pass_context
def status(ctx, ds_name, follow, timeout_s, deadline_s, **kwargs):
    """Follow a rollout (the default when NAME comes first)."""
    many = fleet.take(kwargs)
    if many is not None:
        if follow:
            raise DsError("fleet mode (--contexts/--all-contexts) looks once: add --no-follow")
        return fleet.run(ctx, status, dict(kwargs, ds_name=ds_name, follow=False, timeout_s=timeout_s,
                                           deadline_s=deadline_s), many, merge("rollout"))
    opts = pop_options(ctx, kwargs)
    source = open_source(ctx, opts)
    kv = kube_version(opts, source)
    if not follow or opts.snapshot:
        ds = find_daemonset(source, opts, ds_name)
        sel = label_selector_string(ds["spec"].get("selector"))
        ns = namespace(ds)
        pods = source.pods(ns, label_selector=sel)
        result = progress(ds, pods, source.nodes(), source.revisions(ns, label_selector=sel),
                          rollout_events(source, ds), now_for(ctx, source), pods_on_nodes(source, ds, pods),
                          ctx=placement_context(source, kv, [ds]))
        echo(render(result, opts.output, color(ctx), version=kv))
        if not result.done:
            ctx.exit(ExitCode.BAD_NEWS)
        return
    ds = find_daemonset(source, opts, ds_name)
    env = env_of(ctx)
    printer = _LivePrinter(opts.output, env.is_tty(), kv, env.stdout)
    follower = Follower(source, namespace(ds), ds_name, env_of(ctx).clock, deadline_s, timeout_s,
                        printer.change, printer.note, fit=placement_context(source, kv, [ds]))
    final = follower.run()
    printer.finish(final, follower.timed_out, timeout_s)
    if not final.done:
        ctx.exit(ExitCode.BAD_NEWS)


class _LivePrinter:
    """TTY: a progress line redrawn in place plus one line per notable event; else plain lines;
    -o json: one JSON object per state change (JSON Lines)."""

    def __init__(self, fmt: str, tty: bool, version: KubeVersion, out: Optional[TextIO] = None):
        self.fmt, self.tty = fmt, tty and fmt in ("table", "wide")
        self.version = version
        self.out = out   # None: the process's stdout (as click.echo finds it)
        self.started = False
        self.last_line: Optional[str] = None

    def _echo(self, text: str) -> None:
        click.echo(text, file=self.out)

    def _redraw(self, text: str) -> None:
        """On a terminal: clear the progress line, write `text` in its place (no newline)."""
        out = self.out or sys.stdout
        out.write("\r\x1b[K" + text)
        out.flush()

    def _line(self, text: str) -> None:
        if self.tty:
            self._redraw("")
        self._echo(text)

    def _doc(self, doc: dict) -> None:
        """-o json: JSON Lines; -o yaml: a stream of YAML documents."""
        if self.fmt == "json":
            self._echo(json.dumps(doc, separators=(",", ":")))
        else:
            from kubectl_ds.render.common import dump
            self._echo("---\n" + dump(doc, "yaml"))

    def change(self, s, prev) -> None:
        if self.fmt in ("json", "yaml"):
            self._doc({**rollout_document(s), **self.version.to_dict()})
            return
        s, prev = escaped(s), escaped(prev)   # text lines: no control character of the cluster's
        if not self.started:
            self.started = True
            self._line(f"{header(s)}    ({self.version.describe()})")
        for line in change_lines(s, prev):
            self._line(line)
        line = progress_line(s)
        if self.tty:
            self._redraw(line)
        elif line != self.last_line:
            self._echo(line)
        self.last_line = line

    def note(self, text: str) -> None:
        if self.fmt not in ("json", "yaml"):
            self._line(printable(text))

    def finish(self, s, timed_out: bool, timeout: float) -> None:
        if self.fmt in ("json", "yaml"):
            # the last object says how it ended, also when the state itself did not change
            self._doc(dict(rollout_document(s), final=True, timedOut=timed_out, **self.version.to_dict()))
            return
        if self.tty:
            (self.out or sys.stdout).write("\n")
        for line in final_lines(escaped(s), timed_out, timeout):
            self._echo(line)


@rollout.command("history", epilog=EXAMPLES)
@click.argument("ds_name", metavar="NAME", type=NON_EMPTY)
@click.option("--revision", type=int, default=None, help="Show this revision's template and its diff.")
@global_options
@click.pass_context
def history(ctx, ds_name, revision, **kwargs):
    """List a DaemonSet's revisions and what changed in each."""
    opts = pop_options(ctx, kwargs)
    source = open_source(ctx, opts)
    ds = find_daemonset(source, opts, ds_name)
    sel = label_selector_string(ds["spec"].get("selector"))
    revs = list(revision_history(ds, source.revisions(namespace(ds), label_selector=sel)))
    if revision is not None:
        if revision not in [r.number for r in revs]:
            raise DsError(f"unable to find the specified revision {revision}")
        if opts.output in ("json", "yaml"):
            doc = next(r for r in revs if r.number == revision)
            from kubectl_ds.render.common import dump
            echo(dump({"revision": doc.number, "hash": doc.hash, "template": doc.template}, opts.output))
        else:
            echo(revision_text(escaped(revs), revision))
        return
    echo(render(revs, opts.output, color(ctx), item_type=Revision))
