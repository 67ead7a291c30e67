"""Executes a migration plan as journaled steps, resumable and reversible.

The state file is rewritten atomically (temp file, fsync, rename) before and after every step,
so a kill at any point leaves a file from which `--resume` finishes and `--rollback` restores
the original DaemonSet. Every step is idempotent: it looks at the cluster before acting. No
step deletes a pod: the DaemonSet is deleted with propagationPolicy=Orphan, and pods only ever
gain labels (or, on rollback, lose the ones this migration added).

Fault injection for tests: KUBECTL_DS_MIGRATE_EXIT_AFTER=<step> makes the process exit (as if
killed) right after that step is journaled as done.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Callable, Dict, List, Optional

from kubectl_ds.core.migration import STEPS, Plan, added_label_patch, held_manifest, removed_label_patch
from kubectl_ds.core.objects import controller_uid, deleting, get_in, labels, name, uid
from kubectl_ds.core.selectors import label_selector_string, match_label_selector
from kubectl_ds.errors import DsError, ExitCode

STATE_VERSION = 1
WAIT_SECONDS = 180


def save_state(path: str, state: dict) -> None:
    """Write atomically: a reader (or a resume after a kill) sees the old file or the new one."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".migration-", dir=folder)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_state(path: str) -> dict:
    try:
        with open(path) as fh:
            state = json.load(fh)
    except OSError as err:
        raise DsError(f"cannot read migration state {path}: {err.strerror}") from None
    except ValueError as err:
        raise DsError(f"malformed migration state {path}: {err}") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION or "backup" not in state:
        raise DsError(f"malformed migration state {path}: not a kubectl-ds migration file")
    return state


def new_state(plan: Plan, no_rollout: bool) -> dict:
    return {"version": STATE_VERSION, "namespace": plan.namespace, "name": plan.name,
            "oldUid": plan.old_uid, "oldGeneration": plan.old_generation,
            "oldSelector": plan.old_selector, "newSelector": plan.new_selector,
            "backup": plan.backup, "newManifest": plan.new_manifest, "addLabels": dict(plan.add_labels),
            "pods": [[n, u] for n, u in plan.pods], "newUid": None, "done": [], "current": None,
            "noRollout": no_rollout, "rolledBack": False, "adopted": [], "revisions": None, "log": []}


