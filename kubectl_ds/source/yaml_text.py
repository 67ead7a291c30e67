"""YAML read as the API's JSON reads: timestamps stay strings.

PyYAML's safe loader turns an unquoted `2026-11-02T10:00:00Z` into a datetime; the API (and so
every JSON dump or manifest) carries RFC 3339 text, and the core compares and parses text. This
loader drops the implicit timestamp type, nothing else. PyYAML is imported on first use only.
"""

from __future__ import annotations

from typing import Any, Iterator

_LOADER = None


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


def load(text: Any) -> Any:
    import yaml
    return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader


def load_all(text: Any) -> Iterator[Any]:
    import yaml
    return yaml.load_all(text, Loader=_loader())  # noqa: S506 - a safe loader
