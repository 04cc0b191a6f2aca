"""The Dagster 1.13 target: one module per pipeline with a job of ops, a schedule and ``defs``.

What the generated module does with each OML field is in :attr:`DagsterTarget.support`
(and in docs/targets/dagster.md, which a test keeps equal to it). Ops, not assets: an OML
pipeline is a graph of commands with no declared data products, which is what a job of
ops is. ``metadata``: data tests are check ops after the leaf ops (a failing one fails the
run); notifications are run status sensors calling the embedded ``omlc_notify``; the SLA is
a sensor over the job's runs (FreshnessPolicy is for assets); lineage is asset specs in
``defs`` (see :func:`lineage_specs`) whose materializations a last op of the job records.
Every value is a Python literal (:func:`omlc.codegen.literal`); SQL and other step configs
never enter the module: the runner reads them from the runtime copy of the pipeline. Each op
runs the project's runner command through the embedded ``omlc_run_command``, which also
stops it at the run's deadline (Dagster ops have no timeout). Dagster names must match
``^[A-Za-z0-9_]+$``: other pipeline names are renamed deterministically (reported) and kept
as the tag ``omlc/pipeline``. Settings Dagster reads only from the instance (run
monitoring for ``dagster/max_runtime``, run concurrency) go to ``<name>.dagster.yaml``, a
fragment to merge into the instance's dagster.yaml.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from omlc.diagnostics import diag
from omlc.metadata import RUNTIME_PER_DESTINATION, runtime_notification_losses
from omlc.targets import INFORMATIONAL, Loss, Support, Target, Unit, step_names

# dagster._core.definitions.utils (1.13.28)
VALID_NAME = re.compile(r"^[A-Za-z0-9_]+$")
DISALLOWED_NAMES = frozenset(keyword.kwlist) | {
    "arg_dict", "async", "await", "bool", "conf", "config", "context", "dict", "float", "input",
    "input_arg_dict", "int", "meta", "output", "output_arg_dict", "str", "type",
}
# dagster._utils.tags (1.13.28): keys outside this are deprecated (a warning at import)
VALID_TAG_KEY = re.compile(r"^([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}$")
SYSTEM_TAG_PREFIX = "dagster/"
PIPELINE_TAG = "omlc/pipeline"
CONCURRENCY_TAG = "omlc/concurrency_key"
MAX_RUNTIME_TAG = "dagster/max_runtime"
PIPELINE_OP = "run_pipeline"
LINEAGE_OP = "lineage"  # the op that records metadata.lineage: <job>__lineage
SLA_BREACH = "emulated: sent by the SLA sensor (see metadata.sla), as on_failure sends; nothing without metadata.sla"
FRAGMENT_SUFFIX = ".dagster.yaml"


def dagster_name(name: str) -> str:
    """A valid Dagster name for a pipeline: the name itself when Dagster accepts it, else
    the name with every other character as ``_`` plus 8 hex digits of its sha256 (so two
    names that differ only in those characters stay apart)."""
    if VALID_NAME.match(name) and name not in DISALLOWED_NAMES:
        return name
    safe = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return f"{safe}_{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


@dataclass(frozen=True)
class DagsterSchedule:
    """The cron schedule a pipeline schedule becomes; ``grid`` is True when the schedule
    function keeps only the ticks on OML's interval grid (intervals no cron gives)."""

    expression: str
    timezone: str
    grid: bool = False


def dagster_schedule(schedule) -> DagsterSchedule:
    """How OML's schedule is expressed as a Dagster cron schedule.

    Cron expressions are emitted normalised (presets expanded, ``a-a`` as ``a``) in the
    schedule's timezone. Intervals become the cron expression with the same fire times
    where one exists: absolute intervals dividing an hour or a day (in UTC), one day or one
    week (at the anchor's local time). Other intervals tick every minute (absolute ones, in
    UTC) or every day at the anchor's local time (whole days), and the schedule function
    keeps only the ticks on OML's grid."""
    from omlc.schedule.cron import parse_cron
    from omlc.schedule.timetable import Timetable

    if schedule.type == "cron":
        return DagsterSchedule(parse_cron(schedule.expression).normalized(), schedule.timezone)
    from omlc.schedule.targets import interval_cron

    fires = Timetable(schedule).fires
    mapped = interval_cron(fires, schedule.timezone)
    if mapped is not None:
        return DagsterSchedule(mapped[0], mapped[1])
    every = fires.every
    if every.days and not every.seconds:  # whole days: tick daily at the anchor's local time, keep OML's days
        local = fires.anchor.astimezone(fires.tz)
        return DagsterSchedule(f"{local.minute} {local.hour} * * *", schedule.timezone, grid=True)
    return DagsterSchedule("* * * * *", "UTC", grid=True)


