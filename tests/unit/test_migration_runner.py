"""migrate's journaled runner (kubectl_ds/run/migration.py) against an in-memory cluster.

The faults these tests inject (a generation bump between plan and delete, a connection lost
right after the apiserver accepted a create, a controller that never adopts a pod, a kill in
the middle of a rollback) cannot be caused reliably against a real cluster at the unit level;
the real controller and garbage collector are covered by tests/e2e/test_migrate_live.py.

FakeCluster stands in for both the Writer and the source: it exposes exactly the methods the
Runner calls (get_daemonset, get_pod, patch_pod, patch_daemonset, delete_daemonset_orphan,
create_daemonset, pods). The garbage collector and the DaemonSet controller act on `tick()`,
which the fake `sleep` calls, so every wait goes through at least one round of the Runner's
polling loop, and no test ever really sleeps. Every write records what the journal ON DISK
said at that moment, so "journaled before acting" is checked, not assumed."""

from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import replace
from typing import Dict, List, Optional, Tuple

import pytest

from kubectl_ds.core import migration as M
from kubectl_ds.core.objects import controller_uid
from kubectl_ds.core.selectors import match_label_selector, match_selector_string, parse_selector_string
from kubectl_ds.errors import DsError, ExitCode
from kubectl_ds.run import migration as R
from kubectl_ds.source.writer import Conflict
from tests.builders import daemon_pod, daemonset, node

NS = "logging"
NEW_SELECTOR = {"matchLabels": {"app": "agent", "tier": "node"}}
PLANNED_STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
NODES = ("n1", "n2", "n3")


class FakeCluster:
    """An apiserver with a DaemonSet controller (adopt/release) and a garbage collector (orphan)."""

    def __init__(self, journal: str):
        self.journal = journal
        self.ds: Dict[str, dict] = {}
        self.pod: Dict[str, dict] = {}
        self.rev: Dict[str, dict] = {}
        self.calls: List[Tuple] = []        # (verb, name, journal current, journal done, body)
        self.never_adopt = set()            # pod names the controller refuses to adopt
        self.fail_create_after_accepting = 0
        self.fail_label_patches = 0
        self.now = 0.0
        self.sleeps = 0
        self._uids = 0
        self._rv = 3000

    # --- the Runner's interface ------------------------------------------------------------------

    def get_daemonset(self, ns: str, name: str) -> Optional[dict]:
        assert ns == NS
        return copy.deepcopy(self.ds.get(name))

    def get_pod(self, ns: str, name: str) -> Optional[dict]:
        assert ns == NS
        return copy.deepcopy(self.pod.get(name))

    def pods(self, ns: str, label_selector: Optional[str] = None) -> List[dict]:
        assert ns == NS
        reqs = parse_selector_string(label_selector) if label_selector else []
        return [copy.deepcopy(p) for _, p in sorted(self.pod.items())
                if match_selector_string(reqs, p["metadata"]["labels"])]

    def patch_pod(self, ns: str, name: str, patch: dict) -> Optional[dict]:
        self._record("patch_pod", name, patch)
        return self._patch_labels(self.pod.get(name), ns, "pods", patch)

    def revisions(self, ns: str, label_selector: Optional[str] = None) -> List[dict]:
        assert ns == NS
        reqs = parse_selector_string(label_selector) if label_selector else []
        return [copy.deepcopy(r) for _, r in sorted(self.rev.items())
                if match_selector_string(reqs, r["metadata"]["labels"])]

    def get_revision(self, ns: str, name: str) -> Optional[dict]:
        assert ns == NS
        return copy.deepcopy(self.rev.get(name))

    def patch_revision(self, ns: str, name: str, patch: dict) -> Optional[dict]:
        self._record("patch_revision", name, patch)
        return self._patch_labels(self.rev.get(name), ns, "controllerrevisions", patch)

    def _patch_labels(self, obj: Optional[dict], ns: str, resource: str, patch: dict) -> Optional[dict]:
        if obj is None:
            return None
        want_uid = patch.get("metadata", {}).get("uid")
        if want_uid and want_uid != obj["metadata"]["uid"]:
            raise Conflict(f"conflict: patch {resource} in {ns}: uid precondition failed")
        if self.fail_label_patches:
            self.fail_label_patches -= 1
            raise DsError(f"cannot reach the apiserver during patch {resource}: connection reset")
        for k, v in (patch.get("metadata", {}).get("labels") or {}).items():
            if v is None:
                obj["metadata"]["labels"].pop(k, None)
            else:
                obj["metadata"]["labels"][k] = v
        self._bump(obj)
        return copy.deepcopy(obj)

    def patch_daemonset(self, ns: str, name: str, patch: dict) -> Optional[dict]:
        self._record("patch_daemonset", name, patch)
        ds = self.ds.get(name)
        if ds is None:
            return None
        want_uid = patch.get("metadata", {}).get("uid")
        if want_uid and want_uid != ds["metadata"]["uid"]:
            raise Conflict(f"conflict: patch daemonsets in {ns}: uid precondition failed")
        strategy = patch.get("spec", {}).get("updateStrategy")
        if strategy is not None:   # $retainKeys: the listed keys replace the old ones, others are dropped
            retain = strategy.get("$retainKeys")
            merged = {**ds["spec"].get("updateStrategy", {}),
                      **{k: v for k, v in strategy.items() if k != "$retainKeys"}}
            ds["spec"]["updateStrategy"] = {k: v for k, v in merged.items() if retain is None or k in retain}
            ds["metadata"]["generation"] += 1
        self._bump(ds)
        return copy.deepcopy(ds)

    def delete_daemonset_orphan(self, ns: str, name: str, uid: str, resource_version: str) -> Optional[dict]:
        self._record("delete_daemonset_orphan", name, {"uid": uid, "resourceVersion": resource_version})
        ds = self.ds.get(name)
        if ds is None:
            return None
        if ds["metadata"]["uid"] != uid or ds["metadata"]["resourceVersion"] != resource_version:
            raise Conflict(f"conflict: delete daemonsets in {ns}: precondition failed")
        ds["metadata"]["deletionTimestamp"] = "2026-11-21T12:00:00Z"
        ds["metadata"]["finalizers"] = ["orphan"]
        return copy.deepcopy(ds)

    def create_daemonset(self, ns: str, body: dict) -> dict:
        self._record("create_daemonset", body["metadata"]["name"], body)
        name = body["metadata"]["name"]
        if name in self.ds:
            raise Conflict(f"conflict: daemonset {name} already exists in {ns}")
        self._uids += 1
        ds = copy.deepcopy(body)
        ds["metadata"].update(uid=f"new-uid-{self._uids}", namespace=ns, generation=1,
                              creationTimestamp="2026-11-21T12:00:00Z")
        ds["metadata"].setdefault("annotations", {}).setdefault(M.TEMPLATE_GENERATION_ANNOTATION, "1")
        ds["status"] = {"observedGeneration": 0}
        self._bump(ds)
        self.ds[name] = ds
        if self.fail_create_after_accepting:
            self.fail_create_after_accepting -= 1
            raise DsError("cannot reach the apiserver during create daemonsets: read timed out")
        return copy.deepcopy(ds)

    # --- the test's side ---------------------------------------------------------------------------

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        self.tick()

    def tick(self) -> None:
        """One round of the garbage collector, then of the DaemonSet controller."""
        for name, ds in list(self.ds.items()):
            if ds["metadata"].get("deletionTimestamp"):
                for dep in list(self.pod.values()) + list(self.rev.values()):
                    refs = dep["metadata"].get("ownerReferences", [])
                    dep["metadata"]["ownerReferences"] = [r for r in refs if r["uid"] != ds["metadata"]["uid"]]
                del self.ds[name]
        for ds in self.ds.values():
            sel, ds_uid = ds["spec"]["selector"], ds["metadata"]["uid"]
            for pod in list(self.pod.values()) + list(self.rev.values()):
                owner = controller_uid(pod)
                matches = match_label_selector(sel, pod["metadata"]["labels"])
                if owner == ds_uid and not matches:
                    pod["metadata"]["ownerReferences"] = []                      # released
                elif not owner and matches and pod["metadata"]["name"] not in self.never_adopt:
                    pod["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                                           "name": ds["metadata"]["name"], "uid": ds_uid,
                                                           "controller": True, "blockOwnerDeletion": True}]

    def writes(self, verb: Optional[str] = None) -> List[Tuple]:
        return [c for c in self.calls if verb is None or c[0] == verb]

    def _record(self, verb: str, name: str, body) -> None:
        try:
            with open(self.journal) as fh:
                on_disk = json.load(fh)
            current, done = on_disk["current"], tuple(on_disk["done"])
        except FileNotFoundError:
            current, done = "<no journal>", ()
        self.calls.append((verb, name, current, done, copy.deepcopy(body)))

    def _bump(self, obj: dict) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)


