"""YAML read as the API's JSON reads: timestamps stay strings.

PyYAML's safe loader turns an unquoted `2026-11-02T10:00:00Z` into a datetime; the API (and so
every JSON dump or manifest) carries RFC 3339 text, and the core compares and parses text. This
loader drops the implicit timestamp type, nothing else. PyYAML is imported on first use only.

Before loading, the event stream is checked against the limits (docs/snapshots.md "Limits"):
nesting deeper than MAX_DEPTH (libyaml's composer recurses in C: 100,000 levels crash the
interpreter) and aliases that would expand to more than MAX_ALIAS_NODES nodes (a "billion
laughs" costs nothing to load, its walk does) are refused with validate.Refused.

`strict=True` (manifests given with -f) also refuses a key repeated in one mapping, as kubectl's
strict decoding does (PyYAML keeps the last value); a merge key (`<<`) is not a repetition.
"""

from __future__ import annotations

from typing import Any, Iterator

_LOADER = None
_STRICT_LOADER = None


def _loader() -> type:
    global _LOADER
    if _LOADER is None:
        import yaml
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class TextTimestampLoader(base):  # type: ignore[misc, valid-type]
            pass
        TextTimestampLoader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()}
        _LOADER = TextTimestampLoader
    return _LOADER


def _strict_loader() -> type:
    """The loader that also refuses a duplicate key (validate.Refused naming it and its line)."""
    global _STRICT_LOADER
    if _STRICT_LOADER is None:
        from yaml.nodes import MappingNode

        from kubectl_ds.source.validate import Refused

        class StrictLoader(_loader()):  # type: ignore[misc]
            def construct_mapping(self, node, deep=False):
                if isinstance(node, MappingNode):
                    seen = set()
                    for key_node, _ in node.value:
                        if key_node.tag == "tag:yaml.org,2002:merge":
                            continue
                        key = self.construct_object(key_node, deep=True)
                        try:
                            if key in seen:
                                raise Refused(f"duplicate key {str(key)!r} at line {key_node.start_mark.line + 1}")
                            seen.add(key)
                        except TypeError:   # an unhashable key: the constructor says so
                            break
                return super().construct_mapping(node, deep=deep)
        _STRICT_LOADER = StrictLoader
    return _STRICT_LOADER


MAX_ALIAS_NODES = 1_000_000   # nodes that aliases may add to a stream, all documents together


def load(text: Any) -> Any:
    import yaml
    _check_limits(text)
    return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader


def load_all(text: Any, strict: bool = False) -> Iterator[Any]:
    import yaml
    _check_limits(text)
    return yaml.load_all(text, Loader=_strict_loader() if strict else _loader())  # noqa: S506 - a safe loader


def _check_limits(text: Any) -> None:
    """Refused past MAX_DEPTH levels or MAX_ALIAS_NODES nodes added by aliases; a YAML error is
    left for the load to raise (its message says where)."""
    import yaml
    tally = _Tally()
    try:
        for ev in yaml.parse(text, Loader=_loader()):
            tally.feed(ev)
    except yaml.YAMLError:
        return


class _Tally:
    """Depth and alias expansion over a stream of parser events (no nodes are built)."""

    def __init__(self) -> None:
        from yaml import events
        self.events = events
        self.stack: list = []       # [anchor, nodes so far] of each open collection
        self.sizes: dict = {}       # anchor -> nodes it expands to
        self.added = 0              # nodes added by aliases

    def _count(self, n: int) -> None:
        if self.stack:
            self.stack[-1][1] += n

    def feed(self, ev) -> None:
        from kubectl_ds.source.validate import MAX_DEPTH, Refused
        ev_t, cls = self.events, ev.__class__
        if cls is ev_t.ScalarEvent:
            if ev.anchor:
                self.sizes[ev.anchor] = 1
            self._count(1)
        elif cls is ev_t.SequenceStartEvent or cls is ev_t.MappingStartEvent:
            if len(self.stack) >= MAX_DEPTH:
                raise Refused(f"nested deeper than {MAX_DEPTH} levels")
            self.stack.append([ev.anchor, 0])
        elif cls is ev_t.SequenceEndEvent or cls is ev_t.MappingEndEvent:
            anchor, n = self.stack.pop()
            if anchor:
                self.sizes[anchor] = n + 1
            self._count(n + 1)
        elif cls is ev_t.AliasEvent:
            n = self.sizes.get(ev.anchor, 1)
            self.added += n
            if self.added > MAX_ALIAS_NODES:
                raise Refused(f"its aliases expand to more than {MAX_ALIAS_NODES:,} nodes")
            self._count(n)