def dagster_tags(pipeline, job_name: str) -> tuple[dict[str, str], list[str]]:
    """The job's tags, and the OML tags that could not be tag keys. OML tags that are valid
    Dagster tag keys become keys with an empty value (how Dagster shows a plain tag); others
    (and those that would clash with omlc's keys) become the value of ``omlc/tag.<n>``."""
    p = pipeline
    md = p.metadata
    s = p.schedule
    tags: dict[str, str] = {PIPELINE_TAG: p.name}
    if md is not None:
        if md.owner:
            tags["owner"] = md.owner
        if md.team:
            tags["team"] = md.team
        if md.criticality:
            tags["criticality"] = md.criticality
    if s is not None and s.timeout is not None:
        tags[MAX_RUNTIME_TAG] = str(s.timeout.nominal_seconds)
    if s is not None and s.concurrency is not None:
        tags[CONCURRENCY_TAG] = job_name
    moved = []
    for i, tag in enumerate(md.tags if md is not None else [], 1):
        if VALID_TAG_KEY.match(tag) and not tag.startswith(SYSTEM_TAG_PREFIX) and tag not in tags:
            tags[tag] = ""
        elif tag not in moved:
            tags[f"omlc/tag.{i}"] = tag
            moved.append(tag)
    return tags, moved


def sensor_names(pipeline, job: str) -> dict[str, str]:
    """The sensors a pipeline's metadata becomes (names unique in a code location: prefixed
    with the job's): ``on_failure`` and ``on_success`` run status sensors when the event has
    someone to tell, ``sla`` when ``metadata.sla`` is set (it also logs a breach that has
    nobody to tell)."""
    from omlc.metadata import notices, sla_seconds

    notes = notices(pipeline)
    found = {event: f"{job}__{event}" for event in ("on_failure", "on_success") if event in notes}
    if sla_seconds(pipeline) is not None:
        found["sla"] = f"{job}__sla"
    return found


def lineage_specs(pipeline) -> dict:
    """The asset specs of a pipeline's lineage (:func:`omlc.lineage.asset_key`): ``own`` (the
    key of ``pipeline: <name>``; every module defines it, so another pipeline's ``pipeline:
    <name>`` dependency is this node), ``upstream`` and ``downstream`` as ``(key, kind,
    name)`` (the reference as OML writes it beside the key, which is not always invertible), and ``both``: the keys
    listed both ways (OML522 warns), whose upstream edge is dropped (Dagster refuses the
    cycle pipeline -> key -> pipeline)."""
    from omlc.lineage import PIPELINE, asset_key, ref_parts

    lineage = pipeline.metadata.lineage if pipeline.metadata is not None else None
    refs = {side: [(asset_key(*ref_parts(r)), r.kind, r.name) for r in (getattr(lineage, side) if lineage else [])]
            for side in ("upstream", "downstream")}
    down = [key for key, _, _ in refs["downstream"]]
    both = [key for key, _, _ in refs["upstream"] if key in down]
    return {"own": asset_key(PIPELINE, pipeline.name), **refs, "both": both}


