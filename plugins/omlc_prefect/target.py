"""The Prefect 3.9 target: one module per pipeline holding a flow and its deployment.

What the generated module does with each OML field is in :attr:`PrefectTarget.support`
(and in docs/targets/prefect.md, which a test keeps equal to it). The module defines a
``@flow`` whose tasks run the project's runner command through ``omlc_run_command`` (the
runtime copied from :mod:`omlc.runtime.process`), and a module-level ``deployment`` built
with ``flow.to_deployment(schedule=Cron(expr, timezone=...), concurrency_limit=...,
tags=..., description=...)``; ``python <module>.py`` serves it (``prefect.serve``). Every
value from OML is a Python literal (:func:`omlc.codegen.literal`); Prefect renders no
templates in any of them, so no escaping is needed beyond that. SQL and other step configs
never enter the module: the runner reads them from the runtime copy of the pipeline.

Why a served module and no ``prefect.yaml``: a ``prefect.yaml`` is one file per project
(``prefect deploy`` reads one, with every deployment in it), so emitting it would break
"one file per pipeline" and duplicate the schedule, tags and concurrency that the module
already declares; the module's ``deployment`` object can still go to a work pool with
``prefect.deploy(deployment, work_pool_name=...)``.

``metadata`` (omlc.metadata plans it): data tests are ``omlc_check`` tasks submitted after
the pipeline's tasks (made at run time, one per test, as each needs its own name anyway;
a module-level Task costs about a millisecond of import, while the lineage tasks stay
module-level so their assets can be read off the module); notifications are flow state hooks calling the embedded
``omlc_notify`` (the module names only environment variables); ``metadata.sla`` is an
``omlc_sla_watchdog`` timer the flow starts for fire time + sla and cancels when the run
ends. Why a watchdog and not a Prefect automation: OSS automations can notify only through
blocks stored on the server (the SMTP password and webhook URL would leave the project's
environment-variable scheme), they would be server objects created at deploy time that
read-back cannot see, and a proactive trigger counts from an event, not from the fire
time; what the watchdog cannot see (a run that never starts) is in the support table.
Lineage is Prefect assets: every flow materializes its own asset (:func:`asset_key` of
``pipeline: <name>``) with the upstream assets as dependencies, then the downstream assets
from it, after its checks pass.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Iterable

from omlc.codegen import literal
from omlc.metadata import RUNTIME_PER_DESTINATION, runtime_notification_losses
from omlc.targets import INFORMATIONAL, Loss, Support, Target, Unit, metadata_tags, step_names

PIPELINE_TASK_NAME = "run_pipeline"
SLA_BREACH = "emulated: sent by the SLA watchdog (see metadata.sla), as on_failure sends"
# the runtime functions the module calls itself, besides what the schedule's window needs
RUNTIME_EXTRA = ("omlc_run_command", "omlc_run_values", "omlc_prev_fire", "omlc_resolve_wall", "omlc_zone",
                 "omlc_instant")


def runtime_extra(spec: dict, notifying: bool = False, sla: bool = False) -> tuple[str, ...]:
    """The runtime functions the module calls besides what the window needs: the lateness
    check's ``omlc_prev_fire`` and the fire-time helpers it dispatches to, and the
    notification sender and SLA watchdog when the pipeline has them."""
    extra = RUNTIME_EXTRA + (("omlc_notify",) if notifying else ()) + (("omlc_sla_watchdog",) if sla else ())
    if "interval" in spec:
        return extra + ("_omlc_interval_prev",)
    if "cron" in spec:
        return extra + ("_omlc_day_instants",)
    return extra


def asset_key(kind: str, name: str) -> str:
    """The Prefect asset key of a lineage node: omlc's shared asset URI
    (:func:`omlc.lineage.asset_uri`), which Prefect takes unchanged."""
    from omlc.lineage import asset_uri

    return asset_uri(kind, name)


def lineage_assets(pipeline) -> dict:
    """The assets a pipeline's lineage becomes: ``own`` (the pipeline's node, what
    ``pipeline: <name>`` names; every flow materializes it, so a pipeline that lists this
    one upstream is linked to it in Prefect's asset graph), ``upstream`` and ``downstream``
    keys."""
    from omlc.lineage import PIPELINE, ref_parts

    lineage = pipeline.metadata.lineage if pipeline.metadata is not None else None
    return {"own": asset_key(PIPELINE, pipeline.name),
            "upstream": [asset_key(*ref_parts(r)) for r in (lineage.upstream if lineage else [])],
            "downstream": [asset_key(*ref_parts(r)) for r in (lineage.downstream if lineage else [])]}


@dataclass(frozen=True)
class PrefectSchedule:
    """The schedule object a pipeline's schedule becomes: ``cron`` (``Cron(expression,
    timezone=...)``) or ``interval`` (``Interval(timedelta(seconds=...), anchor_date=...,
    timezone=...)``, for intervals no cron expression gives)."""

    kind: str
    expression: str | None = None
    timezone: str | None = None
    seconds: int | None = None
    anchor: str | None = None  # ISO UTC instant of the interval grid
    exact_grid: bool = True


def prefect_schedule(schedule) -> PrefectSchedule:
    """How OML's schedule is expressed as a Prefect schedule (see :func:`_prefect_schedule`)."""
    return _prefect_schedule(schedule.type, schedule.expression, schedule.timezone, schedule.start_date)


