"""Which Kubernetes minor's rules apply, and what changed between the supported minors.

The DaemonSet controller's placement (NodeShouldRunDaemonPod) is the same from 1.33 to 1.37; what
the default scheduler counts is not. Every rule that differs by minor is one row of `CHANGES`, and
`Rules` is what a core function asks (`rules.pod_level_resources`, ...). A command resolves the
version once (the apiserver's /version, a dump's stamp, the kubelets, --kube-version) and passes
it down: nothing here reads a global.

See docs/semantics.md "Kubernetes versions" for the same table in prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

OLDEST, NEWEST = 33, 37
SUPPORTED = tuple(range(OLDEST, NEWEST + 1))

# where the version came from (JSON `kubernetesVersionSource`)
SERVER, DUMP, KUBELETS, FLAG, DEFAULT = "server", "dump", "kubelets", "flag", "default"
_SAID = {SERVER: "from the apiserver", DUMP: "from the dump", FLAG: "from --kube-version",
         KUBELETS: "inferred from the newest kubelet", DEFAULT: "no version known: the newest supported"}

_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?")
_FLAG = re.compile(r"^v?1\.\d+(\.\d+)?$")


def valid_flag(text: str) -> bool:
    """Whether --kube-version's value reads as a Kubernetes version (1.36, v1.36, 1.36.3)."""
    return bool(_FLAG.match(text.strip()))


@dataclass(frozen=True)
class Change:
    """One rule of the scheduler (or the API) that differs between supported minors."""

    key: str            # the `Rules` field it sets
    since: int          # the first minor where it applies (on by default)
    gate: str           # the feature gate upstream guards it with ("" when none)
    upstream: str       # the upstream code that implements it
    summary: str        # what changes for a daemon pod, in our words


CHANGES: Tuple[Change, ...] = (
    Change("container_status_resources", 33, "InPlacePodVerticalScaling",
           "component-helpers resource.PodRequests (UseStatusResources); scheduler NodeInfo.AddPod",
           "a pod already on the node counts each app container and sidecar at the larger of its spec, "
           "status resources.requests and allocatedResources (an Infeasible resize: its status only); "
           "beta and on in 1.33, GA from 1.35"),
    Change("sidecar_host_ports", 33, "",
           "scheduler plugin NodePorts (util.GetHostPorts), from 1.33.6 and 1.34.0",
           "host ports of sidecars (restartable init containers) are claimed on the node; before "
           "1.33.6 only app containers' were; regular init containers' never are"),
    Change("pod_level_resources", 34, "PodLevelResources",
           "component-helpers resource.PodRequests; scheduler noderesources computePodResourceRequest",
           "a pod's spec.resources requests (cpu, memory, hugepages-*) replace the sum of its containers' "
           "for the resources they name, for the pod being placed and for the pods already on the node "
           "(beta and on by default from 1.34; alpha and off in 1.33)"),
    Change("toleration_comparison", 35, "TaintTolerationComparisonOperators",
           "k8s.io/api core/v1 Toleration.ToleratesTaint (Gt and Lt operators)",
           "tolerations may compare a numeric taint value with Gt and Lt; the gate is alpha and off by "
           "default in 1.35-1.37, and with it off such a toleration tolerates nothing"),
    Change("pod_level_status_resources", 36, "InPlacePodLevelResourcesVerticalScaling",
           "component-helpers resource.PodRequests (pod-level status)",
           "a pod already on the node with pod-level resources counts them at the larger of spec, "
           "status.resources.requests and status.allocatedResources (beta and on from 1.36)"),
    Change("declared_features", 36, "NodeDeclaredFeatures",
           "scheduler plugin NodeDeclaredFeatures; component-helpers nodedeclaredfeatures",
           "a pod that needs a node feature (a RestartAllContainers restart rule; hostNetwork with "
           "hostUsers: false) is placed only on nodes whose status.declaredFeatures lists it (beta and "
           "on from 1.36)"),
    Change("dra_extended_resources", 36, "DRAExtendedResource",
           "scheduler noderesources fitsRequest, with DeviceClass spec.extendedResourceName",
           "an extended resource that the node does not advertise but a DeviceClass maps is allocated "
           "by dynamic resource allocation, not checked against allocatable (beta and on from 1.36)"),
    Change("max_of_sums", 37, "InPlacePodVerticalScaling",
           "component-helpers resource.PodRequests (kubernetes/kubernetes#140046)",
           "a resized pod on the node counts at the larger of three whole-pod sums (spec, allocated, "
           "actuated) instead of summing per-container maxima, reading every init container's status"),
)


