"""Completion keeps its deadline with --snapshot too: a dump whose parsing holds the interpreter
(a 200 MB file) or that never arrives (a FIFO nobody writes) gives no names in time, never a
hung shell. The lookup runs in a child process killed at the deadline (completion.in_child)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from kubectl_ds.completion import in_child


def test_a_snapshot_that_never_arrives_gives_no_names_within_the_deadline(tmp_path):
    fifo = tmp_path / "dump.json"
    os.mkfifo(fifo)
    env = dict(os.environ, KUBECTL_DS_COMPLETION_TIMEOUT="1")
    start = time.monotonic()
    code = "import sys; from kubectl_ds.completion import main; main(sys.argv[1:])"
    out = subprocess.run([sys.executable, "-c", code, "why", "--snapshot", str(fifo), ""],
                         capture_output=True, text=True, env=env, timeout=30)
    elapsed = time.monotonic() - start
    assert elapsed < 5, f"completion took {elapsed:.1f}s"
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1].startswith(":")
    assert [line for line in out.stdout.splitlines() if not line.startswith(":")] == []


def test_in_child_returns_the_answer_or_none_at_the_deadline():
    assert in_child(lambda: ["a", "b"], 5) == ["a", "b"]
    start = time.monotonic()
    assert in_child(lambda: time.sleep(30) or ["late"], 0.5) is None   # type: ignore[func-returns-value]
    assert time.monotonic() - start < 3
    assert in_child(lambda: 1 / 0, 5) is None   # type: ignore[return-value]


def test_in_child_keeps_the_deadline_while_a_parse_holds_the_interpreter():
    """json.loads of a large dump is one C call: a thread's deadline waits for it to finish
    (seconds), a child process is killed on time."""
    import json
    big = "[" + ",".join(['{"a":[1,2,3],"b":"xxxxxxxx"}'] * 1_000_000) + "]"   # ~30 MB, ~1-3 s to parse
    start = time.monotonic()
    assert in_child(lambda: json.loads(big) and [], 0.2) is None
    assert time.monotonic() - start < 1.5