DOCS_INTRO = """# The Dagster target

`omlc compile --target dagster` writes, per pipeline, `<name>.py` (a job of ops, its
schedule and `defs = dg.Definitions(...)`), `<name>.runtime.yaml` (the runtime copy of the
pipeline the ops run) and, when the pipeline sets `schedule.timeout` or
`schedule.concurrency`, `<name>.dagster.yaml`: a fragment to merge into the Dagster
instance's `dagster.yaml` (run monitoring, so that `dagster/max_runtime` is enforced, and a
`tag_concurrency_limits` entry; Dagster reads both from the instance only). Generated code
targets {versions}; it imports only Dagster and the standard library, and never uses
`from __future__ import annotations`.

- **Ops, not assets.** An OML pipeline is a graph of commands without declared data
  products; a job of ops says exactly that. Each op runs the runner command from
  `omlc.yaml` (default `osiris run ...`) with the OMLC_* environment variables, through
  the embedded `omlc_run_command` (its own process group, stopped at the run's deadline).
- **Names.** Dagster names match `^[A-Za-z0-9_]+$`. A pipeline name that does not (or is a
  Python keyword) becomes the name with `_` for each other character plus 8 hex digits of
  its sha256 (`adversarial.injection-test_01` -> `adversarial_injection_test_01_<hash>`);
  the original name is the tag `omlc/pipeline`. The schedule is `<job>_schedule`; ops are
  `<job>__run_pipeline`, or `<job>__step_<id>` per step (op names must be unique in a
  code location).
- **Fire time.** The schedule function passes `context.scheduled_execution_time` (ISO
  8601) as the op config `fire_time` in the run config. A manual run (launchpad,
  `execute_in_process`, no schedule tick) leaves `fire_time` empty and the fire time is the
  run's start time (from the run record; the same for every op of the run). Set
  `fire_time` in the run config to rerun a past fire time. The window is computed from it
  at run time by the same code `omlc schedule preview` uses.
- **Retries.** Dagster's EXPONENTIAL backoff is delay*(2^n-1), not OML's delay*2^(n-1):
  the op raises `RetryRequested(seconds_to_wait=...)` with OML's delay for each retry.
- **Timeout.** `dagster/max_runtime` needs run monitoring (the fragment); the op also
  stops the runner itself at the run's deadline, and a run past it fails without retries.
- **Catchup.** A schedule without partitions launches only the latest missed tick after
  downtime.
- **Metadata.** Data tests are check ops in the same job, after every leaf op (asset
  checks need assets the job materializes; this job has none); a failing check fails the
  run. Notifications are run status sensors (`<job>__on_failure`, `<job>__on_success`)
  that send email (SMTP), Slack (incoming webhook) and PagerDuty (Events API v2) messages
  with the standard library; the module names only the environment variables holding the
  SMTP host, webhook URL and routing keys (`notifications:` in `omlc.yaml`). `metadata.sla`
  is a sensor `<job>__sla` over the job's runs (FreshnessPolicy applies to assets only).
  Sensors, like the schedule, are running by default and need the Dagster daemon.
  Lineage is asset specs in `defs` keyed by `omlc.lineage.asset_key`
  (`table: mysql.orders` -> `table/mysql/orders`): the pipeline's own key
  `pipeline/<name>` depends on the upstream keys, each downstream key on it. When the
  pipeline declares lineage, a last op `<job>__lineage`, after every other op and check,
  records a materialization of its own key and of each downstream key (the specs stay
  external: Dagster does not run them). A key listed both upstream and downstream keeps only its
  downstream edge (Dagster refuses the cycle; reported).

How each OML field is expressed (this table is the loss report's source; a test keeps it
equal to the code). A field set in a pipeline that is not `exact` is reported by
`omlc compile` at its location; `--strict` fails on approximated and unsupported ones.
Value-dependent losses: a pipeline name Dagster rejects (renamed: approximated), a cron
schedule whose fire times Dagster moves at a DST change or a zone whose DST changes Dagster
mis-handles (approximated), an interval no cron expression gives (emulated), `catchup:
true` (unsupported), tags that are not valid Dagster tag keys (approximated), a lineage
reference listed both upstream and downstream (approximated).

"""


