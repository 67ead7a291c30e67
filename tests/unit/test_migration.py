"""migrate's pure core (kubectl_ds/core/migration.py): selectors, labels, the derived manifest,
plan()'s refusals and facts, coverage, and the helpers the runner relies on.

Literal API objects come from tests/builders.py; the rules are those of
docs/semantics.md §4.4 (what counts as updated) and §5 (ownership, adoption, orphaning, the generation trap)."""

from __future__ import annotations

import copy

import pytest

from kubectl_ds.core import migration as M
from kubectl_ds.core.selectors import SelectorError, match_label_selector
from tests.builders import daemon_pod, daemonset, node, taint, toleration

NS = "logging"
GEN_ANN = "deprecated.daemonset.template.generation"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def agent(**kwargs):
    """The DaemonSet being migrated: logging/agent, selector app=agent, as the apiserver returns it."""
    ds = daemonset("agent", NS, **kwargs)
    ds["metadata"]["annotations"][LAST_APPLIED] = '{"kind":"DaemonSet"}'
    ds["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update"}]
    ds["metadata"]["selfLink"] = "/apis/apps/v1/namespaces/logging/daemonsets/agent"
    ds["metadata"]["finalizers"] = ["example.com/keep"]
    ds["status"] = {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberReady": 2,
                    "numberAvailable": 2, "updatedNumberScheduled": 2, "observedGeneration": 1}
    return ds


def nodes():
    return [node("n1"), node("n2")]


def pods_of(ds, *node_names, **kwargs):
    return [daemon_pod(ds, n, suffix=n, **kwargs) for n in node_names]


def new_with(old, selector_text, template_labels=None, spec=None, strategy=None, name=None):
    """A new manifest as `-f` would give it: derived from the old one, then edited."""
    new = M.derive_manifest(old, M.selector_from_string(selector_text))
    new["spec"]["template"]["metadata"]["labels"].update(template_labels or {})
    new["spec"]["template"]["spec"].update(spec or {})
    if strategy is not None:
        new["spec"]["updateStrategy"] = strategy
    if name is not None:
        new["metadata"]["name"] = name
    return new


def codes(p):
    return [r.code for r in p.refusals]


# --- selector_from_string -----------------------------------------------------------------------

