#!/usr/bin/env python3
"""Benchmarks of kubectl-ds on KWOK clusters of growing size, side by side with kubectl.

    python3 bench/run.py                       # 100, 1,000 and 5,000 nodes (40-50 minutes)
    python3 bench/run.py --sizes 100,1000,5000 --repeat 3   # about 30 minutes
    python3 bench/run.py --no-wan --baseline none          # loopback only, this checkout only
    python3 bench/run.py --keep                # leave the cluster running at the end (prints KUBECONFIG)
    python3 bench/run.py --wan-mbit 50 --wan-rtt-ms 40 --baseline HEAD~5

What it does, once per run:
  * starts its own control plane with hack/cluster.sh under a temporary KDS_RUN (never the default
    one), tuned for thousands of nodes (see CLUSTER_ENV), and stops it at the end, whatever happens;
  * grows one cluster through the sizes (100 -> 1,000 -> 5,000 nodes): KWOK nodes, and on each node
    FILLER_PER_NODE bare pods with spec.nodeName set (no scheduler in the way: the apiserver and
    KWOK only), created by parallel `kubectl create` processes;
  * four DaemonSets in namespace `bench`: agent-all (every node), agent-half (every 2nd node),
    agent-tenth (every 10th node) and roller (every 10th node too, maxUnavailable 25%: the rollout
    measure, 10, 100 and 500 pods);
  * waits until the controller has converged (every DaemonSet's status complete, every filler pod
    Running) and rests SETTLE seconds, then measures each command REPEAT times (through `kubectl
    ds ...`, as a user runs it) and reports the medians of wall time, CPU time (user + system) and
    peak RSS (GNU time's %M);
  * pauses KWOK, the controller-manager and the scheduler (SIGSTOP, then SIGCONT) while it
    measures the read-only commands and their kubectl floors: they share the 2 cores with the
    client, and a real cluster's control plane runs elsewhere. The rollout runs with them live.

Two network profiles, side by side: loopback (the clients talk to the apiserver directly) and WAN
(through bench/wanproxy.py, a throttling proxy on loopback: --wan-mbit each way, --wan-rtt-ms round
trip; default 100 Mbit/s and 20 ms), used by kubectl-ds and kubectl alike. For every read measure
there are three references: kubectl fetching and printing the same objects, the raw-bytes floor
(bench/floor.py: the same API pages, same selectors and page size, gzip as kubectl asks, fetched
and thrown away), and, with --baseline REF (default main), the plugin as it was at REF. On the WAN
profile the proxy counts the bytes each command moves (both ways). kubectl-ds with
KUBECTL_DS_ACCEPT_ENCODING=identity is measured too: what gzip costs on loopback and saves on WAN.
The rollout delay is the time from the moment the DaemonSet's status reports the rollout done
(updated = available = desired, observed generation; the bench watches it) to the `kubectl ds
rollout` process exiting; the delay from the last new pod turning Ready (as seen on the bench's
watch) is reported too, and so are both delays of `kubectl rollout status`, run side by side (it waits
for the same status). Results go to stdout as a table and to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "hack" / "cluster.sh"
BIN = Path(os.environ.get("KDS_CACHE", Path.home() / ".cache" / "kubectl-ds")) / "bin"
# kube-apiserver, kubectl...: K8S_VERSION's own directory (hack/cluster.sh bin), built side by side
KBIN = Path(subprocess.run(["bash", str(CLUSTER), "bin"], capture_output=True, text=True).stdout.strip() or BIN)
RESULTS = ROOT / "bench" / "results"

NS, FILLER_NS = "bench", "bench-filler"
NODE_PREFIX = "bench-node-"
FILLER_PER_NODE = 10
CREATE_WORKERS = 6
CHUNK = 500
SETTLE = 20          # seconds of rest after convergence, before measuring
LABEL = "bench.kubectl-ds/"

# The control plane, tuned for thousands of KWOK nodes on a 2-core machine: KWOK renews each node's
# lease every lease/4 seconds (40 s leases at 5,000 nodes are 500 writes/s, more than the machine
# has), so leases are long and the node lifecycle controller's grace period longer than a renewal.
CLUSTER_ENV = {
    "KDS_NODE_LEASE_SECONDS": "600",
    # an hour: the read-only measures pause KWOK and the controller-manager (see Bench.quiet), and
    # nodes whose leases looked stale on resume would be tainted not-ready/unreachable, which holds
    # the DaemonSet rollouts that follow
    "KDS_NODE_MONITOR_GRACE": "3600s",
    "KDS_KCM_QPS": "1000", "KDS_KCM_BURST": "2000",
    "KDS_SCHED_QPS": "1000", "KDS_SCHED_BURST": "2000",
    "KDS_DS_SYNCS": "4",
}
GNU_TIME = Path("/usr/bin/time")   # Debian package `time`; without it RSS is not reported
KWOK_CONFIG = ROOT / "bench" / "kwok.yaml"   # node stages and KWOK parallelism


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------

class Bench:
    def __init__(self, run_dir: Path, repeat: int, rollout_repeat: int):
        self.run_dir = run_dir
        self.repeat, self.rollout_repeat = repeat, rollout_repeat
        self.kubeconfig = run_dir / "kubeconfig"
        self.shim = run_dir / "shim"
        # byte-compiled modules cached as on any installed copy (this machine sets
        # PYTHONDONTWRITEBYTECODE, which would make every run compile the plugin from source)
        self.env = dict(os.environ, KUBECONFIG=str(self.kubeconfig), NO_COLOR="1",
                        PYTHONPYCACHEPREFIX=str(run_dir / "pycache"),
                        PATH=f"{self.shim}{os.pathsep}{KBIN}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        for var in ("KUBECTL_DS_DEBUG", "PYTHONDONTWRITEBYTECODE"):
            self.env.pop(var, None)
        self.nodes = 0
        self._children_cpu = 0.0
        self.quiet_reads = False
        self.envs = {"loopback": self.env}   # by profile; "wan" once the proxy runs (start_wan)
        self.base_envs: dict = {}            # the --baseline plugin's, by profile
        self.proxy = None
        self.control_port = 0
        self.server = self.token = self.wan_server = ""
        self.ca: str | None = None

    # the plugin as kubectl finds it: an executable `kubectl-ds` on PATH running this checkout
    def make_shim(self) -> None:
        self.shim.mkdir(parents=True, exist_ok=True)
        exe = self.shim / "kubectl-ds"
        # a copy of the plugin as it is now (uncommitted edits included): what is measured stays
        # the same if the checkout changes while the bench runs
        tree = self.run_dir / "tree"
        shutil.copytree(ROOT / "kubectl_ds", tree / "kubectl_ds", ignore=shutil.ignore_patterns("__pycache__"))
        exe.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(tree)!r})\n"
                       "from kubectl_ds.cli import main\nmain()\n")
        exe.chmod(0o755)

    def make_baseline(self, ref: str) -> None:
        """The plugin as it was at `ref` (git archive of this repository), behind its own shim: a
        PATH that finds it first makes `kubectl ds` run it."""
        tree = self.run_dir / "baseline"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        shim = self.run_dir / "shim-baseline"
        shim.mkdir()
        exe = shim / "kubectl-ds"
        exe.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(tree)!r})\n"
                       "from kubectl_ds.cli import main\nmain()\n")
        exe.chmod(0o755)
        for profile, env in self.envs.items():
            self.base_envs[profile] = dict(env, PATH=f"{shim}{os.pathsep}{env['PATH']}",
                                           PYTHONPYCACHEPREFIX=str(self.run_dir / "pycache-baseline"))
        self.baseline_commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref],
                                              capture_output=True, text=True).stdout.strip()
        log(f"baseline: {ref} ({self.baseline_commit})")

    def read_kubeconfig(self) -> dict:
        """The server, token and CA file the raw-bytes floor uses; the kubeconfig itself."""
        import yaml
        cfg = yaml.safe_load(self.kubeconfig.read_text())
        cluster = cfg["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.token = cfg["users"][0]["user"]["token"]
        ca = cluster.get("certificate-authority")
        if not ca and cluster.get("certificate-authority-data"):
            import base64
            ca = str(self.run_dir / "ca.crt")
            Path(ca).write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        self.ca = ca
        return cfg

    def start_wan(self, mbit: float, rtt_ms: float) -> None:
        """The throttling proxy in front of the apiserver, and a kubeconfig whose server is it."""
        import yaml
        cfg = self.read_kubeconfig()
        cluster = cfg["clusters"][0]["cluster"]
        target = self.server.split("://", 1)[1].rstrip("/")
        self.proxy = subprocess.Popen([sys.executable, str(ROOT / "bench" / "wanproxy.py"), "--target", target,
                                       "--mbit", str(mbit), "--rtt-ms", str(rtt_ms)], stdout=subprocess.PIPE, text=True)
        port, self.control_port = map(int, self.proxy.stdout.readline().split())
        self.wan_server = f"https://127.0.0.1:{port}"
        cluster["server"] = self.wan_server
        wan = self.run_dir / "kubeconfig-wan"
        wan.write_text(yaml.safe_dump(cfg))
        self.envs["wan"] = dict(self.env, KUBECONFIG=str(wan))
        log(f"WAN profile: {mbit:g} Mbit/s each way, {rtt_ms:g} ms round trip, through 127.0.0.1:{port}")

    def stop_wan(self) -> None:
        if self.proxy is not None:
            self.proxy.kill()
            self.proxy.wait()

    def wire(self) -> tuple[int, int, int]:
        """(bytes up, bytes down, connections) through the proxy so far."""
        import socket
        with socket.create_connection(("127.0.0.1", self.control_port)) as c:
            up, down, conns = c.makefile().readline().split()
        return int(up), int(down), int(conns)

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        p = subprocess.run([str(KBIN / "kubectl"), *args], input=stdin, env=self.env, text=True,
                           capture_output=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args[:4])}... failed: {p.stderr.strip()[:500]}")
        return p.stdout

    def get_json(self, path: str) -> dict:
        return json.loads(self.kubectl("get", "--raw", path))

    def run_timed(self, argv: list[str], stdout=subprocess.DEVNULL, env: dict | None = None) \
            -> tuple[float, float, float, int, str]:
        """(wall seconds, peak RSS in MB, CPU seconds, exit code, stderr) of one process.

        The RSS comes from GNU time when there is one: a child forked straight from this
        process would report this process's own peak as its ru_maxrss (Linux carries the
        high-water mark of the address space it replaces at exec into the child's figure).
        """
        t0 = time.perf_counter()
        with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
            prefix = [str(GNU_TIME), "-f", "%U %S %M", "-o", tf.name] if GNU_TIME.exists() else []
            p = subprocess.Popen(prefix + argv, env=env or self.env, stdout=stdout, stderr=subprocess.PIPE)
            _, err = p.communicate()
            wall = time.perf_counter() - t0
            if prefix:
                user, system, kb = tf.read().strip().splitlines()[-1].split()
                cpu, rss = float(user) + float(system), int(kb) / 1024.0
            else:
                ru = resource.getrusage(resource.RUSAGE_CHILDREN)   # cumulative: CPU only
                cpu, rss = ru.ru_utime + ru.ru_stime - self._children_cpu, float("nan")
                self._children_cpu = ru.ru_utime + ru.ru_stime
        return wall, rss, cpu, p.returncode, err.decode(errors="replace")

    def measure(self, argv: list[str], env: dict | None = None) -> tuple[float, float, float]:
        """(wall seconds, peak RSS in MB, CPU seconds) of one process, output discarded."""
        wall, rss, cpu, rc, err = self.run_timed(argv, env=env)
        if rc not in (0, 1):
            raise RuntimeError(f"{' '.join(argv)} exited {rc}: {err.strip()[:500]}")
        return wall, rss, cpu

    def quiet(self):
        """Pause KWOK, the controller-manager and the scheduler (SIGSTOP) around read-only
        measures: on 2 shared cores, 5,000 simulated kubelets and their controllers would
        otherwise take the CPU the measured client needs. etcd and the apiserver keep serving."""
        bench = self

        class Quiet:
            def __enter__(self):
                self.pids = bench.component_pids("kwok", "kube-controller-manager", "kube-scheduler")
                for pid in self.pids:
                    os.kill(pid, signal.SIGSTOP)
                time.sleep(2)

            def __exit__(self, *exc):
                for pid in self.pids:
                    os.kill(pid, signal.SIGCONT)
        return Quiet()

    def component_pids(self, *names: str) -> list[int]:
        pids = []
        for line in (self.run_dir / "cluster" / "pids").read_text().splitlines():
            name, pid = line.split()
            if name in names:
                pids.append(int(pid))
        return pids

    def repeated(self, *argvs: list[str], n: int | None = None, env: dict | None = None) -> dict:
        """Median wall time and RSS of running `argvs` one after the other (times add, RSS is max).
        Through the WAN proxy (env is the WAN profile's), also the bytes per run, both ways."""
        walls, rsss, cpus = [], [], []
        wan = env is not None and env.get("KUBECONFIG") == self.envs.get("wan", {}).get("KUBECONFIG")
        with self.quiet() if self.quiet_reads else contextlib.nullcontext():
            waited = self.settle() if self.quiet_reads else 0.0
            before = self.wire() if wan else None
            runs = [[self.measure(argv, env) for argv in argvs] for _ in range(n or self.repeat)]
            after = self.wire() if wan else None
        for run in runs:
            w, r, c = 0.0, 0.0, 0.0
            for ww, rr, cc in run:
                w, r, c = w + ww, max(r, rr), c + cc
            walls.append(w)
            rsss.append(r)
            cpus.append(c)
        out = {"seconds": round(statistics.median(walls), 3), "rss_mb": round(statistics.median(rsss), 1),
               "cpu_seconds": round(statistics.median(cpus), 3), "runs": [round(x, 3) for x in walls],
               "settled_after": round(waited, 1)}
        if before is not None and after is not None:
            k = len(runs)
            out["bytes_up"], out["bytes_down"] = (after[0] - before[0]) // k, (after[1] - before[1]) // k
            out["connections"] = (after[2] - before[2]) / k
        return out

    def settle(self, idle: float = 0.05, limit: float = 120.0) -> float:
        """Wait until etcd and the apiserver are idle (under `idle` of a core for a second, at
        most `limit` seconds): after serving a 5 GB list the apiserver spends tens of seconds in
        garbage collection, which would slow whatever is measured next. Returns the wait."""
        pids = self.component_pids("etcd", "kube-apiserver")
        tick = os.sysconf("SC_CLK_TCK")

        def cpu() -> float:
            total = 0
            for pid in pids:
                with contextlib.suppress(OSError):
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])   # utime, stime (fields 14, 15)
            return total / tick
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            before = cpu()
            time.sleep(1)
            if cpu() - before < idle:
                break
        return time.monotonic() - t0

    # --- cluster ------------------------------------------------------------------------------

    def up(self) -> None:
        env = dict(self.env, KDS_RUN=str(self.run_dir / "cluster"), KDS_KWOK_CONFIG=str(KWOK_CONFIG),
                   **CLUSTER_ENV)
        t0 = time.time()
        p = subprocess.run(["bash", str(CLUSTER), "up"], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"hack/cluster.sh up failed:\n{p.stderr[-3000:]}")
        shutil.copy(self.run_dir / "cluster" / "kubeconfig", self.kubeconfig)
        log(f"control plane up in {time.time() - t0:.0f}s (KDS_RUN={self.run_dir / 'cluster'})")

    def down(self) -> None:
        env = dict(self.env, KDS_RUN=str(self.run_dir / "cluster"))
        subprocess.run(["bash", str(CLUSTER), "down"], env=env, capture_output=True, text=True)

    def create(self, items: list[dict]) -> None:
        """Create objects with CREATE_WORKERS parallel `kubectl create` processes."""
        chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]

        def one(chunk):
            doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": chunk})
            self.kubectl("create", "-f", "-", "-o", "name", stdin=doc)

        with ThreadPoolExecutor(CREATE_WORKERS) as pool:
            list(pool.map(one, chunks))

    def setup(self) -> None:
        self.kubectl("create", "namespace", NS)
        self.kubectl("create", "namespace", FILLER_NS)
        self.kubectl("get", "serviceaccount", "default", "-n", NS)  # (made by the controller)
        self.create([daemonset("agent-all", None), daemonset("agent-half", "half"),
                     daemonset("agent-tenth", "tenth"), daemonset("roller", "tenth", max_unavailable="25%")])

    def warm_up(self) -> None:
        """One unmeasured run of each command: byte-compiles the plugin into the pycache and fills
        kubectl's discovery cache (one per server address: per profile), as on any machine where
        they have run before."""
        k = str(KBIN / "kubectl")
        for env in list(self.envs.values()) + list(self.base_envs.values()):
            for argv in ([k, "ds", "--help"], [k, "ds", "diff", "agent-all", "-n", NS], [k, "ds", "diff", "-A"],
                         [k, "ds", "why", f"{NODE_PREFIX}0"], [k, "ds", "rollout", "roller", "-n", NS, "--no-follow"],
                         [k, "get", "ds,nodes,pods", "-A", "-o", "name"]):
                self.run_timed(argv, env=env)

    def grow(self, size: int) -> None:
        t0 = time.time()
        new = range(self.nodes, size)
        self.create([node(i) for i in new])
        t1 = time.time()
        self.create([filler(i, j) for i in new for j in range(FILLER_PER_NODE)])
        t2 = time.time()
        self.nodes = size
        log(f"{len(new)} nodes in {t1 - t0:.0f}s, {len(new) * FILLER_PER_NODE} filler pods in {t2 - t1:.0f}s")
        self.converge(size)
        log(f"converged at {size} nodes after {time.time() - t0:.0f}s")

    def expected(self, size: int) -> dict:
        return {"agent-all": size, "agent-half": len(range(0, size, 2)), "agent-tenth": len(range(0, size, 10)),
                "roller": len(range(0, size, 10))}

    def converge(self, size: int, timeout: float = 1200) -> None:
        want = self.expected(size)
        end = time.time() + timeout
        last = ""
        while True:
            dss = {d["metadata"]["name"]: d
                   for d in self.get_json(f"/apis/apps/v1/namespaces/{NS}/daemonsets")["items"]}
            state = {n: _ds_done(dss.get(n), w) for n, w in want.items()}
            pending = self.kubectl("get", "pods", "-n", FILLER_NS, "--field-selector=status.phase!=Running",
                                   "-o", "name", "--chunk-size=500").split()
            msg = f"daemonsets {state}, filler pods not Running {len(pending)}"
            if all(v == "done" for v in state.values()) and not pending:
                return
            if msg != last:
                log(f"waiting: {msg}")
                last = msg
            if time.time() > end:
                raise RuntimeError(f"no convergence at {size} nodes: {msg}")
            time.sleep(3)

    # --- measures -----------------------------------------------------------------------------

    def measure_size(self, size: int) -> dict:
        time.sleep(SETTLE)
        out = {"nodes": size, "pods": self.count_pods(), "load_before": os.getloadavg()}
        log(f"measuring at {size} nodes ({out['pods']} pods), load {out['load_before']}")
        self.quiet_reads = True
        try:
            self.measure_reads(out, size)
        finally:
            self.quiet_reads = False
        out["rollout"] = self.rollouts()
        out["load_after"] = os.getloadavg()
        return out

    def measure_reads(self, out: dict, size: int) -> None:
        """The read measures on each profile: loopback's at the top level of `out` (the keys of
        earlier runs), the WAN profile's under out["wan"]."""
        for profile in self.envs:
            where = out if profile == "loopback" else out.setdefault(profile, {})
            self.measure_profile(where, profile)
        out["help"] = self.repeated([str(KBIN / "kubectl"), "ds", "--help"], n=max(self.repeat, 5))
        out["help_direct"] = self.repeated([str(self.shim / "kubectl-ds"), "--help"], n=max(self.repeat, 5))

    def floor_argv(self, paths: list[str], concurrent: bool, profile: str) -> list[str]:
        server = self.wan_server if profile == "wan" else self.server
        return [sys.executable, str(ROOT / "bench" / "floor.py"), "--server", server, "--token", self.token,
                *(["--ca", self.ca] if self.ca else []), *(["--concurrent"] if concurrent else []), *paths]

    def measure_profile(self, out: dict, profile: str) -> None:
        env = self.envs[profile]
        k = [str(KBIN / "kubectl")]
        ds = k[0]
        sel = "app=agent-all"
        node_name = f"{NODE_PREFIX}{0}"   # on every DaemonSet's node set
        q = urllib.parse.quote
        # the API pages each command reads (source/live.py, commands/*.py), for the raw-bytes floor
        every_ds = self.get_json("/apis/apps/v1/daemonsets")["items"]
        pages = {
            "diff": (["/version", f"/apis/apps/v1/namespaces/{NS}/daemonsets/agent-all", "/api/v1/nodes",
                      f"/api/v1/namespaces/{NS}/pods?labelSelector={q(sel)}",
                      f"/apis/apps/v1/namespaces/{NS}/controllerrevisions?labelSelector={q(sel)}"], False),
            "diff_all": (["/version", "/apis/apps/v1/daemonsets", "/api/v1/nodes", "/apis/apps/v1/controllerrevisions"]
                         + [f"/api/v1/namespaces/{d['metadata']['namespace']}/pods?labelSelector="
                            + q(",".join(f"{a}={b}" for a, b in sorted(d["spec"]["selector"]["matchLabels"].items())))
                            for d in every_ds], False),
            "why": (["/version", f"/api/v1/nodes/{node_name}", "/apis/apps/v1/daemonsets",
                     f"/api/v1/pods?fieldSelector={q('spec.nodeName=' + node_name)}",
                     f"/api/v1/pods?fieldSelector={q('spec.nodeName=')}", "/apis/apps/v1/controllerrevisions"], True),
        }
        measures = {
            "diff": ([ds, "ds", "diff", "agent-all", "-n", NS],
                     [k + ["get", "nodes", "-o", "json"], k + ["get", "pods", "-n", NS, "-l", sel, "-o", "json"]],
                     None, 1),
            "diff_all": ([ds, "ds", "diff", "-A"], [k + ["get", "ds,nodes,pods", "-A", "-o", "json"]],
                         min(self.repeat, 3), 1),   # kubectl: minutes each at 5,000 nodes
            "why": ([ds, "ds", "why", node_name],
                    [k + ["get", "node", node_name, "-o", "json"],
                     k + ["get", "pods", "-A", f"--field-selector=spec.nodeName={node_name}", "-o", "json"]],
                    None, 2),
        }
        for key, (argv, kubectl_argvs, kubectl_n, more) in measures.items():
            n = more * self.repeat
            out[key] = self.repeated(argv, n=n, env=env)
            out[key + "_identity"] = self.repeated(argv, n=n, env=dict(env, KUBECTL_DS_ACCEPT_ENCODING="identity"))
            if profile in self.base_envs:
                out[key + "_base"] = self.repeated(argv, n=n, env=self.base_envs[profile])
            out[key + "_floor"] = self.repeated(*kubectl_argvs, n=kubectl_n, env=env)
            paths, concurrent = pages[key]
            out[key + "_raw"] = self.repeated(self.floor_argv(paths, concurrent, profile), n=n, env=env)
            log(f"{profile} {key}: {out[key]['seconds']:.2f}s; kubectl {out[key + '_floor']['seconds']:.2f}s; "
                f"raw floor {out[key + '_raw']['seconds']:.2f}s")

    def count_pods(self) -> int:
        meta = self.get_json("/api/v1/pods?limit=1")["metadata"]
        return 1 + int(meta.get("remainingItemCount") or 0)

    def rollouts(self) -> dict:
        runs = [self.rollout_once(i) for i in range(self.rollout_repeat)]
        keys = ("delay_after_status_done", "delay_after_last_ready", "kubectl_delay_after_status_done",
                "kubectl_delay_after_last_ready", "rollout_seconds", "rss_mb")
        ok = [r for r in runs if "error" not in r] or [{k: float("nan") for k in keys}]
        med = lambda key: round(statistics.median(r.get(key, float("nan")) for r in ok), 3)  # noqa: E731
        return {"delay_after_status_done": med("delay_after_status_done"),
                "delay_after_last_ready": med("delay_after_last_ready"),
                "kubectl_delay_after_status_done": med("kubectl_delay_after_status_done"),
                "kubectl_delay_after_last_ready": med("kubectl_delay_after_last_ready"),
                "rollout_seconds": med("rollout_seconds"), "rss_mb": med("rss_mb"), "runs": runs}

    def rollout_once(self, i: int) -> dict:
        """Patch roller's template, follow it with `kubectl ds rollout`, and time the exit."""
        watch = Watcher(self.env, NS)
        watch.start()
        try:
            patch = {"spec": {"template": {"metadata": {"annotations": {"bench/rev": f"{time.time()}"}}}}}
            t0 = time.time()
            ds = json.loads(self.kubectl("patch", "daemonset", "roller", "-n", NS, "--type=merge",
                                         "-p", json.dumps(patch), "-o", "json"))
            watch.generation = ds["metadata"]["generation"]
            argv = [str(KBIN / "kubectl"), "ds", "rollout", "roller", "-n", NS, "--timeout", "5m"]
            # kubectl's own `rollout status`, side by side: the same wait for the controller's status
            kubectl = subprocess.Popen([str(KBIN / "kubectl"), "rollout", "status", "ds/roller", "-n", NS,
                                        "--timeout", "5m"], env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            kubectl_exit = []
            waiter = threading.Thread(target=lambda: (kubectl.wait(), kubectl_exit.append(time.time())), daemon=True)
            waiter.start()
            with tempfile.TemporaryFile("w+") as out:
                _, rss, _, rc, err = self.run_timed(argv, stdout=out)
                t_exit = time.time()
                out.seek(0)
                tail = out.read().splitlines()[-12:]
            waiter.join(30)
            if kubectl.poll() is None:
                kubectl.kill()
            k_exit = kubectl_exit[0] if kubectl_exit and kubectl.returncode == 0 else float("nan")
            if rc != 0:   # recorded, not fatal: the run goes on and says what happened
                st = json.loads(self.kubectl("get", "ds", "roller", "-n", NS, "-o", "json"))["status"]
                log(f"rollout {i} exited {rc} after {t_exit - t0:.0f}s: {' | '.join(tail[-4:])} {err.strip()[:300]}")
                self.converge(self.nodes, timeout=600)   # let it finish before the next one
                return {"error": f"exit {rc}", "rollout_seconds": round(t_exit - t0, 3), "output": tail,
                        "stderr": err.strip()[:500], "ds_status": st}
            # the watch may lag the command by a hair: give it a moment to see the final state
            watch.done.wait(10)
            time.sleep(0.2)
            last_ready = max(watch.ready_at.values()) if watch.ready_at else float("nan")
            return {"delay_after_status_done": round(t_exit - (watch.status_done_at or float("nan")), 3),
                    "delay_after_last_ready": round(t_exit - last_ready, 3),
                    "kubectl_delay_after_status_done": round(k_exit - (watch.status_done_at or float("nan")), 3),
                    "kubectl_delay_after_last_ready": round(k_exit - last_ready, 3),
                    "rollout_seconds": round(t_exit - t0, 3), "rss_mb": round(rss, 1),
                    "new_pods_ready": len(watch.ready_at)}
        finally:
            watch.stop()


class Watcher:
    """The bench's own eyes on the rollout: `kubectl get --raw ...?watch=1` streams, one JSON
    event per line, each stamped with the wall time it arrived."""

    def __init__(self, env: dict, ns: str):
        self.env, self.ns = env, ns
        self.generation = None
        self.ready_at: dict = {}
        self.status_done_at = None
        self.done = threading.Event()
        self.procs = []

    def start(self) -> None:
        paths = [f"/apis/apps/v1/namespaces/{self.ns}/daemonsets?watch=1&fieldSelector=metadata.name%3Droller",
                 f"/api/v1/namespaces/{self.ns}/pods?watch=1&labelSelector=app%3Droller"]
        for path, fn in zip(paths, (self._ds, self._pod)):
            p = subprocess.Popen([str(KBIN / "kubectl"), "get", "--raw", path], env=self.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            self.procs.append(p)
            first = threading.Event()
            threading.Thread(target=self._read, args=(p, fn, first), daemon=True).start()
            if not first.wait(30):
                raise RuntimeError(f"watch {path} sent nothing")

    def _read(self, p, fn, first) -> None:
        for line in p.stdout:
            now = time.time()
            first.set()
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            fn(ev.get("object") or {}, now)

    def _ds(self, ds: dict, now: float) -> None:
        st, gen = ds.get("status") or {}, ds.get("metadata", {}).get("generation")
        if self.generation is None or gen != self.generation or self.status_done_at is not None:
            return
        desired = st.get("desiredNumberScheduled", -1)
        if (st.get("observedGeneration", 0) >= gen and st.get("updatedNumberScheduled") == desired
                and st.get("numberAvailable") == desired):
            self.status_done_at = now
            self.done.set()

    def _pod(self, pod: dict, now: float) -> None:
        if self.generation is None:
            return
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get("pod-template-generation") != str(self.generation):
            return
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or ())
        if ready and meta.get("uid") not in self.ready_at:
            self.ready_at[meta["uid"]] = now

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def _ds_done(ds: dict | None, want: int) -> str:
    if ds is None:
        return "absent"
    st = ds.get("status") or {}
    if st.get("observedGeneration", 0) < ds["metadata"].get("generation", 0):
        return "unobserved"
    vals = [st.get(k, 0) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                   "updatedNumberScheduled", "numberAvailable")]
    return "done" if vals == [want] * 5 else "/".join(map(str, vals))