class DagsterTarget(Target):
    docs_intro = DOCS_INTRO
    name = "dagster"
    title = "Dagster 1.13"
    engine_versions = "dagster 1.13 (tested with 1.13.28)"
    support = {
        "name": Support("exact", "job name; a name Dagster rejects (outside [A-Za-z0-9_], or a Python keyword) "
                                 "becomes the name with `_` for each other character plus 8 hex digits of its "
                                 "sha256 (reported as approximated); the original is the tag omlc/pipeline"),
        "description": Support("exact", "job description"),
        "schedule.type": Support("exact", "cron: cron_schedule; interval: the cron expression with the same fire "
                                          "times, else a tick every minute (or day) that the schedule function "
                                          "filters to OML's grid"),
        "schedule.expression": Support("exact", "cron_schedule (normalised 5-field expression)"),
        "schedule.timezone": Support("exact", "execution_timezone"),
        "schedule.start_date": Support("emulated", "Dagster schedules have no start: the schedule function skips "
                                                   "ticks before it (SkipReason)"),
        "schedule.end_date": Support("emulated", "Dagster schedules have no end: the schedule function skips "
                                                 "ticks after it (SkipReason)"),
        "schedule.retry": Support("exact", "each op raises RetryRequested with OML's delay for that retry (Dagster's "
                                           "own EXPONENTIAL backoff is delay*(2^n-1)); the op's RetryPolicy carries "
                                           "the number of retries"),
        "schedule.timeout": Support("emulated", "Dagster ops have no timeout: the op stops the runner's process "
                                                "group at the run's deadline (run start + timeout, retries "
                                                "included); also the tag dagster/max_runtime, which Dagster "
                                                "enforces when run monitoring is on (<name>.dagster.yaml)"),
        "schedule.concurrency": Support("approximated", "cannot be set in code: tag omlc/concurrency_key and a "
                                                        "tag_concurrency_limits entry in <name>.dagster.yaml, "
                                                        "effective once merged into the instance's dagster.yaml"),
        "schedule.catchup": Support("approximated", "a schedule without partitions: after downtime Dagster "
                                                    "launches the latest missed tick once (OML's catchup: false "
                                                    "runs none)"),
        "schedule.window": Support("emulated", "computed at run time by the generated op from the fire time "
                                               "(run config fire_time, set by the schedule from "
                                               "scheduled_execution_time; the run's start for manual runs), with "
                                               "omlc's window code; passed as OMLC_WINDOW_START/END"),
        "metadata.owner": Support("approximated", "tag owner (Dagster's job `owners` is beta and warns, and "
                                                  "accepts only e-mail addresses and team: names)"),
        "metadata.team": Support("exact", "tag team"),
        "metadata.criticality": Support("exact", "tag criticality"),
        "metadata.tags": Support("exact", "a tag key with an empty value each; a tag that is not a valid Dagster "
                                          "tag key becomes the value of omlc/tag.<n> (approximated, reported)"),
        "metadata.description": Support("exact", "job metadata description (markdown)"),
        "metadata.sla": Support("emulated", "Dagster's FreshnessPolicy applies to assets only, and the job is made "
                                            "of ops: a sensor <job>__sla (every 60 s, running by default) reads the "
                                            "job's runs of the last sla + 7 days from the instance and finds those "
                                            "not ended by their fire time (run config fire_time; a manual run's "
                                            "start) + sla, still going, queued or ended later; each is logged in "
                                            "the sensor's tick and sent on_sla_breach once (the cursor keeps the "
                                            "run ids told). Needs the daemon running; found up to the sensor's "
                                            "interval late; a fire time that has no run at all (schedule stopped, "
                                            "tick skipped) is not seen"),
        "metadata.tests": Support("exact", "check ops, not asset checks: an asset check belongs to an asset the job "
                                           "materializes, and a blocking one only stops downstream materializations, "
                                           "while this job is ops with no materializations. One op per test "
                                           "(<job>__<check id>) downstream of every leaf op of the same job runs the "
                                           "check command of omlc.yaml (custom: the script, found relative to the "
                                           "module) with the run's OMLC_* values and OMLC_TEST_*; every check runs, "
                                           "a failing one fails the op and so the run (and fires the on_failure "
                                           "sensor); within the run's timeout; not retried"),
        "metadata.lineage.upstream": Support("exact", "asset keys (omlc.lineage.asset_key) in Definitions(assets=...): "
                                                      "every module defines the AssetSpec of its pipeline's key "
                                                      "(pipeline/<name>, what `pipeline: <name>` names elsewhere, so "
                                                      "modules link up) with the upstream keys as deps; Dagster shows "
                                                      "keys no module defines as external assets. After every "
                                                      "other op and check, the op <job>__lineage records a "
                                                      "materialization of the pipeline's key and each downstream "
                                                      "key"),
        "metadata.lineage.downstream": Support("exact", "an AssetSpec per downstream key with the pipeline's key as "
                                                        "its dep: upstream -> pipeline -> downstream, as `omlc "
                                                        "lineage` draws it. Modules merged into one Definitions must "
                                                        "not define one key differently (Dagster refuses conflicting "
                                                        "AssetSpecs): keep each module its own code location"),
        "metadata.notifications.on_failure": Support("approximated", "@dg.run_failure_sensor <job>__on_failure "
                                                              "monitoring the job (running by default, evaluated by the "
                                                              "daemon) sends to every target: email over SMTP, Slack "
                                                              "incoming webhook, PagerDuty Events API v2 (severity from "
                                                              "criticality), with servers and keys from the "
                                                              "environment variables omlc.yaml names; the message has "
                                                              "the run's failure, fire time and window; a failed send "
                                                              "is logged in the sensor's tick, never raised; "
                                                              + RUNTIME_PER_DESTINATION),
        "metadata.notifications.on_success": Support("approximated", "@dg.run_status_sensor(run_status=SUCCESS) "
                                                              "<job>__on_success, sending as on_failure does (exact or "
                                                              "approximated as it is)"),
        "metadata.notifications.on_sla_breach": Support("approximated", SLA_BREACH + "; approximated as on_failure "
                                                                        "is when its targets share a webhook or key"),
        **INFORMATIONAL,
    }

    # -- checks ------------------------------------------------------------------------
    def problems(self, unit: Unit):
        p = unit.pipeline
        s = p.schedule
        if s is not None and s.type == "interval":
            anchor = _interval_anchor(s)
            if anchor.second or anchor.microsecond:
                yield diag("OML610", f"[{self.name}] the interval's start_date has seconds; Dagster schedules tick "
                           "on whole minutes", p.locations.value(("schedule", "start_date")),
                           "start on a whole minute")

    def value_losses(self, unit: Unit) -> Iterable[Loss]:
        from omlc.schedule.targets import dst_difference

        p = unit.pipeline
        s = p.schedule
        yield from runtime_notification_losses(self, unit, SLA_BREACH[len("emulated: "):])
        job = dagster_name(p.name)
        if job != p.name:
            yield Loss(self.name, "name", "approximated",
                       f"Dagster names allow only [A-Za-z0-9_] and no Python keywords: the job is {job!r}, "
                       f"schedule {job + '_schedule'!r}; the original name is the tag {PIPELINE_TAG}")
        if s is not None:
            mapped = dagster_schedule(s)
            if mapped.grid:
                yield Loss(self.name, "schedule.expression", "emulated",
                           f"no cron expression gives every {s.expression.strip()}: the schedule ticks at "
                           f"{mapped.expression!r} and its function keeps the ticks on OML's grid")
            note = dst_difference(self.name, mapped.expression, mapped.timezone, s.start_date)
            if note is not None:
                yield Loss(self.name, "schedule.expression", "approximated", note)
            if s.catchup:
                yield Loss(self.name, "schedule.catchup", "unsupported",
                           "catchup: true: a schedule without partitions launches only the latest missed tick "
                           "after downtime (a backfill of every missed fire time needs partitions)")
        both = lineage_specs(p)["both"]
        if both:
            yield Loss(self.name, "metadata.lineage.upstream", "approximated",
                       "listed both upstream and downstream, so only downstream (Dagster refuses the cycle "
                       f"pipeline -> key -> pipeline): {['/'.join(k) for k in both]!r}")
        _, moved = dagster_tags(p, job)
        if moved:
            yield Loss(self.name, "metadata.tags", "approximated",
                       f"not valid Dagster tag keys, so tag values of omlc/tag.<n>: {moved!r}")

    # -- emit --------------------------------------------------------------------------
    def emit(self, unit: Unit) -> dict[str, str]:
        values = self.values(unit)
        extra = ("omlc_run_command",) + (("omlc_prev_fire", "_omlc_interval_prev") if values["grid"] else ()) \
            + (("omlc_notify",) if values["events"] else ())
        files = {f"{unit.pipeline.name}.py": self.render(unit, "job.py.j2", values, extra)}
        if values["max_runtime"] is not None or values["concurrency"] is not None:
            files[unit.pipeline.name + FRAGMENT_SUFFIX] = self.render(unit, "dagster.yaml.j2",
                                                                      {**values, "yaml": _yaml_string}, None)
        return files

    def values(self, unit: Unit) -> dict:
        """Everything the templates need; code fragments are built from literals only."""
        from omlc.metadata import SEVERITY, runtime_notices, sla_seconds
        from omlc.schedule.timetable import Timetable, retry_delays

        p = unit.pipeline
        s = p.schedule
        md = p.metadata
        job = dagster_name(p.name)
        timetable = Timetable(s) if s is not None else None
        mapped = dagster_schedule(s) if s is not None else None
        delays = retry_delays(s.retry if s is not None else None)
        tags, _ = dagster_tags(p, job)
        ops = self.ops(unit, job)
        checks = [{"name": f"{job}__{c.id}", "var": f"omlc_{c.id}", "index": i, "check": c}
                  for i, c in enumerate(unit.checks)]
        upstream_of = {up for op in ops for up in op["ups"]}
        leaves = [op["var"] for op in ops if op["var"] not in upstream_of]
        events, notify = runtime_notices(p, unit.notify)
        lineage = lineage_specs(p)
        lineage_op = {"name": f"{job}__{LINEAGE_OP}", "var": f"omlc_{LINEAGE_OP}",
                      "after": [f"{v}_done" for v in leaves + [c["var"] for c in checks]]} \
            if lineage["upstream"] or lineage["downstream"] else None
        return {
            "title": self.title,
            "source_name": p.name,
            "job_name": job,
            "schedule_name": job + "_schedule",
            "runtime_name": unit.runtime_name,
            "description": p.description,
            "md_description": md.description if md is not None else None,
            "tags": tags,
            "cron": mapped.expression if mapped else None,
            "timezone": mapped.timezone if mapped else None,
            "grid": bool(mapped and mapped.grid),
            "start": _utc_iso(timetable.start) if timetable is not None and timetable.start else None,
            "end": _utc_iso(timetable.end) if timetable is not None and timetable.end else None,
            "retry_delays": delays,
            "max_runtime": s.timeout.nominal_seconds if s is not None and s.timeout is not None else None,
            "concurrency": s.concurrency if s is not None else None,
            "concurrency_tag": CONCURRENCY_TAG,
            "spec": timetable.runtime_spec() if timetable is not None else {"timezone": "UTC"},
            "command": unit.runner.shell(),
            "ops": ops,
            "op_names": [op["name"] for op in ops] + [c["name"] for c in checks],
            "needed": sorted(upstream_of | (set(leaves) if checks or lineage_op else set())),
            "checks": checks,
            "leaves": leaves,
            "events": events,
            "events_map": dict(events),
            "notify": notify,
            "severity": SEVERITY[md.criticality if md is not None else None],
            "sla": sla_seconds(p),
            "sensors": sensor_names(p, job),
            "lineage": lineage,
            "lineage_op": lineage_op,
        }

    def ops(self, unit: Unit, job: str) -> list[dict]:
        """The ops in an order where each comes after its upstreams: name (unique in a
        code location: prefixed with the job name), the Python function name, step id and
        upstream function names."""
        p = unit.pipeline
        if unit.granularity == "pipeline":
            return [{"name": f"{job}__{PIPELINE_OP}", "var": PIPELINE_OP, "step_id": "", "ups": []}]
        names = step_names(p.steps)
        needs = p.effective_needs()
        done: dict[str, None] = {}
        while len(done) < len(p.steps):  # needs are acyclic (validated): a stable topological order
            for step in p.steps:
                if step.id not in done and all(u in done for u in needs[step.id]):
                    done[step.id] = None
        return [{"name": f"{job}__{names[i]}", "var": names[i], "step_id": i,
                 "ups": [names[u] for u in needs[i]]} for i in done]


def _interval_anchor(schedule) -> datetime:
    from omlc.schedule.timetable import Timetable

    return Timetable(schedule).fires.anchor


def _utc_iso(moment: datetime) -> str:
    from datetime import timezone

    return moment.astimezone(timezone.utc).isoformat()


def _yaml_string(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    import json

    return json.dumps(text)
