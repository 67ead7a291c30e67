"""Label selectors and node selector terms, as the DaemonSet controller evaluates them.

Mirrors (Kubernetes v1.33):
- k8s.io/apimachinery pkg/labels: Requirement.Matches, NewRequirement's validation;
- metav1.LabelSelectorAsSelector (a nil selector selects nothing, an empty one everything);
- k8s.io/component-helpers scheduling/corev1/nodeaffinity: GetRequiredNodeAffinity,
  NewLazyErrorNodeSelector (empty or unparsable terms are dropped; terms are ORed; inside a
  term matchExpressions and matchFields are ANDed; matchFields sees only metadata.name).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, List, Mapping, Optional, Sequence, Tuple

from kubectl_ds.core.objects import get_in
from kubectl_ds.core.objects import labels as obj_labels
from kubectl_ds.core.objects import name as obj_name

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_INT64 = re.compile(r"^[+-]?[0-9]+$")

LABEL_OPS = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_OPS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


class SelectorError(ValueError):
    """A requirement that NewRequirement would refuse (the term then never matches)."""


def valid_label_key(key: str) -> bool:
    prefix, _, nm = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(nm) <= 63 and bool(_NAME.match(nm))


def valid_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_VALUE.match(value))


def _parse_int64(text: str) -> Optional[int]:
    if not isinstance(text, str) or not _INT64.match(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def check_requirement(key: str, op: str, values: Sequence[str], ops: Sequence[str] = NODE_OPS) -> None:
    """Raise SelectorError where labels.NewRequirement would return an error."""
    if op not in ops:
        raise SelectorError(f"{op!r} is not a valid operator")
    if not valid_label_key(key or ""):
        raise SelectorError(f"invalid label key {key!r}")
    values = list(values or ())
    if op in ("In", "NotIn") and not values:
        raise SelectorError(f"values must be non-empty for {op}")
    if op in ("Exists", "DoesNotExist") and values:
        raise SelectorError(f"values must be empty for {op}")
    if op in ("Gt", "Lt"):
        if len(values) != 1 or _parse_int64(values[0]) is None:
            raise SelectorError(f"{op} needs exactly one integer value")
    elif any(not isinstance(v, str) or not valid_label_value(v) for v in values):
        raise SelectorError(f"invalid label value in {values!r}")


def requirement_matches(key: str, op: str, values: Sequence[str], label_set: Mapping[str, str]) -> bool:
    """labels.Requirement.Matches for an already valid requirement."""
    has = key in label_set
    if op == "In":
        return has and label_set[key] in values
    if op == "NotIn":
        return not has or label_set[key] not in values
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        if not has:
            return False
        mine, theirs = _parse_int64(label_set[key]), _parse_int64(values[0])
        if mine is None or theirs is None:
            return False
        return mine > theirs if op == "Gt" else mine < theirs
    return False


# --- metav1.LabelSelector ------------------------------------------------------------------

def label_selector_requirements(selector: Optional[Mapping]) -> Optional[List[Tuple[str, str, List[str]]]]:
    """The selector as (key, op, values) triples; None when it selects nothing.

    Raises SelectorError for an invalid selector (LabelSelectorAsSelector's error).
    """
    if selector is None:
        return None
    reqs: List[Tuple[str, str, List[str]]] = []
    for key, value in sorted((selector.get("matchLabels") or {}).items()):
        check_requirement(key, "In", [value], LABEL_OPS)
        reqs.append((key, "In", [value]))
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key", ""), expr.get("operator", ""), list(expr.get("values") or ())
        check_requirement(key, op, values, LABEL_OPS)
        reqs.append((key, op, values))
    return reqs


def match_label_selector(selector: Optional[Mapping], label_set: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics; an invalid selector matches nothing."""
    try:
        reqs = label_selector_requirements(selector)
    except SelectorError:
        return False
    if reqs is None:
        return False
    return all(requirement_matches(k, op, vals, label_set or {}) for k, op, vals in reqs)


def label_selector_matcher(selector: Optional[Mapping]) -> Callable[[Mapping[str, str]], bool]:
    """match_label_selector with `selector` parsed and validated once, for matching many pods."""
    try:
        reqs = label_selector_requirements(selector)
    except SelectorError:
        reqs = None
    if reqs is None:
        return lambda label_set: False
    return lambda label_set: all(requirement_matches(k, op, vals, label_set or {}) for k, op, vals in reqs)


def label_selector_string(selector: Optional[Mapping]) -> str:
    """The selector in kubectl's `-l` syntax (what the apiserver's labelSelector accepts)."""
    parts = []
    for key, op, values in label_selector_requirements(selector) or ():
        if op == "In" and len(values) == 1:
            parts.append(f"{key}={values[0]}")
        elif op in ("In", "NotIn"):
            parts.append(f"{key} {op.lower()} ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)


_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|[^\s!=(),]+)")


def _tokenize(text: str) -> List[str]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SelectorError(f"unable to parse selector {text!r}")
        tokens.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _expect(tokens: List[str], i: int, tok: str, text: str) -> int:
    """The index after tokens[i], which must be `tok`."""
    if i >= len(tokens) or tokens[i] != tok:
        raise SelectorError(f"unable to parse selector {text!r}: expected {tok!r}")
    return i + 1


def _requirement(key: str, tokens: List[str], i: int, text: str) -> Tuple[Tuple[str, str, List[str]], int]:
    """The requirement on `key` whose operator (if any) is tokens[i], and the index after it."""
    nxt = tokens[i] if i < len(tokens) else ","
    if nxt in ("=", "==", "!="):
        i += 1
        value = tokens[i] if i < len(tokens) and tokens[i] != "," else ""
        i += 1 if value else 0
        return (key, "NotIn" if nxt == "!=" else "In", [value]), i
    if nxt in ("in", "notin"):
        i = _expect(tokens, i + 1, "(", text)
        values = []
        while i < len(tokens) and tokens[i] != ")":
            if tokens[i] != ",":
                values.append(tokens[i])
            i += 1
        i = _expect(tokens, i, ")", text)
        return (key, "In" if nxt == "in" else "NotIn", values), i
    if nxt == ",":
        return (key, "Exists", []), i
    raise SelectorError(f"unable to parse selector {text!r}: unexpected {nxt!r}")


def parse_selector_string(text: str) -> List[Tuple[str, str, List[str]]]:
    """Parse kubectl's `-l` syntax (a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a)."""
    text = text.strip()
    tokens = _tokenize(text)
    reqs: List[Tuple[str, str, List[str]]] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "!":
            i += 1
            if i >= len(tokens):
                raise SelectorError(f"unable to parse selector {text!r}")
            reqs.append((tokens[i], "DoesNotExist", []))
            i += 1
        else:
            req, i = _requirement(tokens[i], tokens, i + 1, text)
            reqs.append(req)
        if i < len(tokens):
            i = _expect(tokens, i, ",", text)
            if i == len(tokens):
                raise SelectorError(f"unable to parse selector {text!r}: trailing ','")
    for key, _op, values in reqs:
        if not valid_label_key(key) or any(not valid_label_value(v) for v in values):
            raise SelectorError(f"invalid selector {text!r}: bad key or value in {key!r}")
    return reqs


def match_selector_string(reqs: Iterable[Tuple[str, str, List[str]]], label_set: Mapping[str, str]) -> bool:
    return all(requirement_matches(k, op, vals, label_set or {}) for k, op, vals in reqs)


# --- node selector terms (required node affinity) -----------------------------------------

def node_fields(node: Mapping) -> Mapping[str, str]:
    """extractNodeFields: the only field a node exposes to matchFields is metadata.name."""
    nm = obj_name(node)
    return {"metadata.name": nm} if nm else {}


def check_term(term: Mapping) -> None:
    """Raise SelectorError when the term would fail to parse (it is then dropped)."""
    for expr in term.get("matchExpressions") or ():
        check_requirement(expr.get("key", ""), expr.get("operator", ""), expr.get("values") or ())
    for expr in term.get("matchFields") or ():
        if expr.get("operator") not in ("In", "NotIn"):
            raise SelectorError(f"{expr.get('operator')!r} is not a valid field selector operator")
        if len(expr.get("values") or ()) != 1:
            raise SelectorError("matchFields In/NotIn need exactly one value")


def is_empty_term(term: Mapping) -> bool:
    return not term.get("matchExpressions") and not term.get("matchFields")


def failed_expressions(term: Mapping, node: Mapping) -> List[Tuple[str, Mapping]]:
    """("label"|"field", requirement) for each requirement of a valid term the node fails."""
    label_set, fields = obj_labels(node), node_fields(node)
    failed = [("label", e) for e in term.get("matchExpressions") or ()
              if not requirement_matches(e.get("key", ""), e.get("operator", ""), e.get("values") or (), label_set)]
    if fields:  # upstream skips matchFields for a node without a name
        for expr in term.get("matchFields") or ():
            have = fields.get(expr.get("key", ""), "")
            want = (expr.get("values") or [""])[0]
            ok = have == want if expr.get("operator") == "In" else have != want
            if not ok:
                failed.append(("field", expr))
    return failed


def match_node_selector_terms(terms: Optional[Sequence[Mapping]], node: Mapping) -> bool:
    """LazyErrorNodeSelector.Match: ORed terms; empty and unparsable terms never match."""
    for term in terms or ():
        if is_empty_term(term):
            continue
        try:
            check_term(term)
        except SelectorError:
            continue
        if not failed_expressions(term, node):
            return True
    return False


def required_node_affinity(pod_spec: Mapping) -> Optional[Mapping]:
    """requiredDuringSchedulingIgnoredDuringExecution, or None when the pod has none."""
    return get_in(pod_spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")


def node_selector_mismatches(pod_spec: Mapping, node: Mapping) -> List[Tuple[str, str, Optional[str]]]:
    """(key, wanted, node's value or None) for every nodeSelector entry the node fails."""
    label_set = obj_labels(node)
    return [(k, v, label_set.get(k)) for k, v in sorted((pod_spec.get("nodeSelector") or {}).items())
            if label_set.get(k) != v]


def fits_node_affinity(pod_spec: Mapping, node: Mapping) -> bool:
    """GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND required node affinity."""
    if node_selector_mismatches(pod_spec, node):
        return False
    required = required_node_affinity(pod_spec)
    if required is None:
        return True
    return match_node_selector_terms(required.get("nodeSelectorTerms"), node)


def describe_requirement(expr: Mapping) -> str:
    key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
    if op in ("Exists", "DoesNotExist"):
        return f"{key} {op}"
    if op in ("Gt", "Lt"):
        return f"{key} {op} {values[0] if values else ''}"
    return f"{key} {op} [{', '.join(values)}]"
