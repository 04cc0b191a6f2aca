"""The Prefect target against real Prefect 3.9 (its own cached venv, see tests/engines/envs.py).

Every fixture, the adversarial one included, plus a few schedules chosen for DST, catchup,
start_date and interval mapping, is compiled into a project whose runner command is a
recorder (tests/engines/runners/recorder.py). One Prefect process (one temporary server,
started once) then imports every generated module with warnings recorded, reads each
flow, task and deployment, lists fire times from the server's own schedule code over 2024
(a year with DST changes), and runs flows: for runs the Prefect server scheduled itself
(POST /deployments/{id}/schedule, then prefect.flow_engine.run_flow on that flow run) and
for manual runs with and without the fire_time parameter. The assertions compare what
Prefect reports and what the recorder saw with the OML.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from omlc.schedule.engine import CronSchedule
from omlc.schedule.targets import MODELS
from omlc.schedule.timetable import Timetable, retry_delays
from omlc.targets import metadata_tags
from omlc_prefect.target import PrefectTarget, prefect_schedule
from tests.engines.envs import pytest_engine_python, run_oracle
from omlc.lineage import asset_uri
from tests.engines.project import (
    CHECK_COMMAND, COMMAND, RUNNER, argv_params, assert_runner_sql, expected_window, read_check_records, read_records,
    recording_project, runner_config,
)
from tests.servers import http_server, smtp_server

pytestmark = pytest.mark.engines

U = timezone.utc
YEAR = (datetime(2024, 1, 1, tzinfo=U), datetime(2025, 1, 1, tzinfo=U))

EXTRA = {
    # a fixed-time job in Prague's DST gap and fold: Prefect's own DST decisions
    "prague_dst": '''schedule: {expression: "30 2 * * *", timezone: Europe/Prague, catchup: true,
  start_date: "2024-01-01", window: {type: sliding, size: 1d}}''',
    "prague_hourly": '''schedule: {expression: "15 * * * *", timezone: Europe/Prague, catchup: true,
  window: {type: tumbling}}''',
    "ny_interval_daily": '''schedule: {type: interval, expression: 1d, timezone: America/New_York, catchup: true,
  start_date: "2024-01-01T06:15", window: {type: tumbling, offset: "-1h"}}''',
    "berlin_every_2h": '''schedule: {type: interval, expression: 2h, timezone: Europe/Berlin, start_date: "2024-01-01T01:30",
  window: {type: tumbling}}''',
    "every_7m": '''schedule: {type: interval, expression: 7m, timezone: UTC, start_date: "2024-12-20T00:03",
  window: {type: sliding, size: 7m}}''',
    "every_minute": '''schedule: {expression: "* * * * *", timezone: UTC, window: {type: sliding, size: 5m}}''',
    "future_start": '''schedule: {expression: "* * * * *", timezone: UTC, start_date: "2099-01-01",
  window: {type: sliding, size: 5m}}''',
}
NO_FIRES = ("every_minute", "future_start")  # 527040 fire times a year each: the e2e runs only
STEPS_GRAPH = '''oml_version: "0.2.0"
name: steps_graph
schedule: {expression: "0 3 * * *", timezone: UTC, retry: {attempts: 2, delay: 60}}
steps:
  - {id: a, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", query: "SELECT 1"}}
  - {id: b, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 2"}}
  - {id: c, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 3"}}
  - {id: d, component: supabase.writer, mode: write, needs: [b, c], config: {connection: "@supabase.y", table: t}}
'''
STEPS_FAIL = STEPS_GRAPH.replace("name: steps_graph", "name: steps_fail").replace(
    ", retry: {attempts: 2, delay: 60}", "")
# a failing runner: 3 retries with the linear OML delays 1, 2, 3 s (not a Prefect backoff);
# its own project file stamps each attempt's start time
E2E_FAIL = '''oml_version: "0.2.0"
name: e2e_fail
schedule: {expression: "0 * * * *", timezone: UTC, retry: {attempts: 3, delay: 1, backoff: linear},
  window: {type: sliding, size: 1h}}
steps:
  - {id: extract, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", query: "SELECT 1"}}
'''

# a runner that outlasts the run's timeout: stopped at the deadline, and not retried after it
SLOW = '''oml_version: "0.2.0"
name: e2e_slow
schedule: {expression: "0 * * * *", timezone: UTC, timeout: 3s, retry: {attempts: 2, delay: 1}}
steps:
  - {id: extract, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", query: "SELECT 1"}}
'''


# metadata: data checks run the recorder too (it writes them to <recorder_out>.checks); in the
# meta folder a schema test fails, the others pass
META_CHECK = CHECK_COMMAND + " && test {test_type} != schema"
CUSTOM_CHECK = (  # a custom test's script: records what it got, passes
    "import json, os, sys\n"
    "with open(os.environ['RECORDER_OUT'] + '.checks', 'a', encoding='utf-8') as out:\n"
    "    env = {k: v for k, v in os.environ.items() if k.startswith('OMLC_')}\n"
    "    out.write(json.dumps({'argv': sys.argv[1:], 'env': env}) + '\\n')\n")
META_STEP = ('steps:\n  - {id: extract, component: mysql.extractor, mode: read, config: {connection: "@mysql.x", '
             'query: "SELECT 1"}}\n')
META_HEAD = 'oml_version: "0.2.0"\nname: {name}\nschedule: {{expression: "0 3 * * *", timezone: UTC{window}}}\n'
WINDOW = ", window: {type: sliding, size: 1h}"
META = {
    # a failing data check (schema): the run fails, on_failure goes to every channel
    "meta_fail": META_HEAD.format(name="meta_fail", window=WINDOW) + """metadata:
  criticality: critical
  tests:
    - {type: row_count, min: 1}
    - {type: schema, expected: v9}
    - {type: custom, script: checks/window_ok.py, args: ["--from", "custom"]}
  lineage: {upstream: ["table: mysql.orders"], downstream: ["table: warehouse.failed"]}
  notifications:
    on_failure: [{email: oncall@example.com}, {slack: "#meta-fail"}, {pagerduty: data-platform}]
    on_success: [{email: success@example.com}]