@pytest.mark.parametrize("text,want", [
    ("app=agent", {"matchLabels": {"app": "agent"}}),
    ("app=agent,tier=node", {"matchLabels": {"app": "agent", "tier": "node"}}),
    ("app==agent", {"matchLabels": {"app": "agent"}}),
    ("  app = agent , tier = node ", {"matchLabels": {"app": "agent", "tier": "node"}}),
    ("example.com/role=agent", {"matchLabels": {"example.com/role": "agent"}}),
    ("app in (agent)", {"matchLabels": {"app": "agent"}}),
    ("app in (agent,collector)",
     {"matchExpressions": [{"key": "app", "operator": "In", "values": ["agent", "collector"]}]}),
    ("tier notin (edge,gpu)",
     {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge", "gpu"]}]}),
    ("tier!=edge", {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge"]}]}),
    ("tier", {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}),
    ("!legacy", {"matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]}),
    ("app=agent,tier in (node,edge),!legacy",
     {"matchLabels": {"app": "agent"},
      "matchExpressions": [{"key": "tier", "operator": "In", "values": ["node", "edge"]},
                           {"key": "legacy", "operator": "DoesNotExist"}]}),
    # labels.Parse ANDs repeated keys: a=b,a=c matches nothing, it must not become a=c
    ("app=a,app=b", {"matchLabels": {"app": "a"},
                     "matchExpressions": [{"key": "app", "operator": "In", "values": ["b"]}]}),
    ("app=a,app=a", {"matchLabels": {"app": "a"}}),
], ids=["one-equality", "two-equalities", "double-equals", "spaces", "prefixed-key", "in-one-value-is-equality",
        "in-two-values", "notin", "not-equal", "exists", "does-not-exist", "mixed", "repeated-key-conflict",
        "repeated-key-same"])
def test_selector_from_string(text, want):
    got = M.selector_from_string(text)
    assert got == want
    # exists/does-not-exist carry no values key at all (the apiserver rejects values: [] there)
    for e in got.get("matchExpressions", []):
        assert ("values" in e) == (e["operator"] in ("In", "NotIn"))


@pytest.mark.parametrize("text", [
    "app=agent,", "app in (agent", "app in agent", "app=a=b", "app=agent tier=node", "-app=agent",
    "app=agent!", "app=" + "x" * 64, "app notin ()x",
], ids=["trailing-comma", "unclosed-paren", "in-without-parens", "double-equals-value", "missing-comma",
        "bad-key", "bang-after-value", "value-too-long", "garbage-after-set"])
def test_selector_from_string_malformed(text):
    with pytest.raises(SelectorError):
        M.selector_from_string(text)


# --- labels_to_satisfy --------------------------------------------------------------------------

@pytest.mark.parametrize("selector,current,want", [
    ({"matchLabels": {"tier": "node"}}, {"app": "agent"}, {"tier": "node"}),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["node", "edge"]}]}, {}, {"tier": "node"}),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"app": "agent"}, {"tier": ""}),
    ({"matchLabels": {"app": "agent"}}, {"app": "agent"}, {}),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["node", "edge"]}]}, {"tier": "edge"}, {}),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"tier": "x"}, {}),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge"]}]}, {"app": "agent"}, {}),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge"]}]}, {"tier": "node"}, {}),
    ({"matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]}, {"app": "agent"}, {}),
    ({"matchLabels": {"app": "agent", "tier": "node"},
      "matchExpressions": [{"key": "zone", "operator": "Exists"}, {"key": "legacy", "operator": "DoesNotExist"}]},
     {"app": "agent"}, {"tier": "node", "zone": ""}),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge"]}]}, {"tier": "edge"}, None),
    ({"matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]}, {"legacy": "true"}, None),
    ({"matchLabels": {"tier": "node"},
      "matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]}, {"legacy": ""}, None),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge", "node"]},
                           {"key": "tier", "operator": "NotIn", "values": ["edge"]}]}, {}, {"tier": "node"}),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge"]},
                           {"key": "tier", "operator": "In", "values": ["edge", "node"]}]}, {}, {"tier": "node"}),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge"]},
                           {"key": "tier", "operator": "NotIn", "values": ["edge"]}]}, {}, None),
], ids=["in-adds-value", "in-adds-first-value", "exists-adds-empty", "satisfied-equality", "satisfied-in",
        "satisfied-exists", "notin-absent-key", "notin-other-value", "does-not-exist-absent",
        "several-at-once", "notin-present-value-needs-removal", "does-not-exist-present-needs-removal",
        "one-unsatisfiable-spoils-all", "in-skips-a-value-notin-excludes", "notin-before-in",
        "in-and-notin-contradict"])
def test_labels_to_satisfy(selector, current, want):
    before = dict(current)
    got = M.labels_to_satisfy(selector, current)
    assert got == want
    assert current == before, "the input labels must not be modified"
    if got is not None:
        assert match_label_selector(selector, {**current, **got})


# --- derive_manifest / clean --------------------------------------------------------------------

def test_derive_manifest_sets_the_selector_and_extends_the_template_labels():
    old = agent(labels={"app": "agent", "team": "obs"}, selector={"matchLabels": {"app": "agent"}})
    original = copy.deepcopy(old)
    sel = {"matchLabels": {"app": "agent", "tier": "node"},
           "matchExpressions": [{"key": "zone", "operator": "Exists"}]}
    new = M.derive_manifest(old, sel)
    assert new["spec"]["selector"] == sel and new["spec"]["selector"] is not sel
    assert new["spec"]["template"]["metadata"]["labels"] == {"app": "agent", "team": "obs", "tier": "node",
                                                             "zone": ""}
    assert match_label_selector(new["spec"]["selector"], new["spec"]["template"]["metadata"]["labels"])
    assert new["spec"]["template"]["spec"] == old["spec"]["template"]["spec"]
    assert new["spec"]["updateStrategy"] == old["spec"]["updateStrategy"]
    assert old == original, "derive_manifest must not modify the live object"


