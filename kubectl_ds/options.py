"""kubectl-spelled global options, accepted before or after the subcommand's own arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

import click

from kubectl_ds.errors import DsError

FORMATS = ("table", "wide", "json", "yaml")
# the CI report formats: lint's alone (a code-scanning upload, a test report), refused elsewhere
REPORT_FORMATS = ("sarif", "junit")
LINT_FORMATS = FORMATS + REPORT_FORMATS
# the dump --snapshot reads, as every help text and error spells it (events, leases, deployments
# and statefulsets are optional: leases date the dump, lint reads the workloads)
DUMP_COMMAND = "kubectl get nodes,daemonsets,pods,controllerrevisions,events,leases,deployments,statefulsets -A -o json"


def parse_duration(text: str) -> float:
    """'90', '90s', '5m', '1h30m' -> seconds; 0 disables."""
    text = (text or "0").strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise DsError(f"invalid duration {text!r} (use e.g. 30s, 10m, 1h)")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


class Duration(click.ParamType):
    """A click parameter of seconds (a float), written as parse_duration reads it. A bad value is
    the same one `error:` line (exit 2) as every other usage error, not click's usage block."""

    name = "duration"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        return parse_duration(value)


DURATION = Duration()


@dataclass(frozen=True)
class Options:
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    namespace: Optional[str] = None
    all_namespaces: bool = False
    selector: str = ""
    output: str = "table"
    snapshot: Optional[str] = None
    request_timeout: float = 30.0
    kube_version: Optional[str] = None


_SPECS = (
    (("--kubeconfig",), dict(metavar="PATH",
                             help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")),
    (("--context",), dict(metavar="NAME", help="The kubeconfig context to use.")),
    (("-n", "--namespace"), dict(metavar="NS", help="Namespace (default: the context's).")),
    (("-A", "--all-namespaces"), dict(is_flag=True, default=None, help="Look at every namespace.")),
    (("-l", "--selector"), dict(metavar="SELECTOR", help="Only DaemonSets matching this label selector.")),
    (("-o", "--output"), dict(metavar="FORMAT", help="Output format: table (default), wide, json, yaml.")),
    (("--snapshot",), dict(metavar="FILE", help="Read a dump instead of a cluster (how to take one: "
                                                "kubectl ds --help).")),
    (("--request-timeout",), dict(metavar="SECONDS", type=float,
                                  help="Bound on each whole API request, its body included, and on an exec "
                                       "credential plugin (default 30).")),
    (("--kube-version",), dict(metavar="X.Y", help="Apply the rules of this Kubernetes minor (1.33-1.37) instead "
                                                  "of the cluster's or the dump's.")),
)
_NAMES = ("kubeconfig", "context", "namespace", "all_namespaces", "selector", "output", "snapshot",
          "request_timeout", "kube_version")


def _format_help(formats: Tuple[str, ...]) -> str:
    return f"Output format: {formats[0]} (default), {', '.join(formats[1:])}."


def global_options(fn=None, *, formats: Tuple[str, ...] = FORMATS):
    """Add every global option to a click command (they are merged with the group's).

    `@global_options` or `@global_options(formats=...)`: -o's help lists `formats`, the ones the
    command accepts (pop_options must be given the same tuple).
    """
    def add(fn):
        for decls, kwargs in reversed(_SPECS):
            if decls == ("-o", "--output"):
                kwargs = {**kwargs, "help": _format_help(formats)}
            fn = click.option(*decls, **kwargs)(fn)
        fn.__kubectl_ds_formats__ = formats    # read by completion (the -o candidates of this command)
        return fn
    return add if fn is None else add(fn)


def formats_of(command: Optional[click.Command]) -> Tuple[str, ...]:
    """The -o formats a command accepts (FORMATS unless it declared more)."""
    return getattr(getattr(command, "callback", None), "__kubectl_ds_formats__", FORMATS)


def pop_options(ctx: click.Context, kwargs: dict, formats: Tuple[str, ...] = FORMATS) -> Options:
    """Take the global options out of a command's kwargs, merged over the group's, validated
    (-o against `formats`, the formats this command accepts)."""
    given = {k: kwargs.pop(k) for k in _NAMES if k in kwargs}
    parent = (ctx.find_root().meta.get("kubectl_ds.options") or {})
    merged = {k: given.get(k) if given.get(k) is not None else parent.get(k) for k in _NAMES}
    return validate({k: v for k, v in merged.items() if v is not None}, formats)


# the global options that name something: an empty value is a mistake (an unset variable in a
# script, `-n ""`), never "not given"
_NON_EMPTY = (("kubeconfig", "--kubeconfig"), ("context", "--context"), ("namespace", "-n/--namespace"),
              ("snapshot", "--snapshot"))


def validate(values: dict, formats: Tuple[str, ...] = FORMATS) -> Options:
    for key, flag in _NON_EMPTY:
        if isinstance(values.get(key), str) and not values[key].strip():
            raise DsError(f"{flag} must not be empty")
    opts = Options(**values)
    if opts.output not in formats:
        raise DsError(f'unknown output format "{opts.output}" (expected one of: {", ".join(formats)})')
    if opts.namespace and opts.all_namespaces:
        raise DsError("-n/--namespace and -A/--all-namespaces cannot be used together")
    if not 0 < opts.request_timeout < float("inf"):   # NaN compares false: refused too
        raise DsError(f"--request-timeout must be a positive number of seconds, not {opts.request_timeout}")
    if opts.kube_version is not None:
        from kubectl_ds.core.versions import valid_flag
        if not valid_flag(opts.kube_version):
            raise DsError(f'invalid --kube-version "{opts.kube_version}" (expected a Kubernetes minor such as 1.36)')
    if opts.selector:
        from kubectl_ds.core.selectors import SelectorError, parse_selector_string
        try:
            parse_selector_string(opts.selector)
        except SelectorError as err:
            raise DsError(f"invalid label selector: {err}") from None
    return opts