""" + META_STEP,
    # passing checks: the run succeeds, on_success sends, the lineage reaches Prefect's asset graph
    "meta_pass": META_HEAD.format(name="meta_pass", window=WINDOW) + """metadata:
  criticality: low
  tests:
    - {type: row_count, min: 1}
    - {type: custom, script: checks/window_ok.py, args: ["--from", "custom"]}
  lineage:
    upstream: ["table: mysql.orders", "pipeline: meta_fail"]
    downstream: ["dashboard: meta kpis", "table: warehouse.orders"]
  notifications:
    on_failure: [{email: oncall@example.com}]
    on_success: [{email: success@example.com}, {slack: "#meta-ok"}]
""" + META_STEP,
    # an SLA the run meets: its watchdog is cancelled (the oracle waits past the deadline)
    "meta_sla_fast": META_HEAD.format(name="meta_sla_fast", window="") + """metadata:
  sla: 5s
  notifications: {on_sla_breach: [{slack: "#meta-fast"}]}
""" + META_STEP,
}
# an SLA the run misses: its runner sleeps 3 s, the SLA is 1 s
META_SLOW = META_HEAD.format(name="meta_sla_slow", window="") + """metadata:
  sla: 1s
  criticality: medium
  notifications: {on_sla_breach: [{pagerduty: data-platform}, {slack: "#meta-late"}]}
