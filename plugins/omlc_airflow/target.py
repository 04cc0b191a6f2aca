"""The Airflow 3.3 target: one DAG file per pipeline, BashOperator tasks running the runner.

What the generated DAG does with each OML field is in :attr:`AirflowTarget.support` (and in
docs/targets/airflow.md, which a test keeps equal to it). The rules that keep strings from
becoming code: every value is a Python literal (:func:`omlc.codegen.literal`); the only
Jinja in templated fields (``bash_command``, ``env``) is omlc's own, and text from OML
or the project file that lands in a templated field is escaped
(:func:`omlc.codegen.jinja_escape`). SQL and other step configs never enter the DAG at
all: the runner reads them from the runtime copy of the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from omlc.codegen import jinja_escape, literal
from omlc.diagnostics import diag
from omlc.targets import INFORMATIONAL, Loss, Support, Target, Unit, metadata_tags, step_names

TAG_MAX_LEN = 100  # airflow.sdk.definitions.dag.TAG_MAX_LEN
PIPELINE_TASK_ID = "run_pipeline"
# Airflow treats a bash_command ending in one of BashOperator.template_ext as a file name
BASH_TEMPLATE_EXT = (".sh", ".bash")
# Jinja of the fire time, for scheduled runs, backfills and manual runs (ENGINES.md)
FIRE_ARGS = "data_interval_end | default(none), dag_run.run_after"


@dataclass(frozen=True)
class AirflowSchedule:
    """The timetable a schedule becomes: ``cron`` (CronTriggerTimetable) or ``delta``
    (DeltaTriggerTimetable, for intervals no cron expression can give)."""

    kind: str
    expression: str | None = None
    timezone: str | None = None
    seconds: int | None = None
    exact_grid: bool = True  # False: the engine's grid can drift from OML's (see losses)


def airflow_schedule(schedule) -> AirflowSchedule:
    """How OML's schedule is expressed as an Airflow timetable.

    Cron expressions go to CronTriggerTimetable in the schedule's timezone (presets as
    written; ``a-a`` normalised, because croniter reads it as a whole range). Intervals on
    OML's grid (every ``every`` from the anchor) become the cron expression with the same
    fire times where one exists: absolute intervals dividing an hour or a day (in UTC,
    where elapsed time and wall time agree), one day or one week (at the anchor's local
    time). Others become DeltaTriggerTimetable from the start date.
    """
    from omlc.schedule.cron import parse_cron
    from omlc.schedule.timetable import Timetable

    if schedule.type == "cron":
        spec = parse_cron(schedule.expression)
        text = spec.text.strip()
        return AirflowSchedule("cron", text if text.startswith("@") else spec.normalized(), schedule.timezone)
    from omlc.schedule.targets import interval_cron

    fires = Timetable(schedule).fires
    mapped = interval_cron(fires, schedule.timezone)
    if mapped is not None:
        return AirflowSchedule("cron", mapped[0], mapped[1])
    every = fires.every
    return AirflowSchedule("delta", seconds=every.days * 86400 + every.seconds, exact_grid=False)


DOCS_INTRO = """# The Airflow target

`omlc compile --target airflow` writes, per pipeline, `<name>.py` (one DAG, DAG id = the
pipeline name) and `<name>.runtime.yaml` (the runtime copy of the pipeline the tasks run).
Generated code targets {versions}; it imports only Airflow, its standard provider and the
standard library. Each task is a `BashOperator` running the runner command from
`omlc.yaml` (default `osiris run ...`) with the OMLC_* environment variables
(`append_env=True`). The window is computed at run time from `data_interval_end`, or
`dag_run.run_after` for manual runs, by the same code `omlc schedule preview` uses.

How each OML field is expressed (this table is the loss report's source; a test keeps it
equal to the code). A field set in a pipeline that is not `exact` is reported by
`omlc compile` at its location; `--strict` fails on approximated and unsupported ones.
Value-dependent losses: a cron schedule whose fire times Airflow moves at a DST change
(approximated, with the day and times), an interval no cron expression gives
(DeltaTriggerTimetable: approximated), a `metadata.description` ending in `.md`.