@pytest.fixture
def setup(tmp_path):
    """(cluster, state, path, runner factory): the logging/agent DaemonSet with three pods, and its
    journal for the migration app=agent -> app=agent,tier=node, written as `migrate` writes it."""
    path = str(tmp_path / "agent.migration.json")
    cluster = FakeCluster(path)
    old = daemonset("agent", NS, generation=1)
    pods = [daemon_pod(old, n, suffix=n) for n in NODES]
    cluster.ds["agent"] = copy.deepcopy(old)
    for p in pods:
        cluster.pod[p["metadata"]["name"]] = copy.deepcopy(p)
    for rev in revisions_of(old):
        cluster.rev[rev["metadata"]["name"]] = rev
    plan = M.plan(old, M.derive_manifest(old, NEW_SELECTOR), pods, [node(n) for n in NODES], [old])
    assert plan.ok and plan.add_labels == {"tier": "node"}
    state = R.Journal.new(plan, no_rollout=False)
    state.save(path)
    said: List[str] = []

    def runner(follow=None, after_step=lambda step: None):
        return R.Runner(cluster, cluster, path, said.append, follow=follow, clock=cluster.clock, sleep=cluster.sleep,
                        after_step=after_step)
    runner.said = said
    return cluster, state, path, runner


def revisions_of(ds: dict) -> List[dict]:
    """Two ControllerRevisions the DaemonSet owns (its template's labels plus the hash label)."""
    out = []
    for number, hash_ in ((1, "6d4cf56db6"), (2, ds["spec"]["template"]["metadata"].get("labels", {}).get(
            "controller-revision-hash", "7b9f8c6d5"))):
        out.append({"apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": number,
                    "metadata": {"name": f"{ds['metadata']['name']}-{hash_}", "namespace": NS,
                                 "uid": f"rev-uid-{number}",
                                 "labels": {**ds["spec"]["template"]["metadata"]["labels"],
                                            "controller-revision-hash": hash_},
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                                      "name": ds["metadata"]["name"], "uid": ds["metadata"]["uid"],
                                                      "controller": True, "blockOwnerDeletion": True}]},
                    "data": {"spec": {"template": ds["spec"]["template"]}}})
    return out