def test_derive_manifest_strips_server_fields_status_and_last_applied():
    old = agent()
    old["metadata"]["annotations"]["team"] = "obs"
    old["metadata"]["ownerReferences"] = [{"kind": "Thing", "name": "x", "uid": "u"}]
    old["metadata"]["deletionGracePeriodSeconds"] = 0
    new = M.derive_manifest(old, {"matchLabels": {"app": "agent", "tier": "node"}})
    meta = new["metadata"]
    assert "status" not in new
    for field in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                  "ownerReferences", "finalizers", "deletionGracePeriodSeconds"):
        assert field not in meta, field
    assert LAST_APPLIED not in meta["annotations"] and meta["annotations"]["team"] == "obs"
    assert meta["name"] == "agent" and meta["namespace"] == NS and meta["labels"] == {"app": "agent"}
    assert new["apiVersion"] == "apps/v1" and new["kind"] == "DaemonSet"


def test_clean_drops_an_annotations_map_left_empty():
    ds = agent(template_generation=None)
    assert set(ds["metadata"]["annotations"]) == {LAST_APPLIED}
    assert "annotations" not in M.clean(ds)["metadata"]


# --- plan(): refusals ---------------------------------------------------------------------------

def _set_selector(selector):
    def edit(new):
        new["spec"]["selector"] = selector
    return edit


