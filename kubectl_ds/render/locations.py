"""Where a lint finding is in a manifest file: the line of its object and, when a field says, of that field.

The manifest loader (source/manifests.py) returns plain dicts without positions, so the CI report
formats (SARIF, JUnit) compose the same text again with PyYAML, whose nodes carry their marks: every
object's span and the line of each field, by the dotted path the findings use
(`spec.template.spec.containers[0].volumeMounts[1]`). Pure: text in, positions out; the command reads
the files. JSON is YAML to this parser (the same flow syntax), so .json manifests get lines too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from kubectl_ds.core.lint import Finding

Key = Tuple[str, str, str]   # (kind, namespace, name), as LintReport.objects spells an object

# fields a finding is about when neither its fix nor its detail names one (the check's own subject)
_SUBJECT = {
    "DS003": ("spec.template.spec.tolerations",),
    "DS006": ("spec.updateStrategy.rollingUpdate.maxUnavailable",),
    "DS015": ("metadata.namespace", "metadata"),
    "DS016": ("spec.replicas", "spec.template.spec.affinity.podAntiAffinity"),
    "DS017": ("spec.updateStrategy.rollingUpdate.maxUnavailable",),
}


@dataclass(frozen=True)
class Place:
    """One object of one file: `uri` as the report gives it, its first and last line (1-based),
    and the line of each of its fields by dotted path."""

    uri: str
    line: int
    end_line: int
    fields: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, finding: Finding) -> int:
        """The line of the field the finding is about, else of its object."""
        for path in _candidates(finding):
            if path in self.fields:
                return self.fields[path]
        # a field to add (tolerations, priorityClassName, ...): where it goes, or its nearest parent
        for path in (finding.fix.path, *_SUBJECT.get(finding.code, ())):
            found = self._deepest(path) if path else None
            if found is not None:
                return found
        return self.line

    def _deepest(self, path: str) -> Optional[int]:
        while path:
            if path in self.fields:
                return self.fields[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None


def _candidates(f: Finding) -> List[str]:
    out: List[str] = []
    if isinstance(f.detail.get("path"), str):
        out.append(f.detail["path"])
    if f.fix.path and f.fix.value:
        out += [f"{f.fix.path}.{k}" for k in f.fix.value]
    fields = f.detail.get("fields")
    if isinstance(fields, (list, tuple)):
        out += [f"spec.template.spec.{x}" for x in fields if isinstance(x, str)]
    out += list(_SUBJECT.get(f.code, ()))
    return out


def locate(text: str, uri: str, default_namespace: str = "") -> Dict[Key, Place]:
    """Every Kubernetes object in `text` (documents, `kind: List` items) by (kind, namespace, name);
    objects without a namespace get `default_namespace` (-n), as the command gives them. Text
    that does not compose (it was loaded by the loader already, so hardly ever) gives nothing."""
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: Dict[Key, Place] = {}
    try:
        docs = list(yaml.compose_all(text, Loader=loader))  # noqa: S506 - a safe loader, nodes only
    except yaml.YAMLError:
        return out
    for doc in docs:
        for obj in _objects(doc):
            meta = _child(obj, "metadata")
            kind, name = _scalar(_child(obj, "kind")), _scalar(_child(meta, "name"))
            if not kind or not name:
                continue
            ns_node = _child(meta, "namespace")    # absent: -n's; `namespace: null` stays none, as lint sees it
            ns = default_namespace if ns_node is None else _scalar(ns_node)
            key = (kind, ns, name)
            if key not in out:      # the first of two identical objects, as apply would see it first
                out[key] = Place(uri, obj.start_mark.line + 1, _end_line(obj), dict(_fields(obj, "")))
    return out


def _objects(node) -> Iterable:
    import yaml
    if not isinstance(node, yaml.MappingNode):
        return []
    kind = _scalar(_child(node, "kind"))
    items = _child(node, "items")
    if kind.endswith("List") and isinstance(items, yaml.SequenceNode):
        return [o for item in items.value for o in _objects(item)]
    return [node]


def _child(node, key: str):
    import yaml
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _scalar(node) -> str:
    """A string's text; "" for anything else (`null` is no name, whatever its spelling)."""
    import yaml
    return node.value if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str" else ""


def _end_line(node) -> int:
    """The last line with content: a block mapping ends where the next token starts."""
    end = node.end_mark
    return max(node.start_mark.line + 1, end.line if end.column == 0 else end.line + 1)


def _fields(node, prefix: str, within: frozenset = frozenset()) -> Iterable[Tuple[str, int]]:
    """(dotted path, line) of every field under `node`; `within`: the nodes above it (an alias
    may point back at one of them: a recursive document is walked once round, not forever)."""
    import yaml
    if id(node) in within:
        return
    within = within | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                continue
            path = f"{prefix}.{k.value}" if prefix else str(k.value)
            yield path, k.start_mark.line + 1
            yield from _fields(v, path, within)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            yield path, item.start_mark.line + 1
            yield from _fields(item, path, within)
