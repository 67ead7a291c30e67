"""The update strategy: its type, and the maxUnavailable / maxSurge budgets of a rolling update.

Mirrors kubernetes v1.33 pkg/controller/daemon: update.go updatedDesiredNodeCounts with
util.UnavailableCount / util.SurgeCount (docs/semantics.md §4.2), util.AllowsSurge, and
intstr.GetScaledValueFromIntOrPercent for the values. One place for lint (DS006, DS007),
rollout and migration.
"""

from __future__ import annotations

from typing import Mapping, Tuple

from kubectl_ds.core.objects import get_in


def strategy_type(ds: Mapping) -> str:
    """spec.updateStrategy.type; RollingUpdate when unset (the apiserver's default)."""
    return get_in(ds, "spec", "updateStrategy", "type", default="RollingUpdate")


def scaled(value, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true); ValueError if malformed."""
    if isinstance(value, bool):
        raise ValueError(f"invalid value {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.endswith("%"):
        raise ValueError(f"invalid value {value!r}")
    pct = int(text[:-1])
    return -(-pct * total // 100)


def _lenient(value, total: int, default: int) -> int:
    """scaled() for a value the apiserver would have refused (a hand-written manifest or dump):
    a number in a string reads as that number, anything else as the default.
    """
    try:
        return scaled(value, total)
    except ValueError:
        try:
            return int(str(value).strip())
        except ValueError:
            return default


def budgets(ds: Mapping, desired: int, strict: bool = False) -> Tuple[int, int]:
    """(maxUnavailable, maxSurge) as the controller resolves them (update.go updatedDesiredNodeCounts).

    Both zero means maxUnavailable 1 (when any node is desired). A malformed value (a bool, a
    string that is not a percentage: the apiserver refuses it) raises ValueError when `strict`
    (lint reports it), and otherwise reads as leniently as it can (rollout, migrate).
    """
    if strategy_type(ds) != "RollingUpdate":
        return 0, 0
    ru = get_in(ds, "spec", "updateStrategy", "rollingUpdate")
    # without a rollingUpdate block UnavailableCount and SurgeCount give 0; the fallback still applies
    scale = scaled if strict else (lambda v, total: _lenient(v, total, 0))
    max_unavailable = scale(get_in(ru, "maxUnavailable", default=1), desired) if ru is not None else 0
    max_surge = scale(get_in(ru, "maxSurge", default=0), desired) if ru is not None else 0
    if desired > 0 and max_unavailable == 0 and max_surge == 0:
        max_unavailable = 1
    return max_unavailable, max_surge


def allows_surge(ds: Mapping) -> bool:
    """util.AllowsSurge: RollingUpdate with a non-zero maxSurge (int or percentage)."""
    strategy = get_in(ds, "spec", "updateStrategy", default={})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return False
    surge = get_in(strategy, "rollingUpdate", "maxSurge", default=0)
    if isinstance(surge, str):
        return surge.rstrip("%").strip() not in ("", "0")
    return bool(surge)