@functools.lru_cache(maxsize=1024)
def _prefect_schedule(kind: str, expression: str, timezone_name: str, start_date: str | None) -> PrefectSchedule:
    """How OML's schedule is expressed as a Prefect schedule.

    Cron expressions go to ``Cron`` in the schedule's timezone (presets as written, ``a-a``
    normalised). Intervals on OML's grid become the cron expression with the same fire
    times where one exists: absolute intervals dividing an hour or a day (in UTC), one day
    or one week (at the anchor's local time). Other absolute intervals become ``Interval``
    anchored at OML's anchor in UTC (elapsed time: OML's grid); other calendar-day
    intervals become ``Interval`` in the timezone (approximated).
    """
    from omlc.schedule.cron import parse_cron
    from omlc.schedule.engine import canonical
    from omlc.schedule.timetable import Timetable

    if kind == "cron":
        spec = parse_cron(expression)
        text = spec.text.strip()
        return PrefectSchedule("cron", text if text.startswith("@") else spec.normalized(), timezone_name)
    schedule = SimpleNamespace(type=kind, expression=expression, timezone=timezone_name, start_date=start_date,
                               end_date=None, window=None)
    from omlc.schedule.targets import interval_cron

    fires = Timetable(schedule).fires
    mapped = interval_cron(fires, schedule.timezone)
    if mapped is not None:
        return PrefectSchedule("cron", mapped[0], mapped[1])
    every, anchor_iso = fires.every, canonical(fires.anchor).isoformat()
    if not every.days:  # elapsed time: OML's grid exactly, anchored in UTC
        return PrefectSchedule("interval", timezone="UTC", seconds=every.seconds, anchor=anchor_iso)
    return PrefectSchedule("interval", timezone=schedule.timezone, seconds=every.days * 86400 + every.seconds,
                           anchor=anchor_iso, exact_grid=False)


DOCS_INTRO = """# The Prefect target

`omlc compile --target prefect` writes, per pipeline, `<name>.py` (a flow, flow name = the
pipeline name, and a module-level `deployment` of the same name) and `<name>.runtime.yaml`
(the runtime copy of the pipeline the tasks run). Generated code targets {versions}; it
imports only Prefect and the standard library. `python <name>.py` serves the deployment
(`prefect.serve`); to run it on a work pool instead, pass the module's `deployment` to
`prefect.deploy(...)`. omlc writes no `prefect.yaml`: that file is one per project and would
repeat what each module declares.

Each task runs the runner command from `omlc.yaml` (default `osiris run ...`) in a
subprocess with the OMLC_* environment variables; granularity `step` makes one task per
step, submitted with its `needs` as `wait_for`. The window is computed at run time from the
flow run's `scheduled_start_time` (converted to a standard-library UTC datetime), or from the
flow's `fire_time` parameter (ISO 8601; without an offset, a wall time in the schedule's
timezone) for manual runs and backfills, by the same code `omlc schedule preview` uses.
Scheduled runs before `start_date`, after `end_date`, or (with `catchup: false`) whose next
fire time has already passed end as Completed with the state name `Skipped`.

`metadata` runs in the flow too. Data tests are check tasks after the pipeline's tasks; a
failing check fails the flow run. Notifications are flow state hooks (`on_failure` and
`on_crashed`, `on_completion`) that send email (SMTP), Slack (incoming webhook) and
PagerDuty (Events API v2) messages themselves, with the standard library; the module names
only the environment variables that hold the SMTP host, the webhook URL and the routing keys
(`notifications:` in `omlc.yaml`). `metadata.sla` is a watchdog timer in the flow-run
process, as Prefect OSS has no SLA: it detects a run that is still going at its deadline,
and a run that starts after it, but not a run that never starts (a proactive Prefect
automation could, but it needs a notification block on the server holding the secrets,
and measures time from an event, not from the fire time). Lineage becomes Prefect assets,
keyed by omlc's asset URIs (`omlc://table/mysql.orders`).

How each OML field is expressed (this table is the loss report's source; a test keeps it
equal to the code). A field set in a pipeline that is not `exact` is reported by
`omlc compile` at its location; `--strict` fails on approximated and unsupported ones.
Value-dependent losses: a cron schedule whose fire times Prefect moves at a DST change or
whose day fields croniter reads differently (approximated, with the day and times), an
interval of calendar days no cron expression gives (Interval: approximated),
`catchup: true` (unsupported).

"""


