"""`why` and `diff` through the real CLI and the real --snapshot source, on the bundled example."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE
from tests import make_example

S = ("--snapshot", EXAMPLE)


def test_bundled_example_is_what_the_generator_makes():
    with open(EXAMPLE) as fh:
        assert fh.read() == make_example.text(), "run: python -m tests.make_example > examples/snapshot.json"


@pytest.mark.parametrize("node", ["cp-1", "worker-1", "worker-4", "worker-5", "gpu-1"])
@pytest.mark.parametrize("fmt", ["table", "wide", "json", "yaml"])
def test_why_golden(run_cli, golden, node, fmt):
    res = run_cli("why", node, *S, "-o", fmt)
    golden(f"example.why-{node}.{fmt}", res.stdout)


@pytest.mark.parametrize("args,code,name", [
    (("diff", "log-agent", "-n", "logging"), 1, "diff-log-agent"),
    (("diff", "net-agent", "-n", "kube-system"), 0, "diff-net-agent"),
    (("diff", "-A"), 1, "diff-all"),
])
@pytest.mark.parametrize("fmt", ["table", "wide", "json", "yaml"])
def test_diff_golden(run_cli, golden, args, code, name, fmt):
    res = run_cli(*args, *S, "-o", fmt, expect=code)
    golden(f"example.{name}.{fmt}", res.stdout)


def test_why_json_contract(run_cli):
    doc = run_cli("why", "cp-1", *S, "-d", "log-agent", "-n", "logging", "-o", "json").json()
    assert doc["node"] == "cp-1"
    [entry] = doc["daemonsets"]
    assert (entry["namespace"], entry["name"], entry["shouldRun"], entry["shouldContinueRunning"]) == \
        ("logging", "log-agent", False, True)
    assert entry["pod"] is None
    [reason] = entry["reasons"]
    assert reason["type"] == "Taint"
    assert reason["toleration"] == {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                    "effect": "NoSchedule"}


def test_why_pending_pod_reports_scheduler_and_own_resource_check(run_cli):
    doc = run_cli("why", "worker-5", *S, "-d", "log-agent", "-A", "-o", "json").json()
    pod = doc["daemonsets"][0]["pod"]
    types = [p["type"] for p in pod["problems"]]
    assert pod["phase"] == "Pending" and types == ["FailedScheduling", "InsufficientResource"]
    assert "Insufficient cpu" in pod["problems"][0]["message"]
    assert pod["problems"][1]["requested"] == "200m" and pod["problems"][1]["free"] == "0"


def test_why_image_pull_backoff_and_outdated(run_cli):
    doc = run_cli("why", "worker-1", *S, "-d", "net-agent", "-n", "kube-system", "-o", "json").json()
    entry = doc["daemonsets"][0]
    assert entry["state"] == "Unhealthy"
    assert [p["type"] for p in entry["pod"]["problems"]] == ["ImagePull"]
    other = run_cli("why", "worker-2", *S, "-d", "net-agent", "-n", "kube-system", "-o", "json").json()
    assert other["daemonsets"][0]["state"] == "Outdated"


def test_diff_json_contract(run_cli):
    doc = run_cli("diff", "log-agent", "-n", "logging", *S, "-o", "json", expect=1).json()
    assert doc["desired"] == ["worker-1", "worker-2", "worker-3", "worker-5"]
    assert doc["actual"] == ["worker-1", "worker-2", "worker-3", "worker-4", "worker-5"]
    assert (doc["missing"], doc["misscheduled"], doc["duplicates"]) == ([], ["worker-4"], [])
    assert doc["evicting"] == [] and doc["unready"] == ["worker-5"]
    assert doc["status"]["computed"] == {k: v for k, v in doc["status"]["reported"].items()}


def test_diff_typo_selector_has_no_desired_nodes(run_cli):
    doc = run_cli("diff", "node-exporter", "-n", "monitoring", *S, "-o", "json").json()
    assert doc["desired"] == [] and doc["inSync"] is True


def test_diff_all_namespaces_finds_a_unique_name(run_cli):
    doc = run_cli("diff", "gpu-device-plugin", "-A", *S, "-o", "json").json()
    assert doc["namespace"] == "kube-system" and doc["desired"] == ["gpu-1"]


def test_options_after_and_before_the_subcommand(run_cli):
    a = run_cli("why", "cp-1", *S, "-o", "json").stdout
    b = run_cli(*S, "-o", "json", "why", "cp-1").stdout
    assert a == b


def test_selector_filters_daemonsets(run_cli):
    doc = run_cli("why", "gpu-1", *S, "-l", "app in (gpu-device-plugin,log-agent)", "-o", "json").json()
    assert [d["name"] for d in doc["daemonsets"]] == ["gpu-device-plugin", "log-agent"]


# --- errors: one line on stderr, exit 2, never a traceback -----------------------------------

@pytest.mark.parametrize("args,message", [
    (("why", "nope", *S), 'error: node "nope" not found'),
    (("diff", "nope", "-n", "logging", *S), 'error: daemonset "nope" not found in namespace \'logging\''),
    (("diff", "nope", "-A", *S), 'error: daemonset "nope" not found in any namespace'),
    (("why", "cp-1", *S, "-o", "xml"), 'error: unknown output format "xml"'),
    (("why", "cp-1", *S, "-n", "a", "-A"), "error: -n/--namespace and -A/--all-namespaces cannot be used together"),
    (("why", "cp-1", *S, "-l", "a in b"), "error: invalid label selector"),
    (("why", "cp-1", "--snapshot", "/nonexistent/dump.json"), "error: cannot read snapshot /nonexistent/dump.json"),
    (("why",), "error: Missing argument 'NODE'"),
    (("frobnicate",), "error: No such command 'frobnicate'"),
])
def test_errors(run_cli, args, message):
    res = run_cli(*args, expect=2)
    assert res.stderr.startswith(message), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("content,message", [
    ("{not json", "not JSON"),
    ('{"kind": "List"}', "expected a List with items"),
    ('{"items": [42]}', "item 0 is not a Kubernetes object"),
    ("- a\n- b\n", "expected a List with items"),
], ids=["garbage", "no-items", "bad-item", "yaml-list"])
def test_malformed_snapshot(run_cli, tmp_path, content, message):
    path = tmp_path / "dump.json"
    path.write_text(content)
    res = run_cli("why", "n1", "--snapshot", str(path), expect=2)
    assert res.stderr.startswith(f"error: malformed snapshot {path}") and message in res.stderr


def test_yaml_snapshot_is_accepted(run_cli, tmp_path):
    import yaml
    path = tmp_path / "dump.yaml"
    path.write_text(yaml.safe_dump(json.load(open(EXAMPLE))))
    assert run_cli("why", "cp-1", "--snapshot", str(path), "-o", "json").json()["node"] == "cp-1"


def test_no_daemonsets_goes_to_stderr(run_cli):
    res = run_cli("diff", "-n", "empty", *S)
    assert res.stdout == "" and res.stderr == "No DaemonSets found in namespace empty.\n"


def test_version_and_help(run_cli):
    from kubectl_ds import __version__
    assert run_cli("--version").stdout.strip() == f"kubectl-ds {__version__}"
    assert "Examples:" in run_cli("why", "--help").stdout
    assert "Examples:" in run_cli("diff", "--help").stdout