""" + META_STEP
NOTIFIED = ("meta_sla_fast", "meta_fail", "meta_pass", "meta_sla_slow")  # runs with the local servers' env
ROUTING_KEY = "pd-routing-key-123"


def _iso(moment: datetime) -> str:
    return moment.astimezone(U).isoformat()


# the runs: (module, what) where what is {"schedule": ...} (the server schedules it) or
# {"parameters": ...} (a manual run); env for the recorder
RUNS = [
    # the fire time of the current minute, scheduled by the server: due, not missed, runs
    ("every_minute", {"schedule": {"start_time": "minute", "max_runs": 1}}, {}),
    # a fire time of 2024, scheduled by the server now: missed, catchup off -> skipped
    ("daily_customer_sync", {"schedule": {"start_time": "2024-01-14T12:00:00+00:00",
                                          "end_time": "2024-01-16T00:00:00+00:00", "max_runs": 1}}, {}),
    # catchup on: Prefect's runs for the DST gap and fold days run (late)
    ("prague_dst", {"schedule": {"start_time": "2024-03-30T12:00:00+00:00",
                                 "end_time": "2024-03-31T12:00:00+00:00", "max_runs": 1}}, {}),
    ("prague_dst", {"schedule": {"start_time": "2024-10-26T12:00:00+00:00",
                                 "end_time": "2024-10-27T12:00:00+00:00", "max_runs": 1}}, {}),
    ("ny_interval_daily", {"schedule": {"start_time": "2024-11-03T00:00:00+00:00",
                                        "end_time": "2024-11-04T00:00:00+00:00", "max_runs": 1}}, {}),
    # scheduled before start_date: skipped
    ("future_start", {"schedule": {"start_time": "minute", "max_runs": 1}}, {}),
    # manual runs: fire_time with an offset, as a wall time, and none (the run's own time)
    ("adversarial.injection-test_01", {"parameters": {"fire_time": "2024-03-31T23:15:00+00:00"}}, {}),
    ("weekly_orders_rollup", {"parameters": {"fire_time": "2024-03-11T06:30"}}, {}),
    ("weekly_orders_rollup", {"parameters": {}}, {}),
    ("steps_graph", {"parameters": {"fire_time": "2024-05-01T03:00:00Z"}}, {}),
    ("e2e_fail", {"parameters": {"fire_time": "2024-05-01T10:00:00+00:00"}}, {"RECORDER_FAIL": "1"}),
    ("e2e_slow", {"parameters": {}}, {}),
    ("steps_fail", {"parameters": {}}, {"RECORDER_FAIL": "1"}),
    # metadata (13-16): the SLA met first, then 6 s for its watchdog to (not) fire
    ("meta_sla_fast", {"parameters": {}, "sleep_after": 6}, {}),
    ("meta_fail", {"parameters": {"fire_time": "2024-05-01T10:00:00+00:00"}}, {}),
    ("meta_pass", {"parameters": {"fire_time": "2024-05-01T10:00:00+00:00"}}, {}),
    ("meta_sla_slow", {"parameters": {}}, {}),
]


@pytest.fixture(scope="module")
def prefect(tmp_path_factory):
    python = pytest_engine_python("prefect")
    project = recording_project(tmp_path_factory, PrefectTarget(), "flows", EXTRA)
    meta = project.root / "meta"
    (meta / "checks").mkdir(parents=True)
    (meta / "checks" / "window_ok.py").write_text(CUSTOM_CHECK, encoding="utf-8")
    (meta / "omlc.yaml").write_text(runner_config(COMMAND, check_command=META_CHECK), encoding="utf-8")
    project.add("meta", {f"{name}.oml.yaml": text for name, text in META.items()})
    project.add("meta_slow", {"meta_sla_slow.oml.yaml": META_SLOW}, command="sleep 3")
    project.add("steps", {"steps_graph.oml.yaml": STEPS_GRAPH, "steps_fail.oml.yaml": STEPS_FAIL},
                granularity="step")
    stamp = f'{sys.executable} -c "import time; print(time.time())" >> "$RECORDER_TIMES"; '
    project.add("failing", {"e2e_fail.oml.yaml": E2E_FAIL}, command=stamp + RUNNER + " {oml_path}")
    project.add("slow", {"e2e_slow.oml.yaml": SLOW}, command='echo start >> "$RECORDER_TIMES".slow; sleep 60')
    records = project.root / "records"
    records.mkdir()
    times = records / "times.txt"
    with smtp_server() as (smtp, mails), http_server() as (base, posts):
        servers = {"OMLC_SMTP_HOST": smtp, "OMLC_SLACK_WEBHOOK_URL": base + "/slack/hook",
                   "OMLC_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "OMLC_PAGERDUTY_EVENTS_URL": base + "/v2/enqueue"}
        runs = []
        for i, (name, what, env) in enumerate(RUNS):
            runs.append({"module": f"{name}.py", "recorder_out": str(records / f"{i}.jsonl"),
                         "env": dict(env, RECORDER_TIMES=str(times), **(servers if name in NOTIFIED else {})),
                         **what})
        answer = run_oracle("prefect", "prefect_flows.py",
                            {"source": str(project.out), "fires": {"start": _iso(YEAR[0]), "end": _iso(YEAR[1])},
                             "skip_fires": [f"{name}.py" for name in NO_FIRES], "runs": runs},
                            timeout=600, python=python)
        # what the servers received: the hooks and the watchdog send before their runs end
        answer["mails"] = [{"to": m["To"], "rcpt": m["X-Rcpt-To"], "subject": m["Subject"],
                            "body": m.get_payload(decode=True).decode("utf-8")} for m in mails]
        answer["posts"] = list(posts)
    answer["pipelines"] = project.pipelines()
    answer["records"] = read_records([r["recorder_out"] for r in runs])
    answer["checks"] = read_check_records([r["recorder_out"] for r in runs])
    answer["times"] = [float(x) for x in times.read_text().split()] if times.exists() else []
    slow = Path(str(times) + ".slow")
    answer["slow_attempts"] = len(slow.read_text().split()) if slow.exists() else 0
    return answer


def test_every_module_imports_without_errors_or_warnings(prefect):
    assert prefect["prefect"] == "3.9.1"
    modules = prefect["modules"]
    assert {m: e.get("error") for m, e in modules.items() if e.get("error")} == {}
    assert {m: e["warnings"] for m, e in modules.items() if e["warnings"]} == {}
    assert set(modules) == {f"{name}.py" for name in prefect["pipelines"]}


def test_deployments_carry_the_oml_schedule_concurrency_and_tags(prefect):
    for name, p in prefect["pipelines"].items():
        module = prefect["modules"][f"{name}.py"]
        flow, dep = module["flow"], module["deployment"]
        s, md = p.schedule, p.metadata
        assert flow["name"] == name and dep["name"] == name
        assert flow["description"] == p.description
        assert flow["parameters"] == ["fire_time"]
        assert dep["entrypoint"].endswith(f"{name}.py:omlc_flow")
        # metadata.description; without one, Prefect itself shows the flow's description
        assert dep["description"] == (md.description if md and md.description is not None else p.description)
        tags = metadata_tags(p) + ([f"owner:{md.owner}"] if md and md.owner else [])
        assert dep["tags"] == list(dict.fromkeys(tags)), name
        assert dep["concurrency_limit"] == (s.concurrency if s else None), name
        assert dep["collision_strategy"] == ("ENQUEUE" if s and s.concurrency else None)
        if s is None:
            assert dep["schedules"] == []
            continue
        mapped = prefect_schedule(s)
        (schedule,) = dep["schedules"]
        if mapped.kind == "cron":
            assert schedule == {"class": "CronSchedule", "cron": mapped.expression, "timezone": mapped.timezone,
                                "day_or": True}, name
        else:
            assert schedule["class"] == "IntervalSchedule" and schedule["interval"] == mapped.seconds
            assert schedule["anchor_date"] == mapped.anchor and schedule["timezone"] == mapped.timezone
        delays = retry_delays(s.retry)
        tasks = module["tasks"]
        stepped = name.startswith("steps_")
        expected = {f"step_{x.id}" for x in p.steps} if stepped else {"run_pipeline"}
        metadata_tasks = {"omlc_lineage_pipeline"} | (  # check tasks are made when the run needs them
            {"omlc_lineage_downstream"} if md and md.lineage and md.lineage.downstream else set())
        assert set(tasks) == (expected | {"omlc_task"} if stepped else expected) | metadata_tasks, name
        for var in expected:
            task = tasks[var]
            assert task["name"] == (var[len("step_"):] if stepped else var)
            assert task["retries"] == len(delays), name
            assert task["retry_delay_seconds"] == (delays or 0), name  # exact OML delays, no jitter
            assert task["retry_jitter_factor"] is None and task["timeout_seconds"] is None
            assert task["no_cache"] is True and task["persist_result"] is False  # a rerun really runs


def _model_fires(p) -> list[str]:
    s = p.schedule
    mapped = prefect_schedule(s)
    out = []
    if mapped.kind == "cron":
        for fire in CronSchedule(mapped.expression, mapped.timezone, MODELS["prefect"].policy).iter_after(
                YEAR[0] - timedelta(microseconds=1)):
            if fire > YEAR[1]:
                break
            out.append(_iso(fire))
    else:
        t = Timetable(s)
        out = [_iso(x) for x in t.fires.between(YEAR[0] - timedelta(microseconds=1), YEAR[1])]
    return out


def test_fire_times_from_prefect_equal_the_prefect_model(prefect):
    checked = 0
    for name, p in prefect["pipelines"].items():
        if p.schedule is None or name in NO_FIRES:
            continue
        fires = prefect["modules"][f"{name}.py"]["fires"]
        assert fires == _model_fires(p), name
        checked += len(fires)
    assert checked > 40000


def test_prefect_and_oml_differ_only_where_the_loss_report_says(prefect):
    """Prague's fixed-time job: Prefect runs the missing 02:30 at 03:30 (OML: 03:00), and the
    loss report says so; interval schedules keep OML's grid exactly."""
    fires = prefect["modules"]["prague_dst.py"]["fires"]
    assert "2024-03-31T01:30:00+00:00" in fires and "2024-03-31T01:00:00+00:00" not in fires
    assert "2024-10-27T00:30:00+00:00" in fires and "2024-10-27T01:30:00+00:00" not in fires
    for name in ("graphql_issue_tracker", "berlin_every_2h", "every_7m"):
        p = prefect["pipelines"][name]
        t = Timetable(p.schedule)
        oml = [_iso(x) for x in t.fires.between(YEAR[0] - timedelta(microseconds=1), YEAR[1])]
        assert prefect["modules"][f"{name}.py"]["fires"] == oml, name