@pytest.mark.parametrize("edit,code", [
    (lambda new: new["metadata"].update(name="collector"), "NameDiffers"),
    (_set_selector({"matchLabels": {"app": "agent", "tier": "no de"}}), "InvalidSelector"),
    (_set_selector({"matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["x"]}]}),
     "InvalidSelector"),
    (_set_selector({"matchExpressions": [{"key": "tier", "operator": "Gt", "values": ["1"]}]}), "InvalidSelector"),
    (_set_selector(None), "InvalidSelector"),
    (_set_selector({}), "InvalidSelector"),
    (_set_selector({"matchLabels": {}}), "InvalidSelector"),
    (_set_selector({"matchLabels": {}, "matchExpressions": []}), "InvalidSelector"),
    (_set_selector({"matchLabels": {"app": "agent", "tier": "edge"}}), "SelectorTemplateMismatch"),
    (_set_selector({"matchLabels": {"app": "agent"}}), "SameSelector"),
], ids=["name-differs", "invalid-value", "exists-with-values", "gt-is-not-a-label-operator", "no-selector",
        "empty-selector", "empty-match-labels", "empty-both", "selector-template-mismatch", "same-selector"])
def test_plan_refuses(edit, code):
    old = agent()
    new = new_with(old, "app=agent,tier=node")
    edit(new)
    p = M.plan(old, new, pods_of(old, "n1", "n2"), nodes(), [old])
    assert code in codes(p), p.refusals
    assert not p.ok


def test_plan_reports_every_refusal_not_only_the_first():
    old = agent()
    new = new_with(old, "app=agent,tier=node", name="collector")
    new["spec"]["selector"] = {}
    p = M.plan(old, new, pods_of(old, "n1"), nodes(), [])
    assert codes(p) == ["NameDiffers", "InvalidSelector"]


def test_plan_accepts_a_manifest_without_a_name():
    old = agent()
    new = new_with(old, "app=agent,tier=node")
    del new["metadata"]["name"]
    p = M.plan(old, new, pods_of(old, "n1"), nodes(), [])
    assert p.ok, p.refusals
    assert p.new_manifest["metadata"]["name"] == "agent" and p.new_manifest["metadata"]["namespace"] == NS


@pytest.mark.parametrize("pod_labels,new_selector,named", [
    ({"legacy": "true"}, "app=agent,!legacy", "agent-n2"),
    ({"tier": "edge"}, "app=agent,tier notin (edge)", "agent-n2"),
    ({"tier": "edge"}, "app=agent,tier=node", "agent-n2"),
    ({}, "app=agent-v2", "agent-n1"),
], ids=["does-not-exist-on-a-present-label", "notin-on-its-value", "value-would-be-overwritten",
        "old-selector-label-would-change"])
def test_plan_refuses_pods_that_cannot_match_by_adding_labels(pod_labels, new_selector, named):
    """Only ADDED labels are safe while the old DaemonSet owns the pods: a changed value on a key
    of the old selector makes the running controller release the pod and start another (docs/semantics.md §5.1),
    and rollback could not restore a value it overwrote."""
    old = agent()
    good, bad = pods_of(old, "n1", "n2")
    bad["metadata"]["labels"].update(pod_labels)
    new = new_with(old, new_selector)
    p = M.plan(old, new, [good, bad], nodes(), [])
    assert "PodCannotMatch" in codes(p), (p.refusals, p.add_labels)
    msg = next(r.message for r in p.refusals if r.code == "PodCannotMatch")
    assert f"pod {named} " in msg, msg


def test_plan_pod_needing_nothing_is_not_refused():
    old = agent()
    p1, p2 = pods_of(old, "n1", "n2")
    p2["metadata"]["labels"]["tier"] = "node"         # already carries the label the others need
    p = M.plan(old, new_with(old, "app=agent,tier=node"), [p1, p2], nodes(), [])
    assert p.ok, p.refusals
    assert p.add_labels == {"tier": "node"}


def ctl(kind, name, selector, namespace=NS, template_labels=None):
    spec = {"selector": selector}
    if template_labels is not None:
        spec["template"] = {"metadata": {"labels": template_labels}, "spec": {"containers": []}}
    api = "v1" if kind == "ReplicationController" else "batch/v1" if kind == "Job" else "apps/v1"
    return {"apiVersion": api, "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{kind}-{name}-{namespace}"},
            "spec": spec}


@pytest.mark.parametrize("controller,competes", [
    (ctl("ReplicaSet", "rs", {"matchLabels": {"tier": "node"}}), True),
    (ctl("StatefulSet", "sts", {"matchLabels": {"app": "agent"}}), True),
    (ctl("Job", "job", {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}), True),
    (ctl("ReplicationController", "rc", {"app": "agent"}), True),
    (ctl("DaemonSet", "other-ds", {"matchLabels": {"app": "agent", "tier": "node"}}), True),
    (ctl("ReplicaSet", "by-hash", {"matchLabels": {"controller-revision-hash": "abc123"}}), True),
    (ctl("ReplicaSet", "by-release", {"matchLabels": {"release": "v2"}}), True),
    (ctl("ReplicaSet", "rs", {"matchLabels": {"tier": "node"}}, namespace="other"), False),
    (ctl("ReplicationController", "rc", {"app": "agent"}, namespace="other"), False),
    (ctl("ReplicaSet", "web", {"matchLabels": {"app": "web"}}), False),
    (ctl("ReplicationController", "web-rc", {"app": "web"}), False),
    (ctl("ReplicaSet", "not-edge", {"matchLabels": {"app": "agent", "tier": "edge"}}), False),
    (ctl("ReplicaSet", "no-selector", None), False),
    (ctl("Deployment", "deploy", {"matchLabels": {"app": "agent"}}), False),
], ids=["replicaset-selects-the-added-label", "statefulset-selects-the-pods", "job-set-based",
        "replicationcontroller-plain-map", "another-daemonset", "selects-relabelled-pods-only",
        "selects-new-template-labels-only", "other-namespace", "other-namespace-rc", "unrelated",
        "unrelated-rc", "disjoint-value", "no-selector", "deployment-adopts-nothing-itself"])
def test_plan_competing_controllers(controller, competes):
    old = agent()
    # the new template carries release=v2 (not in the selector, so pods are not given it)
    new = new_with(old, "app=agent,tier=node", template_labels={"release": "v2"})
    p = M.plan(old, new, pods_of(old, "n1", "n2"), nodes(), [old, controller])
    got = [r for r in p.refusals if r.code == "CompetingController"]
    assert bool(got) == competes, p.refusals
    if competes:
        assert controller["metadata"]["name"] in got[0].message and controller["kind"] in got[0].message
    assert ("CompetingController" in codes(p)) == (not p.ok)


def test_plan_the_daemonset_itself_never_competes():
    old = agent()
    same_uid_other_copy = copy.deepcopy(old)      # e.g. listed again by the source
    p = M.plan(old, new_with(old, "app=agent,tier=node"), pods_of(old, "n1"), nodes(), [old, same_uid_other_copy])
    assert p.ok, p.refusals


# --- plan(): facts ------------------------------------------------------------------------------

def test_plan_hands_over_only_the_daemonsets_own_pods_sorted():
    old = agent()
    other = daemonset("collector", NS, labels={"app": "agent"})          # same labels, other owner
    mine = [daemon_pod(old, "n1", suffix=s) for s in ("c", "a", "b")]
    orphan = daemon_pod(old, "n2", suffix="orphan", owned=False)
    foreign = daemon_pod(other, "n2", suffix="foreign")
    elsewhere = daemon_pod(old, "n2", suffix="elsewhere")
    elsewhere["metadata"]["namespace"] = "other"
    gone = daemon_pod(old, "n2", suffix="gone", phase="Failed", deleting=True)
    p = M.plan(old, new_with(old, "app=agent,tier=node"), [orphan, *mine, foreign, elsewhere, gone], nodes(), [])
    assert p.pods == tuple((f"agent-{s}", mine[i]["metadata"]["uid"]) for i, s in ((1, "a"), (2, "b"), (0, "c")))
    assert (p.namespace, p.name, p.old_uid) == (NS, "agent", old["metadata"]["uid"])
    assert p.old_generation == 1
    assert p.old_selector == {"matchLabels": {"app": "agent"}}
    assert p.new_selector == {"matchLabels": {"app": "agent", "tier": "node"}}
    assert p.backup == M.clean(old) and "uid" not in p.backup["metadata"] and "status" not in p.backup
    assert p.steps == M.STEPS and p.ok


def test_plan_without_pods_warns():
    old = agent()
    p = M.plan(old, new_with(old, "app=agent,tier=node"), [], nodes(), [])
    assert p.ok and p.pods == () and p.add_labels == {}
    assert any("no pods" in w for w in p.warnings)


@pytest.mark.parametrize("selector_text,template_labels,add,changed", [
    ("app=agent,tier=node", {"tier": "node"}, {}, False),
    ("app=agent,tier=node", {}, {"tier": "node"}, True),
    ("app=agent,tier", {"tier": "x"}, {}, False),
    ("app=agent,tier", {}, {"tier": ""}, True),
    ("app=agent,tier in (node,edge)", {}, {"tier": "node"}, True),
    ("app=agent,!legacy", {}, {}, False),
], ids=["template-already-labelled", "template-gains-label", "exists-already-satisfied", "exists-adds-empty",
        "in-adds-first", "does-not-exist-needs-nothing"])
def test_plan_add_labels_and_template_changed(selector_text, template_labels, add, changed):
    old = agent(labels={"app": "agent", **template_labels}, selector={"matchLabels": {"app": "agent"}})
    p = M.plan(old, new_with(old, selector_text), pods_of(old, "n1", "n2"), nodes(), [])
    assert p.ok, p.refusals
    assert dict(p.add_labels) == add
    assert p.template_changed is changed
    assert ("unchanged" in p.pace) == (not changed)
    tmpl = p.new_manifest["spec"]["template"]["metadata"]["labels"]
    for pod in pods_of(old, "n1", "n2"):
        relabelled = {**pod["metadata"]["labels"], **p.add_labels}
        assert match_label_selector(p.new_selector, relabelled)
    assert match_label_selector(p.new_selector, tmpl)


def test_plan_template_changed_by_a_spec_edit_even_with_labels_in_place():
    old = agent(labels={"app": "agent", "tier": "node"}, selector={"matchLabels": {"app": "agent"}})
    new = new_with(old, "app=agent,tier=node", spec={"hostNetwork": True})
    p = M.plan(old, new, pods_of(old, "n1"), nodes(), [])
    assert p.template_changed and p.add_labels == {}


@pytest.mark.parametrize("old_generation,pod_generations", [
    (1, [1, 1]),
    (5, [1, 3]),
    (3, [7, 2]),
    (None, [1]),
    (None, [None]),
    (2, ["x", 4]),
    (1, []),
], ids=["never-updated", "annotation-highest", "pod-label-highest", "no-annotation", "no-labels-at-all",
        "unparsable-label-ignored", "no-pods"])
def test_plan_template_generation_avoids_every_existing_one(old_generation, pod_generations):
    """The trap (docs/semantics.md §5.4): adopted pods whose pod-template-generation equals the new DaemonSet's
    template generation count as updated even with a different template, and are never rolled."""
    old = agent(template_generation=old_generation)
    pods = []
    for i, g in enumerate(pod_generations):
        pod = daemon_pod(old, f"n{i}", suffix=f"p{i}", generation=g if isinstance(g, int) else None)
        if isinstance(g, str):
            pod["metadata"]["labels"]["pod-template-generation"] = g
        pods.append(pod)
    new = new_with(old, "app=agent,tier=node")
    new["metadata"].setdefault("annotations", {})[GEN_ANN] = "1"   # an exported manifest's value is not kept
    p = M.plan(old, new, pods, nodes(), [])
    tgen = int(p.new_manifest["metadata"]["annotations"][GEN_ANN])
    seen = [old_generation or 0] + [g for g in pod_generations if isinstance(g, int)]
    assert tgen > max(seen)
    for pod in pods:
        assert pod["metadata"]["labels"].get("pod-template-generation") != str(tgen)


def test_plan_does_not_modify_its_inputs():
    old = agent()
    new = new_with(old, "app=agent,tier=node")
    pods = pods_of(old, "n1", "n2")
    snap = copy.deepcopy((old, new, pods))
    p = M.plan(old, new, pods, nodes(), [old])
    assert (old, new, pods) == snap
    p.new_manifest["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    assert "x" not in new["spec"]["template"]["metadata"]["labels"]


def ru(max_unavailable=1, max_surge=0):
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge}}


