"""Live-source failures that need no cluster to cause for real: bad kubeconfigs, a closed port."""

from __future__ import annotations

import socket

import pytest
import yaml


def _kubeconfig(tmp_path, server, contexts=("local",)):
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": contexts[0],
           "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
           "users": [{"name": "u", "user": {"token": "t"}}],
           "contexts": [{"name": c, "context": {"cluster": "c", "user": "u"}} for c in contexts]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_apiserver(run_cli, tmp_path):
    kc = _kubeconfig(tmp_path, f"https://127.0.0.1:{_closed_port()}")
    res = run_cli("why", "n1", "--kubeconfig", kc, expect=2)
    assert res.stderr.startswith("error: cannot reach the apiserver at https://127.0.0.1:")
    assert "connection refused" in res.stderr and len(res.stderr.splitlines()) == 1


def test_timing_out_apiserver(run_cli, tmp_path):
    # a listening socket that never answers: the request times out
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        kc = _kubeconfig(tmp_path, f"https://127.0.0.1:{srv.getsockname()[1]}")
        res = run_cli("diff", "-A", "--kubeconfig", kc, "--request-timeout", "0.5", expect=2)
        assert res.stderr.startswith("error: cannot reach the apiserver") and "timed out" in res.stderr
    finally:
        srv.close()


def test_unknown_context(run_cli, tmp_path):
    kc = _kubeconfig(tmp_path, "https://127.0.0.1:1")
    res = run_cli("why", "n1", "--kubeconfig", kc, "--context", "nope", expect=2)
    assert res.stderr.startswith("error: invalid kubeconfig:") and "nope" in res.stderr


def test_missing_kubeconfig_file(run_cli, tmp_path):
    res = run_cli("why", "n1", "--kubeconfig", str(tmp_path / "absent"), expect=2)
    assert res.stderr == f"error: kubeconfig {tmp_path / 'absent'} does not exist\n"


@pytest.mark.parametrize("content", ["::: not yaml", "apiVersion: v1\nkind: Config\n"], ids=["garbage", "empty"])
def test_malformed_kubeconfig(run_cli, tmp_path, content):
    path = tmp_path / "kc"
    path.write_text(content)
    res = run_cli("why", "n1", "--kubeconfig", str(path), expect=2)
    assert res.stderr.startswith("error: invalid kubeconfig") and "Traceback" not in res.stderr


def test_oidc_token_refresh_against_an_unreachable_issuer(run_cli, tmp_path):
    # an expired id-token makes the client refresh it from the issuer while loading the kubeconfig
    import base64
    import json

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    expired = ".".join([b64({"alg": "RS256", "typ": "JWT"}), b64({"iss": "x", "exp": 1000000000}), "c2ln"])
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "local",
           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
           "users": [{"name": "u", "user": {"auth-provider": {"name": "oidc", "config": {
               "client-id": "kubectl", "client-secret": "s", "id-token": expired, "refresh-token": "r",
               "idp-issuer-url": f"https://127.0.0.1:{_closed_port()}"}}}}],
           "contexts": [{"name": "local", "context": {"cluster": "c", "user": "u"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    res = run_cli("why", "n1", "--kubeconfig", str(path), expect=2)
    assert res.stderr == "error: cannot get the kubeconfig's credentials: connection refused\n"