def _run(prefect, index: int) -> tuple[dict, list[dict]]:
    (result,) = prefect["runs"][index]
    assert "error" not in result, result
    return result, prefect["records"][index]


def test_server_scheduled_runs_record_the_previewed_window(prefect):
    for index in (0, 2, 3, 4):
        name = RUNS[index][0]
        result, records = _run(prefect, index)
        p = prefect["pipelines"][name]
        assert result["auto_scheduled"] is True and result["state"] == "COMPLETED", result
        assert result["name"] == "Completed"
        (record,) = records
        fire = datetime.fromisoformat(result["expected_start"])
        start, end = expected_window(p, fire)
        assert (record["env"]["OMLC_WINDOW_START"], record["env"]["OMLC_WINDOW_END"]) == (start, end), name
        assert argv_params(record["argv"]) == {"window_start": start, "window_end": end}
        assert record["env"]["OMLC_FIRE_TIME"] == fire.astimezone(Timetable(p.schedule).tz).isoformat()
        assert record["argv"][record["argv"].index("--fire") + 1] == record["env"]["OMLC_FIRE_TIME"]
        assert record["env"]["OMLC_PIPELINE"] == p.name and record["env"]["OMLC_STEP_ID"] == ""
        assert record["env"]["OMLC_RUN_ID"] and record["argv"][record["argv"].index("--run") + 1]
        assert "odd {{ name }} 'dir' $(id)" in record["env"]["OMLC_OML_PATH"]
        assert_runner_sql(record, p, start, end)
    # the DST days ran at Prefect's fire times (the model's, reported as a loss)
    assert prefect["runs"][2][0]["expected_start"] == "2024-03-31T01:30:00+00:00"
    assert prefect["runs"][3][0]["expected_start"] == "2024-10-27T00:30:00+00:00"
    assert prefect["runs"][4][0]["expected_start"] == "2024-11-03T11:15:00+00:00"


