"""Shared test setup.

Unit tests do not load installed entry points (an unrelated plugin in the environment must
not change results): OMLC_PLUGINS is set to the empty list unless a test says otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
VALID = sorted((FIXTURES / "pipelines").glob("*.oml.yaml"))
INVALID = sorted((FIXTURES / "invalid").glob("*.oml.yaml"))
TODAY = "2024-01-01T00:00:00+00:00"


@pytest.fixture(autouse=True)
def _isolated_plugins(monkeypatch):
    from omlc.plugins import reset_registry

    monkeypatch.setenv("OMLC_PLUGINS", "")
    monkeypatch.setenv("OMLC_NOW", TODAY)  # time-dependent checks look at one year from here
    reset_registry()
    yield
    reset_registry()


def schedule_pipeline(schedule: str):
    """A one-step pipeline with the given (indented) schedule block, validated by the builder."""
    from omlc.validate import load_text

    doc = f'oml_version: "0.2.0"\nname: x\nschedule:\n{schedule}\nsteps: [{{id: a, component: mysql.extractor, mode: read}}]\n'
    loaded = load_text(doc)
    assert loaded.pipeline is not None, loaded.diagnostics
    return loaded.pipeline


def run_cli(*args: str, env: dict | None = None, cwd: str | os.PathLike | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run the real `omlc` command in a subprocess (what a user or pre-commit runs)."""
    full_env = dict(os.environ)
    full_env.setdefault("OMLC_PLUGINS", "")
    full_env.setdefault("OMLC_NOW", TODAY)
    full_env.pop("OMLC_DEBUG", None)
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "omlc", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, input=input, timeout=120)
