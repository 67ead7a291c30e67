"""The outside world, handed to commands: a source factory, a clock, and colour."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Optional


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
    color: Optional[bool] = None   # None: decide from the terminal and NO_COLOR

    def use_color(self, stream=None) -> bool:
        if self.color is not None:
            return self.color
        if "NO_COLOR" in os.environ:
            return False
        stream = stream or sys.stdout
        return bool(getattr(stream, "isatty", lambda: False)())
