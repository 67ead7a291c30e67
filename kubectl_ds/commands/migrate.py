"""`kubectl ds migrate NAME`: change a DaemonSet's immutable selector without losing a pod."""

from __future__ import annotations

import contextlib
import os
import shlex

import click

from kubectl_ds.commands.common import NON_EMPTY, color, echo, env_of, kube_version, open_source, placement_context
from kubectl_ds.core.migration import derive_manifest, rollout_in_progress, selector_from_string
from kubectl_ds.core.migration import plan as make_plan
from kubectl_ds.core.selectors import SelectorError, label_selector_string
from kubectl_ds.errors import DsError, ExitCode
from kubectl_ds.options import DURATION, global_options, pop_options
from kubectl_ds.render import render
from kubectl_ds.render.common import escaped, printable

EXAMPLES = """
\b
Examples:
  # Plan, confirm, then orphan, re-create, verify adoption and follow the rollout
  kubectl ds migrate log-agent -n logging --selector app=log-agent,tier=node
\b
  # From a manifest, without asking
  kubectl ds migrate log-agent -n logging -f new-log-agent.yaml --yes
\b
  # Only the plan
  kubectl ds migrate log-agent -n logging --selector app=log-agent,tier=node --dry-run -o yaml
\b
  # After an interruption: finish it, or put the original back
  kubectl ds migrate --resume ./log-agent.migration.json
  kubectl ds migrate --rollback ./log-agent.migration.json
"""


@click.command(epilog=EXAMPLES)
@click.argument("ds_name", metavar="[NAME]", required=False, type=NON_EMPTY)
@click.option("-f", "--filename", metavar="FILE", type=NON_EMPTY,
              help="The new DaemonSet manifest (same name, new selector).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show the plan and stop.")
@click.option("--force", is_flag=True, help="Migrate even while a rollout is in progress.")
@click.option("--no-rollout", is_flag=True, help="Stop once the pods are adopted; do not follow the rollout.")
@click.option("--state-file", metavar="PATH", type=NON_EMPTY, help="Journal (default ./NAME.migration.json).")
@click.option("--resume", "resume_path", metavar="STATE", type=NON_EMPTY, help="Finish an interrupted migration.")
@click.option("--rollback", "rollback_path", metavar="STATE", type=NON_EMPTY,
              help="Restore the original DaemonSet and labels.")
@click.option("--timeout", type=DURATION, default="0", metavar="DURATION",
              help="For the final rollout: give up after this long.")
@global_options
@click.pass_context
def migrate(ctx, ds_name, filename, yes, dry_run, force, no_rollout, state_file, resume_path, rollback_path,
            timeout, **kwargs):
    """Change a DaemonSet's selector safely: orphan its pods, re-create it, let it adopt them.

    -l/--selector is the NEW selector here.
    """
    opts = pop_options(ctx, kwargs)
    if resume_path or rollback_path:
        return _continue(ctx, opts, resume_path, rollback_path)
    if not ds_name:
        raise DsError("give the DaemonSet's NAME (or --resume/--rollback STATE)")
    if bool(filename) == bool(opts.selector):
        raise DsError("give the new selector with --selector, or the new manifest with -f (one of them)")
    source = open_source(ctx, opts)
    ns = opts.namespace or source.default_namespace
    old = source.daemonset(ns, ds_name)
    new = _new_manifest(old, filename, opts.selector)
    plan = make_plan(old, new, source.pods(ns), source.nodes(), source.controllers(ns))
    refusals = list(plan.refusals)
    busy = rollout_in_progress(old)
    if busy and not force:
        from kubectl_ds.core.migration import Refusal
        refusals.append(Refusal("RolloutInProgress", f"{busy}; wait for it, or pass --force"))
    if not opts.snapshot and not dry_run:
        refusals += _permissions(source, ns)
    from dataclasses import replace
    plan = replace(plan, refusals=tuple(refusals))
    echo(render(plan, opts.output, color(ctx)))
    if plan.refusals:
        raise DsError(f"migration refused: {plan.refusals[0].message}"
                      + (f" (and {len(plan.refusals) - 1} more)" if len(plan.refusals) > 1 else ""))
    if dry_run:
        return
    if opts.snapshot:
        raise DsError("a snapshot can only be planned (--dry-run)")
    if not yes:
        _confirm()
    from kubectl_ds.run.migration import Journal
    path = state_file or f"./{ds_name}.migration.json"
    if os.path.exists(path):
        raise DsError(f"{path} exists (an earlier migration?): use --resume/--rollback, or --state-file")
    state = Journal.new(plan, no_rollout)
    state.save(path)
    echo(printable(f"journal: {path}"))
    with _journal_kept(path):
        _runner(ctx, opts, source, path, timeout).run(state)
    echo(printable(f"migrated daemon set {ns}/{ds_name}: new selector {label_selector_string(plan.new_selector)}"))


def _confirm() -> None:
    """Ask on the terminal; DsError when there is none to ask on, or the answer is no."""
    if not click.get_text_stream("stdin").isatty():
        raise DsError("refusing to migrate without confirmation: pass --yes (no terminal to ask on)")
    if not click.confirm("Proceed?", default=False):
        raise DsError("aborted; nothing was changed", ExitCode.BAD_NEWS)