@pytest.mark.parametrize("strategy,node_count,want", [
    (ru(1, 0), 2, "1 node(s) at a time (maxUnavailable)"),
    (ru(3, 0), 4, "3 node(s) at a time (maxUnavailable)"),
    (ru("50%", 0), 3, "2 node(s) at a time (maxUnavailable)"),
    (ru(0, 1), 2, "1 node(s) at a time with surge"),
    (ru(0, "100%"), 4, "4 node(s) at a time with surge"),
    (ru(0, 0), 2, "1 node(s) at a time (maxUnavailable)"),
    ({"type": "OnDelete"}, 2, "updateStrategy is OnDelete: adopted pods stay until deleted"),
], ids=["max-unavailable-1", "max-unavailable-3", "max-unavailable-percent-rounds-up", "surge", "surge-percent",
        "both-zero-falls-back-to-one", "on-delete"])
def test_plan_pace(strategy, node_count, want):
    old = agent()
    new = new_with(old, "app=agent,tier=node", strategy=strategy)
    p = M.plan(old, new, pods_of(old, "n1"), [node(f"n{i}") for i in range(node_count)], [])
    assert p.template_changed and p.ok, p.refusals
    assert want in p.pace, p.pace


def test_plan_pace_when_the_template_is_unchanged_ignores_the_strategy():
    old = agent(labels={"app": "agent", "tier": "node"}, selector={"matchLabels": {"app": "agent"}},
                strategy="OnDelete")
    p = M.plan(old, new_with(old, "app=agent,tier=node"), pods_of(old, "n1"), nodes(), [])
    assert p.pace == "the template is unchanged: adopted pods count as updated and keep running"


