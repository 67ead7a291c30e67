"""Issue 16, items 3 and 4: example probes grounded in evidence (DS009/DS010), and the checks for what lint
missed: a rollout budget of 100% or more (DS017), floating image tags (DS018), writable host directories of
executables run as root (DS019). One table per check, with literal objects.
"""

from __future__ import annotations

import pytest

from kubectl_ds.core import lint as L
from tests.builders import V133, container, daemonset, node


def ds_with(spec=None, **kwargs):
    ds = daemonset("agent", "agents", **kwargs)
    ds["spec"]["template"]["spec"].update(spec or {})
    return ds


def with_probes(c=None, **fields):
    c = dict(c or container())
    c.update(fields)
    return c


HTTP = {"httpGet": {"path": "/ready", "port": 8080}}
EXEC = {"exec": {"command": ["/agent", "check"]}}
TCP = {"tcpSocket": {"port": 9000}, "failureThreshold": 5}


def ports(*specs):
    return container(ports=[dict(zip(("name", "containerPort"), s)) if s[0] else {"containerPort": s[1]}
                            for s in specs])


# --- DS009/DS010: example probes from evidence only ---------------------------------------------

@pytest.mark.parametrize("c,kind,want,evidence", [
    # another probe of the same container: its handler, nothing else of it
    (with_probes(livenessProbe=HTTP), "readinessProbe", {"httpGet": HTTP["httpGet"]}, "probe"),
    (with_probes(readinessProbe=EXEC), "livenessProbe", {"exec": EXEC["exec"]}, "probe"),
    (with_probes(readinessProbe=TCP), "livenessProbe", {"tcpSocket": {"port": 9000}}, "probe"),
    (with_probes(startupProbe=HTTP), "readinessProbe", {"httpGet": HTTP["httpGet"]}, "probe"),
    (with_probes(ports(("healthz", 9808)), livenessProbe=EXEC), "readinessProbe", {"exec": EXEC["exec"]}, "probe"),
    # a port named for health: the path its name suggests
    (ports(("healthz", 9808)), "livenessProbe", {"httpGet": {"path": "/healthz", "port": "healthz"}}, "port"),
    (ports(("health", 8081)), "readinessProbe", {"httpGet": {"path": "/healthz", "port": "health"}}, "port"),
    (ports(("readyz", 8081)), "readinessProbe", {"httpGet": {"path": "/readyz", "port": "readyz"}}, "port"),
    (ports(("liveness", 9809)), "livenessProbe", {"httpGet": {"path": "/healthz", "port": "liveness"}}, "port"),
    (ports(("metrics", 9100), ("readyz", 8081), ("healthz", 8080)), "readinessProbe",
     {"httpGet": {"path": "/readyz", "port": "readyz"}}, "port"),
    (ports(("metrics", 9100), ("readyz", 8081), ("healthz", 8080)), "livenessProbe",
     {"httpGet": {"path": "/healthz", "port": "healthz"}}, "port"),
    # https: a port named so, or 443/8443
    (ports(("https-health", 9443)), "readinessProbe",
     {"httpGet": {"path": "/healthz", "port": "https-health", "scheme": "HTTPS"}}, "port"),
    (ports(("health", 8443)), "livenessProbe",
     {"httpGet": {"path": "/healthz", "port": "health", "scheme": "HTTPS"}}, "port"),
    (ports(("grpc-health", 9090)), "livenessProbe", {"grpc": {"port": 9090}}, "port"),
    # no evidence: never a made-up /healthz, on a metrics, http or https port alike
    (ports(("metrics", 9100)), "livenessProbe", None, "placeholder"),
    (ports(("http", 80)), "readinessProbe", None, "placeholder"),
    (ports(("https", 443)), "readinessProbe", None, "placeholder"),
    (ports(("", 8080)), "readinessProbe", None, "placeholder"),
    (container(), "livenessProbe", None, "placeholder"),
], ids=["liveness-for-readiness", "readiness-for-liveness", "tcp-handler-only", "startup", "probe-before-port",
        "healthz-port", "health-port", "readyz-port", "liveness-port", "readiness-prefers-readyz",
        "liveness-prefers-healthz", "https-named", "port-8443", "grpc", "metrics-port", "http-port", "https-port",
        "unnamed-port", "no-port"])
