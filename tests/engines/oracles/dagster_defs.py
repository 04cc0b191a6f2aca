"""Generated Dagster modules as real Dagster sees them (runs in the Dagster venv; never imports omlc).

Payload on stdin:
  {"source": the folder of generated files,
   "fires": {"start": ISO UTC, "end": ISO UTC},   # fire times from schedule_execution_time_iterator
   "ticks": [{"file": str, "tick": ISO}],         # evaluate_tick only: run or skip
   "runs": [{"file": str, "tick": ISO | null (a manual run), "recorder_out": path, "env": {...}}]}
Answer on stdout (last line): {"dagster": version, "validate": {"rc": int, "passed": bool, "output": tail},
  "modules": {file: {"warnings": [...], "error": str | None, "jobs": {...}, "schedules": {...}}},
  "fires": {file: [ISO UTC, ...]}, "ticks": [...], "runs": [...], "fragments": {file: {...}}}
"""

import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tempfile
import traceback
import warnings
from datetime import datetime, timezone

payload = json.load(sys.stdin)
source = payload["source"]

import dagster as dg  # noqa: E402
from dagster._utils.schedules import schedule_execution_time_iterator  # noqa: E402

files = sorted(f for f in os.listdir(source) if f.endswith(".py"))
fragments = sorted(f for f in os.listdir(source) if f.endswith(".dagster.yaml"))


def iso(moment):
    return None if moment is None else datetime.fromtimestamp(moment.timestamp(), timezone.utc).isoformat()


def load(name, index):
    """Import a generated module as Dagster's code server does (from its file)."""
    spec = importlib.util.spec_from_file_location(f"omlc_generated_{index}", os.path.join(source, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe_job(job):
    deps = job.graph.dependency_structure
    ops = {}
    for node in job.graph.nodes:
        definition = node.definition
        policy = definition.retry_policy
        fields = getattr(definition.config_schema.as_field().config_type, "fields", {})  # none: Any
        ops[node.name] = {
            "tags": dict(definition.tags),
            "retry_policy": None if policy is None else {
                "max_retries": policy.max_retries, "delay": policy.delay,
                "backoff": None if policy.backoff is None else policy.backoff.value},
            "fire_time_default": fields["fire_time"].default_value if "fire_time" in fields else None,
            "upstream": sorted(o.node_name for o in deps.all_upstream_outputs_from_node(node.name)),
        }
    return {
        "description": job.description,
        "tags": dict(job.tags),
        "run_tags": dict(job.run_tags),
        "metadata": {k: getattr(v, "value", v) for k, v in job.metadata.items()},
        "ops": ops,
    }


def describe_schedule(schedule):
    return {
        "cron": schedule.cron_schedule,
        "timezone": schedule.execution_timezone,
        "job_name": schedule.job_name,
        "default_status": schedule.default_status.value,
    }


modules, loaded = {}, {}
for index, name in enumerate(files):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = load(name, index)
            defs = module.defs
            repo = defs.get_repository_def()
            jobs = {j.name: describe_job(j) for j in repo.get_all_jobs() if not j.name.startswith("__")}
            schedules = {s.name: describe_schedule(s) for s in repo.schedule_defs}
            loaded[name] = (module, repo)
            error = None
        except Exception:
            jobs, schedules, error = {}, {}, traceback.format_exc()
    modules[name] = {"warnings": [f"{w.category.__name__}: {w.message}" for w in caught], "error": error,
                     "jobs": jobs, "schedules": schedules}

# dagster's own validation of every file, in one command
with tempfile.TemporaryDirectory() as home:
    cmd = [os.path.join(os.path.dirname(sys.executable), "dagster"), "definitions", "validate"]
    for name in files:
        cmd += ["-f", os.path.join(source, name)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "DAGSTER_HOME": home})
    output = done.stdout + done.stderr
    validate = {"rc": done.returncode, "passed": "All code locations passed validation" in output,
                "output": output[-6000:]}

# fire times from Dagster's own schedule code
fires = {}
if payload.get("fires"):
    start = datetime.fromisoformat(payload["fires"]["start"])
    end = datetime.fromisoformat(payload["fires"]["end"])
    for name, (module, repo) in loaded.items():
        for schedule in repo.schedule_defs:
            it = schedule_execution_time_iterator(start.timestamp(), schedule.cron_schedule,
                                                  schedule.execution_timezone)
            fires[name] = [iso(t) for t in itertools.takewhile(lambda t: t <= end, it)]


def tick(repo, moment):
    (schedule,) = repo.schedule_defs
    with dg.build_schedule_context(scheduled_execution_time=moment) as context:
        return schedule.evaluate_tick(context)


ticks = []
for case in payload.get("ticks", []):
    module, repo = loaded[case["file"]]
    result = tick(repo, datetime.fromisoformat(case["tick"]))
    ticks.append({"runs": len(result.run_requests or []), "skip": result.skip_message})

# fragments: each loaded as the dagster.yaml of an instance
fragment_answers = {}
for name in fragments:
    with tempfile.TemporaryDirectory() as home:
        with open(os.path.join(source, name), encoding="utf-8") as src, \
                open(os.path.join(home, "dagster.yaml"), "w", encoding="utf-8") as dst:
            dst.write(src.read())
        try:
            instance = dg.DagsterInstance.from_config(home)
            limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
            fragment_answers[name] = {"run_monitoring": instance.run_monitoring_enabled,
                                      "tag_concurrency_limits": [dict(x) for x in limits or []],
                                      "run_coordinator": type(instance.run_coordinator).__name__}
            instance.dispose()
        except Exception:
            fragment_answers[name] = {"error": traceback.format_exc()[-3000:]}

STEP_EVENTS = ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY", "STEP_RESTARTED")
runs = []
for run in payload.get("runs", []):
    module, repo = loaded[run["file"]]
    os.environ.update(run.get("env", {}))
    os.environ["RECORDER_OUT"] = run["recorder_out"]
    try:
        (job,) = [j for j in repo.get_all_jobs() if not j.name.startswith("__")]
        run_config = {}
        if run["tick"] is not None:
            result = tick(repo, datetime.fromisoformat(run["tick"]))
            (request,) = result.run_requests
            run_config = request.run_config
        with dg.DagsterInstance.ephemeral() as instance:
            outcome = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
            record = instance.get_run_record_by_id(outcome.run_id)
            events = [{"type": e.event_type_value, "step": e.step_key,
                       "at": e.logging_tags.get("timestamp")} for e in outcome.all_events
                      if e.event_type_value in STEP_EVENTS]
            stored = instance.all_logs(outcome.run_id)
            times = [{"type": r.dagster_event.event_type_value, "step": r.dagster_event.step_key,
                      "at": r.timestamp} for r in stored
                     if r.dagster_event is not None and r.dagster_event.event_type_value in STEP_EVENTS]
            runs.append({"success": outcome.success, "run_config": run_config, "run_id": outcome.run_id,
                         "start_time": record.start_time, "events": times,
                         "order": [e["step"] for e in events if e["type"] == "STEP_START"]})
    except Exception:
        runs.append({"error": traceback.format_exc()[-3000:]})
    for key in run.get("env", {}):
        os.environ.pop(key, None)

print(json.dumps({"dagster": dg.__version__, "validate": validate, "modules": modules, "fires": fires,
                  "ticks": ticks, "fragments": fragment_answers, "runs": runs}))