def test_missed_runs_and_runs_before_start_date_are_skipped(prefect):
    for index, reason in ((1, "missed"), (5, "before the schedule's start_date")):
        result, records = _run(prefect, index)
        assert result["auto_scheduled"] is True
        assert (result["state"], result["name"]) == ("COMPLETED", "Skipped"), result
        assert result["message"].startswith(reason) and records == []
    assert prefect["runs"][1][0]["expected_start"] == "2024-01-15T02:00:00+00:00"


def test_manual_runs_take_the_fire_time_parameter_or_their_own_time(prefect):
    p = prefect["pipelines"]["weekly_orders_rollup"]
    tz = Timetable(p.schedule).tz
    result, (record,) = _run(prefect, 7)
    assert result["state"] == "COMPLETED" and result["auto_scheduled"] is False
    fire = datetime(2024, 3, 11, 10, 30, tzinfo=U)  # 06:30 EDT, a wall time in the schedule's zone
    assert record["env"]["OMLC_FIRE_TIME"] == fire.astimezone(tz).isoformat()
    assert (record["env"]["OMLC_WINDOW_START"], record["env"]["OMLC_WINDOW_END"]) == expected_window(p, fire)
    result, (record,) = _run(prefect, 8)
    assert result["state"] == "COMPLETED"
    fire = datetime.fromisoformat(record["env"]["OMLC_FIRE_TIME"])
    assert abs(fire - datetime.fromisoformat(result["expected_start"])) < timedelta(seconds=1)
    assert (record["env"]["OMLC_WINDOW_START"], record["env"]["OMLC_WINDOW_END"]) == expected_window(p, fire)


