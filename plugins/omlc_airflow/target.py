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
from omlc.metadata import EVENTS
from omlc.targets import INFORMATIONAL, Loss, Support, Target, Unit, metadata_tags, step_names

TAG_MAX_LEN = 100  # airflow.sdk.definitions.dag.TAG_MAX_LEN
PIPELINE_TASK_ID = "run_pipeline"
# Airflow treats a bash_command ending in one of BashOperator.template_ext as a file name
BASH_TEMPLATE_EXT = (".sh", ".bash")
# Jinja of the fire time, for scheduled runs, backfills and manual runs (ENGINES.md)
FIRE_ARGS = "data_interval_end | default(none), dag_run.run_after"
# the official provider notifier of each notification channel: (module, class)
NOTIFIERS = {
    "email": ("airflow.providers.smtp.notifications.smtp", "SmtpNotifier"),
    "slack": ("airflow.providers.slack.notifications.slack_webhook", "SlackWebhookNotifier"),
    "pagerduty": ("airflow.providers.pagerduty.notifications.pagerduty", "PagerdutyNotifier"),
}
EVENT_WORDS = {"on_failure": "failed", "on_success": "succeeded", "on_sla_breach": "missed its SLA"}
# a deadline without anyone to tell: Airflow still records the miss (the UI shows it); the
# callback must be an importable awaitable, and the standard library's no-op coroutine is one
SILENT_DEADLINE_CALLBACK = "asyncio.sleep"


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
Generated code targets {versions}; it imports only Airflow, its official providers (standard;
smtp, slack and pagerduty where notifications use them) and the standard library. Each task is a `BashOperator` running the runner command from
`omlc.yaml` (default `osiris run ...`) with the OMLC_* environment variables
(`append_env=True`). The window is computed at run time from `data_interval_end`, or
`dag_run.run_after` for manual runs, by the same code `omlc schedule preview` uses.

`metadata` runs in the DAG too: each data test is a check task after the pipeline's tasks
(a failing check fails the run); notifications are the official providers' notifiers
(`apache-airflow-providers-smtp`, `-slack`, `-pagerduty`: install the ones your pipelines
use) as DAG callbacks and as the callback of the SLA's `DeadlineAlert`, which needs a
running triggerer; lineage references are Assets. Where notifications go is in Airflow
connections, named in `omlc.yaml` (`notifications.email.connection`, default
`smtp_default`, with the sender as the connection's `from_email`;
`notifications.slack.connection`, default `slack_default`, an incoming webhook, where
`{{channel}}` gives each Slack channel its own connection and webhook;
`notifications.pagerduty.connection`, default `pagerduty_events_default`, where
`{{service}}` gives each PagerDuty service its own connection and integration key).

How each OML field is expressed (this table is the loss report's source; a test keeps it
equal to the code). A field set in a pipeline that is not `exact` is reported by
`omlc compile` at its location; `--strict` fails on approximated and unsupported ones.
Value-dependent losses: a cron schedule whose fire times Airflow moves at a DST change
(approximated, with the day and times), an interval no cron expression gives
(DeltaTriggerTimetable: approximated), a `metadata.description` ending in `.md`, an SLA
in calendar days (`1d`, `1w`) in a timezone with DST (approximated: the deadline interval
is elapsed time); a notification event whose targets are all exact (email, Slack with `{{channel}}`
in the connection id, PagerDuty with `{{service}}` in it) is exact, one with a Slack
channel or a PagerDuty service sharing one connection is approximated.