class Runner:
    def __init__(self, writer, source, state_path: str, say: Callable[[str], None],
                 follow: Optional[Callable[[str, str], bool]] = None, clock=time.monotonic, sleep=time.sleep):
        self.w, self.src, self.path, self.say = writer, source, state_path, say
        self.follow = follow
        self.clock, self.sleep = clock, sleep
        self.exit_after = os.environ.get("KUBECTL_DS_MIGRATE_EXIT_AFTER", "")

    # --- journal -----------------------------------------------------------------------

    def _begin(self, state: dict, step: str) -> None:
        state["current"] = step
        state["log"].append([step, "started", time.time()])
        save_state(self.path, state)

    def _end(self, state: dict, step: str) -> None:
        state["done"].append(step)
        state["current"] = None
        state["log"].append([step, "done", time.time()])
        save_state(self.path, state)
        self.say(f"step {len(state['done'])}/{len(STEPS)} {step}: done")
        if self.exit_after == step:
            os._exit(int(ExitCode.BAD_NEWS) + 2)  # simulated kill, for the interruption tests

    def run(self, state: dict) -> dict:
        """Run (or resume) every step not yet done."""
        if state.get("rolledBack"):
            raise DsError("this migration was rolled back; plan a new one")
        for step in STEPS:
            if step in state["done"]:
                continue
            if step == "rollout" and state.get("noRollout"):
                continue
            self._begin(state, step)
            getattr(self, "_step_" + step.replace("-", "_"))(state)
            self._end(state, step)
        return state

    # --- steps -------------------------------------------------------------------------

    def _step_backup(self, state: dict) -> None:
        pass  # the backup is in the state file, which _begin just wrote

    def _step_relabel_pods(self, state: dict) -> None:
        ns, add = state["namespace"], state["addLabels"]
        old = self.w.get_daemonset(ns, state["name"])
        known = {u for _, u in state["pods"]}
        if old is not None and uid(old) == state["oldUid"]:
            # pods the old DaemonSet created since the plan are handed over too
            sel = label_selector_string(state["oldSelector"])
            for p in self.src.pods(ns, label_selector=sel):
                if controller_uid(p) == state["oldUid"] and uid(p) not in known and not deleting(p):
                    state["pods"].append([name(p), uid(p)])
                    known.add(uid(p))
        for pod_name, pod_uid in state["pods"]:
            pod = self.w.get_pod(ns, pod_name)
            if pod is None or uid(pod) != pod_uid:
                self.say(f"warning: pod {pod_name} is gone (not deleted by this migration)")
                continue
            if all(labels(pod).get(k) == v for k, v in add.items()):
                continue
            patch = added_label_patch(add)
            patch["metadata"]["uid"] = pod_uid   # precondition: the same pod, not a namesake
            self.w.patch_pod(ns, pod_name, patch)

    def _step_relabel_revisions(self, state: dict) -> None:
        """The old DaemonSet's ControllerRevisions get the added labels too.

        The new DaemonSet then adopts them (the controller claims every orphan revision its selector
        matches) and numbers its own revision after them, so `rollout history` goes on across the
        migration; without the labels they would stay behind as orphans no selector matches.
        """
        ns, add = state["namespace"], state["addLabels"]
        if state.get("revisions") is None:
            # the old DaemonSet's, or orphans of its selector if it is gone already (a journal
            # written before this step existed): what the controller would adopt anyway
            found = []
            for rev in self.src.revisions(ns, label_selector=label_selector_string(state["oldSelector"])):
                mine = controller_uid(rev) in (state["oldUid"], "") and not deleting(rev)
                # never overwrite a value a revision already has (history is the user's data)
                fits = all(labels(rev).get(k) in (None, v) for k, v in add.items())
                if mine and fits and match_label_selector(state["newSelector"], {**labels(rev), **add}):
                    found.append([name(rev), uid(rev)])
            state["revisions"] = sorted(found)
            save_state(self.path, state)
        for rev_name, rev_uid in state["revisions"]:
            rev = self.w.get_revision(ns, rev_name)
            if rev is None or uid(rev) != rev_uid:
                continue   # pruned by the controller's history limit meanwhile: nothing to keep
            if all(labels(rev).get(k) == v for k, v in add.items()):
                continue
            patch = added_label_patch(add)
            patch["metadata"]["uid"] = rev_uid
            self.w.patch_revision(ns, rev_name, patch)

    def _step_orphan_delete(self, state: dict) -> None:
        ns, nm = state["namespace"], state["name"]
        ds = self.w.get_daemonset(ns, nm)
        if ds is None:
            return
        if uid(ds) != state["oldUid"]:
            if state.get("newUid") == uid(ds) or _same(get_in(ds, "spec", "selector"), state["newSelector"]):
                return  # already re-created (an earlier run got further than its journal)
            raise DsError(f"daemonset {nm} was replaced by someone else (uid {uid(ds)}); stopping: this migration "
                          "deleted nothing; its journal keeps the original", advised=True)
        if deleting(ds):
            return
        gen = get_in(ds, "metadata", "generation")
        planned = state.get("oldGeneration")
        if planned and gen != planned:
            raise DsError(f"daemonset {nm} changed since the plan (generation {planned} -> {gen}); "
                          "nothing was deleted: run --rollback, then plan again", advised=True)
        self.w.delete_daemonset_orphan(ns, nm, state["oldUid"], get_in(ds, "metadata", "resourceVersion"))

    def _step_wait_orphaned(self, state: dict) -> None:
        ns, nm, old = state["namespace"], state["name"], state["oldUid"]

        def orphaned() -> Optional[str]:
            ds = self.w.get_daemonset(ns, nm)
            if ds is not None and uid(ds) == old:
                return "the old DaemonSet still exists (the garbage collector is orphaning its pods)"
            still = [n for n, u in state["pods"] if _owned_by(self.w.get_pod(ns, n), u, old)]
            if still:
                return f"{len(still)} pod(s) still reference the old DaemonSet"
            return None
        self._wait(orphaned, "the old DaemonSet to be gone and its pods orphaned")

    def _step_create(self, state: dict) -> None:
        ns, nm = state["namespace"], state["name"]
        ds = self.w.get_daemonset(ns, nm)
        if ds is not None:
            if uid(ds) == state["oldUid"]:
                raise DsError("the old DaemonSet still exists; cannot create the new one")
            if not _same(get_in(ds, "spec", "selector"), state["newSelector"]):
                raise DsError(f"a different daemonset {nm} appeared meanwhile (uid {uid(ds)}); stopping: this "
                              "migration deleted no pod; its journal keeps the original", advised=True)
            state["newUid"] = uid(ds)
            return
        created = self.w.create_daemonset(ns, held_manifest(state["newManifest"]))
        state["newUid"] = uid(created)
        save_state(self.path, state)

    def _step_verify_adoption(self, state: dict) -> None:
        ns, new = state["namespace"], state["newUid"]
        adopted = set(state.get("adopted") or [])
        gone = set(state.get("gone") or [])

        def check() -> Optional[str]:
            missing = []
            for pod_name, pod_uid in state["pods"]:
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
            state["adopted"], state["gone"] = sorted(adopted), sorted(gone)
            return f"not adopted yet: {', '.join(missing[:5])}" if missing else None
        self._wait(check, "the new DaemonSet to adopt every pod")
        if gone:
            self.say(f"{len(adopted)} pod(s) adopted by the new DaemonSet; {len(gone)} disappeared meanwhile")
        else:
            self.say(f"all {len(state['pods'])} pod(s) adopted by the new DaemonSet; pod uids unchanged")

    def _step_release_rollout(self, state: dict) -> None:
        """Give the new DaemonSet its real updateStrategy: the rolling replacement may start now."""
        ns, nm = state["namespace"], state["name"]
        ds = self.w.get_daemonset(ns, nm)
        if ds is None or uid(ds) != state["newUid"]:
            raise DsError(f"daemonset {nm} is not the one this migration created; stopping: this migration "
                          "deleted no pod; its journal keeps the original", advised=True)
        want = get_in(state["newManifest"], "spec", "updateStrategy", default={"type": "RollingUpdate"})
        if get_in(ds, "spec", "updateStrategy") == want:
            return
        self.w.patch_daemonset(ns, nm, {"metadata": {"uid": state["newUid"]},
                                        "spec": {"updateStrategy": {"$retainKeys": ["type", "rollingUpdate"],
                                                                    **want}}})

    def _step_rollout(self, state: dict) -> None:
        if self.follow and not self.follow(state["namespace"], state["name"]):
            raise DsError("the rollout after adoption did not finish; the migration itself is complete "
                          f"(follow it with: kubectl ds rollout {state['name']} -n {state['namespace']})",
                          ExitCode.BAD_NEWS, advised=True)

    # --- rollback ------------------------------------------------------------------------

    def rollback(self, state: dict) -> dict:
        ns, nm, old = state["namespace"], state["name"], state["oldUid"]
        ds = self.w.get_daemonset(ns, nm)
        # an earlier --rollback that was interrupted may already have re-created the original (even if
        # it died before journaling its uid): keep it, never delete and re-create it again
        restored = ds is not None and uid(ds) != old and not deleting(ds) and (
            uid(ds) == state.get("restoredUid")
            or (uid(ds) != state.get("newUid") and _same(get_in(ds, "spec", "selector"), state["oldSelector"])))
        if ds is not None and uid(ds) == old and not deleting(ds):
            self.say("the original DaemonSet was never deleted")
        elif restored:
            self.say(f"the original DaemonSet is already re-created (uid {uid(ds)})")
            state["restoredUid"] = uid(ds)
            save_state(self.path, state)
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
            restored = self.w.create_daemonset(ns, state["backup"])
            self.say(f"re-created the original DaemonSet (new uid {uid(restored)})")
            state["restoredUid"] = uid(restored)
            save_state(self.path, state)
            self._wait(lambda: self._adopted_by(ns, state, uid(restored)), "the original DaemonSet to adopt its pods")
        for pod_name, pod_uid in state["pods"]:
            pod = self.w.get_pod(ns, pod_name)
            if pod is None or uid(pod) != pod_uid:
                continue
            patch = removed_label_patch(state["addLabels"], pod)
            if patch:
                self.w.patch_pod(ns, pod_name, patch)
        for rev_name, rev_uid in state.get("revisions") or ():
            rev = self.w.get_revision(ns, rev_name)
            patch = removed_label_patch(state["addLabels"], rev) if rev and uid(rev) == rev_uid else None
            if patch:
                patch["metadata"]["uid"] = rev_uid
                self.w.patch_revision(ns, rev_name, patch)
        state["rolledBack"] = True
        save_state(self.path, state)
        self.say("rolled back: the original DaemonSet owns its pods, added labels removed from pods and revisions")
        return state

    def _orphaned(self, ns: str, nm: str, gone_uid: str) -> Optional[str]:
        ds = self.w.get_daemonset(ns, nm)
        if ds is not None and uid(ds) == gone_uid:
            return "still being deleted"
        owned = [p for p in self.src.pods(ns) if controller_uid(p) == gone_uid]
        return f"{len(owned)} pod(s) still owned" if owned else None

    def _adopted_by(self, ns: str, state: dict, new_uid: str) -> Optional[str]:
        waiting: List[str] = []
        for pod_name, pod_uid in state["pods"]:
            pod = self.w.get_pod(ns, pod_name)
            if pod is None or uid(pod) != pod_uid or deleting(pod):
                continue
            if not match_label_selector(state["oldSelector"], labels(pod)):
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


def summary(state: dict) -> Dict[str, object]:
    return {"namespace": state["namespace"], "name": state["name"], "done": state["done"],
            "current": state["current"], "newUid": state.get("newUid"), "rolledBack": state.get("rolledBack")}
