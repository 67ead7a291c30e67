"""docs/k9s-plugins.yaml: k9s's plugins.yaml format, keys free on their views, and every command line
run against the bundled example dump, as k9s would run it (its $VARIABLES replaced, --context swapped
for --snapshot): in-process through the CLI, and once each through sh with a `kubectl` on the PATH."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import EXAMPLE, ROOT

PLUGINS = ROOT / "docs" / "k9s-plugins.yaml"
# k9s's plugin fields (internal/config/plugin.go; its plugins.json schema requires the first four)
REQUIRED = {"shortCut", "description", "scopes", "command"}
FIELDS = REQUIRED | {"args", "background", "confirm", "dangerous", "override", "overwriteOutput", "pipes"}
# the keys k9s binds itself on each view (internal/view: table.go, browser.go, node.go, ds.go and the
# logs, image, restart, port-forward and owner extenders a DaemonSet view is built with); a plugin on
# one of them would be ignored unless it overrides k9s's own action
K9S_KEYS = {
    "nodes": {"c", "u", "r", "s", "y", "d", "e", "n", "Shift-R", "Shift-C", "Shift-M", "Shift-O", "Shift-X",
              "Shift-Z", "Shift-N", "Shift-A", "Ctrl-D", "Ctrl-R", "Ctrl-S", "Ctrl-W", "Ctrl-Z", "Ctrl-O"},
    "daemonsets": {"c", "n", "d", "e", "y", "l", "p", "i", "r", "Shift-D", "Shift-C", "Shift-R", "Shift-U",
                   "Shift-L", "Shift-N", "Shift-A", "Shift-F", "Shift-J", "Ctrl-D", "Ctrl-K", "Ctrl-R",
                   "Ctrl-S", "Ctrl-W", "Ctrl-Z", "Ctrl-O"},
}
# k9s: "Valid values are [a-z], Shift-[A-Z], Ctrl-[A-Z]"
SHORTCUT = re.compile(r"[a-z]|Shift-[A-Z]|Ctrl-[A-Z]")
# how k9s finds the variables in an argument (internal/view/env.go): an unknown one is an error there
K9S_VAR = re.compile(r"\$(!?[\w\-|]+)")
CONTEXT = "prod-eu"


def _plugins():
    return yaml.safe_load(PLUGINS.read_text())["plugins"]


def _dump():
    return json.loads(open(EXAMPLE).read())["items"]


def _substitute(arg: str, env: dict) -> str:
    """As k9s does: the longest variables first, each from the view's environment."""
    for var in sorted(K9S_VAR.findall(arg), key=len, reverse=True):
        assert var.upper() in env, f"k9s has no ${var} on this view"
        arg = arg.replace(f"${var}", env[var.upper()])
    return arg


def _kubectl_ds_argv(line: str):
    """The `kubectl ds ...` command of a plugin's shell line (before its pipe or `;`)."""
    first = re.split(r"[|;]", line, maxsplit=1)[0]
    argv = [w for w in shlex.split(first) if w != "2>&1"]
    assert argv[:2] == ["kubectl", "ds"], line
    return argv[2:]


def _with_snapshot(argv):
    i = argv.index("--context")
    assert argv[i + 1] == CONTEXT
    return argv[:i] + ["--snapshot", EXAMPLE] + argv[i + 2:]


def _envs(scope):
    """k9s's variables for every object of the bundled dump its view would list."""
    kind = {"nodes": "Node", "daemonsets": "DaemonSet"}[scope]
    return [{"NAME": o["metadata"]["name"], "NAMESPACE": o["metadata"].get("namespace", ""), "CONTEXT": CONTEXT}
            for o in _dump() if o.get("kind") == kind]


def test_the_file_is_in_k9s_plugins_format():
    doc = yaml.safe_load(PLUGINS.read_text())
    assert set(doc) == {"plugins"}
    for name, plugin in doc["plugins"].items():
        assert REQUIRED <= set(plugin) <= FIELDS, name
        assert SHORTCUT.fullmatch(plugin["shortCut"]), plugin["shortCut"]
        assert isinstance(plugin["description"], str) and plugin["description"]
        assert plugin["scopes"] and all(isinstance(s, str) for s in plugin["scopes"])
        assert all(isinstance(a, str) for a in plugin.get("args", []))
        assert plugin.get("background") is False     # in the terminal: the output is what the user wants


def test_keys_are_free_on_their_views_and_bind_what_the_issue_asks():
    bound = {}
    for plugin in _plugins().values():
        for scope in plugin["scopes"]:
            assert plugin["shortCut"] not in K9S_KEYS[scope], f"{plugin['shortCut']} is k9s's own on {scope}"
            assert (scope, plugin["shortCut"]) not in bound, f"{plugin['shortCut']} twice on {scope}"
            bound[(scope, plugin["shortCut"])] = _kubectl_ds_argv(plugin["args"][-1])[0]
    assert sorted((scope, cmd) for (scope, _), cmd in bound.items()) == [
        ("daemonsets", "diff"), ("daemonsets", "lint"), ("daemonsets", "rollout"), ("nodes", "why")]


@pytest.mark.parametrize("name", sorted(_plugins()))
def test_every_command_line_runs_on_every_object_of_the_dump(run_cli, name):
    plugin = _plugins()[name]
    assert plugin["command"] == "sh" and plugin["args"][0] == "-c"
    (scope,) = plugin["scopes"]
    envs = _envs(scope)
    assert envs
    for env in envs:
        argv = _kubectl_ds_argv(_substitute(plugin["args"][-1], env))
        assert env["NAME"] in argv and ("--context", CONTEXT) == tuple(argv[argv.index("--context"):][:2])
        if scope == "daemonsets":
            assert argv[argv.index("-n") + 1] == env["NAMESPACE"]
        res = run_cli(*_with_snapshot(argv), expect=None)
        assert res.code in (0, 1), f"{argv}: exit {res.code}\n{res.stderr}"    # an answer, never a usage error
        assert res.stdout.strip() and "error:" not in res.stderr


@pytest.mark.skipif(not (shutil.which("sh") and shutil.which("less")), reason="needs sh and less")
@pytest.mark.parametrize("name", sorted(_plugins()))
def test_the_shell_line_runs_as_k9s_runs_it(name, tmp_path):
    """k9s runs `sh -c LINE` with the variables replaced; `kubectl` here is a stand-in that runs this
    checkout's kubectl-ds on the example dump instead of the context (stdout is not a terminal, so
    less passes the text through)."""
    plugin = _plugins()[name]
    (scope,) = plugin["scopes"]
    env = _envs(scope)[0]
    shim = tmp_path / "kubectl"
    shim.write_text(f"#!{sys.executable}\n"
                    "import sys\n"
                    f"sys.path.insert(0, {str(ROOT)!r})\n"
                    "argv = sys.argv[1:]\n"
                    "assert argv[0] == 'ds', argv\n"
                    "i = argv.index('--context')\n"
                    f"argv[i:i + 2] = ['--snapshot', {EXAMPLE!r}]\n"
                    "from kubectl_ds.cli import main\n"
                    "main(argv[1:])\n")
    shim.chmod(0o755)
    line = _substitute(plugin["args"][-1], env)
    proc = subprocess.run([plugin["command"], *plugin["args"][:-1], line], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60,
                          env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
                               "LESS": "", "NO_COLOR": "1"})
    assert "error:" not in proc.stdout + proc.stderr and "not found" not in proc.stderr, proc.stderr
    assert env["NAME"] in proc.stdout or scope == "nodes"
    assert proc.stdout.strip(), proc.stderr
