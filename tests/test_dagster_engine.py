"""The Dagster target against real Dagster 1.13 (its own cached venv, see tests/engines/envs.py).

Every fixture, the adversarial one included, plus a few schedules chosen for DST, interval
mapping, start dates and retries, is compiled into a project whose runner command is a
recorder (tests/engines/runners/recorder.py). One Dagster process
(tests/engines/oracles/dagster_defs.py) then imports every module with warnings recorded,
runs `dagster definitions validate` on all of them, reads the jobs and schedules from the
loaded Definitions, lists fire times with Dagster's own schedule code over 2024 (a year
with DST changes), evaluates schedule ticks, loads each dagster.yaml fragment as an
instance's configuration, and executes jobs for schedule ticks (`evaluate_tick`, then
`execute_in_process` with the tick's run config) and manually. The assertions compare what
Dagster reports with what the OML says.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from omlc.compile import compile_paths
from omlc.metadata import check_ids
from omlc.schedule.cron import parse_cron
from omlc.schedule.engine import CronSchedule
from omlc.schedule.targets import MODELS, model_caveat
from omlc.schedule.timetable import Timetable, retry_delays
from omlc_dagster.target import DagsterTarget, dagster_name, dagster_schedule, dagster_tags
from tests.engines.envs import pytest_engine_python, run_oracle
from tests.engines.project import (
    RUNNER, argv_params, assert_runner_sql, expected_window, extra_pipeline, read_check_records, read_records,
    recording_project,
)

pytestmark = pytest.mark.engines

U = timezone.utc
YEAR = (datetime(2024, 1, 1, tzinfo=U), datetime(2025, 1, 1, tzinfo=U))

EXTRA = {
    # a fixed-time job in Prague's DST gap and fold: Dagster's own DST decisions
    "prague_dst": '''schedule: {expression: "30 2 * * *", timezone: Europe/Prague, start_date: "2024-01-01",
  window: {type: sliding, size: 1d}}''',
    "ny_hourly": '''schedule: {expression: "15 * * * *", timezone: America/New_York, window: {type: tumbling}}''',
    "ny_interval_daily": '''schedule: {type: interval, expression: 1d, timezone: America/New_York,
  start_date: "2024-01-01T06:15", window: {type: tumbling, offset: "-1h"}}''',
    "every_7m": '''schedule: {type: interval, expression: 7m, timezone: UTC, start_date: "2024-12-20T00:03",
  end_date: "2024-12-31", window: {type: sliding, size: 7m}}''',
    "every_3d": '''schedule: {type: interval, expression: 3d, timezone: Europe/Prague, start_date: "2024-01-01T04:00",
  window: {type: tumbling}}''',
    # short, unequal delays: the observed waits must be OML's linear timeline, not Dagster's backoff
    "e2e_fail": '''schedule: {expression: "0 * * * *", timezone: UTC, window: {type: sliding, size: 1h},
  retry: {attempts: 2, delay: 1s, backoff: linear}}''',
}
STEPS_GRAPH = '''oml_version: "0.2.0"
name: steps-graph
schedule: {expression: "0 3 * * *", timezone: Europe/Prague, retry: {attempts: 2, delay: 60, backoff: exponential}}
steps:
  - {id: d, component: supabase.writer, mode: write, needs: [b, c], config: {connection: "@supabase.y", table: t}}
  - {id: a, component: mysql.extractor, mode: read, needs: [], config: {connection: "@mysql.x", query: "SELECT 1"}}
  - {id: b, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 2"}}
  - {id: c, component: duckdb.processor, mode: transform, needs: [a], config: {query: "SELECT 3"}}
'''


def _iso(moment: datetime) -> str:
    return moment.astimezone(U).isoformat()


# the runs: (pipeline name, schedule tick or None for a manual run, env)
RUNS = [
    ("daily_customer_sync", "2024-01-15T02:00:00+00:00", {}),  # the seed's preview date
    ("weekly_orders_rollup", "2024-03-11T10:30:00+00:00", {}),  # 06:30 EDT, the day after DST starts
    ("weekly_orders_rollup", None, {}),  # manual: the fire time is the run's start
    ("adversarial.injection-test_01", "2024-03-31T23:15:00+00:00", {}),  # 01:15 CEST after the gap
    ("prague_dst", "2024-03-31T01:00:00+00:00", {}),  # Dagster's run for the missing 02:30 (03:00 CEST)
    ("ny_interval_daily", "2024-11-03T11:15:00+00:00", {}),  # the day the clocks go back
    ("every_7m", "2024-12-20T00:10:00+00:00", {}),  # on the 7-minute grid
    ("steps-graph", "2024-06-01T01:00:00+00:00", {}),  # one op per step, in needs order
    ("e2e_fail", "2024-05-01T10:00:00+00:00", {"RECORDER_FAIL": "1"}),
    ("slow_timeout", "2024-05-01T10:00:00+00:00", {}),  # a runner that outlives the run's timeout
]
# a second project whose runner sleeps: the op must stop it at the run's deadline, without retries
SLOW = '''oml_version: "0.2.0"
name: slow_timeout
schedule: {expression: "0 * * * *", timezone: UTC, timeout: 2s, retry: {attempts: 2, delay: 1s}}
steps: [{id: a, component: mysql.extractor, mode: read}]
'''
# schedule ticks evaluated without a run: (pipeline, tick, runs?)
TICKS = [
    ("every_7m", "2024-12-20T00:10:00+00:00", True),
    ("every_7m", "2024-12-20T00:11:00+00:00", False),  # off the grid: skipped
    ("every_7m", "2024-12-19T23:56:00+00:00", False),  # on the grid, before start_date
    ("every_7m", "2024-12-31T00:01:00+00:00", False),  # after end_date
    ("every_3d", "2024-01-04T03:00:00+00:00", True),  # 04:00 CET, three days after the anchor
    ("every_3d", "2024-01-05T03:00:00+00:00", False),  # a daily tick between grid days: skipped
    ("graphql_issue_tracker", "2023-12-31T23:45:00+00:00", False),  # before its start_date
    ("graphql_issue_tracker", "2024-06-01T00:15:00+00:00", True),
]


@pytest.fixture(scope="module")
def dagster(tmp_path_factory):
    python = pytest_engine_python("dagster")
    project = recording_project(tmp_path_factory, DagsterTarget(), "defs", EXTRA,
                                step_command=RUNNER + " {oml_path} --step {step_id} --fire {fire_time}")
    project.add("steps", {"steps_graph.oml.yaml": STEPS_GRAPH}, granularity="step")
    project.add("slow", {"slow_timeout.oml.yaml": SLOW}, command=RUNNER + " {oml_path}; sleep 30")
    records = project.root / "records"
    records.mkdir()
    runs = [{"file": f"{name}.py", "tick": tick, "recorder_out": str(records / f"{i}.jsonl"), "env": env}
            for i, (name, tick, env) in enumerate(RUNS)]
    ticks = [{"file": f"{name}.py", "tick": tick} for name, tick, _ in TICKS]
    answer = run_oracle("dagster", "dagster_defs.py",
                        {"source": str(project.out), "fires": {"start": _iso(YEAR[0]), "end": _iso(YEAR[1])},
                         "ticks": ticks, "runs": runs}, timeout=900, python=python)
    answer["pipelines"] = project.pipelines()
    answer["records"] = read_records([r["recorder_out"] for r in runs])
    answer["checks"] = read_check_records([r["recorder_out"] for r in runs])
    return answer


def test_every_module_imports_without_warnings_and_validates(dagster):
    assert dagster["dagster"] == "1.13.28"
    assert set(dagster["modules"]) == {f"{name}.py" for name in dagster["pipelines"]}
    for name, module in dagster["modules"].items():
        assert module["error"] is None, (name, module["error"])
        assert module["warnings"] == [], (name, module["warnings"])
    assert dagster["validate"]["rc"] == 0, dagster["validate"]["output"]
    assert dagster["validate"]["passed"], dagster["validate"]["output"]


def test_jobs_and_schedules_equal_the_oml(dagster):
    for name, p in dagster["pipelines"].items():
        module = dagster["modules"][f"{name}.py"]
        job_name = dagster_name(name)
        (job_key,) = module["jobs"]
        assert job_key == job_name
        job = module["jobs"][job_name]
        s = p.schedule
        md = p.metadata
        tags, _ = dagster_tags(p, job_name)
        assert job["tags"] == tags and job["run_tags"] == tags, name
        assert job["tags"]["omlc/pipeline"] == name
        if md is not None:
            assert all(t in job["tags"] or t in job["tags"].values() for t in md.tags)
            assert job["tags"].get("owner") == md.owner and job["tags"].get("team") == md.team
            assert job["tags"].get("criticality") == md.criticality
            assert job["metadata"].get("description") == md.description
        assert job["description"] == p.description
        assert job["tags"].get("dagster/max_runtime") == (str(s.timeout.nominal_seconds) if s and s.timeout else None)
        delays = retry_delays(s.retry if s else None)
        lineage = [name for name, op in job["ops"].items() if "omlc/lineage" in op["tags"]]
        declared = md is not None and md.lineage is not None and bool(md.lineage.upstream or md.lineage.downstream)
        assert lineage == ([f"{job_name}__lineage"] if declared else []), name
        for op_name, op in job["ops"].items():
            if op_name in lineage:  # records metadata.lineage after every other op: no config, no retries
                assert op["fire_time_default"] is None and op["retry_policy"] is None
                others = {n: o for n, o in job["ops"].items() if n != op_name}
                ends = {n for n in others if not any(n in o["upstream"] for o in others.values())}
                assert ends <= set(op["upstream"]) <= set(others), name
                continue
            assert op["fire_time_default"] == ""
            if "omlc/check" in op["tags"]:  # data checks are not retried
                assert op["retry_policy"] is None, name
                continue
            assert op["retry_policy"] == ({"max_retries": len(delays), "delay": delays[0], "backoff": None}
                                          if delays else None), name
        if s is None:
            assert module["schedules"] == {}
            continue
        mapped = dagster_schedule(s)
        (schedule,) = module["schedules"].values()
        assert schedule == {"cron": mapped.expression, "timezone": mapped.timezone, "job_name": job_name,
                            "default_status": "RUNNING"}, name
        if s.type == "cron":
            assert parse_cron(schedule["cron"]).normalized() == parse_cron(s.expression).normalized()
            assert schedule["timezone"] == s.timezone


def test_step_ops_follow_needs(dagster):
    p = dagster["pipelines"]["steps-graph"]
    job_name = dagster_name("steps-graph")
    ops = dagster["modules"]["steps-graph.py"]["jobs"][job_name]["ops"]
    needs = p.effective_needs()
    assert set(ops) == {f"{job_name}__step_{s.id}" for s in p.steps}
    for s in p.steps:
        op = ops[f"{job_name}__step_{s.id}"]
        assert op["tags"] == {"omlc/step": s.id}
        assert op["upstream"] == sorted(f"{job_name}__step_{u}" for u in needs[s.id])


def _model_fires(p) -> list[str]:
    mapped = dagster_schedule(p.schedule)
    out = []
    for fire in CronSchedule(mapped.expression, mapped.timezone, MODELS["dagster"].policy).iter_after(
            YEAR[0] - timedelta(microseconds=1)):
        if fire > YEAR[1]:
            break
        out.append(_iso(fire))
    return out


def test_fire_times_from_dagster_equal_the_dagster_model(dagster):
    checked = 0
    for name, p in dagster["pipelines"].items():
        if p.schedule is None:
            continue
        mapped = dagster_schedule(p.schedule)
        assert model_caveat("dagster", CronSchedule(mapped.expression, mapped.timezone).tz, *YEAR) is None
        fires = dagster["fires"][f"{name}.py"]
        assert fires == _model_fires(p), name
        checked += len(fires)
    assert checked > 500000  # the every-minute tick of every_7m included


def test_dagster_differs_from_oml_only_where_the_loss_report_says(dagster, tmp_path):
    """prague_dst: Dagster takes the second 02:30 of the autumn fold; OML the first, and the
    compile reports it; the hourly New York job agrees with OML all year."""
    p = dagster["pipelines"]["prague_dst"]
    oml = [_iso(t) for t in Timetable(p.schedule).fires.between(YEAR[0] - timedelta(microseconds=1), YEAR[1])]
    diff = set(dagster["fires"]["prague_dst.py"]) ^ set(oml)
    assert diff == {"2024-10-27T00:30:00+00:00", "2024-10-27T01:30:00+00:00"}
    assert "2024-03-31T01:00:00+00:00" in oml  # the gap: both at 03:00 CEST
    path = tmp_path / "prague_dst.oml.yaml"
    path.write_text(extra_pipeline("prague_dst", EXTRA["prague_dst"]), encoding="utf-8")
    result = compile_paths([str(path)], [DagsterTarget()], write=False)
    (loss,) = [d for d in result.report.diagnostics if "schedule.expression" in d.message]
    assert loss.code == "OML601" and "2024-10-27" in loss.message and "Dagster runs at 02:30 CET" in loss.message
    hourly = dagster["pipelines"]["ny_hourly"]
    oml = [_iso(t) for t in Timetable(hourly.schedule).fires.between(YEAR[0] - timedelta(microseconds=1), YEAR[1])]
    assert dagster["fires"]["ny_hourly.py"] == oml


def test_schedule_ticks_skip_outside_oml_fire_times(dagster):
    for (name, tick, runs), answer in zip(TICKS, dagster["ticks"]):
        assert (answer["runs"] == 1) is runs and (answer["skip"] is None) is runs, (name, tick, answer)


def test_dagster_yaml_fragments_configure_an_instance(dagster):
    for name, p in dagster["pipelines"].items():
        s = p.schedule
        fragment = dagster["fragments"].get(f"{name}.dagster.yaml")
        if s is None or (s.timeout is None and s.concurrency is None):
            assert fragment is None
            continue
        assert "error" not in fragment, fragment
        assert fragment["run_monitoring"] is (s.timeout is not None)
        assert fragment["run_coordinator"] == "QueuedRunCoordinator"
        expected = [{"key": "omlc/concurrency_key", "value": dagster_name(name), "limit": s.concurrency}] \
            if s.concurrency is not None else []
        assert fragment["tag_concurrency_limits"] == expected


def test_end_to_end_runs_record_the_previewed_window_and_sql(dagster):
    for (name, tick, env), run, records in zip(RUNS, dagster["runs"], dagster["records"]):
        assert "error" not in run, run
        p = dagster["pipelines"][name]
        if env.get("RECORDER_FAIL") or name in ("steps-graph", "slow_timeout"):
            continue
        assert run["success"] is True, (name, run)
        (record,) = records
        tz = Timetable(p.schedule).tz
        if tick is None:  # a manual run: the fire time is the run's start
            assert run["run_config"] == {}
            fire = datetime.fromtimestamp(run["start_time"], U)
        else:
            fire = datetime.fromisoformat(tick)
            assert set(run["run_config"]["ops"]) == {f"{dagster_name(name)}__{op}"
                                                     for op in ["run_pipeline", *check_ids(p)]}
        start, end = expected_window(p, fire)
        assert (record["env"]["OMLC_WINDOW_START"], record["env"]["OMLC_WINDOW_END"]) == (start, end), name
        assert argv_params(record["argv"]) == {"window_start": start, "window_end": end}
        checked = [c for c in dagster["checks"][RUNS.index((name, tick, env))]]
        assert len(checked) == len([c for c in check_ids(p) if not c.endswith("custom")]), name
        for c in checked:  # the check command ran after the pipeline with the run's window
            assert (c["env"]["OMLC_WINDOW_START"], c["env"]["OMLC_WINDOW_END"]) == (start, end), name
        assert record["env"]["OMLC_FIRE_TIME"] == fire.astimezone(tz).isoformat()
        assert record["env"]["OMLC_PIPELINE"] == name and record["env"]["OMLC_STEP_ID"] == ""
        assert record["argv"][record["argv"].index("--fire") + 1] == record["env"]["OMLC_FIRE_TIME"]
        assert record["env"]["OMLC_RUN_ID"] == run["run_id"] == record["argv"][record["argv"].index("--run") + 1]
        assert "odd {{ name }} 'dir' $(id)" in record["env"]["OMLC_OML_PATH"]
        assert_runner_sql(record, p, start, end)


def test_step_runs_follow_needs(dagster):
    index = [r[0] for r in RUNS].index("steps-graph")
    run, records = dagster["runs"][index], dagster["records"][index]
    assert run["success"] is True, run
    p = dagster["pipelines"]["steps-graph"]
    order = [r["env"]["OMLC_STEP_ID"] for r in records]
    assert sorted(order) == sorted(s.id for s in p.steps)
    for step, ups in p.effective_needs().items():
        assert all(order.index(u) < order.index(step) for u in ups)
    starts = [e["step"].rsplit("__step_", 1)[1] for e in run["events"] if e["type"] == "STEP_START"]
    assert starts == order
    fire = datetime.fromisoformat(RUNS[index][1]).astimezone(Timetable(p.schedule).tz).isoformat()
    assert {r["env"]["OMLC_FIRE_TIME"] for r in records} == {fire}


def test_a_failing_runner_fails_the_run_after_oml_retry_delays(dagster):
    index = [r[0] for r in RUNS].index("e2e_fail")
    run, records = dagster["runs"][index], dagster["records"][index]
    p = dagster["pipelines"]["e2e_fail"]
    delays = retry_delays(p.schedule.retry)
    assert delays == [1, 2]  # linear; Dagster's own LINEAR/EXPONENTIAL would not give this list
    assert run["success"] is False
    assert len(records) == 1 + len(delays)
    events = run["events"]
    assert [e["type"] for e in events] == ["STEP_START"] + ["STEP_UP_FOR_RETRY", "STEP_RESTARTED"] * 2 + \
        ["STEP_FAILURE"]
    waits = [b["at"] - a["at"] for a, b in zip(events, events[1:]) if a["type"] == "STEP_UP_FOR_RETRY"]
    for wait, delay in zip(waits, delays):
        assert delay <= wait < delay + 0.9, (waits, delays)


def test_the_adversarial_strings_reach_dagster_and_the_runner_unchanged(dagster):
    name = "adversarial.injection-test_01"
    p = dagster["pipelines"][name]
    job = dagster["modules"][f"{name}.py"]["jobs"][dagster_name(name)]
    assert job["description"] == p.description and job["tags"]["owner"] == p.metadata.owner
    assert job["metadata"]["description"] == p.metadata.description
    index = [r[0] for r in RUNS].index(name)
    (record,) = dagster["records"][index]
    query = p.steps[0].config["query"]
    assert "{{ ds }}" in record["oml"] and "{% if true %}" in record["oml"]
    assert len(query) > 60000 and "ünïcödé ✓ 399" in record["oml"]
    assert "{{ x }}$(id)" in record["env"]["OMLC_WINDOW_START"]  # the window format, rendered, not evaluated


def test_the_run_timeout_stops_the_runner_and_fails_without_retries(dagster):
    index = [r[0] for r in RUNS].index("slow_timeout")
    run, records = dagster["runs"][index], dagster["records"][index]
    assert run["success"] is False
    assert len(records) == 1  # the runner started once: a run past its timeout is not retried
    events = run["events"]
    assert [e["type"] for e in events] == ["STEP_START", "STEP_FAILURE"]
    took = events[-1]["at"] - run["start_time"]
    assert 2 <= took < 4, took  # the 2 s deadline, not the 30 s sleep


# -- metadata: data checks, notification and SLA sensors, lineage asset specs -------------
METADATA = '''oml_version: "0.2.0"
name: notified
schedule: {expression: "0 * * * *", timezone: UTC, window: {type: sliding, size: 1h}}
metadata:
  criticality: critical
  sla: 1h
  tests:
    - {type: custom, script: checks/check.py}
    - {type: row_count, min: 1}
  lineage:
    upstream: ["table: src.orders", "file: exports/web events", "table: shared.t", "pipeline: feeder"]
    downstream: ["dashboard: sales", "table: shared.t"]
  notifications:
    on_failure: [{email: oncall@example.com}, {slack: "#data-alerts"}, {pagerduty: data-platform}]
    on_success: [{email: team@example.com}]
    on_sla_breach: [{pagerduty: data-platform}]
steps: [{id: a, component: mysql.extractor, mode: read}]
'''
CHECK_SCRIPT = '''import json, os, sys
with open(os.environ["CHECK_OUT"], "a") as out:
    out.write(json.dumps({k: v for k, v in os.environ.items() if k.startswith("OMLC_")}) + "\\n")
sys.exit(1 if os.environ.get("OMLC_FAIL_CHECK") == "1" else 0)
'''


@pytest.fixture(scope="module")
def metadata_run(tmp_path_factory):
    from omlc.lineage import asset_key
    from omlc_dagster.target import sensor_names
    from omlc.validate import load_file
    from tests.servers import http_server, smtp_server, wait_for

    python = pytest_engine_python("dagster")
    root = tmp_path_factory.mktemp("meta")
    (root / "omlc.yaml").write_text('runner:\n  command: "true"\nchecks:\n  command: "test -n \\"$OMLC_TEST_SPEC\\""\n',
                                    encoding="utf-8")
    (root / "checks").mkdir()
    (root / "checks" / "check.py").write_text(CHECK_SCRIPT, encoding="utf-8")
    source = root / "notified.oml.yaml"
    source.write_text(METADATA, encoding="utf-8")
    result = compile_paths([str(source)], [DagsterTarget()], out=str(root / "defs"), write=True)
    assert result.exit_code() == 0, [str(d) for d in result.report.diagnostics]
    pipeline = load_file(str(source)).pipeline
    with smtp_server() as (smtp, mails), http_server() as (base, posts):
        env = {"OMLC_SMTP_HOST": smtp, "OMLC_SLACK_WEBHOOK_URL": base + "/slack",
               "OMLC_PAGERDUTY_ROUTING_KEY": "rk-123", "OMLC_PAGERDUTY_EVENTS_URL": base + "/v2/enqueue",
               "CHECK_OUT": str(root / "checks.jsonl")}
        answer = run_oracle("dagster", "dagster_metadata.py",
                            {"module": str(root / "defs" / "notified.py"), "job": "notified", "env": env,
                             "sensors": sensor_names(pipeline, "notified")}, timeout=600, python=python)
        wait_for(mails, 2)
        wait_for(posts, 3)
        answer["mails"] = [{"to": m["To"], "rcpt": m["X-Rcpt-To"], "subject": m["Subject"],
                            "body": m.get_payload()} for m in mails]
        answer["posts"] = list(posts)
    answer["checks"] = [json.loads(line) for line in (root / "checks.jsonl").read_text().splitlines()]
    answer["key"] = asset_key
    return answer


def test_a_failing_check_fails_the_run_and_a_passing_one_passes(metadata_run):
    good, bad = metadata_run["good"], metadata_run["bad"]
    assert good["success"] and set(good["steps"].values()) == {"STEP_SUCCESS"}
    assert set(good["steps"]) == {"notified__run_pipeline", "notified__check_custom", "notified__check_row_count",
                                  "notified__lineage"}
    assert "notified__lineage" not in bad["steps"]  # a failed check: lineage is not recorded
    assert not bad["success"]
    assert bad["steps"]["notified__check_custom"] == "STEP_FAILURE"
    assert bad["steps"]["notified__run_pipeline"] == bad["steps"]["notified__check_row_count"] == "STEP_SUCCESS"
    # the custom script ran with the run's window, its spec and its own path
    first = metadata_run["checks"][0]
    assert first["OMLC_TEST_TYPE"] == "custom" and first["OMLC_TEST_SCRIPT"].endswith("/checks/check.py")
    assert first["OMLC_WINDOW_START"] < first["OMLC_WINDOW_END"] and first["OMLC_RUN_ID"] == good["run_id"]
    assert json.loads(first["OMLC_TEST_SPEC"]) == {"type": "custom", "script": "checks/check.py", "args": []}


def test_the_failure_sensor_sends_to_the_real_servers(metadata_run):
    bad = metadata_run["bad"]
    failed = [m for m in metadata_run["mails"] if m["to"] == "oncall@example.com"]
    assert len(failed) == 1 and failed[0]["rcpt"] == "oncall@example.com"
    assert failed[0]["subject"] == "[omlc] pipeline notified failed"
    assert f"run_id: {bad['run_id']}" in failed[0]["body"] and "error:" in failed[0]["body"]
    assert "window_start:" in failed[0]["body"]
    slack = [p for p in metadata_run["posts"] if p["path"] == "/slack"]
    assert len(slack) == 1 and slack[0]["json"]["channel"] == "#data-alerts"
    assert "pipeline notified failed" in slack[0]["json"]["text"]
    pages = [p["json"] for p in metadata_run["posts"] if p["path"] == "/v2/enqueue"]
    failure_pages = [p for p in pages if p["dedup_key"].endswith("/on_failure")]
    assert len(failure_pages) == 1
    page = failure_pages[0]
    assert page["routing_key"] == "rk-123" and page["payload"]["severity"] == "critical"
    assert page["payload"]["component"] == "data-platform" and bad["run_id"] in page["dedup_key"]


def test_the_success_sensor_sends_to_its_recipient(metadata_run):
    ok = [m for m in metadata_run["mails"] if m["to"] == "team@example.com"]
    assert len(ok) == 1 and ok[0]["subject"] == "[omlc] pipeline notified succeeded"
    assert metadata_run["good"]["run_id"] in ok[0]["body"]


def test_the_sla_sensor_sends_once_for_the_overdue_run_only(metadata_run):
    pages = [p["json"] for p in metadata_run["posts"] if p["path"] == "/v2/enqueue"
             and p["json"]["dedup_key"].endswith("/on_sla_breach")]
    late = metadata_run["late_run_id"]
    assert [p["dedup_key"] for p in pages] == [f"omlc/notified/{late}/on_sla_breach"]  # once: the cursor
    assert pages[0]["payload"]["custom_details"]["sla"] == "3600"
    assert pages[0]["payload"]["custom_details"]["fire_time"].startswith("2020-01-01T00:00:00")
    assert metadata_run["sla_cursor"] == [[late], [late]]


def test_sensors_are_running_by_default_and_the_module_validates(metadata_run):
    assert metadata_run["warnings"] == []
    assert metadata_run["sensors"] == ["notified__on_failure", "notified__on_success", "notified__sla"]
    assert set(metadata_run["sensor_status"].values()) == {"RUNNING"}
    assert metadata_run["validate"]["rc"] == 0, metadata_run["validate"]["tail"]


def test_lineage_asset_keys_and_deps_are_on_the_definitions(metadata_run):
    key = metadata_run["key"]
    k = {ref: "/".join(key(*ref.split(": "))) for ref in
         ("pipeline: notified", "table: src.orders", "file: exports/web events", "table: shared.t",
          "pipeline: feeder", "dashboard: sales")}
    assets = metadata_run["assets"]
    assert k["file: exports/web events"].startswith("file/exports_web_events_")
    # upstream -> pipeline -> downstream; shared.t (both ways) only downstream: no cycle
    assert assets[k["pipeline: notified"]]["parents"] == sorted(
        [k["table: src.orders"], k["file: exports/web events"], k["pipeline: feeder"]])
    assert assets[k["dashboard: sales"]]["parents"] == assets[k["table: shared.t"]]["parents"] == [
        k["pipeline: notified"]]
    assert not any(a["materializable"] for a in assets.values())  # specs, not assets the job defines
    # the successful run recorded the pipeline's and the downstream assets; the failed one nothing
    assert sorted(metadata_run["good"]["materialized"]) == sorted(
        [k["pipeline: notified"], k["dashboard: sales"], k["table: shared.t"]])
    assert metadata_run["bad"]["materialized"] == []
    assert metadata_run["latest_materialization"] == {
        key: metadata_run["good"]["run_id"] for key in metadata_run["good"]["materialized"]}
