"""The outside world, handed to commands: a source factory, a clock, and the output stream,
whether it is a terminal and whether to colour it (two separate facts: NO_COLOR turns colour
off, not `rollout`'s progress line redrawn in place on a terminal)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Optional, TextIO


def _default_source(opts):
    from kubectl_ds.source import open_source
    return open_source(kubeconfig=opts.kubeconfig, context=opts.context, snapshot=opts.snapshot,
                       request_timeout=opts.request_timeout)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Env:
    source_factory: Callable = _default_source
    clock: Callable[[], datetime] = _now
    color: Optional[bool] = None   # None: decide from NO_COLOR and the terminal
    tty: Optional[bool] = None     # None: whether stdout is a terminal (its isatty())
    stdout: Optional[TextIO] = None   # None: the process's, looked up when written to
    stderr: Optional[TextIO] = None   # None: the process's (fleet mode gives each context its own)

    @property
    def out(self) -> TextIO:
        """Where results go: `stdout`, else sys.stdout as it is now (a test's capture included)."""
        return self.stdout if self.stdout is not None else sys.stdout

    def is_tty(self) -> bool:
        """Whether stdout is a terminal, where a line may be redrawn in place."""
        if self.tty is not None:
            return self.tty
        return bool(getattr(self.out, "isatty", lambda: False)())

    def use_color(self) -> bool:
        """Colour: as `color` says, else never under NO_COLOR, else on a terminal."""
        if self.color is not None:
            return self.color
        if "NO_COLOR" in os.environ:
            return False
        return self.is_tty()


def current() -> Optional[Env]:
    """The Env of the command running in this thread (click keeps its contexts per thread), or
    None outside a command."""
    import click
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Env) else None


def say(text: str, err: bool = False) -> None:
    """One line to the running command's stdout (or stderr): the process's, or in fleet mode the
    buffer of the context this thread works for."""
    import click
    env = current()
    stream = (env.stderr if err else env.stdout) if env is not None else None
    click.echo(text, file=stream, err=err)
