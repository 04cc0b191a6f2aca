"""`--target all`: every installed target in one call, each into its own folder; and what
`omlc schedule export` prints for each."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import run_cli

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "pipelines" / "daily_customer_sync.oml.yaml"
ALL = {"OMLC_PLUGINS": "airflow,prefect,dagster"}


def test_target_all_writes_each_target_into_its_folder(tmp_path):
    run = run_cli("compile", str(FIXTURE), "--target", "all", "--out", str(tmp_path), env=ALL)
    assert run.returncode == 0, run.stdout + run.stderr
    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert files == {
        "airflow/daily_customer_sync.py", "airflow/daily_customer_sync.runtime.yaml",
        "prefect/daily_customer_sync.py", "prefect/daily_customer_sync.runtime.yaml",
        "dagster/daily_customer_sync.py", "dagster/daily_customer_sync.runtime.yaml",
        "dagster/daily_customer_sync.dagster.yaml",
    }
    for target in ("airflow", "prefect", "dagster"):  # each target's loss report is there
        assert f"[{target}] schedule." in run.stdout
    again = run_cli("compile", str(FIXTURE), "--target", "all", "--out", str(tmp_path), "--check", env=ALL)
    assert again.returncode == 0, again.stderr


def test_export_prints_the_module_of_each_target():
    for target, marker in (("airflow", "with DAG("), ("prefect", "@flow("), ("dagster", "defs = dg.Definitions(")):
        run = run_cli("schedule", "export", str(FIXTURE), "--format", target, env=ALL)
        assert run.returncode == 0, run.stderr
        assert marker in run.stdout
        ast.parse(run.stdout)
        if target == "dagster":
            assert "from __future__" not in run.stdout
