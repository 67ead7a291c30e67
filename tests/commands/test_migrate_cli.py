"""`migrate --dry-run` and `diff -f` through the CLI on the bundled example; migrate's usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE

S = ("--snapshot", EXAMPLE)
NEW = str(Path(__file__).resolve().parents[1] / "fixtures" / "new-log-agent.yaml")


def test_what_if_coverage_of_a_manifest(run_cli):
    doc = run_cli("diff", "log-agent", "-n", "logging", "-f", NEW, *S, "-o", "json", expect=1).json()
    assert doc["gained"] == ["cp-1"] and doc["lost"] == [] and doc["same"] is False
    assert doc["desired"] == ["worker-1", "worker-2", "worker-3", "worker-5"]
    text = run_cli("diff", "-f", NEW, "-n", "logging", *S, expect=1).stdout
    assert "4 desired node(s) now, 5 with the manifest" in text and "gained: cp-1" in text


def test_migrate_dry_run_plan(run_cli):
    res = run_cli("migrate", "gpu-device-plugin", "-n", "kube-system", "--selector",
                  "app=gpu-device-plugin,tier=node", "--dry-run", *S, "-o", "json")
    doc = res.json()
    assert doc["addLabels"] == {"tier": "node"} and doc["templateChanged"] is True
    assert doc["newSelector"] == {"matchLabels": {"app": "gpu-device-plugin", "tier": "node"}}
    assert [p["name"] for p in doc["pods"]] == ["gpu-device-plugin-" + doc["pods"][0]["name"].split("-")[-1]]
    assert doc["steps"][0] == "backup" and doc["steps"][-1] == "rollout"
    gen = int(doc["newManifest"]["metadata"]["annotations"]["deprecated.daemonset.template.generation"])
    assert gen == 2 and doc["newManifest"]["spec"]["template"]["metadata"]["labels"]["tier"] == "node"
    assert doc["refusals"] == []


def test_migrate_dry_run_refusal_exits_2(run_cli):
    res = run_cli("migrate", "log-agent", "-n", "logging", "--selector", "app=log-agent,tier=node",
                  "--dry-run", *S, expect=2)
    assert "RolloutInProgress" in res.stdout
    assert res.stderr.startswith("error: migration refused: a rollout is in progress")


@pytest.mark.parametrize("args,message", [
    (("migrate", "log-agent", "-n", "logging", *S), "give the new selector with --selector, or the new manifest"),
    (("migrate", "log-agent", "-n", "logging", "--selector", "a=b", "-f", NEW, *S), "one of them"),
    (("migrate", "-n", "logging", *S), "give the DaemonSet's NAME"),
    (("migrate", "log-agent", "-n", "logging", "--selector", "a in (", *S), "invalid"),
    (("migrate", "gpu-device-plugin", "-n", "kube-system", "--selector", "app=gpu-device-plugin,tier=node",
      "--yes", *S), "a snapshot can only be planned"),
    (("migrate", "--resume", "/nonexistent.json"), "cannot read migration state /nonexistent.json"),
])
def test_migrate_usage_errors(run_cli, args, message):
    res = run_cli(*args, expect=2)
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_migrate_resume_rejects_a_foreign_file(run_cli, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"hello": "world"}))
    res = run_cli("migrate", "--rollback", str(path), expect=2)
    assert res.stderr == f"error: malformed migration state {path}: not a kubectl-ds migration file\n"