def on_disk(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)


def pod_uids(cluster: FakeCluster) -> Dict[str, str]:
    return {n: p["metadata"]["uid"] for n, p in cluster.pod.items()}


def owners(cluster: FakeCluster) -> set:
    return {controller_uid(p) for p in cluster.pod.values()}


# --- save_state / load_state --------------------------------------------------------------------

def test_write_atomic_writes_a_complete_document_and_no_temp_file(tmp_path):
    path = tmp_path / "s.json"
    R.write_atomic(str(path), {"version": 1, "b": [1, 2], "a": {"x": None}})
    assert json.loads(path.read_text()) == {"version": 1, "b": [1, 2], "a": {"x": None}}
    R.write_atomic(str(path), {"version": 1, "done": ["backup"]})
    assert json.loads(path.read_text()) == {"version": 1, "done": ["backup"]}
    assert os.listdir(tmp_path) == ["s.json"]


def test_write_atomic_renames_a_synced_complete_temp_file_over_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    R.write_atomic(str(path), {"version": 1, "done": []})
    new = {"version": 1, "done": ["backup", "relabel-pods"], "big": ["x" * 100] * 1000}
    synced, seen = [], []
    real_replace, real_fsync = os.replace, os.fsync

    def fsync(fd):
        synced.append(fd)
        return real_fsync(fd)

    def replace(src, dst):
        assert synced, "the temp file is fsynced before the rename"
        assert os.path.dirname(os.path.abspath(src)) == str(tmp_path), "same directory, so the rename is atomic"
        assert os.path.abspath(dst) == str(path)
        with open(src) as fh:
            assert json.load(fh) == new, "the temp file is complete before it replaces the journal"
        assert json.loads(path.read_text()) == {"version": 1, "done": []}, "the old journal is intact until then"
        seen.append(src)
        return real_replace(src, dst)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    R.write_atomic(str(path), new)
    assert len(seen) == 1 and json.loads(path.read_text()) == new
    assert os.listdir(tmp_path) == ["s.json"]


@pytest.mark.parametrize("bad,error", [
    ({"version": 1, "done": ["backup"], "oops": {1, 2}}, TypeError),
    ({"version": 1, "oops": object()}, TypeError),
], ids=["set-midway", "object"])
def test_write_atomic_failing_midway_keeps_the_old_journal_and_leaves_no_temp_file(tmp_path, bad, error):
    path = tmp_path / "s.json"
    R.write_atomic(str(path), {"version": 1, "done": []})
    with pytest.raises(error):
        R.write_atomic(str(path), bad)
    assert json.loads(path.read_text()) == {"version": 1, "done": []}
    assert os.listdir(tmp_path) == ["s.json"]


