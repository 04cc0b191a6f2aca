"""`omlc import` of Airflow DAGs omlc did not write (migration): the hand-written DAGs of
fixtures/airflow_dags/ give OML for what omlc understands and a located finding for every
construct it does not, never a traceback. The written OML validates; its name, schedule,
metadata, steps and needs are what the DAG says; each finding is on the line a
`# expect: CODE` marker names (fixtures/airflow_dags/README.md). Mutilated copies of the
fixtures never crash the importer. Real Airflow 3.3 (the cached engine venv) loads the
fixtures written for it, and its task graphs are the ones omlc imports."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from omlc.importer import dump, generated_by_omlc, import_code
from omlc.validate import load_file, load_text, validate_files, validate_paths
from omlc_airflow.reader import AirflowReader
from tests.conftest import ROOT, run_cli

DAGS = ROOT / "fixtures" / "airflow_dags"
FIXTURES = sorted(DAGS.glob("*.py"))
AIRFLOW = {"OMLC_PLUGINS": "airflow"}
FINDING = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning|info) "
                     r"(?P<code>OML\d{3}): (?P<message>.*)$", re.M)
INLINE = re.compile(r"#\s*expect:\s*((?:OML\d{3}\s*)+)$")
HEADER = re.compile(r"^# expect: (OML\d{3}) (\d+)$")


def expectations(path: Path) -> set[tuple[int, str]]:
    """(line, code) of every warning or error the fixture's markers announce."""
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            found.add((int(header.group(2)), header.group(1)))
            continue
        inline = INLINE.search(line)
        if inline:
            found.update((number, code) for code in inline.group(1).split())
    return found


class Imported:
    def __init__(self, path: Path, tmp_path: Path, *options: str) -> None:
        self.out = tmp_path / f"{path.stem}.oml.yaml"
        run = run_cli("import", str(path), "-o", str(self.out), *options, env=AIRFLOW)
        self.code = run.returncode
        self.stderr = run.stderr
        assert "Traceback" not in run.stdout + run.stderr and "internal error" not in run.stderr, run.stderr
        self.findings = [m.groupdict() for m in FINDING.finditer(run.stderr)]
        for f in self.findings:
            assert f["path"] == str(path), f
        self.doc = self.pipeline = None
        if self.out.exists():
            self.doc = YAML(typ="safe").load(self.out.read_text(encoding="utf-8"))
            self.pipeline = load_file(str(self.out)).pipeline

    def located(self) -> set[tuple[int, str]]:
        return {(int(f["line"]), f["code"]) for f in self.findings if f["severity"] != "info"}

    def messages(self, code: str | None = None) -> str:
        return "\n".join(f["message"] for f in self.findings if code is None or f["code"] == code)

    def steps(self) -> list[tuple[str, str, list[str]]]:
        needs = self.pipeline.effective_needs()
        return [(s.id, s.component, needs[s.id]) for s in self.pipeline.steps]

    def step(self, step_id: str) -> dict:
        return next(s for s in self.doc["steps"] if s["id"] == step_id)


SHELL = "shell.command"

