"""Revisions and "updated", as the DaemonSet controller reckons them.

Mirrors kubernetes v1.33 pkg/controller/daemon: util.IsPodUpdated and
util.GetTemplateGeneration; the current revision is the owned ControllerRevision with the
highest .revision (constructHistory keeps it strictly highest). Which pods are the DaemonSet's
is ownership.py; what changed between revisions is history.py.
"""

from __future__ import annotations

from typing import Iterable, List, Mapping, Optional

from kubectl_ds.core.objects import annotations as annotations_of  # `annotations` is the __future__ name
from kubectl_ds.core.objects import controller_uid, labels, name, namespace, uid

HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"


def template_generation(ds: Mapping) -> Optional[int]:
    """util.GetTemplateGeneration: the annotation as an int, None when absent or unparsable."""
    raw = annotations_of(ds).get(TEMPLATE_GENERATION_ANNOTATION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def is_pod_updated(pod: Mapping, hash: str, template_generation: Optional[int]) -> bool:
    """util.IsPodUpdated: the revision hash label matches, or the template-generation label does."""
    pod_labels = labels(pod)
    if hash and pod_labels.get(HASH_LABEL) == hash:
        return True
    return template_generation is not None and pod_labels.get(GENERATION_LABEL) == str(template_generation)


def owned_revisions(ds: Mapping, revisions: Iterable[Mapping]) -> List[Mapping]:
    """ControllerRevisions controlled by the DaemonSet, lowest revision first."""
    mine = [r for r in revisions if namespace(r) == namespace(ds) and controller_uid(r) == uid(ds)]
    return sorted(mine, key=lambda r: int(r.get("revision") or 0))


def current_hash(ds: Mapping, revisions: Iterable[Mapping]) -> str:
    """The current revision's hash ('' when the DaemonSet has no revision yet)."""
    owned = owned_revisions(ds, revisions)
    if not owned:
        return ""
    top = owned[-1]
    return labels(top).get(HASH_LABEL) or name(top)
