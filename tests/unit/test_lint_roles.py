"""lint on the project's role fixtures (tests/fixtures/roles/): what each agent is, which findings must
appear and which must not, each finding judged by hand, and no fix that the apiserver refuses or that
breaks the role. The precision figure in docs/lint.md is computed from JUDGED below.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from kubectl_ds.core import lint as L
from kubectl_ds.core import roles as R
from kubectl_ds.render.lint import lint_document, lint_text
from tests.builders import V133, container, daemonset

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "roles"
DOCS = ROOT / "docs" / "lint.md"
RIGHT, WRONG = "right", "wrong"


def load(fixture: str) -> dict:
    return next(d for d in yaml.safe_load_all((FIXTURES / fixture).read_text()) if d and d.get("kind") == "DaemonSet")


def subject(f: L.Finding) -> str:
    d = f.detail
    return d.get("hostPath") or d.get("container") or ",".join(d.get("fields", ())) or ""


def findings(ds: dict):
    return [f for f in L.lint([ds], [], None, rules=V133.rules).findings if f.code != L.NOT_CHECKED]


ROLES = [
    ("cni.yaml", R.CNI), ("csi-node.yaml", R.CSI_NODE), ("device-plugin.yaml", R.DEVICE_PLUGIN),
    ("node-metrics.yaml", R.NODE_METRICS), ("node-problem-detector.yaml", R.NODE_MAINTENANCE),
    ("reboot-daemon.yaml", R.NODE_MAINTENANCE), ("log-shipper.yaml", R.LOG_SHIPPER), ("storage.yaml", R.STORAGE),
]

# every finding lint gives on the fixtures (DS000 aside: a note about the run), judged by hand:
# (fixture, code, subject, severity, verdict, why)
JUDGED = [
    ("cni.yaml", "DS003", "", "info", RIGHT, "a CNI plugin must run on every node; a note, no advice to undo it"),
    ("cni.yaml", "DS005", "podnet-node", "info", RIGHT, "no limit at the request: an OOM kill cuts the node's network"),
    ("cni.yaml", "DS011", "hostNetwork", "info", RIGHT, "a CNI plugin needs the host network"),
    ("cni.yaml", "DS012", "install-cni", "warning", RIGHT, "an init container that copies files needs no privileges"),
    ("cni.yaml", "DS012", "podnet-node", "info", RIGHT, "Bidirectional /sys/fs/bpf: the apiserver requires privileged"),
    ("cni.yaml", "DS019", "/opt/cni/bin", "info", RIGHT,
     "the init container installs the CNI binaries: its job, a note with the reason, no read-only fix"),
    ("csi-node.yaml", "DS003", "", "info", RIGHT, "pods on any node need their volumes mounted"),
    ("csi-node.yaml", "DS005", "node-driver-registrar", "warning", RIGHT, "a small sidecar: a limit is cheap"),
    ("csi-node.yaml", "DS009", "driver", "warning", RIGHT, "the same httpGet /healthz on healthz as its livenessProbe"),
    ("csi-node.yaml", "DS010", "node-driver-registrar", "info", RIGHT,
     "a hung registrar is worth restarting; no made-up probe: the /healthz it documents behind --http-endpoint"),
    ("csi-node.yaml", "DS012", "driver", "info", RIGHT, "Bidirectional /var/lib/kubelet: privileged is required"),
    ("device-plugin.yaml", "DS005", "plugin", "warning", RIGHT, "a device plugin's memory is small and steady"),
    ("device-plugin.yaml", "DS009", "plugin", "warning", RIGHT, "no evidence: an exec placeholder to replace"),
    ("device-plugin.yaml", "DS010", "plugin", "info", RIGHT, "no evidence: an exec placeholder to replace"),
    ("device-plugin.yaml", "DS013", "/var/lib/kubelet/pod-resources", "info", RIGHT,
     "explicit readOnly: false: a note only, naming the exact directory"),
    ("log-shipper.yaml", "DS003", "", "warning", RIGHT, "a log shipper need not outlive every NoExecute taint"),
    ("log-shipper.yaml", "DS008", "", "warning", RIGHT, "with the ResourceQuota caveat outside kube-system"),
    ("log-shipper.yaml", "DS013", "/etc/machine-id", "warning", RIGHT, "it only reads the file; named as the file"),
    ("log-shipper.yaml", "DS013", "/var/lib/docker/containers", "warning", RIGHT, "it only reads the containers' logs"),
    ("node-metrics.yaml", "DS003", "", "warning", RIGHT, "monitoring every node is a choice; NoExecute stands"),
    ("node-metrics.yaml", "DS008", "", "warning", RIGHT, "with the ResourceQuota caveat outside kube-system"),
    ("node-metrics.yaml", "DS010", "exporter", "info", RIGHT,
     "the same httpGet / on port metrics as its readinessProbe (before: a made-up /healthz it does not serve)"),
    ("node-metrics.yaml", "DS011", "hostNetwork,hostPID", "info", RIGHT, "the node's own statistics need both"),
    ("node-problem-detector.yaml", "DS009", "detector", "warning", RIGHT, "/healthz on http, as its livenessProbe"),
    ("node-problem-detector.yaml", "DS012", "detector", "info", RIGHT, "/dev/kmsg needs device access"),
    ("reboot-daemon.yaml", "DS008", "", "warning", RIGHT, "with the ResourceQuota caveat outside kube-system"),
    ("reboot-daemon.yaml", "DS009", "rebooter", "warning", RIGHT, "no evidence: an exec placeholder to replace"),
    ("reboot-daemon.yaml", "DS010", "rebooter", "info", RIGHT, "no evidence: an exec placeholder to replace"),
    ("reboot-daemon.yaml", "DS011", "hostPID", "info", RIGHT, "it reboots through the host's PID 1"),
    ("reboot-daemon.yaml", "DS012", "rebooter", "info", RIGHT, "nsenter into PID 1 needs privileged"),
    ("storage.yaml", "DS003", "", "info", RIGHT, "volumes on any node need their storage agent"),
    ("storage.yaml", "DS005", "agent", "info", RIGHT, "no limit at the request: an OOM kill cuts the node's volumes"),
    ("storage.yaml", "DS012", "agent", "info", RIGHT, "Bidirectional /var/lib/blockpool: privileged is required"),
]

# the harmful advice lint gave before roles (issue 16): none of it may come back as a warning or a fix
MUST_NOT = [
    ("cni.yaml", "DS003", "", "drop the blanket toleration of a CNI plugin"),
    ("cni.yaml", "DS005", "podnet-node", "a memory limit at the request on a CNI plugin"),
    ("cni.yaml", "DS011", "hostNetwork", "remove hostNetwork from a CNI plugin"),
    ("cni.yaml", "DS012", "podnet-node", "drop privileged with a Bidirectional mount"),
    ("cni.yaml", "DS013", "/etc/cni/net.d", "read-only CNI config directory"),
    ("cni.yaml", "DS013", "/run/xtables.lock", "read-only iptables lock, and 'it can change /run'"),
    ("cni.yaml", "DS013", "/var/run/podnet", "read-only socket directory"),
    ("cni.yaml", "DS013", "/sys/fs/bpf", "read-only BPF filesystem"),
    ("csi-node.yaml", "DS003", "", "drop the blanket toleration of a CSI node plugin"),
    ("csi-node.yaml", "DS012", "driver", "drop privileged with a Bidirectional mount"),
    ("csi-node.yaml", "DS013", "/var/lib/kubelet", "read-only kubelet directory, Bidirectional"),
    ("csi-node.yaml", "DS013", "/var/lib/kubelet/plugins/blockstore.csi.example", "read-only plugin socket directory"),
    ("csi-node.yaml", "DS013", "/var/lib/kubelet/plugins_registry", "read-only registration directory"),
    ("csi-node.yaml", "DS013", "/dev", "read-only /dev for a CSI driver"),
    ("device-plugin.yaml", "DS013", "/var/lib/kubelet/device-plugins", "read-only device-plugin socket directory"),
    ("device-plugin.yaml", "DS013", "/var/lib/kubelet/pod-resources", "overrule an explicit readOnly: false"),
    ("node-metrics.yaml", "DS011", "hostNetwork,hostPID", "remove the host namespaces of a metrics exporter"),
    ("node-problem-detector.yaml", "DS012", "detector", "drop privileged, add NET_ADMIN, on a problem detector"),
    ("reboot-daemon.yaml", "DS011", "hostPID", "remove hostPID from a reboot daemon"),
    ("reboot-daemon.yaml", "DS012", "rebooter", "drop privileged, add NET_ADMIN, on a reboot daemon"),
    ("storage.yaml", "DS003", "", "drop the blanket toleration of a storage agent"),
    ("storage.yaml", "DS005", "agent", "a memory limit at the request on a storage agent"),
    ("storage.yaml", "DS012", "agent", "drop privileged with a Bidirectional mount"),
    ("storage.yaml", "DS013", "/dev", "read-only /dev for a storage agent"),
    ("storage.yaml", "DS013", "/etc/iscsi", "read-only iSCSI configuration"),
    # issue 16.3-16.4: probe advice on sidecars that probe or register, a CNI installer's binary directory
    ("csi-node.yaml", "DS009", "liveness-probe", "a readiness probe on the prober sidecar"),
    ("csi-node.yaml", "DS010", "liveness-probe", "a liveness probe on the prober sidecar"),
    ("csi-node.yaml", "DS009", "node-driver-registrar", "a readiness placeholder on the registrar"),
    ("csi-node.yaml", "DS010", "node-driver-registrar", "a made-up probe on the registrar"),
    ("cni.yaml", "DS019", "/opt/cni/bin", "read-only CNI binary directory for the CNI installer"),
]


@pytest.mark.parametrize("fixture,role", ROLES, ids=[f for f, _ in ROLES])
def test_role(fixture, role):
    found = R.role(load(fixture))
    assert found.name == role and found.evidence and found.label


@pytest.mark.parametrize("fixture", sorted({f for f, _ in ROLES}))
def test_findings_are_the_judged_ones(fixture):
    got = sorted((f.code, subject(f), f.severity) for f in findings(load(fixture)))
    assert got == sorted((c, s, sev) for fx, c, s, sev, _, _ in JUDGED if fx == fixture)


@pytest.mark.parametrize("fixture,code,subj,what", MUST_NOT, ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in MUST_NOT])
def test_no_harmful_advice(fixture, code, subj, what):
    for f in findings(load(fixture)):
        if (f.code, subject(f)) == (code, subj):
            assert f.severity == L.INFO and f.fix.value is None, what
            assert "drop securityContext.privileged" not in f.fix.text and "NET_ADMIN" not in f.fix.text, what


def _container_of(spec: dict, path: str) -> dict:
    fld, i = re.match(r"(\w+)\[(\d+)\]", path).groups()
    return spec[fld][int(i)]


def apply_fixes(ds: dict) -> dict:
    """The DaemonSet with every fix of its findings applied (field fixes merged, 'drop privileged' done)."""
    fixed = copy.deepcopy(ds)
    for f in findings(ds):
        if f.fix.value is not None:
            target = fixed
            for part in re.findall(r"[^.\[\]]+|\[\d+\]", f.fix.path):
                target = target[int(part[1:-1])] if part.startswith("[") else target.setdefault(part, {})
            target.update(copy.deepcopy(dict(f.fix.value)))
        if f.code == "DS012" and f.fix.text.startswith("drop securityContext.privileged"):
            c = _container_of(fixed["spec"]["template"]["spec"], f.detail["path"].split(".")[3])
            c["securityContext"].pop("privileged")
    return fixed


def refused(ds: dict) -> list:
    """What the apiserver's validation of a DaemonSet would refuse, for the rules these fixes can touch."""
    spec = ds["spec"]["template"]["spec"]
    out = []
    for c in R.containers(spec):
        for m in c.get("volumeMounts") or ():
            if m.get("mountPropagation") == R.BIDIRECTIONAL and not R.privileged(c):
                out.append(f"{c['name']}: Bidirectional mount propagation needs a privileged container")
        for p in c.get("ports") or ():
            if spec.get("hostNetwork") and p.get("hostPort") not in (None, p.get("containerPort")):
                out.append(f"{c['name']}: with hostNetwork, hostPort must equal containerPort")
    if spec.get("restartPolicy", "Always") != "Always":
        out.append("restartPolicy must be Always")
    rolling = ds["spec"].get("updateStrategy", {}).get("rollingUpdate") or {}
    if rolling.get("maxSurge") in (0, "0%") and rolling.get("maxUnavailable") in (0, "0%"):
        out.append("maxSurge and maxUnavailable may not both be 0")
    return out


