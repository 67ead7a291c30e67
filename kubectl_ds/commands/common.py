"""What the commands share: building the source, resolving namespaces, echoing results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Mapping, Optional

import click

from kubectl_ds.core.fit import FitContext, extended_requests
from kubectl_ds.core.fit import context as fit_context
from kubectl_ds.core.objects import name, namespace
from kubectl_ds.core.versions import DEFAULT, FLAG, KubeVersion, resolve
from kubectl_ds.env import say
from kubectl_ds.errors import DsError
from kubectl_ds.options import Options
from kubectl_ds.render.common import printable


class NonEmpty(click.ParamType):
    """A name or a path that must not be empty: `why ""` or `-d ""` (an unset variable in a
    script) is one `error:` line, exit 2, not "not given"."""

    name = "text"

    def convert(self, value, param, ctx) -> str:
        if isinstance(value, str) and not value.strip():
            what = "/".join(param.opts) if isinstance(param, click.Option) else \
                (param.metavar or param.name or "argument").strip("[]") if param is not None else "a value"
            raise DsError(f"{what} must not be empty")
        return value


NON_EMPTY = NonEmpty()


def env_of(ctx: click.Context):
    return ctx.find_root().obj


def open_source(ctx: click.Context, opts: Options):
    return env_of(ctx).source_factory(opts)


def now_for(ctx: click.Context, source) -> datetime:
    """The moment to judge time against: with --snapshot the dump's (its newest timestamp, any
    more than an hour ahead of the clock left out as a skewed node's), the clock otherwise."""
    clock = env_of(ctx).clock()
    as_of = getattr(source, "as_of", None)
    at = as_of(clock + timedelta(hours=1)) if as_of is not None else None
    return at if at is not None else clock


def kube_version(opts: Options, source) -> KubeVersion:
    """The Kubernetes minor whose rules this run applies: --kube-version, else what the source
    says (the apiserver's /version; a dump's stamp or its newest kubelet), else the newest
    supported. A version outside the supported range, or none at all, is one warning on stderr."""
    if opts.kube_version:
        reported, where, why = opts.kube_version, FLAG, ""
    else:
        reported, where, why = source.kubernetes_version()
    kv, warning = resolve(reported, where)
    if why:   # the source could not tell (or not fully): say what was used instead
        instead = f"applying the rules of Kubernetes v{kv.label}" if kv.source == DEFAULT else \
            f"using the newest kubelet's ({reported})"
        warn(f"warning: {why}: {instead}")
    if warning:
        warn(f"warning: {warning}")
    return kv


def placement_context(source, kv: KubeVersion, daemonsets: Iterable[Mapping], templates: bool = False) -> FitContext:
    """What the scheduler's fit needs besides pods and nodes, read only when it can matter:
    DeviceClasses (1.36+, when a template requests an extended resource), and for `templates`
    (pods not created yet: footprint) the RuntimeClasses their runtimeClassName names. A
    kind that cannot be read is a note in the result, never an error."""
    from kubectl_ds.core.eligibility import daemon_pod_spec
    rules = kv.rules
    specs = [daemon_pod_spec(ds) for ds in daemonsets]
    devices, device_note = None, ""
    if any(extended_requests(spec, rules) for spec in specs):
        devices, device_note = source.device_classes()
    runtimes, runtime_note = None, ""
    if templates and any(spec.get("runtimeClassName") for spec in specs):
        runtimes, runtime_note = source.runtime_classes()
    return fit_context(rules, devices, device_note, runtimes, runtime_note)


def scope_namespace(opts: Options, source, default_all: bool) -> Optional[str]:
    """The namespace to look in, None for all (-A, or the command's default)."""
    if opts.all_namespaces:
        return None
    if opts.namespace:
        return opts.namespace
    return None if default_all else source.default_namespace


def find_daemonset(source, opts: Options, ds_name: str) -> dict:
    """A DaemonSet by name: in -n / the context's namespace, or, with -A, wherever it is unique."""
    if not opts.all_namespaces:
        return source.daemonset(opts.namespace or source.default_namespace, ds_name)
    found = [d for d in source.daemonsets(None) if name(d) == ds_name]
    if not found:
        raise DsError(f'daemonset "{ds_name}" not found in any namespace')
    if len(found) > 1:
        spaces = ", ".join(sorted(namespace(d) for d in found))
        raise DsError(f'daemonset "{ds_name}" exists in several namespaces ({spaces}): pick one with -n')
    return found[0]


def echo(text: str) -> None:
    say(text)


def warn(text: str) -> None:
    """A line on stderr (a warning, a note), escaped."""
    say(printable(text), err=True)


def color(ctx: click.Context) -> bool:
    return env_of(ctx).use_color()


def no_daemonsets(opts: Options, where: Optional[str], scope: str = "") -> bool:
    """Nothing in scope. Text output: says so on stderr and returns True (print nothing more).
    -o json|yaml: returns False, and the command prints its usual document with empty lists, so
    that a script always reads a document (as `kubectl get -o json` does)."""
    if opts.output in ("json", "yaml"):
        return False
    scope = scope or (f"in namespace {where}" if where else "in any namespace")
    warn(f"No DaemonSets found {scope}.")
    return True


class StatusLine:
    """One line on a terminal's stderr, redrawn in place (`dump`'s and fleet mode's progress),
    erased before anything else is printed; with `stream` None (not a terminal), nothing."""

    def __init__(self, stream):
        self.stream = stream
        self.shown = False

    @staticmethod
    def on_terminal(stream):
        """A StatusLine on `stream` if it is a terminal, else one that prints nothing."""
        return StatusLine(stream if getattr(stream, "isatty", lambda: False)() else None)

    def update(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.stream is not None and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
