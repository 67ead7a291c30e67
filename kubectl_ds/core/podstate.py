"""Scheduler- and kubelet-level explanations: why a daemon pod that exists is not serving.

The DaemonSet controller only decides *where* a pod should be (eligibility.py); whether it then
runs is up to the default scheduler (resources, host ports: NodeResourcesFit, NodePorts) and the
kubelet (images, crashes, readiness). This module reads the pod, the node, the other pods on the
node and the pod's events (read through events.py), and says what a user would otherwise piece
together with `kubectl describe`. It also holds a pod's readiness and availability (is_ready,
is_available), which coverage.py and rollout.py count, and a node's own condition (node_state).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, List, Mapping, Optional, Sequence

from kubectl_ds.core import taints as tt
from kubectl_ds.core.events import failed_scheduling_messages
from kubectl_ds.core.fit import FitContext, fit_problems
from kubectl_ds.core.objects import condition, deleting, get_in, labels, name, namespace, parse_time
from kubectl_ds.core.results import PodState, Reason
from kubectl_ds.core.revisions import HASH_LABEL

_IMAGE_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")
_CONFIG_REASONS = ("CreateContainerConfigError", "CreateContainerError", "RunContainerError")


def is_ready(pod: Mapping) -> bool:
    cond = condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def is_available(pod: Mapping, min_ready_seconds: int, now: datetime) -> bool:
    """podutil.IsPodAvailable (v1.33: Ready, and Ready for more than minReadySeconds)."""
    if not is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = parse_time((condition(pod, "Ready") or {}).get("lastTransitionTime") or "")
    return since is not None and since + timedelta(seconds=min_ready_seconds) < now


def display_status(pod: Mapping) -> str:
    """What `kubectl get pod` prints in STATUS (kubectl's printPod, simplified)."""
    if deleting(pod):
        return "Terminating"
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    init_specs = {c.get("name"): c for c in get_in(pod, "spec", "initContainers", default=())}
    total = len(init_specs)
    for i, cs in enumerate(status.get("initContainerStatuses") or ()):
        state = cs.get("state") or {}
        term = state.get("terminated")
        if term and term.get("exitCode", 0) == 0:
            continue
        if init_specs.get(cs.get("name"), {}).get("restartPolicy") == "Always" and cs.get("started"):
            continue  # a started sidecar does not hold the pod in Init
        if term:
            why = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal")
                                         else f"ExitCode:{term.get('exitCode')}")
            return f"Init:{why}"
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting and waiting != "PodInitializing":
            return f"Init:{waiting}"
        return f"Init:{i}/{total}"
    for cs in status.get("containerStatuses") or ():
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    return reason


def pod_state(pod: Mapping, node: Optional[Mapping], others: Sequence[Mapping], events: Iterable[Mapping],
              current_hash: str, updated: Optional[bool], min_ready_seconds: int, now: datetime,
              ctx: FitContext) -> PodState:
    """Describe one daemon pod and list what keeps it from serving."""
    problems: List[Reason] = []
    phase = get_in(pod, "status", "phase", default="Unknown")
    if deleting(pod):
        problems.append(Reason("Terminating", f"pod is being deleted (since {pod['metadata']['deletionTimestamp']}); "
                               "the controller creates no replacement until it is gone"))
    if phase == "Pending" and not get_in(pod, "spec", "nodeName"):
        problems += scheduling_problems(pod, node, others, events, ctx)
    elif phase == "Failed":
        msg = get_in(pod, "status", "message", default="") or "pod failed"
        problems.append(Reason("PodFailed", f"{get_in(pod, 'status', 'reason', default='Failed')}: {msg} "
                               "(the controller deletes failed daemon pods and recreates them, with backoff)"))
    problems += container_problems(pod)
    if updated is False:
        problems.append(Reason("Outdated", f"pod is on revision {labels(pod).get(HASH_LABEL) or '<none>'}, "
                               f"the DaemonSet's current revision is {current_hash or '<unknown>'}",
                               {"podHash": labels(pod).get(HASH_LABEL), "currentHash": current_hash}))
    return PodState(name=name(pod), namespace=namespace(pod), phase=phase, status=display_status(pod),
                    ready=is_ready(pod), available=is_available(pod, min_ready_seconds, now),
                    updated=updated, revision_hash=labels(pod).get(HASH_LABEL, ""),
                    deleting=deleting(pod), scheduled=bool(get_in(pod, "spec", "nodeName")),
                    problems=tuple(problems))


def not_ready_summary(pod: Mapping) -> str:
    """One line on what a daemon pod that is not Ready is really doing, from the pod alone.

    For `diff`'s Unready rows: Pending and unscheduled (with the scheduler's PodScheduled=False
    message), Pending on its node (ContainerCreating, Init:0/1, ImagePullBackOff...), crash
    looping, Running but not Ready (the Ready condition's reason), Failed, Terminating.
    """
    pod_name = name(pod)
    phase = get_in(pod, "status", "phase", default="") or "Unknown"
    shown = display_status(pod)
    if deleting(pod):
        return f"pod {pod_name} is Terminating"
    if phase == "Failed":
        why = ": ".join(x for x in (get_in(pod, "status", "reason", default=""),
                                    get_in(pod, "status", "message", default="")) if x)
        return f"pod {pod_name} is Failed" + (f": {why}" if why else "")
    if not get_in(pod, "spec", "nodeName"):
        cond = condition(pod, "PodScheduled") or {}
        why = str((cond.get("message") or cond.get("reason") or "") if cond.get("status") == "False" else "")
        return f"pod {pod_name} is Pending, not scheduled" + (f": {why}" if why else " yet")
    problems = [p for p in container_problems(pod) if p.type != "NotReady"]
    if problems:
        return f"pod {pod_name} is {shown}: {problems[0].message}"
    if phase == "Running":
        ready = condition(pod, "Ready") or {}
        detail = ready.get("reason") or ""
        waiting = [cs.get("name", "") for cs in get_in(pod, "status", "containerStatuses", default=())
                   if not cs.get("ready")]
        if waiting:
            detail += (": " if detail else "") + f"containers not ready: {', '.join(waiting)}"
        return f"pod {pod_name} is Running but not Ready" + (f" ({detail})" if detail else "")
    if phase == "Pending":
        state = f" ({shown})" if shown != phase else ""
        return f"pod {pod_name} is Pending on the node{state}: its containers have not started"
    return f"pod {pod_name} is {shown}, not Ready"


