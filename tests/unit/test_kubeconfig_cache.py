"""The kubeconfig is parsed once per process while its files stay the same (fleet mode opens a
client per context from it), and again as soon as one of them changes."""

from __future__ import annotations

import os

import yaml

from kubectl_ds.source.live import merged_kubeconfig


def _write(path, contexts):
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                                    "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}}
                                                 for n in contexts],
                                    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                                    "users": [{"name": "u", "user": {"token": "t"}}]}))


def _names(merged):
    return [c.value["name"] for c in merged.config.value["contexts"]]


def test_parsed_once_then_again_when_a_file_changes(tmp_path, mocker):
    kc = tmp_path / "config"
    _write(kc, ["a", "b"])
    import kubernetes.config.kube_config as kube_config
    spy = mocker.spy(kube_config.KubeConfigMerger, "__init__")
    first = merged_kubeconfig(str(kc))
    assert merged_kubeconfig(str(kc)) is first and spy.call_count == 1
    _write(kc, ["a", "b", "c"])
    st = os.stat(kc)
    os.utime(kc, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))   # a new mtime even on a coarse clock
    again = merged_kubeconfig(str(kc))
    assert spy.call_count == 2 and _names(again) == ["a", "b", "c"] and _names(first) == ["a", "b"]


def test_a_colon_list_is_keyed_by_every_file(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _write(one, ["a"])
    _write(two, ["b"])
    both = merged_kubeconfig(f"{one}{os.pathsep}{two}")
    assert sorted(_names(both)) == ["a", "b"]
    assert merged_kubeconfig(str(one)) is not both
