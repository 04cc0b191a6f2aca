"""Generated Prefect modules as real Prefect sees them (runs in the Prefect venv; never imports omlc).

Payload on stdin:
  {"source": the folder of generated modules,
   "fires": {"start": ISO UTC, "end": ISO UTC},     # fire times from the server's schedule code
   "skip_fires": [module files without fire times],
   "runs": [{"module": "x.py", "recorder_out": path, "env": {...},
             # either runs the Prefect server schedules for the deployment in [start, end]:
             # ("minute": the current minute, due now, before a later fire time passes)
             "schedule": {"start_time": ISO | "minute", "end_time": ISO | null, "max_runs": int},
             # or one manual run of the deployment with these parameters:
             "parameters": {...},
             "sleep_after": seconds to wait after the run, its env still set (optional)}]}
Answer on stdout (last line): {"prefect": version, "modules": {file: {"warnings": [...], "error": str,
  "flow": {...}, "deployment": {...}, "tasks": {...}, "fires": [ISO UTC, ...]}},
  "runs": [[{"expected_start": ISO UTC, "auto_scheduled": bool, "state": type, "name": str,
             "message": str}, ...]],
  "asset_events": [{"event": name, "asset": key, "related_assets": [key, ...]}, ...]}  # the server's
"""

import asyncio
import importlib.util
import json
import os
import sys
import time
import traceback
import warnings
from datetime import datetime, timedelta, timezone

payload = json.load(sys.stdin)

import prefect  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.tasks import Task  # noqa: E402

U = timezone.utc


def iso(moment):
    if moment is None:
        return None
    return datetime.fromtimestamp(moment.timestamp(), U).isoformat()


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def server_schedule(schedule):
    """The client-side schedule the deployment carries, as the server's scheduler reads it."""
    from prefect.server.schemas import schedules

    kind = type(schedule).__name__
    if kind == "CronSchedule":
        return schedules.CronSchedule(cron=schedule.cron, timezone=schedule.timezone, day_or=schedule.day_or)
    if kind == "IntervalSchedule":
        return schedules.IntervalSchedule(interval=schedule.interval, anchor_date=schedule.anchor_date,
                                          timezone=schedule.timezone)
    raise TypeError(kind)


def fire_times(schedule, start, end):
    server = server_schedule(schedule)
    out = []
    cursor = start
    while True:
        dates = asyncio.run(server.get_dates(n=500, start=cursor, end=end))
        out.extend(iso(d) for d in dates if d <= end)
        if len(dates) < 500:
            return sorted(set(out))
        cursor = dates[-1] + timedelta(microseconds=1)


def describe_schedule(schedule):
    kind = type(schedule).__name__
    if kind == "CronSchedule":
        return {"class": kind, "cron": schedule.cron, "timezone": schedule.timezone, "day_or": schedule.day_or}
    return {"class": kind, "interval": schedule.interval.total_seconds(), "anchor_date": iso(schedule.anchor_date),
            "timezone": schedule.timezone}


def describe(module, fires):
    d = module.deployment
    flow = module.omlc_flow
    options = d.concurrency_options
    tasks = {}
    for name, value in sorted(vars(module).items()):
        if isinstance(value, Task):
            tasks[name] = {"name": value.name, "retries": value.retries,
                           "retry_delay_seconds": value.retry_delay_seconds,
                           "retry_jitter_factor": value.retry_jitter_factor,
                           "timeout_seconds": value.timeout_seconds,
                           "no_cache": value.cache_policy is NO_CACHE, "persist_result": value.persist_result,
                           "assets": [a.key for a in getattr(value, "assets", None) or []],
                           "asset_deps": [a.key for a in value.asset_deps or []]}
    schedules = [s.schedule for s in (d.schedules or [])]
    start, end = (datetime.fromisoformat(fires["start"]), datetime.fromisoformat(fires["end"])) if fires else (None, None)
    return {
        "flow": {"name": flow.name, "description": flow.description, "parameters": sorted(flow.parameters.properties),
                 "hooks": {kind: [h.__name__ for h in getattr(flow, f"{kind}_hooks")]
                           for kind in ("on_failure", "on_crashed", "on_completion", "on_cancellation", "on_running")}},
        "deployment": {
            "name": d.name,
            "schedules": [describe_schedule(s) for s in schedules],
            "concurrency_limit": d.concurrency_limit,
            "collision_strategy": str(options.collision_strategy.value) if options else None,
            "tags": list(d.tags),
            "description": d.description,
            "entrypoint": d.entrypoint,
            "paused": d.paused,
        },
        "tasks": tasks,
        "fires": fire_times(schedules[0], start, end) if schedules and fires else [],
    }