def test_steps_run_in_needs_order(prefect):
    result, records = _run(prefect, 9)
    assert result["state"] == "COMPLETED", result
    order = [r["argv"][r["argv"].index("--step") + 1] for r in records]
    assert sorted(order) == ["a", "b", "c", "d"]
    assert order[0] == "a" and order[-1] == "d"
    assert {r["env"]["OMLC_STEP_ID"] for r in records} == {"a", "b", "c", "d"}
    assert len({r["env"]["OMLC_RUN_ID"] for r in records}) == 1


def test_a_failing_runner_fails_the_run_after_the_oml_retry_timeline(prefect):
    result, records = _run(prefect, 10)
    assert result["state"] == "FAILED", result
    assert len(records) == 4  # the first try and 3 retries
    times = prefect["times"]
    assert len(times) == 4
    observed = [b - a for a, b in zip(times, times[1:])]
    expected = retry_delays(prefect["pipelines"]["e2e_fail"].schedule.retry)
    assert expected == [1, 2, 3]
    for seen, want in zip(observed, expected):
        assert want <= seen < want + 1.5, (observed, expected)


def test_the_adversarial_strings_reach_prefect_and_the_runner_unchanged(prefect):
    p = prefect["pipelines"]["adversarial.injection-test_01"]
    module = prefect["modules"]["adversarial.injection-test_01.py"]
    assert module["flow"]["description"] == p.description
    assert f"owner:{p.metadata.owner}" in module["deployment"]["tags"]
    assert module["deployment"]["description"] == p.metadata.description
    result, (record,) = _run(prefect, 6)
    assert result["state"] == "COMPLETED", result
    fire = datetime(2024, 3, 31, 23, 15, tzinfo=U)
    assert (record["env"]["OMLC_WINDOW_START"], record["env"]["OMLC_WINDOW_END"]) == expected_window(p, fire)
    query = p.steps[0].config["query"]
    assert "{{ ds }}" in record["oml"] and "{% if true %}" in record["oml"]
    assert len(query) > 60000 and "ünïcödé ✓ 399" in record["oml"]
    assert "{{ x }}$(id)" in record["env"]["OMLC_WINDOW_START"]


def test_the_timeout_stops_the_runner_and_ends_the_retries(prefect):
    (result,) = prefect["runs"][11]
    assert result["state"] == "FAILED", result
    assert 3 <= result["seconds"] < 10, result  # the runner sleeps 60 s; the run's timeout is 3 s
    assert prefect["slow_attempts"] == 1  # retries: 2 in the OML, none after the deadline


def test_a_failing_step_fails_the_run_and_its_dependents_do_not_run(prefect):
    (result,) = prefect["runs"][12]
    assert result["state"] == "FAILED", result
    assert result["seconds"] < 30
    records = prefect["records"][12]
    assert [r["argv"][r["argv"].index("--step") + 1] for r in records] == ["a"]


