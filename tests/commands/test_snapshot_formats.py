"""--snapshot reads the dumps people already have: `kubectl cluster-info dump` (its stdout stream of
typed lists with pod logs in between, and its --output-directory tree), several files, a
directory, gzip; and it says what it cannot place instead of dropping it."""

from __future__ import annotations

import copy
import gzip
import json
import os
from collections import defaultdict

import pytest

from tests.conftest import EXAMPLE

# kubectl cluster-info dump writes, per namespace, these lists in this order (then the pods' logs);
# nodes first, cluster-wide. It has no ControllerRevisions, StatefulSets nor Leases.
_PER_NS = (("Event", "events"), ("ReplicationController", "replication-controllers"), ("Service", "services"),
           ("DaemonSet", "daemonsets"), ("Deployment", "deployments"), ("ReplicaSet", "replicasets"),
           ("Pod", "pods"))
_API = {"Event": "v1", "ReplicationController": "v1", "Service": "v1", "Pod": "v1", "Node": "v1",
        "DaemonSet": "apps/v1", "Deployment": "apps/v1", "ReplicaSet": "apps/v1"}


def _example_items():
    with open(EXAMPLE) as fh:
        return json.load(fh)["items"]


def _typed_list(kind, items):
    """A list as client-go's typed List prints it: the list has the kind, its items do not."""
    stripped = []
    for item in items:
        item = copy.deepcopy(item)
        item.pop("kind", None)
        item.pop("apiVersion", None)
        stripped.append(item)
    return {"kind": f"{kind}List", "apiVersion": _API[kind], "metadata": {"resourceVersion": "4242"},
            "items": stripped}


def cluster_info_lists(items):
    """[(relative file name, typed list)] in the order cluster-info dump writes them."""
    by = defaultdict(list)
    for item in items:
        by[(item["kind"], item["metadata"].get("namespace", ""))].append(item)
    namespaces = sorted({ns for _, ns in by if ns})
    out = [("nodes.json", _typed_list("Node", by[("Node", "")]))]
    for ns in namespaces:
        for kind, fname in _PER_NS:
            out.append((f"{ns}/{fname}.json", _typed_list(kind, by[(kind, ns)])))
    return out


def cluster_info_stream(items) -> str:
    """The stdout of `kubectl cluster-info dump -A`: indented JSON documents one after another, and
    after each namespace's pods, each container's log between START and END lines."""
    parts = []
    for fname, doc in cluster_info_lists(items):
        parts.append(json.dumps(doc, indent=4) + "\n")
        if fname.endswith("/pods.json"):
            for pod in doc["items"]:
                ns, nm = pod["metadata"]["namespace"], pod["metadata"]["name"]
                for c in pod["spec"].get("containers", []):
                    parts.append(f"==== START logs for container {c['name']} of pod {ns}/{nm} ====\n"
                                 '{"level":"info","msg":"started"} }]{ not json\n'
                                 "==== END logs for container {c} of pod {ns}/{nm} ====\n"
                                 .replace("{c}", c["name"]).replace("{ns}", ns).replace("{nm}", nm))
    return "".join(parts)


def _reference(tmp_path, items):
    """The same objects as a plain List (what `kubectl get -o json` would print)."""
    path = tmp_path / "reference.json"
    path.write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}))
    return str(path)


def _cluster_info_objects():
    return [i for i in _example_items() if i["kind"] in ("Node", *(k for k, _ in _PER_NS))]


COMMANDS = [("why", "worker-5", "-o", "json"), ("why", "cp-1"), ("diff", "-A", "-o", "json"),
            ("diff", "log-agent", "-n", "logging", "-o", "json"), ("lint", "-A", "-o", "json")]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_cluster_info_dump_stream_reads_as_the_same_objects(run_cli, tmp_path, args):
    """The bug this fixes: typed lists' items carry no kind and were all dropped ("No DaemonSets
    found", "node not found") without a word."""
    objs = _cluster_info_objects()
    stream = tmp_path / "cluster-info.dump"
    stream.write_text(cluster_info_stream(objs))
    want = run_cli(*args, "--snapshot", _reference(tmp_path, objs), expect=None)
    got = run_cli(*args, "--snapshot", str(stream), expect=None)
    assert (got.code, got.stdout) == (want.code, want.stdout)
    assert "No DaemonSets" not in got.stderr and "not found" not in got.stderr
    assert got.stdout.strip()


def test_cluster_info_stream_is_not_empty_where_it_was(run_cli, tmp_path):
    stream = tmp_path / "cluster-info.dump"
    stream.write_text(cluster_info_stream(_cluster_info_objects()))
    doc = run_cli("diff", "-A", "--snapshot", str(stream), "-o", "json", expect=0).json()
    assert {(d["namespace"], d["name"]) for d in doc["items"]} == {
        ("logging", "log-agent"), ("monitoring", "node-exporter"), ("kube-system", "net-agent"),
        ("kube-system", "gpu-device-plugin")}
    why = run_cli("why", "worker-5", "--snapshot", str(stream), "-o", "json").json()
    assert why["node"] == "worker-5" and why["daemonsets"]


