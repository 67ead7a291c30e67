"""Fleet mode against the real control plane: contexts that point at the same apiserver with
different namespaces and users, one of them forbidden (RBAC), one unreachable."""

from __future__ import annotations

import json

import yaml

from tests.e2e.conftest import ds_manifest


def _fleet_kubeconfig(kubeconfig: str, tmp_path, namespaces: dict) -> str:
    """The cluster's kubeconfig with one context per entry of `namespaces` (name -> namespace) as
    the admin, plus `forbidden` (the user RBAC grants nothing) and `gone` (nobody listens)."""
    cfg = yaml.safe_load(open(kubeconfig))
    cluster = cfg["clusters"][0]
    users = {u["name"] for u in cfg["users"]}
    assert {"admin", "nobody"} <= users, users
    cfg["clusters"].append({"name": "gone", "cluster": dict(cluster["cluster"], server="https://127.0.0.1:1")})
    cfg["contexts"] = [{"name": ctx, "context": {"cluster": cluster["name"], "user": "admin", "namespace": ns}}
                       for ctx, ns in namespaces.items()]
    first = next(iter(namespaces.values()))
    cfg["contexts"] += [{"name": "forbidden", "context": {"cluster": cluster["name"], "user": "nobody",
                                                          "namespace": first}},
                        {"name": "gone", "context": {"cluster": "gone", "user": "admin", "namespace": first}}]
    cfg["current-context"] = next(iter(namespaces))
    path = tmp_path / "fleet-kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_diff_over_a_fleet_of_contexts(scenario, kube, run_cli, tmp_path):
    from kubectl_ds.env import Env
    scenario.node("w1")
    scenario.node("w2")
    scenario.sync_nodes()
    other = f"{scenario.namespace}-b"
    kube.create_namespace(other)
    try:
        scenario.daemonset(ds_manifest("agent"))
        kube.create_daemonset(other, scenario.isolate(ds_manifest("collector")))
        kube.wait_settled(scenario.namespace, "agent")
        kube.wait_settled(other, "collector")
        kc = _fleet_kubeconfig(kube.kubeconfig, tmp_path, {"team-a": scenario.namespace, "team-b": other})

        res = run_cli("diff", "--kubeconfig", kc, "--all-contexts", "-o", "json", "--request-timeout", "10",
                      expect=2, env=Env(color=False))
        doc = json.loads(res.stdout)
        assert [(i["context"], i["namespace"], i["name"], len(i["desired"]), i["inSync"]) for i in doc["items"]] == [
            ("team-a", scenario.namespace, "agent", 2, True), ("team-b", other, "collector", 2, True)]
        failed = {c["context"]: c["error"] for c in doc["contexts"] if c["error"]}
        assert set(failed) == {"forbidden", "gone"}
        assert "forbidden" in failed["forbidden"] and "cannot reach the apiserver" in failed["gone"]
        assert sorted(line.split(":")[0] + ":" + line.split()[2] for line in res.stderr.splitlines()
                      if line.startswith("error:")) == ["error:forbidden:", "error:gone:"]

        table = run_cli("diff", "--kubeconfig", kc, "--contexts", "team-*", expect=0, env=Env(color=False)).stdout
        rows = [line.split() for line in table.splitlines()[2:]]
        assert [(r[0], r[2], r[-1]) for r in rows] == [("team-a", "agent", "InSync"), ("team-b", "collector", "InSync")]
        assert table.splitlines()[0].startswith("(Rules of Kubernetes v1.")
    finally:
        kube.delete_namespace(other)
