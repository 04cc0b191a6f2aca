"""The Airflow target against real Airflow 3.3 (its own cached venv, see tests/engines/envs.py).

Every fixture, the adversarial one included, plus a few schedules chosen for DST and
interval mapping, is compiled into a project whose runner command is a recorder
(tests/engines/runners/recorder.py). One Airflow process then parses the DAGs with
DagBag, reads every DAG's attributes, lists fire times from the serialized timetable over
2024 (a year with DST changes), and runs dag.test() for scheduled, DST-day and manual
runs. The assertions compare what Airflow reports with what the OML says.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from omlc_airflow.target import AirflowTarget
from omlc.schedule.cron import parse_cron
from omlc.schedule.engine import CronSchedule
from omlc.schedule.targets import MODELS
from omlc.schedule.timetable import Timetable, parse_start, retry_delays
from omlc.targets import metadata_tags
from tests.engines.envs import pytest_engine_python, run_oracle
from tests.engines.project import argv_params, assert_runner_sql, expected_window, read_records, recording_project

pytestmark = pytest.mark.engines

U = timezone.utc
YEAR = (datetime(2024, 1, 1, tzinfo=U), datetime(2025, 1, 1, tzinfo=U))

EXTRA = {
    # a fixed-time job in Prague's DST gap and fold: Airflow's own DST decisions
    "prague_dst": '''schedule: {expression: "30 2 * * *", timezone: Europe/Prague, catchup: true,
  start_date: "2024-01-01", window: {type: sliding, size: 1d}}''',
    "ny_interval_daily": '''schedule: {type: interval, expression: 1d, timezone: America/New_York,
  start_date: "2024-01-01T06:15", window: {type: tumbling, offset: "-1h"}}''',
    "berlin_every_2h": '''schedule: {type: interval, expression: 2h, timezone: Europe/Berlin, start_date: "2024-01-01T01:30",
  window: {type: tumbling}}''',
    "every_7m": '''schedule: {type: interval, expression: 7m, timezone: UTC, start_date: "2024-12-20T00:03",
  window: {type: sliding, size: 7m}}''',
    "e2e_fail": '''schedule: {expression: "0 * * * *", timezone: UTC, window: {type: sliding, size: 1h}}''',
}
STEPS_GRAPH = '''oml_version: "0.2.0"
name: steps_graph
schedule: {expression: "0 3 * * *", timezone: UTC, retry: {attempts: 2, delay: 60}}
steps:
  - {id: a, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", query: "SELECT 1"}}
  - {id: b, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 2"}}
  - {id: c, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 3"}}
  - {id: d, component: supabase.writer, mode: write, needs: [b, c], config: {connection: "@supabase.y", table: t}}
'''


def _iso(moment: datetime) -> str:
    return moment.astimezone(U).isoformat()


# the dag.test() runs: (dag id, logical date or None for a manual run, run_after, env)
RUNS = [
    ("daily_customer_sync", "2024-01-15T02:00:00+00:00", None, {}),  # the seed's preview date
    ("weekly_orders_rollup", "2024-03-11T10:30:00+00:00", None, {}),  # 06:30 EDT, the day after DST starts
    ("weekly_orders_rollup", None, "2024-11-04T13:45:27+00:00", {}),  # manual, no logical date
    ("adversarial.injection-test_01", "2024-03-31T23:15:00+00:00", None, {}),  # 01:15 CEST after the gap
    ("prague_dst", "2024-03-31T01:30:00+00:00", None, {}),  # Airflow's run for the missing 02:30
    ("ny_interval_daily", "2024-11-03T11:15:00+00:00", None, {}),  # the day the clocks go back
    ("e2e_fail", "2024-05-01T10:00:00+00:00", None, {"RECORDER_FAIL": "1"}),
]


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    python = pytest_engine_python("airflow")
    project = recording_project(tmp_path_factory, AirflowTarget(), "dags", EXTRA)
    project.add("steps", {"steps_graph.oml.yaml": STEPS_GRAPH}, granularity="step")
    records = project.root / "records"
    records.mkdir()
    runs = [{"dag_id": dag_id, "logical_date": logical, "run_after": run_after or logical,
             "recorder_out": str(records / f"{i}.jsonl"), "env": env}
            for i, (dag_id, logical, run_after, env) in enumerate(RUNS)]
    answer = run_oracle("airflow", "airflow_dags.py",
                        {"source": str(project.out), "fires": {"start": _iso(YEAR[0]), "end": _iso(YEAR[1])},
                         "runs": runs}, timeout=1200, python=python)
    answer["pipelines"] = project.pipelines()
    answer["records"] = read_records([r["recorder_out"] for r in runs])
    return answer


def test_every_dag_parses_without_errors_or_warnings(airflow):
    assert airflow["airflow"] == "3.3.2"
    assert airflow["import_errors"] == {}
    assert airflow["warnings"] == {}
    assert set(airflow["dags"]) == set(airflow["pipelines"])


def test_dag_attributes_equal_the_oml(airflow):
    from omlc_airflow.target import airflow_schedule

    for dag_id, dag in airflow["dags"].items():
        p = airflow["pipelines"][dag_id]
        s = p.schedule
        md = p.metadata
        if s is None:
            assert dag["timetable"]["class"] == "NullTimetable", dag_id
        else:
            mapped = airflow_schedule(s)
            if mapped.kind == "cron":
                assert dag["timetable"]["class"] == "CronTriggerTimetable"
                # Airflow stores presets expanded (@daily as 0 0 * * *)
                assert parse_cron(dag["timetable"]["expression"]).normalized() == \
                    parse_cron(mapped.expression).normalized(), dag_id
                assert dag["timetable"]["timezone"] == mapped.timezone, dag_id
            else:
                assert dag["timetable"]["class"] == "DeltaTriggerTimetable"
                assert dag["timetable"]["delta"] == mapped.seconds
            assert dag["timezone"] == s.timezone or s.timezone == "UTC" and dag["timezone"] == "UTC"
            assert dag["catchup"] is s.catchup
            assert dag["max_active_runs"] == (s.concurrency or 16)
            assert dag["dagrun_timeout"] == (s.timeout.nominal_seconds if s.timeout else None)
            if s.start_date:
                assert dag["start_date"] == _iso(parse_start(s.start_date, Timetable(s).tz))
        assert dag["description"] == p.description
        assert dag["doc_md"] == (None if md is None or md.description is None else
                                 md.description + ("\n" if md.description.endswith(".md") else ""))
        assert dag["tags"] == sorted(metadata_tags(p))
        owner = md.owner if md and md.owner else "airflow"
        assert dag["owner"] == owner
        delays = retry_delays(s.retry if s else None)
        needs = p.effective_needs()
        for task_id, task in dag["tasks"].items():
            assert task["operator"] == "BashOperator" and task["append_env"] is True
            assert task["owner"] == owner
            assert task["retries"] == len(delays)
            if len(set(delays)) > 1:  # an exact delay list: through the RetryPolicy
                assert task["retry_policy_delays"] == delays, dag_id
                assert task["serialized_has_retry_policy"] is True
            elif delays:
                assert task["retry_delay"] == delays[0] and task["retry_policy_delays"] is None
                assert task["retry_exponential_backoff"] in (0, 1, 1.0, 0.0)
            if dag_id == "steps_graph":
                assert task["upstream"] == sorted(needs[task_id])
        if dag_id != "steps_graph":
            assert list(dag["tasks"]) == ["run_pipeline"]
        else:
            assert set(dag["tasks"]) == {s.id for s in p.steps}


def _model_fires(p) -> list[str]:
    from omlc_airflow.target import airflow_schedule

    s = p.schedule
    t = Timetable(s)
    mapped = airflow_schedule(s)
    start = max(YEAR[0], t.start) if t.start else YEAR[0]
    out = []
    if mapped.kind == "cron":
        for fire in CronSchedule(mapped.expression, mapped.timezone, MODELS["airflow"].policy).iter_after(
                start - timedelta(microseconds=1)):
            if fire > YEAR[1]:
                break
            out.append(_iso(fire))
    else:
        fire = t.start
        while fire <= YEAR[1]:
            if fire >= YEAR[0]:
                out.append(_iso(fire))
            fire += timedelta(seconds=mapped.seconds)
    return out


def test_fire_times_from_airflow_equal_the_airflow_model(airflow):
    checked = 0
    for dag_id, dag in airflow["dags"].items():
        p = airflow["pipelines"][dag_id]
        if p.schedule is None:
            continue
        assert dag["fires"] == _model_fires(p), dag_id
        checked += len(dag["fires"])
    assert checked > 40000


def test_interval_schedules_keep_the_oml_grid_where_a_cron_expression_exists(airflow):
    for dag_id in ("graphql_issue_tracker", "berlin_every_2h", "ny_interval_daily"):
        p = airflow["pipelines"][dag_id]
        t = Timetable(p.schedule)
        oml = [_iso(x) for x in t.fires.between(max(YEAR[0], t.start) - timedelta(microseconds=1), YEAR[1])]
        fires = airflow["dags"][dag_id]["fires"]
        if dag_id == "ny_interval_daily":  # a daily wall time: OML and Airflow differ only at DST changes
            assert len(set(fires) ^ set(oml)) <= 4
        else:
            assert fires == oml, dag_id


def test_end_to_end_runs_record_the_previewed_window_and_sql(airflow):
    for (dag_id, logical, run_after, env), run, records in zip(RUNS, airflow["runs"], airflow["records"]):
        assert "error" not in run, run
        p = airflow["pipelines"][dag_id]
        if env.get("RECORDER_FAIL"):
            assert run["state"] == "failed" and set(run["tasks"].values()) == {"failed"}, run
            assert len(records) == 1
            continue
        assert run["state"] == "success", (dag_id, run)
        (record,) = records
        fire = datetime.fromisoformat(logical or run_after)
        start, end = expected_window(p, fire)
        assert (record["env"]["OMLC_WINDOW_START"], record["env"]["OMLC_WINDOW_END"]) == (start, end), dag_id
        assert argv_params(record["argv"]) == {"window_start": start, "window_end": end}
        assert record["env"]["OMLC_FIRE_TIME"] == fire.astimezone(Timetable(p.schedule).tz).isoformat()
        assert record["env"]["OMLC_PIPELINE"] == p.name
        assert record["argv"][record["argv"].index("--fire") + 1] == record["env"]["OMLC_FIRE_TIME"]
        assert record["env"]["OMLC_RUN_ID"] and record["argv"][record["argv"].index("--run") + 1]
        assert "odd {{ name }} 'dir' $(id)" in record["env"]["OMLC_OML_PATH"]
        assert_runner_sql(record, p, start, end)


def test_the_adversarial_strings_reach_airflow_and_the_runner_unchanged(airflow):
    p = airflow["pipelines"]["adversarial.injection-test_01"]
    dag = airflow["dags"]["adversarial.injection-test_01"]
    assert dag["description"] == p.description and dag["owner"] == p.metadata.owner
    index = [r[0] for r in RUNS].index("adversarial.injection-test_01")
    (record,) = airflow["records"][index]
    query = p.steps[0].config["query"]
    assert "{{ ds }}" in record["oml"] and "{% if true %}" in record["oml"]
    assert len(query) > 60000 and "ünïcödé ✓ 399" in record["oml"]
    assert "{{ x }}$(id)" in record["env"]["OMLC_WINDOW_START"]  # the window format, rendered, not evaluated
