"""Manifests given with -f: YAML (multi-document) or JSON files, `kind: List` included, as
`kubectl apply -f` reads them (a directory: its .yaml, .yml and .json files; `-`: stdin)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Iterable, List, Tuple

from kubectl_ds.core.objects import get_in
from kubectl_ds.errors import DsError
from kubectl_ds.source import validate

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
_EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Manifests:
    daemonsets: Tuple[dict, ...]
    workloads: Tuple[dict, ...]      # Deployments and StatefulSets
    others: int                      # objects of other kinds, ignored


def load_manifests(paths: Iterable[str]) -> Manifests:
    """Every object in the files, split by kind; DsError for an unreadable or malformed file."""
    objects: List[dict] = []
    for path in _expand(paths):
        objects += _objects(_read(path), path)
    daemonsets = tuple(o for o in objects if o.get("kind") == "DaemonSet")
    workloads = tuple(o for o in objects if o.get("kind") in WORKLOAD_KINDS)
    return Manifests(daemonsets, workloads, len(objects) - len(daemonsets) - len(workloads))


def _expand(paths: Iterable[str]) -> List[str]:
    out = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            out += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(_EXTENSIONS))
        else:
            out.append(path)
    return out


def _read(path: str) -> str:
    """The text of a file (or stdin), within the input limit (source/validate.py)."""
    where = "stdin" if path == "-" else path
    try:
        if path == "-":
            raw = validate.read_limited(getattr(sys.stdin, "buffer", sys.stdin))
        else:
            with open(path, "rb") as fh:
                raw = validate.read_limited(fh)
        return raw if isinstance(raw, str) else raw.decode("utf-8")
    except OSError as err:
        raise DsError(f"cannot read {path}: {err.strerror}") from None
    except validate.Refused as why:
        raise DsError(f"cannot read {where}: {why}") from None
    except UnicodeDecodeError:
        raise DsError(f"malformed manifest {path}: not UTF-8 text") from None


def _objects(text: str, path: str) -> List[dict]:
    where = "stdin" if path == "-" else path
    try:
        docs = [validate.loads_json(text)]
    except validate.Refused as why:
        raise DsError(f"malformed manifest {where}: {why}") from None
    except ValueError:
        import yaml

        from kubectl_ds.source import yaml_text
        try:
            docs = list(yaml_text.load_all(text, strict=True))
        except validate.Refused as why:
            raise DsError(f"malformed manifest {where}: {why}") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise DsError(f"malformed manifest {where}: not YAML nor JSON{at}") from None
    out: List[dict] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue  # an empty document (a trailing ---)
        out += _flatten(doc, where, i)
    return out


def _flatten(doc, where: str, i: int) -> List[dict]:
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        raise DsError(f"malformed manifest {where}: document {i + 1} is not a Kubernetes object (no kind)")
    if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
        return [o for item in doc["items"] for o in _flatten(item, where, i)]
    if not isinstance(doc.get("metadata") or {}, dict):
        raise DsError(f"malformed manifest {where}: document {i + 1} has malformed metadata")
    if doc["kind"] in validate.KINDS:
        # the one validator of dumps and API responses (an Event or a Lease that is not is ignored)
        validate.check(doc, doc["kind"], f"malformed manifest {where}")
    if doc["kind"] == "DaemonSet" or doc["kind"] in WORKLOAD_KINDS:
        # what a manifest must have that a dump may lack: the pod template the checks walk
        if not isinstance(get_in(doc, "spec", "template", "spec"), dict):
            raise DsError(f"malformed manifest {where}: {validate.describe(doc, doc['kind'])}: "
                          "spec.template.spec is missing or not an object")
    return [doc]
