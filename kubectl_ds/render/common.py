"""Shared table/document helpers for every renderer."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Mapping, Sequence

# colours of status words, shared by all renderers
COLORS = {"Running": "green", "Outdated": "yellow", "Misscheduled": "yellow", "Missing": "red",
          "Pending": "red", "Unhealthy": "red", "Evicting": "red", "InSync": "green", "Drift": "red",
          "Done": "green", "Progressing": "yellow", "Stuck": "red", "Failed": "red",
          "error": "red", "warning": "yellow", "info": None}


# what must not reach a terminal raw: C0 controls (ESC, BEL, NUL, CR, LF, TAB...), DEL, C1 controls
# (0x9b is a CSI on some terminals), the Unicode line separators and the bidi overrides
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def printable(text: Any) -> str:
    """Text from the cluster, a dump or the command line, safe for a terminal and for one line:
    control characters are written as escapes (newline as \\n, ESC as \\x1b), so nothing in the
    data can move the cursor, colour the screen or start a line of its own."""
    text = str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def escaped(value: Any) -> Any:
    """A result with every string in it made `printable`: what the text renderers (table, wide,
    live lines) are given, so that no field of cluster data reaches the terminal raw. The JSON
    and YAML documents need none of this: json.dumps and yaml.safe_dump escape control characters."""
    if isinstance(value, str):
        return printable(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: escaped(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    if isinstance(value, Mapping):
        return {escaped(k): escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escaped(v) for v in value]
    if type(value) is tuple:
        return tuple(escaped(v) for v in value)
    return value


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    import tabulate as tabulate_mod
    tabulate_mod.MIN_PADDING = 0  # kubectl's look: columns two spaces apart, no extra header padding
    tabulate = tabulate_mod.tabulate
    if not rows:
        return "  ".join(headers)
    return tabulate(rows, headers=list(headers), tablefmt="plain", disable_numparse=True)


def dump(doc, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2)
    import yaml
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).rstrip("\n")


def paint(word: str, color: bool) -> str:
    """Colour a status word (only when `color`: a TTY without NO_COLOR)."""
    if not color or not COLORS.get(word):
        return word
    import click
    return click.style(word, fg=COLORS[word])


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


