"""`lint -o sarif` and `lint -o junit` through the real CLI: the SARIF log validated against the
published SARIF 2.1.0 schema, its locations checked against the manifest's text, the JUnit report
parsed and counted against lint's own JSON document."""

from __future__ import annotations

import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from kubectl_ds.core.lint import CATALOGUE, NOT_CHECKED
from kubectl_ds.options import FORMATS
from tests.conftest import EXAMPLE, ROOT

S = ("--snapshot", EXAMPLE)
MANIFESTS = Path(__file__).resolve().parent / "manifests"
AGENT = MANIFESTS / "agent.yaml"
CLEAN = MANIFESTS / "clean.json"
SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "sarif-schema-2.1.0.json").read_text())
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def validate_sarif(doc):
    """Against the OASIS schema (draft-04), every error listed if any."""
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_vendored_schema_is_the_published_one():
    assert SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    # and it does refuse a log that breaks it (a level SARIF does not have)
    with pytest.raises(AssertionError, match="level"):
        validate_sarif({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                                      "results": [{"message": {"text": "m"}, "level": "info"}]}]})


# --- SARIF --------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,code", [
    (("lint", "-A", *S), 1),
    (("lint", "log-agent", "-n", "logging", *S), 0),
    (("lint", "-f", str(AGENT)), 1),
    (("lint", "-f", str(AGENT), "-n", "logging", *S), 1),
    (("lint", "-f", str(CLEAN)), 0),
    (("lint", "-A", "-l", "app=nothing-has-this", *S), 0),
], ids=["example-all", "one-daemonset", "manifest-alone", "manifest-with-snapshot", "json-list", "nothing"])
def test_sarif_is_valid_and_says_what_json_says(run_cli, args, code):
    doc = run_cli(*args, "-o", "sarif", expect=code).json()
    validate_sarif(doc)
    same = run_cli(*args, "-o", "json", expect=code).json()
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(CATALOGUE)         # one rule per check, DS000 included
    assert all(r["shortDescription"]["text"] == CATALOGUE[r["id"]].summary and r["help"]["text"] for r in rules)
    shown = [r for r in run["results"] if "suppressions" not in r]
    silenced = [r for r in run["results"] if "suppressions" in r]
    assert [(r["ruleId"], r["level"]) for r in shown] == [(f["code"], LEVEL[f["severity"]]) for f in same["findings"]]
    assert [r["ruleId"] for r in silenced] == [f["code"] for f in same["suppressed"]]
    for r, f in zip(shown, same["findings"]):
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert f["message"] in r["message"]["text"] and f["fix"]["text"] in r["message"]["text"]
        (logical,) = r["locations"][0]["logicalLocations"]
        assert logical == {"name": f["name"], "kind": f["kind"],
                           "fullyQualifiedName": f"{f['namespace']}/{f['name']}" if f["namespace"] else f["name"]}
    assert run["properties"]["kubernetesVersion"] == same["kubernetesVersion"]


def test_sarif_of_a_cluster_has_logical_locations_only(run_cli):
    doc = run_cli("lint", "-A", *S, "-o", "sarif", expect=1).json()
    results = doc["runs"][0]["results"]
    assert results and all("physicalLocation" not in r["locations"][0] for r in results)
    assert {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in results} >= \
        {"logging/log-agent", "monitoring/node-exporter", "monitoring/metrics-relay"}
    # the DS011 that net-agent's annotation silences is there, suppressed in source
    (silenced,) = [r for r in results if "suppressions" in r]
    assert silenced["ruleId"] == "DS011" and silenced["suppressions"][0]["kind"] == "inSource"
    # two findings of one check on one object keep apart (log-agent: a taint on cp-1, one on gpu-1)
    taints = [r for r in results if r["ruleId"] == "DS001"
              and r["locations"][0]["logicalLocations"][0]["name"] == "log-agent"]
    assert len(taints) == 2
    assert len({r["partialFingerprints"]["kubectlDsFinding/v1"] for r in taints}) == 2


def _lines(path: Path):
    return path.read_text().split("\n")


def _results_by_rule(doc):
    out = {}
    for r in doc["runs"][0]["results"]:
        name = r["locations"][0]["logicalLocations"][0]["name"]
        out.setdefault((name, r["ruleId"]), []).append(r)
    return out