def _write_tree(root, items, yaml_files=False):
    import yaml
    for fname, doc in cluster_info_lists(items):
        path = root / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        if yaml_files:
            path.with_suffix(".yaml").write_text(yaml.safe_dump(doc))
        else:
            path.write_text(json.dumps(doc, indent=4))
        if fname.endswith("/pods.json"):
            for pod in doc["items"]:
                logs = root / pod["metadata"]["namespace"] / pod["metadata"]["name"] / "logs.txt"
                logs.parent.mkdir(parents=True, exist_ok=True)
                logs.write_text("==== START logs for container x of pod a/b ====\n{oops\n")


@pytest.mark.parametrize("yaml_files", [False, True], ids=["json", "yaml"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a[:2]))
def test_cluster_info_output_directory(run_cli, tmp_path, args, yaml_files):
    objs = _cluster_info_objects()
    tree = tmp_path / "cluster-state"
    _write_tree(tree, objs, yaml_files)
    want = run_cli(*args, "--snapshot", _reference(tmp_path, objs), expect=None)
    got = run_cli(*args, "--snapshot", str(tree), expect=None)
    assert (got.code, got.stdout) == (want.code, want.stdout)
    assert got.stderr == want.stderr


def test_several_files_as_a_comma_list_read_as_one(run_cli, tmp_path):
    items = _example_items()
    nodes = [i for i in items if i["kind"] == "Node"]
    rest = [i for i in items if i["kind"] != "Node"]
    a, b = tmp_path / "nodes.json", tmp_path / "rest.yaml"
    a.write_text(json.dumps({"kind": "List", "items": nodes}))
    import yaml
    b.write_text(yaml.safe_dump({"kind": "List", "items": rest}))
    for args, code in ((("diff", "-A", "-o", "json"), 0), (("why", "worker-4", "-o", "json"), 0)):
        want = run_cli(*args, "--snapshot", EXAMPLE, expect=code)
        got = run_cli(*args, "--snapshot", f"{a},{b}", expect=code)
        assert got.stdout == want.stdout and got.stderr == want.stderr


def test_the_same_object_in_two_files_is_read_once_with_a_warning(run_cli, tmp_path):
    copy_path = tmp_path / "again.json"
    copy_path.write_bytes(open(EXAMPLE, "rb").read())
    want = run_cli("diff", "-A", "-o", "json", "--snapshot", EXAMPLE, expect=0)
    got = run_cli("diff", "-A", "-o", "json", "--snapshot", f"{EXAMPLE},{copy_path}", expect=0)
    assert got.stdout == want.stdout
    assert "warning: Node cp-1 (and 32 more) is in several of the files" in got.stderr


def test_an_empty_part_of_a_comma_list_is_an_error(run_cli):
    res = run_cli("why", "n1", "--snapshot", f"{EXAMPLE},", expect=2)
    assert res.stderr == f"error: --snapshot {EXAMPLE},: an empty path in the comma-separated list\n"


def test_a_directory_without_dumps_is_an_error(run_cli, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    res = run_cli("why", "n1", "--snapshot", str(tmp_path), expect=2)
    assert res.stderr.startswith(f"error: cannot read snapshot {tmp_path}: the directory holds no JSON or YAML")
    assert len(res.stderr.splitlines()) == 1


def test_a_stray_json_file_in_a_directory_is_a_warning(run_cli, tmp_path):
    (tmp_path / "dump.json").write_bytes(open(EXAMPLE, "rb").read())
    (tmp_path / "settings.json").write_text('{"editor": "vi"}')
    res = run_cli("why", "cp-1", "--snapshot", str(tmp_path))
    assert f"warning: {tmp_path / 'settings.json'}: left out: not a Kubernetes List or object" in res.stderr


def test_an_object_of_unknown_kind_is_a_warning_naming_it(run_cli, tmp_path):
    items = _example_items()
    for item in items:
        if item["metadata"]["name"] in ("log-agent", "worker-2"):
            del item["kind"]   # in a plain List, nothing tells what they are
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"kind": "List", "items": items}))
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=None)
    assert f"warning: {path}: left out worker-2 (and 1 more): no kind" in res.stderr


def test_gzip_dump_is_read_by_its_magic_bytes(run_cli, tmp_path):
    path = tmp_path / "dump.json"        # no .gz in the name: the bytes tell
    path.write_bytes(gzip.compress(open(EXAMPLE, "rb").read()))
    want = run_cli("diff", "-A", "-o", "json", "--snapshot", EXAMPLE, expect=0)
    got = run_cli("diff", "-A", "-o", "json", "--snapshot", str(path), expect=0)
    assert got.stdout == want.stdout