def test_example_probe_from_evidence(c, kind, want, evidence):
    fn = L.no_readiness_probe if kind == "readinessProbe" else L.no_liveness_probe
    hit, = fn(ds_with({"containers": [c]}), None)
    probe = dict(hit.fix.value[kind])
    assert hit.detail["exampleFrom"] == evidence
    assert probe.pop("periodSeconds") == 10
    if want is None:
        assert probe == {"exec": {"command": ["/bin/sh", "-c", L.PLACEHOLDER]}}
        assert L.PLACEHOLDER.startswith("<replace:") and "a placeholder" in hit.fix.text
    else:
        assert probe == want


@pytest.mark.parametrize("c", [
    container("liveness-probe", "registry.k8s.io/sig-storage/livenessprobe:v2.15.0"),
    container("prober", "registry.k8s.io/sig-storage/livenessprobe:v2.15.0"),
    with_probes(container("wait"), command=["sleep", "infinity"]),
    with_probes(container("wait"), command=["/bin/sleep", "3600"]),
    with_probes(container("wait"), command=["/bin/sh", "-c", "while true; do sleep 3600; done"]),
    with_probes(container("wait"), command=["sh", "-c"], args=["trap : TERM INT; sleep infinity & wait"]),
    with_probes(container("wait"), command=["tail", "-f", "/dev/null"]),
    container("pause", "registry.k8s.io/pause:3.10"),
], ids=["prober-image", "prober-image-other-name", "sleep-infinity", "bin-sleep", "shell-loop", "trap-sleep-wait",
        "tail-dev-null", "pause-image"])
def test_no_probe_advice_for_probers_and_sleepers(c):
    ds = ds_with({"containers": [c]})
    assert L.no_readiness_probe(ds, None) == [] and L.no_liveness_probe(ds, None) == []


@pytest.mark.parametrize("c", [
    with_probes(container("agent"), command=["/bin/sh", "-c", "sleep 5; exec /agent --serve"]),
    with_probes(container("agent"), command=["/agent"], args=["--sleep-interval=10s"]),
    container("agent", "registry.example/pauser:1.0"),
], ids=["sleeps-then-runs", "sleep-in-a-flag", "pause-in-a-name"])
def test_agents_that_mention_sleep_still_get_probe_advice(c):
    ds = ds_with({"containers": [c]})
    assert len(L.no_readiness_probe(ds, None)) == 1 and len(L.no_liveness_probe(ds, None)) == 1


REGISTRAR = "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0"


@pytest.mark.parametrize("c,liveness", [
    (container("node-driver-registrar", REGISTRAR), "documented"),
    (with_probes(container("node-driver-registrar", REGISTRAR), args=["--http-endpoint=:9809"]),
     {"httpGet": {"path": "/healthz", "port": 9809}, "periodSeconds": 10}),
    (container("registrar", REGISTRAR, ports=[{"name": "healthz", "containerPort": 9809}]),
     {"httpGet": {"path": "/healthz", "port": "healthz"}, "periodSeconds": 10}),
], ids=["no-endpoint", "http-endpoint", "healthz-port"])
def test_registrar_gets_no_readiness_advice_and_a_documented_liveness_one(c, liveness):
    ds = ds_with({"containers": [c]})
    assert L.no_readiness_probe(ds, None) == []
    hit, = L.no_liveness_probe(ds, None)
    if liveness == "documented":
        assert hit.severity == L.INFO and hit.fix.value is None and "--http-endpoint" in hit.fix.text
    else:
        assert hit.fix.value == {"livenessProbe": liveness}


# --- DS017 MaxUnavailableAllNodes -------------------------------------------------------------

