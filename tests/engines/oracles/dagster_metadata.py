"""A generated Dagster module's metadata as real Dagster runs it (runs in the Dagster venv; never imports omlc).

Payload on stdin: {"module": path, "job": name, "env": {...} (notification settings: the
test's local servers), "sensors": {"on_failure": name, "on_success": name, "sla": name}}.
It runs the job on one instance with the checks passing and failing (OMLC_FAIL_CHECK),
evaluates the failure and success sensors with Dagster's own test context for those runs,
the SLA sensor over an overdue unstarted run and the finished ones (twice, with its
cursor), and reads the asset graph of the Definitions and `dagster definitions validate`.
Answer on stdout (last line): JSON.
"""

import importlib.util
import json
import os
import subprocess
import sys
import warnings

payload = json.load(sys.stdin)
os.environ.update(payload["env"])

import dagster as dg  # noqa: E402

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    spec = importlib.util.spec_from_file_location("omlc_generated", payload["module"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
defs = module.defs
job = defs.get_job_def(payload["job"])
sensors = {s.name: s for s in defs.sensors}
instance = dg.DagsterInstance.ephemeral()
answer = {"warnings": [str(w.message) for w in caught], "sensors": sorted(sensors),
          "sensor_status": {name: s.default_status.value for name, s in sensors.items()}}


def run(fail):
    os.environ["OMLC_FAIL_CHECK"] = "1" if fail else "0"
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    steps = {e.step_key: e.event_type_value for e in result.all_events if e.is_step_success or e.is_step_failure}
    materialized = [e.asset_key.to_user_string() for e in result.all_events
                    if e.event_type_value == "ASSET_MATERIALIZATION"]
    return result, {"success": result.success, "steps": steps, "run_id": result.run_id, "materialized": materialized}


good, answer["good"] = run(False)
bad, answer["bad"] = run(True)
names = payload["sensors"]
failure = dg.build_run_status_sensor_context(
    sensor_name=names["on_failure"], dagster_event=bad.get_run_failure_event(), dagster_instance=instance,
    dagster_run=bad.dagster_run).for_run_failure()
answer["failure_sensor"] = repr(sensors[names["on_failure"]](failure))
success = dg.build_run_status_sensor_context(
    sensor_name=names["on_success"], dagster_event=good.get_run_success_event(), dagster_instance=instance,
    dagster_run=good.dagster_run)
answer["success_sensor"] = repr(sensors[names["on_success"]](success))
# an overdue run that never started: fire time 2020, long past fire time + sla
late = instance.create_run_for_job(job, run_config={"ops": {op: {"config": {"fire_time": "2020-01-01T00:00:00+00:00"}}
                                                            for op in module.OMLC_OPS}})
answer["late_run_id"] = late.run_id
context = dg.build_sensor_context(instance=instance)
sensors[names["sla"]](context)
first = context.cursor
context = dg.build_sensor_context(instance=instance, cursor=first)
sensors[names["sla"]](context)
answer["sla_cursor"] = [json.loads(first), json.loads(context.cursor)]
graph = defs.resolve_asset_graph()
latest = {key: instance.get_latest_materialization_event(key) for key in graph.get_all_asset_keys()}
answer["latest_materialization"] = {key.to_user_string(): event.run_id for key, event in latest.items() if event}
answer["assets"] = {key.to_user_string(): {"parents": sorted(p.to_user_string() for p in graph.get(key).parent_keys),
                                           "materializable": graph.get(key).is_materializable}
                    for key in graph.get_all_asset_keys()}
check = subprocess.run([os.path.join(os.path.dirname(sys.executable), "dagster"), "definitions", "validate", "-f",
                        payload["module"]], capture_output=True, text=True, timeout=300)
answer["validate"] = {"rc": check.returncode, "tail": (check.stdout + check.stderr)[-1500:]}
print(json.dumps(answer))
