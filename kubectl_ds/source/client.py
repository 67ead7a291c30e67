"""The kubernetes client, imported without its ~900 generated modules.

`import kubernetes` runs the package's `__init__`, which imports every API class and every model
(`kubernetes.client.api`, `kubernetes.client.models`): about 0.3 s of every live command on a quiet
machine, for code the plugin never runs (it reads raw JSON). The kubeconfig loader, the API client
and the few API classes the plugin calls live in their own modules and do not need any of that.

`load()` registers the four packages (`kubernetes`, `.client`, `.client.api`, `.client.models`) as
*lazy packages* before anything imports them: real package modules (same spec, same `__path__`, so
their submodules import as usual) whose `__init__` has not run. An attribute the package does not
have yet is looked up in the submodule that defines it (`ApiClient` in `api_client`, `CoreV1Api` in
`api/core_v1_api`, ...: only names the real `__init__` exports); anything else runs the package's
real `__init__` at that moment (one thread does, the others wait), so every name the package exports
is still there, only later. `kubernetes.__version__` is read from the package's source up front.
If the packages were imported already, or the client's layout is not what this expects (or the
loader cannot run a module in place: zipimport before Python 3.10), nothing is changed: the normal
import happens.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
import types
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import InspectLoader

LAZY = ("kubernetes", "kubernetes.client", "kubernetes.client.api", "kubernetes.client.models")
_LOCK = threading.RLock()   # one thread runs a package's real __init__; the others wait for it
_VERSION = re.compile(r"""^(__version__|__project__)\s*=\s*['"]([^'"]*)['"]""", re.M)


class _LazyPackage(types.ModuleType):
    """A package module whose `__init__` runs on the first attribute it does not have."""

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr not in ("__all__", "__version__", "__project__"):
            raise AttributeError(attr)
        if not attr.startswith("_"):
            try:
                submodule = importlib.util.find_spec(f"{self.__name__}.{attr}")
            except (ImportError, ValueError):
                submodule = None
            if submodule is not None:   # `from kubernetes.client import rest`: just that module
                return importlib.import_module(f"{self.__name__}.{attr}")
            value = _exported(self.__name__, attr)
            if value is not None:
                setattr(self, attr, value)
                return value
        with _LOCK:
            if type(self) is _LazyPackage and not self.__dict__.get("_kds_completing"):
                _complete(self)
        try:
            return self.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}") from None


def _exported(package: str, attr: str):
    """A name the real package __init__ exports, from the one module that defines it; else None.

    Only names that __init__ re-exports: ApiClient, Configuration, the exception classes and the
    API classes (CoreV1Api -> api/core_v1_api.py, the generator's file naming).
    """
    if package == "kubernetes.client":
        home = {"ApiClient": "api_client", "Configuration": "configuration"}.get(attr, "exceptions")
        try:
            value = getattr(importlib.import_module(f"{package}.{home}"), attr)
        except (ImportError, AttributeError):
            value = None
        if isinstance(value, type) and value.__module__ == f"{package}.{home}":
            return value
    if attr.endswith("Api") and package in ("kubernetes.client", "kubernetes.client.api"):
        module = "kubernetes.client.api." + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", attr).lower()
        try:
            value = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            return None
        return value if isinstance(value, type) else None
    return None


def _complete(module: types.ModuleType) -> None:
    """Run the package's real __init__ (once, under _LOCK) and make it an ordinary module again."""
    module.__dict__["_kds_completing"] = True   # the flag __getattr__ reads
    try:
        spec = module.__spec__
        assert spec is not None and spec.loader is not None, "load() made it from a spec with a loader"
        spec.loader.exec_module(module)
    finally:
        del module._kds_completing
        module.__class__ = types.ModuleType


def load() -> bool:
    """Register the lazy packages; False (and nothing changed) when that is not possible."""
    if any(name in sys.modules for name in LAZY):
        return False
    made = []
    try:
        for name in LAZY:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.submodule_search_locations is None \
                    or not hasattr(spec.loader, "exec_module"):   # zipimport before Python 3.10
                raise ImportError(name)
            module = importlib.util.module_from_spec(spec)
            if name == "kubernetes":
                # `from kubernetes import __version__` (kubernetes.dynamic does it) must not need
                # the whole package: read them from its __init__'s source
                # a loader that can exec_module a package in place (checked above) reads its source too
                source = cast("InspectLoader", spec.loader).get_source(name) or ""
                for key, value in _VERSION.findall(source):
                    setattr(module, key, value)
            module.__class__ = _LazyPackage
            sys.modules[name] = module
            made.append(name)
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, module)
    except Exception:  # noqa: BLE001 - any surprise: leave the normal import to do its work
        for name in made:
            sys.modules.pop(name, None)
        return False
    return True


def api(class_name: str):
    """An API class (`CoreV1Api`, ...) from its own module, after load()."""
    load()
    return getattr(sys.modules.get("kubernetes.client") or importlib.import_module("kubernetes.client"),
                   class_name)