def test_sarif_places_manifest_findings_on_their_lines(run_cli, monkeypatch, tmp_path):
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    shutil.copy(AGENT, repo / "deploy" / "agent.yaml")
    monkeypatch.chdir(repo)
    doc = run_cli("lint", "-f", "deploy/", "-o", "sarif", expect=1).json()
    validate_sarif(doc)
    text = _lines(repo / "deploy" / "agent.yaml")
    by = _results_by_rule(doc)

    def line(name, code):
        loc = by[(name, code)][0]["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "deploy/agent.yaml"    # relative to the current directory
        start = loc["region"]["startLine"]
        ctx = loc["contextRegion"]
        assert ctx["startLine"] <= start <= ctx["endLine"]
        return text[start - 1].strip(), text[ctx["startLine"] - 1]

    # the field each finding is about, within its object's lines
    assert line("log-shipper", "DS014") == ("restartPolicy: OnFailure", "apiVersion: apps/v1")
    assert line("log-shipper", "DS007")[0] == "maxSurge: 1"
    assert line("log-shipper", "DS012")[0] == "privileged: true"
    assert line("log-shipper", "DS011")[0] == "hostPID: true"
    assert line("log-shipper", "DS013")[0] == "- name: root"                  # the volumeMount to make read-only
    assert line("log-shipper", "DS004")[0] == "- name: shipper"               # the container to give requests
    assert line("log-shipper", "DS008")[0] == "spec:"                         # where priorityClassName goes
    # the second document: its own object lines
    loc = by[("per-node-cache", "DS000")][0]["locations"][0]["physicalLocation"]
    first = loc["contextRegion"]["startLine"]
    assert text[first - 2] == "---" and text[first - 1] == "apiVersion: apps/v1"
    assert text[first + 2] == "  name: per-node-cache"


def test_sarif_lines_in_a_json_list_and_an_absolute_uri_outside_the_current_directory(run_cli, monkeypatch,
                                                                                     tmp_path):
    manifest = tmp_path / "m" / "agents.json"
    manifest.parent.mkdir()
    doc = json.loads(CLEAN.read_text())
    doc["items"][0]["spec"]["template"]["spec"]["hostIPC"] = True       # DS011, on a line of its own
    manifest.write_text(json.dumps(doc, indent=2))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    out = run_cli("lint", "-f", str(manifest), "-o", "sarif", "--fail-on", "warning", expect=1).json()
    validate_sarif(out)
    (hit,) = _results_by_rule(out)[("tidy-agent", "DS011")]
    loc = hit["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == manifest.as_uri()
    assert _lines(manifest)[loc["region"]["startLine"] - 1].strip() == '"hostIPC": true'


@pytest.mark.parametrize("extra", [(), ("-n", "logging"), ("-n", "logging", *S)], ids=["alone", "ns", "snapshot"])
def test_every_result_of_manifest_files_has_a_file_location(run_cli, tmp_path, extra):
    """GitHub code scanning refuses a whole log if one result has no file (upload-sarif:
    "expected artifact location"): with -f files, every result has one."""
    odd = AGENT.read_text().replace("  name: log-shipper\n", "  name: log-shipper\n  namespace: null\n")
    (tmp_path / "a.yaml").write_text(odd)
    shutil.copy(CLEAN, tmp_path / "b.json")
    doc = run_cli("lint", "-f", str(tmp_path), *extra, "-o", "sarif", expect=1).json()
    validate_sarif(doc)
    results = doc["runs"][0]["results"]
    assert len(results) > 10
    for r in results:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.endswith(("/a.yaml", "/b.json")) and r["locations"][0]["physicalLocation"]["region"]["startLine"]


def test_sarif_from_stdin_has_no_file_to_point_at(run_cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(AGENT.read_text()))
    doc = run_cli("lint", "-f", "-", "-o", "sarif", expect=1).json()
    validate_sarif(doc)
    assert all("physicalLocation" not in r["locations"][0] and r["locations"][0]["logicalLocations"]
               for r in doc["runs"][0]["results"])


def test_sarif_with_nothing_to_lint_is_an_empty_log(run_cli):
    res = run_cli("lint", "-A", "-l", "app=nothing-has-this", *S, "-o", "sarif")
    validate_sarif(res.json())
    assert res.json()["runs"][0]["results"] == []
    assert "No DaemonSets found" in res.stderr


# --- JUnit --------------------------------------------------------------------------------------

def _checks_for(kind):
    return sorted(c for c, chk in CATALOGUE.items() if c != NOT_CHECKED and kind in chk.kinds)


@pytest.mark.parametrize("fail_on,code", [("error", 1), ("warning", 1), ("info", 1)])
def test_junit_counts_match_the_findings(run_cli, fail_on, code):
    doc = run_cli("lint", "-A", *S, "-o", "json", "--fail-on", fail_on, expect=code).json()
    root = ET.fromstring(run_cli("lint", "-A", *S, "-o", "junit", "--fail-on", fail_on, expect=code).stdout)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        f"{o['kind']} {o['namespace']}/{o['name']}" for o in doc["objects"]]      # one suite per object
    failing_severities = {"error", "warning"} | ({"info"} if fail_on == "info" else set())
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for suite, obj in zip(suites, doc["objects"]):
        cases = suite.findall("testcase")
        assert [c.get("name").split()[0] for c in cases] == _checks_for(obj["kind"])   # one case per check
        mine = [f for f in doc["findings"] if (f["kind"], f["name"]) == (obj["kind"], obj["name"])]
        failing = {f["code"] for f in mine if f["severity"] in failing_severities}
        silenced = {f["code"] for f in doc["suppressed"] if (f["kind"], f["name"]) == (obj["kind"], obj["name"])}
        assert {c.get("name").split()[0] for c in cases if c.find("failure") is not None} == failing
        assert {c.get("name").split()[0] for c in cases if c.find("skipped") is not None} == silenced
        for case in cases:
            fail = case.find("failure")
            if fail is not None:
                worst = max((f["severity"] for f in mine if f["code"] == case.get("name").split()[0]),
                            key=["info", "warning", "error"].index)
                assert fail.get("type") == worst and fail.get("message") and fail.text
        assert (int(suite.get("tests")), int(suite.get("failures")), int(suite.get("skipped"))) == \
            (len(cases), len(failing), len(silenced))
        for k in totals:
            totals[k] += int(suite.get(k))
    assert {k: int(root.get(k)) for k in totals} == totals and root.get("errors") == "0"


def test_junit_info_findings_are_written_but_pass_by_default(run_cli, tmp_path):
    root = ET.fromstring(run_cli("lint", "log-agent", "-n", "logging", *S, "-o", "junit").stdout)
    (suite,) = root.findall("testsuite")
    case = next(c for c in suite.findall("testcase") if c.get("name") == "DS010 NoLivenessProbe")
    assert case.find("failure") is None and "DS010 info NoLivenessProbe" in case.find("system-out").text
    # a check with a warning and an info on one object (a metrics exporter needs hostNetwork and hostPID,
    # not hostIPC): one failure, of the worse severity, whose text gives both
    exporter = tmp_path / "exporter.yaml"
    text = (ROOT / "tests" / "fixtures" / "roles" / "node-metrics.yaml").read_text()
    exporter.write_text(text.replace("      hostPID: true\n", "      hostPID: true\n      hostIPC: true\n"))
    root = ET.fromstring(run_cli("lint", "-f", str(exporter), "-o", "junit", expect=None).stdout)
    case = next(c for c in root.find("testsuite").findall("testcase") if c.get("name") == "DS011 HostNamespaces")
    failure = case.find("failure")
    assert failure.get("type") == "warning" and "(hostIPC)" in failure.get("message")
    assert "DS011 warning" in failure.text and "DS011 info" in failure.text


def test_junit_of_manifests_skips_what_needs_the_cluster_and_gives_file_and_line(run_cli, monkeypatch):
    monkeypatch.chdir(MANIFESTS)
    root = ET.fromstring(run_cli("lint", "-f", "agent.yaml", "-o", "junit", expect=1).stdout)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"DaemonSet log-shipper", "Deployment default/per-node-cache"}
    shipper = suites["DaemonSet log-shipper"]
    skipped = {c.get("name").split()[0] for c in shipper.findall("testcase") if c.find("skipped") is not None}
    assert skipped == {"DS001", "DS002", "DS006"}           # what DS000 says did not run
    restart = next(c for c in shipper.findall("testcase") if c.get("name").startswith("DS014"))
    assert restart.get("file") == "agent.yaml"
    assert _lines(AGENT)[int(restart.get("line")) - 1].strip() == "restartPolicy: OnFailure"
    assert restart.find("failure").get("type") == "error"
    (cache_case,) = suites["Deployment default/per-node-cache"].findall("testcase")
    assert cache_case.get("name") == "DS016 DaemonSetInDisguise" and cache_case.find("skipped") is not None


