"""Executes a migration plan as journaled steps, resumable and reversible.

The journal (a JSON file) is rewritten atomically (temp file, fsync, rename) before and after every
step, so a kill at any point leaves a file from which `--resume` finishes and `--rollback` restores
the original DaemonSet. Every step is idempotent: it looks at the cluster before acting. No
step deletes a pod: the DaemonSet is deleted with propagationPolicy=Orphan, and pods only ever
gain labels (or, on rollback, lose the ones this migration added).

Fault injection for tests: the Runner calls `after_step(step)` right after a step is journaled
as done; `kubectl ds migrate` passes a hook that ends the process there (as if killed) when
KUBECTL_DS_MIGRATE_EXIT_AFTER names the step.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, List, Optional

from kubectl_ds.core.migration import STEPS, Plan, added_label_patch, held_manifest, removed_label_patch
from kubectl_ds.core.objects import controller_uid, deleting, get_in, labels, name, uid
from kubectl_ds.core.selectors import label_selector_string, match_label_selector
from kubectl_ds.errors import DsError, ExitCode

STATE_VERSION = 1
WAIT_SECONDS = 180


def write_atomic(path: str, doc: dict) -> None:
    """Write JSON atomically: a reader (or a resume after a kill) sees the old file or the new one."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".migration-", dir=folder)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _key(json_name: str, required: bool = False, omit_none: bool = False) -> Dict[str, Any]:
    """A field's metadata: its key in the file; a required one must be there to load, an
    omit_none one is left out of the file while None (as journals have always been written)."""
    return {"json": json_name, "required": required, "omit_none": omit_none}


@dataclass
class Journal:
    """A migration's journal: the plan it carries out, and how far it got. `save` writes, and
    `load` reads, the same JSON file as every earlier version (camelCase keys, sorted)."""

    namespace: str = field(metadata=_key("namespace", required=True))
    name: str = field(metadata=_key("name", required=True))
    old_uid: str = field(metadata=_key("oldUid", required=True))
    old_generation: Optional[int] = field(metadata=_key("oldGeneration"), default=None)
    old_selector: dict = field(metadata=_key("oldSelector", required=True), default_factory=dict)
    new_selector: dict = field(metadata=_key("newSelector", required=True), default_factory=dict)
    backup: dict = field(metadata=_key("backup", required=True), default_factory=dict)
    new_manifest: dict = field(metadata=_key("newManifest", required=True), default_factory=dict)
    add_labels: Dict[str, str] = field(metadata=_key("addLabels", required=True), default_factory=dict)
    pods: List[List[str]] = field(metadata=_key("pods", required=True), default_factory=list)  # [name, uid]
    new_uid: Optional[str] = field(metadata=_key("newUid"), default=None)
    done: List[str] = field(metadata=_key("done"), default_factory=list)
    current: Optional[str] = field(metadata=_key("current"), default=None)
    no_rollout: bool = field(metadata=_key("noRollout"), default=False)
    rolled_back: bool = field(metadata=_key("rolledBack"), default=False)
    adopted: List[str] = field(metadata=_key("adopted"), default_factory=list)        # pod uids
    revisions: Optional[List[List[str]]] = field(metadata=_key("revisions"), default=None)  # [name, uid]
    log: List[list] = field(metadata=_key("log"), default_factory=list)     # [step, "started"|"done", time]
    gone: Optional[List[str]] = field(metadata=_key("gone", omit_none=True), default=None)   # pod uids
    restored_uid: Optional[str] = field(metadata=_key("restoredUid", omit_none=True), default=None)
    # keys this version does not know (a newer writer's): kept, and written back as they were
    extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def new(cls, plan: Plan, no_rollout: bool) -> Journal:
        return cls(namespace=plan.namespace, name=plan.name, old_uid=plan.old_uid,
                   old_generation=plan.old_generation, old_selector=dict(plan.old_selector),
                   new_selector=dict(plan.new_selector), backup=dict(plan.backup),
                   new_manifest=dict(plan.new_manifest), add_labels=dict(plan.add_labels),
                   pods=[[n, u] for n, u in plan.pods], no_rollout=no_rollout)

    def to_dict(self) -> dict:
        doc: Dict[str, Any] = {"version": STATE_VERSION, **self.extra}
        for f in _FIELDS:
            value = getattr(self, f.name)
            if value is not None or not f.metadata["omit_none"]:
                doc[f.metadata["json"]] = value
        return doc

    @classmethod
    def from_dict(cls, doc: dict, path: str) -> Journal:
        if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION or "backup" not in doc:
            raise DsError(f"malformed migration state {path}: not a kubectl-ds migration file")
        missing = [f.metadata["json"] for f in _FIELDS if f.metadata["required"] and f.metadata["json"] not in doc]
        if missing:
            raise DsError(f"malformed migration state {path}: no {', '.join(missing)}")
        known = {f.metadata["json"]: f.name for f in _FIELDS}
        # a key an older version did not write yet (revisions, adopted, ...) takes its default
        values = {known[k]: v for k, v in doc.items() if k in known}
        extra = {k: v for k, v in doc.items() if k not in known and k != "version"}
        return cls(**values, extra=extra)

    def save(self, path: str) -> None:
        write_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str) -> Journal:
        try:
            with open(path) as fh:
                doc = json.load(fh)
        except OSError as err:
            raise DsError(f"cannot read migration state {path}: {err.strerror}") from None
        except ValueError as err:
            raise DsError(f"malformed migration state {path}: {err}") from None
        return cls.from_dict(doc, path)


