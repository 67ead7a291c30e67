"""Shell completion (`kubectl_complete-ds`): the click tree, the snapshot, kubeconfig contexts, deadlines."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time

import pytest
import yaml

from kubectl_ds import completion
from kubectl_ds.completion import FILTER_FILE_EXT, NO_FILE, complete
from tests.conftest import EXAMPLE
from tests.dist.conftest import run

NODES = ["cp-1", "gpu-1", "worker-1", "worker-2", "worker-3", "worker-4", "worker-5"]
SNAP = ["--snapshot", EXAMPLE]


def values(comps):
    return [c.split("\t")[0] for c in comps]


@pytest.mark.parametrize("words, incomplete, expected", [
    ([], "w", ["why"]),
    (["why", *SNAP], "", NODES),
    (["why", *SNAP], "worker-", NODES[2:]),
    ([*SNAP, "why"], "g", ["gpu-1"]),
    (["diff", *SNAP, "-A"], "", ["gpu-device-plugin", "log-agent", "net-agent", "node-exporter"]),
    (["diff", *SNAP, "-n", "logging"], "", ["log-agent"]),
    (["diff", *SNAP, "--namespace=monitoring"], "", ["node-exporter"]),
    (["-n", "kube-system", *SNAP, "diff"], "", ["gpu-device-plugin", "net-agent"]),
    (["diff", *SNAP], "", []),                      # the snapshot's "default" namespace has none
    (["why", "cp-1", *SNAP, "-A", "-d"], "lo", ["log-agent"]),
    (["why", "cp-1", *SNAP, "-d"], "", ["gpu-device-plugin", "log-agent", "net-agent", "node-exporter"]),
    (["why", "cp-1", *SNAP, "-n"], "", ["kube-system", "logging", "monitoring"]),
    (["why", "cp-1", *SNAP], "--namespace=l", ["--namespace=logging"]),
    (["why", "cp-1", *SNAP, "-nlogging", "-d"], "", ["log-agent"]),
    (["why", "cp-1", *SNAP], "", []),               # NODE given: nothing more to name
    (["why", "-o"], "", ["table", "wide", "json", "yaml"]),
    (["why"], "--output=j", ["--output=json"]),
], ids=["subcommand-prefix", "why-nodes", "why-node-prefix", "global-options-first",
        "diff-all-namespaces", "diff-namespace", "diff-namespace-equals", "namespace-before-subcommand",
        "diff-default-namespace", "why-daemonset-all", "why-daemonset-every-namespace", "namespaces",
        "namespace-equals-prefix", "short-option-attached-value", "why-node-given", "output-formats",
        "output-equals"])
def test_complete_names_from_the_snapshot(words, incomplete, expected):
    comps, directive = complete(words, incomplete)
    assert values(comps) == expected
    assert directive == NO_FILE


def test_complete_every_subcommand_with_its_short_help():
    from kubectl_ds.cli import root
    comps, directive = complete([], "")
    assert values(comps) == sorted(n for n, c in root.commands.items() if not c.hidden)
    assert {"why", "diff"} <= set(values(comps))
    assert "why\tExplain why DaemonSets do or do not run on NODE." in comps
    assert directive == NO_FILE


def _tree():
    """A root with a nested group, the shape of `kubectl ds rollout [status|history] NAME`."""
    import click

    from kubectl_ds.options import global_options

    @click.group()
    @global_options
    def root(**_):
        pass

    @root.group()
    def rollout():
        pass
    rollout.default_command_name = "status"   # `rollout NAME` means `rollout status NAME`

    @rollout.command()
    @click.argument("ds_name")
    @click.option("--revision", type=click.Choice(["1", "2"]))
    @global_options
    def history(ds_name, revision, **_):
        pass

    @rollout.command()
    @click.argument("ds_name")
    @global_options
    def status(ds_name, **_):
        pass
    return root


@pytest.mark.parametrize("words, incomplete, expected", [
    (["rollout", "-A", *SNAP], "", ["history", "status", "gpu-device-plugin", "log-agent", "net-agent",
                                    "node-exporter"]),
    (["rollout", "history", *SNAP, "-A"], "n", ["net-agent", "node-exporter"]),
    (["rollout", "-n", "logging", *SNAP], "l", ["log-agent"]),
    (["rollout", "history", "x", "--revision"], "", ["1", "2"]),
    (["rollout", "log-agent", "--"], "wat", []),
], ids=["group-subcommands-and-default-names", "group-argument", "group-default-command",
        "choice-values", "nothing-after-the-last-argument"])
def test_complete_nested_groups(words, incomplete, expected):
    assert values(complete(words, incomplete, root=_tree())[0]) == expected


def test_complete_flags_with_descriptions():
    comps, directive = complete(["why"], "--")
    flags = values(comps)
    assert {"--snapshot", "--namespace", "--context", "--kubeconfig", "--daemonset", "--output", "--help"} <= set(flags)
    assert "--version" not in flags          # a root-only option is not offered after a subcommand
    assert "--daemonset\tOnly this DaemonSet (in every namespace that has one, or only in -n's)." in comps
    assert "--version" in values(complete([], "--v")[0])
    assert directive == NO_FILE


def test_complete_files_for_snapshot_and_kubeconfig():
    assert complete(["why", "--snapshot"], "") == (["json", "yaml", "yml"], FILTER_FILE_EXT)
    assert complete(["why", "--kubeconfig"], "") == ([], 0)     # the shell's own file completion


def test_complete_contexts_from_the_kubeconfig_on_the_line(tmp_path, monkeypatch):
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump({"contexts": [{"name": "prod", "context": {}}, {"name": "dev", "context": {}}]}))
    assert values(complete(["--kubeconfig", str(kc), "why", "--context"], "")[0]) == ["dev", "prod"]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(kc), str(tmp_path / "missing")]))
    assert values(complete(["why", "--context"], "p")[0]) == ["prod"]


def test_complete_a_list_of_contexts_for_fleet_mode(tmp_path):
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump({"contexts": [{"name": n, "context": {}} for n in ("prod-eu", "prod-us", "dev")]}))
    line = ["--kubeconfig", str(kc), "diff", "--contexts"]
    assert values(complete(line, "prod")[0]) == ["prod-eu", "prod-us"]
    assert values(complete(line, "dev,prod-u")[0]) == ["dev,prod-us"]
    assert values(complete(line, "prod-*,^prod-e")[0]) == ["prod-*,^prod-eu"]


def test_slow_apiserver_gives_no_names_within_the_deadline(tmp_path):
    """A socket that accepts and never answers: the lookup is abandoned at the deadline."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    kc = tmp_path / "config"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{srv.getsockname()[1]}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    try:
        t0 = time.monotonic()
        assert complete(["why", "--kubeconfig", str(kc)], "", timeout=1.0) == ([], NO_FILE)
        assert time.monotonic() - t0 < 3.0
        # the executable exits at the deadline too, with the directive line
        t0 = time.monotonic()
        env = dict(os.environ, KUBECTL_DS_COMPLETION_TIMEOUT="1")
        out = run([sys.executable, "-c", "from kubectl_ds.completion import main; main()",
                   "diff", "--kubeconfig", kc, ""], env=env).stdout
        assert out == ":4\n" and time.monotonic() - t0 < 5.0
    finally:
        srv.close()