@pytest.mark.parametrize("fixture", sorted({f for f, _ in ROLES}))
def test_no_fix_is_refused_or_breaks_the_role(fixture):
    ds = load(fixture)
    assert refused(ds) == []
    fixed = apply_fixes(ds)
    assert refused(fixed) == []
    role = R.role(ds)
    assert R.role(fixed).name == role.name
    before = list(R.host_mounts(ds["spec"]["template"]["spec"]))
    for was, m in zip(before, R.host_mounts(fixed["spec"]["template"]["spec"])):   # nothing it writes made read-only
        assert was.mount.get("readOnly") or not (m.mount.get("readOnly") and R.needs_write(role, m)), m.host_path


@pytest.mark.parametrize("fixture", sorted({f for f, _ in ROLES}))
def test_example_probes_are_grounded(fixture):
    """Every example probe is another probe of the same container, or the exec placeholder marked to replace."""
    ds = load(fixture)
    for f in findings(ds):
        if f.code not in ("DS009", "DS010") or f.fix.value is None:
            continue
        kind = "readinessProbe" if f.code == "DS009" else "livenessProbe"
        c = _container_of(ds["spec"]["template"]["spec"], f.fix.path.split(".")[-1])
        example = {k: v for k, v in f.fix.value[kind].items() if k != "periodSeconds"}
        others = [{k: v for k, v in (c.get(p) or {}).items() if k in ("httpGet", "tcpSocket", "grpc", "exec")}
                  for p in ("readinessProbe", "livenessProbe", "startupProbe") if p != kind]
        assert example in others or example == {"exec": {"command": ["/bin/sh", "-c", L.PLACEHOLDER]}}, f.message


