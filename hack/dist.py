#!/usr/bin/env python3
"""Build the krew archive of kubectl-ds, reproducibly, and pin its sha256 in plugin.yaml.

    python3 hack/dist.py            build dist/kubectl-ds-vX.Y.Z.tar.gz, rewrite plugin.yaml
    python3 hack/dist.py --check    build into a temporary directory; exit 1 if plugin.yaml differs
    python3 hack/dist.py lock       re-resolve hack/dist-requirements.txt (pure-Python wheels, hashes)

The archive holds one zipapp, `kubectl-ds` (the package and every dependency, pure Python: one
archive for every OS and CPU), the completion helper `kubectl_complete-ds`, and LICENSE. The
dependencies are the wheels pinned by hash in hack/dist-requirements.txt (pip download verifies
them); PyYAML ships no pure wheel, so only its Python modules are taken (its C extension is
optional). Entries are sorted, timestamps fixed and the gzip header carries no time or name, so the
same sources and lock give the same bytes, hence the same sha256.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
HACK = ROOT / "hack"
LOCK = HACK / "dist-requirements.txt"
MANIFEST = ROOT / "plugin.yaml"
CACHE = Path(os.environ.get("KDS_CACHE", Path.home() / ".cache" / "kubectl-ds")) / "wheels"
SHEBANG = b"#!/usr/bin/env python3\n"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)      # the earliest time a zip entry can carry
TAR_TIME = 315532800                  # the same instant (1980-01-01T00:00:00Z)
MIN_PYTHON = "3.9"
# The wheels' target for `pip download`: the oldest Python we support; pure wheels are preferred
# through their pinned hashes, and the one non-pure wheel (PyYAML) is a fixed manylinux one.
PIP_TARGET = ["--only-binary=:all:", "--python-version", MIN_PYTHON, "--implementation", "cp",
              "--abi", "cp39", "--abi", "none", "--platform", "manylinux2014_x86_64", "--platform", "any"]
# Top-level requirements for `lock`: setup.cfg's, tightened to what a Python 3.9 zipapp can carry.
LOCK_INPUT = ["kubernetes>=24.2.0,<36", "click>=8.0", "tabulate>=0.8", "PyYAML>=5.4",
              "python-dateutil<3"]   # dateutil 3 pulls in tzdata (350 kB) that the client never uses
OPTIONAL_EXTENSIONS = {"pyyaml": ("_yaml/",)}   # C accelerators with a pure fallback: left out


def version() -> str:
    text = (ROOT / "kubectl_ds" / "__init__.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def archive_name(ver: str) -> str:
    return f"kubectl-ds-v{ver}.tar.gz"


# --- dependencies --------------------------------------------------------------------------

def download_wheels(dest: Path = CACHE) -> List[Path]:
    """The locked wheels, fetched by pip (hash-checked) into `dest`; pip's cache makes reruns free."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--require-hashes", "-r", str(LOCK), "-d", str(dest), *PIP_TARGET], check=True)
    wanted = {}
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if m:
            wanted[_norm(m.group(1))] = m.group(2)
    wheels = []
    for whl in sorted(dest.glob("*.whl")):
        name, ver = whl.name.split("-")[:2]
        if wanted.get(_norm(name)) == ver:
            wheels.append(whl)
    missing = set(wanted) - {_norm(w.name.split("-")[0]) for w in wheels}
    if missing:
        raise SystemExit(f"dist: wheels missing after pip download: {sorted(missing)}")
    return wheels


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_files(whl: Path) -> Dict[str, bytes]:
    """What installing the wheel would put in site-packages, minus compiled and install-only files."""
    project = _norm(whl.name.split("-")[0])
    out = {}
    with zipfile.ZipFile(whl) as zf:
        for name in zf.namelist():
            if name.endswith("/"):
                continue
            path = name
            m = re.match(r"^[^/]+\.data/(purelib|platlib|scripts|headers|data)/(.*)$", name)
            if m:
                if m.group(1) not in ("purelib", "platlib"):
                    continue
                path = m.group(2)
            if re.match(r"^[^/]+\.dist-info/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$", path):
                continue
            if path.endswith((".so", ".pyd", ".dylib")) or path.startswith(OPTIONAL_EXTENSIONS.get(project, ())):
                if project not in OPTIONAL_EXTENSIONS:
                    raise SystemExit(f"dist: {whl.name} is not pure Python ({path}); pin a pure version")
                continue
            out[path] = zf.read(name)
    return out


def package_files() -> Dict[str, bytes]:
    """kubectl_ds's modules, as `pip install .` takes them (Python files only)."""
    pkg = ROOT / "kubectl_ds"
    return {p.relative_to(ROOT).as_posix(): p.read_bytes()
            for p in sorted(pkg.rglob("*.py")) if "__pycache__" not in p.parts}


