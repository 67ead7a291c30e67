"""Reading the dumps people have, whatever their shape, into one list of objects for SnapshotSource.

What `--snapshot` accepts:

- a List, as `kubectl get ... -A -o json` or `kubectl ds dump` prints it (JSON or YAML);
- what `kubectl cluster-info dump` prints: typed lists (NodeList, DaemonSetList, PodList, EventList,
  ...) one JSON document after another, with each pod's logs in between (`==== START logs for
  container C of pod NS/NAME ====` ... `==== END logs for ... ====`), and whose items carry no
  `kind`: it is taken from the list's (NodeList -> Node);
- its `--output-directory` tree (nodes.json, NS/daemonsets.json, NS/pods.json, NS/events.json, ...,
  NS/POD/logs.txt), or any directory of JSON or YAML files (read in name order, recursively);
- several of these, as a comma-separated list (as kubectl's -f reads one): `a.json,b.json`;
- `-` for stdin;
- any of them gzip-compressed (told by the magic bytes, not the name).

Every file and every decompressed stream is held to the limits of source/validate.py (size, depth,
YAML aliases), and all the files together to the size limit too. Nothing is dropped silently:
an object whose kind cannot be told is a warning (SnapshotSource says it), a file of a directory
that holds no Kubernetes objects is one.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple, Union

from kubectl_ds.errors import DsError
from kubectl_ds.source import validate

GZIP_MAGIC = b"\x1f\x8b"
EXTENSIONS = (".json", ".yaml", ".yml")
EXPECTED = "expected a List with items"
_LOG_START = re.compile(r"^==== START logs for container (.*) of pod (.*) ====[ \t]*\r?$", re.M)


@dataclass
class DumpFile:
    """One file's objects, in file order, with the server version it records (if any)."""
    origin: str
    items: List[dict] = field(default_factory=list)
    server_version: Any = None


@dataclass
class Dump:
    files: List[DumpFile]
    warnings: List[str]


def split_spec(spec: str) -> List[str]:
    """The paths of a --snapshot value: itself when it names a file or is `-`, else its
    comma-separated parts (kubectl's -f reads `a.yaml,b.yaml` so)."""
    if spec == "-" or os.path.exists(spec) or "," not in spec:
        return [spec]
    parts = [p.strip() for p in spec.split(",")]
    if any(not p for p in parts):
        raise DsError(f"--snapshot {spec}: an empty path in the comma-separated list")
    return parts


def read(spec: Union[str, Sequence[str]]) -> Dump:
    """Every object of every file `spec` names (split_spec; or several such values, as a
    repeated --snapshot would give them). DsError, one line, for a file that cannot be read or
    parsed, or input beyond a limit."""
    budget = [validate.max_input()]   # bytes left for all the files together
    files: List[DumpFile] = []
    warnings: List[str] = []
    paths = split_spec(spec) if isinstance(spec, str) else [p for one in spec for p in split_spec(one)]
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = _walk(path)
            if not found:
                raise DsError(f"cannot read snapshot {path}: the directory holds no JSON or YAML file "
                              f"({', '.join(EXTENSIONS)}, optionally .gz)")
            for file_path in found:
                df = _read_file(file_path, budget, in_directory=True)
                if df is None:
                    warnings.append(f"warning: {file_path}: left out: not a Kubernetes List or object")
                else:
                    files.append(df)
        else:
            df = _read_file(path, budget, in_directory=False)
            assert df is not None
            files.append(df)
    return Dump(files, warnings)


def _walk(directory: str) -> List[str]:
    out = []
    for root, dirs, names in os.walk(directory):
        dirs.sort()
        for n in sorted(names):
            base = n[:-3] if n.endswith(".gz") else n
            if base.endswith(EXTENSIONS) and not n.startswith("."):
                out.append(os.path.join(root, n))
    return out


