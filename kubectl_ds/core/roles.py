"""What a node agent is, from what it mounts and shares: the role `lint`'s checks weigh their advice by.

role(ds) looks only at the pod template (host namespaces, hostPath volumes and how they are mounted,
privileged containers, ports, sidecar images) and returns the role and the evidence for it, or
("", ()) when nothing says what the agent is. Roles, most specific first:

- csi-node: a CSI node plugin (kubelet plugin directories, plugin registration, Bidirectional
  propagation into /var/lib/kubelet, the node-driver-registrar sidecar)
- device-plugin: a kubelet device plugin (its socket directory /var/lib/kubelet/device-plugins)
- cni: a CNI plugin (hostNetwork and the CNI config or binary directory)
- storage: a storage system's node agent (/dev, privileged, with Bidirectional propagation, iSCSI or udev)
- node-maintenance: reboot daemons and problem detectors (/dev/kmsg, the host's D-Bus or systemd,
  hostPID with a reboot sentinel or a privileged nsenter)
- node-metrics: a node metrics exporter (hostPID or hostNetwork, /proc, /sys or / read-only, a port)
- log-shipper: reads the node's logs (/var/log, /var/lib/docker/containers)
"""

from __future__ import annotations

import posixpath
from typing import Iterator, List, Mapping, NamedTuple, Tuple

from kubectl_ds.core.objects import get_in

CNI, CSI_NODE, DEVICE_PLUGIN, STORAGE = "cni", "csi-node", "device-plugin", "storage"
NODE_MAINTENANCE, NODE_METRICS, LOG_SHIPPER = "node-maintenance", "node-metrics", "log-shipper"
LABELS = {CNI: "CNI plugin", CSI_NODE: "CSI node plugin", DEVICE_PLUGIN: "device plugin",
          STORAGE: "storage agent", NODE_MAINTENANCE: "node maintenance agent",
          NODE_METRICS: "node metrics agent", LOG_SHIPPER: "log shipper"}
BIDIRECTIONAL = "Bidirectional"
KUBELET_PLUGINS = ("/var/lib/kubelet/plugins", "/var/lib/kubelet/plugins_registry")
DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"
CNI_DIRS = ("/etc/cni/net.d", "/opt/cni/bin")
MAINTENANCE_PATHS = ("/dev/kmsg", "/var/run/dbus", "/run/dbus", "/run/systemd", "/var/run/systemd",
                     "/var/run/reboot-required", "/run/reboot-required")
LOG_PATHS = ("/var/log", "/var/lib/docker/containers")
METRICS_PATHS = ("/proc", "/sys", "/")
STORAGE_PATHS = ("/etc/iscsi", "/run/udev", "/lib/modules")


class Role(NamedTuple):
    name: str                      # one of LABELS' keys, "" when nothing says
    evidence: Tuple[str, ...]      # what gave it away, in words ("hostNetwork", "mounts /etc/cni/net.d")

    @property
    def label(self) -> str:
        return LABELS.get(self.name, "")


NONE = Role("", ())


class Mount(NamedTuple):
    container: Mapping
    mount: Mapping
    host_path: str       # normalized, subPath followed
    host_type: str       # the hostPath volume's type ("" when unset)


def norm(path: str) -> str:
    path = posixpath.normpath(path or "/")
    return path[1:] if path.startswith("//") else path


def under(path: str, prefix: str) -> bool:
    return prefix == "/" and path == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def pod_spec(ds: Mapping) -> Mapping:
    return get_in(ds, "spec", "template", "spec", default={})


def containers(spec: Mapping) -> List[Mapping]:
    return list(spec.get("containers") or ()) + list(spec.get("initContainers") or ())


def host_mounts(spec: Mapping) -> Iterator[Mount]:
    """Every mount of a hostPath volume, in every container (init containers included)."""
    volumes = {v.get("name"): v["hostPath"] for v in spec.get("volumes") or () if v.get("hostPath")}
    for c in containers(spec):
        for m in c.get("volumeMounts") or ():
            hp = volumes.get(m.get("name"))
            if hp is not None:
                path = norm(posixpath.join(hp.get("path") or "/", m.get("subPath") or ""))
                yield Mount(c, m, path, hp.get("type") or "")


def privileged(c: Mapping) -> bool:
    return bool(get_in(c, "securityContext", "privileged"))


def _mounted(mounts: List[Mount], prefixes: Tuple[str, ...], below: bool = True) -> List[str]:
    """The host paths mounted that are (or, with `below`, are under) one of `prefixes`."""
    return sorted({m.host_path for m in mounts
                   if any(m.host_path == p or (below and under(m.host_path, p) and p != "/") for p in prefixes)})


def _words(c: Mapping) -> str:
    return " ".join(str(w) for w in list(c.get("command") or ()) + list(c.get("args") or ())).lower()


def _csi(spec: Mapping, mounts: List[Mount]) -> List[str]:
    ev = [f"mounts {p}" for p in _mounted(mounts, KUBELET_PLUGINS)]
    ev += [f"Bidirectional mount of {m.host_path}" for m in mounts
           if m.mount.get("mountPropagation") == BIDIRECTIONAL and under(m.host_path, "/var/lib/kubelet")]
    ev += [f"sidecar {c.get('name')} ({c.get('image')})" for c in containers(spec)
           if "csi-node-driver-registrar" in str(c.get("image") or "")]
    return list(dict.fromkeys(ev))


