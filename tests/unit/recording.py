"""What the commands read of each Node and Pod: the bundled example's objects wrapped in recording
dicts, every command run on them, every key looked up (present or not) noted as a path.

A path is a tuple of keys; "[]" stands for any item of a list, "*" for a walk over every key of a
mapping (its keys, values or items), which needs the mapping kept whole.
"""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta
from typing import Dict, Set, Tuple

import pytest

from kubectl_ds.cli import main
from kubectl_ds.env import Env
from kubectl_ds.source.snapshot import SnapshotSource
from tests.conftest import EXAMPLE, FIXED_NOW, ROOT

Path = Tuple[str, ...]
MANIFEST = str(ROOT / "tests" / "commands" / "manifests" / "agent.yaml")
NEW = str(ROOT / "tests" / "fixtures" / "new-log-agent.yaml")

# every command that reads nodes or pods, on the example, in its output formats
RUNS = [["why", node] for node in ("cp-1", "worker-1", "worker-4", "worker-5", "gpu-1")] + [
    ["diff", "log-agent", "-n", "logging"], ["diff", "net-agent", "-n", "kube-system"], ["diff", "-A"],
    ["footprint", "-A"], ["footprint", "-A", "--by-node"], ["lint", "-A"],
    ["rollout", "log-agent", "-n", "logging", "--no-follow"],
    ["rollout", "net-agent", "-n", "kube-system", "--no-follow"],
    ["migrate", "gpu-device-plugin", "-n", "kube-system", "--selector", "app=gpu-device-plugin,tier=node",
     "--dry-run"],
    ["migrate", "log-agent", "-n", "logging", "-f", NEW, "--dry-run"],   # refused (exit 2): a rollout
    ["footprint", "-f", MANIFEST], ["diff", "-f", NEW, "-n", "logging"],
]
FORMATS = ["table", "wide", "json", "yaml"]


class _Seen:
    def __init__(self):
        self.paths: Set[Path] = set()


class RecDict(dict):
    """A dict that notes each key looked up in it (its path below the object's root)."""

    def __init__(self, data: dict, path: Path, seen: _Seen):
        super().__init__((k, wrap(v, path + (k,), seen)) for k, v in data.items())
        self._path, self._seen = path, seen

    def _note(self, key):
        self._seen.paths.add(self._path + (str(key),))

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)

    def _whole(self):
        self._seen.paths.add(self._path + ("*",))

    def keys(self):
        self._whole()
        return super().keys()

    def values(self):
        self._whole()
        return super().values()

    def items(self):
        self._whole()
        return super().items()

    def __iter__(self):
        self._whole()
        return super().__iter__()

    def copy(self):
        self._whole()
        return dict(self)

    def setdefault(self, key, default=None):
        self._note(key)
        return super().setdefault(key, default)

    def pop(self, key, *default):
        self._note(key)
        return super().pop(key, *default)


def wrap(value, path: Path, seen: _Seen):
    if type(value) is dict:
        return RecDict(value, path, seen)
    if type(value) is list:
        return [wrap(v, path + ("[]",), seen) for v in value]
    return value


def record_paths(runs=RUNS, formats=FORMATS) -> Dict[str, Set[Path]]:
    """{"Node": paths, "Pod": paths} read by `runs` in every format, on the bundled example."""
    plain = SnapshotSource.load(EXAMPLE)
    plain.as_of(FIXED_NOW + timedelta(hours=1))   # the dump's own clock: a snapshot-only read
    seen = {"Node": _Seen(), "Pod": _Seen()}
    for kind, items in (("Node", "nodes"), ("Pod", "pods")):
        plain.by_kind[items] = [wrap(o, (), seen[kind]) for o in plain.by_kind[items]]
    env = Env(clock=lambda: FIXED_NOW, color=False, source_factory=lambda opts: plain)
    for args in runs:
        for fmt in formats:
            with pytest.raises(SystemExit) as exc, contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()) as err:
                main([*args, "-o", fmt], obj=env)
            refused = "migration refused" in err.getvalue()   # after reading what it reads
            assert exc.value.code in (0, 1) or refused, (args, fmt, exc.value.code, err.getvalue())
    return {kind: s.paths for kind, s in seen.items()}
