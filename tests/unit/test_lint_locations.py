"""render/locations.py: the lines of manifest objects and fields that SARIF and JUnit point at."""

from __future__ import annotations

from kubectl_ds.core.lint import Finding, Fix
from kubectl_ds.render.locations import locate

MANIFEST = """\
# two objects, the second inside a List
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: ops
spec:
  template:
    spec:
      containers:
      - name: main
        image: x:1
      - name: side
        image: y:1
        securityContext:
          privileged: true
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: cache
  spec:
    replicas: 3
"""


def _finding(code="DS012", kind="DaemonSet", ns="ops", name="agent", fix=None, detail=None):
    return Finding(code, "Check", "warning", kind, ns, name, "message", fix or Fix("x"), detail or {})


def test_objects_and_field_lines():
    places = locate(MANIFEST, "m.yaml", default_namespace="dflt")
    assert set(places) == {("DaemonSet", "ops", "agent"), ("Deployment", "dflt", "cache")}
    agent = places[("DaemonSet", "ops", "agent")]
    assert (agent.uri, agent.line, agent.end_line) == ("m.yaml", 2, 16)
    assert agent.fields["spec.template.spec.containers[1]"] == 13
    assert agent.fields["spec.template.spec.containers[1].securityContext.privileged"] == 16
    cache = places[("Deployment", "dflt", "cache")]
    assert (cache.line, cache.fields["spec.replicas"]) == (21, 26)


def test_line_of_prefers_the_named_field_then_where_the_fix_goes_then_the_object():
    agent = locate(MANIFEST, "m.yaml")[("DaemonSet", "ops", "agent")]
    path = "spec.template.spec.containers[1].securityContext.privileged"
    assert agent.line_of(_finding(detail={"path": path})) == 16
    # a field to add that is not there: the place it goes
    assert agent.line_of(_finding("DS004", fix=Fix("x", "spec.template.spec.containers[0]", {"resources": {}}))) == 11
    # a path the manifest lacks altogether: its nearest parent present
    assert agent.line_of(_finding("DS006", fix=Fix("x", "spec.updateStrategy.rollingUpdate", {"maxUnavailable": 1}))) \
        == 7
    assert agent.line_of(_finding("DS999")) == 2


def test_a_recursive_alias_is_walked_once_round():
    text = "apiVersion: v1\nkind: DaemonSet\nmetadata: {name: loop}\nspec: &s\n  again: *s\n"
    place = locate(text, "r.yaml")[("DaemonSet", "", "loop")]
    assert place.fields["spec.again"] == 5 and "spec.again.again" not in place.fields


def test_text_that_does_not_compose_gives_no_places():
    assert locate("kind: [unclosed", "bad.yaml") == {}
    assert locate("just text", "t.yaml") == {}


def test_the_first_of_two_identical_objects_wins():
    doc = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: twin\n"
    places = locate(doc + "---\n" + doc, "t.yaml")
    assert places[("DaemonSet", "", "twin")].line == 1


def test_a_null_namespace_is_none_and_an_absent_one_is_the_default():
    doc = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: a\n  namespace: null\n"
    assert set(locate(doc, "n.yaml", default_namespace="ops")) == {("DaemonSet", "", "a")}
    assert set(locate(doc.replace("  namespace: null\n", ""), "n.yaml", "ops")) == {("DaemonSet", "ops", "a")}
    assert set(locate(doc.replace("null", "'null'"), "n.yaml", "ops")) == {("DaemonSet", "null", "a")}
