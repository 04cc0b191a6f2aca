"""What the ``omlc schedule`` commands show, as plain data (the CLI renders it)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from omlc import params as P
from omlc.schedule.engine import CronSchedule
from omlc.schedule.targets import MODELS
from omlc.schedule.timetable import Timetable, retry_delays


def iso_local(moment: datetime, tz) -> str:
    """ISO 8601 with the schedule timezone's offset at that instant (2023-03-12T03:00:00-04:00)."""
    return moment.astimezone(tz).isoformat()


def next_runs(expression: str, timezone_name: str, after: datetime, count: int,
              targets: list[str]) -> dict[str, list[datetime]]:
    """Next fire times of a cron schedule under OML's meaning and each target's model."""
    result = {"oml": CronSchedule(expression, timezone_name).next_n(after, count)}
    for name in targets:
        result[name] = CronSchedule(expression, timezone_name, MODELS[name].policy).next_n(after, count)
    return result


def disagreements(runs: dict[str, list[datetime]]) -> set[datetime]:
    """Instants that not every schedule in ``runs`` has (within the shortest common horizon)."""
    horizon = min(max(v) for v in runs.values() if v)
    sets = [{t for t in v if t <= horizon} for v in runs.values()]
    return set.union(*sets) - set.intersection(*sets)


@dataclass
class PreviewRun:
    fire: datetime
    window: tuple[str, str] | None
    configs: dict[str, dict[str, Any]]  # step id -> rendered config
    sla_deadline: datetime | None = None  # fire time + metadata.sla (calendar days on the local clock)


def preview_day(pipeline, day: date, profile: str | None = None, overrides: dict | None = None) -> list[PreviewRun]:
    """Every run on local date ``day`` with its window and each step's config rendered."""
    timetable = Timetable(pipeline.schedule)
    values = P.effective_params(pipeline.params, pipeline.profiles, profile, overrides or {})
    runs = []
    fmt = pipeline.schedule.window.format if pipeline.schedule.window else None
    for fire in timetable.runs_on(day):
        window = timetable.window(fire)
        rendered = window.render(fmt, timetable.tz) if window else None
        configs = {}
        for step in pipeline.steps:
            config = P.substitute(step.config, values)
            if rendered:
                config = render_window(config, *rendered)
            configs[step.id] = config
        runs.append(PreviewRun(fire, rendered, configs, sla_deadline(pipeline, fire, timetable.tz)))
    return runs


def sla_deadline(pipeline, fire: datetime, tz) -> datetime | None:
    """When a run fired at ``fire`` must have finished (metadata.sla after the fire time)."""
    from omlc.runtime.window import omlc_shift

    sla = pipeline.metadata.sla if pipeline.metadata is not None else None
    if sla is None:
        return None
    return omlc_shift(fire, [sla.days, sla.seconds], tz).astimezone(tz)


def render_window(value: Any, start: str, end: str) -> Any:
    if isinstance(value, str):
        return value.replace("${window.start}", start).replace("${window.end}", end)
    if isinstance(value, dict):
        return {k: render_window(v, start, end) for k, v in value.items()}
    if isinstance(value, list):
        return [render_window(v, start, end) for v in value]
    return value


@dataclass
class Attempt:
    number: int
    start: datetime
    end: datetime
    outcome: str  # success, failed, timeout


@dataclass
class SimulatedRun:
    fire: datetime
    status: str  # success, failed, missed (downtime, catchup off)
    window: tuple[str, str] | None = None
    queued: timedelta = timedelta(0)
    attempts: list[Attempt] = field(default_factory=list)
    note: str = ""


def simulate(pipeline, start: datetime, end: datetime, *, downtime: tuple[datetime, datetime] | None = None,
             duration: timedelta = timedelta(minutes=1), fail_runs: set[int] = frozenset(),
             max_runs: int = 500) -> list[SimulatedRun]:
    """A dry run of the schedule over ``(start, end]``: fire times, windows, catchup after
    ``downtime``, retries of the runs numbered in ``fail_runs`` (1-based; every attempt
    fails), timeouts, and queueing when runs outlast the interval under ``concurrency``."""
    s = pipeline.schedule
    timetable = Timetable(s)
    fmt = s.window.format if s.window else None
    delays = retry_delays(s.retry)
    timeout = timedelta(seconds=s.timeout.nominal_seconds) if s.timeout else None
    slots = [start] * (s.concurrency or 1)  # when each run slot is free again (a heap)
    heapq.heapify(slots)
    runs: list[SimulatedRun] = []
    fires = []
    for t in timetable.fires.iter_after(start):
        if t > end or len(fires) >= max_runs:
            break
        if timetable.start is not None and t < timetable.start:
            continue
        fires.append(t)
    for index, fire in enumerate(fires, 1):
        window = timetable.window(fire)
        rendered = window.render(fmt, timetable.tz) if window else None
        if downtime and downtime[0] <= fire < downtime[1]:
            if not s.catchup:
                runs.append(SimulatedRun(fire, "missed", rendered, note="scheduler down; catchup is off"))
                continue
            ready = downtime[1]
            note = "caught up after downtime"
        else:
            ready, note = fire, ""
        slot = heapq.heappop(slots)
        begin = max(ready, slot)
        run = SimulatedRun(fire, "success", rendered, queued=begin - ready, note=note)
        failing = index in fail_runs
        moment = begin
        for number in range(1, len(delays) + 2):
            took = duration if timeout is None else min(duration, timeout)
            timed_out = timeout is not None and duration > timeout
            outcome = "timeout" if timed_out else ("failed" if failing else "success")
            run.attempts.append(Attempt(number, moment, moment + took, outcome))
            moment += took
            if outcome == "success":
                break
            if number <= len(delays):
                moment += timedelta(seconds=delays[number - 1])
        run.status = run.attempts[-1].outcome if run.attempts[-1].outcome == "success" else "failed"
        heapq.heappush(slots, moment)
        runs.append(run)
    return runs


def to_jsonable(value: Any, tz) -> Any:
    if isinstance(value, datetime):
        return iso_local(value, tz)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: to_jsonable(v, tz) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, tz) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(value, k), tz) for k in value.__dataclass_fields__}
    return value
