"""Shared table/document helpers for every renderer."""

from __future__ import annotations

import json
from typing import Sequence

# colours of status words, shared by all renderers
COLORS = {"Running": "green", "Outdated": "yellow", "Misscheduled": "yellow", "Missing": "red",
          "Pending": "red", "Unhealthy": "red", "Evicting": "red", "InSync": "green", "Drift": "red",
          "Done": "green", "Progressing": "yellow", "Stuck": "red", "Failed": "red",
          "error": "red", "warning": "yellow", "info": None}


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