# fixture -> (exit code, name, schedule block, metadata keys that must be as given, steps)
EXPECTED = {
    "classic_with_dag.py": (0, "nightly_warehouse_load", {
        "expression": "0 2 * * *", "timezone": "Europe/Prague", "start_date": "2024-01-01", "concurrency": 1,
        "timeout": "2h", "retry": {"attempts": 3, "delay": "5m"}},
        {"owner": "data-eng", "tags": ["warehouse", "orders"]},
        [("extract_orders", SHELL, []), ("transform_orders", SHELL, ["extract_orders"]),
         ("load_orders", SHELL, ["transform_orders"])]),
    "assign_dag_param.py": (0, "marketing_rollup", {
        "expression": "@daily", "timezone": "UTC", "start_date": "2023-06-02", "catchup": True,
        "retry": {"attempts": 2, "delay": "10m"}},
        {"owner": "analytics", "notifications": {"on_failure": [{"email": "analytics-oncall@example.com"}]}},
        [("pull_ads", SHELL, []), ("aggregate", SHELL, ["pull_ads"]), ("publish", SHELL, ["aggregate"])]),
    "taskflow.py": (1, "taskflow_etl", {"expression": "@hourly", "timezone": "UTC", "start_date": "2024-03-01"},
                    {"tags": ["taskflow"]},
                    [("extract", "airflow.task", []), ("transform_orders", "airflow.task", ["extract"]),
                     ("load", SHELL, ["transform_orders"]), ("notify", "airflow.task", ["load"])]),
    "airflow2_schedule_interval.py": (0, "legacy_reports", {"expression": "30 6 * * 1-5", "timezone": "UTC"},
                                      {"tags": ["legacy"]}, [("build_report", SHELL, [])]),
    "timetables.py": (0, "ny_morning_sync", {"expression": "15 3 * * *", "timezone": "America/New_York",
                                             "start_date": "2024-01-01"}, {}, [("sync", SHELL, [])]),
    "timedelta_schedule.py": (0, "every_half_hour", {
        "type": "interval", "expression": "30m", "timezone": "UTC", "start_date": "2024-05-01T06:00",
        "end_date": "2025-05-01", "concurrency": 2, "timeout": "20m", "retry": {"attempts": 1, "delay": "5m"}},
        {"owner": "platform"}, [("poll_queue", SHELL, []), ("compact", SHELL, ["poll_queue"])]),
    "default_args_var.py": (0, "customer_360", {
        "expression": "0 4 * * *", "timezone": "UTC", "start_date": "2024-02-02T04:00",
        "retry": {"attempts": 4, "delay": "30s", "backoff": "exponential", "max_delay": "10m"}},
        {"owner": "crm-squad", "description": "### Customer 360\n\nBuilds the customer 360 tables. Owned by the CRM "
                                              "squad.",
         "notifications": {"on_failure": [{"email": "crm-alerts@example.com"}]}},
        [("extract", SHELL, []), ("clean_accounts", SHELL, ["extract"]), ("clean_contacts", SHELL, ["extract"]),
         ("load", SHELL, ["clean_accounts", "clean_contacts"])]),
    "list_fanout.py": (0, "regional_fanout", {"expression": "@daily", "timezone": "UTC", "start_date": "2024-01-01"},
                       {"tags": ["regions"]},
                       [("load_eu", SHELL, []), ("load_us", SHELL, []), ("load_apac", SHELL, []),
                        ("merge", SHELL, ["load_eu", "load_us", "load_apac"]), ("report", SHELL, ["merge"]),
                        ("audit", SHELL, ["merge", "report"])]),
    "jinja_templated.py": (0, "templated_export", {
        "expression": "0 1 * * *", "timezone": "UTC", "start_date": "2024-01-02T01:00",
        "window": {"type": "tumbling", "format": "iso"}}, {},
        [("export", SHELL, []), ("check", SHELL, ["export"])]),
    "asset_scheduled.py": (1, "orders_consumer", None, {
        "lineage": {"upstream": ["dataset: s3://lake/orders.parquet", "dataset: s3://lake/customers.parquet"]}},
        [("consume", SHELL, [])]),
    "syntax_error.py": (1, None, None, None, None),
    "no_dag.py": (1, None, None, None, None),
    "dynamic_loop.py": (1, "ingest_mysql", {"expression": "0 1 * * *", "timezone": "UTC", "start_date": "2024-01-01"},
                        {"tags": ["ingest", "mysql"]}, [("copy_users", SHELL, []), ("copy_orders", SHELL, [])]),
    "python_and_sensors.py": (1, "mixed_operators", {
        "expression": "0 5 * * *", "timezone": "UTC", "start_date": "2024-01-02T05:00",
        "retry": {"attempts": 1, "delay": "2m"}},
        {"owner": "ops", "lineage": {"upstream": ["pipeline: orders_pipeline"]}},
        [("wait_for_orders", "airflow.external_task_sensor", []), ("wait_for_file", "airflow.file_sensor", []),
         ("branch", "airflow.branch_python_operator", ["wait_for_orders", "wait_for_file"]),
         ("full_load", SHELL, ["branch"]), ("enrich", "airflow.python_operator", ["full_load"]),
         ("publish", SHELL, ["enrich"])]),
    "taskgroups.py": (0, "grouped_pipeline", {
        "expression": "0 0 * * 0", "timezone": "Asia/Tokyo", "start_date": "2024-01-07",
        "retry": {"attempts": 2, "delay": "1m"}}, {"owner": "tokyo-data"},
        [("begin", SHELL, []), ("staging.stage_a", SHELL, ["begin"]), ("staging.stage_b", SHELL, ["begin"]),
         ("staging.stage_c", SHELL, ["staging.stage_a", "staging.stage_b"]), ("publish", SHELL, ["staging.stage_c"]),
         ("finish", SHELL, ["publish"])]),
    "models_dag.py": (0, "models_dag", {"expression": "@weekly", "timezone": "UTC", "start_date": "2021-01-10"}, {},
                      [("cleanup_tmp", SHELL, [])]),
    "custom_timetable.py": (1, "workday_close", None, {}, [("close_books", SHELL, []), ("archive", SHELL, ["close_books"])]),
    "helper_functions.py": (0, "finance_exports", {
        "expression": "0 3 * * 1-5", "timezone": "America/Chicago", "start_date": "2024-04-01",
        "retry": {"attempts": 2, "delay": "10m"}},
        {"owner": "finance", "notifications": {"on_failure": [{"email": "finance-oncall@example.com"}]}},
        [("check_ledger", SHELL, []), ("export_accounts", SHELL, ["check_ledger"]),
         ("export_invoices", SHELL, ["export_accounts"]), ("notify", SHELL, ["export_accounts", "export_invoices"])]),
}