# --- archives --------------------------------------------------------------------------------

def build_zipapp(files: Dict[str, bytes]) -> bytes:
    """A zipapp (as `python -m zipapp` makes) whose __main__ unpacks to a cache on first run."""
    build_id = hashlib.sha256()
    for name in sorted(files):
        build_id.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    boot = (HACK / "zipapp_boot.py").read_bytes().replace(b"@BUILD_ID@", build_id.hexdigest()[:16].encode())
    entries = dict(files)
    entries["_kubectl_ds_boot.py"] = boot
    entries["__main__.py"] = b'import _kubectl_ds_boot\n\n_kubectl_ds_boot.run("kubectl_ds.cli")\n'
    buf = io.BytesIO()
    buf.write(SHEBANG)
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3                       # unix, whatever the build machine
            info.external_attr = 0o100644 << 16
            zf.writestr(info, entries[name], compresslevel=9)
    return buf.getvalue()


def build_tar_gz(members: List[Tuple[str, bytes, int]]) -> bytes:
    """A .tar.gz of (name, data, mode) in the given order: fixed owner and times, no gzip name/time."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, TAR_TIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def build(out_dir: Path) -> Path:
    """Build the krew archive into out_dir; returns its path."""
    files = package_files()
    for whl in download_wheels():
        for name, data in wheel_files(whl).items():
            if name in files:
                raise SystemExit(f"dist: {name} is in two wheels")
            files[name] = data
    app = build_zipapp(files)
    members = [("LICENSE", (ROOT / "LICENSE").read_bytes(), 0o644),
               ("kubectl-ds", app, 0o755),
               ("kubectl_complete-ds", (HACK / "kubectl_complete-ds").read_bytes(), 0o755)]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / archive_name(version())
    path.write_bytes(build_tar_gz(members))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- plugin.yaml -----------------------------------------------------------------------------

def pin_manifest(text: str, ver: str, digest: str) -> str:
    """plugin.yaml with spec.version, every platform's uri version and sha256 set; nothing else."""
    text = re.sub(r"(?m)^(  version: ).*$", rf"\g<1>v{ver}", text)
    text = re.sub(r"(?m)^(\s+uri: \S*/)v[^/\s]+/kubectl-ds-v[^/\s]+\.tar\.gz$",
                  rf"\g<1>v{ver}/{archive_name(ver)}", text)
    return re.sub(r"(?m)^(\s+sha256: ).*$", rf"\g<1>{digest}", text)


def lock() -> None:
    """Re-resolve the zipapp's dependencies for Python 3.9 and write the lock with hashes."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "-d", tmp, *PIP_TARGET, *LOCK_INPUT], check=True)
        lines = []
        for whl in sorted(Path(tmp).glob("*.whl"), key=lambda p: _norm(p.name)):
            name, ver = whl.name.split("-")[:2]
            if not whl.name.endswith("-none-any.whl") and _norm(name) not in OPTIONAL_EXTENSIONS:
                pure = Path(tmp) / "pure"
                subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(pure),
                                "--only-binary=:all:", "--platform", "any", "--implementation", "py",
                                "--abi", "none", "--python-version", MIN_PYTHON, f"{name}=={ver}"], check=True)
                whl = next(pure.glob(f"{name}-{ver}-*.whl"))
            lines.append(f"{_norm(name)}=={ver} --hash=sha256:{sha256(whl)}  # {whl.name}")
    LOCK.write_text("# The kubectl-ds zipapp's dependencies (hack/dist.py lock; Python 3.9+, pure Python)\n"
                    + "\n".join(lines) + "\n")
    print(f"dist: wrote {LOCK.relative_to(ROOT)} ({len(lines)} wheels)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", nargs="?", choices=["build", "lock"], default="build")
    ap.add_argument("--out", type=Path, default=ROOT / "dist", help="where the archive goes (default dist/)")
    ap.add_argument("--check", action="store_true", help="build in a temporary directory and compare with "
                    "plugin.yaml instead of rewriting it (exit 1 when they differ)")
    args = ap.parse_args(argv)
    if args.action == "lock":
        lock()
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            digest = sha256(build(Path(tmp)))
        text = MANIFEST.read_text()
        if pin_manifest(text, version(), digest) != text:
            print(f"dist: plugin.yaml is stale (fresh build sha256 {digest}): run `make dist`", file=sys.stderr)
            return 1
        print(f"dist: plugin.yaml matches a fresh build ({digest})")
        return 0
    path = build(args.out)
    digest = sha256(path)
    MANIFEST.write_text(pin_manifest(MANIFEST.read_text(), version(), digest))
    print(f"dist: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
          f"({path.stat().st_size} bytes) sha256 {digest}; plugin.yaml updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