# --- coverage -----------------------------------------------------------------------------------

GPU = taint("nvidia.com/gpu", "present")


def cluster():
    return [node("ssd-1", labels={"disk": "ssd"}), node("hdd-1", labels={"disk": "hdd"}), node("plain"),
            node("gpu-1", labels={"disk": "ssd"}, taints=[GPU]),
            node("cp-1", taints=[taint("node-role.kubernetes.io/control-plane")])]


@pytest.mark.parametrize("old_spec,new_spec,gained,lost", [
    ({}, {}, [], []),
    ({}, {"nodeSelector": {"disk": "ssd"}}, [], ["hdd-1", "plain"]),
    ({"nodeSelector": {"disk": "ssd"}}, {}, ["hdd-1", "plain"], []),
    ({}, {"tolerations": [toleration("nvidia.com/gpu", "Exists")]}, ["gpu-1"], []),
    ({"tolerations": [toleration(operator="Exists")]}, {}, [], ["cp-1", "gpu-1"]),
    ({"nodeSelector": {"disk": "hdd"}}, {"nodeSelector": {"disk": "ssd"}}, ["ssd-1"], ["hdd-1"]),
], ids=["unchanged", "new-node-selector-loses", "dropped-node-selector-gains", "new-toleration-gains",
        "dropped-toleration-loses", "moved"])
