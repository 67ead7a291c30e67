"""Fleet mode (--contexts, --all-contexts): one command over several kubeconfig contexts, each
context a fake apiserver of its own (tests/fakeapi.py), one of them unreachable or hanging."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from tests import builders as b
from tests.fakeapi import FakeApi


@pytest.fixture
def apis():
    """Two answering apiservers: `east` in sync, `west` with a node that misses its daemon pod."""
    east, west = FakeApi().start(), FakeApi().start()
    west.objects["nodes"].append(b.node("n3"))
    yield {"east": east, "west": west}
    east.stop()
    west.stop()


def _kubeconfig(tmp_path, servers: dict, current: str = "") -> str:
    """A kubeconfig with one context per server (a URL), named as the keys."""
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": current or next(iter(servers)),
           "clusters": [{"name": n, "cluster": {"server": url}} for n, url in servers.items()],
           "users": [{"name": "u", "user": {"token": "t"}}],
           "contexts": [{"name": n, "context": {"cluster": n, "user": "u", "namespace": "default"}}
                        for n in servers]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.fixture
def fleet_kc(tmp_path, apis):
    dead = "http://127.0.0.1:1"   # nothing listens on port 1: connection refused at once
    return _kubeconfig(tmp_path, {"east": apis["east"].url, "west": apis["west"].url, "broken": dead})


def test_diff_all_contexts_one_table_and_the_broken_one_at_the_end(run_cli, fleet_kc):
    res = run_cli("diff", "-A", "--kubeconfig", fleet_kc, "--all-contexts", expect=2)
    lines = res.stdout.splitlines()
    assert lines[0] == "(Rules of Kubernetes v1.33 for east, west)"
    assert lines[1].split() == ["CONTEXT", "NAMESPACE", "NAME", "DESIRED", "CURRENT", "MISSING", "MISSCHEDULED",
                                "DUPLICATES", "OUTDATED", "UNREADY", "TRANSIENT", "SYNC"]
    rows = [line.split() for line in lines[2:]]
    assert rows == [["east", "default", "agent", "2", "2", "0", "0", "0", "2", "0", "0", "InSync"],
                    ["west", "default", "agent", "3", "2", "1", "0", "0", "2", "0", "0", "Drift"]]
    assert res.stderr.splitlines() == [
        "error: context broken: cannot reach the apiserver at http://127.0.0.1:1: connection refused"]


def test_json_records_carry_their_context(run_cli, fleet_kc):
    res = run_cli("diff", "--kubeconfig", fleet_kc, "--contexts", "east,west", "-o", "json", expect=1)
    doc = json.loads(res.stdout)
    assert [(i["context"], i["name"], i["missing"]) for i in doc["items"]] == [("east", "agent", []),
                                                                               ("west", "agent", ["n3"])]
    assert [(c["context"], c["exitCode"], c["error"], c["kubernetesVersion"]) for c in doc["contexts"]] == [
        ("east", 0, None, "1.33"), ("west", 1, None, "1.33")]
    # the same records as each context alone
    alone = json.loads(run_cli("diff", "--kubeconfig", fleet_kc, "--context", "west", "-o", "json", expect=1).stdout)
    assert [dict(i, context="west") for i in alone["items"]] == [i for i in doc["items"] if i["context"] == "west"]


def test_globs_and_exclusions_choose_the_contexts(run_cli, fleet_kc):
    res = run_cli("diff", "--kubeconfig", fleet_kc, "--contexts", "*st,^we*", "-o", "json", expect=0)
    assert [c["context"] for c in json.loads(res.stdout)["contexts"]] == ["east"]
    res = run_cli("diff", "--kubeconfig", fleet_kc, "--contexts", "^broken", "-o", "json", expect=1)
    assert [c["context"] for c in json.loads(res.stdout)["contexts"]] == ["east", "west"]


@pytest.mark.parametrize("args, said", [
    (["diff", "--contexts", "nort*"], 'error: no kubeconfig context matches "nort*" (--contexts; the contexts: '
                                      'broken, east, west)'),
    (["diff", "--contexts", "^*"], "error: no kubeconfig context is left once the ^exclusions of --contexts "
                                   "are applied"),
    (["diff", "--contexts", "east,,west"], "error: --contexts must not hold an empty name"),
    (["diff", "--parallel", "3"], "error: --parallel only applies with --contexts or --all-contexts"),
    (["diff", "agent", "--all-contexts"], "error: fleet mode (--contexts/--all-contexts) lists DaemonSets: drop "
                                          "NAME and -f (use -A)"),
    (["lint", "--all-contexts", "-o", "sarif"], 'error: fleet mode writes table, wide, json, yaml, not "sarif" (-o)'),
    (["diff", "--all-contexts", "--context", "east"], "error: --context names one context: use --contexts for "
                                                      "several"),
    (["rollout", "agent", "--all-contexts"], "error: fleet mode (--contexts/--all-contexts) looks once: add "
                                             "--no-follow"),
    (["footprint", "--by-node", "--all-contexts"], "error: fleet mode (--contexts/--all-contexts) sums per "
                                                   "DaemonSet: drop --by-node"),
])
def test_fleet_usage_errors_are_one_line(run_cli, fleet_kc, args, said):
    res = run_cli(*args, "--kubeconfig", fleet_kc, expect=2)
    assert res.stderr.splitlines() == [said] and res.stdout == ""


def test_snapshot_and_fleet_do_not_mix(run_cli, fleet_kc):
    from tests.conftest import ROOT
    res = run_cli("diff", "--snapshot", str(ROOT / "examples" / "snapshot.json"), "--all-contexts",
                  "--kubeconfig", fleet_kc, expect=2)
    assert res.stderr == "error: --snapshot reads one dump: it cannot be combined with --contexts/--all-contexts\n"


def test_lint_footprint_and_rollout_have_a_context_column(run_cli, fleet_kc):
    lint = run_cli("lint", "--kubeconfig", fleet_kc, "--contexts", "east,west", expect=0)
    header = lint.stdout.splitlines()[1].split()
    assert header == ["CONTEXT", "NAMESPACE", "NAME", "CODE", "SEVERITY", "CHECK"]
    rows = [line.split() for line in lint.stdout.splitlines()[2:] if line]
    table_rows = [r for r in rows if not r[0].endswith(":")]
    assert {r[0] for r in table_rows} == {"east", "west"} and len(table_rows) == 12
    assert [r[0] for r in rows if r[0].endswith(":")] == ["east:", "west:"]
    foot = json.loads(run_cli("footprint", "--kubeconfig", fleet_kc, "--contexts", "east,west", "-o", "json").stdout)
    assert [(d["context"], d["name"], d["nodes"]) for d in foot["items"]] == [
        ("east", "agent", 2), ("west", "agent", 3)]
    assert [c["cluster"]["nodes"] for c in foot["contexts"]] == [2, 3]
    roll = run_cli("rollout", "agent", "--no-follow", "--kubeconfig", fleet_kc, "--contexts", "east,west", expect=1)
    rows = [line.split() for line in roll.stdout.splitlines()[2:]]
    assert [(r[0], r[2], r[4], r[5]) for r in rows] == [("east", "agent", "2", "0"), ("west", "agent", "3", "0")]


def test_contexts_run_concurrently_and_a_hanging_one_is_bounded(run_cli, tmp_path):
    """Three apiservers that never answer a list: with --parallel 3 the whole run takes about one
    --request-timeout, not three, and every context is reported."""
    hung = [FakeApi().start() for _ in range(3)]
    try:
        for api in hung:
            api.fault = "hang"
        kc = _kubeconfig(tmp_path, {f"h{i}": api.url for i, api in enumerate(hung)})
        t0 = time.monotonic()
        res = run_cli("diff", "--kubeconfig", kc, "--all-contexts", "--parallel", "3", "--request-timeout", "1.5",
                      expect=2)
        wall = time.monotonic() - t0
    finally:
        for api in hung:
            api.stop()
    assert wall < 3.5, wall
    assert [line.split(":")[0] for line in res.stderr.splitlines()] == ["error", "error", "error"]
    assert [line.split()[2].rstrip(":") for line in res.stderr.splitlines()] == ["h0", "h1", "h2"]


def test_a_context_warning_is_named(run_cli, tmp_path, apis):
    """/version refused on one apiserver: its warning line says which context it came from."""
    apis["west"].fault, apis["west"].fault_version, apis["west"].fault_times = "403", True, 1
    kc = _kubeconfig(tmp_path, {"east": apis["east"].url, "west": apis["west"].url})
    res = run_cli("diff", "--kubeconfig", kc, "--all-contexts", expect=1)
    warnings = [line for line in res.stderr.splitlines() if "warning" in line]
    assert warnings and all(line.startswith("west: warning: ") for line in warnings), res.stderr


def test_driven_by_kubectl_foreach(run_cli, fleet_kc):
    """kubectl-foreach runs `kubectl ds ... --context=NAME` once per context: the = form is one context."""
    res = run_cli("diff", "--kubeconfig", fleet_kc, "--context=west", expect=1)
    assert "Drift" in res.stdout and "CONTEXT" not in res.stdout


def test_progress_line_on_a_terminal_only(run_cli, fleet_kc, monkeypatch):
    """On a terminal, stderr shows how many contexts are done and which are outstanding, erased
    before the table; piped (every other test here), nothing of it."""
    import io
    import sys

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    run_cli("diff", "--kubeconfig", fleet_kc, "--contexts", "east,west", "--parallel", "1", expect=1)
    shown = tty.getvalue()
    assert "\r\x1b[K0/2 contexts done; waiting for east, west" in shown
    assert "\r\x1b[K1/2 contexts done; waiting for west" in shown
    assert shown.endswith("\r\x1b[K") and "\x1b" not in shown.replace("\r\x1b[K", "")