# -- metadata: data checks, notifications, the SLA watchdog, lineage ------------------------

def _mails(prefect, to: str) -> list[dict]:
    return [m for m in prefect["mails"] if m["rcpt"] == to]


def _slack(prefect, channel: str) -> list[dict]:
    return [p["json"] for p in prefect["posts"] if p["path"] == "/slack/hook" and p["json"]["channel"] == channel]


def _pagerduty(prefect, pipeline: str) -> list[dict]:
    return [p["json"] for p in prefect["posts"] if p["path"] == "/v2/enqueue" and
            p["json"]["payload"]["group"] == pipeline]


def test_every_module_attaches_the_hooks_of_its_notifications(prefect):
    for name, p in prefect["pipelines"].items():
        hooks = prefect["modules"][f"{name}.py"]["flow"]["hooks"]
        notes = p.metadata.notifications if p.metadata else None
        failing = ["omlc_on_failure"] if notes and notes.on_failure else []
        assert hooks == {"on_failure": failing, "on_crashed": failing,
                         "on_completion": ["omlc_on_success"] if notes and notes.on_success else [],
                         "on_cancellation": [], "on_running": []}, name


def test_a_failing_check_fails_the_flow_run_and_on_failure_reaches_every_channel(prefect):
    result, records = _run(prefect, 14)
    assert result["state"] == "FAILED", result
    assert "data checks failed: check_schema" in result["message"]
    (runner,) = records  # the pipeline ran, then its checks: all of them, one failing
    checks = prefect["checks"][14]
    assert sorted(c["env"]["OMLC_TEST_TYPE"] for c in checks) == ["custom", "row_count", "schema"]
    for check in checks:  # the run's values and the test's
        for key in ("OMLC_WINDOW_START", "OMLC_WINDOW_END", "OMLC_FIRE_TIME", "OMLC_RUN_ID", "OMLC_PIPELINE"):
            assert check["env"][key] == runner["env"][key], key
        spec = json.loads(check["env"]["OMLC_TEST_SPEC"])
        assert spec["type"] == check["env"]["OMLC_TEST_TYPE"]
    custom = next(c for c in checks if c["env"]["OMLC_TEST_TYPE"] == "custom")
    assert custom["argv"] == ["--from", "custom"]
    assert Path(custom["env"]["OMLC_TEST_SCRIPT"]).read_text(encoding="utf-8") == CUSTOM_CHECK
    row = next(c for c in checks if c["env"]["OMLC_TEST_TYPE"] == "row_count")
    assert row["argv"][row["argv"].index("--check") + 1] == "1" and json.loads(row["env"]["OMLC_TEST_SPEC"]) == {
        "type": "row_count", "min": 1, "step": "extract"}
    run_id = runner["env"]["OMLC_RUN_ID"]
    # on_failure: email, Slack and PagerDuty, at the local servers the environment names
    (mail,) = _mails(prefect, "oncall@example.com")
    assert mail["to"] == "oncall@example.com" and mail["subject"] == "[omlc] pipeline meta_fail failed"
    assert f"run_id: {run_id}" in mail["body"] and "data checks failed: check_schema" in mail["body"]
    assert "window_start: 2024-05-01 09:00:00" in mail["body"]
    (slack,) = _slack(prefect, "#meta-fail")
    assert "meta_fail failed" in slack["text"]
    (page,) = _pagerduty(prefect, "meta_fail")
    assert page["routing_key"] == ROUTING_KEY and page["event_action"] == "trigger"
    assert page["payload"]["severity"] == "critical"  # criticality: critical
    assert page["payload"]["component"] == "data-platform"
    assert page["dedup_key"] == f"omlc/meta_fail/{run_id}/on_failure"


