"""The fuzz tier for lint's CI reports: `lint -f -o sarif|junit` on a DaemonSet manifest that hypothesis
mutates as test_mutated_dumps.py does, written as YAML (the text the locator composes again for lines).

The contract: exit 0, 1 or 2; on 2 one `error:` line; on 0 and 1 a SARIF log valid against the
published schema whose every result has its file and a line inside the file (GitHub refuses a log with
one result without), or a well-formed JUnit XML report; never an internal error or a traceback.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.fuzz.test_mutated_dumps import DELETE, EXAMPLES, HOSTILE, MANIFEST, MANIFEST_PATHS, _alarm, mutate

SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)


@pytest.mark.parametrize("fmt", ["sarif", "junit"])
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=st.lists(st.tuples(st.sampled_from(MANIFEST_PATHS), st.sampled_from(HOSTILE + [DELETE] * 4)),
                          min_size=1, max_size=3))
def test_reports_answer_any_mutated_manifest(run_cli, tmp_path, monkeypatch, fmt, mutations):
    manifest = mutate([(("items", 0) + path, value) for path, value in mutations], {"items": [MANIFEST]})["items"][0]
    (tmp_path / "k8s").mkdir(exist_ok=True)
    path = tmp_path / "k8s" / "agent.yaml"
    text = "# a comment first, so the object starts on line 2\n" + yaml.safe_dump(manifest, sort_keys=False)
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    with _alarm(10):
        res = run_cli("lint", "-f", "k8s/agent.yaml", "-o", fmt, expect=None)
    assert res.code in (0, 1, 2) and "internal error" not in res.stderr and "Traceback" not in res.stderr, \
        f"lint -f {path} -o {fmt}: exit {res.code}: {res.stderr}"
    if res.code == 2:
        assert res.stderr.strip().splitlines()[-1].startswith("error:") and res.stderr.count("error:") == 1
        return
    if fmt == "junit":
        ET.fromstring(res.stdout)
        return
    doc = json.loads(res.stdout)
    errors = [e.message for e in VALIDATOR.iter_errors(doc)]
    assert not errors, errors
    lines = text.count("\n")
    for result in doc["runs"][0]["results"]:
        where = result["locations"][0]["physicalLocation"]
        assert where["artifactLocation"]["uri"] == "k8s/agent.yaml"
        assert 2 <= where["region"]["startLine"] <= lines
