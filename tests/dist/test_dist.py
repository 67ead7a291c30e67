"""The krew archive and manifest: reproducible, pinned, self-contained, and fast to start."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import tarfile
import time
import zipfile

import yaml

from kubectl_ds import __version__
from tests.conftest import EXAMPLE, ROOT
from tests.dist.conftest import dist, oldest_python, run

PLATFORMS = {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")}


def manifest() -> dict:
    return yaml.safe_load((ROOT / "plugin.yaml").read_text())


def test_manifest_has_what_krew_and_the_index_need():
    m = manifest()
    assert m["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert m["kind"] == "Plugin"
    assert m["metadata"]["name"] == "ds"
    spec = m["spec"]
    assert spec["version"] == f"v{__version__}"
    assert spec["homepage"].startswith("https://")
    assert 0 < len(spec["shortDescription"]) <= 50
    assert "kubectl ds why NODE" in spec["description"]
    assert "python3 (3.9 or newer)" in spec["caveats"]
    assert "kubectl_complete-ds" in spec["caveats"]
    seen = set()
    for p in spec["platforms"]:
        labels = p["selector"]["matchLabels"]
        seen.add((labels["os"], labels["arch"]))
        assert p["uri"].endswith(f"/v{__version__}/kubectl-ds-v{__version__}.tar.gz")
        assert p["bin"] == "kubectl-ds"
        assert {f["from"] for f in p["files"]} == {"kubectl-ds", "kubectl_complete-ds", "LICENSE"}
    assert PLATFORMS <= seen


def test_manifest_sha256_matches_a_fresh_build(archive):
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    stale = [p["selector"]["matchLabels"] for p in manifest()["spec"]["platforms"] if p["sha256"] != digest]
    assert not stale, f"plugin.yaml's sha256 differs from a fresh build ({digest}) for {stale}: run `make dist`"


def test_build_is_reproducible(archive, tmp_path):
    again = dist.build(tmp_path)
    assert again.read_bytes() == archive.read_bytes()


def test_check_mode_reports_a_stale_manifest(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "plugin.yaml"
    stale.write_text((ROOT / "plugin.yaml").read_text().replace("sha256: ", "sha256: 00", 1))
    monkeypatch.setattr(dist, "MANIFEST", stale)
    assert dist.main(["--check"]) == 1
    assert "plugin.yaml is stale" in capsys.readouterr().err
    monkeypatch.setattr(dist, "MANIFEST", ROOT / "plugin.yaml")
    assert dist.main(["--check"]) == 0


def test_archive_holds_the_zipapp_the_completion_helper_and_the_license(archive):
    with tarfile.open(archive) as tf:
        members = {m.name: m for m in tf.getmembers()}
        assert sorted(members) == ["LICENSE", "kubectl-ds", "kubectl_complete-ds"]
        assert members["kubectl-ds"].mode == members["kubectl_complete-ds"].mode == 0o755
        assert {m.mtime for m in members.values()} == {dist.TAR_TIME}
        assert b"Apache License" in tf.extractfile("LICENSE").read()


def test_zipapp_is_pure_python_and_complete(unpacked):
    app = unpacked / "kubectl-ds"
    assert app.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(app) as zf:
        names = zf.namelist()
    assert names == sorted(names)
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]
    assert not [n for n in names if n.startswith("_yaml/")]
    for module in ("__main__.py", "_kubectl_ds_boot.py", "kubectl_ds/cli.py", "kubectl_ds/completion.py",
                   "kubernetes/client/api/core_v1_api.py", "yaml/__init__.py", "click/core.py", "tabulate/__init__.py",
                   "urllib3/__init__.py", "certifi/cacert.pem"):
        assert module in names, module
    ours = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "kubectl_ds").rglob("*.py")
                  if "__pycache__" not in p.parts)
    assert [n for n in names if n.startswith("kubectl_ds/")] == ours


def test_zipapp_runs_with_the_oldest_python_and_no_site_packages(unpacked, app_env):
    """Python 3.9 with -S (no site-packages at all): everything comes from the zipapp."""
    py = oldest_python()
    app = unpacked / "kubectl-ds"
    out = run([py, "-S", app, "--version"], env=app_env).stdout
    assert out.strip() == f"kubectl-ds {__version__}"
    why = run([py, "-S", app, "why", "cp-1", "--snapshot", EXAMPLE], env=app_env).stdout
    assert why == (ROOT / "tests" / "golden" / "example.why-cp-1.table").read_text()
    helper = unpacked / "kubectl_complete-ds"
    assert run([py, "-S", helper, "why", "--snapshot", EXAMPLE, "cp"], env=app_env).stdout == "cp-1\n:4\n"
    doc = yaml.safe_load(run([py, "-S", app, "diff", "-A", "--snapshot", EXAMPLE, "-o", "yaml"], env=app_env,
                             expect=0).stdout)
    assert doc, "the vendored PyYAML (pure Python) renders -o yaml"
    # the live source imports the vendored client: an unreachable apiserver is one error line
    kubeconfig = unpacked.parent / "unreachable.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    err = run([py, "-S", app, "why", "n1", "--kubeconfig", kubeconfig, "--request-timeout", "2"], env=app_env,
              expect=2).stderr
    assert err.startswith("error: cannot reach the apiserver at https://127.0.0.1:9"), err


def test_zipapp_unpacks_once_per_build_and_runs_from_the_zip_without_a_cache(unpacked, app_env, tmp_path):
    app = unpacked / "kubectl-ds"
    run([sys.executable, app, "--help"], env=app_env)
    builds = list((tmp_path / "cache" / "kubectl-ds" / "zipapp").iterdir())
    assert len(builds) == 1 and (builds[0] / ".complete").exists()
    assert (builds[0] / "kubectl_ds" / "__pycache__").is_dir()   # bytecode cached despite the env
    # its own modules, not the editable install of this checkout nor anything in site-packages
    verbose = run([sys.executable, app, "--help"], env=dict(app_env, PYTHONVERBOSE="1")).stderr
    loaded = [line for line in verbose.splitlines() if "kubectl_ds/cli.py" in line or "click/core.py" in line]
    assert loaded and all(str(builds[0]) in line for line in loaded), loaded
    stale = builds[0].parent / "0000000000000000"
    stale.mkdir()
    marker = builds[0] / "kubectl_ds" / "cli.py"
    before = marker.stat().st_mtime_ns
    run([sys.executable, app, "--version"], env=app_env)
    assert marker.stat().st_mtime_ns == before and stale.exists()   # reused, not unpacked again
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    env = dict(app_env, KUBECTL_DS_CACHE_DIR=str(blocked / "cache"))
    out = run([sys.executable, app, "why", "cp-1", "--snapshot", EXAMPLE, "-o", "json"], env=env).stdout
    assert json.loads(out)["node"] == "cp-1"


def _help_imports(cmd, env) -> set:
    err = run([*cmd, "--help"], env=dict(env, PYTHONPROFILEIMPORTTIME="1")).stderr
    return {line.split("|")[-1].strip() for line in err.splitlines() if line.startswith("import time:")}


def test_help_imports_no_client(unpacked, app_env):
    for cmd in ([sys.executable, "-m", "kubectl_ds"], [sys.executable, unpacked / "kubectl-ds"]):
        _help_imports(cmd, app_env)   # first zipapp run unpacks
        modules = _help_imports(cmd, app_env)
        assert "kubectl_ds.commands.why" in modules, cmd   # (import_module itself is not logged)
        heavy = sorted(m for m in modules if m.split(".")[0] in ("kubernetes", "urllib3", "yaml", "requests"))
        assert not heavy, f"{cmd[-1]} --help imports {heavy}"


def test_help_is_fast(unpacked, app_env):
    """`--help` well under the 0.3 s target on an idle machine; the bound leaves room for a busy CI."""
    entry = os.path.join(os.path.dirname(os.path.realpath(sys.executable)), "kubectl-ds")
    for cmd in ([entry], [sys.executable, unpacked / "kubectl-ds"]):
        run([*cmd, "--help"], env=app_env)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            run([*cmd, "--help"], env=app_env)
            times.append(time.perf_counter() - t0)
        assert statistics.median(times) < 1.0, (cmd, times)
