"""Durations (rollout --timeout/--progress-deadline, migrate --timeout), the dump's one spelling, the
root --help."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kubectl_ds.errors import DsError
from kubectl_ds.options import DUMP_COMMAND, DURATION, parse_duration
from tests.conftest import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text,seconds", [
    ("0", 0.0), ("", 0.0), ("90", 90.0), ("1.5", 1.5), (" 30s ", 30.0), ("10m", 600.0), ("1h", 3600.0),
    ("1h30m", 5400.0), ("2m5s", 125.0), ("0.5m", 30.0),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert DURATION.convert(text, None, None) == seconds


@pytest.mark.parametrize("text", ["5x", "10 m", "m", "1h-5m", "-5s", "1d"])
def test_bad_durations(text):
    with pytest.raises(DsError, match=r"^invalid duration '.*' \(use e\.g\. 30s, 10m, 1h\)$"):
        parse_duration(text)


def test_duration_is_a_click_type_defaults_included():
    @click.command()
    @click.option("--timeout", type=DURATION, default="10m")
    def cmd(timeout):
        click.echo(repr(timeout))
    assert CliRunner().invoke(cmd, []).output == "600.0\n"
    assert CliRunner().invoke(cmd, ["--timeout", "90s"]).output == "90.0\n"


@pytest.mark.parametrize("args", [
    ("rollout", "log-agent", "-n", "logging", "--timeout", "5x"),
    ("rollout", "status", "log-agent", "-n", "logging", "--progress-deadline", "5x"),
    ("migrate", "log-agent", "-n", "logging", "--selector", "app=x", "--dry-run", "--timeout", "5x"),
])
def test_a_bad_duration_is_one_error_line_exit_2(run_cli, args):
    res = run_cli(*args, "--snapshot", EXAMPLE, expect=2)
    assert res.stderr == "error: invalid duration '5x' (use e.g. 30s, 10m, 1h)\n" and res.stdout == ""


def test_the_dump_is_spelled_one_way():
    """Every `kubectl get nodes,...` dump command in the code and the docs is DUMP_COMMAND (other
    `kubectl get nodes` commands, such as --show-labels, are not dumps)."""
    found = []
    for path in [*ROOT.glob("kubectl_ds/**/*.py"), ROOT / "README.md", *ROOT.glob("docs/*.md")]:
        for m in re.finditer(r"kubectl get nodes,[a-z,]+(?: -A)?(?: -o json)?", path.read_text()):
            found.append((path.relative_to(ROOT).as_posix(), m.group(0)))
    assert found and all(text == DUMP_COMMAND for _, text in found), [f for f in found if f[1] != DUMP_COMMAND]


def test_root_help_lists_each_command_once(run_cli):
    out = run_cli("--help").stdout
    assert out.count("Commands:") == 1
    for usage in ("why NODE", "diff [NAME]", "lint [NAME]", "footprint", "rollout NAME", "migrate NAME"):
        assert sum(line.lstrip().startswith(usage + " ") for line in out.splitlines()) == 1, usage
    assert out.index("Commands:") < out.index("Options:")
    assert DUMP_COMMAND + " > FILE" in out