def _storage(spec: Mapping, mounts: List[Mount]) -> List[str]:
    if not any(privileged(c) for c in containers(spec)) or not _mounted(mounts, ("/dev",), below=False):
        return []
    ev = [f"Bidirectional mount of {m.host_path}" for m in mounts if m.mount.get("mountPropagation") == BIDIRECTIONAL]
    ev += [f"mounts {p}" for p in _mounted(mounts, STORAGE_PATHS)]
    return ["privileged", "mounts /dev"] + list(dict.fromkeys(ev)) if ev else []


def _maintenance(spec: Mapping, mounts: List[Mount]) -> List[str]:
    ev = [f"mounts {p}" for p in _mounted(mounts, MAINTENANCE_PATHS)]
    reboots = [c for c in containers(spec) if privileged(c) and any(w in _words(c) for w in ("reboot", "nsenter"))]
    if spec.get("hostPID") and (ev or reboots):
        ev = ["hostPID"] + ev + [f"container {c.get('name')} is privileged and reboots or enters the host"
                                 for c in reboots]
    return ev if any(e.startswith("mounts /dev/kmsg") or e == "hostPID" for e in ev) else []


def _metrics(spec: Mapping, mounts: List[Mount]) -> List[str]:
    shared = [f for f in ("hostPID", "hostNetwork") if spec.get(f)]
    read_only = sorted({m.host_path for m in mounts if m.mount.get("readOnly") and m.host_path in METRICS_PATHS})
    ports = [p for c in spec.get("containers") or () for p in c.get("ports") or ()]
    if not shared or not read_only or not ports:
        return []
    port = ports[0]
    return shared + [f"mounts {p} read-only" for p in read_only] + \
        [f"serves port {port.get('name') or port.get('containerPort')}"]


def role(ds: Mapping) -> Role:
    """The role of the agent `ds` runs, and the evidence; NONE when nothing says what it is."""
    spec = pod_spec(ds)
    mounts = list(host_mounts(spec))
    evidence = _csi(spec, mounts)
    if evidence:
        return Role(CSI_NODE, tuple(evidence))
    if _mounted(mounts, (DEVICE_PLUGINS,)):
        return Role(DEVICE_PLUGIN, (f"mounts {DEVICE_PLUGINS}",))
    cni = _mounted(mounts, CNI_DIRS)
    if spec.get("hostNetwork") and cni:
        return Role(CNI, ("hostNetwork",) + tuple(f"mounts {p}" for p in cni))
    for name, detect in ((STORAGE, _storage), (NODE_MAINTENANCE, _maintenance), (NODE_METRICS, _metrics)):
        evidence = detect(spec, mounts)
        if evidence:
            return Role(name, tuple(evidence))
    logs = _mounted(mounts, LOG_PATHS)
    if logs:
        return Role(LOG_SHIPPER, tuple(f"mounts {p}" for p in logs))
    return NONE


# --- what a role writes on the node ---------------------------------------------------------

# host directories whose sockets belong to the container runtime: access to them is control of every
# container on the node, so they are never taken for the agent's own socket directory
RUNTIME_DIRS = ("/run/containerd", "/var/run/containerd", "/run/docker", "/var/run/docker", "/run/crio",
                "/var/run/crio", "/run/k3s", "/var/run/k3s", "/run/cri-dockerd", "/var/run/cri-dockerd",
                "/run/docker.sock", "/var/run/docker.sock", "/run/dockershim.sock", "/var/run/dockershim.sock")
LOCK_FILES = ("/run/xtables.lock", "/var/run/xtables.lock")
_ROLE_WRITES = {
    CNI: (("/etc/cni/net.d", "it installs its network configuration there"),
          ("/opt/cni/bin", "it installs its CNI binaries there"),
          ("/var/lib/cni", "the CNI plugins keep their IP allocations there")),
    CSI_NODE: (("/var/lib/kubelet", "the kubelet and the plugin mount volumes and register sockets there"),
               ("/dev", "it formats and attaches block devices")),
    DEVICE_PLUGIN: ((DEVICE_PLUGINS, "it creates its gRPC socket there and the kubelet connects to it: read-only, "
                                     "the node advertises none of its devices"),),
    STORAGE: (("/var/lib/kubelet", "it mounts volumes for the kubelet there"),
              ("/dev", "it creates and attaches block devices"),
              ("/etc/iscsi", "iscsiadm writes its node records there")),
}


def needs_write(r: Role, m: Mount) -> str:
    """Why the agent must be able to write the mount `m` (its reason), "" when nothing says it must."""
    path = m.host_path
    if m.mount.get("mountPropagation") == BIDIRECTIONAL:
        return "it is mounted with Bidirectional propagation: the agent mounts there for the node"
    if under(path, DEVICE_PLUGINS):
        return _ROLE_WRITES[DEVICE_PLUGIN][0][1]
    if under(path, "/sys/fs/bpf"):
        return "the BPF filesystem: the agent pins its BPF programs and maps there"
    if path in LOCK_FILES:
        return "the iptables lock file, which every iptables user on the node must take"
    for prefix, why in _ROLE_WRITES.get(r.name, ()):
        if under(path, prefix):
            return why
    for run in ("/run", "/var/run"):
        if under(path, run) and path != run and not any(under(path, d) for d in RUNTIME_DIRS) \
                and m.host_type not in ("File", "FileOrCreate"):
            return f"{path} holds the agent's own sockets or state (a directory or socket under {run})"
    return ""


def is_file(m: Mount) -> bool:
    """The mount is one file (a hostPath of type File, FileOrCreate, Socket or a device), not a directory."""
    return m.host_type in ("File", "FileOrCreate", "Socket", "CharDevice", "BlockDevice")