class PrefectTarget(Target):
    docs_intro = DOCS_INTRO
    name = "prefect"
    title = "Prefect 3.9"
    engine_versions = "prefect 3.9 (tested with 3.9.1)"
    support = {
        "description": Support("exact", "the flow's description (and the deployment's, without "
                                        "metadata.description)"),
        "schedule.type": Support("exact", "cron: Cron; interval: the cron expression with the same fire times, "
                                          "or Interval anchored on OML's grid"),
        "schedule.expression": Support("exact", "Cron(expression, timezone=...) on the deployment"),
        "schedule.timezone": Support("exact", "the Cron schedule's timezone; windows are computed in it"),
        "schedule.start_date": Support("emulated", "Prefect's Cron has no start date: the flow skips (state "
                                                   "Completed, name Skipped) scheduled runs before it"),
        "schedule.end_date": Support("emulated", "Prefect's Cron has no end date: the flow skips (state "
                                                 "Completed, name Skipped) scheduled runs after it"),
        "schedule.retry": Support("exact", "task retries and retry_delay_seconds as the exact OML delay list; "
                                           "no retry once the run's timeout has passed"),
        "schedule.timeout": Support("emulated", "a deadline for the whole run (retries included), enforced on the "
                                                "runner subprocess, whose process group is stopped at it "
                                                "(Prefect's task timeout cannot interrupt blocking code)"),
        "schedule.concurrency": Support("exact", "deployment concurrency_limit=ConcurrencyLimitConfig(limit, "
                                                 "collision_strategy=ENQUEUE)"),
        "schedule.catchup": Support("approximated", "Prefect has no catchup switch; with catchup off, a lateness "
                                                    "check in the flow skips a scheduled run once a later OML fire "
                                                    "time has passed: the latest missed run still runs (OML "
                                                    "runs none), and a run queued behind the concurrency limit "
                                                    "past its next fire time is skipped (OML queues it); runs "
                                                    "with a fire_time parameter always run"),
        "schedule.window": Support("emulated", "computed at run time by the flow from the flow run's "
                                               "scheduled_start_time (or the fire_time parameter), with omlc's "
                                               "window code; passed as OMLC_WINDOW_START/END and to the runner "
                                               "command"),
        "metadata.owner": Support("exact", "deployment tag owner:<owner> (Prefect has no owner field)"),
        "metadata.team": Support("exact", "deployment tag team:<team>"),
        "metadata.criticality": Support("exact", "deployment tag criticality:<level>"),
        "metadata.tags": Support("exact", "deployment tags"),
        "metadata.description": Support("exact", "the deployment's description"),
        "metadata.sla": Support("emulated", "Prefect OSS has no SLA (deployment SLAs are Prefect Cloud only): when "
                                            "a run starts, the flow starts a watchdog timer for fire time + sla that "
                                            "logs the breach in the run and sends on_sla_breach, cancelled when the "
                                            "run ends. It lives in the flow-run process: a run that never starts "
                                            "(no worker, queued behind the concurrency limit) sends nothing until it "
                                            "starts, and then at once; a run whose process dies first sends none (its "
                                            "crash is an on_failure); runs the flow skips have no SLA"),
        "metadata.tests": Support("exact", "one Prefect task per test (named by its check id), submitted after the "
                                           "pipeline's tasks (wait_for), running the check command of omlc.yaml "
                                           "(custom: the script, found relative to the module) with the run's OMLC_* "
                                           "values and OMLC_TEST_*; every check runs, then any failure fails the flow "
                                           "run (its on_failure hooks fire); within the run's timeout; not retried"),
        "metadata.lineage.upstream": Support("exact", "Prefect assets: once the pipeline's tasks and checks have "
                                                      "succeeded, every flow materializes the pipeline's own asset omlc://pipeline/<name> "
                                                      "(what `pipeline: <name>` names elsewhere, so those are linked to "
                                                      "it) with the upstream assets as its asset_deps; keys are omlc's "
                                                      "asset URIs; Prefect records them with each successful run"),
        "metadata.lineage.downstream": Support("exact", "Prefect assets materialized by a second task after that one, "
                                                        "with the pipeline's asset as their dependency: Prefect's asset "
                                                        "graph is upstream -> pipeline -> downstream, as `omlc lineage` "
                                                        "draws it, recorded by each successful run"),
        "metadata.notifications.on_failure": Support("approximated", "flow hooks on_failure and on_crashed (Prefect's "
                                                              "runner calls on_crashed when the flow-run process dies) "
                                                              "send to every target: email over SMTP, Slack incoming "
                                                              "webhook, PagerDuty Events API v2 (severity from "
                                                              "criticality), with servers and keys from the environment "
                                                              "variables omlc.yaml names; a failed send is logged in the "
                                                              "run, never raised; " + RUNTIME_PER_DESTINATION),
        "metadata.notifications.on_success": Support("approximated", "a flow on_completion hook, sending as on_failure "
                                                              "does (exact or approximated as it is); not for runs the "
                                                              "flow skips (state name Skipped)"),
        "metadata.notifications.on_sla_breach": Support("approximated", SLA_BREACH + "; approximated as on_failure "
                                                                        "is when its targets share a webhook or key"),
        **INFORMATIONAL,
    }

    # -- checks ------------------------------------------------------------------------
    def value_losses(self, unit: Unit) -> Iterable[Loss]:
        from omlc.schedule.targets import dst_difference

        p = unit.pipeline
        yield from runtime_notification_losses(self, unit, SLA_BREACH[len("emulated: "):])
        s = p.schedule
        if s is None:
            return
        target = prefect_schedule(s)
        if target.kind == "interval" and not target.exact_grid:
            yield Loss(self.name, "schedule.expression", "approximated",
                       f"no cron expression gives every {s.expression.strip()}; Prefect's Interval steps from "
                       f"the anchor in the schedule's timezone, which may place DST days differently from OML")
        elif target.kind == "cron":
            note = dst_difference(self.name, target.expression, target.timezone, s.start_date) or day_rule_difference(
                target.expression)
            if note is not None:
                yield Loss(self.name, "schedule.expression", "approximated", note)
        if s.catchup:
            yield Loss(self.name, "schedule.catchup", "unsupported",
                       "catchup: true: Prefect runs missed fire times only when their runs already exist (the "
                       "server was up while the worker was down); it never backfills from start_date. Backfill "
                       "with runs that pass the fire_time parameter")

    # -- emit --------------------------------------------------------------------------
    def emit(self, unit: Unit) -> dict[str, str]:
        values = self.values(unit)
        runtime = runtime_extra(values["spec"], values["notifying"], values["sla"] is not None)
        return {f"{unit.pipeline.name}.py": self.render(unit, "flow.py.j2", values, runtime)}

    def values(self, unit: Unit) -> dict:
        """Everything the template needs; code fragments are built from literals only."""
        from omlc.metadata import SEVERITY, runtime_notices, sla_seconds
        from omlc.schedule.engine import canonical
        from omlc.schedule.timetable import Timetable, retry_delays

        p = unit.pipeline
        s = p.schedule
        md = p.metadata
        timetable = Timetable(s) if s is not None else None
        schedule_code, schedule_import = None, None
        if s is not None:
            target = prefect_schedule(s)
            if target.kind == "cron":
                schedule_import = "Cron"
                schedule_code = f"Cron({literal(target.expression)}, timezone={literal(target.timezone)})"
            else:
                schedule_import = "Interval"
                schedule_code = (f"Interval(timedelta(seconds={literal(target.seconds)}), anchor_date="
                                 f"datetime.fromisoformat({literal(target.anchor)}), "
                                 f"timezone={literal(target.timezone)})")
        delays = retry_delays(s.retry if s is not None else None)
        tags = metadata_tags(p)
        if md is not None and md.owner:
            tags = list(dict.fromkeys(tags + [f"owner:{md.owner}"]))
        spec = timetable.runtime_spec() if timetable is not None else {"timezone": "UTC"}
        tasks, needs = self.tasks(unit)
        upstream_of = {up for ups in needs.values() for up in ups}
        leaves = [t["var"] for t in tasks if t["var"] not in upstream_of]
        sla = sla_seconds(p)
        events, notify = runtime_notices(p, unit.notify)
        return {
            "title": self.title,
            "flow_name": p.name,
            "runtime_name": unit.runtime_name,
            "pipeline": p.name,
            "command": unit.runner.shell(),
            "description": p.description,
            "deployment_description": md.description if md is not None else None,
            "schedule_code": schedule_code,
            "schedule_import": schedule_import,
            "start": canonical(timetable.start).isoformat() if timetable and timetable.start else None,
            "end": canonical(timetable.end).isoformat() if timetable and timetable.end else None,
            "catchup": bool(s.catchup) if s is not None else True,
            "concurrency": s.concurrency if s is not None else None,
            "timeout": s.timeout.nominal_seconds if s is not None and s.timeout is not None else None,
            "tags": tags,
            "retries": len(delays),
            "retry_delays": delays,
            "spec": spec,
            "tasks": tasks,
            "needs": needs,
            "granularity": unit.granularity,
            "leaves": leaves,
            "checks": list(unit.checks),
            "sla": sla,
            "events": events,
            "events_map": dict(events),
            "notifying": bool(events),
            "alerting": bool(events) or sla is not None,
            "notify": notify,
            "severity": SEVERITY[md.criticality if md is not None else None],
            "lineage": lineage_assets(p),
        }

    def tasks(self, unit: Unit) -> tuple[list[dict], dict[str, list[str]]]:
        """The flow's tasks (a Python name, the Prefect task name, the OML step id) and,
        per task name, the names of the tasks it waits for."""
        p = unit.pipeline
        if unit.granularity == "pipeline":
            return [{"var": "run_pipeline", "name": PIPELINE_TASK_NAME, "step_id": ""}], {"run_pipeline": []}
        names = step_names(p.steps)
        tasks = [{"var": names[step.id], "name": step.id, "step_id": step.id} for step in p.steps]
        effective = p.effective_needs()
        needs = {names[step.id]: [names[up] for up in effective.get(step.id, [])] for step in p.steps}
        return _topological(tasks, needs), needs


def _topological(tasks: list[dict], needs: dict[str, list[str]]) -> list[dict]:
    """The tasks in an order where each comes after the tasks it needs (stable: file order
    among ready tasks), so the flow can submit each with its upstream futures."""
    done: set[str] = set()
    ordered: list[dict] = []
    remaining = list(tasks)
    while remaining:
        for t in remaining:
            if all(up in done for up in needs[t["var"]]):
                ordered.append(t)
                done.add(t["var"])
                remaining.remove(t)
                break
        else:  # a cycle: validation rejects it; keep file order rather than loop
            ordered.extend(remaining)
            break
    return ordered


@functools.lru_cache(maxsize=1024)
def day_rule_difference(expression: str) -> str | None:
    """Prefect's croniter ORs the day fields when both are restricted by its own reading
    (``*/2`` counts as restricted); classic cron ANDs them when a field starts with ``*``."""
    from omlc.schedule.cron import parse_cron

    spec = parse_cron(expression)
    if spec.day_stars("croniter") != spec.day_stars("cron"):
        return (f"Prefect (croniter) matches days of {expression.strip()!r} differently from classic cron: a day "
                "field starting with '*' that is not the whole range is ORed with the other day field, where "
                "cron ANDs them")
    return None
