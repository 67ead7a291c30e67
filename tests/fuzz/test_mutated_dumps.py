"""The fuzz tier: every judging command on dumps that hypothesis mutates, one field at a time.

The base is the bundled example dump (real-shaped nodes, DaemonSets, pods, revisions, events,
workloads). Each example replaces, deletes or retypes one field somewhere in one object (or the
List around them) with a value an operator's broken dump could hold, then runs `why`, `diff -A`,
`footprint -A`, `lint -A` and `rollout --no-follow` on it with `-o json`. The contract, whatever
the input: exit 0, 1 or 2; on 0 and 1 stdout is one JSON document; on 2 exactly one stderr line
starting with `error:`; never `internal error`, never a traceback, never a hang (each run has an
alarm of 10 s).

The runs are derandomized (the same examples on every CI run: a failure reproduces), and their
number is set by KDS_FUZZ_EXAMPLES (default 150 per property, ~750 command runs).
"""

from __future__ import annotations

import copy
import json
import os
import signal
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLE

BASE = json.loads(open(EXAMPLE).read())
EXAMPLES = int(os.environ.get("KDS_FUZZ_EXAMPLES", "150"))

HOSTILE = [None, [], {}, "", "abc", 0, -1, 7, 2**63, -(2**63) - 1, 1.5, 1e308, True, False,
           "1.5.5Gi", "-100m", "1e400", "NaN", "Infinity", [None], [1, "x"], {"a": {"b": []}},
           "\x1b[31mred\x1b[0m", "line\nbreak", "\x00nul", "é" * 3, "9" * 40, "2026-13-45T99:99:99Z",
           "v1.99.0", {"key": 1}, [{"x": "y"}]]

COMMANDS = [
    ("why", "worker-1"), ("why", "cp-1"), ("diff", "-A"), ("footprint", "-A"), ("lint", "-A"),
    ("rollout", "net-agent", "-n", "kube-system", "--no-follow"),
]


def _paths(node, prefix=()):
    """Every path into a JSON value (dict keys and list indices), the value's own first."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


ALL_PATHS = [p for p in _paths(BASE) if p]   # ~2,000 places, the List's own fields included


# one mutation: (where, what): a path into the dump, and a hostile value or DELETE
DELETE = "<delete>"
MUTATION = st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(HOSTILE + [DELETE] * 4))


def mutate(mutations, base=None) -> dict:
    """The base dump (or `base`) with the mutations applied in order (one whose path an earlier
    one removed is skipped)."""
    doc = copy.deepcopy(BASE if base is None else base)
    for path, value in mutations:
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, (dict, list)):   # an earlier mutation made it a string
            continue
        if value == DELETE and isinstance(parent, dict):
            del parent[path[-1]]
        elif value != DELETE:
            parent[path[-1]] = copy.deepcopy(value)
    return doc


@contextmanager
def _alarm(seconds: int):
    def hang(*_):
        raise TimeoutError(f"no answer within {seconds}s")
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _check(run_cli, path, args):
    with _alarm(10):
        res = run_cli(*args, "--snapshot", str(path), "-o", "json", expect=None)
    where = f"kubectl ds {' '.join(args)} on {path}"
    assert res.code in (0, 1, 2), f"{where}: exit {res.code}"
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr, f"{where}: {res.stderr}"
    if res.code == 2:
        lines = res.stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and lines[-1].startswith("error:"), f"{where}: stderr {res.stderr!r}"
    else:
        json.loads(res.stdout)   # one JSON document, whatever was in the dump


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_every_command_answers_any_mutated_dump(run_cli, tmp_path, args, mutations):
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(mutate(mutations)))
    _check(run_cli, path, args)


MANIFEST = next(i for i in BASE["items"] if i["kind"] == "DaemonSet" and i["metadata"]["name"] == "log-agent")
MANIFEST_PATHS = [p for p in _paths(MANIFEST) if p]


@pytest.mark.parametrize("with_cluster", [False, True], ids=["alone", "with-dump"])
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(st.tuples(st.sampled_from(MANIFEST_PATHS), st.sampled_from(HOSTILE + [DELETE] * 4)),
                          min_size=1, max_size=3))
def test_lint_answers_any_mutated_manifest(run_cli, tmp_path, with_cluster, mutations):
    """`lint -f` on a DaemonSet manifest mutated the same way (alone, and against the dump's nodes)."""
    manifest = mutate([(("items", 0) + path, value) for path, value in mutations], {"items": [MANIFEST]})["items"][0]
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(manifest))
    args = ("lint", "-f", str(path), "-o", "json") + (("--snapshot", EXAMPLE) if with_cluster else ())
    with _alarm(10):
        res = run_cli(*args, expect=None)
    assert res.code in (0, 1, 2) and "internal error" not in res.stderr and "Traceback" not in res.stderr, \
        f"lint -f {path}: exit {res.code}: {res.stderr}"
    if res.code == 2:
        assert res.stderr.strip().splitlines()[-1].startswith("error:") and res.stderr.count("error:") == 1
    else:
        json.loads(res.stdout)