@pytest.mark.parametrize("unavailable,strategy,want", [
    ("100%", "RollingUpdate", (100, False)),
    ("150%", "RollingUpdate", (150, True)),
    (" 100 %", "RollingUpdate", (100, False)),
    ("99%", "RollingUpdate", None),
    ("50%", "RollingUpdate", None),
    (100, "RollingUpdate", None),          # an integer needs the node count: DS006's
    (1, "RollingUpdate", None),
    ("100%", "OnDelete", None),
    ("x%", "RollingUpdate", None),
], ids=["100pct", "above-100pct", "spaces", "99pct", "half", "integer", "one", "on-delete", "malformed"])
def test_max_unavailable_all_nodes(unavailable, strategy, want):
    hits = L.max_unavailable_all_nodes(ds_with(max_unavailable=unavailable, strategy=strategy), None)
    if want is None:
        assert hits == []
        return
    hit, = hits
    assert (hit.detail["percent"], hit.detail["refused"]) == want
    assert ("apiserver refuses" in hit.message) == want[1]
    assert (hit.severity or L.CATALOGUE["DS017"].severity) == L.ERROR
    assert hit.fix.path == "spec.updateStrategy.rollingUpdate" and hit.fix.value == {"maxUnavailable": 1}


def test_max_unavailable_all_nodes_without_a_cluster_and_not_twice_with_one():
    ds = ds_with(max_unavailable="100%")
    alone = L.lint([ds], [], None, rules=V133.rules).findings
    assert "DS017" in [f.code for f in alone]
    assert "DS006" not in [c for f in alone if f.code == L.NOT_CHECKED for c in f.detail["checks"]]
    nodes = [node(f"w{i}") for i in range(4)]
    codes = [f.code for f in L.lint([ds], [], nodes, rules=V133.rules).findings]
    assert codes.count("DS017") == 1 and "DS006" not in codes
    codes = [f.code for f in L.lint([ds_with(max_unavailable=4)], [], nodes, rules=V133.rules).findings]
    assert "DS006" in codes and "DS017" not in codes


# --- DS018 FloatingImageTag ---------------------------------------------------------------------

@pytest.mark.parametrize("image,tag", [
    ("registry.example/agent", ""), ("busybox", ""), ("registry.example:5000/agent", ""),
    ("registry.example/agent:latest", "latest"), ("agent:Latest", "Latest"), ("agent:master", "master"),
    ("agent:main", "main"), ("agent:stable", "stable"), ("agent:edge", "edge"),
    ("agent:stable-alpine", "stable-alpine"),
    ("agent:1", "1"), ("agent:v2", "v2"), ("registry.example:5000/agent:v3", "v3"),
], ids=lambda v: str(v))
def test_floating_image_tag_fires(image, tag):
    hit, = L.floating_image_tag(ds_with({"containers": [container(image=image)]}), None)
    assert hit.detail["tag"] == tag and hit.detail["image"] == image
    assert hit.fix.value is None and "@sha256" in hit.fix.text
    assert (hit.severity or L.CATALOGUE["DS018"].severity) == L.WARNING


@pytest.mark.parametrize("image", [
    "registry.example/agent:1.0", "agent:v1.9.4", "agent:3.1", "agent:0.17", "agent:2.0.0-rc1",
    "registry.example:5000/agent:1.2.3", "agent@sha256:" + "a" * 64, "agent:latest@sha256:" + "b" * 64,
    "registry.example:5000/agent@sha256:" + "c" * 64, "${AGENT_IMAGE}", "",
    "agent:mainline-1.2.3", "agent:v2.1",
], ids=lambda v: v[:40] or "empty")
def test_floating_image_tag_quiet(image):
    c = container(image=image)
    if not image:
        del c["image"]
    assert L.floating_image_tag(ds_with({"containers": [c]}), None) == []


def test_floating_image_tag_includes_init_containers():
    ds = ds_with({"initContainers": [container("install", "registry.example/installer:latest")]})
    hit, = L.floating_image_tag(ds, None)
    assert hit.detail["path"] == "spec.template.spec.initContainers[0].image"


# --- DS019 WritableExecutablePath -----------------------------------------------------------