def test_every_fixture_has_expectations():
    assert len(FIXTURES) >= 12
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_hand_written_dags_import_as_their_dag_says(tmp_path, path):
    code, name, schedule, metadata, steps = EXPECTED[path.name]
    got = Imported(path, tmp_path)
    assert got.code == code, got.stderr
    # every warning and error is where a marker says, and every marker got one
    assert got.located() == expectations(path), got.stderr
    if name is None:
        assert not got.out.exists()
        return
    validated = validate_paths([str(got.out)])
    assert validated.exit_code() == 0, [str(d) for d in validated.diagnostics]  # custom components only warn
    assert got.doc["name"] == name
    assert got.doc.get("schedule") == schedule
    for key, value in metadata.items():
        assert got.doc["metadata"][key] == value, key
    assert set(got.doc.get("metadata", {})) <= set(metadata) | {"description"}
    assert got.steps() == steps
    for step in got.doc["steps"]:
        assert step["mode"] == "transform"
        if step["component"] == SHELL:
            assert isinstance(step["config"]["command"], str)
        else:  # a placeholder says what it stands for
            assert set(step["config"]) <= {"airflow_operator", "function"}


def test_shell_steps_keep_the_command_and_its_environment(tmp_path):
    got = Imported(DAGS / "classic_with_dag.py", tmp_path)
    assert got.step("load_orders")["config"] == {"command": "python -m etl.load orders --target warehouse",
                                                 "env": {"WAREHOUSE_SCHEMA": "analytics"}, "append_env": True}
    assert got.doc["description"] == "Load yesterday's orders into the warehouse"
    assert f"component {SHELL!r}" in got.messages()  # the choice of component is said once, as a note
    got = Imported(DAGS / "taskflow.py", tmp_path)
    assert got.step("load")["config"] == {"command": "echo loading"}  # @task.bash returning a literal
    assert got.step("extract")["config"] == {"airflow_operator": "@task", "function": "extract"}
    assert "@task function 'extract' is not expressible in OML" in got.messages("OML704")
    assert "dynamic task mapping" in got.messages("OML704")


def test_data_interval_jinja_becomes_a_tumbling_window(tmp_path):
    got = Imported(DAGS / "jinja_templated.py", tmp_path)
    command = got.step("export")["config"]["command"]
    assert 'export-table ${params.table}' in command and '--limit ${params.limit}' in command
    assert '--from "${window.start}"' in command and '--to "${window.end}"' in command
    assert "{{ ds }}" in command and "{{ var.value.export_bucket }}" in command  # kept, reported
    assert got.step("check")["config"]["env"] == {"EXPORT_END": "${window.end}"}
    assert got.doc["params"] == {"table": {"default": "orders"}, "limit": {"default": 1000}}
    notes = [f for f in got.findings if f["severity"] == "info"]
    assert any("tumbling window" in f["message"] and f["line"] == "17" for f in notes)
    # the window is what Airflow 2's data interval was: the previous fire time to this one
    from datetime import datetime, timezone

    from omlc.schedule.timetable import Timetable

    window = Timetable(got.pipeline.schedule).window(datetime(2024, 1, 15, 1, tzinfo=timezone.utc))
    assert (window.start.isoformat(), window.end.isoformat()) == ("2024-01-14T01:00:00+00:00",
                                                                  "2024-01-15T01:00:00+00:00")


