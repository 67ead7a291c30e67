"""Server-side selector semantics, applied in memory (for the snapshot source)."""

from __future__ import annotations

from typing import Callable, List, Mapping, Tuple

from kubectl_ds.core import selectors as sel
from kubectl_ds.core.objects import get_in, labels
from kubectl_ds.errors import DsError


def label_filter(text: str) -> Callable[[Mapping], bool]:
    if not text:
        return lambda obj: True
    try:
        reqs = sel.parse_selector_string(text)
    except sel.SelectorError as err:
        raise DsError(f"invalid label selector: {err}") from None
    return lambda obj: sel.match_selector_string(reqs, labels(obj))


def field_filter(text: str) -> Callable[[Mapping], bool]:
    """field=value, field==value, field!=value, comma-separated (fields.ParseSelector)."""
    if not text:
        return lambda obj: True
    terms: List[Tuple[List[str], bool, str]] = []
    for part in text.split(","):
        if "!=" in part:
            path, value = part.split("!=", 1)
            negate = True
        elif "=" in part:
            path, value = part.replace("==", "=", 1).split("=", 1)
            negate = False
        else:
            raise DsError(f"invalid field selector {text!r}")
        terms.append((path.strip().split("."), negate, value.strip()))

    def match(obj: Mapping) -> bool:
        for path, negate, value in terms:
            have = get_in(obj, *path, default="")
            if (str(have) == value) == negate:
                return False
        return True
    return match