def test_passing_checks_pass_and_on_success_sends(prefect):
    result, (runner,) = _run(prefect, 15)
    assert result["state"] == "COMPLETED" and result["name"] == "Completed", result
    assert len(prefect["checks"][15]) == 2
    (mail,) = _mails(prefect, "success@example.com")
    assert mail["subject"] == "[omlc] pipeline meta_pass succeeded"
    assert f"run_id: {runner['env']['OMLC_RUN_ID']}" in mail["body"]
    (slack,) = _slack(prefect, "#meta-ok")
    assert "meta_pass succeeded" in slack["text"]
    # each run told only its own event's targets
    assert [m["subject"] for m in _mails(prefect, "oncall@example.com")] == ["[omlc] pipeline meta_fail failed"]
    assert [m["subject"] for m in _mails(prefect, "success@example.com")] == ["[omlc] pipeline meta_pass succeeded"]


def test_the_fixtures_checks_run_after_their_pipeline(prefect):
    """weekly_orders_rollup's two tests ran (as the project's check command) in its manual run."""
    p = prefect["pipelines"]["weekly_orders_rollup"]
    _, (runner,) = _run(prefect, 7)
    checks = sorted(prefect["checks"][7], key=lambda c: c["env"]["OMLC_TEST_INDEX"])
    assert [json.loads(c["env"]["OMLC_TEST_SPEC"]) for c in checks] == [
        {"type": "row_count", "min": 1, "max": 500, "step": p.steps[-1].id},
        {"type": "schema", "expected": "orders_rollup_v3", "step": p.steps[-1].id}]
    assert all(c["env"]["OMLC_WINDOW_START"] == runner["env"]["OMLC_WINDOW_START"] for c in checks)


def test_the_sla_watchdog_sends_the_breach_of_a_slow_run_and_not_of_a_fast_one(prefect):
    result, _ = _run(prefect, 16)
    assert result["state"] == "COMPLETED" and result["seconds"] >= 3, result  # the runner sleeps 3 s; sla 1 s
    (slack,) = _slack(prefect, "#meta-late")
    assert "meta_sla_slow missed its SLA" in slack["text"] and "sla: 1" in slack["text"]
    (page,) = _pagerduty(prefect, "meta_sla_slow")
    assert page["routing_key"] == ROUTING_KEY and page["payload"]["severity"] == "warning"  # criticality: medium
    assert page["payload"]["custom_details"]["event"] == "on_sla_breach"
    assert page["payload"]["custom_details"]["sla"] == "1"
    # the fast run ended within its 5 s and the oracle waited 6 s more: the watchdog was cancelled
    fast, records = _run(prefect, 13)
    assert fast["state"] == "COMPLETED" and len(records) == 1, fast
    assert fast["seconds"] < 5, fast  # (else the breach would be right)
    assert _slack(prefect, "#meta-fast") == []


def test_lineage_assets_are_on_the_real_tasks_and_in_prefects_asset_graph(prefect):
    tasks = prefect["modules"]["meta_pass.py"]["tasks"]
    own = asset_uri("pipeline", "meta_pass")
    assert tasks["omlc_lineage_pipeline"]["assets"] == [own]
    assert tasks["omlc_lineage_pipeline"]["asset_deps"] == [asset_uri("table", "mysql.orders"),
                                                            asset_uri("pipeline", "meta_fail")]
    assert tasks["omlc_lineage_downstream"]["assets"] == ["omlc://dashboard/meta~20kpis",
                                                          "omlc://table/warehouse.orders"]
    assert tasks["omlc_lineage_downstream"]["asset_deps"] == [own]
    for name in prefect["pipelines"]:  # every flow has its own asset
        assert prefect["modules"][f"{name}.py"]["tasks"]["omlc_lineage_pipeline"]["assets"] == [
            asset_uri("pipeline", name)], name
    # what Prefect's server recorded: upstream -> meta_pass -> downstream, from the successful run only
    events = {(e["event"], e["asset"]): e["related_assets"] for e in prefect["asset_events"]}
    succeeded = "prefect.asset.materialization.succeeded"
    assert events[(succeeded, own)] == sorted([asset_uri("table", "mysql.orders"), asset_uri("pipeline", "meta_fail")])
    assert events[(succeeded, "omlc://dashboard/meta~20kpis")] == [own]
    assert events[(succeeded, "omlc://table/warehouse.orders")] == [own]
    assert not [e for e in prefect["asset_events"] if e["asset"] in (asset_uri("pipeline", "meta_fail"),
                                                                      asset_uri("table", "warehouse.failed"))]