def _new_manifest(old: dict, filename, selector_text) -> dict:
    if filename:
        from kubectl_ds.source.manifests import load_manifests
        found = load_manifests([filename]).daemonsets
        if len(found) != 1:
            raise DsError(f"{filename} must hold exactly one DaemonSet (found {len(found)})")
        return found[0]
    try:
        return derive_manifest(old, selector_from_string(selector_text))
    except SelectorError as err:
        raise DsError(f"invalid selector: {err}") from None


def _permissions(source, ns: str):
    from kubectl_ds.core.migration import Refusal
    from kubectl_ds.source.writer import NEEDED, Writer
    w = Writer(source)
    missing = [f"{verb} {res}" for verb, res, group in NEEDED if not w.can(verb, res, ns, group)]
    return [Refusal("Forbidden", f"you may not {', '.join(missing)} in namespace {ns}")] if missing else []


# everywhere else the global -l/--selector filters DaemonSets; here it is the selector to migrate to
for _param in migrate.params:
    if isinstance(_param, click.Option) and _param.name == "selector":
        _param.help = ("The NEW selector to re-create the DaemonSet with (e.g. app=log-agent,tier=node; "
                       "set-based requirements too), instead of a manifest (-f). It does not filter.")


def _runner(ctx, opts, source, path: str, timeout_s: float):
    from kubectl_ds.run.migration import Runner
    from kubectl_ds.source.writer import Writer
    versions: list = []   # the cluster's minor, resolved once (on the first rollout followed)

    def follow(ns: str, name: str) -> bool:
        from kubectl_ds.render.rollout import final_lines, progress_line
        from kubectl_ds.run.follow import Follower
        last = [None]

        def change(s, prev):
            line = printable(progress_line(s))
            if line != last[0]:
                click.echo(line)
                last[0] = line
        # the rollout's culprits judge the scheduler's fit: by the rules of the cluster's minor
        if not versions:
            versions.append(kube_version(opts, source))
        fit = placement_context(source, versions[0], [source.daemonset(ns, name)])
        f = Follower(source, ns, name, env_of(ctx).clock, 600, timeout_s, change, fit=fit)
        final = f.run()
        for line in final_lines(escaped(final), f.timed_out, timeout_s):
            click.echo(line)
        return final.done
    return Runner(Writer(source), source, path, lambda text: click.echo(printable(text)), follow=follow,
                  after_step=_exit_after_hook())


EXIT_AFTER = "KUBECTL_DS_MIGRATE_EXIT_AFTER"


def _exit_after_hook():
    """Fault injection, for the interruption tests: with KUBECTL_DS_MIGRATE_EXIT_AFTER=<step> the
    process ends right after that step is journaled as done, as if killed there (no clean-up, no
    message), with exit code 3 (ExitCode.KILLED_BY_TEST_HOOK), which nothing else returns."""
    step = os.environ.get(EXIT_AFTER, "")

    def after_step(done: str) -> None:
        if step and done == step:
            os._exit(ExitCode.KILLED_BY_TEST_HOOK)
    return after_step


@contextlib.contextmanager
def _journal_kept(path: str, rolling_back: bool = False):
    """A migration (or rollback) that stops on an error or Ctrl-C says that its journal is kept
    and what to run next: every step can be resumed or undone from it. An error that already
    says what to do (a DaemonSet changed since the plan, a rollout that did not finish after a
    complete migration) is left as it is."""
    arg = shlex.quote(path)
    if rolling_back:
        hint = f"the journal {path} is kept: run `kubectl ds migrate --rollback {arg}` again"
    else:
        hint = (f"the journal {path} is kept: `kubectl ds migrate --resume {arg}` finishes the migration, "
                f"`--rollback {arg}` restores the original DaemonSet")
    try:
        yield
    except DsError as err:
        if err.advised:
            raise
        raise DsError(f"{err.message}; {hint}", err.exit_code, advised=True) from None
    except KeyboardInterrupt:
        click.echo(printable(f"interrupted; {hint}"), err=True)
        raise


def _continue(ctx, opts, resume_path, rollback_path):
    from kubectl_ds.run.migration import Journal
    if resume_path and rollback_path:
        raise DsError("--resume and --rollback cannot be used together")
    path = resume_path or rollback_path
    if opts.snapshot:
        raise DsError("--resume and --rollback change the cluster: they cannot read a --snapshot")
    state = Journal.load(path)
    if resume_path and state.rolled_back:
        raise DsError("this migration was rolled back; plan a new one")
    source = open_source(ctx, opts)
    runner = _runner(ctx, opts, source, path, 0.0)
    if rollback_path:
        with _journal_kept(path, rolling_back=True):
            runner.rollback(state)
        return
    with _journal_kept(path):
        runner.run(state)
    echo(printable(f"migrated daemon set {state.namespace}/{state.name}: new selector "
                   f"{label_selector_string(state.new_selector)}"))