answer = {"prefect": prefect.__version__, "modules": {}, "runs": []}
loaded = {}
for i, file in enumerate(sorted(f for f in os.listdir(payload["source"]) if f.endswith(".py"))):
    entry = answer["modules"][file] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            loaded[file] = load(os.path.join(payload["source"], file), f"omlc_generated_{i}")
        except Exception:
            entry["error"] = traceback.format_exc()
    entry["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    if file in loaded:
        try:
            fires = None if file in payload.get("skip_fires", ()) else payload.get("fires")
            entry.update(describe(loaded[file], fires))
        except Exception:
            entry["error"] = traceback.format_exc()


def execute(client, module, flow_run):
    from prefect.flow_engine import run_flow

    started = time.monotonic()
    state = run_flow(module.omlc_flow, flow_run=flow_run, parameters=flow_run.parameters, return_type="state")
    return {"seconds": time.monotonic() - started,"expected_start": iso(flow_run.expected_start_time), "auto_scheduled": flow_run.auto_scheduled,
            "parameters": flow_run.parameters, "state": state.type.value, "name": state.name,
            "message": state.message}


if payload.get("runs"):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):  # the default 30 s is too short on a busy machine
        deployment_ids = {}
        with get_client(sync_client=True) as client:
            for run in payload["runs"]:
                module = loaded[run["module"]]
                results = []
                answer["runs"].append(results)
                os.environ.update(run.get("env", {}))
                os.environ["RECORDER_OUT"] = run["recorder_out"]
                try:
                    if run["module"] not in deployment_ids:
                        deployment_ids[run["module"]] = module.deployment.apply()
                    dep = deployment_ids[run["module"]]
                    if "schedule" in run:
                        window = run["schedule"]
                        if window["start_time"] == "minute":  # due now, not yet missed
                            if datetime.now(U).second > 40:
                                time.sleep(61 - datetime.now(U).second)
                            start = end = datetime.now(U).replace(second=0, microsecond=0)
                        else:
                            start = datetime.fromisoformat(window["start_time"])
                            end = datetime.fromisoformat(window["end_time"]) if window.get("end_time") else None
                        body = {"start_time": start.isoformat(), "max_runs": window["max_runs"],
                                "min_runs": 1}
                        if end is not None:
                            body["end_time"] = end.isoformat()
                        response = client.request("POST", "/deployments/{id}/schedule", path_params={"id": dep},
                                                  json=body)
                        response.raise_for_status()
                        flow_runs = client.read_flow_runs(
                            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep])))
                        chosen = sorted((fr for fr in flow_runs if fr.auto_scheduled and fr.state.type.value ==
                                         "SCHEDULED" and fr.expected_start_time >= start
                                         and (end is None or fr.expected_start_time <= end)),
                                        key=lambda fr: fr.expected_start_time)[:window["max_runs"]]
                    else:
                        chosen = [client.create_flow_run_from_deployment(dep, parameters=run["parameters"])]
                    for flow_run in chosen:
                        results.append(execute(client, module, flow_run))
                except Exception:
                    results.append({"error": traceback.format_exc()})
                time.sleep(run.get("sleep_after", 0))
                for key in run.get("env", {}):
                    os.environ.pop(key, None)
            # the lineage the runs' materializations recorded on the server (events arrive asynchronously)
            query = {"filter": {"event": {"prefix": ["prefect.asset.materialization."]}}, "limit": 50}
            events = []
            for _ in range(40):
                events = client.request("POST", "/events/filter", json=query).json()["events"]
                if events:
                    time.sleep(1)  # the rest of the batch
                    events = client.request("POST", "/events/filter", json=query).json()["events"]
                    break
                time.sleep(0.25)
            answer["asset_events"] = [{"event": e["event"], "asset": e["resource"]["prefect.resource.id"],
                                       "related_assets": sorted(r["prefect.resource.id"] for r in e["related"]
                                                                if r.get("prefect.resource.role") == "asset")}
                                      for e in events]

print(json.dumps(answer))
