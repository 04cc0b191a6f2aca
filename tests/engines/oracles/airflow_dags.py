"""Generated DAGs as real Airflow sees them (runs in the Airflow venv; never imports omlc).

Payload on stdin:
  {"source": the folder of generated files (Airflow's DAGs folder),
   "fires": {"start": ISO UTC, "end": ISO UTC},          # fire times from the serialized timetable
   "runs": [{"dag_id": str, "logical_date": ISO | null, "run_after": ISO,
             "recorder_out": path, "env": {...}}],        # dag.test() runs (needs `airflow db migrate`)
   "clear_deadlines": bool}
Answer on stdout (last line): {"airflow": version, "import_errors": {...}, "warnings": {...},
  "dags": {dag_id: {attributes, "tasks": {...}, "fires": [ISO UTC, ...]}}, "runs": [{"state": ...}]}
"""

import json
import os
import subprocess
import sys
import warnings
from datetime import datetime, timezone

payload = json.load(sys.stdin)
dags_folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = payload["source"]  # before Airflow reads its config

import airflow  # noqa: E402
import pendulum  # noqa: E402
from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from airflow.serialization.serialized_objects import DagSerialization  # noqa: E402
from airflow.timetables.base import TimeRestriction  # noqa: E402


def iso(moment):
    if moment is None:
        return None
    return datetime.fromtimestamp(moment.timestamp(), timezone.utc).isoformat()


def seconds(delta):
    return None if delta is None else delta.total_seconds()


def timetable_of(serialized):
    """The timetable as the scheduler gets it: class and arguments after serialization."""
    tt = serialized.get("timetable") or {}
    return {"class": str(tt.get("__type", "")).rsplit(".", 1)[-1], **(tt.get("__var") or {})}


def retry_timeline(task):
    policy = getattr(task, "retry_policy", None)
    if policy is None:
        return None
    delays = []
    for try_number in range(1, (task.retries or 0) + 1):
        decision = policy.evaluate(RuntimeError("boom"), try_number, task.retries + 1, None)
        delays.append(seconds(decision.retry_delay))
    return delays


def fire_times(dag, start, end):
    timetable = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag)).timetable
    # the scheduler's restriction starts at the DAG's start_date; a cron grid does not depend on
    # where it starts, so later starts save time; a delta grid starts at start_date itself
    earliest = dag.start_date if "Delta" in type(timetable).__name__ else max(dag.start_date, start)
    restriction = TimeRestriction(earliest=pendulum.instance(earliest), latest=pendulum.instance(end), catchup=True)
    out, last = [], None
    for _ in range(200000):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            break
        if info.run_after >= start:
            out.append(iso(info.run_after))
        last = info.data_interval
    return out


def describe(dag, fires):
    serialized = DagSerialization.serialize_dag(dag)
    flags = {t["__var"]["task_id"]: t["__var"].get("has_retry_policy", False) for t in serialized.get("tasks", [])}
    tasks = {}
    for task in dag.tasks:
        tasks[task.task_id] = {
            "owner": task.owner,
            "retries": task.retries,
            "retry_delay": seconds(task.retry_delay),
            "retry_exponential_backoff": task.retry_exponential_backoff,
            "max_retry_delay": seconds(task.max_retry_delay),
            "retry_policy_delays": retry_timeline(task),
            "serialized_has_retry_policy": flags.get(task.task_id),
            "bash_command": task.bash_command,
            "env": task.env,
            "append_env": task.append_env,
            "upstream": sorted(task.upstream_task_ids),
            "operator": type(task).__name__,
        }
    start = datetime.fromisoformat(fires["start"]) if fires else None
    end = datetime.fromisoformat(fires["end"]) if fires else None
    return {
        "fileloc": os.path.basename(dag.fileloc),
        "timetable": timetable_of(serialized),
        "start_date": iso(dag.start_date),
        "end_date": iso(dag.end_date),
        "timezone": dag.timezone.name,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "dagrun_timeout": seconds(dag.dagrun_timeout),
        "description": dag.description,
        "doc_md": dag.doc_md,
        "tags": sorted(dag.tags),
        "owner_links": dag.owner_links,
        "owner": dag.owner,
        "tasks": tasks,
        "fires": fire_times(dag, start, end) if fires and dag.timetable.can_be_scheduled else [],
    }


with warnings.catch_warnings():
    warnings.simplefilter("always")
    bag = DagBag(dag_folder=dags_folder)
answer = {
    "airflow": airflow.__version__,
    "import_errors": {os.path.basename(k): v for k, v in bag.import_errors.items()},
    "warnings": {os.path.basename(k): [str(w) for w in v] for k, v in bag.captured_warnings.items()},
    "dags": {dag_id: describe(dag, payload.get("fires")) for dag_id, dag in sorted(bag.dags.items())},
    "runs": [],
}

if payload.get("runs"):
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow import settings

    settings.configure_orm()
    for run in payload["runs"]:
        dag = bag.dags[run["dag_id"]]
        os.environ.update(run.get("env", {}))
        os.environ["RECORDER_OUT"] = run["recorder_out"]
        kwargs = {"run_after": datetime.fromisoformat(run["run_after"])}
        kwargs["logical_date"] = datetime.fromisoformat(run["logical_date"]) if run["logical_date"] else None
        try:
            dag_run = dag.test(**kwargs)
            states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
            answer["runs"].append({"state": str(dag_run.state), "tasks": states})
        except Exception as exc:  # a crash of the harness is an answer the test shows
            answer["runs"].append({"error": f"{type(exc).__name__}: {exc}"})
        for key in run.get("env", {}):
            os.environ.pop(key, None)

print(json.dumps(answer))
