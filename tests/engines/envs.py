"""Cached virtual environments for the real engines (Airflow, Prefect, Dagster).

Each engine gets its own venv (their pins conflict), built from the pinned full freeze in
``tests/engines/requirements/<name>.txt`` with ``pip install --no-deps`` (no resolver:
exactly those versions). Venvs live outside the repo, in ``$OMLC_ENGINE_CACHE`` or
``~/.cache/omlc/engines``, named by a hash of the requirements and the Python version, so a
warm machine reuses them and a changed pin builds a new one. A venv counts only once its
marker file exists (written last); a file lock keeps two processes from building the same
one.

    python -m tests.engines.envs build [airflow|prefect|dagster|all]
    python -m tests.engines.envs path NAME
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINES = ("airflow", "prefect", "dagster")
HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements"
ORACLES = HERE / "oracles"
MARKER = ".omlc-complete"


class EngineEnvError(RuntimeError):
    pass


def cache_root() -> Path:
    root = os.environ.get("OMLC_ENGINE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "omlc" / "engines"


def requirements_file(name: str) -> Path:
    if name not in ENGINES:
        raise EngineEnvError(f"unknown engine {name!r}: one of {', '.join(ENGINES)}")
    return REQUIREMENTS / f"{name}.txt"


def env_dir(name: str) -> Path:
    text = requirements_file(name).read_bytes()
    key = hashlib.sha256(text + sys.version.encode()).hexdigest()[:16]
    return cache_root() / f"{name}-{key}"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def env_python(name: str) -> Path | None:
    """The engine venv's python if it is built, else None (never builds)."""
    venv = env_dir(name)
    return _python(venv) if (venv / MARKER).exists() else None


def ensure_env(name: str) -> Path:
    """The engine venv's python, building the venv first if needed."""
    venv = env_dir(name)
    if (venv / MARKER).exists():
        return _python(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / MARKER).exists():  # built by another process while we waited
            return _python(venv)
        if venv.exists():
            shutil.rmtree(venv)
        started = time.monotonic()
        print(f"omlc tests: building the {name} environment in {venv} (a few minutes, once)", file=sys.stderr)
        _run([sys.executable, "-m", "venv", str(venv)], name)
        _run([str(_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "--no-deps", "-r", str(requirements_file(name))], name)
        (venv / MARKER).write_text(json.dumps({"built_seconds": round(time.monotonic() - started)}))
        print(f"omlc tests: {name} environment ready ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return _python(venv)


def _run(cmd: list[str], name: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise EngineEnvError(f"building the {name} environment failed: {' '.join(cmd[:4])} ...\n{tail}")


def engine_environment(name: str, home: str | os.PathLike[str]) -> dict[str, str]:
    """Environment variables for running engine code offline with its state under ``home``."""
    home = Path(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PREFECT", "DAGSTER", "OMLC"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if name == "airflow":
        env.update({
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "airflow" / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        })
        (home / "airflow" / "dags").mkdir(parents=True, exist_ok=True)
    elif name == "prefect":
        env.update({
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "DO_NOT_TRACK": "1",
        })
    elif name == "dagster":
        env.update({"DAGSTER_HOME": str(home / "dagster"), "DAGSTER_DISABLE_TELEMETRY": "1"})
        (home / "dagster").mkdir(parents=True, exist_ok=True)
    return env


def run_in_engine(name: str, script: str | os.PathLike[str], payload: object, timeout: float = 600,
                  python: str | os.PathLike[str] | None = None) -> object:
    """Run ``script`` with the engine's python, JSON ``payload`` on stdin; return its JSON stdout."""
    python = python or ensure_env(name)
    with tempfile.TemporaryDirectory(prefix=f"omlc-{name}-") as home:
        result = subprocess.run([str(python), str(script)], input=json.dumps(payload), capture_output=True,
                                text=True, timeout=timeout, env=engine_environment(name, home), cwd=home)
    if result.returncode != 0:
        raise EngineEnvError(f"{Path(script).name} failed in {name} (exit {result.returncode}):\n"
                             f"{result.stderr[-4000:]}")
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise EngineEnvError(f"{Path(script).name} printed no JSON:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def run_oracle(name: str, script: str, payload: object, timeout: float = 600,
               python: str | os.PathLike[str] | None = None) -> object:
    return run_in_engine(name, ORACLES / script, payload, timeout, python)


def pytest_engine_python(name: str) -> Path:
    """For tests: the engine's python (built on first use), or a skip under OMLC_SKIP_ENGINES=1."""
    import pytest

    if os.environ.get("OMLC_SKIP_ENGINES") == "1":
        pytest.skip(f"OMLC_SKIP_ENGINES=1: the {name} engine tests are skipped")
    return ensure_env(name)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("build", "path"):
        print(__doc__, file=sys.stderr)
        return 2
    names = ENGINES if argv[1] == "all" else (argv[1],)
    for name in names:
        if argv[0] == "build":
            print(ensure_env(name))
        else:
            print(env_python(name) or f"{name}: not built")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
