"""Output is always a document, control characters never reach the terminal, empty arguments are
errors (issue 12, items 6 and 7)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests import builders as b
from tests.conftest import EXAMPLE

S = ("--snapshot", EXAMPLE)
VERSION = {"kubernetesVersion": "1.33", "kubernetesVersionSource": "kubelets"}
# what must never reach a terminal raw (a newline only as the line separator of the output)
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _parse(fmt, text):
    return json.loads(text) if fmt == "json" else yaml.safe_load(text)


# --- nothing in scope: still a document -------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("args,key", [
    (("diff", "-n", "empty"), "items"),
    (("diff", "-A", "-l", "app=nothing"), "items"),
    (("footprint", "-n", "empty"), "daemonsets"),
    (("footprint", "-A", "-l", "app=nothing"), "daemonsets"),
    (("lint", "-n", "empty"), "findings"),
    (("why", "cp-1", "-n", "empty"), "daemonsets"),
    (("why", "cp-1", "-l", "app=nothing"), "daemonsets"),
])
def test_nothing_in_scope_is_an_empty_document(run_cli, args, key, fmt):
    res = run_cli(*args, *S, "-o", fmt)
    doc = _parse(fmt, res.stdout)
    assert doc[key] == [] and {k: doc[k] for k in VERSION} == VERSION
    assert res.stderr == ""


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_empty_documents_have_the_usual_shape(run_cli, fmt):
    assert _parse(fmt, run_cli("diff", "-n", "empty", *S, "-o", fmt).stdout) == {"items": [], **VERSION}
    fp = _parse(fmt, run_cli("footprint", "-n", "empty", *S, "-o", fmt).stdout)
    assert fp["total"]["pods"] == 0 and fp["cluster"]["nodes"] == 7 and fp["notes"] == []
    by_node = _parse(fmt, run_cli("footprint", "--by-node", "-n", "empty", *S, "-o", fmt).stdout)
    assert len(by_node["nodes"]) == 7 and all(n["daemonsets"] == [] for n in by_node["nodes"])
    lint = _parse(fmt, run_cli("lint", "-n", "empty", *S, "-o", fmt).stdout)
    assert lint["summary"] == {"objects": 0, "error": 0, "warning": 0, "info": 0, "suppressed": 0}
    assert lint["findings"] == lint["suppressed"] == [] and lint["cluster"] is True


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_lint_of_manifests_without_a_daemonset_is_an_empty_document(run_cli, tmp_path, fmt):
    path = tmp_path / "svc.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    res = run_cli("lint", "-f", str(path), "-o", fmt)
    doc = _parse(fmt, res.stdout)
    assert doc["findings"] == [] and doc["cluster"] is False and doc["summary"]["objects"] == 0
    assert doc["kubernetesVersionSource"] == "default" and res.stderr == ""


@pytest.mark.parametrize("args", [("diff", "-n", "empty"), ("footprint", "-n", "empty"), ("lint", "-n", "empty")])
@pytest.mark.parametrize("fmt", ["table", "wide"])
def test_nothing_in_scope_as_text_is_said_on_stderr(run_cli, args, fmt):
    res = run_cli(*args, *S, "-o", fmt)
    assert res.stdout == "" and res.stderr == "No DaemonSets found in namespace empty.\n"


def test_rollout_history_without_revisions_is_a_document(run_cli, tmp_path):
    ds = b.daemonset("agent")
    snap = _snapshot(tmp_path, b.node("n1"), ds)
    assert run_cli("rollout", "history", "agent", *snap, "-o", "json").json()["revisions"] == []
    assert yaml.safe_load(run_cli("rollout", "history", "agent", *snap, "-o", "yaml").stdout) == {"revisions": []}


# --- control characters from the cluster ------------------------------------------------------

EVIL = "\x1b[31mred\x07bell\x00nul\nsecond line\rback\x9bcsi\u2028sep"


def _snapshot(tmp_path, *groups, name="dump.json"):
    path = tmp_path / name
    path.write_text(json.dumps(b.dump(*groups)))
    return ("--snapshot", str(path))


def _evil_dump(tmp_path):
    """A DaemonSet that selects an evil label value, a node whose label and condition carry it,
    an evil event on the DaemonSet (FailedCreate), an evil image on a pod that cannot pull it."""
    n1 = b.node("n1", labels={"disk": EVIL})
    n1["status"]["conditions"][-1]["message"] = EVIL
    n2 = b.node("n2", labels={"disk": "ssd"})
    picky = b.daemonset("picky", "ns1", node_selector={"disk": EVIL}, labels={"app": "picky", "note": "x"})
    picky["metadata"]["annotations"]["kubernetes.io/change-cause"] = EVIL
    picky["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example/" + EVIL
    agent = b.daemonset("agent", "ns1")
    pod = b.daemon_pod(agent, "n1", waiting="ErrImagePull")
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = EVIL
    ev = b.event(picky, "FailedCreate", "quota exceeded: " + EVIL)
    pending = b.daemon_pod(agent, "n2", phase="Pending", bound=False)
    pending["status"]["conditions"][0]["message"] = EVIL
    rev = b.revision(picky, "abc123", 1, image="registry.example/" + EVIL)
    return _snapshot(tmp_path, [n1, n2], [picky, agent], [pod, pending], ev, rev)


def _clean(text):
    found = RAW.findall(text)
    assert not found, f"raw control characters {found!r} in:\n{text}"


@pytest.mark.parametrize("fmt", ["table", "wide"])
@pytest.mark.parametrize("args", [
    ("why", "n1", "-A"), ("why", "n2", "-A"), ("why", "n1", "-d", "picky"),
    ("diff", "-A"), ("diff", "picky", "-n", "ns1"), ("diff", "agent", "-n", "ns1"),
    ("lint", "-A"), ("footprint", "-A"), ("footprint", "-A", "--by-node"),
    ("rollout", "agent", "-n", "ns1"), ("rollout", "history", "picky", "-n", "ns1"),
    ("rollout", "history", "picky", "-n", "ns1", "--revision", "1"),
])
def test_text_output_escapes_control_characters(run_cli, tmp_path, args, fmt):
    res = run_cli(*args, *_evil_dump(tmp_path), "-o", fmt, expect=None)
    assert res.code in (0, 1), res.stderr
    _clean(res.stdout)
    _clean(res.stderr)


def test_the_escapes_are_readable(run_cli, tmp_path):
    out = run_cli("why", "n1", "-d", "picky", *_evil_dump(tmp_path), "-o", "wide").stdout
    assert "\\x1b[31mred\\x07bell\\x00nul\\nsecond line\\rback\\x9bcsi\\u2028sep" in out


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("args,kept", [
    (("why", "n2", "-A"), True), (("diff", "-A"), True), (("lint", "-A"), False), (("footprint", "-A"), False),
    (("rollout", "history", "picky", "-n", "ns1"), True),
])
def test_documents_escape_control_characters_and_keep_the_data(run_cli, tmp_path, args, kept, fmt):
    res = run_cli(*args, *_evil_dump(tmp_path), "-o", fmt, expect=None)
    assert res.code in (0, 1), res.stderr
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", res.stdout)
    doc = _parse(fmt, res.stdout)   # valid, and the data is intact once parsed
    assert any(EVIL in text for text in _strings(doc)) or not kept


def _strings(doc):
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for v in doc.values():
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def test_an_error_naming_evil_data_is_one_line(run_cli, tmp_path):
    snap = _evil_dump(tmp_path)
    for args in (("why", "bad\x1b[2Jnode\nerror: forged"), ("diff", "x\ny\x07", "-n", "ns1"),
                 ("why", "n1", "-d", "no\r\x00pe"), ("diff", "x", "-n", "\x1b]0;title\x07")):
        res = run_cli(*args, *snap, expect=2)
        assert res.stdout == ""
        assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
        _clean(res.stderr)


def test_a_malformed_dump_error_is_one_line(run_cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("items:\n  - kind: Node\n    metadata: {name: [\n\x1b[31m\n")
    res = run_cli("why", "n1", "--snapshot", str(path), expect=2)
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    _clean(res.stderr)


def test_printable_and_escaped():
    from kubectl_ds.core.results import Reason
    from kubectl_ds.render.common import escaped, printable
    assert printable("plain — ünïcode \\ ok") == "plain — ünïcode \\ ok"
    assert printable("a\tb\nc\x1b\x7f\u202e") == "a\\tb\\nc\\x1b\\x7f\\u202e"
    r = escaped(Reason("Taint", "m\n", {"nodes": ["a\x07"], "n": 1}))
    assert (r.type, r.message, r.detail) == ("Taint", "m\\n", {"nodes": ["a\\x07"], "n": 1})


# --- completion --------------------------------------------------------------------------------

def test_completion_drops_candidates_with_control_characters(tmp_path):
    from kubectl_ds.completion import complete, output_lines
    snap = _snapshot(tmp_path, [b.node("n1"), b.node("n\tx"), b.node("n\ny"), b.node("n\x1b[31m")])
    comps, _ = complete(["why", *snap], "n")
    assert comps == ["n1"]
    assert output_lines(["ok\tdesc\x1b[1m\nmore", "bad\x07\tdesc", "", "plain"]) == \
        ["ok\tdesc\\x1b[1m\\nmore", "plain"]


def test_completion_main_writes_one_line_per_candidate(tmp_path, capsys):
    from kubectl_ds import completion
    snap = _snapshot(tmp_path, [b.node("n1"), b.node("n\nforged"), b.node("n2\t:0")])
    completion.main(["why", *snap, ""])
    assert capsys.readouterr().out == "n1\n:4\n"


# --- empty arguments ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (("why", ""), "NODE must not be empty"),
    (("why", " "), "NODE must not be empty"),
    (("why", "cp-1", "-d", ""), "-d/--daemonset must not be empty"),
    (("why", "cp-1", "-n", ""), "-n/--namespace must not be empty"),
    (("-n", "", "why", "cp-1"), "-n/--namespace must not be empty"),
    (("why", "cp-1", "--context", ""), "--context must not be empty"),
    (("why", "cp-1", "--kubeconfig", ""), "--kubeconfig must not be empty"),
    (("diff", ""), "NAME must not be empty"),
    (("diff", "log-agent", "-n", "logging", "-f", ""), "-f/--filename must not be empty"),
    (("lint", ""), "NAME must not be empty"),
    (("lint", "-f", ""), "-f/--filename must not be empty"),
    (("rollout", ""), "NAME must not be empty"),
    (("rollout", "history", ""), "NAME must not be empty"),
    (("migrate", "", "-l", "a=b"), "NAME must not be empty"),
    (("migrate", "log-agent", "-f", ""), "-f/--filename must not be empty"),
    (("migrate", "--resume", ""), "--resume must not be empty"),
    (("migrate", "--rollback", ""), "--rollback must not be empty"),
    (("migrate", "log-agent", "-l", "a=b", "--state-file", ""), "--state-file must not be empty"),
])
def test_an_empty_argument_is_an_error(run_cli, args, message):
    res = run_cli(*args, *S, expect=2)
    assert res.stdout == "" and res.stderr == f"error: {message}\n"


def test_an_empty_snapshot_is_an_error(run_cli):
    for args in (("why", "cp-1", "--snapshot", ""), ("--snapshot", "", "diff", "-A")):
        res = run_cli(*args, expect=2)
        assert res.stdout == "" and res.stderr == "error: --snapshot must not be empty\n"


def test_migrate_help_says_what_its_selector_is(run_cli):
    out = run_cli("migrate", "--help").stdout
    text = " ".join(out.split())
    assert "-l, --selector SELECTOR The NEW selector to re-create the DaemonSet with" in text
    assert "Only DaemonSets matching this label selector" not in text
    assert "Only DaemonSets matching this label selector" in " ".join(run_cli("diff", "--help").stdout.split())


def test_live_rollout_lines_escape_control_characters():
    """`rollout` following (no --snapshot): the header, per-node lines, notes and the final lines."""
    import io
    from datetime import datetime, timezone

    from kubectl_ds.commands.rollout import _LivePrinter
    from kubectl_ds.core.rollout import progress
    from kubectl_ds.core.versions import KubeVersion
    ds = b.daemonset("agent", "ns\x1b[2J", generation=2, template_generation=2,
                     status={"desiredNumberScheduled": 1, "updatedNumberScheduled": 0, "numberAvailable": 0,
                             "observedGeneration": 2, "currentNumberScheduled": 1, "numberReady": 0})
    revs = [b.revision(ds, "old", 1, image="x:1"), b.revision(ds, "new", 2, image="registry.example/" + EVIL)]
    pod = b.daemon_pod(ds, "n1", hash="new", generation=2, waiting="ErrImagePull", ready=False)
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = EVIL
    st = progress(ds, [pod], [b.node("n1")], revs, [], datetime(2026, 11, 21, tzinfo=timezone.utc),
                  ctx=b.fit_ctx())
    out = io.StringIO()
    printer = _LivePrinter("table", tty=False, version=KubeVersion(33, "flag"), out=out)
    printer.change(st, None)
    printer.note("watch interrupted (" + EVIL + "); resuming")
    printer.finish(st, timed_out=True, timeout=5)
    text = out.getvalue()
    assert "ns\\x1b[2J/agent" in text and "interrupted (\\x1b[31mred" in text
    _clean(text)