def container_problems(pod: Mapping) -> List[Reason]:
    out = []
    statuses = list(get_in(pod, "status", "initContainerStatuses", default=())) + \
        list(get_in(pod, "status", "containerStatuses", default=()))
    for cs in statuses:
        waiting = get_in(cs, "state", "waiting", default={})
        reason, cname = waiting.get("reason", ""), cs.get("name", "")
        if reason == "CrashLoopBackOff":
            last = get_in(cs, "lastState", "terminated", default={})
            detail = f"exit code {last.get('exitCode')}" if last else "no exit recorded"
            if last.get("reason"):
                detail += f", {last['reason']}"
            out.append(Reason("CrashLoopBackOff", f"container {cname} keeps crashing "
                              f"({cs.get('restartCount', 0)} restarts, last {detail})",
                              {"container": cname, "restarts": cs.get("restartCount", 0)}))
        elif reason in _IMAGE_REASONS:
            out.append(Reason("ImagePull", f"container {cname} cannot pull image {cs.get('image', '')}: "
                              f"{reason}" + (f" ({waiting['message']})" if waiting.get("message") else ""),
                              {"container": cname, "image": cs.get("image", ""), "reason": reason}))
        elif reason in _CONFIG_REASONS:
            out.append(Reason("ContainerConfig", f"container {cname}: {reason}: {waiting.get('message', '')}",
                              {"container": cname, "reason": reason}))
    phase = get_in(pod, "status", "phase")
    if phase == "Running" and not is_ready(pod) and not out:
        not_ready = [cs.get("name") for cs in get_in(pod, "status", "containerStatuses", default=())
                     if not cs.get("ready")]
        what = f"containers not ready: {', '.join(not_ready)}" if not_ready else "pod not ready"
        out.append(Reason("NotReady", f"{what} (readiness probe failing or still starting)",
                          {"containers": not_ready}))
    return out


def node_state(node: Mapping) -> List[Reason]:
    """What is notable about the node itself: readiness, cordon, deletion, pressure."""
    out = []
    ready = condition(node, "Ready")
    node_taints = get_in(node, "spec", "taints", default=())
    keys = {(t.get("key"), t.get("effect")) for t in node_taints}
    if ready is None or ready.get("status") != "True":
        status = "Unknown" if ready is None else ready.get("status")
        since = f" since {ready.get('lastTransitionTime')}" if ready and ready.get("lastTransitionTime") else ""
        kind = "unreachable" if status == "Unknown" else "not-ready"
        key = f"node.kubernetes.io/{kind}"
        msg = f"node is NotReady (Ready={status}{since})"
        if (key, tt.NO_SCHEDULE) in keys:
            msg += (f": its taint {key}:NoSchedule keeps new daemon pods off; daemon pods tolerate "
                    f"{key}:NoExecute, so an existing one is kept (counted as misscheduled)")
        else:
            msg += f"; the node lifecycle controller has not tainted it {key} yet"
        out.append(Reason("NodeNotReady", msg, {"readyStatus": status}))
    if get_in(node, "spec", "unschedulable"):
        out.append(Reason("NodeCordoned", "node is cordoned (spec.unschedulable); daemon pods tolerate "
                          "node.kubernetes.io/unschedulable, so DaemonSets still run here"))
    if deleting(node):
        out.append(Reason("NodeDeleting", f"node is being deleted (since {node['metadata']['deletionTimestamp']})"))
    for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"):
        cond = condition(node, ctype)
        if cond and cond.get("status") == "True":
            out.append(Reason(f"Node{ctype}", f"node condition {ctype}=True"))
    return out


# --- the scheduler's view (the fit itself is core/fit.py) -----------------------------------

def scheduling_problems(pod: Mapping, node: Optional[Mapping], others: Sequence[Mapping],
                        events: Iterable[Mapping], ctx: FitContext) -> List[Reason]:
    """Why an unbound daemon pod is Pending: the scheduler's own words, then our checks (the
    filters of the minor in `ctx.rules`).
    """
    out = []
    msgs = failed_scheduling_messages(pod, events)
    if msgs:
        out.append(Reason("FailedScheduling", msgs[-1], {"count": len(msgs)}))
    cond = condition(pod, "PodScheduled")
    if not msgs and cond and cond.get("status") == "False" and cond.get("message"):
        out.append(Reason("FailedScheduling", cond["message"], {"source": "PodScheduled condition"}))
    if node is None:
        out.append(Reason("NodeGone", "the pod's target node does not exist (the controller deletes such pods)"))
        return out
    out += fit_problems(pod, node, others, ctx)
    return out
