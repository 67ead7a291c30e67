"""`lint -o sarif`: the findings as a SARIF 2.1.0 log, for code scanning (GitHub's upload-sarif, ...).

One run; the driver lists one rule per check of the catalogue (core/lint.py CATALOGUE, DS000
included); each finding is a result: its rule, a level from its severity (error, warning, note for
info), the message with the fix, and where it is. A finding on a manifest given with -f has a
physical location: the file's URI relative to the current directory (what code scanning expects
when lint runs at the repository's root), the line of the field it is about (render/locations.py)
and, as context, the lines of its object. Every finding also has a logical location: the object,
`namespace/name` and its kind. A finding silenced by the kubectl-ds.io/ignore annotation is a
result with an in-source suppression, as SARIF spells a silenced result.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, List, Mapping, Optional

from kubectl_ds import __version__
from kubectl_ds.core.lint import CATALOGUE, ERROR, IGNORE_ANNOTATION, INFO, WARNING, Finding, LintReport
from kubectl_ds.core.versions import KubeVersion
from kubectl_ds.render.lint import finding_document
from kubectl_ds.render.locations import Key, Place

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/kubectl-ds/kubectl-ds"
DOCS_URI = f"{INFORMATION_URI}/blob/main/docs/lint.md"
LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}
# the fields whose value names the thing a finding is about, so two findings of one check on one
# object (two taints, two containers) keep apart in a fingerprint that a moved line does not change
_IDENTITY = ("container", "taint", "volume", "fields", "path", "hostPath")


def sarif_document(report: LintReport, places: Optional[Mapping[Key, Place]] = None,
                   version: Optional[KubeVersion] = None) -> dict:
    places = places or {}
    codes = sorted(CATALOGUE)
    index = {code: i for i, code in enumerate(codes)}
    results = [_result(f, index, places, suppressed=False) for f in report.findings]
    results += [_result(f, index, places, suppressed=True) for f in report.suppressed]
    run: Dict[str, Any] = {
        "tool": {"driver": {"name": "kubectl-ds", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI, "rules": [_rule(code) for code in codes]}},
        "results": results,
        "properties": {"cluster": report.cluster, "objects": len(report.objects),
                       **(version.to_dict() if version is not None else {})},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def sarif_text(report: LintReport, places: Optional[Mapping[Key, Place]] = None,
               version: Optional[KubeVersion] = None) -> str:
    return json.dumps(sarif_document(report, places, version), indent=2)


def _rule(code: str) -> dict:
    check = CATALOGUE[code]
    names = [f"{k}s" for k in check.kinds]
    kinds = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    needs = " It needs the cluster's nodes (a cluster, or --snapshot)." if check.needs_cluster else ""
    text = (f"{code} {check.name}: {check.summary}. Checked on {kinds}.{needs} Each finding says what to change; "
            f"silence the check on one object with the annotation {IGNORE_ANNOTATION}: {code}.")
    markdown = (f"**{code} {check.name}**: {check.summary}. Checked on {kinds}.{needs}\n\n"
                f"Each finding says what to change. To silence the check on one object, annotate it: "
                f"`{IGNORE_ANNOTATION}: \"{code}\"`. See [the checks]({DOCS_URI}#the-checks).")
    return {"id": code, "name": check.name,
            "shortDescription": {"text": check.summary},
            "fullDescription": {"text": f"{check.summary}. Checked on {kinds}.{needs}"},
            "help": {"text": text, "markdown": markdown},
            "helpUri": f"{DOCS_URI}#the-checks",
            "defaultConfiguration": {"level": LEVELS[check.severity]},
            "properties": {"tags": ["kubernetes", "daemonset"]}}


def _object(f: Finding) -> str:
    return f"{f.namespace}/{f.name}" if f.namespace else f.name


def message(f: Finding) -> str:
    """The finding in one paragraph: the object, what is wrong, the fix (with the fields to add)."""
    text = f"{f.kind} {_object(f)}: {f.message}. Fix: {f.fix.text}"
    if f.fix.value is not None:
        text += f"; add to {f.fix.path}: {json.dumps(f.fix.value)}"
    return text + "."


def _result(f: Finding, index: Mapping[str, int], places: Mapping[Key, Place], suppressed: bool) -> dict:
    location: Dict[str, Any] = {"logicalLocations": [{"name": f.name, "fullyQualifiedName": _object(f),
                                                      "kind": f.kind}]}
    place = places.get((f.kind, f.namespace, f.name))
    if place is not None:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": place.uri},
            "region": {"startLine": place.line_of(f)},
            "contextRegion": {"startLine": place.line, "endLine": place.end_line}}
    result: Dict[str, Any] = {
        "ruleId": f.code, "ruleIndex": index[f.code], "level": LEVELS[f.severity],
        "message": {"text": message(f)},
        "locations": [location],
        "partialFingerprints": {"kubectlDsFinding/v1": _fingerprint(f)},
        "properties": {k: v for k, v in finding_document(f).items()
                       if k in ("severity", "check", "role", "fix", "detail") and v is not None},
    }
    if suppressed:
        result["suppressions"] = [{"kind": "inSource",
                                   "justification": f"listed in the object's {IGNORE_ANNOTATION} annotation"}]
    return result


def _fingerprint(f: Finding) -> str:
    ident: List[Any] = [f.code, f.kind, f.namespace, f.name, f.fix.path]
    ident += [f.detail.get(k) for k in _IDENTITY]
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:32]
