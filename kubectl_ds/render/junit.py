"""`lint -o junit`: the findings as a JUnit XML report, the test report every CI system shows.

One testsuite per object linted (a DaemonSet; a Deployment or StatefulSet for DS016), one testcase per
check run on it (the catalogue's checks for its kind). A testcase fails when the object has an error
or a warning of that check (the failure's type says which), so that CI systems show them whatever
--fail-on says; info findings fail it only under --fail-on info, else they are written in its
system-out. The exit code is lint's as ever (--fail-on): a run that exits 1 always has failures, a
report with warnings among its failures may come from a run that exits 0. A check that could not run
without the cluster's nodes (DS000 lists them) or that the kubectl-ds.io/ignore annotation silences
is skipped, with the reason. For -f manifests, testcases carry the file and the line of the finding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Mapping, Optional, Tuple

from kubectl_ds.core.lint import CATALOGUE, IGNORE_ANNOTATION, NOT_CHECKED, RANK, WARNING, Finding, LintReport
from kubectl_ds.core.versions import KubeVersion
from kubectl_ds.render.common import printable
from kubectl_ds.render.locations import Key, Place

# what XML 1.0 cannot carry at all (not even escaped): written as \xNN / \uNNNN
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", value)


def _attr(value: object) -> str:
    return _text(printable(value))    # one line: no newline from the data in an attribute


def _block(value: str) -> str:
    """Element text: its own lines kept, each made printable (no ESC, no bidi override from the data)."""
    return _text("\n".join(printable(line) for line in value.split("\n")))


def _suite_name(kind: str, ns: str, name: str) -> str:
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def junit_text(report: LintReport, fail_on: str, places: Optional[Mapping[Key, Place]] = None,
               version: Optional[KubeVersion] = None) -> str:
    places = places or {}
    by_object: Dict[Key, List[Finding]] = {}
    for f in report.findings:
        by_object.setdefault((f.kind, f.namespace, f.name), []).append(f)
    hidden: Dict[Key, List[Finding]] = {}
    for f in report.suppressed:
        hidden.setdefault((f.kind, f.namespace, f.name), []).append(f)
    root = ET.Element("testsuites", name="kubectl-ds lint")
    totals = [0, 0, 0]   # tests, failures, skipped
    for key in report.objects:
        suite, counts = _suite(key, by_object.get(key, []), hidden.get(key, []), fail_on, places.get(key), version)
        root.append(suite)
        totals = [a + b for a, b in zip(totals, counts)]
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", "0")
    root.set("skipped", str(totals[2]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _suite(key: Key, findings: List[Finding], hidden: List[Finding], fail_on: str, place: Optional[Place],
           version: Optional[KubeVersion]) -> Tuple[ET.Element, Tuple[int, int, int]]:
    kind, ns, name = key
    suite = ET.Element("testsuite", name=_attr(_suite_name(kind, ns, name)))
    if place is not None:
        suite.set("file", _attr(place.uri))
    props = ET.SubElement(suite, "properties")
    for pname, value in (("kind", kind), ("namespace", ns), ("name", name),
                         *(version.to_dict().items() if version else ())):
        if value:
            ET.SubElement(props, "property", name=pname, value=_attr(value))
    not_run = {code for f in findings if f.code == NOT_CHECKED for code in f.detail.get("checks") or ()}
    silenced = {f.code for f in hidden}
    threshold = min(RANK[fail_on], RANK[WARNING])   # errors and warnings always; info under --fail-on info
    outcomes = [_case(suite, code, key, [f for f in findings if f.code == code], place, threshold,
                      code in not_run, code in silenced)
                for code in sorted(CATALOGUE) if code != NOT_CHECKED and kind in CATALOGUE[code].kinds]
    counts = (len(outcomes), outcomes.count("failure"), outcomes.count("skipped"))
    for attr, n in zip(("tests", "failures", "skipped"), counts):
        suite.set(attr, str(n))
    suite.set("errors", "0")
    return suite, counts


def _case(suite: ET.Element, code: str, key: Key, mine: List[Finding], place: Optional[Place], threshold: int,
          not_run: bool, silenced: bool) -> str:
    """One check's testcase under `suite`; its outcome: passed, failure or skipped."""
    case = ET.SubElement(suite, "testcase", name=f"{code} {CATALOGUE[code].name}",
                         classname=_attr(_suite_name(*key)))
    if place is not None:
        case.set("file", _attr(place.uri))
        case.set("line", str(place.line_of(mine[0]) if mine else place.line))
    if not_run or silenced:
        why = ("not run: it needs the cluster's nodes (lint against the cluster, or against a dump of it with "
               "--snapshot)") if not_run else f"silenced by the object's {IGNORE_ANNOTATION} annotation"
        ET.SubElement(case, "skipped", message=why)
        return "skipped"
    failing = [f for f in mine if RANK[f.severity] >= threshold]
    if failing:
        worst = max(failing, key=lambda f: RANK[f.severity])
        head = _attr(worst.message) if len(failing) == 1 else \
            f"{len(failing)} findings; the first: {_attr(failing[0].message)}"
        failure = ET.SubElement(case, "failure", message=head, type=worst.severity)
        failure.text = _block("\n\n".join(_body(f, place) for f in mine))
        return "failure"
    if mine:
        out = ET.SubElement(case, "system-out")
        out.text = _block("\n\n".join(_body(f, place) for f in mine)
                          + "\n\n(info: a failure only under --fail-on info)")
    return "passed"


def _body(f: Finding, place: Optional[Place]) -> str:
    import yaml
    lines = [f"{f.code} {f.severity} {f.check}: {f.message}"]
    if place is not None:
        lines.append(f"at {place.uri}:{place.line_of(f)}")
    if f.fix.value is None:
        lines.append(f"fix: {f.fix.text}")
    else:
        lines.append(f"fix: {f.fix.text}; add to {f.fix.path}:")
        lines.append(yaml.safe_dump(dict(f.fix.value), sort_keys=False, default_flow_style=False).rstrip())
    return "\n".join(lines)