def test_gzip_cluster_info_tree(run_cli, tmp_path):
    objs = _cluster_info_objects()
    tree = tmp_path / "tree"
    _write_tree(tree, objs)
    for dirpath, _, names in os.walk(tree):
        for n in names:
            if n.endswith(".json"):
                p = os.path.join(dirpath, n)
                data = open(p, "rb").read()
                with open(p + ".gz", "wb") as fh:
                    fh.write(gzip.compress(data))
                os.unlink(p)
    want = run_cli("diff", "-A", "-o", "json", "--snapshot", _reference(tmp_path, objs), expect=0)
    got = run_cli("diff", "-A", "-o", "json", "--snapshot", str(tree), expect=0)
    assert got.stdout == want.stdout


def test_a_gzip_bomb_is_refused_in_one_line(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECTL_DS_MAX_INPUT", "4Mi")
    path = tmp_path / "bomb.json.gz"
    with gzip.open(path, "wb") as fh:
        chunk = b" " * (1 << 20)
        for _ in range(64):        # 64 MiB of spaces: ~64 KiB compressed
            fh.write(chunk)
    assert path.stat().st_size < (1 << 20)
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    assert res.stderr == (f"error: cannot read snapshot {path}: it decompresses to more than 4 MiB, the input "
                          "limit (KUBECTL_DS_MAX_INPUT raises it)\n")


def test_a_truncated_gzip_is_an_error(run_cli, tmp_path):
    path = tmp_path / "dump.json.gz"
    path.write_bytes(gzip.compress(open(EXAMPLE, "rb").read())[:500])
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    assert res.stderr.startswith(f"error: cannot read snapshot {path}: the gzip data is truncated")


def test_files_together_beyond_the_limit_are_refused(run_cli, tmp_path, monkeypatch):
    size = os.path.getsize(EXAMPLE)
    monkeypatch.setenv("KUBECTL_DS_MAX_INPUT", str(size + size // 2))
    copy_path = tmp_path / "b.json"
    copy_path.write_bytes(open(EXAMPLE, "rb").read())
    res = run_cli("diff", "-A", "--snapshot", f"{EXAMPLE},{copy_path}", expect=2)
    assert res.stderr.startswith(f"error: cannot read snapshot {copy_path}: the files together are larger than")


def test_stream_depth_and_numbers_keep_their_limits(run_cli, tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"kind": "NodeList", "items": []}\n' + "[" * 150 + "]" * 150 + "\n")
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    assert res.stderr == f"error: malformed snapshot {path}: nested deeper than 100 levels\n"
    path.write_text('{"kind": "NodeList", "items": []}\n{"kind": "PodList", "items": [], "x": NaN}\n')
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    assert res.stderr == f"error: malformed snapshot {path}: NaN is not a number (JSON has no infinities or NaN)\n"


def test_a_broken_stream_names_the_line(run_cli, tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"kind": "NodeList", "items": []}\n\n{"kind": "PodList", "items": [}\n')
    res = run_cli("diff", "-A", "--snapshot", str(path), expect=2)
    assert res.stderr.startswith(f"error: malformed snapshot {path}: not JSON (Expecting value at line 3 column")


def test_stdin_dash(run_cli, monkeypatch):
    import io
    import sys

    class _Stdin(io.TextIOWrapper):
        pass
    monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(gzip.compress(open(EXAMPLE, "rb").read()))))
    want = run_cli("why", "worker-5", "-o", "json", "--snapshot", EXAMPLE)
    got = run_cli("why", "worker-5", "-o", "json", "--snapshot", "-")
    assert got.stdout == want.stdout


def test_cluster_info_dump_as_yaml_stream(run_cli, tmp_path):
    """`kubectl cluster-info dump -o yaml`: the lists as YAML documents between `---` lines, the
    logs between them as in the JSON stream."""
    import yaml
    objs = _cluster_info_objects()
    parts = []
    for fname, doc in cluster_info_lists(objs):
        parts.append(("---\n" if parts else "") + yaml.safe_dump(doc))
        if fname.endswith("/pods.json") and doc["items"]:
            pod = doc["items"][0]
            ns, nm = pod["metadata"]["namespace"], pod["metadata"]["name"]
            parts.append(f"==== START logs for container c of pod {ns}/{nm} ====\nkey: [unclosed\n"
                         f"==== END logs for container c of pod {ns}/{nm} ====\n")
    path = tmp_path / "cluster-info.yaml"
    path.write_text("".join(parts))
    want = run_cli("diff", "-A", "-o", "json", "--snapshot", _reference(tmp_path, objs), expect=0)
    got = run_cli("diff", "-A", "-o", "json", "--snapshot", str(path), expect=0)
    assert got.stdout == want.stdout


def test_several_values_as_a_repeated_flag_would_give_them(tmp_path):
    """For a repeated --snapshot (options.py would pass a tuple): the same objects as a comma list."""
    from kubectl_ds.source.snapshot import SnapshotSource
    items = _example_items()
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"kind": "List", "items": items[:10]}))
    b.write_text(json.dumps({"kind": "List", "items": items[10:]}))
    listed = SnapshotSource.load([str(a), str(b)])
    joined = SnapshotSource.load(f"{a},{b}")
    whole = SnapshotSource.load(EXAMPLE)
    assert listed.by_kind == joined.by_kind == whole.by_kind
    assert listed.origin == f"{a},{b}"
