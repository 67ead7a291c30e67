"""Compressed responses from a real HTTP server on loopback (tests/fakeapi.py): the live source asks
for gzip as client-go does, inflates what comes compressed, and the input limits apply to the
inflated bytes, so a gzip bomb is refused (one error line, exit 2) without being held in memory."""

from __future__ import annotations

import resource
import time

import pytest

from tests.conftest import one_error_line


@pytest.mark.parametrize("args", [["why", "n1"], ["diff", "-A"], ["rollout", "agent", "--no-follow"],
                                  ["footprint", "-A"]])
def test_gzip_answers_read_the_same_as_plain_ones(run_cli, fakeapi, tmp_path, monkeypatch, args):
    kc = fakeapi.kubeconfig(tmp_path)
    monkeypatch.setenv("KUBECTL_DS_ACCEPT_ENCODING", "identity")
    plain = run_cli(*args, "--kubeconfig", kc, expect=None)
    assert not any(e and "gzip" in e for e in fakeapi.accept_encoding)   # identity: not asked for
    monkeypatch.delenv("KUBECTL_DS_ACCEPT_ENCODING")
    fakeapi.gzip = True
    seen = len(fakeapi.accept_encoding)
    packed = run_cli(*args, "--kubeconfig", kc, expect=None)
    asked = fakeapi.accept_encoding[seen:]
    assert asked and all(e == "gzip" for e in asked)   # every request asks for it, as client-go does
    assert (packed.code, packed.stdout, packed.stderr) == (plain.code, plain.stdout, plain.stderr)
    assert plain.stdout


def test_a_gzip_bomb_is_refused_early(run_cli, fakeapi, tmp_path):
    """4 GiB once inflated (4 MB on the wire): refused once it inflates 300x beyond 16 MiB, within
    the request's time, and the process never holds anything near the whole."""
    fakeapi.fault = "gzip-bomb"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    res = run_cli("why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path), "--request-timeout", "20", expect=2)
    assert time.monotonic() - t0 < 20
    assert one_error_line(res) == ("error: get nodes from the apiserver: the response is refused: it inflates more "
                              "than 300 times its compressed size (a gzip bomb?)")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200


def test_the_input_limit_counts_inflated_bytes(run_cli, fakeapi, tmp_path, monkeypatch):
    """KUBECTL_DS_MAX_INPUT applies to what the body inflates to, not to the compressed bytes."""
    monkeypatch.setenv("KUBECTL_DS_MAX_INPUT", "4Mi")
    fakeapi.fault = "gzip-bomb"
    res = run_cli("diff", "-A", "--kubeconfig", fakeapi.kubeconfig(tmp_path), expect=2)
    assert one_error_line(res) == ("error: list daemonsets from the apiserver: the response is refused: larger "
                              "than 4 MiB, the input limit (KUBECTL_DS_MAX_INPUT raises it)")


def test_the_input_limit_applies_to_plain_answers_too(run_cli, fakeapi, tmp_path, monkeypatch):
    fakeapi.objects["nodes"] = fakeapi.objects["nodes"] * 40   # a node list of some kilobytes
    monkeypatch.setenv("KUBECTL_DS_MAX_INPUT", "2000")
    monkeypatch.setenv("KUBECTL_DS_ACCEPT_ENCODING", "identity")
    res = run_cli("diff", "agent", "--kubeconfig", fakeapi.kubeconfig(tmp_path), expect=2)
    assert one_error_line(res) == ("error: list nodes from the apiserver: the response is refused: larger than "
                              "1.95312 KiB, the input limit (KUBECTL_DS_MAX_INPUT raises it)")


def test_an_unknown_accept_encoding_setting_is_one_line(run_cli, fakeapi, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECTL_DS_ACCEPT_ENCODING", "br")
    res = run_cli("why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path), expect=2)
    assert one_error_line(res) == "error: KUBECTL_DS_ACCEPT_ENCODING='br' is not gzip or identity"