def test_junit_with_nothing_to_lint_is_an_empty_report(run_cli):
    root = ET.fromstring(run_cli("lint", "-A", "-l", "app=nothing-has-this", *S, "-o", "junit").stdout)
    assert root.tag == "testsuites" and root.get("tests") == "0" and not root.findall("testsuite")


def test_reports_keep_control_characters_out(run_cli, tmp_path):
    manifest = tmp_path / "odd.yaml"
    text = AGENT.read_text().split("---")[0].replace("image: registry.example/shipper:2.0",
                                                     'image: "registry.example/shipper\\x1b[31m\\x00\\u202e"')
    manifest.write_text(text)
    out = run_cli("lint", "-f", str(manifest), "-o", "junit", expect=1).stdout
    ET.fromstring(out)                                          # well-formed: no raw NUL or ESC in it
    assert "\x1b" not in out and "\x00" not in out and "\u202e" not in out
    assert "\\x1b" in out                                       # escaped, still readable
    sarif = run_cli("lint", "-f", str(manifest), "-o", "sarif", expect=1).stdout
    assert not any(c in sarif for c in "\x1b\x00\u202e") and "registry.example/shipper\\u001b" in sarif


# --- exit codes and -o per command ---------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["sarif", "junit"])
@pytest.mark.parametrize("args,code", [
    (("lint", "-A"), 1),
    (("lint", "log-agent", "-n", "logging"), 0),
    (("lint", "log-agent", "-n", "logging", "--fail-on", "warning"), 1),
    (("lint", "gpu-device-plugin", "-A", "--fail-on", "info"), 0),
], ids=["errors-fail", "warnings-pass", "fail-on-warning", "clean"])
def test_report_formats_keep_lints_exit_codes(run_cli, fmt, args, code):
    run_cli(*args, *S, "-o", fmt, expect=code)


