"""What the commands share: building the source, resolving namespaces, echoing results."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List, Optional

import click

from kubectl_ds.core.objects import name, namespace
from kubectl_ds.errors import DsError
from kubectl_ds.options import Options


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


def echo(ctx: click.Context, text: str) -> None:
    click.echo(text)


def color(ctx: click.Context) -> bool:
    return env_of(ctx).use_color()


def no_daemonsets(where: Optional[str]) -> None:
    scope = f"in namespace {where}" if where else "in any namespace"
    click.echo(f"No DaemonSets found {scope}.", err=True)


def names(objs: List[dict]) -> List[str]:
    return [name(o) for o in objs]