def _read_file(path: str, budget: List[int], in_directory: bool) -> Optional[DumpFile]:
    try:
        if path == "-":
            raw = validate.read_limited(sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin,
                                        budget[0])
        else:
            with open(path, "rb") as fh:
                raw = validate.read_limited(fh, budget[0])
        if raw[:2] == GZIP_MAGIC:
            raw = gunzip(raw, budget[0])
    except OSError as err:
        raise DsError(f"cannot read snapshot {path}: {err.strerror or err}") from None
    except validate.Refused as refused:
        why = str(refused)
        if budget[0] < validate.max_input():
            why = (f"the files together are larger than {_size(validate.max_input())}, the input limit "
                   "(KUBECTL_DS_MAX_INPUT raises it)")
        raise DsError(f"cannot read snapshot {path}: {why}") from None
    budget[0] -= len(raw)
    origin = "stdin" if path == "-" else path
    held = [raw]    # documents() lets go of the bytes once decoded (a 400 MB cluster-info dump)
    del raw
    docs = documents(held, origin)
    df = DumpFile(origin)
    for doc in docs:
        if not _collect(doc, df):
            if in_directory:
                return None
            raise DsError(f"malformed snapshot {origin}: {EXPECTED} (take one with: kubectl ds dump > FILE)")
    return df


def _size(n: int) -> str:
    return validate._size(n)


def gunzip(raw: bytes, limit: int) -> bytes:
    """The bytes of a gzip stream (several members one after another too), refused (Refused)
    as soon as they pass `limit`: a small file that expands to terabytes is never held."""
    out = bytearray()
    data = raw
    try:
        while data[:2] == GZIP_MAGIC:
            d = zlib.decompressobj(wbits=31)
            while not d.eof:
                chunk = d.decompress(data, 1 << 20)
                data = d.unconsumed_tail
                if len(out) + len(chunk) > limit:
                    raise validate.Refused(f"it decompresses to more than {_size(limit)}, the input limit "
                                           "(KUBECTL_DS_MAX_INPUT raises it)")
                out += chunk
                if not chunk and not data:
                    raise validate.Refused("the gzip data is truncated")
            data = d.unused_data
    except zlib.error as err:
        raise validate.Refused(f"not valid gzip data ({err})") from None
    return bytes(out)


# --- parsing -----------------------------------------------------------------------------

def documents(held: List[bytes], origin: str) -> List[Any]:
    """The documents of a file (`held`: its bytes, emptied once they are decoded): one JSON
    document (the usual dump), a stream of JSON documents with pod logs between them (kubectl
    cluster-info dump), or YAML (one or several documents)."""
    try:
        return [validate.loads_json(held[0])]
    except validate.Refused as why:
        raise DsError(f"malformed snapshot {origin}: {why}") from None
    except ValueError as err:
        first: ValueError = err
    text = held.pop().decode("utf-8", "replace")
    blanked = _blank_logs(text)
    stream = getattr(first, "msg", "") == "Extra data" or blanked is not text
    del text
    if stream and blanked.lstrip()[:1] in ("{", "["):
        try:
            return _json_stream(blanked)
        except validate.Refused as why:
            raise DsError(f"malformed snapshot {origin}: {why}") from None
        except ValueError as err:
            first = err
    try:
        from kubectl_ds.source import yaml_text
        return [d for d in yaml_text.load_all(blanked) if d is not None] or [None]
    except validate.Refused as why:
        raise DsError(f"malformed snapshot {origin}: {why}") from None
    except Exception:  # noqa: BLE001 - any YAML failure means "not a snapshot"
        from kubectl_ds.source.snapshot import _json_error
        raise DsError(f"malformed snapshot {origin}: not JSON ({_json_error(first)}) nor YAML") from None


