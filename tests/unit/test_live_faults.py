"""Real commands against a misbehaving apiserver on loopback (tests/fakeapi.py): every fault is one
`error:` line and exit 2, never `internal error`, and every wait is bounded by --request-timeout
(the whole request, its body and a Retry-After; the exec credential plugin too). Watches back off.
"""

from __future__ import annotations

import errno
import subprocess
import sys
import time

import pytest

from kubectl_ds.source import watch
from tests.conftest import ROOT, one_error_line

LIMIT = 5.0   # seconds: --request-timeout 2 and the run's own work


def _timed(run_cli, *args, expect=2):
    t0 = time.monotonic()
    res = run_cli(*args, expect=expect)
    return res, time.monotonic() - t0


FAULTS = {
    "401": "error: Unauthorized: the apiserver rejected the credentials (get nodes)",
    "403": 'error: forbidden: cannot get nodes at the cluster scope: nodes is forbidden: User "u" cannot get '
           'resource "nodes" in API group "" at the cluster scope',
    "404-text": 'error: the server at {url} answered 404 Not Found for the API path (get nodes "n1") with a plain '
                "page, not a Kubernetes Status: is the kubeconfig's server URL an apiserver's?",
    "429": "error: get nodes at the cluster scope failed: 429 too many requests, please try again later "
           "(the apiserver asked to retry after 3600s, beyond --request-timeout 2s)",
    "500": "error: get nodes at the cluster scope failed: 500 etcdserver: request timed out",
    "garbage": "error: the apiserver sent a response that is not JSON for get nodes: Expecting value: "
               "line 1 column 1 (char 0)",
    "truncated": "error: cannot reach the apiserver at {url}: the connection broke before the whole answer was read",
    "trickle": "error: cannot reach the apiserver at {url}: timed out (no complete answer to get nodes within "
               "--request-timeout 2s)",
    "hang": "error: cannot reach the apiserver at {url}: timed out (no complete answer to get nodes within "
            "--request-timeout 2s)",
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_is_one_line_exit_2_and_bounded(run_cli, fakeapi, tmp_path, fault):
    fakeapi.fault = fault
    kc = fakeapi.kubeconfig(tmp_path)
    res, wall = _timed(run_cli, "why", "n1", "--kubeconfig", kc, "--request-timeout", "2")
    assert one_error_line(res) == FAULTS[fault].format(url=fakeapi.url)
    assert wall < LIMIT


def test_trickling_body_is_cut_at_the_request_timeout(run_cli, fakeapi, tmp_path):
    """The server sends a byte every 0.2 s: each read succeeds, the whole request does not."""
    fakeapi.fault = "trickle"
    res, wall = _timed(run_cli, "diff", "-A", "--kubeconfig", fakeapi.kubeconfig(tmp_path), "--request-timeout", "1")
    assert "timed out" in one_error_line(res)
    assert 1.0 <= wall < 3.0


def test_items_not_a_list(run_cli, fakeapi, tmp_path):
    """The response's shape is checked at the boundary (source/validate.py): one line naming the list."""
    fakeapi.fault = "items-not-a-list"
    res, _ = _timed(run_cli, "why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path), "--request-timeout", "2")
    assert "list of items" in one_error_line(res)


def test_a_short_retry_after_is_honoured_within_the_bound(run_cli, fakeapi, tmp_path):
    fakeapi.fault, fakeapi.fault_times, fakeapi.retry_after = "429", 1, 1
    t0 = time.monotonic()
    run_cli("why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path), "--request-timeout", "5", expect=None)
    assert time.monotonic() - t0 >= 1.0
    # why's reads go out at once: whichever reached the server first was refused once, then answered
    reads = [p for _, _, p in fakeapi.requests if p.startswith(("/api/", "/apis/"))]
    assert len(reads) == len(set(reads)) + 1


def test_a_plain_404_on_version_is_not_an_apiserver(run_cli, fakeapi, tmp_path):
    fakeapi.fault, fakeapi.fault_version = "404-text", True
    res, _ = _timed(run_cli, "why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path))
    assert one_error_line(res) == (f"error: the server at {fakeapi.url} answered 404 Not Found for the API path "
                              "(get /version) with a plain page, not a Kubernetes Status: is the kubeconfig's "
                              "server URL an apiserver's?")


def test_a_missing_node_is_still_not_found(run_cli, fakeapi, tmp_path):
    res, _ = _timed(run_cli, "why", "nope", "--kubeconfig", fakeapi.kubeconfig(tmp_path))
    assert one_error_line(res) == 'error: node "nope" not found'


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0"])
def test_request_timeout_must_be_a_positive_number(run_cli, value):
    res = run_cli("why", "n1", "--request-timeout", value, "--kubeconfig", "/nonexistent", expect=2)
    assert one_error_line(res).startswith("error: --request-timeout must be a positive number of seconds")


# --- exec credential plugins ---------------------------------------------------------------

EXEC_API = "client.authentication.k8s.io/v1"


def _plugin(tmp_path, body: str) -> str:
    path = tmp_path / "cred-plugin"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def _exec_user(command: str) -> dict:
    return {"exec": {"apiVersion": EXEC_API, "command": command, "interactiveMode": "Never"}}


def test_a_failing_exec_plugin_is_one_line_and_no_request_is_sent(fakeapi, tmp_path):
    """A subprocess, to see the real stderr: no `ERROR:root:` logging line, the plugin's last words."""
    plugin = _plugin(tmp_path, "echo 'fetching a token' >&2\necho 'corp-sso: session expired, run corp-login' >&2\n"
                               "exit 3\n")
    kc = fakeapi.kubeconfig(tmp_path, user=_exec_user(plugin))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kubectl_ds", "why", "n1", "--kubeconfig", kc],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert time.monotonic() - t0 < 20
    assert proc.returncode == 2
    assert proc.stderr == (f'error: exec credential plugin "{plugin}" failed (exit 3): '
                           "corp-sso: session expired, run corp-login\n")
    assert fakeapi.count() == 0


@pytest.mark.parametrize("body, said", [
    pytest.param("echo 'hello'\n", "printed something that is not an ExecCredential (not JSON: 'hello')",
                 id="garbage"),
    pytest.param("", "printed something that is not an ExecCredential (not JSON: nothing)", id="silent"),
    pytest.param(f'echo \'{{"apiVersion": "{EXEC_API}", "kind": "ExecCredential", "status": {{}}}}\'\n',
                 "printed an ExecCredential with neither a token nor a client certificate and key", id="no-token"),
    pytest.param("sleep 30\n", "did not answer within --request-timeout 1s", id="slow"),
])
def test_exec_plugin_faults(run_cli, fakeapi, tmp_path, body, said):
    plugin = _plugin(tmp_path, body)
    res, wall = _timed(run_cli, "why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path, user=_exec_user(plugin)),
                       "--request-timeout", "1")
    assert one_error_line(res) == f'error: exec credential plugin "{plugin}" {said}'
    assert wall < 4 and fakeapi.count() == 0


def test_a_missing_exec_plugin(run_cli, fakeapi, tmp_path):
    missing = str(tmp_path / "no-such-plugin")
    res, _ = _timed(run_cli, "why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path, user=_exec_user(missing)))
    assert one_error_line(res) == f'error: exec credential plugin "{missing}" was not found ' \
                             "(kubeconfig users[].user.exec.command)"


def test_a_working_exec_plugin_token_is_sent(run_cli, fakeapi, tmp_path):
    plugin = _plugin(tmp_path, f'echo \'{{"apiVersion": "{EXEC_API}", "kind": "ExecCredential", '
                               '"status": {"token": "from-the-plugin"}}\'\n')
    res = run_cli("why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path, user=_exec_user(plugin)), expect=None)
    assert "exec credential plugin" not in res.stderr, res.stderr
    assert fakeapi.authorization and set(fakeapi.authorization) == {"Bearer from-the-plugin"}, res.stderr


def test_a_busy_plugin_file_is_retried_not_reported(run_cli, fakeapi, tmp_path, mocker):
    """ETXTBSY: a fork elsewhere in the process (or an installer) still holds the plugin open for
    writing. A real exec cannot be made to race on demand, so the first two runs raise it."""
    plugin = _plugin(tmp_path, f'echo \'{{"apiVersion": "{EXEC_API}", "kind": "ExecCredential", '
                               '"status": {"token": "after-a-busy-start"}}\'\n')
    real, calls = subprocess.run, []

    def busy_twice(*args, **kwargs):
        calls.append(args[0])
        if len(calls) <= 2:
            raise OSError(errno.ETXTBSY, "Text file busy")
        return real(*args, **kwargs)
    mocker.patch("kubectl_ds.source.live.subprocess.run", side_effect=busy_twice)
    res = run_cli("why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path, user=_exec_user(plugin)), expect=None)
    assert len(calls) == 3 and "exec credential plugin" not in res.stderr, res.stderr
    assert set(fakeapi.authorization) == {"Bearer after-a-busy-start"}


def test_a_plugin_file_busy_for_good_is_one_line(run_cli, fakeapi, tmp_path, mocker):
    plugin = _plugin(tmp_path, "exit 0\n")
    mocker.patch("kubectl_ds.source.live.subprocess.run", side_effect=OSError(errno.ETXTBSY, "Text file busy"))
    res, wall = _timed(run_cli, "why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path, user=_exec_user(plugin)))
    assert one_error_line(res) == f'error: exec credential plugin "{plugin}" cannot be run: Text file busy'
    assert wall < 4 and fakeapi.count() == 0


# --- watches back off ----------------------------------------------------------------------

def test_rollout_against_410_on_every_watch_backs_off(run_cli, fakeapi, tmp_path):
    """Every watch is answered at once with 410 Gone: re-list and re-watch back off (0.8 s doubling,
    ±50 %) instead of spinning (HEAD before the backoff: ~1,000 requests in 8.7 s)."""
    fakeapi.fault = "watch-410"
    t0 = time.monotonic()
    res = run_cli("rollout", "agent", "-n", "default", "--timeout", "4", "--kubeconfig",
                  fakeapi.kubeconfig(tmp_path), expect=1)
    wall = time.monotonic() - t0
    assert 4 <= wall < 8
    # 3 streams, each at most: a watch at 0 s, then a re-list and a watch at 0.4-1.2 s and at
    # 1.2-3.6 s (and perhaps 2.8-8.4 s), plus the command's own reads
    watches = fakeapi.count(watch=True)
    assert 3 <= watches <= 3 * 4, watches
    assert fakeapi.count() <= 40, fakeapi.count()
    assert "watch of pods interrupted (410 Gone: too old resource version: 200 (300)); resuming" in res.stdout
    assert "internal error" not in res.stderr


def test_rollout_gives_up_after_consecutive_failures(run_cli, fakeapi, tmp_path, monkeypatch):
    monkeypatch.setattr(watch, "BACKOFF", watch.Backoff(start=0.01, cap=0.05, limit=4))
    fakeapi.fault = "watch-410"
    res, wall = _timed(run_cli, "rollout", "agent", "-n", "default", "--kubeconfig", fakeapi.kubeconfig(tmp_path))
    line = one_error_line(res)
    assert line.startswith("error: watch of ") and line.endswith(
        " failed 4 times in a row (the last: 410 Gone: too old resource version: 200 (300)); giving up")
    assert wall < LIMIT


def test_migrates_writes_are_bounded_too(fakeapi, tmp_path):
    """The Writer (migrate's patches and creates) goes through the same whole-request bound."""
    import time as _time

    from kubectl_ds.errors import DsError
    from kubectl_ds.source.live import LiveSource
    from kubectl_ds.source.writer import Writer
    live = LiveSource.connect(kubeconfig=fakeapi.kubeconfig(tmp_path), request_timeout=1)
    fakeapi.fault = "trickle"
    start = _time.monotonic()
    with pytest.raises(DsError, match="timed out"):
        Writer(live).get_pod("default", "agent-old-n1")   # the fake serves GET; writes take the same path
    assert _time.monotonic() - start < 3.0