@dataclass(frozen=True)
class Rules:
    """The version-dependent rules in force for one minor (see CHANGES)."""

    minor: int
    container_status_resources: bool
    sidecar_host_ports: bool
    pod_level_resources: bool
    toleration_comparison: bool    # the Gt/Lt operators exist (behind an alpha gate, off by default)
    pod_level_status_resources: bool
    declared_features: bool
    dra_extended_resources: bool
    max_of_sums: bool

    @property
    def label(self) -> str:
        return f"1.{self.minor}"


def rules_for(minor: int, patch: Optional[int] = None) -> Rules:
    """The rules of a supported minor (outside the range: the nearest supported one's). `patch`
    matters for 1.33 only (sidecar host ports from 1.33.6); unknown: the newest patch.
    """
    m = min(max(minor, OLDEST), NEWEST)
    on = {c.key: m >= c.since for c in CHANGES}
    if m == 33 and patch is not None and patch < 6:
        on["sidecar_host_ports"] = False
    return Rules(minor=m, **on)


@dataclass(frozen=True)
class KubeVersion:
    """The minor whose rules a command applied, where it came from, and what that source said."""

    minor: int               # always a supported minor
    source: str              # SERVER, DUMP, KUBELETS, FLAG or DEFAULT
    reported: str = ""       # the version text as the source gave it (e.g. "v1.36.3-eks-1")
    patch: Optional[int] = None

    @property
    def label(self) -> str:
        return f"1.{self.minor}"

    @property
    def rules(self) -> Rules:
        return rules_for(self.minor, self.patch)

    def describe(self) -> str:
        """'rules of Kubernetes v1.36, from the apiserver' (the table outputs' header note)."""
        return f"rules of Kubernetes v{self.label}, {_SAID.get(self.source, self.source)}"

    def to_dict(self) -> dict:
        return {"kubernetesVersion": self.label, "kubernetesVersionSource": self.source}


def parse_minor(text: object) -> Optional[Tuple[int, int]]:
    """(major, minor) of a version string such as 'v1.36.3', '1.35', 'v1.34.2-eks-1a2b'; None if
    it is not one.
    """
    if not isinstance(text, str):
        return None
    m = _VERSION.match(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2))


def resolve(reported: Optional[str], source: str) -> Tuple[KubeVersion, Optional[str]]:
    """The version to apply for what a source reported, and a warning when it is outside the
    supported range (the nearest supported minor is used) or could not be read (the newest).
    """
    if not reported:
        return KubeVersion(NEWEST, DEFAULT), None
    parsed = parse_minor(reported)
    if parsed is None or parsed[0] != 1:
        return (KubeVersion(NEWEST, DEFAULT, reported),
                f"cannot read the Kubernetes version {reported!r} ({_SAID.get(source, source)}): "
                f"applying the rules of v1.{NEWEST}")
    minor = parsed[1]
    if minor < OLDEST or minor > NEWEST:
        near = OLDEST if minor < OLDEST else NEWEST
        return (KubeVersion(near, source, reported),
                f"Kubernetes {reported} ({_SAID.get(source, source)}) is outside the supported "
                f"v1.{OLDEST}-v1.{NEWEST}: applying the rules of v1.{near}")
    m = _VERSION.match(reported)
    # a kubelet's patch says nothing of the control plane's (kubelets lag it): newest patch then
    patch = int(m.group(3)) if m and m.group(3) is not None and source != KUBELETS else None
    return KubeVersion(minor, source, reported, patch), None


def newest_kubelet(nodes) -> Optional[str]:
    """The newest status.nodeInfo.kubeletVersion among the nodes (a dump's fallback: kubelets may
    lag the control plane by up to three minors, never lead it).
    """
    best: Optional[Tuple[Tuple[int, int, int], str]] = None
    for node in nodes:
        status = node.get("status") if isinstance(node, dict) else None
        info = status.get("nodeInfo") if isinstance(status, dict) else None
        text = info.get("kubeletVersion") if isinstance(info, dict) else None
        if not isinstance(text, str):
            continue
        m = _VERSION.match(text)
        if m is None:
            continue
        key = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        if best is None or key > best[0]:
            best = (key, text)
    return best[1] if best else None
