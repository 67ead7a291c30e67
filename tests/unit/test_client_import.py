"""source/client.py: the kubernetes client without its generated API and model packages.

Each case runs in a fresh interpreter: the test process itself has imported the whole client.
"""

import subprocess
import sys
import textwrap


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_live_source_loads_only_the_modules_it_uses():
    out = run("""
        import sys
        from kubectl_ds.source.live import LiveSource
        from kubectl_ds.source.client import load
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration
        src = LiveSource(ApiClient(Configuration()))
        mods = [m for m in sys.modules if m.startswith("kubernetes")]
        print(len(mods), "kubernetes.client.models.v1_pod" in sys.modules,
              "kubernetes.client.api.storage_v1_api" in sys.modules, type(src.core).__name__)
    """)
    count, pod_model, other_api, core = out.split()
    assert int(count) < 40 and pod_model == "False" and other_api == "False" and core == "CoreV1Api"


def test_the_kubeconfig_loader_works_through_the_lazy_packages(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(textwrap.dedent("""
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
        users: [{name: u, user: {token: abc}}]
        contexts: [{name: x, context: {cluster: c, user: u, namespace: team}}]
        current-context: x
    """))
    out = run(f"""
        import sys
        from kubectl_ds.source.live import LiveSource
        src = LiveSource.connect({str(kubeconfig)!r})
        print(src.api_client.configuration.host, src.default_namespace,
              src.api_client.configuration.api_key.get("authorization"),
              "kubernetes.client.models.v1_pod" in sys.modules)
    """)
    assert out == "https://127.0.0.1:1 team Bearer abc False"


def test_every_name_of_the_client_is_still_there_when_asked_for():
    out = run("""
        from kubectl_ds.source.client import load, api
        assert load()
        api("CoreV1Api")
        import kubernetes, kubernetes.client
        from kubernetes import watch
        from kubernetes.client import V1Pod, ApiException, StorageV1Api
        print(kubernetes.__version__ != "", V1Pod.__name__, ApiException.__name__, StorageV1Api.__name__,
              type(kubernetes.client).__name__, watch.Watch.__name__)
    """)
    assert out == "True V1Pod ApiException StorageV1Api module Watch"


def test_an_unknown_name_is_an_attribute_error():
    out = run("""
        from kubectl_ds.source.client import load
        load()
        import kubernetes.client
        try:
            kubernetes.client.NoSuchThing
        except AttributeError as err:
            print("AttributeError", "NoSuchThing" in str(err))
    """)
    assert out == "AttributeError True"


def test_nothing_is_changed_when_the_client_was_imported_already():
    out = run("""
        import kubernetes
        from kubectl_ds.source.client import load
        print(load(), type(kubernetes.client).__name__)
    """)
    assert out == "False module"


def test_an_unexpected_layout_falls_back_to_the_normal_import():
    out = run("""
        import importlib.util, sys
        real = importlib.util.find_spec
        importlib.util.find_spec = lambda name, *a: None if name == "kubernetes.client.models" else real(name, *a)
        from kubectl_ds.source import client
        ok = client.load()
        importlib.util.find_spec = real
        print(ok, [m for m in client.LAZY if m in sys.modules])
        from kubernetes.client import CoreV1Api
        print(CoreV1Api.__name__)
    """)
    assert out == "False []\nCoreV1Api"


def test_threads_that_need_the_whole_package_wait_for_one_another():
    out = run("""
        import threading
        from kubectl_ds.source.client import load
        load()
        import kubernetes.client.models as models
        names = ["V1Pod", "V1Node", "V1Namespace", "V1Secret", "V1ConfigMap", "V1Service"]
        barrier, got = threading.Barrier(len(names)), []
        def ask(n):
            barrier.wait()
            try:
                got.append(getattr(models, n).__name__)
            except AttributeError as err:
                got.append(f"AttributeError {err}")
        threads = [threading.Thread(target=ask, args=(n,)) for n in names]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(sorted(got) == sorted(names), got)
    """)
    assert out.startswith("True"), out


def test_a_loader_that_cannot_run_a_module_in_place_means_the_normal_import():
    # zipimport before Python 3.10 has no exec_module; running the zipapp there must still work
    out = run("""
        import importlib.util, sys
        real = importlib.util.find_spec
        class OldLoader:
            def __init__(self, loader): self.loader = loader
            def load_module(self, name): return self.loader.load_module(name)
        def find_spec(name, *a):
            spec = real(name, *a)
            if name == "kubernetes.client.api" and spec is not None:
                spec.loader = OldLoader(spec.loader)
            return spec
        importlib.util.find_spec = find_spec
        from kubectl_ds.source import client
        ok = client.load()
        importlib.util.find_spec = real
        print(ok, [m for m in client.LAZY if m in sys.modules])
    """)
    assert out == "False []"


def test_the_dynamic_client_imports_after_load():
    # kubernetes.dynamic does `from kubernetes import __version__` while kubernetes is lazy
    out = run("""
        from kubectl_ds.source.client import load
        load()
        import kubernetes.dynamic, kubernetes
        from kubernetes.dynamic import DynamicClient
        print(DynamicClient.__name__, kubernetes.__version__ != "", hasattr(kubernetes, "leaderelection"))
    """)
    assert out == "DynamicClient True True"


def test_only_names_the_real_package_exports_appear_on_it():
    out = run("""
        from kubectl_ds.source.client import load
        load()
        import kubernetes.client as c
        print([hasattr(c, n) for n in ("logger", "json", "urllib3", "six", "RESTClientObject", "render_path")],
              [hasattr(c, n) for n in ("ApiClient", "Configuration", "ApiException", "ApiValueError", "CoreV1Api")])
    """)
    assert out == "[False, False, False, False, False, False] [True, True, True, True, True]"
