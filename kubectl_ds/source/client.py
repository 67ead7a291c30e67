"""The kubernetes client, imported without its ~900 generated modules.

`import kubernetes` runs the package's `__init__`, which imports every API class and every model
(`kubernetes.client.api`, `kubernetes.client.models`): about 0.3 s of every live command on a quiet
machine, for code the plugin never runs (it reads raw JSON). The kubeconfig loader, the API client
and the few API classes the plugin calls live in their own modules and do not need any of that.

`load()` registers the four packages (`kubernetes`, `.client`, `.client.api`, `.client.models`) as
*lazy packages* before anything imports them: real package modules (same spec, same `__path__`, so
their submodules import as usual) whose `__init__` has not run. An attribute the package does not
have yet is looked up in the submodule that defines it (`ApiClient` in `api_client`, `CoreV1Api` in
`api/core_v1_api`, ...); anything else runs the package's real `__init__` at that moment, so every
name the package exports is still there, only later. If the packages were imported already, or the
client's layout is not what this expects, nothing is changed: the normal import happens.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types

LAZY = ("kubernetes", "kubernetes.client", "kubernetes.client.api", "kubernetes.client.models")
# where the names the plugin and the client's config loader use are defined
_HOMES = {"kubernetes.client": ("api_client", "configuration", "exceptions", "rest")}


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
        for module in _candidates(self.__name__, attr):
            try:
                value = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                continue
            setattr(self, attr, value)
            return value
        _complete(self)
        try:
            return self.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}") from None


def _candidates(package: str, attr: str):
    for home in _HOMES.get(package, ()):
        yield f"{package}.{home}"
    if attr.endswith("Api") and package in ("kubernetes.client", "kubernetes.client.api"):
        # CoreV1Api -> kubernetes.client.api.core_v1_api (the generator's file naming)
        yield "kubernetes.client.api." + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", attr).lower()


def _complete(module: types.ModuleType) -> None:
    """Run the package's real __init__ (once) and make it an ordinary module again."""
    if module.__dict__.get("_kds_completing"):
        return
    module._kds_completing = True
    try:
        module.__spec__.loader.exec_module(module)
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
            if spec is None or spec.loader is None or spec.submodule_search_locations is None:
                raise ImportError(name)
            module = importlib.util.module_from_spec(spec)
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
