"""Generated DAGs as real Airflow sees them (runs in the Airflow venv; never imports omlc).

Payload on stdin:
  {"source": the folder of generated files (Airflow's DAGs folder),
   "fires": {"start": ISO UTC, "end": ISO UTC},          # fire times from the serialized timetable
   "runs": [{"dag_id": str, "logical_date": ISO | null, "run_after": ISO,
             "recorder_out": path, "env": {...}}],        # dag.test() runs (needs `airflow db migrate`)
   "clear_deadlines": bool,                               # before dag.test (an Airflow bug, ENGINES.md)
   "environ": {...},                                      # set first: connections (AIRFLOW_CONN_*)
   "pagerduty_url": URL | null,                           # where the PagerDuty hooks send (harness only)
   "callbacks": [run index, ...]}                         # after those runs: their DAG callbacks and
                                                          # deadline callbacks, as Airflow runs them
Answer on stdout (last line): {"airflow": version, "import_errors": {...}, "warnings": {...},
  "dags": {dag_id: {attributes, "tasks": {...}, "fires": [ISO UTC, ...], notifiers, deadlines}},
  "runs": [{"state": ...}], "callbacks": [{"dag_id", "deadline_events": [...]}]}

DAG callbacks run through Airflow's own path: the scheduler's callback request for the run
(DagRun.produce_dag_callback) executed as the DAG processor executes it
(airflow.dag_processing.processor._execute_dag_callbacks), because dag.test() hands them a
serialized DAG they cannot render with (an Airflow bug: it logs an error). A deadline
callback runs as the triggerer runs it (airflow.triggers.callback.CallbackTrigger) with the
context the scheduler gives it when the deadline is missed (Deadline.handle_miss).
"""

import json
import os
import subprocess
import sys
import warnings
from datetime import datetime, timezone

payload = json.load(sys.stdin)
dags_folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = payload["source"]  # before Airflow reads its config
os.environ.update(payload.get("environ") or {})

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


def redirect_pagerduty(url):
    """The PagerDuty provider's hooks send to https://events.pagerduty.com, hard-coded (the
    sync hook through the pagerduty client, which refuses http URLs; the async hook in its
    constructor): point both at ``url``. Test harness only; the generated code is untouched."""
    import pagerduty
    from airflow.providers.pagerduty.hooks.pagerduty_events import PagerdutyEventsAsyncHook

    client_init, hook_init = pagerduty.EventsApiV2Client.__init__, PagerdutyEventsAsyncHook.__init__

    def client(self, *args, **kwargs):
        client_init(self, *args, **kwargs)
        self._url = url  # past the https:// check of the url setter

    def hook(self, *args, **kwargs):
        hook_init(self, *args, **kwargs)
        self.base_url = url

    pagerduty.EventsApiV2Client.__init__ = client
    PagerdutyEventsAsyncHook.__init__ = hook


