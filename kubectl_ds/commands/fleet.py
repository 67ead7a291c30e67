"""Fleet mode: one command over several kubeconfig contexts at once.

`--contexts a,b,'prod-*',^prod-legacy` or `--all-contexts` on `diff -A`, `lint`, `footprint` and
`rollout NAME --no-follow`. Each context runs the command in this process, in a thread of its own
(`--parallel N` at a time), exactly as `--context NAME -o json` would run it, with its own stdout
and stderr; the documents are merged (render.fleet), each record gaining a `context` field. A
context that fails is reported at the end and does not stop the others.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Callable, Dict, List, Optional, Sequence

import click

from kubectl_ds.errors import DsError, ExitCode

DEFAULT_PARALLEL = 4
MAX_PARALLEL = 64
FLEET_PARAMS = ("contexts", "all_contexts", "parallel")


def fleet_options(fn):
    """--contexts, --all-contexts and --parallel on a command that has a fleet mode."""
    fn = click.option("--parallel", metavar="N", type=click.IntRange(1, MAX_PARALLEL),
                      help=f"Fleet mode: contexts queried at once (default {DEFAULT_PARALLEL}).")(fn)
    fn = click.option("--all-contexts", is_flag=True, default=None,
                      help="Fleet mode: every context of the kubeconfig (exclude some with --contexts ^NAME).")(fn)
    fn = click.option("--contexts", "contexts", metavar="LIST", multiple=True,
                      help="Fleet mode: these kubeconfig contexts (comma-separated names or shell-style "
                           "globs; ^NAME excludes), one CONTEXT column, queried concurrently.")(fn)
    return fn


@dataclass(frozen=True)
class Fleet:
    patterns: tuple
    all_contexts: bool
    parallel: int


def take(kwargs: dict) -> Optional[Fleet]:
    """Take the fleet options out of a command's kwargs: a Fleet when one was asked for."""
    raw = kwargs.pop("contexts", None) or ()
    all_contexts = bool(kwargs.pop("all_contexts", None))
    parallel = kwargs.pop("parallel", None)
    patterns = tuple(p.strip() for chunk in raw for p in chunk.split(","))
    if any(not p or p == "^" for p in patterns):
        raise DsError("--contexts must not hold an empty name")
    if not patterns and not all_contexts:
        if parallel is not None:
            raise DsError("--parallel only applies with --contexts or --all-contexts")
        return None
    return Fleet(patterns, all_contexts, parallel or DEFAULT_PARALLEL)


def select(names: Sequence[str], fleet: Fleet) -> List[str]:
    """The contexts a fleet names, sorted: every one with --all-contexts or when only exclusions
    are given, else those an inclusion matches; then minus the ^exclusions. An inclusion that
    matches nothing is an error (a typo must not shrink the fleet silently)."""
    includes = [p for p in fleet.patterns if not p.startswith("^")]
    excludes = [p[1:] for p in fleet.patterns if p.startswith("^")]
    for pattern in includes:
        if not any(fnmatchcase(n, pattern) for n in names):
            raise DsError(f'no kubeconfig context matches "{pattern}" (--contexts; the contexts: '
                          f'{", ".join(sorted(names)) or "none"})')
    chosen = set(names) if fleet.all_contexts or not includes else \
        {n for n in names if any(fnmatchcase(n, p) for p in includes)}
    chosen = {n for n in chosen if not any(fnmatchcase(n, p) for p in excludes)}
    if not chosen:
        raise DsError("no kubeconfig context is left once the ^exclusions of --contexts are applied")
    return sorted(chosen)


def context_names(kubeconfig: Optional[str]) -> List[str]:
    """The context names of the kubeconfig (or $KUBECONFIG's files merged, as kubectl reads them)."""
    from kubectl_ds.source.client import load
    load()
    from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION

    from kubectl_ds.source.live import merged_kubeconfig
    where = kubeconfig or KUBE_CONFIG_DEFAULT_LOCATION
    try:
        merged = merged_kubeconfig(kubeconfig).config
    except Exception as err:  # noqa: BLE001 - any failure to read it is one line
        raise DsError(f"cannot read the kubeconfig {where}: {err}") from None
    contexts = merged.value.get("contexts") if merged is not None else None
    values = [getattr(c, "value", c) for c in contexts or ()]   # ConfigNodes: their dicts
    names = [str(c["name"]) for c in values if isinstance(c, dict) and isinstance(c.get("name"), str) and c["name"]]
    if not names:
        raise DsError(f"the kubeconfig {where} has no contexts (fleet mode reads them from there)")
    return names


@dataclass
class Outcome:
    context: str
    code: int = 0
    document: Optional[dict] = None
    stderr: List[str] = dataclasses.field(default_factory=list)
    error: Optional[str] = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