def mounting(path, read_only=None, init=False, host_network=False, extra_init=None, sub_path=None, name="agent"):
    m = {"name": "v", "mountPath": "/host"}
    if read_only is not None:
        m["readOnly"] = read_only
    if sub_path:
        m["subPath"] = sub_path
    c = dict(container(name), volumeMounts=[m])
    spec = {"volumes": [{"name": "v", "hostPath": {"path": path}}]}
    if init:
        spec.update(initContainers=[c], containers=[container("main")])
    else:
        spec["containers"] = [c]
    if extra_init:
        spec["initContainers"] = [dict(container("install"), volumeMounts=[{"name": "v", "mountPath": "/host"}])]
    if host_network:
        spec["hostNetwork"] = True
    return ds_with(spec)


@pytest.mark.parametrize("ds,want", [
    (mounting("/opt/cni/bin"), ("warning", "/opt/cni/bin")),                       # no hostNetwork: not a CNI
    (mounting("/usr/local/bin"), ("warning", "/usr/local/bin")),
    (mounting("/usr/bin"), ("warning", "/usr/bin")),
    (mounting("/sbin"), ("warning", "/sbin")),
    (mounting("/usr/local/bin/tool"), ("warning", "/usr/local/bin/tool")),
    (mounting("/usr", sub_path="sbin"), ("warning", "/usr/sbin")),
    (mounting("/usr/libexec/kubernetes/kubelet-plugins/volume/exec"),
     ("warning", "/usr/libexec/kubernetes/kubelet-plugins/volume/exec")),
    (mounting("/usr/bin", read_only=False), ("info", "/usr/bin")),
    (mounting("/usr/bin", read_only=True), None),
    (mounting("/usr"), None),                                  # a parent: DS013's (a system directory)
    (mounting("/opt/agent"), None),
    (mounting("/var/lib/agent"), None),
    # the CNI role: installing the CNI binaries is its job
    (mounting("/opt/cni/bin", init=True, host_network=True), ("info", "/opt/cni/bin")),
    (mounting("/opt/cni/bin", host_network=True), ("info", "/opt/cni/bin")),        # the agent installs itself
    (mounting("/usr/local/bin", init=True, host_network=True), ("warning", "/usr/local/bin")),   # not a CNI's job
], ids=["opt-cni-bin-no-role", "usr-local-bin", "usr-bin", "sbin", "a-file-in-one", "sub-path", "flexvolume",
        "explicit-read-write", "read-only", "usr-parent", "opt-elsewhere", "var-lib", "cni-init-installer",
        "cni-agent-installs", "cni-elsewhere"])
def test_writable_executable_path(ds, want):
    hits = L.writable_executable_path(ds, None)
    if want is None:
        assert hits == []
        return
    hit, = hits
    severity = hit.severity or L.CATALOGUE["DS019"].severity
    assert (severity, hit.detail["hostPath"]) == want and want[1] in hit.message
    assert (hit.fix.value == {"readOnly": True}) == (severity == L.WARNING)


def test_cni_agent_next_to_an_init_installer_is_a_warning():
    ds = mounting("/opt/cni/bin", host_network=True, extra_init=True)
    hits = sorted(L.writable_executable_path(ds, None), key=lambda h: h.detail["container"])
    assert [(h.detail["container"], h.severity or "warning") for h in hits] == [("agent", "warning"),
                                                                                 ("install", "info")]
    assert "init containers install there already" in hits[0].message


def test_flexvolume_installer_of_a_csi_plugin_is_info():
    ds = mounting("/usr/libexec/kubernetes/kubelet-plugins/volume/exec", init=True)
    spec = ds["spec"]["template"]["spec"]
    spec["volumes"].append({"name": "plugins", "hostPath": {"path": "/var/lib/kubelet/plugins"}})
    spec["containers"][0]["volumeMounts"] = [{"name": "plugins", "mountPath": "/plugins"}]
    hit, = L.writable_executable_path(ds, None)
    assert hit.severity == L.INFO and "FlexVolume" in hit.message


def test_executable_dirs_are_not_reported_twice():
    ds = mounting("/usr/local/bin")
    assert L.writable_host_path(ds, None) == [] and len(L.writable_executable_path(ds, None)) == 1
    assert len(L.writable_host_path(mounting("/usr"), None)) == 1