def test_precision_figure_is_the_one_in_the_docs():
    right = sum(1 for row in JUDGED if row[4] == RIGHT)
    assert f"**{right} of {len(JUDGED)}** findings judged right" in DOCS.read_text()


# --- the role in the output, suppression, the rules on small cases ---------------------------------

def test_role_in_json_and_text():
    report = L.lint([load("cni.yaml")], [], None, rules=V133.rules)
    doc = lint_document(report)
    assert {f["role"] for f in doc["findings"]} == {"cni"}
    assert doc["objects"] == [{"kind": "DaemonSet", "namespace": "kube-system", "name": "podnet-node", "role": "cni",
                               "roleEvidence": ["hostNetwork", "mounts /etc/cni/net.d", "mounts /opt/cni/bin"]}]
    assert "kube-system/podnet-node (CNI plugin: hostNetwork, mounts /etc/cni/net.d, mounts /opt/cni/bin):" in \
        lint_text(report, wide=False, color=False)


def test_no_role_is_null_in_json_and_absent_from_the_header():
    report = L.lint([daemonset("agent", "agents")], [], None, rules=V133.rules)
    assert {f["role"] for f in lint_document(report)["findings"]} == {None}
    assert "\nagents/agent:\n" in lint_text(report, wide=False, color=False)