def test_a_second_dag_of_the_file_with_dag_option(tmp_path):
    got = Imported(DAGS / "timetables.py", tmp_path, "--dag", "berlin_hourly_events")
    assert got.code == 0, got.stderr
    assert got.doc["schedule"] == {"expression": "0 * * * *", "timezone": "Europe/Berlin",
                                   "start_date": "2024-01-01T01:00", "catchup": True,
                                   "window": {"type": "tumbling", "format": "iso"}}
    assert got.step("load_events")["config"]["command"] == "load_events --from '${window.start}' --to '${window.end}'"
    assert got.located() == {(9, "OML703")}  # the other DAG, at its line
    looped = Imported(DAGS / "dynamic_loop.py", tmp_path, "--dag", "ingest_postgres")
    assert looped.doc["name"] == "ingest_postgres" and looped.doc["schedule"]["expression"] == "0 3 * * *"
    assert looped.step("copy_users")["config"]["command"] == "copy --source postgres --table users"
    missing = Imported(DAGS / "timetables.py", tmp_path, "--dag", "nope")
    assert missing.code == 1 and "no DAG 'nope'" in missing.messages("OML702")


def test_reimport_into_the_same_file_changes_nothing(tmp_path):
    first = Imported(DAGS / "default_args_var.py", tmp_path)
    before = first.out.read_text(encoding="utf-8")
    again = Imported(DAGS / "default_args_var.py", tmp_path)
    assert again.code == 0 and again.out.read_text(encoding="utf-8") == before


def test_generated_code_still_goes_to_the_reader(tmp_path):
    from omlc.compile import compile_paths
    from omlc_airflow.target import AirflowTarget

    out = tmp_path / "dags"
    compile_paths([str(ROOT / "fixtures" / "pipelines" / "daily_customer_sync.oml.yaml")], [AirflowTarget()],
                  out=str(out))
    code = (out / "daily_customer_sync.py").read_text(encoding="utf-8")
    assert generated_by_omlc(code)
    assert generated_by_omlc("\n".join(code.splitlines()[3:]))  # a hand edit dropped the header
    assert not generated_by_omlc((DAGS / "classic_with_dag.py").read_text(encoding="utf-8"))


@pytest.mark.parametrize("source,code,line,needle", [
    ("x = ", "OML702", 1, "not Python"),
    ("", "OML702", 1, "no DAG"),
    ("from airflow import DAG\nwith DAG(dag_id=make_id()) as d:\n    t = BashOperator(task_id='a', bash_command='x')\n",
     "OML702", 2, "cannot read the dag_id"),
    ("from airflow import DAG\nwith DAG('x', schedule='@daily') as d:\n    t = BashOperator(task_id=tid(), "
     "bash_command=cmd())\n", "OML702", 3, "cannot read the task_id"),
    ("from airflow import DAG\nwith DAG('x', schedule='0 0 L * *') as d:\n    BashOperator(task_id='a', bash_command='x')\n",
     "OML704", 2, "not one OML accepts"),
    ("from airflow import DAG\nwith DAG('x', schedule='@once') as d:\n    BashOperator(task_id='a', bash_command='x')\n",
     "OML704", 2, "'@once' is not expressible"),
    ("from airflow import DAG\nwith DAG('x', schedule=None) as d:\n    a = BashOperator(task_id='a', bash_command='x')\n"
     "    a >> b\n", "OML702", 4, "`b` is not a task"),
    ("from airflow import DAG\nwith DAG('x', schedule=None) as d:\n    a = BashOperator(task_id='a', bash_command='x')\n"
     "    b = BashOperator(task_id='b', bash_command='y')\n    a >> b >> a\n", "OML702", 5, "dependency cycle"),
    ("from airflow import DAG\nwith DAG('x', schedule=None) as d:\n    BashOperator(task_id='a', bash_command='x',\n"
     "        env={'API_TOKEN': 'abc123'})\n", "OML703", 4, "literal secret"),
    ("from airflow.sdk import DAG\nfrom datetime import timedelta\nwith DAG('x', schedule=timedelta(days=1),\n"
     "        dagrun_timeout=timedelta(hours=1)) as d:\n    while True:\n        BashOperator(task_id='a', bash_command='x')\n"
     "    BashOperator(task_id='b', bash_command='y')\n", "OML704", 5, "a `while` loop"),
])
def test_what_cannot_be_read_is_a_located_finding(tmp_path, source, code, line, needle):
    path = tmp_path / "dag.py"
    path.write_text(source, encoding="utf-8")
    got = Imported(path, tmp_path)
    hits = [f for f in got.findings if f["code"] == code and int(f["line"]) == line and needle in f["message"]]
    assert hits, got.stderr
    assert got.code in (0, 1)
    if got.out.exists():
        assert validate_paths([str(got.out)]).exit_code() == 0