"""


class AirflowTarget(Target):
    docs_intro = DOCS_INTRO
    name = "airflow"
    title = "Airflow 3.3"
    engine_versions = "apache-airflow 3.3 (tested with 3.3.2 and apache-airflow-providers-standard 1.21)"
    support = {
        "description": Support("exact", "DAG description"),
        "schedule.type": Support("exact", "cron: CronTriggerTimetable; interval: the cron expression with the same "
                                          "fire times, or DeltaTriggerTimetable"),
        "schedule.expression": Support("exact", "CronTriggerTimetable(expression, timezone=...)"),
        "schedule.timezone": Support("exact", "the timetable's timezone and the tz-aware pendulum start_date"),
        "schedule.start_date": Support("exact", "start_date (pendulum, in the schedule's timezone)"),
        "schedule.end_date": Support("exact", "end_date"),
        "schedule.retry": Support("exact", "default_args retries and retry_delay; backoff as the exact OML "
                                           "delay list in a RetryPolicy (Airflow 3.3 retry_policy), with "
                                           "retry_exponential_backoff and max_retry_delay as the native fallback"),
        "schedule.timeout": Support("exact", "dagrun_timeout"),
        "schedule.concurrency": Support("exact", "max_active_runs"),
        "schedule.catchup": Support("approximated", "catchup; with catchup off, Airflow still runs the latest "
                                                    "missed fire time once when the scheduler comes back (OML "
                                                    "runs none)"),
        "schedule.window": Support("emulated", "computed at run time by the generated DAG from data_interval_end "
                                               "(else dag_run.run_after), with omlc's window code; passed as "
                                               "OMLC_WINDOW_START/END and to the runner command"),
        "metadata.owner": Support("exact", "default_args owner; owner_links mailto: for an email address"),
        "metadata.team": Support("exact", "tag team:<team>"),
        "metadata.criticality": Support("exact", "tag criticality:<level>"),
        "metadata.tags": Support("exact", "tags"),
        "metadata.description": Support("exact", "doc_md"),
        "metadata.sla": Support("unsupported", "not emitted yet (Airflow's DeadlineAlert is planned)"),
        "metadata.tests": Support("unsupported", "not emitted yet (check tasks are planned)"),
        "metadata.lineage.upstream": Support("unsupported", "not emitted yet (Assets as inlets/outlets are planned)"),
        "metadata.lineage.downstream": Support("unsupported", "not emitted yet (Assets as inlets/outlets are planned)"),
        "metadata.notifications.on_failure": Support("unsupported", "not emitted yet (notifier callbacks are planned)"),
        "metadata.notifications.on_success": Support("unsupported", "not emitted yet (notifier callbacks are planned)"),
        "metadata.notifications.on_sla_breach": Support("unsupported", "not emitted yet (notifier callbacks are planned)"),
        **INFORMATIONAL,
    }

    # -- checks ------------------------------------------------------------------------
    def problems(self, unit: Unit):
        p = unit.pipeline
        loc = p.locations
        s = p.schedule
        if s is not None and s.catchup and s.start_date is None:
            yield diag("OML610", f"[{self.name}] catchup: true needs schedule.start_date: Airflow backfills every "
                       "fire time since the DAG's start_date", loc.value(("schedule", "catchup")),
                       "add start_date, or set catchup: false")
        for i, tag in enumerate(metadata_tags(p)):
            if len(tag) > TAG_MAX_LEN:
                at = loc.nearest(("metadata", "tags", i)) if p.metadata and i < len(p.metadata.tags) \
                    else loc.nearest(("metadata",))
                yield diag("OML610", f"[{self.name}] tag {tag[:40]!r}... is {len(tag)} characters; Airflow allows "
                           f"{TAG_MAX_LEN}", at, "shorten the tag")

    def value_losses(self, unit: Unit) -> Iterable[Loss]:
        from omlc.schedule.targets import dst_difference

        p = unit.pipeline
        s = p.schedule
        if s is not None:
            target = airflow_schedule(s)
            if target.kind == "delta":
                yield Loss(self.name, "schedule.expression", "approximated",
                           f"no cron expression gives every {s.expression.strip()}; DeltaTriggerTimetable steps "
                           "from start_date in elapsed time" + ("" if target.seconds % 86400 else
                                                                 ", so calendar days drift by the DST change")
                           + " and restarts its grid when the scheduler was down longer than the interval")
            elif (note := dst_difference(self.name, target.expression, target.timezone, s.start_date)) is not None:
                yield Loss(self.name, "schedule.expression", "approximated", note)
            if s.catchup:
                yield Loss(self.name, "schedule.catchup", "exact", "catchup=True")
        if p.metadata is not None and p.metadata.description is not None \
                and p.metadata.description.endswith(".md"):
            yield Loss(self.name, "metadata.description", "approximated",
                       "ends in '.md', which Airflow reads as a file name: doc_md gets a trailing newline")

    # -- emit --------------------------------------------------------------------------
    def emit(self, unit: Unit) -> dict[str, str]:
        return {f"{unit.pipeline.name}.py": self.render(unit, "dag.py.j2", self.values(unit))}

    def values(self, unit: Unit) -> dict:
        """Everything the template needs; code fragments are built from literals only."""
        from omlc.schedule.timetable import Timetable, retry_delays

        p = unit.pipeline
        s = p.schedule
        md = p.metadata
        timetable = Timetable(s) if s is not None else None
        if s is None:
            schedule_code, timetable_class, tz_name = "None", "", "UTC"
        else:
            target = airflow_schedule(s)
            tz_name = s.timezone
            if target.kind == "cron":
                timetable_class = "CronTriggerTimetable"
                schedule_code = f"CronTriggerTimetable({literal(target.expression)}, timezone={literal(target.timezone)})"
            else:
                timetable_class = "DeltaTriggerTimetable"
                schedule_code = f"DeltaTriggerTimetable(timedelta(seconds={literal(target.seconds)}))"
        start = end = None
        if timetable is not None:
            start = timetable.start
            if start is None and s.type == "interval":
                start = timetable.fires.anchor
            end = timetable.end
        retry = s.retry if s is not None else None
        delays = retry_delays(retry)
        # Airflow's own backoff adds a hash-based jitter: any timeline that is not one
        # constant delay goes through the exact delay list of a RetryPolicy
        policy = bool(delays) and len(set(delays)) > 1
        owner = md.owner if md else None
        spec = timetable.runtime_spec() if timetable is not None else {"timezone": "UTC"}
        tasks, edges = self.tasks(unit)
        return {
            "title": self.title,
            "dag_id": p.name,
            "source_name": p.name,
            "runtime_name": unit.runtime_name,
            "description": p.description,
            "doc_md": None if md is None or md.description is None else (
                md.description + ("\n" if md.description.endswith(".md") else "")),
            "timetable_class": timetable_class,
            "schedule_code": schedule_code,
            "start_date_args": _pendulum_args(start, tz_name),
            "end_date_args": _pendulum_args(end, tz_name) if end is not None else None,
            "catchup": bool(s.catchup) if s is not None else False,
            "max_active_runs": s.concurrency if s is not None else None,
            "dagrun_timeout": s.timeout.nominal_seconds if s is not None and s.timeout is not None else None,
            "tags": metadata_tags(p),
            "owner_links": {owner: "mailto:" + owner} if owner and _is_email(owner) else {},
            "owner": owner,
            "retries": retry.attempts if retry else 0,
            "retry_delay": (delays[0] if delays else retry.delay.nominal_seconds) if retry else None,
            "backoff": 2.0 if policy and retry.backoff == "exponential" else None,
            "max_retry_delay": retry.max_delay.nominal_seconds if retry and retry.max_delay else None,
            "retry_delays": delays if policy else [],
            "spec": spec,
            "tasks": tasks,
            "edges": edges,
        }

    def tasks(self, unit: Unit) -> tuple[list[dict], list[tuple[str, str]]]:
        p = unit.pipeline
        command = bash_command(unit.runner.shell())
        static = [("OMLC_PIPELINE", p.name)]
        dynamic = [
            ("OMLC_OML_PATH", "{{ omlc_oml_path }}"),
            ("OMLC_WINDOW_START", "{{ omlc_values(" + FIRE_ARGS + ")['window_start'] }}"),
            ("OMLC_WINDOW_END", "{{ omlc_values(" + FIRE_ARGS + ")['window_end'] }}"),
            ("OMLC_FIRE_TIME", "{{ omlc_values(" + FIRE_ARGS + ")['fire_time'] }}"),
            ("OMLC_RUN_ID", "{{ run_id }}"),
        ]
        if unit.granularity == "pipeline":
            env = [(k, jinja_escape(v)) for k, v in static] + dynamic + [("OMLC_STEP_ID", "")]
            return [{"var": "run_pipeline", "id": PIPELINE_TASK_ID, "command": command, "env": env}], []
        names = step_names(p.steps)
        tasks = []
        for step in p.steps:
            var = names[step.id]
            env = [(k, jinja_escape(v)) for k, v in static] + dynamic + [("OMLC_STEP_ID", jinja_escape(step.id))]
            tasks.append({"var": var, "id": step.id, "command": command, "env": env})
        edges = [(names[up], names[step_id]) for step_id, ups in p.effective_needs().items() for up in ups]
        return tasks, edges


def bash_command(shell: str) -> str:
    """The runner's shell text as a BashOperator bash_command: Jinja-escaped, and never
    ending in ``.sh``/``.bash`` (Airflow would read it as a template file name)."""
    text = jinja_escape(shell)
    if text.rstrip().endswith(BASH_TEMPLATE_EXT):
        text += " "
    return text


def _pendulum_args(moment: datetime | None, tz_name: str) -> str:
    """``pendulum.datetime`` arguments of an instant, as a wall time in ``tz_name``."""
    from omlc.schedule.engine import zone
    from omlc.schedule.timetable import INTERVAL_ANCHOR, resolve_wall

    tz = zone(tz_name)
    if moment is None:
        moment = resolve_wall(INTERVAL_ANCHOR, tz)
    local = moment.astimezone(tz)
    parts = [local.year, local.month, local.day]
    if local.hour or local.minute or local.second:
        parts += [local.hour, local.minute, local.second]
    return ", ".join(literal(x) for x in parts) + f", tz={literal(tz_name)}"


def _is_email(text: str) -> bool:
    local, at, domain = text.partition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in text))