def run(ctx: click.Context, command: click.Command, params: dict, fleet: Fleet,
        merge: Callable[[List[Outcome], str, bool], str]) -> None:
    """Run `command` with `params` once per context of `fleet`, then print what `merge` makes of
    the outcomes (in -o's format) and exit: 2 if any context failed, 1 if any said bad news."""
    from kubectl_ds.commands.common import env_of
    from kubectl_ds.options import FORMATS, pop_options
    from kubectl_ds.render.common import printable
    fmt = params.get("output") or (ctx.find_root().meta.get("kubectl_ds.options") or {}).get("output")
    if fmt and fmt not in FORMATS:   # lint's sarif/junit: one file per run, not a fleet's table
        raise DsError(f'fleet mode writes {", ".join(FORMATS)}, not "{fmt}" (-o)')
    opts = pop_options(ctx, dict(params))   # validated as the command would, once
    if opts.snapshot:
        raise DsError("--snapshot reads one dump: it cannot be combined with --contexts/--all-contexts")
    if opts.context:
        raise DsError("--context names one context: use --contexts for several")
    names = select(context_names(opts.kubeconfig), fleet)
    env = env_of(ctx)
    root = ctx.find_root()
    meta = dict(root.meta.get("kubectl_ds.options") or {})
    progress = _Progress(names, sys.stderr)
    outcomes: Dict[str, Outcome] = {}
    with ThreadPoolExecutor(max_workers=min(fleet.parallel, len(names)), thread_name_prefix="kds-fleet") as pool:
        pending: Dict[Future, str] = {pool.submit(_one, root.command, command, params, meta, env, n): n
                                      for n in names}
        progress.show()
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in done:
                name = pending.pop(fut)
                outcome = outcomes[name] = fut.result()
                progress.done(name)
                for line in outcome.stderr:
                    if line.strip():
                        click.echo(printable(f"{name}: {line}"), err=True)
            progress.show()
    progress.clear()
    ordered = [outcomes[n] for n in names]
    click.echo(merge(ordered, opts.output, env.use_color()), nl=False)
    for o in ordered:
        if o.failed:
            click.echo(printable(f"error: context {o.context}: {o.error}"), err=True)
    if any(o.failed for o in ordered):
        ctx.exit(ExitCode.CANNOT_ANSWER)
    if any(o.code == ExitCode.BAD_NEWS for o in ordered):
        ctx.exit(ExitCode.BAD_NEWS)


def _one(root_command: click.Command, command: click.Command, params: dict, meta: dict, env, name: str) -> Outcome:
    """The command for one context, as `--context NAME -o json` runs it, in this thread."""
    out, err = io.StringIO(), io.StringIO()
    sub_env = dataclasses.replace(env, stdout=out, stderr=err, tty=False, color=False)
    kwargs = dict(params, context=name, output="json", contexts=(), all_contexts=None, parallel=None)
    outcome = Outcome(name)
    t0 = time.monotonic()
    root = click.Context(root_command, info_name="kubectl ds", obj=sub_env)
    root.meta["kubectl_ds.options"] = dict(meta, context=name, output="json")
    sub = click.Context(command, parent=root, info_name=command.name)
    try:
        assert command.callback is not None
        with root, sub:
            sub.invoke(command.callback, **kwargs)
    except click.exceptions.Exit as ex:
        outcome.code = ex.exit_code
    except DsError as failure:
        outcome.code, outcome.error = failure.exit_code, failure.message
    except click.ClickException as failure:
        outcome.code, outcome.error = ExitCode.CANNOT_ANSWER, failure.format_message()
    except Exception as bug:  # noqa: BLE001 - one context's bug must not take the others down
        outcome.code = ExitCode.CANNOT_ANSWER
        outcome.error = f"internal error: {type(bug).__name__}: {bug} (please report it)"
    outcome.seconds = time.monotonic() - t0
    outcome.stderr = err.getvalue().splitlines()
    if outcome.error is None:
        text = out.getvalue()
        try:
            outcome.document = json.loads(text) if text.strip() else {}
        except ValueError:
            outcome.code, outcome.error = ExitCode.CANNOT_ANSWER, "internal error: its output is not JSON"
    if outcome.error is not None and outcome.code not in (ExitCode.CANNOT_ANSWER,):
        outcome.code = ExitCode.CANNOT_ANSWER
    return outcome


class _Progress:
    """On a terminal (stderr), one line redrawn while contexts are outstanding; nothing elsewhere."""

    def __init__(self, names: Sequence[str], stream):
        from kubectl_ds.commands.common import StatusLine
        self.outstanding = list(names)
        self.total = len(names)
        self.line = StatusLine.on_terminal(stream)
        self.lock = threading.Lock()

    def done(self, name: str) -> None:
        with self.lock:
            self.outstanding.remove(name)
        self.clear()

    def show(self) -> None:
        if not self.outstanding:
            return
        waiting = ", ".join(self.outstanding[:3]) + (", ..." if len(self.outstanding) > 3 else "")
        self.line.update(f"{self.total - len(self.outstanding)}/{self.total} contexts done; waiting for {waiting}")

    def clear(self) -> None:
        self.line.clear()
