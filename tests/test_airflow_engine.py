"""The Airflow target against real Airflow 3.3 (its own cached venv, see tests/engines/envs.py).

Every fixture, the adversarial one included, plus a few schedules chosen for DST and
interval mapping, and pipelines setting every metadata field (data tests that pass and
fail, notifications on every channel, SLA, lineage; strings made to break escaping), is
compiled into a project whose runner and check commands are a recorder
(tests/engines/runners/recorder.py). One Airflow process then parses the DAGs with
DagBag, reads every DAG's attributes (notifiers, deadlines, assets), lists fire times from
the serialized timetable over 2024 (a year with DST changes), runs dag.test() for
scheduled, DST-day and manual runs and the metadata pipelines, then runs the DAG and
deadline callbacks of those runs the way Airflow's DAG processor and triggerer do, against
a local SMTP server and a local HTTP server standing in for Slack and PagerDuty. The
assertions compare what Airflow reports and what the servers receive with what the OML says.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import json

from omlc.lineage import asset_uri
from omlc.metadata import SEVERITY, metadata_facts
from omlc_airflow.target import AirflowTarget
from omlc.schedule.cron import parse_cron
from omlc.schedule.engine import CronSchedule
from omlc.schedule.targets import MODELS
from omlc.schedule.timetable import Timetable, parse_start, retry_delays
from omlc.targets import metadata_tags
from tests.engines.envs import pytest_engine_python, run_oracle
from tests.engines.project import (CHECK_COMMAND, COMMAND, RUNNER, argv_params, assert_runner_sql, expected_window,
                                   read_check_records, read_records, recording_project, runner_config)
from tests.servers import http_server, smtp_server

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


# Pipelines setting every metadata field. meta_fail: a check script that exits 1 fails the
# run (retries 0: no real retry delay); its on_failure goes to every channel, its on_sla_breach
# too. meta_pass (step granularity): checks after both leaf steps, all passing; on_success.
# meta_strings: text made to break escaping in every templated notifier field and asset URI.
CUSTOM = {
    "pass.py": "import json, os, sys\n"
               "with open(os.environ['RECORDER_OUT'] + '.custom', 'a') as f:\n"
               "    f.write(json.dumps({'argv': sys.argv[1:], 'env': {k: v for k, v in os.environ.items() "
               "if k.startswith('OMLC_')}}) + '\\n')\n",
    "fail.py": "import sys\nsys.exit('the data is wrong')\n",
}
CUSTOM["chk {x} $(id).py"] = CUSTOM["pass.py"]
META_SCHEDULE = 'schedule: {expression: "0 * * * *", timezone: UTC, window: {type: sliding, size: 1h}}'
META_FAIL = META_SCHEDULE + '''
metadata:
  sla: 30m
  criticality: critical
  tests:
    - {type: custom, script: pass.py, args: ["a b"]}
    - {type: row_count, min: 1}
    - {type: custom, script: fail.py}
  lineage:
    upstream: ["table: mysql.orders", "pipeline: order_processing"]
    downstream: ["dashboard: sales"]
  notifications:
    on_failure: [{email: oncall@company.com}, {slack: "#data-alerts"}, {pagerduty: warehouse}]
    on_success: [{email: team@company.com}]
    on_sla_breach: [{pagerduty: warehouse}, {email: sla@company.com}, {slack: "#sla"}]
steps:
  - {id: extract, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", query: "SELECT 1"}}
'''
META_PASS = META_SCHEDULE + '''
metadata:
  sla: 45m
  tests: [{type: custom, script: pass.py}, {type: freshness, max_age: 2h, field: ts}]
  lineage: {upstream: ["table: a.raw"], downstream: ["table: a.clean", "file: exports/a b.csv"]}
  notifications: {on_success: [{email: team@company.com}, {slack: "#done"}]}
steps:
  - {id: a, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", query: "SELECT 1"}}
  - {id: b, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 2"}}
  - {id: c, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 3"}}
'''
META_STRINGS = META_SCHEDULE + '''
metadata:
  sla: 1h
  tests:
    - {type: schema, expected: "{{ ds }} {% if true %}x{% endif %} $(id) 'q'"}
    - {type: custom, script: "chk {x} $(id).py", args: ["{{ a }}", "$HOME", "b.sh"]}
  lineage:
    upstream: ["table: café {{ x }}", "file: exports/web events/", "api: LONG"]
  notifications:
    on_failure: [{email: "a{b}c@x.com"}, {slack: C0123ABCDE}]
    on_sla_breach: [{slack: "#x"}]
steps:
  - {id: extract, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", query: "SELECT 1"}}
'''.replace("LONG", "{{ y }}" + "n" * 600)
# one connection per PagerDuty service and per Slack channel (each channel's webhook)
META_PROJECT = {"notifications": {"pagerduty": {"connection": "pd_{service}"}, "slack": {"connection": "slack_{channel}"}}}
SLACK_CHANNELS = ("data-alerts", "sla", "done", "C0123ABCDE", "x")
CONNECTIONS = {"AIRFLOW_CONN_PD_WAREHOUSE": {"conn_type": "pagerduty_events", "password": "routing-key-warehouse"}}


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
    ("meta_fail", "2024-05-01T10:00:00+00:00", None, {}),
    ("meta_pass", "2024-05-01T11:00:00+00:00", None, {}),
    ("meta_strings", "2024-05-01T12:00:00+00:00", None, {}),
]
META_RUNS = [i for i, run in enumerate(RUNS) if run[0].startswith("meta_")]


def _metadata_folder(project, folder: str, pipelines: dict[str, str], granularity: str) -> None:
    """The metadata pipelines in their own folder: the custom test scripts beside them, and
    a project file whose PagerDuty connection is one per service."""
    import yaml

    where = project.root / folder
    where.mkdir()
    for name, text in CUSTOM.items():
        (where / name).write_text(text, encoding="utf-8")
    config = runner_config(COMMAND, RUNNER + " {oml_path} --step {step_id}", CHECK_COMMAND)
    (where / "omlc.yaml").write_text(config + yaml.safe_dump(META_PROJECT), encoding="utf-8")
    project.add(folder, {f"{name}.oml.yaml": f'oml_version: "0.2.0"\nname: {name}\n{text}'
                         for name, text in pipelines.items()}, granularity=granularity)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    python = pytest_engine_python("airflow")
    project = recording_project(tmp_path_factory, AirflowTarget(), "dags", EXTRA)
    project.add("steps", {"steps_graph.oml.yaml": STEPS_GRAPH}, granularity="step")
    _metadata_folder(project, "metadata", {"meta_fail": META_FAIL, "meta_strings": META_STRINGS}, "pipeline")
    _metadata_folder(project, "metadata_steps", {"meta_pass": META_PASS}, "step")
    records = project.root / "records"
    records.mkdir()
    runs = [{"dag_id": dag_id, "logical_date": logical, "run_after": run_after or logical,
             "recorder_out": str(records / f"{i}.jsonl"), "env": env}
            for i, (dag_id, logical, run_after, env) in enumerate(RUNS)]
    with smtp_server() as (smtp, mails), http_server() as (url, posts):
        host, port = smtp.split(":")
        connections = {
            "AIRFLOW_CONN_SMTP_DEFAULT": {"conn_type": "smtp", "host": host, "port": int(port), "extra": {
                "from_email": "airflow@example.com", "disable_ssl": True, "disable_tls": True}},
            **{f"AIRFLOW_CONN_SLACK_{c.upper()}": {"conn_type": "slackwebhook", "host": url + "/slack",
                                                   "password": f"hook/{c}"} for c in SLACK_CHANNELS},
            **CONNECTIONS,
        }
        answer = run_oracle("airflow", "airflow_dags.py",
                            {"source": str(project.out), "fires": {"start": _iso(YEAR[0]), "end": _iso(YEAR[1])},
                             "runs": runs, "clear_deadlines": True, "pagerduty_url": url,
                             "environ": {k: json.dumps(v) for k, v in connections.items()},
                             "callbacks": META_RUNS}, timeout=1200, python=python)
        answer["mails"] = [{"to": m["X-Rcpt-To"], "from": m["From"], "subject": m["Subject"],
                            "body": _text(m)} for m in mails]
        answer["posts"] = list(posts)
    answer["pipelines"] = project.pipelines()
    answer["records"] = read_records([r["recorder_out"] for r in runs])
    answer["check_records"] = read_check_records([r["recorder_out"] for r in runs])
    answer["custom_records"] = read_records([r["recorder_out"] + ".custom" for r in runs])
    return answer


def _text(message) -> str:
    """The text of an email, every part decoded."""
    return "".join(part.get_payload(decode=True).decode("utf-8", "replace") for part in message.walk()
                   if not part.is_multipart())


def _checks(dag: dict) -> dict[str, dict]:
    """The check tasks of a DAG (those with a data test's spec)."""
    return {task_id: t for task_id, t in dag["tasks"].items() if "OMLC_TEST_SPEC" in (t["env"] or {})}


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
        checks = _checks(dag)
        for task_id, task in dag["tasks"].items():
            if task_id in checks:
                assert task["operator"] == "BashOperator" and task["append_env"] is True
                assert task["retries"] == 0, (dag_id, task_id)  # a data verdict is not retried
                continue
            assert task["operator"] == "BashOperator" and task["append_env"] is True
            assert task["owner"] == owner
            assert task["retries"] == len(delays)
            if len(set(delays)) > 1:  # an exact delay list: through the RetryPolicy
                assert task["retry_policy_delays"] == delays, dag_id
                assert task["serialized_has_retry_policy"] is True
            elif delays:
                assert task["retry_delay"] == delays[0] and task["retry_policy_delays"] is None
                assert task["retry_exponential_backoff"] in (0, 1, 1.0, 0.0)
            if dag_id in ("steps_graph", "meta_pass"):
                assert task["upstream"] == sorted(needs[task_id])
        assert len(checks) == len(md.tests if md else [])
        if dag_id not in ("steps_graph", "meta_pass"):
            assert [t for t in dag["tasks"] if t not in checks] == ["run_pipeline"]
        else:
            assert set(dag["tasks"]) - set(checks) == {s.id for s in p.steps}


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
        if dag_id.startswith("meta_"):
            continue  # test_data_checks_run_after_the_pipeline_and_decide_the_run
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


# -- metadata: data tests, notifications, SLA, lineage -------------------------------------

def _run(airflow, dag_id: str) -> tuple[dict, list, list, list]:
    index = [r[0] for r in RUNS].index(dag_id)
    return (airflow["runs"][index], airflow["records"][index], airflow["check_records"][index],
            airflow["custom_records"][index])


def test_data_checks_run_after_the_pipeline_and_decide_the_run(airflow):
    # the seed: its row_count, schema and freshness checks ran the check command (the
    # recorder) with the run's window; its custom script passed; the run succeeded
    run, (record,), checks, _ = _run(airflow, "daily_customer_sync")
    assert run["state"] == "success" and set(run["tasks"].values()) == {"success"}, run
    assert sorted(c["env"]["OMLC_TEST_INDEX"] for c in checks) == ["1", "2", "3"]
    for c in checks:
        assert c["argv"][c["argv"].index("--check") + 1] == c["env"]["OMLC_TEST_INDEX"]
        for key in ("OMLC_WINDOW_START", "OMLC_WINDOW_END", "OMLC_FIRE_TIME", "OMLC_RUN_ID", "OMLC_PIPELINE"):
            assert c["env"][key] == record["env"][key], key
        spec = json.loads(c["env"]["OMLC_TEST_SPEC"])
        assert spec == metadata_facts(airflow["pipelines"]["daily_customer_sync"])["metadata.tests"][
            int(c["env"]["OMLC_TEST_INDEX"]) - 1]
    # a custom script that exits 1 fails its task and the DAG run; the other checks pass
    run, (record,), checks, (custom,) = _run(airflow, "meta_fail")
    assert run["state"] == "failed", run
    assert run["tasks"] == {"run_pipeline": "success", "check_1_custom": "success", "check_row_count": "success",
                            "check_3_custom": "failed"}, run
    assert custom["argv"] == ["a b"] and custom["env"]["OMLC_TEST_INDEX"] == "1"
    assert custom["env"]["OMLC_TEST_SCRIPT"].endswith("/metadata/pass.py")
    assert (custom["env"]["OMLC_WINDOW_START"], custom["env"]["OMLC_WINDOW_END"]) == \
        expected_window(airflow["pipelines"]["meta_fail"], datetime.fromisoformat(RUNS[META_RUNS[0]][1]))
    # step granularity: the checks wait for both leaf steps, and all pass
    run, records, checks, (custom,) = _run(airflow, "meta_pass")
    assert run["state"] == "success" and set(run["tasks"].values()) == {"success"}, run
    assert len(records) == 3 and len(checks) == 1 and custom["env"]["OMLC_TEST_TYPE"] == "custom"
    for check in _checks(airflow["dags"]["meta_pass"]).values():
        assert check["upstream"] == ["b", "c"]
    # strings that would break the shell or Jinja reach the script as written
    run, _, _, (custom,) = _run(airflow, "meta_strings")
    assert run["state"] == "success", run
    assert custom["argv"] == ["{{ a }}", "$HOME", "b.sh"]
    assert custom["env"]["OMLC_TEST_SCRIPT"].endswith("/metadata/chk {x} $(id).py")
    assert json.loads(custom["env"]["OMLC_TEST_SPEC"])["script"] == "chk {x} $(id).py"
    schema = _checks(airflow["dags"]["meta_strings"])["check_schema"]["env"]["OMLC_TEST_SPEC"]
    assert "{{ '{' }}" in schema  # escaped in the DAG; rendered by Airflow to the OML's text (below)


def _targets(notifiers: list[dict]) -> list[list[str]]:
    """[channel, target] of each notifier, from the fields Airflow renders."""
    out = []
    for n in notifiers:
        fields = n["rendered"]
        if n["class"] == "SmtpNotifier":
            out.append(["email", fields["to"]])
        elif n["class"] == "SlackWebhookNotifier":
            out.append(["slack", next(line[len("channel: "):] for line in fields["text"].splitlines()
                                      if line.startswith("channel: "))])
        else:
            out.append(["pagerduty", fields["component"]])
    return out


def test_notifier_callbacks_and_deadlines_are_attached_with_the_oml_recipients(airflow):
    checked = 0
    for dag_id, dag in airflow["dags"].items():
        p = airflow["pipelines"][dag_id]
        want = metadata_facts(p)
        assert _targets(dag["on_failure_callback"]) == want["metadata.notifications.on_failure"], dag_id
        assert _targets(dag["on_success_callback"]) == want["metadata.notifications.on_success"], dag_id
        deadlines = dag["deadlines"]
        if want["metadata.sla"] is None:
            assert deadlines == [] and not dag["serialized_deadline"], dag_id
            continue
        checked += 1
        assert dag["serialized_deadline"], dag_id  # the scheduler gets it
        assert {d["reference"] for d in deadlines} == {"DagRunLogicalDateDeadline"}
        assert {d["interval"] for d in deadlines} == {want["metadata.sla"]}
        assert {d["callback_type"] for d in deadlines} == {"AsyncCallback"}
        notified = [d["notifier"] for d in deadlines if "notifier" in d]
        assert _targets(notified) == want["metadata.notifications.on_sla_breach"], dag_id
        if not notified:  # nobody to tell: the miss is still recorded
            assert [d["path"] for d in deadlines] == ["asyncio.tasks.sleep"]
        for n in dag["on_failure_callback"] + dag["on_success_callback"] + notified:
            if n["class"] == "PagerdutyNotifier":
                assert n["rendered"]["severity"] == SEVERITY[p.metadata.criticality]
                assert n["rendered"]["group"] == p.name
    assert checked >= 4
    fail = airflow["dags"]["meta_fail"]
    assert fail["on_failure_callback"][2]["rendered"]["pagerduty_events_conn_id"] == "pd_warehouse"
    assert fail["on_failure_callback"][1]["rendered"]["slack_webhook_conn_id"] == "slack_data-alerts"
    assert fail["on_failure_callback"][0]["rendered"]["smtp_conn_id"] == "smtp_default"
    assert fail["on_failure_callback"][0]["rendered"]["html_content"].count("RUN_ID") == 1
    # text from OML reaches Airflow's rendering unchanged
    strings = airflow["dags"]["meta_strings"]
    assert strings["on_failure_callback"][0]["rendered"]["to"] == "a{b}c@x.com"
    assert strings["on_failure_callback"][0]["fields"]["to"] != "a{b}c@x.com"  # escaped in the DAG


def test_a_failed_run_notifies_every_channel_and_a_missed_deadline_pages(airflow):
    callbacks = {c.get("dag_id"): c for c in airflow["callbacks"]}
    assert all("error" not in c for c in airflow["callbacks"]), airflow["callbacks"]
    mails, posts = airflow["mails"], airflow["posts"]
    # meta_fail: on_failure to the SMTP server, the Slack webhook and PagerDuty's Events API
    failed = [m for m in mails if m["subject"] == "[omlc] pipeline meta_fail failed"]
    assert [m["to"] for m in failed] == ["oncall@company.com"], mails
    assert failed[0]["from"] == "airflow@example.com" and "reason: task_failure" in failed[0]["body"]
    assert "run_id: manual__" in failed[0]["body"]
    slack = [p for p in posts if p["path"].startswith("/slack/hook/")]
    texts = [p["json"]["text"] for p in slack]
    for post in slack:  # each channel's message went to that channel's webhook
        channel = next(ln for ln in post["json"]["text"].splitlines() if ln.startswith("channel: "))[9:]
        assert post["path"] == "/slack/hook/" + channel.lstrip("#"), (post["path"], channel)
    assert any(t.startswith("[omlc] pipeline meta_fail failed\nchannel: #data-alerts\nrun_id: manual__")
               for t in texts), texts
    pages = [p["json"] for p in posts if p["path"] == "/v2/enqueue"]
    failure = next(p for p in pages if p["payload"]["summary"] == "[omlc] pipeline meta_fail failed")
    assert failure["routing_key"] == "routing-key-warehouse" and failure["event_action"] == "trigger"
    assert failure["payload"]["severity"] == "critical" and failure["payload"]["component"] == "warehouse"
    assert failure["payload"]["group"] == "meta_fail" and failure["payload"]["source"] == "omlc/meta_fail"
    assert failure["dedup_key"].startswith("omlc/meta_fail/manual__") and failure["dedup_key"].endswith("/on_failure")
    # its deadline callbacks, as the triggerer runs them: PagerDuty, email and Slack
    events = callbacks["meta_fail"]["deadline_events"]
    assert [e[-1]["state"] for e in events] == ["success"] * 3, events
    breach = next(p for p in pages if p["payload"]["summary"] == "[omlc] pipeline meta_fail missed its SLA")
    assert breach["payload"]["custom_details"]["sla"] == "30m"
    assert breach["payload"]["custom_details"]["run_id"].startswith("manual__")
    assert breach["dedup_key"].endswith("/on_sla_breach") and breach["routing_key"] == "routing-key-warehouse"
    assert [m["to"] for m in mails if m["subject"] == "[omlc] pipeline meta_fail missed its SLA"] == \
        ["sla@company.com"]
    assert any(t.startswith("[omlc] pipeline meta_fail missed its SLA\nchannel: #sla") for t in texts), texts
    # meta_pass succeeded: on_success by email and Slack; its silent deadline callback runs too
    done = [m for m in mails if m["subject"] == "[omlc] pipeline meta_pass succeeded"]
    assert [m["to"] for m in done] == ["team@company.com"] and "reason: success" in done[0]["body"]
    assert any(t.startswith("[omlc] pipeline meta_pass succeeded\nchannel: #done") for t in texts), texts
    assert [e[-1]["state"] for e in callbacks["meta_pass"]["deadline_events"]] == ["success"]
    # meta_strings succeeded (no on_success); its deadline posts to Slack
    assert [e[-1]["state"] for e in callbacks["meta_strings"]["deadline_events"]] == ["success"]
    assert any(t.startswith("[omlc] pipeline meta_strings missed its SLA\nchannel: #x") for t in texts), texts


def test_lineage_assets_are_inlets_and_outlets_of_the_tasks(airflow):
    for dag_id, dag in airflow["dags"].items():
        p = airflow["pipelines"][dag_id]
        want = metadata_facts(p)
        ups = [asset_uri(k, n) for k, n in want["metadata.lineage.upstream"]]
        downs = [asset_uri(k, n) for k, n in want["metadata.lineage.downstream"]] + [asset_uri("pipeline", p.name)]
        tasks = {t: x for t, x in dag["tasks"].items() if t not in _checks(dag)}
        needs = p.effective_needs() if dag_id in ("steps_graph", "meta_pass") else {"run_pipeline": []}
        needed = {u for ups_ in needs.values() for u in ups_}
        for task_id, task in tasks.items():
            assert task["inlets"] == (ups if not needs[task_id] else []), (dag_id, task_id)
            assert task["outlets"] == (downs if task_id not in needed else []), (dag_id, task_id)
        for check in _checks(dag).values():
            assert check["inlets"] == check["outlets"] == []
    assert airflow["dags"]["meta_pass"]["tasks"]["b"]["outlets"][1] == "omlc://file/exports/a~20b.csv"
    strings = airflow["dags"]["meta_strings"]["tasks"]["run_pipeline"]
    assert strings["inlets"][0] == "omlc://table/caf~C3~A9~20~7B~7B~20x~20~7D~7D"
    assert strings["inlets"][2].endswith(asset_uri("api", "{{ y }}" + "n" * 600)[-18:])  # too long: hashed
    assert strings["inlet_extra"][2] == {"omlc_ref": "api: {{ y }}" + "n" * 600}  # so the DAG says what it names
