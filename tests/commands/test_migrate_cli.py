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


def test_a_migration_stopped_by_an_error_or_ctrl_c_names_its_journal_and_the_next_command(capsys):
    """Whatever stops a migration mid-way (the apiserver gone, a timeout, Ctrl-C), the one error
    line says the journal is kept and how to finish or undo it."""
    from kubectl_ds.commands.migrate import _journal_kept
    from kubectl_ds.errors import DsError, ExitCode
    with pytest.raises(DsError) as err:
        with _journal_kept("./agent.migration.json"):
            raise DsError("cannot reach the apiserver at https://127.0.0.1:6443: connection refused")
    assert err.value.message == (
        "cannot reach the apiserver at https://127.0.0.1:6443: connection refused; the journal "
        "./agent.migration.json is kept: `kubectl ds migrate --resume ./agent.migration.json` finishes the "
        "migration, `--rollback ./agent.migration.json` restores the original DaemonSet")
    assert err.value.exit_code == ExitCode.CANNOT_ANSWER
    with pytest.raises(DsError) as err:
        with _journal_kept("j.json", rolling_back=True):
            raise DsError("timed out waiting for the old DaemonSet to be gone: still there", ExitCode.BAD_NEWS)
    assert err.value.message.endswith("; the journal j.json is kept: run `kubectl ds migrate --rollback j.json` again")
    assert err.value.exit_code == ExitCode.BAD_NEWS
    with pytest.raises(KeyboardInterrupt):
        with _journal_kept("j.json"):
            raise KeyboardInterrupt
    assert capsys.readouterr().err.startswith("interrupted; the journal j.json is kept: `kubectl ds migrate --resume")
    # a path with a space is quoted so that the command can be pasted
    with pytest.raises(DsError) as err:
        with _journal_kept("my dir/j.json"):
            raise DsError("connection refused")
    assert "`kubectl ds migrate --resume 'my dir/j.json'`" in err.value.message
    # an error that already says what to do keeps its own advice (resuming a migration whose
    # DaemonSet changed would fail again; a finished migration is not to be rolled back)
    advised = DsError("the rollout after adoption did not finish; the migration itself is complete",
                      ExitCode.BAD_NEWS, advised=True)
    with pytest.raises(DsError) as err:
        with _journal_kept("j.json"):
            raise advised
    assert err.value is advised and "journal" not in err.value.message


def test_resuming_a_rolled_back_migration_is_refused_without_the_journal_hint(run_cli, tmp_path):
    from kubectl_ds.core import migration as M
    from kubectl_ds.run.migration import Journal
    from kubectl_ds.source.snapshot import SnapshotSource
    src = SnapshotSource.load(EXAMPLE)
    old = src.daemonset("kube-system", "gpu-device-plugin")
    plan = M.plan(old, M.derive_manifest(old, M.selector_from_string("app=gpu-device-plugin,tier=node")),
                  src.pods("kube-system"), src.nodes(), src.controllers("kube-system"))
    state = Journal.new(plan, no_rollout=False)
    state.rolled_back = True
    path = tmp_path / "gpu.migration.json"
    state.save(str(path))
    res = run_cli("migrate", "--resume", str(path), expect=2)
    assert res.stderr == "error: this migration was rolled back; plan a new one\n"
    # a journal is carried out against a cluster, never a dump
    for flag in ("--resume", "--rollback"):
        res = run_cli("migrate", flag, str(path), *S, expect=2)
        assert res.stderr == "error: --resume and --rollback change the cluster: they cannot read a --snapshot\n"
