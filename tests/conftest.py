"""Shared fixtures: a fixed clock, a strict CLI runner over the real --snapshot path."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kubectl_ds.cli import main
from kubectl_ds.env import Env

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "snapshot.json")
FIXED_NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=timezone.utc)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden files")


class Result:
    def __init__(self, code, stdout, stderr):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def fakeapi():
    """A misbehaving-on-demand apiserver on loopback (tests/fakeapi.py), stopped afterwards."""
    from tests.fakeapi import FakeApi
    api = FakeApi().start()
    yield api
    api.stop()


def one_error_line(res) -> str:
    """The one line a failed run printed on stderr (never a traceback or an internal error)."""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
    return lines[0]


@pytest.fixture
def run_cli(capsys):
    """Run `kubectl ds ARGS` in-process through main(); fail on an unexpected exit code."""
    def run(*args, expect=0, env=None):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(list(args), obj=env or Env(clock=lambda: FIXED_NOW, color=False))
        code = exc.value.code or 0
        out, err = capsys.readouterr()
        if expect is not None and code != expect:
            raise AssertionError(f"exit {code} (wanted {expect})\nstdout:\n{out}\nstderr:\n{err}")
        return Result(code, out, err)
    return run


@pytest.fixture
def golden(request):
    """Compare text with tests/golden/NAME (written under --update-golden)."""
    def check(name: str, text: str):
        path = ROOT / "tests" / "golden" / name
        if request.config.getoption("--update-golden"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"missing golden file {path} (run pytest --update-golden)"
        assert text == path.read_text(), f"output differs from {path}; run pytest --update-golden to accept"
    return check
