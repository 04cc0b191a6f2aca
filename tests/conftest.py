"""Shared test setup.

Unit tests do not load installed entry points (an unrelated plugin in the environment must
not change results): OMLC_PLUGINS is set to the empty list unless a test says otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
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


@pytest.fixture(scope="session")
def graphviz_dot() -> str:
    """Graphviz's `dot` (lineage renders to PNG with it), installed from Debian's packages
    when missing, so the README's test command works on a fresh machine. Quick mode
    (OMLC_SKIP_ENGINES=1) installs nothing: the tests that need it are skipped."""
    found = shutil.which("dot")
    if found:
        return found
    if os.environ.get("OMLC_SKIP_ENGINES") == "1":
        pytest.skip("OMLC_SKIP_ENGINES=1 and Graphviz is not installed (the full run installs it)")
    problem = _apt_install("graphviz")
    found = shutil.which("dot")
    if not found:
        pytest.fail(f"Graphviz's `dot` is needed and could not be installed with apt-get: {problem}")
    return found


def _apt_install(package: str) -> str:
    """Install a Debian package (as root, or through passwordless sudo); the last error, if any."""
    prefix: list[str] = []
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        if not shutil.which("sudo"):
            return "not root and no sudo"
        prefix = ["sudo", "-n"]
    if not shutil.which("apt-get"):
        return "no apt-get on this machine: install Graphviz with the system's package manager"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = prefix + ["apt-get", "install", "-y", "-q", package]
    print(f"omlc tests: installing {package} (apt-get)", file=sys.stderr)
    try:
        run = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
        if run.returncode != 0:  # a fresh machine may have no package lists yet
            subprocess.run(prefix + ["apt-get", "update", "-q"], capture_output=True, text=True, env=env, timeout=900)
            run = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return "" if run.returncode == 0 else (run.stderr or run.stdout).strip()[-600:]


def schedule_pipeline(schedule: str):
    """A one-step pipeline with the given (indented) schedule block, validated by the builder."""
    from omlc.validate import load_text

    doc = f'oml_version: "0.2.0"\nname: x\nschedule:\n{schedule}\nsteps: [{{id: a, component: mysql.extractor, mode: read}}]\n'
    loaded = load_text(doc)
    assert loaded.pipeline is not None, loaded.diagnostics
    return loaded.pipeline


def copy_pipeline(source: Path, folder: Path, name: str | None = None) -> Path:
    """Copy a pipeline file into ``folder`` with what it refers to (its custom data-test
    scripts, at the same relative paths); returns the copy's path."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / (name or source.name)
    shutil.copy(source, copy)
    for script in re.findall(r'^\s*script:\s*"?([^"\n]+?)"?\s*$', source.read_text(encoding="utf-8"), re.M):
        (copy.parent / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source.parent / script, copy.parent / script)
    return copy


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