def test_coverage_change(old_spec, new_spec, gained, lost):
    old = agent()
    old["spec"]["template"]["spec"].update(old_spec)
    new = copy.deepcopy(old)
    for key in ("nodeSelector", "tolerations"):
        new["spec"]["template"]["spec"].pop(key, None)
    new["spec"]["template"]["spec"].update(new_spec)
    assert M.coverage_change(old, new, cluster()) == (gained, lost)


def test_plan_coverage_and_lost_node_warning():
    old = agent()
    new = new_with(old, "app=agent,tier=node", spec={"nodeSelector": {"disk": "ssd"}})
    p = M.plan(old, new, pods_of(old, "ssd-1", "hdd-1", "plain"), cluster(), [])
    assert (p.nodes_gained, p.nodes_lost) == ((), ("hdd-1", "plain"))
    assert any(w.startswith("2 node(s) run the agent now but would not") and "hdd-1, plain" in w
               for w in p.warnings), p.warnings


def test_plan_derived_manifest_keeps_coverage():
    old = agent()
    p = M.plan(old, new_with(old, "app=agent,tier=node"), pods_of(old, "n1"), cluster(), [])
    assert (p.nodes_gained, p.nodes_lost) == ((), ()) and p.warnings == ()


# --- rollout_in_progress ------------------------------------------------------------------------

def status(desired=3, updated=3, available=3, observed=1):
    return {"desiredNumberScheduled": desired, "updatedNumberScheduled": updated, "numberAvailable": available,
            "numberReady": available, "currentNumberScheduled": desired, "observedGeneration": observed}


@pytest.mark.parametrize("generation,st,busy", [
    (1, status(), None),
    (1, status(desired=0, updated=0, available=0), None),
    (2, status(observed=1), "the controller has not observed the latest spec yet"),
    (1, status(updated=2), "a rollout is in progress (2/3 updated, 3/3 available)"),
    (1, status(available=1), "a rollout is in progress (3/3 updated, 1/3 available)"),
    (1, {"desiredNumberScheduled": 2, "observedGeneration": 1},
     "a rollout is in progress (0/2 updated, 0/2 available)"),
], ids=["settled", "no-nodes", "not-observed", "not-all-updated", "not-all-available", "fields-absent"])
def test_rollout_in_progress(generation, st, busy):
    ds = daemonset("agent", NS, generation=generation, status=st)
    assert M.rollout_in_progress(ds) == busy


def test_rollout_in_progress_without_status():
    ds = daemonset("agent", NS, generation=1)
    del ds["status"]
    assert M.rollout_in_progress(ds) == "the controller has not observed the latest spec yet"


# --- held_manifest / label patches --------------------------------------------------------------

@pytest.mark.parametrize("strategy", [ru(1, 0), ru(0, 2), {"type": "OnDelete"}, None],
                         ids=["rolling", "surge", "on-delete", "absent"])
