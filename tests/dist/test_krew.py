"""The real krew and the real kubectl install, run, complete and uninstall the archive.

The krew steps are the README's own: the fenced block after the marker line in its Install
section is read and run, line by line, in a temporary KREW_ROOT, with a PATH holding only krew's
bin, kubectl, kubectl-krew and the system's python3 (no project packages on it: the zipapp must
bring everything). `make dist` is the fixture's fresh build; the archive path is swapped for it.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
import yaml

from kubectl_ds import __version__
from tests.conftest import ROOT
from tests.dist.conftest import run, tool

MARKER = "<!-- tests/dist/test_krew.py runs this block -->"
SYSTEM_PYTHON_DIRS = "/usr/bin:/bin"


def readme_krew_steps():
    text = (ROOT / "README.md").read_text()
    assert MARKER in text, "README's Install section lost the krew block's marker"
    block = re.search(r"```sh\n(.*?)```", text[text.index(MARKER):], re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


@pytest.fixture
def krew_env(tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    os.symlink(tool("kubectl"), tools / "kubectl")
    os.symlink(tool("krew"), tools / "kubectl-krew")        # how krew is installed as a kubectl plugin
    root = tmp_path / "krew"
    env = {"HOME": str(tmp_path / "home"), "KREW_ROOT": str(root), "KREW_NO_UPGRADE_CHECK": "1",
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1", "LANG": "C.UTF-8",
           "PATH": os.pathsep.join([str(root / "bin"), str(tools), SYSTEM_PYTHON_DIRS])}
    assert shutil.which("python3", path=SYSTEM_PYTHON_DIRS), "the system python3 is needed"
    # krew's first-time setup clones krew-index from GitHub (`kubectl krew update`); offline, the
    # same code clones an empty local index instead (KREW_DEFAULT_INDEX_URI). `install --manifest`
    # needs no index; `list` and `uninstall` refuse to run without one.
    index = tmp_path / "index"
    (index / "plugins").mkdir(parents=True)
    (index / "plugins" / ".keep").write_text("")
    git = ["git", "-C", index, "-c", "user.name=t", "-c", "user.email=t@localhost"]
    run([*git, "init", "-q"])
    run([*git, "add", "."])
    run([*git, "commit", "-q", "-m", "empty index"])
    env_with_git = dict(env, PATH=env["PATH"] + os.pathsep + os.path.dirname(shutil.which("git")),
                        KREW_DEFAULT_INDEX_URI=str(index))
    run([tool("kubectl"), "krew", "update"], env=env_with_git)
    return env


def bash(line: str, env: dict, expect=0):
    return run(["bash", "-c", line], env=env, expect=expect)


def test_readme_krew_install_runs_for_real(archive, krew_env):
    steps = readme_krew_steps()
    archive_arg = f"dist/kubectl-ds-v{__version__}.tar.gz"
    assert steps[0] == "make dist"
    assert steps[1] == f"kubectl krew install --manifest=plugin.yaml --archive={archive_arg}"
    root = krew_env["KREW_ROOT"]
    for step in steps[1:]:
        out = bash(step.replace(archive_arg, str(archive)), krew_env)
        if step.startswith("kubectl krew install"):
            assert "Installed plugin: ds" in out.stderr + out.stdout
            assert os.path.islink(f"{root}/bin/kubectl-ds")
            assert os.path.isfile(f"{root}/store/ds/v{__version__}/LICENSE")
        elif step.startswith("cp "):
            assert os.access(f"{root}/bin/kubectl_complete-ds", os.X_OK)
        elif step == "kubectl plugin list":
            assert f"{root}/bin/kubectl-ds" in out.stdout
            assert f"{root}/bin/kubectl_complete-ds" not in out.stdout   # a helper, not a plugin
        elif step == "kubectl ds --help":
            assert out.stdout.startswith("Usage: kubectl ds [OPTIONS] COMMAND [ARGS]...")
        elif step.startswith("kubectl ds why cp-1"):
            assert out.stdout == (ROOT / "tests" / "golden" / "example.why-cp-1.table").read_text()
        elif step.startswith("kubectl __complete ds"):
            assert out.stdout.splitlines() == ["worker-1", "worker-2", "worker-3", "worker-4", "worker-5", ":4"]
        elif step == "kubectl krew uninstall ds":
            assert not os.path.exists(f"{root}/bin/kubectl-ds")
            assert not os.path.exists(f"{root}/store/ds")
    assert [s.split()[:3] for s in steps].count(["kubectl", "krew", "uninstall"]) == 1


def test_through_kubectl_version_completion_and_errors(archive, krew_env):
    bash(f"kubectl krew install --manifest=plugin.yaml --archive={archive}", krew_env)
    assert bash("kubectl ds --version", krew_env).stdout == f"kubectl-ds {__version__}\n"
    assert bash("kubectl krew list", krew_env).stdout == "detached/ds\n"   # --manifest: no index
    # without kubectl_complete-ds on PATH kubectl offers files (directive 0); with it, the subcommands
    assert bash("kubectl __complete ds ''", krew_env).stdout.splitlines()[-1] == ":0"
    store = f"{krew_env['KREW_ROOT']}/store/ds/v{__version__}"
    os.symlink(f"{store}/kubectl_complete-ds", f"{krew_env['KREW_ROOT']}/bin/kubectl_complete-ds")
    out = bash("kubectl __complete ds ''", krew_env).stdout
    assert {"why", "diff"} <= {line.split("\t")[0] for line in out.splitlines()}
    out = bash("kubectl __complete ds diff -A --snapshot examples/snapshot.json n", krew_env).stdout
    assert out.splitlines() == ["net-agent", "node-exporter", ":4"]
    err = bash("kubectl ds why nowhere --snapshot examples/snapshot.json", krew_env, expect=2).stderr
    assert err == 'error: node "nowhere" not found\n'
    bash("kubectl krew uninstall ds", krew_env)


def test_krew_refuses_an_archive_whose_sha256_differs(archive, krew_env, tmp_path):
    tampered = tmp_path / "kubectl-ds.tar.gz"
    tampered.write_bytes(archive.read_bytes() + b"\0")
    out = bash(f"kubectl krew install --manifest=plugin.yaml --archive={tampered}", krew_env, expect=1)
    assert "checksum does not match" in out.stderr
    assert not os.path.exists(f"{krew_env['KREW_ROOT']}/bin/kubectl-ds")


def test_manifest_passes_krews_validator(tmp_path):
    """validate-krew-manifest, offline (--skip-install); the index names the file after the plugin."""
    manifest = tmp_path / "ds.yaml"
    shutil.copy(ROOT / "plugin.yaml", manifest)
    out = run([tool("validate-krew-manifest"), "-manifest", manifest, "-skip-install"])
    assert "structural validation OK" in out.stderr
    assert "no overlapping spec.platform[].selector" in out.stderr


@pytest.mark.parametrize("os_name, arch", [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"),
                                           ("darwin", "arm64")])
def test_every_platform_installs_and_extracts_the_license(archive, krew_env, tmp_path, os_name, arch):
    """What the validator's install step does per platform (KREW_OS/KREW_ARCH), with --archive."""
    manifest = tmp_path / "ds.yaml"
    shutil.copy(ROOT / "plugin.yaml", manifest)
    env = dict(krew_env, KREW_OS=os_name, KREW_ARCH=arch)
    bash(f"kubectl krew install --manifest={manifest} --archive={archive} -v=4", env)
    store = f"{krew_env['KREW_ROOT']}/store/ds/v{__version__}"
    assert sorted(os.listdir(store)) == ["LICENSE", "kubectl-ds", "kubectl_complete-ds"]
    receipt = yaml.safe_load(open(f"{krew_env['KREW_ROOT']}/receipts/ds.yaml"))
    assert receipt["status"]["source"]["name"] == "detached"      # --manifest: no index involved

