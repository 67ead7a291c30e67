"""Total accessors on API-shaped dicts (absent fields are the normal case in API JSON), the API's
timestamps (parse_time) and the terminal pod phases.

No `from __future__ import annotations` here: it would share a name with `annotations()` below.
"""

import re
from collections.abc import Mapping as _AbcMapping
from datetime import datetime
from typing import Any, Mapping, Optional

TERMINAL = ("Failed", "Succeeded")   # pod phases a pod does not leave
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|z|[+-]\d\d:?\d\d)$")


def get_in(obj: Any, *path: str, default: Any = None) -> Any:
    """Follow `path` through nested mappings; `default` when any step is missing or null."""
    cur = obj
    for key in path:
        # API JSON is plain dicts: test that first (typing.Mapping's isinstance is ~10x slower)
        if type(cur) is not dict and not isinstance(cur, _AbcMapping):
            return default
        cur = cur.get(key)
        if cur is None:
            return default
    return cur


def name(obj: Mapping) -> str:
    return get_in(obj, "metadata", "name", default="")


def namespace(obj: Mapping) -> str:
    return get_in(obj, "metadata", "namespace", default="")


def uid(obj: Mapping) -> str:
    return get_in(obj, "metadata", "uid", default="")


def labels(obj: Mapping) -> Mapping[str, str]:
    return get_in(obj, "metadata", "labels", default={})


def annotations(obj: Mapping) -> Mapping[str, str]:
    return get_in(obj, "metadata", "annotations", default={})


def created_at(obj: Mapping) -> str:
    """RFC 3339 creationTimestamp; these sort correctly as strings (always UTC, 'Z')."""
    return get_in(obj, "metadata", "creationTimestamp", default="")


def deleting(obj: Mapping) -> bool:
    return bool(get_in(obj, "metadata", "deletionTimestamp"))


def controller_ref(obj: Mapping) -> Optional[Mapping]:
    """The ownerReference with controller=true, if any (metav1.GetControllerOf)."""
    for ref in get_in(obj, "metadata", "ownerReferences", default=()):
        if ref.get("controller"):
            return ref
    return None


def controller_uid(obj: Mapping) -> str:
    ref = controller_ref(obj)
    return ref.get("uid", "") if ref else ""


def key(obj: Mapping) -> str:
    """namespace/name, or name for cluster-scoped objects."""
    ns = namespace(obj)
    return f"{ns}/{name(obj)}" if ns else name(obj)


def condition(obj: Mapping, ctype: str) -> Optional[Mapping]:
    for cond in get_in(obj, "status", "conditions", default=()):
        if cond.get("type") == ctype:
            return cond
    return None


def parse_time(text: str) -> Optional[datetime]:
    """An RFC 3339 timestamp as an aware datetime (fractions dropped); None if unparsable (or not text)."""
    if not isinstance(text, str):
        return None
    m = _RFC3339.match(text)
    if not m:
        return None
    base, zone = m.group(1), m.group(2)
    zone = "+0000" if zone in ("Z", "z") else zone.replace(":", "")
    try:
        return datetime.strptime(base + zone, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
