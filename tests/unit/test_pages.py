"""LIST pages from a server that cuts them (tests/fakeapi.py): every item, in order, once, whether
the next page was asked for ahead (its token read from the head of the body) or after parsing."""

from __future__ import annotations

import pytest

from kubectl_ds.source.live import PAGE_SIZE, LiveSource, _continue_in
from tests import builders as b


@pytest.mark.parametrize("metadata_last", [False, True])
@pytest.mark.parametrize("gzip", [False, True])
def test_every_page_once_in_order(fakeapi, tmp_path, metadata_last, gzip):
    fakeapi.objects["nodes"] = [b.node(f"n{i:04}") for i in range(2 * PAGE_SIZE + 7)]
    fakeapi.metadata_last, fakeapi.gzip = metadata_last, gzip
    live = LiveSource.connect(fakeapi.kubeconfig(tmp_path), request_timeout=10)
    names = [n["metadata"]["name"] for n in live.nodes()]
    assert names == [f"n{i:04}" for i in range(2 * PAGE_SIZE + 7)]
    assert fakeapi.pages == [("nodes", None), ("nodes", str(PAGE_SIZE)), ("nodes", str(2 * PAGE_SIZE))]


def test_a_failing_next_page_is_the_error(fakeapi, tmp_path, run_cli):
    """The page asked for ahead fails: its error is the command's, one line."""
    fakeapi.objects["nodes"] = [b.node(f"n{i:04}") for i in range(PAGE_SIZE + 1)]
    fakeapi.fault, fakeapi.fault_times = None, None
    kc = fakeapi.kubeconfig(tmp_path)
    original = fakeapi.server.RequestHandlerClass.do_GET

    def second_page_fails(handler):
        if "continue=" in handler.path:
            fakeapi.fault, fakeapi.fault_times = "500", 1
        return original(handler)
    fakeapi.server.RequestHandlerClass.do_GET = second_page_fails
    res = run_cli("diff", "agent", "--kubeconfig", kc, expect=2)
    assert res.stderr == "error: list nodes at the cluster scope failed: 500 etcdserver: request timed out\n"


@pytest.mark.parametrize("body,token", [
    (b'{"kind":"NodeList","metadata":{"resourceVersion":"9","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"},'
     b'"items":[]}', "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"),
    (b'{"kind":"NodeList","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"continue":"x"}}]}', None),
    (b'{"kind":"NodeList","items":[],"metadata":{"continue":"abc"}}', None),   # not in the head: no guess
    (b'{"kind":"NodeList","metadata":{"continue":""},"items":[]}', None),
])
def test_the_continue_token_in_the_head(body, token):
    assert _continue_in(body) == token
