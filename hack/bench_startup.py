#!/usr/bin/env python3
"""Start-up times of kubectl-ds as pip installs it and as the krew zipapp runs (README's Install table).

    python3 hack/bench_startup.py [ARCHIVE] [--python PY]... [--runs N]

ARCHIVE defaults to dist/kubectl-ds-vX.Y.Z.tar.gz (`make dist`). Prints a Markdown table of the
median (and fastest) wall time of N runs per case, each in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "hack"))
import dist  # noqa: E402

SNAPSHOT = str(ROOT / "examples" / "snapshot.json")


def timed(cmd, env, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("archive", nargs="?", type=Path, default=ROOT / "dist" / dist.archive_name(dist.version()))
    ap.add_argument("--python", action="append", default=None)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    pythons = args.python or [sys.executable]
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(args.archive) as tf:
            tf.extractall(tmp)
        app, helper = os.path.join(tmp, "kubectl-ds"), os.path.join(tmp, "kubectl_complete-ds")
        print("| Python | case | median | fastest |\n|---|---|---|---|")
        for py in pythons:
            ver = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
            env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, f"cache-{ver}"))
            cold = []
            for i in range(min(args.runs, 5)):      # first run: unpack and compile what --help needs
                cold_env = dict(env, XDG_CACHE_HOME=os.path.join(tmp, f"cold-{ver}-{i}"))
                cold.append(timed([py, app, "--help"], cold_env, 1)[0])
            entry = os.path.join(os.path.dirname(os.path.realpath(py)), "kubectl-ds")
            cases = [("`python3 -c pass` (the interpreter alone)", [py, "-c", "pass"], env)]
            if os.path.exists(entry):
                cases += [("pip entry point `kubectl-ds --help`", [entry, "--help"], env),
                          ("pip entry point `kubectl-ds --version`", [entry, "--version"], env)]
            Path(tmp, "a-file").touch()   # a cache directory that cannot be created
            blocked = dict(env, KUBECTL_DS_CACHE_DIR=os.path.join(tmp, "a-file", "cache"))
            cases += [("zipapp `--help`, warm cache", [py, app, "--help"], env),
                      ("zipapp `--version`, warm cache", [py, app, "--version"], env),
                      ("zipapp `why cp-1 --snapshot`, warm cache", [py, app, "why", "cp-1", "--snapshot", SNAPSHOT],
                       env),
                      ("zipapp `kubectl_complete-ds why --snapshot … w`", [py, helper, "why", "--snapshot",
                                                                           SNAPSHOT, "w"], env),
                      ("zipapp `--help`, no cache (runs from the zip)", [py, app, "--help"], blocked)]
            print(f"| {ver} | zipapp `--help`, first run (unpacks) | {statistics.median(cold):.3f} s | "
                  f"{min(cold):.3f} s |")
            for label, cmd, e in cases:
                timed(cmd, e, 1)
                med, fast = timed(cmd, e, args.runs)
                print(f"| {ver} | {label} | {med:.3f} s | {fast:.3f} s |")
            where = next(Path(env["XDG_CACHE_HOME"]).glob("kubectl-ds/zipapp/*"))
            pre = "import sys; sys.dont_write_bytecode = False; sys.path.insert(0, sys.argv[1]); "
            whole = [py, "-c", pre + "import kubernetes.client, kubernetes.config", str(where)]
            # what a live command imports: the lazy packages of kubectl_ds/source/client.py
            plugin = [py, "-c", pre + "import kubectl_ds.source.live, kubernetes.config", str(where)]
            first = timed(whole, env, 1)[0]
            med, fast = timed(whole, env, args.runs)
            print(f"| {ver} | import of the whole vendored kubernetes client: first use (compiles) | {first:.3f} s | |")
            print(f"| {ver} | import of the whole vendored kubernetes client: afterwards | {med:.3f} s "
                  f"| {fast:.3f} s |")
            med, fast = timed(plugin, env, args.runs)
            print(f"| {ver} | what a live command imports (live source, lazy client, kubeconfig loader) | "
                  f"{med:.3f} s | {fast:.3f} s |")

if __name__ == "__main__":
    main()