# --- objects -------------------------------------------------------------------------------------

def node(i: int) -> dict:
    name = f"{NODE_PREFIX}{i}"
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "type": "kwok", "topology.kubernetes.io/zone": f"zone-{i % 3}"}
    if i % 2 == 0:
        labels[LABEL + "half"] = "true"
    if i % 10 == 0:
        labels[LABEL + "tenth"] = "true"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
            "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                       "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}}}


def _container(name: str) -> dict:
    return {"name": name, "image": f"registry.example/{name}:1.0",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}}


def filler(i: int, j: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"filler-{i}-{j}", "namespace": FILLER_NS,
                         "labels": {"app": "filler", "slot": str(j)}},
            "spec": {"nodeName": f"{NODE_PREFIX}{i}", "containers": [_container("app")],
                     "tolerations": [{"operator": "Exists"}]}}


def daemonset(name: str, label: str | None, max_unavailable=None) -> dict:
    spec = {"containers": [_container(name)]}
    if label:
        spec["nodeSelector"] = {LABEL + label: "true"}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": name, "namespace": NS},
          "spec": {"selector": {"matchLabels": {"app": name}},
                   "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if max_unavailable:
        ds["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}}
    return ds


# --- report --------------------------------------------------------------------------------------

def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    kubectl_version = ""
    try:
        out = subprocess.run([str(KBIN / "kubectl"), "version", "--client", "-o", "json"],
                             capture_output=True, text=True).stdout
        kubectl_version = json.loads(out)["clientVersion"]["gitVersion"]
    except (OSError, ValueError, KeyError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "kernel": platform.release(), "kubectl": kubectl_version}


PROFILES = ("loopback", "wan")
READS = [("diff", "ds diff NAME", "kubectl get nodes; get pods -l", "<=1.5x", "WAN <=1x"),
         ("diff_all", "ds diff -A", "kubectl get ds,nodes,pods -A", "<=1.5x", "WAN <=1x"),
         ("why", "ds why NODE", "kubectl get node; get pods --field-selector", "", "<=2x")]


def table(results: list, markdown: bool = False) -> str:  # noqa: C901 - one small helper per kind of cell
    """One column per size and profile (loopback, WAN); a cell is `wall (cpu) rss`: median wall
    seconds, CPU seconds, peak MB. Runs from before the WAN profile have loopback columns only."""
    profiles = [p for p in PROFILES if p == "loopback" or any(p in r for r in results)]
    cols = [(r, p) for r in results for p in profiles]
    rows = [("measure", "target") + tuple(f"{r['nodes']:,} nodes{'' if len(profiles) == 1 else ' ' + p}"
                                          for r, p in cols)]

    def data(r, p):
        return r if p == "loopback" else r.get(p) or {}

    def cell(d, key):
        x = d.get(key)
        if not x:
            return "-"
        return f"{x['seconds']:.2f}s ({x['cpu_seconds']:.2f}) {x['rss_mb']:.0f}MB"

    def ratio(d, a, b):
        if not d.get(a) or not d.get(b):
            return "-"
        return f"{d[a]['seconds'] / d[b]['seconds']:.2f}x"

    def mb(d, key):
        x = d.get(key) or {}
        return f"{x['bytes_down'] / 1e6:.2f}" if "bytes_down" in x else "-"

    def per_node(r, p, key):
        i = results.index(r)
        if i == 0:
            return "-"
        prev, cur = data(results[i - 1], p).get(key), data(r, p).get(key)
        if not prev or not cur:
            return "-"
        return f"{(cur['rss_mb'] - prev['rss_mb']) * 1024 / (r['nodes'] - results[i - 1]['nodes']):.1f}KB"

    def flat(r, p, key):
        first, cur = data(results[0], p).get(key), data(r, p).get(key)
        return f"{cur['seconds'] / first['seconds']:.2f}x" if first and cur else "-"

    spec = []
    for key, label, kubectl_label, raw_target, kubectl_target in READS:
        spec += [
            (label, "", lambda r, p, k=key: cell(data(r, p), k)),
            ("  gzip off (KUBECTL_DS_ACCEPT_ENCODING=identity)", "",
             lambda r, p, k=key: cell(data(r, p), k + "_identity")),
            ("  before (--baseline)", "", lambda r, p, k=key: cell(data(r, p), k + "_base")),
            ("  " + kubectl_label, "", lambda r, p, k=key: cell(data(r, p), k + "_floor")),
            ("  raw-bytes floor (same pages, gzip, discarded)", "", lambda r, p, k=key: cell(data(r, p), k + "_raw")),
            ("  ratio to the raw-bytes floor", raw_target, lambda r, p, k=key: ratio(data(r, p), k, k + "_raw")),
            ("  ratio to kubectl", kubectl_target, lambda r, p, k=key: ratio(data(r, p), k, k + "_floor")),
            ("  MB down: now / gzip off / before / kubectl / raw", "",
             lambda r, p, k=key: " / ".join(mb(data(r, p), k + sfx) for sfx in ("", "_identity", "_base", "_floor",
                                                                                "_raw"))
             if p != "loopback" else "-"),
        ]
        if key == "why":
            spec.append(("  vs the smallest size", "<=1.2x", lambda r, p: flat(r, p, "why")))
        else:
            spec.append(("  peak RSS growth per node since the size before", "<=15KB",
                         lambda r, p, k=key: per_node(r, p, k)))

    def loopback_only(fn):
        return lambda r, p: fn(r) if p == "loopback" else "-"

    spec += [
        ("ds rollout: exit after status done", "<=1s", loopback_only(
            lambda r: f"{r['rollout']['delay_after_status_done']:.2f}s {r['rollout']['rss_mb']:.0f}MB")),
        ("  exit after last new pod Ready", "",
         loopback_only(lambda r: f"{r['rollout']['delay_after_last_ready']:.2f}s")),
        ("  kubectl rollout status: after status done / last Ready", "", loopback_only(
            lambda r: "-" if "kubectl_delay_after_last_ready" not in r["rollout"] else
            f"{r['rollout']['kubectl_delay_after_status_done']:.2f}s / "
            f"{r['rollout']['kubectl_delay_after_last_ready']:.2f}s")),
        ("  whole rollout (patch to exit)", "", loopback_only(lambda r: f"{r['rollout']['rollout_seconds']:.1f}s")),
        ("kubectl ds --help", "<=0.3s", loopback_only(lambda r: cell(r, "help"))),
        ("  kubectl-ds --help (no kubectl)", "", loopback_only(lambda r: cell(r, "help_direct"))),
        ("pods in the cluster", "", loopback_only(lambda r: f"{r['pods']:,}")),
        ("load average (1m) before / after", "",
         loopback_only(lambda r: f"{r['load_before'][0]:.1f} / {r['load_after'][0]:.1f}")),
    ]
    for label, target, fn in spec:
        row = tuple(fn(r, p) for r, p in cols)
        if all(c == "-" for c in row):
            continue   # a measure this run did not take (an older run's JSON)
        rows.append((label, target) + row)
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(c.replace("  ", "&nbsp;&nbsp;", 1) if c.startswith("  ") else c
                                    for c in row) + " |" for row in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def write(path: str, started: float, results: list, settings: dict | None = None) -> dict:
    doc = {"taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(), **(settings or {}),
           "wall_seconds": round(time.time() - started), "filler_pods_per_node": FILLER_PER_NODE,
           "cluster_env": CLUSTER_ENV, "results": results}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000,5000", help="node counts, growing (default 100,1000,5000)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each measure; the median is reported")
    ap.add_argument("--rollout-repeat", type=int, default=3)
    ap.add_argument("--out", default=str(RESULTS / "latest.json"))
    ap.add_argument("--keep", action="store_true", help="leave the cluster running (and its directory)")
    ap.add_argument("--report", metavar="JSON", help="print the table of an earlier run as Markdown, and exit")
    ap.add_argument("--wan-mbit", type=float, default=100.0, help="WAN profile bandwidth each way (default 100)")
    ap.add_argument("--wan-rtt-ms", type=float, default=20.0, help="WAN profile round-trip time (default 20)")
    ap.add_argument("--no-wan", action="store_true", help="loopback only")
    ap.add_argument("--baseline", default="main", metavar="REF",
                    help="also measure the plugin as it was at this git ref (default main; 'none': not)")
    args = ap.parse_args()
    if args.report:
        print(table(json.loads(Path(args.report).read_text())["results"], markdown=True))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if not (KBIN / "kube-apiserver").exists():
        print(f"error: {KBIN}/kube-apiserver is missing; run hack/cluster.sh build first", file=sys.stderr)
        return 2
    run_dir = Path(tempfile.mkdtemp(prefix="kds-bench-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so that `finally` stops the cluster
    bench = Bench(run_dir, args.repeat, args.rollout_repeat)
    started = time.time()
    results: list = []
    settings = {"wan": None if args.no_wan else {"mbit": args.wan_mbit, "rtt_ms": args.wan_rtt_ms},
                "baseline": None if args.baseline == "none" else args.baseline,
                "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                         capture_output=True, text=True).stdout.strip()}
    try:
        bench.make_shim()
        bench.up()
        bench.read_kubeconfig()
        if not args.no_wan:
            bench.start_wan(args.wan_mbit, args.wan_rtt_ms)
        if args.baseline != "none":
            bench.make_baseline(args.baseline)
        bench.setup()
        bench.warm_up()
        for size in sizes:
            bench.grow(size)
            results.append(bench.measure_size(size))
            log(f"{size} nodes measured")
            print(table(results), file=sys.stderr)
            write(args.out, started, results, settings)   # after each size: a failure later keeps these
    finally:
        bench.stop_wan()
        if args.keep:
            log(f"cluster kept: export KUBECONFIG={bench.kubeconfig}; stop it with "
                f"KDS_RUN={run_dir / 'cluster'} hack/cluster.sh down")
        else:
            bench.down()
            shutil.rmtree(run_dir, ignore_errors=True)
    doc = write(args.out, started, results, settings)
    print(table(results))
    print(f"\n{doc['machine']['cpu']}, {doc['machine']['cores']} cores, {doc['machine']['memory']}; "
          f"Python {doc['machine']['python']}, kubectl {doc['machine']['kubectl']}; "
          f"whole run {doc['wall_seconds']}s; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