"""


_HOW = ("one official provider notifier per target, connections named by omlc.yaml `notifications` "
        "(addresses and secrets live in the connections): email: SmtpNotifier(to=address, smtp_conn_id=email."
        "connection; sender from the connection), exact; pagerduty: PagerdutyNotifier(pagerduty_events_conn_id="
        "pagerduty.connection with {service} filled, component=service, group=pipeline, severity from "
        "criticality), exact when the connection id holds {service} (one integration key per service), "
        "approximated otherwise (every service alerts through that connection's integration key); slack: "
        "SlackWebhookNotifier(slack_webhook_conn_id=slack.connection with {channel} filled), exact when the "
        "connection id holds {channel} (one incoming webhook per channel), approximated otherwise: an incoming "
        "webhook posts to the channel it was created for, so the OML channel is named in the message only. An "
        "event whose targets are all exact is exact")


class AirflowTarget(Target):
    docs_intro = DOCS_INTRO
    name = "airflow"
    title = "Airflow 3.3"
    engine_versions = ("apache-airflow 3.3 (tested with 3.3.2 and apache-airflow-providers-standard 1.21, "
                       "-smtp 3.2, -slack 9.11, -pagerduty 5.3)")
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
        "metadata.sla": Support("exact", "DAG deadline: DeadlineAlert(reference=DeadlineReference.DAGRUN_LOGICAL_DATE, "
                                         "interval=the SLA), one per on_sla_breach target, its notifier as the "
                                         "AsyncCallback (run by the triggerer); the logical date of a run of the "
                                         "generated timetables is its fire time, also for catchup and backfill runs "
                                         "(DAGRUN_QUEUED_AT would count from when the scheduler queued the run). "
                                         "Airflow drops the deadline of a run that succeeds in time; a run still "
                                         "failed or running at the deadline breaches it. A manual run triggered "
                                         "without a logical date gets no deadline. Without on_sla_breach targets "
                                         "the callback is asyncio.sleep: the miss is recorded and shown, nobody is "
                                         "told"),
        "metadata.tests": Support("exact", "one BashOperator per test (task id check_<type>), downstream of every "
                                           "leaf step task, running the project's check command (custom: the "
                                           "script, resolved beside the DAG file) with the run's OMLC_* values "
                                           "and OMLC_TEST_*; retries=0 (a data verdict is not retried); a failing "
                                           "check fails the DAG run, which triggers on_failure"),
        "metadata.lineage.upstream": Support("exact", "Assets (omlc://<kind>/<name>, omlc.lineage.asset_uri) as "
                                                      "inlets of the first task(s)"),
        "metadata.lineage.downstream": Support("exact", "Assets as outlets of the last step task(s), with the "
                                                        "pipeline's own Asset omlc://pipeline/<name> (every DAG "
                                                        "has it, so a pipeline that lists this one upstream is "
                                                        "linked to it in Airflow's asset graph); no asset-"
                                                        "triggered scheduling"),
        "metadata.notifications.on_failure": Support("approximated", "DAG on_failure_callback (a failed run, a "
                                                                     "failed check or dagrun_timeout): " + _HOW),
        "metadata.notifications.on_success": Support("approximated", "DAG on_success_callback: " + _HOW),
        "metadata.notifications.on_sla_breach": Support("approximated", "the callback of the SLA's DeadlineAlert "
                                                                        "(an AsyncCallback of the same notifier "
                                                                        "class and arguments): " + _HOW),
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
        yield from self.metadata_losses(unit)

    def metadata_losses(self, unit: Unit) -> Iterable[Loss]:
        """Notifications: an event whose targets all reach exactly what OML names is exact;
        the others say which target is approximated and why. An SLA in calendar days in a
        zone with DST: Airflow adds elapsed time."""
        from omlc.metadata import shared_destinations

        p = unit.pipeline
        then = {"slack": "SlackWebhookNotifier posts to the channel its webhook was made for; {target} is named in "
                         "the message only",
                "pagerduty": "{target} is the event's component"}
        for event, why in shared_destinations(unit, "connection", then).items():
            yield Loss(self.name, f"metadata.notifications.{event}", "approximated" if why else "exact", "; ".join(why))
        md = p.metadata
        if md is not None and md.sla is not None and md.sla.is_calendar and p.schedule is not None \
                and _has_dst(p.schedule.timezone):
            yield Loss(self.name, "metadata.sla", "approximated",
                       f"{md.sla.to_text()} counts calendar days on the wall clock of {p.schedule.timezone}; the "
                       f"DeadlineAlert interval is {md.sla.nominal_seconds} s of elapsed time, an hour off across "
                       "a DST change")

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
        callbacks, deadlines, notifier_classes = self.notifications(unit)
        sdk = ["DAG"] + [timetable_class] * bool(timetable_class) + ["RetryDecision", "RetryPolicy"] * policy
        if any(t.get("inlets") or t.get("outlets") for t in tasks):
            sdk.append("Asset")
        if deadlines:
            sdk += ["AsyncCallback", "DeadlineAlert", "DeadlineReference"]
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
            "sdk_names": ", ".join(sorted(sdk, key=lambda n: (n != "DAG", n))),
            "notifier_imports": sorted(NOTIFIERS[c] for c in notifier_classes),
            "import_asyncio": any(d["callback"] == SILENT_DEADLINE_CALLBACK for d in deadlines),
            "callbacks": callbacks,
            "deadlines": deadlines,
            "test_scripts": {c.id: c.script for c in unit.checks if c.script is not None},
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
        inlets, outlets = lineage_assets(p)
        if unit.granularity == "pipeline":
            env = [(k, jinja_escape(v)) for k, v in static] + dynamic + [("OMLC_STEP_ID", "")]
            tasks = [{"var": "run_pipeline", "id": PIPELINE_TASK_ID, "command": command, "env": env,
                      "inlets": inlets, "outlets": outlets}]
            edges: list[tuple] = []
            leaves = ["run_pipeline"]
        else:
            names = step_names(p.steps)
            needs = p.effective_needs()
            needed = {up for ups in needs.values() for up in ups}
            tasks = []
            for step in p.steps:
                env = [(k, jinja_escape(v)) for k, v in static] + dynamic + [("OMLC_STEP_ID", jinja_escape(step.id))]
                tasks.append({"var": names[step.id], "id": step.id, "command": command, "env": env,
                              "inlets": inlets if not needs[step.id] else [],
                              "outlets": outlets if step.id not in needed else []})
            edges = [(names[up], names[step_id]) for step_id, ups in needs.items() for up in ups]
            leaves = [names[s.id] for s in p.steps if s.id not in needed]
        for check in unit.checks:  # after every leaf step; a failing check fails the run
            env = [(k, jinja_escape(v)) for k, v in static] + dynamic + [("OMLC_STEP_ID", "")]
            env += [(k, jinja_escape(v)) for k, v in check.values.items()]
            if check.script is not None:
                env.append(("OMLC_TEST_SCRIPT", "{{ omlc_test_scripts[" + literal(check.id) + "] }}"))
            tasks.append({"var": check.id, "id": check.id, "command": bash_command(check.command), "env": env,
                          "retries": 0, "inlets": [], "outlets": []})
            edges.append((leaves[0] if len(leaves) == 1 else "[" + ", ".join(leaves) + "]", check.id))
        return tasks, edges

    def notifications(self, unit: Unit) -> tuple[dict[str, list], list[dict], set[str]]:
        """The DAG's notifier callbacks (argument -> notifiers), its deadline alerts, and
        the channels used. Each notifier: {"cls", "args": [(keyword, value)]}; every value
        is rendered as a literal, text from OML Jinja-escaped (notifier fields are templated)."""
        from omlc.metadata import notices, sla_seconds

        p = unit.pipeline
        found = notices(p)
        callbacks = {f"{event}_callback": [notifier(unit, event, n) for n in found.get(event, [])]
                     for event in ("on_failure", "on_success")}
        callbacks = {k: v for k, v in callbacks.items() if v}
        deadlines = []
        sla = sla_seconds(p)
        if sla is not None:
            for n in found.get("on_sla_breach", []):
                made = notifier(unit, "on_sla_breach", n)
                deadlines.append({"interval": sla, "callback": made["cls"], "kwargs": made["args"]})
            if not deadlines:
                deadlines.append({"interval": sla, "callback": SILENT_DEADLINE_CALLBACK, "kwargs": [("delay", 0)]})
        used = {n.channel for event in EVENTS for n in found.get(event, [])
                if event != "on_sla_breach" or sla is not None}
        return callbacks, deadlines, used


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


def lineage_assets(pipeline) -> tuple[list[str], list[str]]:
    """The ``Asset(...)`` code of the inlets (upstream references) and the outlets
    (downstream references, then the pipeline's own asset), named by omlc.lineage."""
    from omlc.lineage import PIPELINE, ref_parts

    lineage = pipeline.metadata.lineage if pipeline.metadata is not None else None
    ups = [ref_parts(r) for r in (lineage.upstream if lineage else [])]
    downs = [ref_parts(r) for r in (lineage.downstream if lineage else [])]
    return [asset_code(k, n) for k, n in ups], [asset_code(k, n) for k, n in downs + [(PIPELINE, pipeline.name)]]


def asset_code(kind: str, name: str) -> str:
    """``Asset('omlc://kind/name')``; a URI too long to hold the name (omlc.lineage ends it
    with a hash) carries the reference in ``extra`` so the DAG still says what it names."""
    from omlc.lineage import asset_uri

    uri = asset_uri(kind, name)
    if "~~" in uri:
        return f"Asset({literal(uri)}, extra={literal({'omlc_ref': f'{kind}: {name}'})})"
    return f"Asset({literal(uri)})"


def notifier(unit: Unit, event: str, notice) -> dict:
    """One official notifier for one OML target: class name and keyword arguments (values
    as Python objects; strings already Jinja-escaped where they come from OML or omlc.yaml).

    The message: "[omlc] pipeline NAME failed" and the run's id, with the reason Airflow
    gives (DAG callbacks: their context has run_id and reason) or the deadline (an SLA
    breach: the triggerer's context has dag_run and deadline)."""
    import html

    from omlc.durations import Duration
    from omlc.metadata import SEVERITY, filled_setting

    p = unit.pipeline
    e = jinja_escape
    subject = f"[omlc] pipeline {p.name} {EVENT_WORDS[event]}"
    if event == "on_sla_breach":
        sla = Duration(0, p.metadata.sla.nominal_seconds).to_text()
        run = "{{ dag_run.dag_run_id }}"
        details = [("run_id", run), ("deadline", "{{ deadline.deadline_time }}"), ("sla", e(sla))]
    else:
        run = "{{ run_id }}"
        details = [("run_id", run), ("reason", "{{ reason }}")]
    settings = unit.notify.get(notice.channel, {})
    connection = e(filled_setting(settings["connection"], notice.channel, notice.target, False))
    if notice.channel == "email":
        body = "<p>" + e(html.escape(subject)) + "</p><p>" + "<br>".join(f"{k}: {v}" for k, v in details) + "</p>"
        args = [("to", e(notice.target)), ("smtp_conn_id", connection), ("subject", e(subject)),
                ("html_content", body)]
    elif notice.channel == "slack":
        text = "\n".join([e(subject), e(f"channel: {notice.target}")] + [f"{k}: {v}" for k, v in details])
        args = [("slack_webhook_conn_id", connection), ("text", text)]
    else:
        md = p.metadata
        args = [("pagerduty_events_conn_id", connection),
                ("summary", e(subject[:1024])), ("severity", SEVERITY[md.criticality if md else None]),
                ("source", e(f"omlc/{p.name}")), ("component", e(notice.target)), ("group", e(p.name)),
                ("dedup_key", e(f"omlc/{p.name}/") + run + e(f"/{event}")),
                ("custom_details", {"pipeline": e(p.name), "event": event, **dict(details)})]
    return {"cls": NOTIFIERS[notice.channel][1], "args": args}


def _has_dst(tz_name: str) -> bool:
    from datetime import datetime, timezone

    from omlc.schedule.engine import zone

    tz = zone(tz_name)
    offsets = {datetime(2024, m, 1, tzinfo=timezone.utc).astimezone(tz).utcoffset() for m in range(1, 13)}
    return len(offsets) > 1
