"""`why NODE` on a live cluster sends its independent reads at once (commands/why.py): against a
server that holds each answer, they all start before the first answer comes back, and the output is
the one the same reads made one after another give."""

from __future__ import annotations

import pytest

from kubectl_ds.source.live import LiveSource
from tests import builders as b

DELAY = 0.4


def _starts(api):
    return sorted(t for t, _, p in api.requests if p.startswith(("/api/", "/apis/", "/version")))


@pytest.mark.parametrize("extra", [[], ["-d", "agent"], ["-n", "default"], ["-o", "json"]])
def test_reads_overlap_and_answer_as_in_order(run_cli, fakeapi, tmp_path, monkeypatch, extra):
    kc = fakeapi.kubeconfig(tmp_path)
    fakeapi.delay = DELAY
    together = run_cli("why", "n1", *extra, "--kubeconfig", kc, expect=None)
    starts = _starts(fakeapi)
    # version, node, daemonsets, bound pods (and without -d: unbound pods, revisions) at once
    at_once = sum(1 for t in starts if t < starts[0] + DELAY / 2)
    assert at_once >= (4 if "-d" in extra else 6), starts
    fakeapi.requests.clear()
    monkeypatch.setattr(LiveSource, "concurrent_reads", False)
    in_order = run_cli("why", "n1", *extra, "--kubeconfig", kc, expect=None)
    starts = _starts(fakeapi)
    assert all(b2 - a >= DELAY * 0.9 for a, b2 in zip(starts, starts[1:]))   # one after another
    assert (together.code, together.stdout, together.stderr) == (in_order.code, in_order.stdout, in_order.stderr)
    assert together.stdout


def test_the_first_failing_read_is_the_error(run_cli, fakeapi, tmp_path):
    """A missing node is reported as it was when the reads ran in order, whatever else fails too."""
    res = run_cli("why", "nope", "-d", "nope", "--kubeconfig", fakeapi.kubeconfig(tmp_path), expect=2)
    assert res.stderr == 'error: node "nope" not found\n'


def test_events_of_missing_pods_are_read_together(run_cli, fakeapi, tmp_path):
    """Two DaemonSets missing from the node: their events are two reads sent at once."""
    for name in ("a", "b"):
        ds = b.daemonset(name, status={"desiredNumberScheduled": 2, "observedGeneration": 1})
        fakeapi.objects["daemonsets"].append(ds)
    fakeapi.delay = DELAY
    run_cli("why", "n1", "--kubeconfig", fakeapi.kubeconfig(tmp_path), expect=None)
    events = sorted(t for t, _, p in fakeapi.requests if "/events" in p)
    assert len(events) >= 2
    assert events[1] - events[0] < DELAY / 2