def test_suppression_still_works_on_role_findings():
    ds = load("cni.yaml")
    ds["metadata"]["annotations"] = {L.IGNORE_ANNOTATION: "DS003,DS011"}
    report = L.lint([ds], [], None, rules=V133.rules)
    assert {f.code for f in report.suppressed} == {"DS003", "DS011"}
    assert not {"DS003", "DS011"} & {f.code for f in report.findings}


def ds_mounting(path, mount=None, host_type="", privileged=False, spec=None):
    c = container()
    c["volumeMounts"] = [dict({"name": "v", "mountPath": "/host"}, **(mount or {}))]
    if privileged:
        c["securityContext"] = {"privileged": True}
    ds = daemonset("agent", "agents")
    hp = {"path": path, **({"type": host_type} if host_type else {})}
    ds["spec"]["template"]["spec"].update(containers=[c], volumes=[{"name": "v", "hostPath": hp}], **(spec or {}))
    return ds


@pytest.mark.parametrize("ds,want", [
    (ds_mounting("/etc/ssl"), ("warning", "it can change /etc/ssl (in /etc) on every node")),
    (ds_mounting("/etc"), ("warning", "it can change /etc on every node")),
    (ds_mounting("/etc/ssl", {"readOnly": False}), ("info", "(readOnly: false is explicit)")),
    (ds_mounting("/run/xtables.lock", host_type="FileOrCreate"), None),
    (ds_mounting("/etc/hosts", host_type="File"), ("warning", "it can change the file /etc/hosts on every node")),
    (ds_mounting("/var/run/agent"), None),
    (ds_mounting("/run/containerd"), ("warning", "it can change /run/containerd (in /run)")),
    (ds_mounting("/var/run"), ("warning", "it can change /var/run on every node")),
    (ds_mounting("/var/lib/kubelet/pods", {"mountPropagation": "Bidirectional"}, privileged=True), None),
    (ds_mounting("/var/lib/kubelet/device-plugins"), None),
    (ds_mounting("/sys/fs/bpf"), None),
    (ds_mounting("/etc/cni/net.d"), ("warning", "/etc/cni/net.d (in /etc)")),          # no hostNetwork: not a CNI
    (ds_mounting("/etc/cni/net.d", spec={"hostNetwork": True}), None),                # a CNI plugin writes its config
], ids=["directory", "the-system-dir", "explicit-read-write", "lock-file", "single-file", "own-run-dir",
        "runtime-dir", "var-run-itself", "bidirectional", "device-plugin-socket-dir", "bpffs", "not-cni", "cni"])