def _blank_logs(text: str) -> str:
    """`text` with each pod-log block of a cluster-info dump turned into as many empty lines (so
    that a line number in an error still points into the file); `text` itself without any."""
    if "==== START logs for container " not in text:
        return text
    parts: List[str] = []
    pos = 0
    while True:
        m = _LOG_START.search(text, pos)
        if m is None:
            parts.append(text[pos:])
            return "".join(parts)
        parts.append(text[pos:m.start()])
        end_line = f"==== END logs for container {m.group(1)} of pod {m.group(2)} ===="
        end = text.find(end_line, m.end())
        stop = len(text) if end < 0 else end + len(end_line)
        parts.append("\n" * text.count("\n", m.start(), stop))
        pos = stop


def _json_stream(text: str) -> List[Any]:
    """JSON documents one after another (whitespace between them), with the limits of
    validate.loads_json: each document is decoded where it stands, never copied out."""
    decoder = json.JSONDecoder(parse_constant=validate._no_constant, parse_float=validate._finite)
    out: List[Any] = []
    ws = re.compile(r"\s*")
    with _depth_limit():
        pos = ws.match(text, 0).end()   # type: ignore[union-attr]
        while pos < len(text):
            try:
                doc, pos = decoder.raw_decode(text, pos)
            except RecursionError:
                raise validate.Refused(f"nested deeper than {validate.MAX_DEPTH} levels") from None
            out.append(doc)
            pos = ws.match(text, pos).end()   # type: ignore[union-attr]
    return out


class _depth_limit:
    """The interpreter's recursion limit lowered, as validate.loads_json does, so that the C
    decoder refuses nesting deeper than MAX_DEPTH (RecursionError) from here."""

    def __enter__(self) -> None:
        self.old = sys.getrecursionlimit()
        probe = "[" * validate.MAX_DEPTH + "]" * validate.MAX_DEPTH
        frame: Any = sys._getframe()
        limit = validate.MAX_DEPTH
        while frame is not None:
            limit += 1
            frame = frame.f_back
        while limit < self.old:
            try:
                sys.setrecursionlimit(limit)
                json.loads(probe)
                return
            except RecursionError:
                limit += 1
        sys.setrecursionlimit(self.old)

    def __exit__(self, *exc) -> None:
        sys.setrecursionlimit(self.old)


# --- documents to objects ------------------------------------------------------------------

def item_kind(list_kind: Any) -> Optional[str]:
    """The kind of a typed list's items (NodeList -> Node); None for a plain List."""
    if isinstance(list_kind, str) and list_kind.endswith("List") and len(list_kind) > 4:
        return list_kind[:-4]
    return None


def _collect(doc: Any, df: DumpFile) -> bool:
    """Add a document's objects to `df`; False if it is neither a list of objects nor an object
    nor a version document."""
    if not isinstance(doc, dict):
        return False
    if "serverVersion" in doc and df.server_version is None:
        df.server_version = doc["serverVersion"]
    items = doc.get("items")
    if isinstance(items, list):
        kind, api_version = item_kind(doc.get("kind")), doc.get("apiVersion")
        for item in items:
            if kind and isinstance(item, dict) and not item.get("kind"):
                item["kind"] = kind
                if isinstance(api_version, str) and not item.get("apiVersion"):
                    item["apiVersion"] = api_version
            df.items.append(item)
        return True
    if isinstance(doc.get("kind"), str) and isinstance(doc.get("metadata"), dict):
        df.items.append(doc)   # one object (a directory of manifests)
        return True
    return "serverVersion" in doc and "items" not in doc   # `kubectl version -o json` beside a dump


def describe_unknown(item: dict) -> str:
    """An object without a kind, as a warning names it."""
    meta = item.get("metadata") or {}
    nm, ns = meta.get("name"), meta.get("namespace")
    nm = nm if isinstance(nm, str) and nm else "(no name)"
    return f"{ns}/{nm}" if isinstance(ns, str) and ns else nm


def stamp_of(dump: Dump) -> Tuple[Any, str]:
    """The first server version any file records, and where."""
    for df in dump.files:
        if df.server_version is not None:
            return df.server_version, df.origin
    return None, ""