_FIELDS = tuple(f for f in fields(Journal) if "json" in f.metadata)


class Runner:
    def __init__(self, writer, source, state_path: str, say: Callable[[str], None],
                 follow: Optional[Callable[[str, str], bool]] = None, clock=time.monotonic, sleep=time.sleep,
                 after_step: Callable[[str], None] = lambda step: None):
        self.w, self.src, self.path, self.say = writer, source, state_path, say
        self.follow = follow
        self.clock, self.sleep = clock, sleep
        self.after_step = after_step   # called once a step is journaled as done (fault injection)

    # --- journal -----------------------------------------------------------------------

    def _begin(self, state: Journal, step: str) -> None:
        state.current = step
        state.log.append([step, "started", time.time()])
        state.save(self.path)

    def _end(self, state: Journal, step: str) -> None:
        state.done.append(step)
        state.current = None
        state.log.append([step, "done", time.time()])
        state.save(self.path)
        self.say(f"step {len(state.done)}/{len(STEPS)} {step}: done")
        self.after_step(step)

    def run(self, state: Journal) -> Journal:
        """Run (or resume) every step not yet done."""
        if state.rolled_back:
            raise DsError("this migration was rolled back; plan a new one")
        for step in STEPS:
            if step in state.done:
                continue
            if step == "rollout" and state.no_rollout:
                continue
            self._begin(state, step)
            self.STEP_METHODS[step](self, state)
            self._end(state, step)
        return state

    # --- steps -------------------------------------------------------------------------

    def _step_backup(self, state: Journal) -> None:
        pass  # the backup is in the journal, which _begin just wrote

    def _step_relabel_pods(self, state: Journal) -> None:
        ns, add = state.namespace, state.add_labels
        old = self.w.get_daemonset(ns, state.name)
        known = {u for _, u in state.pods}
        if old is not None and uid(old) == state.old_uid:
            # pods the old DaemonSet created since the plan are handed over too
            sel = label_selector_string(state.old_selector)
            for p in self.src.pods(ns, label_selector=sel):
                if controller_uid(p) == state.old_uid and uid(p) not in known and not deleting(p):
                    state.pods.append([name(p), uid(p)])
                    known.add(uid(p))
        for pod_name, pod_uid in state.pods:
            pod = self.w.get_pod(ns, pod_name)
            if pod is None or uid(pod) != pod_uid:
                self.say(f"warning: pod {pod_name} is gone (not deleted by this migration)")
                continue
            if all(labels(pod).get(k) == v for k, v in add.items()):
                continue
            patch = added_label_patch(add)
            patch["metadata"]["uid"] = pod_uid   # precondition: the same pod, not a namesake
            self.w.patch_pod(ns, pod_name, patch)

    def _step_relabel_revisions(self, state: Journal) -> None:
        """The old DaemonSet's ControllerRevisions get the added labels too.

        The new DaemonSet then adopts them (the controller claims every orphan revision its selector
        matches) and numbers its own revision after them, so `rollout history` goes on across the
        migration; without the labels they would stay behind as orphans no selector matches.
        """
        ns, add = state.namespace, state.add_labels
        if state.revisions is None:
            # the old DaemonSet's, or orphans of its selector if it is gone already (a journal
            # written before this step existed): what the controller would adopt anyway
            found = []
            for rev in self.src.revisions(ns, label_selector=label_selector_string(state.old_selector)):
                mine = controller_uid(rev) in (state.old_uid, "") and not deleting(rev)
                # never overwrite a value a revision already has (history is the user's data)
                fits = all(labels(rev).get(k) in (None, v) for k, v in add.items())
                if mine and fits and match_label_selector(state.new_selector, {**labels(rev), **add}):
                    found.append([name(rev), uid(rev)])
            state.revisions = sorted(found)
            state.save(self.path)
        for rev_name, rev_uid in state.revisions:
            rev = self.w.get_revision(ns, rev_name)
            if rev is None or uid(rev) != rev_uid:
                continue   # pruned by the controller's history limit meanwhile: nothing to keep
            if all(labels(rev).get(k) == v for k, v in add.items()):
                continue
            patch = added_label_patch(add)
            patch["metadata"]["uid"] = rev_uid
            self.w.patch_revision(ns, rev_name, patch)

    def _step_orphan_delete(self, state: Journal) -> None:
        ns, nm = state.namespace, state.name
        ds = self.w.get_daemonset(ns, nm)
        if ds is None:
            return
        if uid(ds) != state.old_uid:
            if state.new_uid == uid(ds) or _same(get_in(ds, "spec", "selector"), state.new_selector):
                return  # already re-created (an earlier run got further than its journal)
            raise DsError(f"daemonset {nm} was replaced by someone else (uid {uid(ds)}); stopping: this migration "
                          "deleted nothing; its journal keeps the original", advised=True)
        if deleting(ds):
            return
        gen = get_in(ds, "metadata", "generation")
        planned = state.old_generation
        if planned and gen != planned:
            raise DsError(f"daemonset {nm} changed since the plan (generation {planned} -> {gen}); "
                          "nothing was deleted: run --rollback, then plan again", advised=True)
        self.w.delete_daemonset_orphan(ns, nm, state.old_uid, get_in(ds, "metadata", "resourceVersion"))

    def _step_wait_orphaned(self, state: Journal) -> None:
        ns, nm, old = state.namespace, state.name, state.old_uid

        def orphaned() -> Optional[str]:
            ds = self.w.get_daemonset(ns, nm)
            if ds is not None and uid(ds) == old:
                return "the old DaemonSet still exists (the garbage collector is orphaning its pods)"
            still = [n for n, u in state.pods if _owned_by(self.w.get_pod(ns, n), u, old)]
            if still:
                return f"{len(still)} pod(s) still reference the old DaemonSet"
            return None
        self._wait(orphaned, "the old DaemonSet to be gone and its pods orphaned")

    def _step_create(self, state: Journal) -> None:
        ns, nm = state.namespace, state.name
        ds = self.w.get_daemonset(ns, nm)
        if ds is not None:
            if uid(ds) == state.old_uid:
                raise DsError("the old DaemonSet still exists; cannot create the new one")
            if not _same(get_in(ds, "spec", "selector"), state.new_selector):
                raise DsError(f"a different daemonset {nm} appeared meanwhile (uid {uid(ds)}); stopping: this "
                              "migration deleted no pod; its journal keeps the original", advised=True)
            state.new_uid = uid(ds)
            return
        created = self.w.create_daemonset(ns, held_manifest(state.new_manifest))
        state.new_uid = uid(created)
        state.save(self.path)

    def _step_verify_adoption(self, state: Journal) -> None:
        ns, new = state.namespace, state.new_uid
        adopted = set(state.adopted or [])
        gone = set(state.gone or [])

        def check() -> Optional[str]:
            missing = []
            for pod_name, pod_uid in state.pods:
                if pod_uid in adopted:
                    continue
                pod = self.w.get_pod(ns, pod_name)
                if pod is None or uid(pod) != pod_uid:
                    if pod_uid not in gone:   # not this migration's doing (its node was removed?)
                        gone.add(pod_uid)
                        self.say(f"warning: pod {pod_name} disappeared during the handover "
                                 "(this migration deletes no pod: was its node removed?)")
                    continue
                elif controller_uid(pod) == new:
                    adopted.add(pod_uid)
                else:
                    missing.append(pod_name)
            state.adopted, state.gone = sorted(adopted), sorted(gone)
            return f"not adopted yet: {', '.join(missing[:5])}" if missing else None
        self._wait(check, "the new DaemonSet to adopt every pod")
        if gone:
            self.say(f"{len(adopted)} pod(s) adopted by the new DaemonSet; {len(gone)} disappeared meanwhile")
        else:
            self.say(f"all {len(state.pods)} pod(s) adopted by the new DaemonSet; pod uids unchanged")

    def _step_release_rollout(self, state: Journal) -> None:
        """Give the new DaemonSet its real updateStrategy: the rolling replacement may start now."""
        ns, nm = state.namespace, state.name
        ds = self.w.get_daemonset(ns, nm)
        if ds is None or uid(ds) != state.new_uid:
            raise DsError(f"daemonset {nm} is not the one this migration created; stopping: this migration "
                          "deleted no pod; its journal keeps the original", advised=True)
        want = get_in(state.new_manifest, "spec", "updateStrategy", default={"type": "RollingUpdate"})
        if get_in(ds, "spec", "updateStrategy") == want:
            return
        self.w.patch_daemonset(ns, nm, {"metadata": {"uid": state.new_uid},
                                        "spec": {"updateStrategy": {"$retainKeys": ["type", "rollingUpdate"],
                                                                    **want}}})

    def _step_rollout(self, state: Journal) -> None:
        if self.follow and not self.follow(state.namespace, state.name):
            raise DsError("the rollout after adoption did not finish; the migration itself is complete "
                          f"(follow it with: kubectl ds rollout {state.name} -n {state.namespace})",
                          ExitCode.BAD_NEWS, advised=True)

    # what each step of core.migration.STEPS does, in that order (a test checks they agree)
    STEP_METHODS: Dict[str, Callable[[Runner, Journal], None]] = {
        "backup": _step_backup,
        "relabel-pods": _step_relabel_pods,
        "relabel-revisions": _step_relabel_revisions,
        "orphan-delete": _step_orphan_delete,
        "wait-orphaned": _step_wait_orphaned,
        "create": _step_create,
        "verify-adoption": _step_verify_adoption,
        "release-rollout": _step_release_rollout,
        "rollout": _step_rollout,
    }

    # --- rollback ------------------------------------------------------------------------

    def rollback(self, state: Journal) -> Journal:
        ns, nm, old = state.namespace, state.name, state.old_uid
        ds = self.w.get_daemonset(ns, nm)
        # an earlier --rollback that was interrupted may already have re-created the original (even if
        # it died before journaling its uid): keep it, never delete and re-create it again
        restored = ds is not None and uid(ds) != old and not deleting(ds) and (
            uid(ds) == state.restored_uid
            or (uid(ds) != state.new_uid and _same(get_in(ds, "spec", "selector"), state.old_selector)))
        if ds is not None and uid(ds) == old and not deleting(ds):
            self.say("the original DaemonSet was never deleted")
        elif restored:
            self.say(f"the original DaemonSet is already re-created (uid {uid(ds)})")
            state.restored_uid = uid(ds)
            state.save(self.path)
            self._wait(lambda: self._adopted_by(ns, state, uid(ds)), "the original DaemonSet to adopt its pods")
        else:
            if ds is not None and uid(ds) != old:
                self.say(f"deleting the new DaemonSet (uid {uid(ds)}) with propagationPolicy=Orphan")
                if not deleting(ds):
                    self.w.delete_daemonset_orphan(ns, nm, uid(ds), get_in(ds, "metadata", "resourceVersion"))
                gone = uid(ds)
                self._wait(lambda: self._orphaned(ns, nm, gone), "the new DaemonSet to be gone and its pods orphaned")
            elif ds is not None:
                self._wait(lambda: self._orphaned(ns, nm, old), "the old DaemonSet's deletion to finish")
            restored = self.w.create_daemonset(ns, state.backup)
            self.say(f"re-created the original DaemonSet (new uid {uid(restored)})")
            state.restored_uid = uid(restored)
            state.save(self.path)
            self._wait(lambda: self._adopted_by(ns, state, uid(restored)), "the original DaemonSet to adopt its pods")
        for pod_name, pod_uid in state.pods:
            pod = self.w.get_pod(ns, pod_name)
            if pod is None or uid(pod) != pod_uid:
                continue
            patch = removed_label_patch(state.add_labels, pod)
            if patch:
                self.w.patch_pod(ns, pod_name, patch)
        for rev_name, rev_uid in state.revisions or ():
            rev = self.w.get_revision(ns, rev_name)
            patch = removed_label_patch(state.add_labels, rev) if rev and uid(rev) == rev_uid else None
            if patch:
                patch["metadata"]["uid"] = rev_uid
                self.w.patch_revision(ns, rev_name, patch)
        state.rolled_back = True
        state.save(self.path)
        self.say("rolled back: the original DaemonSet owns its pods, added labels removed from pods and revisions")
        return state

    def _orphaned(self, ns: str, nm: str, gone_uid: str) -> Optional[str]:
        ds = self.w.get_daemonset(ns, nm)
        if ds is not None and uid(ds) == gone_uid:
            return "still being deleted"
        owned = [p for p in self.src.pods(ns) if controller_uid(p) == gone_uid]
        return f"{len(owned)} pod(s) still owned" if owned else None

    def _adopted_by(self, ns: str, state: Journal, new_uid: str) -> Optional[str]:
        waiting: List[str] = []
        for pod_name, pod_uid in state.pods:
            pod = self.w.get_pod(ns, pod_name)
            if pod is None or uid(pod) != pod_uid or deleting(pod):
                continue
            if not match_label_selector(state.old_selector, labels(pod)):
                continue
            if controller_uid(pod) != new_uid:
                waiting.append(pod_name)
        return f"not adopted yet: {', '.join(waiting[:5])}" if waiting else None

    # --- waiting -------------------------------------------------------------------------

    def _wait(self, check: Callable[[], Optional[str]], what: str, timeout: float = WAIT_SECONDS) -> None:
        deadline = self.clock() + timeout
        while True:
            why = check()
            if why is None:
                return
            if self.clock() > deadline:
                raise DsError(f"timed out waiting for {what}: {why}")
            self.sleep(0.25)


def _owned_by(pod: Optional[dict], pod_uid: str, owner_uid: str) -> bool:
    if pod is None or uid(pod) != pod_uid:
        return False
    return any(r.get("uid") == owner_uid for r in get_in(pod, "metadata", "ownerReferences", default=()))


def _same(a, b) -> bool:
    return json.dumps(a or {}, sort_keys=True) == json.dumps(b or {}, sort_keys=True)