@pytest.mark.parametrize("fmt", ["sarif", "junit"])
@pytest.mark.parametrize("args", [
    ("why", "cp-1"), ("diff", "-A"), ("footprint", "-A"), ("rollout", "log-agent", "-n", "logging"),
    ("rollout", "history", "log-agent", "-n", "logging"), ("migrate", "log-agent", "-n", "logging"),
], ids=["why", "diff", "footprint", "rollout", "history", "migrate"])
def test_other_commands_refuse_the_report_formats(run_cli, fmt, args):
    expected = f'error: unknown output format "{fmt}" (expected one of: {", ".join(FORMATS)})\n'
    assert run_cli(*args, *S, "-o", fmt, expect=2).stderr == expected
    assert run_cli("-o", fmt, *args, *S, expect=2).stderr == expected         # given before the command too


def test_lint_lists_its_formats_when_refusing_one(run_cli):
    res = run_cli("lint", "-A", *S, "-o", "xml", expect=2)
    assert res.stderr == 'error: unknown output format "xml" (expected one of: ' \
                         'table, wide, json, yaml, sarif, junit)\n'
    assert run_cli("-o", "sarif", "lint", "-A", *S, expect=1).json()["version"] == "2.1.0"


def test_completion_offers_the_report_formats_to_lint_only():
    from kubectl_ds.completion import complete
    assert [c.split("\t")[0] for c in complete(["lint", "-o"], "")[0]] == list(FORMATS) + ["sarif", "junit"]
    assert [c.split("\t")[0] for c in complete(["diff", "-o"], "")[0]] == list(FORMATS)
