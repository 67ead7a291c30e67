"""kubectl's -l syntax, parsed for the snapshot source, and the selector -> string round trip."""

from __future__ import annotations

import pytest

from kubectl_ds.core.selectors import SelectorError, label_selector_string, match_selector_string, parse_selector_string


@pytest.mark.parametrize("text,labels,expected", [
    ("app=a", {"app": "a"}, True),
    ("app==a", {"app": "b"}, False),
    ("app!=a", {}, True),
    ("app!=a", {"app": "a"}, False),
    ("tier in (x, y),app", {"tier": "y", "app": "z"}, True),
    ("tier notin (x,y)", {"tier": "x"}, False),
    ("tier notin (x,y)", {}, True),
    ("!gpu", {"gpu": "1"}, False),
    ("!gpu,app", {"app": ""}, True),
    ("a=1, b=2", {"a": "1", "b": "2"}, True),
], ids=["eq", "double-eq", "ne-absent", "ne-equal", "in-and-exists", "notin-hit", "notin-absent",
        "not-exists", "not-exists-and-exists", "spaces"])
def test_parse_and_match(text, labels, expected):
    assert match_selector_string(parse_selector_string(text), labels) is expected


@pytest.mark.parametrize("text", ["app=(", "a in x", "=a", "a b", "a in (x", "Bad Key=1", "a=b,"],
                         ids=["paren-value", "in-no-parens", "no-key", "two-words", "unclosed", "bad-key",
                              "trailing-comma"])
def test_malformed_selectors_are_rejected(text):
    with pytest.raises(SelectorError):
        parse_selector_string(text)


def test_label_selector_string_round_trips():
    sel = {"matchLabels": {"app": "x"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "gpu", "operator": "DoesNotExist"},
        {"key": "zone", "operator": "Exists"}, {"key": "t", "operator": "NotIn", "values": ["c"]}]}
    text = label_selector_string(sel)
    assert text == "app=x,tier in (a,b),!gpu,zone,t notin (c)"
    reqs = parse_selector_string(text)
    assert match_selector_string(reqs, {"app": "x", "tier": "a", "zone": "1"})
    assert not match_selector_string(reqs, {"app": "x", "tier": "a", "zone": "1", "gpu": ""})
