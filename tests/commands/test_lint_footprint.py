"""`lint` and `footprint` through the real CLI: the bundled example (--snapshot) and manifests (-f)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, ROOT

S = ("--snapshot", EXAMPLE)
MANIFESTS = Path(__file__).resolve().parent / "manifests"
AGENT = str(MANIFESTS / "agent.yaml")
CLEAN = str(MANIFESTS / "clean.json")
FORMATS = ["table", "wide", "json", "yaml"]


def by_object(doc):
    out = {}
    for f in doc["findings"]:
        out.setdefault((f["namespace"], f["name"]), []).append(f["code"])
    return out


# --- golden outputs ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,code,name", [
    (("lint", "-A"), 1, "lint-all"),
    (("lint", "-f", AGENT), 1, "lint-manifest"),
    (("footprint", "-A"), 0, "footprint-all"),
    (("footprint", "-A", "--by-node"), 0, "footprint-by-node"),
], ids=["lint-all", "lint-manifest", "footprint-all", "footprint-by-node"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_golden(run_cli, golden, args, code, name, fmt):
    extra = S if "-f" not in args else ()
    res = run_cli(*args, *extra, "-o", fmt, expect=code)
    golden(f"example.{name}.{fmt}", res.stdout)


# --- lint on the example: the mistakes it was built to show -----------------------------------

def test_lint_finds_the_mistakes_the_example_was_built_to_show(run_cli):
    doc = run_cli("lint", "-A", *S, "-o", "json", expect=1).json()
    found = by_object(doc)
    assert {"DS001", "DS006", "DS013"} <= set(found[("logging", "log-agent")])       # cp/GPU taints, 50%, docker dir
    assert {"DS002", "DS007", "DS003", "DS011"} <= set(found[("monitoring", "node-exporter")])  # typo, surge+port
    assert {"DS003", "DS012"} <= set(found[("kube-system", "net-agent")])           # tolerates all, privileged
    assert found[("monitoring", "metrics-relay")] == ["DS016"]                     # a DaemonSet in disguise
    assert ("kube-system", "gpu-device-plugin") not in found                       # the clean one
    assert ("monitoring", "prometheus") not in found                               # anti-affinity for HA only
    assert [(f["name"], f["code"]) for f in doc["suppressed"]] == [("net-agent", "DS011")]
    # node-exporter's host namespaces are what a node metrics agent needs: DS011 is info there
    assert doc["summary"] == {"objects": 6, "error": 2, "warning": 14, "info": 3, "suppressed": 1}
    assert doc["cluster"] is True


def test_lint_json_contract(run_cli):
    doc = run_cli("lint", "log-agent", "-n", "logging", *S, "-o", "json").json()
    taints = [f for f in doc["findings"] if f["code"] == "DS001"]
    assert [f["detail"]["nodes"] for f in taints] == [["cp-1"], ["gpu-1"]]
    first = taints[0]
    assert (first["check"], first["severity"], first["kind"], first["namespace"], first["name"]) == \
        ("UntoleratedTaint", "warning", "DaemonSet", "logging", "log-agent")
    assert first["fix"]["path"] == "spec.template.spec"
    assert first["fix"]["value"] == {"tolerations": [{"key": "node-role.kubernetes.io/control-plane",
                                                      "operator": "Exists", "effect": "NoSchedule"}]}
    rollout = next(f for f in doc["findings"] if f["code"] == "DS006")
    assert rollout["detail"] == {"maxUnavailable": "50%", "nodesAtOnce": 2, "desiredNodes": 4}


def test_lint_node_selector_typo_gets_the_corrected_value(run_cli):
    doc = run_cli("lint", "node-exporter", "-n", "monitoring", *S, "-o", "json", expect=1).json()
    typo = next(f for f in doc["findings"] if f["code"] == "DS002")
    assert typo["fix"]["value"] == {"nodeSelector": {"kubernetes.io/os": "linux"}}


@pytest.mark.parametrize("args,code", [
    (("lint", "-A"), 1),
    (("lint", "log-agent", "-n", "logging"), 0),
    (("lint", "log-agent", "-n", "logging", "--fail-on", "warning"), 1),
    (("lint", "gpu-device-plugin", "-A", "--fail-on", "info"), 0),
    (("lint", "net-agent", "-n", "kube-system", "--fail-on", "info"), 1),
], ids=["errors-fail-by-default", "warnings-pass-by-default", "fail-on-warning", "clean-passes-fail-on-info",
        "info-fails-fail-on-info"])
def test_lint_exit_codes(run_cli, args, code):
    run_cli(*args, *S, expect=code)


def test_lint_selector_filters_daemonsets_and_workloads(run_cli):
    doc = run_cli("lint", "-A", "-l", "app=metrics-relay", *S, "-o", "json").json()
    assert {(f["kind"], f["name"]) for f in doc["findings"]} == {("Deployment", "metrics-relay")}


# --- lint -f: manifests, with or without a cluster ---------------------------------------------

def test_lint_manifest_alone(run_cli):
    doc = run_cli("lint", "-f", AGENT, "-o", "json", expect=1).json()
    found = by_object(doc)
    assert found[(None, "log-shipper")] == ["DS007", "DS014", "DS004", "DS005", "DS008", "DS009", "DS011",
                                            "DS012", "DS013", "DS000", "DS010", "DS015"]
    assert found[("default", "per-node-cache")] == ["DS000"]   # needs the node count to tell
    assert doc["cluster"] is False and doc["summary"]["objects"] == 2     # the Service is not linted


def test_lint_manifest_against_a_snapshot_of_the_cluster(run_cli):
    doc = run_cli("lint", "-f", AGENT, "-n", "logging", *S, "-o", "json", expect=1).json()
    found = by_object(doc)
    shipper = found[("logging", "log-shipper")]
    assert "DS000" not in shipper and "DS015" not in shipper and "DS001" in shipper
    cache = next(f for f in doc["findings"] if f["name"] == "per-node-cache")
    assert (cache["code"], cache["severity"], cache["detail"]["eligibleNodes"]) == \
        ("DS016", "error", ["worker-1", "worker-2", "worker-5"])


def test_lint_manifest_name_filter(run_cli):
    doc = run_cli("lint", "log-shipper", "-f", AGENT, "-o", "json", expect=1).json()
    assert {f["name"] for f in doc["findings"]} == {"log-shipper"}


@pytest.mark.parametrize("args", [("-f", CLEAN), ("-f", CLEAN, "--fail-on", "info")],
                         ids=["default", "fail-on-info"])
def test_lint_clean_manifest_passes_even_on_info(run_cli, args):
    res = run_cli("lint", *args)      # its one finding is DS000: a note about the run, never a failure
    assert res.stdout.startswith("(Rules of Kubernetes v1.37, no version known: the newest supported)\n")
    assert [line.split()[2] for line in res.stdout.splitlines()[2:3]] == ["DS000"]
    assert res.stdout.rstrip().endswith("Linted 1 DaemonSet: 0 errors, 0 warnings, 1 info; without a cluster, "
                                        "the checks that need its nodes did not run (DS000).")


def test_lint_directory_and_several_files(run_cli, tmp_path):
    (tmp_path / "a.yaml").write_text(Path(AGENT).read_text())
    (tmp_path / "b.json").write_text(Path(CLEAN).read_text())
    (tmp_path / "notes.txt").write_text("not a manifest")
    from_dir = run_cli("lint", "-f", str(tmp_path), "-o", "json", expect=1).json()
    from_files = run_cli("lint", "-f", AGENT, "-f", CLEAN, "-o", "json", expect=1).json()
    assert from_dir == from_files and from_dir["summary"]["objects"] == 3


def test_lint_stdin(run_cli, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(Path(AGENT).read_text()))
    doc = run_cli("lint", "-f", "-", "-o", "json", expect=1).json()
    assert doc["summary"]["objects"] == 2


def test_lint_manifest_as_a_json_list_is_the_same(run_cli, tmp_path):
    import yaml
    docs = [d for d in yaml.safe_load_all(Path(AGENT).read_text()) if d]
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    assert run_cli("lint", "-f", str(path), "-o", "json", expect=1).json() == \
        run_cli("lint", "-f", AGENT, "-o", "json", expect=1).json()


def test_lint_manifest_does_not_import_the_client(tmp_path):
    code = ("import sys\nfrom kubectl_ds.cli import main\n"
            f"try:\n    main(['lint', '-f', {AGENT!r}])\nexcept SystemExit:\n    pass\n"
            f"try:\n    main(['footprint', '-A', '--snapshot', {EXAMPLE!r}])\nexcept SystemExit:\n    pass\n"
            "assert 'kubernetes' not in sys.modules, 'kubernetes imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)


# --- footprint --------------------------------------------------------------------------------

def test_footprint_json_contract(run_cli):
    doc = run_cli("footprint", "-A", *S, "-o", "json").json()
    log = next(d for d in doc["daemonsets"] if d["name"] == "log-agent")
    assert log["nodes"] == 4 and log["nodeNames"] == ["worker-1", "worker-2", "worker-3", "worker-5"]
    assert log["perPod"] == {"requests": {"cpu": "200m", "memory": "128Mi"}, "limits": {"cpu": None, "memory": "256Mi"}}
    assert log["total"] == {"requests": {"cpu": "800m", "memory": "512Mi"}, "limits": {"cpu": None, "memory": "1Gi"}}
    assert log["shareOfCluster"] == {"cpu": 3.2, "memory": 0.51}
    assert doc["total"]["pods"] == 12 and doc["total"]["requests"] == {"cpu": "1510m", "memory": "992Mi"}
    assert doc["cluster"] == {"nodes": 7, "allocatable": {"cpu": "25", "memory": "98Gi"}}


def test_footprint_by_node_matches_why(run_cli):
    nodes = {n["node"]: n for n in run_cli("footprint", "-A", "--by-node", *S, "-o", "json").json()["nodes"]}
    for node_name, entry in nodes.items():
        why = run_cli("why", node_name, *S, "-o", "json").json()
        should = sorted(f"{d['namespace']}/{d['name']}" for d in why["daemonsets"] if d["shouldRun"])
        assert entry["daemonsets"] == should, node_name
    assert nodes["worker-5"]["shareOfNode"] == {"cpu": 30.0, "memory": 9.38}


def test_footprint_namespace_scope(run_cli):
    doc = run_cli("footprint", "-n", "logging", *S, "-o", "json").json()
    assert [d["name"] for d in doc["daemonsets"]] == ["log-agent"]


# --- errors and empty answers -------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (("lint", "-A", *S, "--fail-on", "fatal"), "error: Invalid value for '--fail-on'"),
    (("lint", "nope", "-n", "logging", *S), 'error: daemonset "nope" not found in namespace \'logging\''),
    (("lint", "-f", "/nonexistent/ds.yaml"), "error: cannot read /nonexistent/ds.yaml: No such file or directory"),
    (("lint", "nope", "-f", AGENT), f'error: daemonset "nope" not found in {AGENT}'),
    (("lint", "-A", *S, "-o", "xml"), 'error: unknown output format "xml"'),
    (("footprint", "-A", *S, "-o", "xml"), 'error: unknown output format "xml"'),
    (("footprint", "-n", "a", "-A", *S), "error: -n/--namespace and -A/--all-namespaces cannot be used together"),
    (("footprint", "-A", "--snapshot", "/nonexistent/dump.json"), "error: cannot read snapshot /nonexistent/dump.json"),
    (("lint", "-f", AGENT, "--snapshot", "/nonexistent/dump.json"), "error: cannot read snapshot"),
], ids=["bad-fail-on", "unknown-daemonset", "missing-file", "name-not-in-file", "bad-format", "footprint-bad-format",
        "footprint-n-and-A", "footprint-missing-snapshot", "lint-file-missing-snapshot"])
def test_errors(run_cli, args, message):
    res = run_cli(*args, expect=2)
    assert res.stderr.startswith(message), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize("content,message", [
    ("kind: DaemonSet\nmetadata: {name: x\n", "not YAML nor JSON at line"),
    ("- just\n- a list\n", "document 1 is not a Kubernetes object (no kind)"),
    ("---\nkind: Service\n---\n42\n", "document 2 is not a Kubernetes object"),
    ("kind: DaemonSet\nmetadata: {name: x}\nspec: {template: {spec: {containers: [oops]}}}\n",
     "DaemonSet x: spec.template.spec.containers is not a list of objects"),
    ("kind: Deployment\nmetadata: {name: y}\nspec: {replicas: 2}\n",
     "Deployment y: spec.template.spec is missing or not an object"),
    ("kind: DaemonSet\nmetadata: [1]\n", "document 1 has malformed metadata"),
], ids=["broken-yaml", "not-an-object", "second-document", "containers-not-objects", "no-template",
        "bad-metadata"])
def test_malformed_manifest(run_cli, tmp_path, content, message):
    path = tmp_path / "ds.yaml"
    path.write_text(content)
    res = run_cli("lint", "-f", str(path), expect=2)
    assert res.stderr.startswith(f"error: malformed manifest {path}") and message in res.stderr, res.stderr


def test_nothing_to_lint_goes_to_stderr(run_cli, tmp_path):
    res = run_cli("lint", "-n", "empty", *S)
    assert res.stdout == "" and res.stderr == "No DaemonSets found in namespace empty.\n"
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    res = run_cli("lint", "-f", str(path))
    assert res.stdout == "" and res.stderr == f"No DaemonSets found in {path}.\n"
    res = run_cli("footprint", "-n", "empty", *S)
    assert res.stdout == "" and res.stderr == "No DaemonSets found in namespace empty.\n"


def test_help(run_cli):
    for cmd in ("lint", "footprint"):
        out = run_cli(cmd, "--help").stdout
        assert "Examples:" in out and "kubectl ds" in out
    assert "--fail-on [error|warning|info]" in run_cli("lint", "--help").stdout