def test_write_atomic_interrupted_during_fsync_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "s.json"

    def fsync(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        R.write_atomic(str(path), {"version": 1})
    assert os.listdir(tmp_path) == []


def test_write_atomic_with_a_bare_file_name_writes_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    R.write_atomic("agent.migration.json", {"version": 1})
    assert os.listdir(tmp_path) == ["agent.migration.json"]


def test_load_state_round_trips(setup):
    _, state, path, _ = setup
    assert R.Journal.load(path) == state
    assert on_disk(path) == json.loads(json.dumps(state.to_dict()))


@pytest.mark.parametrize("content,message", [
    (None, "cannot read migration state {path}: No such file or directory"),
    ("", "malformed migration state {path}: "),
    ("{not json", "malformed migration state {path}: "),
    (b"\xff\xfe\x00binary", "malformed migration state {path}: "),
    ("[1, 2]", "malformed migration state {path}: not a kubectl-ds migration file"),
    ('{"version": 2, "backup": {}}', "malformed migration state {path}: not a kubectl-ds migration file"),
    ('{"version": "1", "backup": {}}', "malformed migration state {path}: not a kubectl-ds migration file"),
    ('{"version": 1}', "malformed migration state {path}: not a kubectl-ds migration file"),
    ('{"apiVersion": "apps/v1", "kind": "DaemonSet"}',
     "malformed migration state {path}: not a kubectl-ds migration file"),
], ids=["missing", "empty", "not-json", "not-text", "a-list", "wrong-version", "version-as-string",
        "no-backup", "a-manifest"])
def test_load_state_errors(tmp_path, content, message):
    path = tmp_path / "agent.migration.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(DsError) as err:
        R.Journal.load(str(path))
    text = err.value.message
    assert text.startswith(message.format(path=path)), text
    assert "\n" not in text and err.value.exit_code == ExitCode.CANNOT_ANSWER


def test_load_state_on_a_directory(tmp_path):
    with pytest.raises(DsError) as err:
        R.Journal.load(str(tmp_path))
    assert err.value.message.startswith(f"cannot read migration state {tmp_path}: ") and "\n" not in err.value.message


def test_a_new_journal_is_the_file_every_earlier_version_wrote(setup):
    _, state, path, _ = setup
    doc = on_disk(path)
    assert sorted(doc) == sorted([
        "version", "namespace", "name", "oldUid", "oldGeneration", "oldSelector", "newSelector", "backup",
        "newManifest", "addLabels", "pods", "newUid", "done", "current", "noRollout", "rolledBack", "adopted",
        "revisions", "log"])      # gone and restoredUid appear once verify-adoption / a rollback set them
    assert doc["version"] == 1 and doc["newUid"] is None and doc["revisions"] is None and doc["done"] == []
    assert doc["pods"] == [[n, u] for n, u in state.pods] and doc["addLabels"] == {"tier": "node"}
    with open(path) as fh:
        assert fh.read() == json.dumps(doc, indent=2, sort_keys=True)


def test_an_old_journal_is_read_and_unknown_keys_are_kept(setup):
    _, state, path, _ = setup
    doc = on_disk(path)
    for key in ("revisions", "adopted", "log", "newUid", "current"):   # not written by the first versions
        del doc[key]
    doc["fromANewerVersion"] = {"x": 1}
    R.write_atomic(path, doc)
    old = R.Journal.load(path)
    assert old.revisions is None and old.adopted == [] and old.log == [] and old.new_uid is None
    assert old.old_uid == state.old_uid and old.pods == state.pods
    old.save(path)
    assert on_disk(path)["fromANewerVersion"] == {"x": 1}


def test_a_journal_without_its_plan_is_refused(setup):
    _, _, path, _ = setup
    doc = on_disk(path)
    del doc["oldUid"], doc["pods"]
    R.write_atomic(path, doc)
    with pytest.raises(DsError) as err:
        R.Journal.load(path)
    assert err.value.message == f"malformed migration state {path}: no oldUid, pods"


# --- run(): the journal -------------------------------------------------------------------------

def test_every_step_has_its_method_in_order():
    assert list(R.Runner.STEP_METHODS) == list(M.STEPS)


def test_after_step_runs_once_each_step_is_journaled_as_done(setup):
    """The command's fault injection (KUBECTL_DS_MIGRATE_EXIT_AFTER) hangs on this hook."""
    cluster, state, path, runner = setup
    seen = []

    class Killed(Exception):
        pass

    def after_step(step):
        seen.append((step, on_disk(path)["done"][-1], on_disk(path)["current"]))
        if step == "orphan-delete":
            raise Killed
    with pytest.raises(Killed):
        runner(after_step=after_step).run(state)
    assert seen == [(s, s, None) for s in M.STEPS[:4]]
    assert cluster.writes("create_daemonset") == []     # nothing after the step it stopped at

def test_run_journals_every_step_before_acting(setup, monkeypatch):
    cluster, state, path, runner = setup
    before = pod_uids(cluster)
    journal: List[Tuple[Optional[str], Tuple[str, ...]]] = []
    real_save = R.Journal.save

    def save(s, p):
        real_save(s, p)
        journal.append((s.current, tuple(s.done)))
    monkeypatch.setattr(R.Journal, "save", save)
    followed = []

    def follow(ns, name):
        followed.append((ns, name, on_disk(path)["current"]))
        return True
    final = runner(follow).run(state)

    want = []
    for i, step in enumerate(M.STEPS):
        want.append((step, M.STEPS[:i]))
        if step in ("create", "relabel-revisions"):
            want.append((step, M.STEPS[:i]))        # the new uid / the revisions found, saved as soon as known
        want.append((None, M.STEPS[:i + 1]))
    assert journal == want
    assert final is state and on_disk(path) == json.loads(json.dumps(state.to_dict()))
    assert state.done == list(M.STEPS) and state.current is None
    assert [(s, e) for s, e, _ in state.log] == [(s, e) for s in M.STEPS for e in ("started", "done")]
    assert runner.said[-1] == f"step {len(M.STEPS)}/{len(M.STEPS)} rollout: done"

    # every write happened while the journal on disk named its step
    assert [(v, cur, done) for v, _, cur, done, _ in cluster.writes()] == \
        [("patch_pod", "relabel-pods", M.STEPS[:1])] * 3 + \
        [("patch_revision", "relabel-revisions", M.STEPS[:2])] * 2 + \
        [("delete_daemonset_orphan", "orphan-delete", M.STEPS[:3]),
         ("create_daemonset", "create", M.STEPS[:5]),
         ("patch_daemonset", "release-rollout", M.STEPS[:7])]
    assert followed == [(NS, "agent", "rollout")]

    # the outcome: the same pods, relabelled, owned by the new DaemonSet, which has the new selector
    new = cluster.ds["agent"]
    assert state.new_uid == new["metadata"]["uid"] != state.old_uid
    assert new["spec"]["selector"] == NEW_SELECTOR
    assert pod_uids(cluster) == before and owners(cluster) == {state.new_uid}
    assert all(p["metadata"]["labels"]["tier"] == "node" for p in cluster.pod.values())
    assert sorted(state.adopted) == sorted(before.values())
    assert "all 3 pod(s) adopted by the new DaemonSet; pod uids unchanged" in runner.said


def test_relabel_sends_the_pod_uid_as_a_precondition(setup):
    cluster, state, _, runner = setup
    runner().run(replace(state, no_rollout=True))
    for _, name, _, _, body in cluster.writes("patch_pod"):
        assert body == {"metadata": {"labels": {"tier": "node"}, "uid": cluster.pod[name]["metadata"]["uid"]}}


def test_relabel_hands_over_pods_created_since_the_plan(setup):
    cluster, state, _, runner = setup
    late = daemon_pod(daemonset("agent", NS), "n4", suffix="n4")
    cluster.pod[late["metadata"]["name"]] = late
    state.no_rollout = True
    runner().run(state)
    assert ["agent-n4", late["metadata"]["uid"]] in state.pods
    assert cluster.pod["agent-n4"]["metadata"]["labels"]["tier"] == "node"
    assert controller_uid(cluster.pod["agent-n4"]) == state.new_uid


def test_run_skips_steps_already_done_on_resume(setup):
    """The connection drops on the create request, before the apiserver saw it: resume creates."""
    cluster, state, path, runner = setup

    def refuse(ns, body):
        cluster._record("create_daemonset", body["metadata"]["name"], body)
        raise DsError("cannot reach the apiserver during create daemonsets: connection refused")
    cluster.create_daemonset, real_create = refuse, cluster.create_daemonset
    with pytest.raises(DsError, match="connection refused"):
        runner().run(state)
    assert on_disk(path)["done"] == list(M.STEPS[:5]) and on_disk(path)["current"] == "create"
    cluster.create_daemonset = real_create
    cluster.calls.clear()

    resumed = R.Journal.load(path)
    runner().run(resumed)
    assert [c[0] for c in cluster.writes()] == ["create_daemonset", "patch_daemonset"]
    assert resumed.done == list(M.STEPS) and resumed.current is None
    started = [s for s, e, _ in resumed.log if e == "started"]
    assert started == list(M.STEPS[:5]) + ["create"] + list(M.STEPS[5:])

    cluster.calls.clear()
    runner().run(resumed)                      # resuming a finished migration changes nothing
    assert cluster.writes() == []


def test_resume_after_a_kill_between_create_and_journaling_reuses_the_new_daemonset(setup):
    """The apiserver created the DaemonSet, but the process died before saving its uid."""
    cluster, state, path, runner = setup
    cluster.fail_create_after_accepting = 1
    with pytest.raises(DsError, match="read timed out"):
        runner().run(state)
    assert on_disk(path)["newUid"] is None and on_disk(path)["current"] == "create"
    created = cluster.ds["agent"]["metadata"]["uid"]
    cluster.calls.clear()

    resumed = R.Journal.load(path)
    runner().run(resumed)
    assert cluster.writes("create_daemonset") == []
    assert resumed.new_uid == created == cluster.ds["agent"]["metadata"]["uid"]
    assert owners(cluster) == {created}


def test_create_refuses_a_different_daemonset_that_appeared_meanwhile(setup):
    cluster, state, _, runner = setup
    # the journal of a migration that got as far as wait-orphaned ...
    state.done = list(M.STEPS[:5])
    del cluster.ds["agent"]
    for pod in cluster.pod.values():
        pod["metadata"]["labels"]["tier"] = "node"
        pod["metadata"]["ownerReferences"] = []
    # ... and someone else's DaemonSet of the same name, created before the resume
    intruder = daemonset("agent", NS, labels={"app": "intruder"})
    intruder["metadata"]["uid"] = "someone-else"
    cluster.ds["agent"] = intruder
    with pytest.raises(DsError, match="a different daemonset agent appeared meanwhile"):
        runner().run(state)
    assert cluster.writes() == [] and cluster.ds["agent"]["metadata"]["uid"] == "someone-else"


@pytest.mark.parametrize("no_rollout", [True, False], ids=["no-rollout", "rollout"])
def test_run_honours_no_rollout(setup, no_rollout):
    cluster, state, path, runner = setup
    followed = []
    state.no_rollout = no_rollout
    runner(lambda ns, name: followed.append(name) or True).run(state)
    assert followed == ([] if no_rollout else ["agent"])
    assert on_disk(path)["done"] == list(M.STEPS[:-1] if no_rollout else M.STEPS)
    assert owners(cluster) == {state.new_uid}


def test_run_reports_a_rollout_that_did_not_finish(setup):
    cluster, state, path, runner = setup
    with pytest.raises(DsError) as err:
        runner(lambda ns, name: False).run(state)
    assert err.value.exit_code == ExitCode.BAD_NEWS
    assert "the migration itself is complete" in err.value.message
    assert "kubectl ds rollout agent -n logging" in err.value.message
    assert err.value.advised, "the command must not add a --resume/--rollback hint to a finished migration"
    assert on_disk(path)["done"] == list(M.STEPS[:-1]) and on_disk(path)["current"] == "rollout"


# --- the steps' guards --------------------------------------------------------------------------

def test_orphan_delete_refuses_when_the_daemonset_changed_since_the_plan(setup):
    cluster, state, path, runner = setup
    cluster.ds["agent"]["metadata"]["generation"] = 2          # someone edited it after the plan
    with pytest.raises(DsError) as err:
        runner().run(state)
    assert "changed since the plan (generation 1 -> 2)" in err.value.message
    assert "nothing was deleted" in err.value.message
    assert cluster.writes("delete_daemonset_orphan") == [] and cluster.writes("create_daemonset") == []
    ds = cluster.ds["agent"]
    assert ds["metadata"]["uid"] == state.old_uid and "deletionTimestamp" not in ds["metadata"]
    assert on_disk(path)["done"] == list(M.STEPS[:3]) and on_disk(path)["current"] == "orphan-delete"
    assert owners(cluster) == {state.old_uid}


def test_orphan_delete_refuses_a_daemonset_replaced_by_someone_else(setup):
    cluster, state, _, runner = setup
    other = daemonset("agent", NS, labels={"app": "other"})
    other["metadata"]["uid"] = "someone-else"
    cluster.ds["agent"] = other
    with pytest.raises(DsError, match="replaced by someone else") as err:
        runner().run(state)
    assert cluster.writes("delete_daemonset_orphan") == []
    assert err.value.advised and "deleted nothing" in err.value.message


def test_orphan_delete_sends_uid_and_resource_version_preconditions(setup):
    cluster, state, _, runner = setup
    rv = cluster.ds["agent"]["metadata"]["resourceVersion"]
    runner().run(replace(state, no_rollout=True))
    [(_, name, _, _, body)] = cluster.writes("delete_daemonset_orphan")
    assert name == "agent" and body == {"uid": state.old_uid, "resourceVersion": rv}


def test_create_sends_the_held_manifest_and_release_restores_the_planned_strategy(setup):
    cluster, state, _, runner = setup
    assert state.new_manifest["spec"]["updateStrategy"] == PLANNED_STRATEGY
    state.no_rollout = True
    runner().run(state)
    [(_, _, _, _, body)] = cluster.writes("create_daemonset")
    assert body == M.held_manifest(state.new_manifest)
    assert body["spec"]["updateStrategy"] == {"type": "OnDelete"}
    assert body["spec"]["selector"] == NEW_SELECTOR
    assert int(body["metadata"]["annotations"][M.TEMPLATE_GENERATION_ANNOTATION]) >= 2
    [(_, _, current, done, patch)] = cluster.writes("patch_daemonset")
    assert current == "release-rollout" and "verify-adoption" in done
    assert patch == {"metadata": {"uid": state.new_uid},
                     "spec": {"updateStrategy": {"$retainKeys": ["type", "rollingUpdate"], **PLANNED_STRATEGY}}}
    assert cluster.ds["agent"]["spec"]["updateStrategy"] == PLANNED_STRATEGY


def test_release_rollout_does_not_patch_a_planned_on_delete(setup):
    cluster, state, _, runner = setup
    state.new_manifest["spec"]["updateStrategy"] = {"type": "OnDelete"}
    runner().run(replace(state, no_rollout=True))
    assert cluster.writes("patch_daemonset") == []
    assert cluster.ds["agent"]["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_verify_adoption_times_out_naming_the_pods_not_adopted(setup):
    cluster, state, path, runner = setup
    cluster.never_adopt = {"agent-n2"}
    started = time.monotonic()
    with pytest.raises(DsError) as err:
        runner().run(state)
    assert time.monotonic() - started < 5, "the fake clock, not real time, drives the wait"
    assert cluster.now >= R.WAIT_SECONDS and cluster.sleeps > 1
    msg = err.value.message
    assert msg.startswith("timed out waiting for the new DaemonSet to adopt every pod: not adopted yet: agent-n2")
    assert "agent-n1" not in msg and "agent-n3" not in msg   # the command adds the journal's hint
    assert "\n" not in msg
    assert on_disk(path)["current"] == "verify-adoption"
    assert cluster.writes("patch_daemonset") == [], "the held OnDelete strategy is not released"
    assert cluster.ds["agent"]["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_verify_adoption_does_not_wait_for_a_pod_that_vanished(setup):
    """A pod gone during the handover (its node removed, say) is reported, not waited for."""
    cluster, state, path, runner = setup
    cluster.never_adopt = {"agent-n2"}
    orig_create = cluster.create_daemonset

    def create_then_lose_a_pod(ns, body):
        created = orig_create(ns, body)
        cluster.pod.pop("agent-n2")        # PodGC after a node deletion, not the migration
        return created
    cluster.create_daemonset = create_then_lose_a_pod
    done = runner().run(replace(state, no_rollout=True))
    assert done.gone and "verify-adoption" in done.done
    assert any("agent-n2 disappeared during the handover" in line for line in runner.said)
    assert any("2 pod(s) adopted by the new DaemonSet; 1 disappeared meanwhile" in line for line in runner.said)


def test_verify_adoption_waits_for_the_controller(setup):
    cluster, state, _, runner = setup
    runner().run(replace(state, no_rollout=True))
    assert cluster.sleeps >= 2      # one wait for the garbage collector, one for the adoption


# --- rollback -----------------------------------------------------------------------------------

def labels_of(cluster):
    return {n: dict(p["metadata"]["labels"]) for n, p in cluster.pod.items()}


def test_rollback_when_the_original_was_never_deleted_only_removes_the_added_labels(setup):
    cluster, state, path, runner = setup
    original = labels_of(cluster)
    cluster.ds["agent"]["metadata"]["generation"] = 2
    with pytest.raises(DsError):
        runner().run(state)
    assert all(lbl["tier"] == "node" for lbl in labels_of(cluster).values())
    cluster.pod["agent-n3"]["metadata"]["labels"]["tier"] = "edge"      # someone else's value since
    cluster.calls.clear()

    done = runner().rollback(R.Journal.load(path))
    assert [(c[0], c[1], c[4]) for c in cluster.writes()] == [
        ("patch_pod", "agent-n1", {"metadata": {"labels": {"tier": None}}}),
        ("patch_pod", "agent-n2", {"metadata": {"labels": {"tier": None}}}),
        ("patch_revision", "agent-6d4cf56db6", {"metadata": {"labels": {"tier": None}, "uid": "rev-uid-1"}}),
        ("patch_revision", "agent-7b9f8c6d5", {"metadata": {"labels": {"tier": None}, "uid": "rev-uid-2"}})]
    assert labels_of(cluster) == dict(original, **{"agent-n3": dict(original["agent-n3"], tier="edge")})
    assert cluster.ds["agent"]["metadata"]["uid"] == state.old_uid
    assert done.rolled_back is True and on_disk(path)["rolledBack"] is True
    assert "the original DaemonSet was never deleted" in runner.said


def test_rollback_after_create_restores_the_original_and_keeps_every_pod(setup):
    cluster, state, path, runner = setup
    before, original = pod_uids(cluster), labels_of(cluster)
    runner().run(replace(state, no_rollout=True))
    state = R.Journal.load(path)
    new_uid, new_rv = state.new_uid, cluster.ds["agent"]["metadata"]["resourceVersion"]
    cluster.calls.clear()

    runner().rollback(state)
    verbs = [c[0] for c in cluster.writes()]
    assert verbs == ["delete_daemonset_orphan", "create_daemonset"] + ["patch_pod"] * 3 + ["patch_revision"] * 2
    [(_, _, _, _, delete)] = cluster.writes("delete_daemonset_orphan")
    assert delete == {"uid": new_uid, "resourceVersion": new_rv}
    [(_, _, _, _, body)] = cluster.writes("create_daemonset")
    assert body == state.backup
    restored = cluster.ds["agent"]
    assert restored["spec"]["selector"] == state.old_selector
    assert state.restored_uid == restored["metadata"]["uid"] == on_disk(path)["restoredUid"]
    assert pod_uids(cluster) == before and owners(cluster) == {state.restored_uid}
    assert labels_of(cluster) == original
    assert on_disk(path)["rolledBack"] is True
    # the revisions went with the new DaemonSet and came back to the restored original, unlabelled
    assert {n: (controller_uid(r), r["metadata"]["labels"].get("tier")) for n, r in cluster.rev.items()} == \
        {"agent-6d4cf56db6": (state.restored_uid, None), "agent-7b9f8c6d5": (state.restored_uid, None)}


def test_rollback_after_the_orphan_delete_but_before_create(setup):
    cluster, state, path, runner = setup
    before = pod_uids(cluster)

    def refuse(ns, body):
        raise DsError("cannot reach the apiserver during create daemonsets: connection refused")
    cluster.create_daemonset, real_create = refuse, cluster.create_daemonset
    with pytest.raises(DsError, match="connection refused"):
        runner().run(state)
    cluster.create_daemonset = real_create
    assert "agent" not in cluster.ds and owners(cluster) == {""}
    cluster.calls.clear()

    runner().rollback(R.Journal.load(path))
    assert [c[0] for c in cluster.writes()] == ["create_daemonset"] + ["patch_pod"] * 3 + ["patch_revision"] * 2
    assert cluster.ds["agent"]["spec"]["selector"] == {"matchLabels": {"app": "agent"}}
    assert pod_uids(cluster) == before and owners(cluster) == {cluster.ds["agent"]["metadata"]["uid"]}
    assert all("tier" not in lbl for lbl in labels_of(cluster).values())


def test_rollback_while_the_original_is_still_being_deleted_waits_for_it(setup):
    """The garbage collector is slow: wait-orphaned times out with the old DaemonSet still
    being deleted; rollback waits for the deletion to finish before re-creating it."""
    cluster, state, path, runner = setup
    before = pod_uids(cluster)
    real_tick = cluster.tick
    cluster.tick = lambda: None
    with pytest.raises(DsError, match="timed out waiting for the old DaemonSet to be gone"):
        runner().run(state)
    assert cluster.ds["agent"]["metadata"].get("deletionTimestamp") and owners(cluster) == {state.old_uid}
    assert on_disk(path)["current"] == "wait-orphaned"
    cluster.tick = real_tick
    cluster.calls.clear()

    runner().rollback(R.Journal.load(path))
    assert [c[0] for c in cluster.writes()] == ["create_daemonset"] + ["patch_pod"] * 3 + ["patch_revision"] * 2
    restored = cluster.ds["agent"]["metadata"]["uid"]
    assert restored != state.old_uid and owners(cluster) == {restored} and pod_uids(cluster) == before


def test_rollback_of_a_migration_that_never_started_changes_nothing(setup):
    cluster, state, path, runner = setup
    before = copy.deepcopy((cluster.ds, cluster.pod))
    done = runner().rollback(state)
    assert cluster.writes() == [] and (cluster.ds, cluster.pod) == before
    assert done.rolled_back is True and on_disk(path)["rolledBack"] is True


def test_rollback_is_idempotent(setup):
    cluster, state, path, runner = setup
    runner().run(replace(state, no_rollout=True))
    runner().rollback(R.Journal.load(path))
    restored = copy.deepcopy(cluster.ds["agent"])
    cluster.calls.clear()

    again = runner().rollback(R.Journal.load(path))           # no refusal, and no write
    assert cluster.writes() == []
    assert cluster.ds["agent"] == restored
    assert again.rolled_back is True


def test_rollback_interrupted_after_restoring_resumes_without_replacing_the_restored_daemonset(setup):
    """Killed while removing labels: the second --rollback must keep the DaemonSet it restored
    (which may already have been edited) and only finish the labels."""
    cluster, state, path, runner = setup
    before, original = pod_uids(cluster), labels_of(cluster)
    runner().run(replace(state, no_rollout=True))
    cluster.fail_label_patches = 1
    with pytest.raises(DsError, match="connection reset"):
        runner().rollback(R.Journal.load(path))
    restored_uid = cluster.ds["agent"]["metadata"]["uid"]
    assert on_disk(path)["restoredUid"] == restored_uid and on_disk(path)["rolledBack"] is False
    cluster.calls.clear()

    runner().rollback(R.Journal.load(path))
    assert [c[0] for c in cluster.writes()] == ["patch_pod"] * 3 + ["patch_revision"] * 2
    assert cluster.ds["agent"]["metadata"]["uid"] == restored_uid
    assert pod_uids(cluster) == before and labels_of(cluster) == original
    assert owners(cluster) == {restored_uid}


def test_rollback_interrupted_before_saving_the_restored_uid_keeps_the_restored_daemonset(setup):
    """Killed between the apiserver accepting the re-create and the journal recording it."""
    cluster, state, path, runner = setup
    before, original = pod_uids(cluster), labels_of(cluster)
    runner().run(replace(state, no_rollout=True))
    cluster.fail_create_after_accepting = 1
    with pytest.raises(DsError, match="read timed out"):
        runner().rollback(R.Journal.load(path))
    assert "restoredUid" not in on_disk(path)
    restored_uid = cluster.ds["agent"]["metadata"]["uid"]
    cluster.calls.clear()

    runner().rollback(R.Journal.load(path))
    assert [c[0] for c in cluster.writes()] == ["patch_pod"] * 3 + ["patch_revision"] * 2
    assert cluster.ds["agent"]["metadata"]["uid"] == restored_uid == on_disk(path)["restoredUid"]
    assert pod_uids(cluster) == before and labels_of(cluster) == original and owners(cluster) == {restored_uid}


def test_run_on_a_rolled_back_state_raises(setup):
    cluster, state, path, runner = setup
    runner().rollback(state)
    cluster.calls.clear()
    with pytest.raises(DsError, match="this migration was rolled back; plan a new one"):
        runner().run(R.Journal.load(path))
    assert cluster.writes() == []


# --- relabel-revisions --------------------------------------------------------------------------

def test_the_new_daemonset_adopts_the_old_revisions(setup):
    cluster, state, path, runner = setup
    runner().run(replace(state, no_rollout=True))
    new_uid = on_disk(path)["newUid"]
    assert on_disk(path)["revisions"] == [["agent-6d4cf56db6", "rev-uid-1"], ["agent-7b9f8c6d5", "rev-uid-2"]]
    assert {n: (controller_uid(r), r["metadata"]["labels"]["tier"]) for n, r in cluster.rev.items()} == \
        {"agent-6d4cf56db6": (new_uid, "node"), "agent-7b9f8c6d5": (new_uid, "node")}
    for _, _, _, _, body in cluster.writes("patch_revision"):
        assert body["metadata"]["uid"].startswith("rev-uid-")      # the same revision, not a namesake


def test_revisions_that_cannot_take_the_labels_or_are_not_the_old_daemonset_s_are_left_alone(setup):
    cluster, state, path, runner = setup
    cluster.rev["agent-6d4cf56db6"]["metadata"]["labels"]["tier"] = "edge"       # would need overwriting
    other = copy.deepcopy(cluster.rev["agent-7b9f8c6d5"])
    other["metadata"].update(name="other-1", uid="rev-uid-other")
    other["metadata"]["ownerReferences"][0].update(uid="someone-else", name="other")
    cluster.rev["other-1"] = other
    runner().run(replace(state, no_rollout=True))
    assert on_disk(path)["revisions"] == [["agent-7b9f8c6d5", "rev-uid-2"]]
    assert [c[1] for c in cluster.writes("patch_revision")] == ["agent-7b9f8c6d5"]
    assert cluster.rev["agent-6d4cf56db6"]["metadata"]["labels"]["tier"] == "edge"
    assert cluster.rev["other-1"]["metadata"]["labels"] == other["metadata"]["labels"]


def test_a_revision_pruned_before_its_patch_is_skipped(setup):
    cluster, state, path, runner = setup
    real_get = cluster.get_revision

    def pruned(ns, name):      # the controller's history limit deleted it after it was listed
        return None if name == "agent-6d4cf56db6" else real_get(ns, name)
    cluster.get_revision = pruned
    runner().run(replace(state, no_rollout=True))
    assert [c[1] for c in cluster.writes("patch_revision")] == ["agent-7b9f8c6d5"]


def test_resuming_a_journal_from_before_this_step_finds_the_orphaned_revisions(setup):
    """A journal written by a version without relabel-revisions, killed after wait-orphaned:
    the old DaemonSet is gone, its revisions are orphans of its selector."""
    cluster, state, path, runner = setup
    legacy = [s for s in M.STEPS if s != "relabel-revisions"]
    doc = state.to_dict()
    doc["done"] = legacy[:4]
    del doc["revisions"], doc["adopted"]       # neither was written then
    R.write_atomic(path, doc)
    del cluster.ds["agent"]
    for obj in list(cluster.pod.values()) + list(cluster.rev.values()):
        obj["metadata"]["ownerReferences"] = []
        if obj in cluster.pod.values():
            obj["metadata"]["labels"]["tier"] = "node"
    runner().run(R.Journal.load(path))
    new_uid = on_disk(path)["newUid"]
    assert {controller_uid(r) for r in cluster.rev.values()} == {new_uid}
    assert sorted(on_disk(path)["done"]) == sorted(M.STEPS)
