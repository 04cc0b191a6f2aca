"""The Airflow target without Airflow: compile, losses, safety of the generated text, CLI.

What the DAGs do in real Airflow is tested in tests/test_airflow_engine.py.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

from omlc.compile import compile_paths
from tests.conftest import copy_pipeline, run_cli
from omlc.validate import load_file, load_text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "pipelines"
ADVERSARIAL = FIXTURES / "adversarial_injection.oml.yaml"


def omlc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command, with this repository's Airflow plugin loaded through its entry point."""
    return run_cli(*args, env={"OMLC_PLUGINS": "airflow"}, cwd=cwd)


@pytest.fixture(scope="module")
def airflow_target():
    from omlc_airflow.target import AirflowTarget

    return AirflowTarget()


@pytest.fixture(scope="module")
def compiled(airflow_target):
    result = compile_paths([str(FIXTURES)], [airflow_target], write=False)
    return {Path(path).name: files for (path, _), files in result.outputs.items()}, result


def test_every_fixture_compiles(compiled):
    outputs, result = compiled
    assert not [d for d in result.report.diagnostics if d.severity.value == "error"]
    assert len(outputs) == len(list(FIXTURES.glob("*.oml.yaml")))
    for name, files in outputs.items():
        pipeline = load_file(str(FIXTURES / name)).pipeline
        assert set(files) == {f"{pipeline.name}.py", f"{pipeline.name}.runtime.yaml"}


def test_output_is_deterministic(airflow_target, compiled):
    again = compile_paths([str(FIXTURES)], [airflow_target], write=False)
    assert {Path(p).name: f for (p, _), f in again.outputs.items()} == compiled[0]