def test_held_manifest_forces_on_delete_without_touching_the_input(strategy):
    old = agent()
    new = new_with(old, "app=agent,tier=node", strategy=strategy)
    if strategy is None:
        del new["spec"]["updateStrategy"]
    before = copy.deepcopy(new)
    held = M.held_manifest(new)
    assert held["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert new == before
    held["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    held["metadata"]["annotations"]["x"] = "y"
    assert new == before, "the held manifest shares nothing with its input"
    del held["spec"]["template"]["metadata"]["labels"]["x"], held["metadata"]["annotations"]["x"]
    held["spec"]["updateStrategy"] = before["spec"].get("updateStrategy")
    if strategy is None:
        del held["spec"]["updateStrategy"]
    assert held == before, "only the strategy differs"


def test_added_label_patch():
    add = {"tier": "node"}
    patch = M.added_label_patch(add)
    assert patch == {"metadata": {"labels": {"tier": "node"}}}
    patch["metadata"]["labels"]["x"] = "y"
    assert add == {"tier": "node"}


@pytest.mark.parametrize("add,pod_labels,want", [
    ({"tier": "node"}, {"app": "agent", "tier": "node"}, {"metadata": {"labels": {"tier": None}}}),
    ({"tier": "node", "zone": ""}, {"tier": "node", "zone": ""},
     {"metadata": {"labels": {"tier": None, "zone": None}}}),
    ({"tier": "node", "zone": ""}, {"tier": "node", "zone": "a"}, {"metadata": {"labels": {"tier": None}}}),
    ({"tier": "node"}, {"tier": "edge"}, None),
    ({"tier": "node"}, {"app": "agent"}, None),
    ({}, {"app": "agent"}, None),
], ids=["ours", "all-ours", "one-changed-since", "value-changed-since", "already-gone", "nothing-added"])
def test_removed_label_patch(add, pod_labels, want):
    pod = daemon_pod(agent(), "n1")
    pod["metadata"]["labels"] = pod_labels
    assert M.removed_label_patch(add, pod) == want


def test_plan_document_round_trips_the_plan():
    old = agent()
    p = M.plan(old, new_with(old, "app=agent,tier=node"), pods_of(old, "n1"), nodes(), [])
    doc = M.plan_document(p)
    assert doc["pods"] == [{"name": n, "uid": u} for n, u in p.pods]
    assert doc["addLabels"] == {"tier": "node"} and doc["steps"] == list(M.STEPS) and doc["refusals"] == []
    assert doc["newManifest"] == p.new_manifest


# --- plan(): pods the rolling update will not replace -------------------------------------------

def test_plan_names_misscheduled_pods_the_rolling_update_deletes():
    """n2 got a NoSchedule taint after placement: its pod is kept, but when the template changes
    the rolling update deletes it and the controller creates none there (seen on the real one)."""
    old = agent()
    tainted = [node("n1"), node("n2", taints=[taint("team", "a")])]
    p = M.plan(old, new_with(old, "app=agent,tier=node"), pods_of(old, "n1", "n2"), tainted, [])
    assert p.ok and p.template_changed
    assert p.nodes_stranded == ("n2",) and p.nodes_lost == ()
    assert any("deletes it and creates none there, so they lose the agent: n2" in w for w in p.warnings)
    assert M.plan_document(p)["nodesStranded"] == ["n2"]


def test_plan_without_a_rolling_replacement_strands_no_pod():
    old = agent(labels={"app": "agent", "tier": "node"}, selector={"matchLabels": {"app": "agent"}})
    tainted = [node("n1"), node("n2", taints=[taint("team", "a")])]
    unchanged = M.plan(old, new_with(old, "app=agent,tier=node"), pods_of(old, "n1", "n2"), tainted, [])
    assert not unchanged.template_changed and unchanged.nodes_stranded == ()
    on_delete = M.plan(old, new_with(agent(), "app=agent,tier=node", strategy={"type": "OnDelete"}),
                       pods_of(old, "n1", "n2"), tainted, [])
    assert on_delete.nodes_stranded == ()