def test_secrets_in_env_are_not_copied(tmp_path):
    path = tmp_path / "dag.py"
    path.write_text("from airflow import DAG\nwith DAG('x', schedule=None) as d:\n"
                    "    BashOperator(task_id='a', bash_command='curl -H $API_TOKEN x', env={'API_TOKEN': 'abc123'})\n",
                    encoding="utf-8")
    got = Imported(path, tmp_path)
    assert got.step("a")["config"]["env"] == {"API_TOKEN": "${API_TOKEN}"}
    assert "abc123" not in got.out.read_text(encoding="utf-8")


def test_a_trigger_timetable_interval_is_a_sliding_window(tmp_path):
    path = tmp_path / "dag.py"
    path.write_text(textwrap.dedent('''\
        from datetime import timedelta
        import pendulum
        from airflow.sdk import DAG, CronTriggerTimetable
        from airflow.providers.standard.operators.bash import BashOperator

        with DAG("trig", schedule=CronTriggerTimetable("0 6 * * *", timezone="UTC", interval=timedelta(hours=6)),
                 start_date=pendulum.datetime(2024, 1, 1)):
            BashOperator(task_id="a", bash_command="run {{ data_interval_start }} {{ data_interval_end }}")
        with DAG("plain", schedule="0 6 * * *", start_date=pendulum.datetime(2024, 1, 1)):
            BashOperator(task_id="b", bash_command="run {{ data_interval_start }} {{ data_interval_end }}")
        '''), encoding="utf-8")
    got = Imported(path, tmp_path)
    assert got.doc["schedule"]["window"] == {"type": "sliding", "size": "6h", "format": "iso"}
    assert got.step("a")["config"]["command"] == "run ${window.start} ${window.end}"
    # Airflow 3 reads a cron string as a trigger timetable: the data interval is empty (the fire time)
    plain = Imported(path, tmp_path, "--dag", "plain")
    assert plain.doc["schedule"] == {"expression": "0 6 * * *", "timezone": "UTC", "start_date": "2024-01-01",
                                     "window": {"type": "tumbling", "format": "iso"}}
    assert plain.step("b")["config"]["command"] == "run ${window.end} ${window.end}"


# -- mutilated fixtures: never a traceback ---------------------------------------------------------
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in FIXTURES}


