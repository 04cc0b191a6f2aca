"""The pre-commit hooks, run by real pre-commit against a temporary git repository of OML
files whose .pre-commit-config.yaml is the README's snippet pointing at this repository's
HEAD (pre-commit clones it and installs it into a hook environment, as for a user): `omlc-validate` fails on a bad pipeline,
`omlc-check` on a stale DAG, and both pass once fixed.

Slow (pre-commit builds its environment from this repository: about a minute), so the
quick mode (OMLC_SKIP_ENGINES=1) skips it with the engines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_pipeline

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "pipelines" / "daily_customer_sync.oml.yaml"
BAD = ROOT / "fixtures" / "invalid" / "needs_unknown.oml.yaml"


@pytest.fixture(scope="module")
def precommit(tmp_path_factory):
    if os.environ.get("OMLC_SKIP_ENGINES") == "1":
        pytest.skip("OMLC_SKIP_ENGINES=1: the real pre-commit run is skipped")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "OMLC_PLUGINS": "airflow"}

    def run(repo: Path, hook: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "pre_commit", "run", hook, "--all-files", "--verbose"]
        return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)

    return run, env


def _git(repo: Path, env, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _repo(tmp_path: Path, env) -> Path:
    repo = tmp_path / "repo"
    (repo / "pipelines").mkdir(parents=True)
    copy_pipeline(FIXTURE, repo / "pipelines")
    (repo / "omlc.yaml").write_text("output:\n  airflow: dags\n", encoding="utf-8")
    _config(repo)
    _git(repo, env, "init", "-q")
    return repo


def _config(repo: Path) -> None:
    """The README's snippet, pointing at this repository as a local hook source."""
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {ROOT}\n"
        f"    rev: {_head()}\n"
        "    hooks:\n"
        "      - id: omlc-validate\n"
        "      - id: omlc-check\n"
        "        args: [--target, airflow, pipelines/]\n", encoding="utf-8")


def _head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def test_validate_hook_fails_on_a_bad_pipeline_and_passes_when_fixed(precommit, tmp_path):
    run, env = precommit
    repo = _repo(tmp_path, env)
    shutil.copy(BAD, repo / "pipelines" / BAD.name)
    _git(repo, env, "add", "-A")
    failed = run(repo, "omlc-validate")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "OML202" in failed.stdout and "needs_unknown.oml.yaml:11:13" in failed.stdout
    (repo / "pipelines" / BAD.name).unlink()
    _git(repo, env, "add", "-A")
    passed = run(repo, "omlc-validate")
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_check_hook_fails_on_a_stale_dag_and_passes_when_regenerated(precommit, tmp_path):
    run, env = precommit
    repo = _repo(tmp_path, env)
    _git(repo, env, "add", "-A")

    def check() -> subprocess.CompletedProcess:
        return run(repo, "omlc-check")

    missing = check()
    assert missing.returncode == 1 and "daily_customer_sync.py: missing" in missing.stdout, missing.stdout
    compiled = subprocess.run([sys.executable, "-m", "omlc", "compile", "pipelines", "--target", "airflow"], cwd=repo,
                              env=env, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    _git(repo, env, "add", "-A")
    fresh = check()
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    dag = repo / "dags" / "daily_customer_sync.py"
    dag.write_text(dag.read_text(encoding="utf-8").replace('"retries": 3', '"retries": 5'), encoding="utf-8")
    _git(repo, env, "add", "-A")
    stale = check()
    assert stale.returncode == 1 and "daily_customer_sync.py: differs" in stale.stdout, stale.stdout