def test_writable_host_path_by_role(ds, want):
    hits = L.writable_host_path(ds, None)
    if want is None:
        assert hits == []
        return
    assert len(hits) == 1 and (hits[0].severity or "warning") == want[0] and want[1] in hits[0].message
    assert (hits[0].fix.value == {"readOnly": True}) == (want[0] == "warning")


def test_privileged_with_bidirectional_is_required_not_dropped():
    hit, = L.privileged(ds_mounting("/mnt/data", {"mountPropagation": "Bidirectional"}, privileged=True), None)
    assert hit.severity == L.INFO and "apiserver allows only in a privileged container" in hit.message


@pytest.mark.parametrize("ds,hint", [
    (ds_mounting("/etc/cni/net.d", spec={"hostNetwork": True}, privileged=True), "NET_ADMIN"),
    (ds_mounting("/var/lib/kubelet/device-plugins", privileged=True), "a device plugin usually needs none"),
    (ds_mounting("/opt/agent", privileged=True), "securityContext.capabilities.add)"),
], ids=["cni", "device-plugin", "no-role"])
def test_privileged_capability_hint_by_role(ds, hint):
    hit, = L.privileged(ds, None)
    assert hint in hit.fix.text and hit.severity is None
    assert ("NET_ADMIN" in hit.fix.text) == (hint == "NET_ADMIN")


@pytest.mark.parametrize("ns,caveat", [("kube-system", False), ("monitoring", True), ("", True)])
def test_priority_class_caveat_outside_kube_system(ns, caveat):
    ds = daemonset("agent", "agents")
    ds["metadata"]["namespace"] = ns
    hit, = L.no_priority_class(ds, None)
    assert ("ResourceQuota" in hit.fix.text) == caveat
    assert hit.fix.value == {"priorityClassName": "system-node-critical"}