def _mutate(text: str, data) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        kind = data.draw(st.sampled_from(["delete", "truncate", "duplicate", "cut", "char"]), label="kind")
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "cut":  # the file ends here
            lines = lines[:i]
        else:
            at = data.draw(st.integers(0, len(lines[i])), label="column")
            if kind == "truncate":
                lines[i] = lines[i][:at] + "\n"
            else:
                lines[i] = lines[i][:at] + data.draw(st.sampled_from(list("()[]{}:=,'\"#\\ \t")), label="c") \
                    + lines[i][at:]
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(TEXTS)), data=st.data())
def test_mutilated_dags_never_crash_the_importer(name, data):
    text = _mutate(TEXTS[name], data)
    document, found, _ = import_code(text, name, AirflowReader())
    for d in found:
        assert d.span.path == name and d.span.line >= 1 and d.span.col >= 1 and d.message
    if document is None:
        assert any(d.severity.value == "error" for d in found)
        return
    loaded = load_text(dump(document, None), "imported.oml.yaml")
    assert loaded.pipeline is not None, [str(d) for d in loaded.diagnostics]
    errors = [str(d) for d in validate_files([loaded]) if d.severity.value == "error"]
    assert errors == []


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(TEXTS)), data=st.data())
def test_mutilated_dags_through_the_command_line(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(_mutate(TEXTS[name], data), encoding="utf-8")
    run = run_cli("import", str(path), env=AIRFLOW)
    assert run.returncode in (0, 1, 2), run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr


# -- the fixtures are real Airflow 3 DAGs -----------------------------------------------------------
AIRFLOW_ORACLE = '''
import json, os, sys, warnings
payload = json.load(sys.stdin)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = payload["folder"]
warnings.simplefilter("ignore")
import airflow
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=payload["folder"])
print(json.dumps({
    "airflow": airflow.__version__,
    "import_errors": sorted(os.path.basename(path) for path in bag.import_errors),
    "dags": {dag_id: {"file": os.path.basename(dag.fileloc), "timetable": type(dag.timetable).__name__,
                      "tasks": {t.task_id: {"upstream": sorted(t.upstream_task_ids), "operator": type(t).__name__}
                                for t in dag.tasks}}
             for dag_id, dag in bag.dags.items()},
}))
'''
AIRFLOW2_ONLY = {"assign_dag_param.py", "jinja_templated.py", "airflow2_schedule_interval.py"}


@pytest.mark.engines
def test_real_airflow_loads_the_fixtures_and_agrees_on_the_graph(tmp_path):
    from tests.engines.envs import pytest_engine_python, run_in_engine

    python = pytest_engine_python("airflow")
    script = tmp_path / "airflow_dagbag.py"
    script.write_text(AIRFLOW_ORACLE, encoding="utf-8")
    answer = run_in_engine("airflow", script, {"folder": str(DAGS)}, python=python)
    # Airflow 2 DAGs, one that needs a company's timetable plugin, and the syntax error fail in Airflow 3.3
    assert set(answer["import_errors"]) == AIRFLOW2_ONLY | {"custom_timetable.py", "syntax_error.py"}
    loaded = {d["file"] for d in answer["dags"].values()}
    assert loaded == {p.name for p in FIXTURES} - set(answer["import_errors"]) - {"no_dag.py"}
    for dag_id, dag in answer["dags"].items():
        path = DAGS / dag["file"]
        document, found, _ = import_code(path.read_text(encoding="utf-8"), str(path), AirflowReader(), dag_id)
        if dag_id == "custom_":  # built by a factory function from a Variable: reported, not imported
            assert document is None or document["name"] != dag_id
            assert any("inside function 'make_dag'" in d.message for d in found)
            continue
        assert document is not None and document["name"] == dag_id, [str(d) for d in found]
        assert _bridged(dag["tasks"]) == _needs(document), dag_id
        if "airflow.sdk" in path.read_text(encoding="utf-8"):  # read as Airflow 3
            kind = {"CronTriggerTimetable": "cron", "CronDataIntervalTimetable": "cron",
                    "DeltaTriggerTimetable": "interval"}.get(dag["timetable"])
            schedule = document.get("schedule")
            assert (schedule.get("type", "cron") if schedule else None) == kind, (dag_id, dag["timetable"])


def _bridged(tasks: dict) -> dict:
    """Airflow's graph without its EmptyOperators (their upstream tasks joined to their downstream ones)."""
    upstream = {t: set(v["upstream"]) for t, v in tasks.items()}
    for empty in [t for t, v in tasks.items() if v["operator"] == "EmptyOperator"]:
        for task in upstream:
            if empty in upstream[task]:
                upstream[task] = (upstream[task] - {empty}) | upstream[empty]
        del upstream[empty]
    rename = {"_finish": "finish"}
    return {rename.get(t, t): sorted(rename.get(u, u) for u in ups) for t, ups in upstream.items()}


def _needs(document) -> dict:
    loaded = load_text(dump(document, None), "imported.oml.yaml").pipeline
    return {step: sorted(needs) for step, needs in loaded.effective_needs().items()}


def test_fixture_markers_are_well_formed():
    for path in FIXTURES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "expect:" in line:
                assert INLINE.search(line) or HEADER.match(line), (path.name, line)
    assert json.dumps(sorted(expectations(DAGS / "no_dag.py"))) == '[[1, "OML702"]]'


def test_python_warnings_about_the_dag_read_are_not_printed():
    """An invalid escape in the DAG (`"\\d"`) is the file's business: ast and libcst warn
    about it when they read it, and the import shows none of that."""
    import warnings

    text = ('from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.bash import BashOperator\n'
            'PATTERN = "\\d+"\n'
            'with DAG("escapes", schedule="@daily") as dag:\n'
            '    t = BashOperator(task_id="t", bash_command="grep \\d+ x")\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        document, found, _ = import_code(text, "escapes.py", AirflowReader())
    assert document is not None and document["name"] == "escapes", [str(f) for f in found]
    assert caught == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compile(text, "escapes.py", "exec")  # the same text does warn when Python compiles it
    assert caught and all("invalid escape sequence" in str(w.message) for w in caught)