def test_broken_kubeconfig_gives_no_names(tmp_path):
    kc = tmp_path / "config"
    kc.write_text("{not yaml")
    assert complete(["why", "--kubeconfig", str(kc)], "") == ([], NO_FILE)


def test_console_script_is_installed_and_speaks_cobra():
    exe = shutil.which("kubectl_complete-ds")
    assert exe, "kubectl_complete-ds is not on PATH: `pip install -e .` installs it (setup.cfg entry point)"
    out = run([exe, "why", *SNAP, "worker-"]).stdout
    assert out == "worker-1\nworker-2\nworker-3\nworker-4\nworker-5\n:4\n"
    # cobra's own spelling (`kubectl-foo __complete ARGS`) is accepted as well
    assert run([exe, "__complete", "why", *SNAP, "gpu"]).stdout == "gpu-1\n:4\n"


def test_archive_completion_helper_uses_the_zipapp(unpacked, app_env, tmp_path):
    """The archive's kubectl_complete-ds, copied elsewhere, finds the zipapp through PATH."""
    helper = unpacked / "kubectl_complete-ds"
    assert run([sys.executable, helper, "why", *SNAP, "cp"], env=app_env).stdout == "cp-1\n:4\n"
    elsewhere = tmp_path / "bin"
    elsewhere.mkdir()
    shutil.copy(helper, elsewhere / "kubectl_complete-ds")
    os.symlink(unpacked / "kubectl-ds", elsewhere / "kubectl-ds")
    env = dict(app_env, PATH=f"{elsewhere}{os.pathsep}{os.environ['PATH']}")
    assert run([sys.executable, elsewhere / "kubectl_complete-ds", "diff", *SNAP, "-A", "log"],
               env=env).stdout == "log-agent\n:4\n"


def test_main_reports_a_bug_as_an_error_directive(monkeypatch, capsys):
    def broken(*_a, **_k):
        raise RuntimeError("bug")
    monkeypatch.setattr(completion, "complete", broken)
    completion.main(["why", ""])
    assert capsys.readouterr().out == ":1\n"