def plain(value):
    """A notifier field as JSON: strings, numbers, lists and dicts as they are."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value if value is None or isinstance(value, (str, int, float, bool)) else repr(value)


def notifier_fields(notifier, context):
    """A notifier's templated fields as written, and as Airflow renders them with ``context``
    (on a copy: rendering is irreversible)."""
    import copy

    rendered = copy.deepcopy(notifier)
    rendered.render_template_fields(context)
    return {"class": type(notifier).__name__,
            "fields": {f: plain(getattr(notifier, f, None)) for f in notifier.template_fields},
            "rendered": {f: plain(getattr(rendered, f, None)) for f in notifier.template_fields}}


def callbacks_of(dag, which):
    found = getattr(dag, which) or []
    found = found if isinstance(found, list) else [found]
    context = {"dag": dag, "run_id": "RUN_ID", "reason": "REASON"}  # what the DAG processor always gives
    return [notifier_fields(n, context) if hasattr(n, "template_fields") else {"class": repr(n)} for n in found]


def deadlines_of(dag):
    from airflow._shared.module_loading import import_string

    out = []
    for alert in dag.deadline or []:
        callback = alert.callback.serialize()
        entry = {"reference": type(alert.reference).__name__, "interval": seconds(alert.interval),
                 "callback_type": type(alert.callback).__name__, "path": callback["path"],
                 "kwargs": plain(callback["kwargs"])}
        target = import_string(callback["path"])
        if hasattr(target, "template_fields"):  # a notifier: rendered as the triggerer would
            context = {"dag_run": {"dag_run_id": "RUN_ID"}, "deadline": {"deadline_time": "DEADLINE"}}
            entry["notifier"] = notifier_fields(target(**callback["kwargs"], context=context), context)
        out.append(entry)
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
            "inlets": [a.uri for a in task.inlets],
            "outlets": [a.uri for a in task.outlets],
            "inlet_extra": [a.extra for a in task.inlets],
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
        "on_failure_callback": callbacks_of(dag, "on_failure_callback"),
        "on_success_callback": callbacks_of(dag, "on_success_callback"),
        "deadlines": deadlines_of(dag),
        "serialized_deadline": bool(serialized.get("deadline")),
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

if payload.get("pagerduty_url"):
    redirect_pagerduty(payload["pagerduty_url"])
done = {}
deadlines = {dag_id: dag.deadline for dag_id, dag in bag.dags.items()}
if payload.get("runs"):
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow import settings

    settings.configure_orm()
    for index, run in enumerate(payload["runs"]):
        dag = bag.dags[run["dag_id"]]
        if payload.get("clear_deadlines"):
            dag.deadline = None
        os.environ.update(run.get("env", {}))
        os.environ["RECORDER_OUT"] = run["recorder_out"]
        kwargs = {"run_after": datetime.fromisoformat(run["run_after"])}
        kwargs["logical_date"] = datetime.fromisoformat(run["logical_date"]) if run["logical_date"] else None
        try:
            dag_run = dag.test(**kwargs)
            states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
            answer["runs"].append({"state": str(dag_run.state), "tasks": states})
            done[index] = dag_run
        except Exception as exc:  # a crash of the harness is an answer the test shows
            answer["runs"].append({"error": f"{type(exc).__name__}: {exc}"})
        for key in run.get("env", {}):
            os.environ.pop(key, None)



def run_callbacks(index):
    """The run's DAG callbacks, then each deadline callback of its DAG, as Airflow runs them."""
    import asyncio

    import structlog
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse
    from airflow.dag_processing.processor import _execute_dag_callbacks
    from airflow.models.dagrun import DagRun
    from airflow.triggers.callback import CallbackTrigger
    from airflow.utils.session import create_session

    with create_session() as session:
        dag_run = session.get(DagRun, done[index].id)
        tis = dag_run.get_task_instances(session=session)
        success = str(dag_run.state) == "success"
        last = max((ti for ti in tis if str(ti.state) == ("success" if success else "failed")),
                   key=lambda ti: ti.end_date, default=None)
        request = dag_run.produce_dag_callback(dag=None, success=success, relevant_ti=last,
                                               reason="success" if success else "task_failure", execute=False)
        context = {"dag_run": DAGRunResponse.model_validate(dag_run).model_dump(mode="json")}
    _execute_dag_callbacks(bag, request, structlog.get_logger())
    events = []
    for alert in deadlines[dag_run.dag_id] or []:
        callback = alert.callback.serialize()
        deadline = {"id": "test", "deadline_time": (dag_run.logical_date + alert.interval).isoformat()}
        kwargs = dict(callback["kwargs"], context=dict(context, deadline=deadline))

        async def collect(trigger):
            return [event.payload async for event in trigger.run()]

        events.append([plain(e) for e in asyncio.run(collect(CallbackTrigger(callback["path"], kwargs)))])
    return {"dag_id": dag_run.dag_id, "deadline_events": events}


answer["callbacks"] = []
for index in payload.get("callbacks") or []:
    try:
        answer["callbacks"].append(run_callbacks(index))
    except Exception as exc:  # a crash of the harness is an answer the test shows
        answer["callbacks"].append({"error": f"{type(exc).__name__}: {exc}"})

print(json.dumps(answer))