def _calls(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def test_generated_code_is_only_literals_and_omlc_code(compiled):
    """No OML text becomes code: every string from the pipeline is a literal, the SQL is not
    in the DAG at all, and the only Jinja in templated fields is omlc's own."""
    outputs, _ = compiled
    files = outputs[ADVERSARIAL.name]
    pipeline = load_file(str(ADVERSARIAL)).pipeline
    code = files[f"{pipeline.name}.py"]
    tree = ast.parse(code)
    compile(code, "dag.py", "exec")
    constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert pipeline.description in constants
    assert pipeline.metadata.owner in constants
    assert all(tag in constants for tag in pipeline.metadata.tags)
    assert pipeline.metadata.description + "\n" in constants  # ends in .md: not a file name for Airflow
    assert "SELECT" not in code and "pwned" not in code.replace(repr(pipeline.description), "")
    for call in _calls(tree):
        if getattr(call.func, "id", None) == "BashOperator":
            kwargs = {k.arg: k.value for k in call.keywords}
            command = ast.literal_eval(kwargs["bash_command"])
            assert "{" not in command.replace("{{ '{' }}", "")
            env = ast.literal_eval(kwargs["env"])
            for value in env.values():
                assert value.count("{{") == value.count("}}") <= 1
                assert "omlc_" in value or "run_id" in value or "{" not in value


def test_runtime_copy_turns_window_references_into_params(compiled):
    outputs, _ = compiled
    files = outputs["daily_customer_sync.oml.yaml"]
    runtime = files["daily_customer_sync.runtime.yaml"]
    assert "${window." not in runtime
    copy = load_text(runtime, "runtime.yaml").pipeline
    assert copy.params["window_start"] == {"default": ""}
    assert "${params.window_start}" in copy.steps[0].config["query"]
    original = load_file(str(FIXTURES / "daily_customer_sync.oml.yaml")).pipeline
    assert [s.id for s in copy.steps] == [s.id for s in original.steps]


def test_loss_report_names_each_field_at_its_location(compiled):
    _, result = compiled
    losses = [d for d in result.report.diagnostics if d.code in ("OML601", "OML602", "OML603")]
    daily = {d.message.split(":")[0].split("] ")[1]: d for d in losses if d.span.path.endswith("daily_customer_sync.oml.yaml")}
    assert set(daily) == {"metadata.notifications.on_failure", "metadata.notifications.on_sla_breach",
                          "schedule.window", "schedule.catchup"}
    assert (daily["schedule.catchup"].span.line, daily["schedule.catchup"].span.col) == (16, 3)
    # a Slack target and a PagerDuty service sharing one connection: approximated, at the event
    assert daily["metadata.notifications.on_failure"].code == "OML601"
    assert daily["metadata.notifications.on_failure"].span.line == 53
    assert "slack #data-alerts" in daily["metadata.notifications.on_failure"].message
    assert "pagerduty data-platform" in daily["metadata.notifications.on_sla_breach"].message
    # exact: retries (through the RetryPolicy), tests, SLA, lineage, on_success (email only)


def test_a_loss_of_an_unwritten_field_points_at_the_key_that_would_hold_it(tmp_path, airflow_target):
    path = tmp_path / "p.oml.yaml"
    path.write_text('oml_version: "0.2.0"\nname: p\nschedule:\n  expression: "0 1 * * *"\n'
                    'steps: [{id: a, component: mysql.extractor, mode: read}]\n')
    result = compile_paths([str(path)], [airflow_target], write=False)
    (loss,) = [d for d in result.report.diagnostics if "schedule.catchup" in d.message]
    assert (loss.span.line, loss.span.col) == (3, 1)


def test_dst_losses_say_what_airflow_does(tmp_path, airflow_target):
    path = tmp_path / "p.oml.yaml"
    path.write_text('oml_version: "0.2.0"\nname: p\nschedule: {expression: "30 2 * * *", timezone: Europe/Prague}\n'
                    'steps: [{id: a, component: mysql.extractor, mode: read}]\n')
    result = compile_paths([str(path)], [airflow_target], write=False)
    (loss,) = [d for d in result.report.diagnostics if d.code == "OML601" and "expression" in d.message]
    assert "Airflow runs at" in loss.message and loss.span.line == 3


def test_strict_fails_on_losses_and_writes_nothing(tmp_path):
    out = tmp_path / "dags"
    run = omlc("compile", str(FIXTURES / "daily_customer_sync.oml.yaml"), "--target", "airflow", "--out", str(out),
               "--strict")
    assert run.returncode == 1 and "error OML601" in run.stdout
    assert not out.exists()
    run = omlc("compile", str(FIXTURES / "daily_customer_sync.oml.yaml"), "--target", "airflow", "--out", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(os.listdir(out)) == ["daily_customer_sync.py", "daily_customer_sync.runtime.yaml"]
    again = omlc("compile", str(FIXTURES / "daily_customer_sync.oml.yaml"), "--target", "airflow", "--out", str(out))
    assert "2 file(s) unchanged" in again.stderr


def test_export_prints_the_dag(tmp_path):
    run = omlc("schedule", "export", str(FIXTURES / "daily_customer_sync.oml.yaml"), "--format", "airflow")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("# Generated by omlc") and "CronTriggerTimetable('0 2 * * *'" in run.stdout
    assert "OML601" in run.stderr


def test_usage_errors_exit_2_without_traceback(tmp_path):
    run = omlc("compile", str(FIXTURES), "--target", "nope")
    assert run.returncode == 2 and "unknown target 'nope'" in run.stderr and "Traceback" not in run.stderr
    run = omlc("schedule", "export", str(FIXTURES / "daily_customer_sync.oml.yaml"), "--format", "nope")
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_project_file_problems_are_located(tmp_path):
    (tmp_path / "omlc.yaml").write_text("runner:\n  command: 'run {oml_path} {windw_start} {'\nextra: 1\n")
    copy_pipeline(FIXTURES / "daily_customer_sync.oml.yaml", tmp_path, "p.oml.yaml")
    run = omlc("compile", "p.oml.yaml", "--target", "airflow", cwd=tmp_path)
    assert run.returncode == 1
    assert "omlc.yaml:2:12: error OML620: runner.command: unknown placeholder {windw_start}" in run.stdout
    assert "omlc.yaml:3:1: error OML620" in run.stdout
    assert not (tmp_path / "build").exists()


def test_catchup_without_start_date_cannot_compile(tmp_path):
    path = tmp_path / "p.oml.yaml"
    path.write_text('oml_version: "0.2.0"\nname: p\nschedule: {expression: "0 1 * * *", catchup: true}\n'
                    'steps: [{id: a, component: mysql.extractor, mode: read}]\n')
    run = omlc("compile", str(path), "--target", "airflow", "--out", str(tmp_path / "o"))
    assert run.returncode == 1 and "OML610" in run.stdout and not (tmp_path / "o").exists()


def test_runner_command_placeholders_become_quoted_variables():
    from omlc.project import RunnerCommand
    from omlc_airflow.target import bash_command

    cmd = RunnerCommand("run {oml_path} --x={window_start} {{literal}} deploy.sh")
    assert cmd.problems() == []
    assert cmd.shell() == 'run "$OMLC_OML_PATH" --x="$OMLC_WINDOW_START" {literal} deploy.sh'
    assert bash_command(cmd.shell()).endswith("deploy.sh ")  # not a template file name for Airflow
    assert "{{ '{' }}literal}" in bash_command(cmd.shell())
